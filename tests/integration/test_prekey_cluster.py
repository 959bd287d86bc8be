"""Two instances of one domain's prekey service on PostgreSQL, against a real Prosody.

Two component processes (``prekeys.localhost`` and ``prekeys2.localhost``, one key file,
one PostgreSQL database that the tests start) serve the domain:

* 16 retrievers (8 per component) drain 100,000 Prekey messages: each is served exactly
  once, none is lost;
* a component killed (SIGKILL) in the middle of storing a publication leaves all or
  nothing, and the publisher starts again at the other instance;
* PostgreSQL restarted under load: both components recover and no Prekey message is
  served twice.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
from slixmpp import ClientXMPP
from slixmpp.exceptions import IqError, IqTimeout

from otrv4.clock import SystemClock
from otrv4.encoding import encode_data
from otrv4.primitives.rng import DeterministicRng
from otrv4_devtools.prosody import ProsodyServer
from otrv4_prekey import client as pc
from otrv4_prekey.messages import EnsembleQuery, PrekeyServerMessageType, peek_type
from otrv4_prekey.postgres import PostgresStorage
from otrv4_prekey.storage import StoredProfile
from otrv4_xmpp.prekey import parse_prekey_iq
from tests.prekey_server.helpers import make_device
from tests.prekey_server.pgserver import PostgresServer, postgres_server  # noqa: F401

from .component_process import ComponentProcess, add_component, client, connect, prekey_iq

SECOND = "prekeys2.localhost"
UNLIMITED = "\n[limits]\nretrievals_per_minute = 100000000\n"


@dataclass
class Cluster:
    prosody: ProsodyServer
    url: str
    components: list[ComponentProcess]

    @property
    def jids(self) -> list[str]:
        return [self.prosody.component_jid, SECOND]


@pytest.fixture
def cluster(prosody: ProsodyServer, postgres_server: PostgresServer,  # noqa: F811
            tmp_path: Path) -> Iterator[Cluster]:
    """Prosody with two prekey components, both started, on one new PostgreSQL database."""
    prosody.stop()
    add_component(prosody, SECOND, prosody.component_secret)
    prosody.start()
    url = postgres_server.create_database()
    key = tmp_path / "service.key"
    comps = [ComponentProcess(tmp_path / "components", f"c{i}", jid=jid,
                              secret=prosody.component_secret, port=prosody.component_port,
                              storage=url, key_file=key, extra=UNLIMITED)
             for i, jid in enumerate([prosody.component_jid, SECOND])]
    for c in comps:  # together: they race on creating the key file and the schema
        c.start()
    try:
        for c in comps:
            c.wait_for("connected to 127.0.0.1")
        yield Cluster(prosody, url, comps)
    finally:
        for c in comps:
            c.stop()
        if os.environ.get("OTR4_KEEP_COMPONENT_LOG"):
            for c in comps:
                print(c.text()[-5000:])


# --------------------------------------------------------------------------- filling


@dataclass
class Filled:
    """What the test put in the store: every Prekey message by its bytes."""

    identities: list[str]
    owner: dict[bytes, tuple[str, int, int]] = field(default_factory=dict)
    profiles: dict[str, list[bytes]] = field(default_factory=dict)  # CP || PP per device


def _fill(url: str, identities: int, devices: int, per_device: int) -> Filled:
    """Store ``identities x devices x per_device`` Prekey messages straight into the
    database, with real profiles and real Prekey messages (one made per device, the others
    that one with other identifiers: the server decodes them, nothing else differs)."""
    rng = DeterministicRng("integration:cluster:fill")
    now = int(time.time())
    storage = PostgresStorage(url)
    filled = Filled([f"user{i}@example.org" for i in range(identities)])
    for ident in filled.identities:
        for _ in range(devices):
            d = make_device(rng, ident, expiration=now + 86400)
            base = d.prekeys(rng, 1)[0].message.encode()
            messages = []
            for n in range(per_device):
                pm = base[:3] + (n + 1).to_bytes(4, "big") + base[7:]
                messages.append((n + 1, pm))
                filled.owner[pm] = (ident, d.tag, n + 1)
            cp, pp = d.identity.client_profile, d.shared.profile
            filled.profiles.setdefault(ident, []).append(cp.encode() + pp.encode())
            storage.publish(ident, d.tag,
                            client_profile=StoredProfile(cp.encode(), cp.expiration),
                            prekey_profile=StoredProfile(pp.encode(), pp.expiration),
                            prekey_messages=messages, max_stored=per_device)
    storage.close()
    return filled


def _served(answer: bytes, identity: str, filled: Filled) -> list[bytes]:
    """The Prekey messages of a Prekey Ensemble Retrieval message (empty for No Prekey
    Ensembles).  Read without decoding (the test's CPU is shared with the services): each
    ensemble starts with the profiles of one of the identity's devices, exactly, and the
    Prekey message's length is in its MPI's length field."""
    if peek_type(answer) is PrekeyServerMessageType.NO_PREKEY_ENSEMBLES:
        return []
    assert peek_type(answer) is PrekeyServerMessageType.ENSEMBLE_RETRIEVAL
    head = 3 + 4 + len(encode_data(identity.encode()))
    count = int.from_bytes(answer[head:head + 4], "big")
    off = head + 4
    out = []
    for _ in range(count):
        (profiles,) = [p for p in filled.profiles[identity] if answer.startswith(p, off)]
        off += len(profiles)
        mpi = off + 3 + 4 + 4 + 57
        end = mpi + 4 + int.from_bytes(answer[mpi:mpi + 4], "big")
        out.append(answer[off:end])
        off = end
    assert off == len(answer)
    return out


# --------------------------------------------------------------------------- retrievers


@dataclass
class DrainResult:
    served: list[bytes] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    queries: int = 0


async def _drain(prosody: ProsodyServer, jids: list[str], per_component: int, filled: Filled,
                 result: DrainResult, *, retry_errors: bool = False,
                 deadline: float = 600) -> None:
    """``per_component`` retrievers per component take identities from one shared queue
    and query until each identity answers No Prekey Ensembles."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for ident in filled.identities:
        queue.put_nowait(ident)
    clients: list[tuple[ClientXMPP, str]] = []
    for n, jid in enumerate(itertools.chain.from_iterable(
            itertools.repeat(j, per_component) for j in jids)):
        c = client(prosody, "romeo", f"r{n}")
        await connect(c, "127.0.0.1", prosody.c2s_port)
        clients.append((c, jid))
    end = time.monotonic() + deadline

    async def retriever(c: ClientXMPP, jid: str) -> None:
        while time.monotonic() < end:
            try:
                ident = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            query = EnsembleQuery(0x0000_0A0B, ident).encode()
            try:
                answer = parse_prekey_iq(await prekey_iq(c, jid, query, timeout=30)).message
            except (IqError, IqTimeout) as exc:
                result.errors.append(f"{jid}: {type(exc).__name__}")
                if not retry_errors:
                    raise
                await asyncio.sleep(0.1)
                queue.put_nowait(ident)
                continue
            result.queries += 1
            got = _served(answer, ident, filled)
            result.served.extend(got)
            if got:
                queue.put_nowait(ident)

    try:
        await asyncio.gather(*(retriever(c, jid) for c, jid in clients))
    finally:
        for c, _ in clients:
            c.disconnect()
        await asyncio.sleep(0.2)


def _count(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM prekey_messages").fetchone()
        return int(row[0]) if row else -1


def test_two_components_drain_100000_prekeys_each_exactly_once(cluster: Cluster) -> None:
    filled = _fill(cluster.url, identities=100, devices=10, per_device=100)
    assert len(filled.owner) == 100_000 == _count(cluster.url)
    result = DrainResult()
    started = time.monotonic()
    asyncio.run(_drain(cluster.prosody, cluster.jids, 8, filled, result))
    elapsed = time.monotonic() - started
    assert result.errors == []
    assert len(result.served) == len(set(result.served)), "a Prekey message was served twice"
    assert set(result.served) == set(filled.owner), "a Prekey message was lost"
    assert _count(cluster.url) == 0
    for c in cluster.components:  # both served, and logged one line per request
        assert c.text().count("Prekey Ensemble Retrieval (") > 1000
    print(f"\n100,000 prekeys in {result.queries} queries through 2 components: {elapsed:.1f} s")


def _waiting_on_a_lock(url: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = "
                           "'Lock' AND pid <> pg_backend_pid()").fetchone()
        return bool(row and row[0])


def test_a_component_killed_mid_publication_leaves_all_or_nothing(cluster: Cluster) -> None:
    prosody, url = cluster.prosody, cluster.url
    rng = DeterministicRng("integration:cluster:kill")
    clock = SystemClock()
    device = make_device(rng, prosody.jid("juliet"), expiration=clock.now() + 86400)
    first_jid, second_jid = cluster.jids

    async def publish(c: ClientXMPP, jid: str, n: int, *, timeout: float = 20) -> None:
        publisher = pc.PublisherClient(device.identity, jid, rng)
        dake2 = parse_prekey_iq(await prekey_iq(c, jid, publisher.start())).message
        dake3 = publisher.publish(dake2, device.prekeys(rng, n),
                                  client_profile=device.identity.client_profile,
                                  prekey_profile=device.shared)
        reply = parse_prekey_iq(await prekey_iq(c, jid, dake3, timeout=timeout)).message
        assert publisher.finish(reply).MESSAGE_TYPE == 0x06  # Success

    def stored() -> int:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM prekey_messages WHERE identity = %s",
                               (prosody.jid("juliet"),)).fetchone()
            return int(row[0]) if row else -1

    async def scenario() -> None:
        juliet = client(prosody, "juliet", "balcony")
        await connect(juliet, "127.0.0.1", prosody.c2s_port)
        try:
            await publish(juliet, first_jid, 10)
            assert stored() == 10
            # hold the row the publication's transaction updates last: it inserts its
            # Prekey messages, then waits for us, inside its transaction
            blocker = psycopg.connect(url)
            blocker.execute("SELECT * FROM client_profiles FOR UPDATE")
            attempt = asyncio.ensure_future(publish(juliet, first_jid, 100, timeout=8))
            deadline = time.monotonic() + 30
            while not _waiting_on_a_lock(url):
                assert time.monotonic() < deadline, "the publication never reached the storage"
                await asyncio.sleep(0.02)
            os.kill(cluster.components[0].pid, signal.SIGKILL)
            cluster.components[0].wait(timeout=10)
            blocker.rollback()
            blocker.close()
            with pytest.raises((IqError, IqTimeout)):
                await attempt  # no answer: the instance is gone
            await asyncio.sleep(0.5)
            assert stored() in (10, 110)  # all or nothing
            outcome = stored()
            # the publisher starts again at the other instance, with new Prekey messages
            await publish(juliet, second_jid, 20)
            assert stored() == outcome + 20
        finally:
            juliet.disconnect()
            await asyncio.sleep(0.2)

    asyncio.run(asyncio.wait_for(scenario(), 120))


def test_postgresql_restarted_under_load(cluster: Cluster,
                                         postgres_server: PostgresServer) -> None:  # noqa: F811
    filled = _fill(cluster.url, identities=20, devices=5, per_device=60)
    result = DrainResult()

    async def load_and_restart() -> None:
        drain = asyncio.ensure_future(_drain(cluster.prosody, cluster.jids, 4, filled, result,
                                             retry_errors=True, deadline=240))
        while result.queries < 200:
            await asyncio.sleep(0.05)
        await asyncio.get_running_loop().run_in_executor(None, postgres_server.restart)
        await drain

    try:
        asyncio.run(asyncio.wait_for(load_and_restart(), 300))
    finally:
        if postgres_server.pid is None:
            postgres_server.start()
    if _count(cluster.url):  # an identity given up on while a rolled-back retrieval held
        again = DrainResult()  # its last rows: ask once more
        asyncio.run(_drain(cluster.prosody, cluster.jids, 2, filled, again))
        result.served.extend(again.served)
    assert len(result.served) == len(set(result.served)), "a Prekey message was served twice"
    assert _count(cluster.url) == 0
    lost = len(filled.owner) - len(result.served)
    # only retrievals in flight when the server went down can have consumed prekeys
    # whose answer never came back (at most one per device per request in flight)
    assert 0 <= lost <= 8 * 5
    assert any("storage unavailable" in c.text() for c in cluster.components) or \
        result.errors, "the restart went unnoticed"
    for c in cluster.components:
        assert c.process is not None and c.process.poll() is None  # still running
    print(f"\nPostgreSQL restarted under load: {len(result.served)} served once each, "
          f"{lost} consumed by requests cut by the restart, {len(result.errors)} errors")


def test_the_components_share_the_key(cluster: Cluster) -> None:
    prints = [c.text().split("fingerprint ", 1)[1].split()[0] for c in cluster.components]
    assert prints[0] == prints[1] and len(prints[0]) == 112


def test_sigterm_finishes_the_publication_in_progress(cluster: Cluster) -> None:
    """SIGTERM while a publication is being stored: the component refuses new requests
    (``<service-unavailable/>``), finishes the publication, answers it, and exits 0."""
    prosody, url = cluster.prosody, cluster.url
    rng = DeterministicRng("integration:cluster:sigterm")
    clock = SystemClock()
    device = make_device(rng, prosody.jid("juliet"), expiration=clock.now() + 86400)
    first_jid = cluster.jids[0]
    component = cluster.components[0]

    async def publish(c: ClientXMPP, n: int) -> None:
        publisher = pc.PublisherClient(device.identity, first_jid, rng)
        dake2 = parse_prekey_iq(await prekey_iq(c, first_jid, publisher.start())).message
        dake3 = publisher.publish(dake2, device.prekeys(rng, n),
                                  client_profile=device.identity.client_profile,
                                  prekey_profile=device.shared)
        reply = parse_prekey_iq(await prekey_iq(c, first_jid, dake3, timeout=30)).message
        assert publisher.finish(reply).MESSAGE_TYPE == 0x06  # Success

    def stored() -> int:
        with psycopg.connect(url, autocommit=True) as conn:
            row = conn.execute("SELECT count(*) FROM prekey_messages").fetchone()
            return int(row[0]) if row else -1

    async def scenario() -> None:
        juliet = client(prosody, "juliet", "balcony")
        romeo = client(prosody, "romeo", "orchard")
        await connect(juliet, "127.0.0.1", prosody.c2s_port)
        await connect(romeo, "127.0.0.1", prosody.c2s_port)
        try:
            await publish(juliet, 10)
            blocker = psycopg.connect(url)
            blocker.execute("SELECT * FROM client_profiles FOR UPDATE")
            attempt = asyncio.ensure_future(publish(juliet, 50))
            deadline = time.monotonic() + 30
            while not _waiting_on_a_lock(url):
                assert time.monotonic() < deadline, "the publication never reached the storage"
                await asyncio.sleep(0.02)
            os.kill(component.pid, signal.SIGTERM)
            await asyncio.get_running_loop().run_in_executor(
                None, component.wait_for, "finishing 1 request(s) in progress")
            query = EnsembleQuery(0x0A0B, prosody.jid("juliet")).encode()
            with pytest.raises(IqError) as refused:
                await prekey_iq(romeo, first_jid, query)
            assert refused.value.iq["error"]["condition"] == "service-unavailable"
            blocker.rollback()
            blocker.close()
            await attempt  # answered: Success
            assert stored() == 60
        finally:
            juliet.disconnect()
            romeo.disconnect()
            await asyncio.sleep(0.2)

    asyncio.run(asyncio.wait_for(scenario(), 120))
    assert component.wait(timeout=30) == 0
    assert "stopped" in component.text()
