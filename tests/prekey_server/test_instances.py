"""Several instances of one domain's prekey service (the XEP's "Several Instances"):
distinct JIDs, one long-term key, one shared store.  A DAKE belongs to the instance that
answered DAKE-1; a client that loses it starts again at another instance; the rate limit
and the one-time prekeys are shared, over every storage that several processes can share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from otrv4.clock import FixedClock
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4_prekey.client import PublisherClient, publish
from otrv4_prekey.dake import ServerIdentity
from otrv4_prekey.messages import EnsembleQuery, EnsembleRetrieval, decode_message
from otrv4_prekey.server import NotInDakeError, PrekeyServer, RateLimitedError, ServerPolicy
from otrv4_prekey.storage import Storage
from otrv4_prekey.storage_url import open_storage

from .helpers import NOW, exchange_for, make_device, rng
from .pgserver import PostgresServer

JULIET = "juliet@capulet.lit"
ROMEO = "romeo@montague.lit"


@pytest.fixture(params=["sqlite-file", "postgresql"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite-file":
        return f"sqlite://{tmp_path / 'shared.sqlite'}"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture
def instances(url: str) -> Iterator[tuple[PrekeyServer, PrekeyServer]]:
    """Two instances, each with its own connection to the shared store (as two processes)."""
    key = EdDSAKeyPair.generate(rng("instances:key"))
    clock = FixedClock(NOW)
    policy = ServerPolicy(publisher_domains=frozenset({"capulet.lit"}), retrievals_per_minute=5)
    stores: list[Storage] = [open_storage(url), open_storage(url)]
    a = PrekeyServer(ServerIdentity("prekeys1.capulet.lit", key), stores[0],
                     rng("instances:a"), clock, policy)
    b = PrekeyServer(ServerIdentity("prekeys2.capulet.lit", key), stores[1],
                     rng("instances:b"), clock, policy)
    yield a, b
    for s in stores:
        s.close()


def test_instances_share_the_key_and_differ_by_jid(
        instances: tuple[PrekeyServer, PrekeyServer]) -> None:
    a, b = instances
    assert a.identity.fingerprint == b.identity.fingerprint
    assert a.identity.composite != b.identity.composite


def test_a_lost_instance_mid_dake_means_starting_again_at_another(
        instances: tuple[PrekeyServer, PrekeyServer]) -> None:
    a, b = instances
    r = rng("instances:failover")
    device = make_device(r, JULIET)
    fingerprint = a.identity.fingerprint
    # DAKE-1 to instance 1, which answers and then disappears
    at_a = PublisherClient(device.identity, a.identity.jid, r, fingerprint)
    dake2 = exchange_for(a, JULIET)(at_a.start())
    prekeys = device.prekeys(r, 3)
    dake3 = at_a.publish(dake2, prekeys, client_profile=device.identity.client_profile,
                         prekey_profile=device.shared)
    # the DAKE-3 cannot be finished elsewhere: the state is in instance 1's memory
    with pytest.raises(NotInDakeError):
        b.handle(JULIET, dake3)
    # the client starts again at instance 2 with new Prekey messages
    fresh = device.prekeys(r, 3)
    at_b = PublisherClient(device.identity, b.identity.jid, r, fingerprint)
    publish(at_b, exchange_for(b, JULIET), fresh, client_profile=device.identity.client_profile,
            prekey_profile=device.shared)
    # and a retriever at instance 1 gets them from the shared store, each once
    served = []
    for k in range(4):
        reply = a.handle(ROMEO, EnsembleQuery(0x0A0B, JULIET).encode()).encode()
        answer = decode_message(reply)
        if k < 3:
            assert isinstance(answer, EnsembleRetrieval)
            served.extend(e.prekey_message.identifier for e in answer.ensembles)
        else:
            assert not isinstance(answer, EnsembleRetrieval)
    assert sorted(served) == sorted(p.identifier for p in fresh)


def test_the_rate_limit_holds_across_instances(
        instances: tuple[PrekeyServer, PrekeyServer]) -> None:
    a, b = instances
    query = EnsembleQuery(0x0A0B, JULIET).encode()
    for server in (a, b, a, b, a):  # 5 a minute, wherever they land
        server.handle(ROMEO, query)
    for server in (a, b):
        with pytest.raises(RateLimitedError):
            server.handle(ROMEO, query)
    b.handle("nurse@capulet.lit", query)  # per requester
