"""The device engine over a store: restarts continue conversations without a new DAKE,
an offline start reaches a device that restarts, redelivered messages are recognised,
a failed commit changes nothing, and (property test) any sequence of operations
interrupted and reloaded at any point ends in the same state and outputs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from otrv4.clock import FixedClock
from otrv4.primitives.rng import DeterministicRng
from otrv4_xmpp.device import DeviceIdentity
from otrv4_xmpp.engine import DeviceEngine, Outcome
from otrv4_xmpp.state.sqlite import SQLiteStore
from otrv4_xmpp.state.store import DeviceStore, MemoryStore

NOW = 1776945600
J_FULL = "juliet@capulet.lit/phone"
R_FULL = "romeo@montague.lit/desktop"


def _identity(label: str, tag: int) -> DeviceIdentity:
    return DeviceIdentity.generate(DeterministicRng(label), FixedClock(NOW), instance_tag=tag)


def _connect(a: DeviceEngine, a_jid: str, b: DeviceEngine, b_jid: str) -> None:
    queue = [(b, a_jid, d) for d in a.start_dake(b_jid).payloads]
    while queue:
        dst, src_jid, data = queue.pop(0)
        back = a if dst is b else b
        dst_jid = b_jid if dst is b else a_jid
        queue.extend((back, dst_jid, d) for d in dst.receive(src_jid, data).payloads)


@pytest.fixture
def stores(tmp_path: Path) -> Iterator[dict[str, SQLiteStore]]:
    opened = {name: SQLiteStore(tmp_path / f"{name}.db") for name in ("juliet", "romeo")}
    yield opened
    for s in opened.values():
        s.close()


def test_restart_continues_both_ways_without_a_new_dake(tmp_path: Path) -> None:
    rng, clock = DeterministicRng("restart"), FixedClock(NOW)
    j_store, r_store = SQLiteStore(tmp_path / "j.db"), SQLiteStore(tmp_path / "r.db")
    j = DeviceEngine(_identity("j", 0x1001), J_FULL, rng=rng, clock=clock, store=j_store)
    r = DeviceEngine(_identity("r", 0x2002), R_FULL, rng=rng, clock=clock, store=r_store)
    _connect(j, J_FULL, r, R_FULL)
    ssid = r.session("juliet@capulet.lit", 0x1001).ssid
    for n in range(3):
        (data,) = j.send("romeo@montague.lit", 0x2002, f"j{n}").payloads
        assert r.receive(J_FULL, data).displays == (f"j{n}",)
    (late,) = r.send("juliet@capulet.lit", 0x1001, "r-before-restart").payloads
    r_store.close()  # the desktop process stops
    r_store = SQLiteStore(tmp_path / "r.db")
    r2 = DeviceEngine.open(r_store, R_FULL, rng=rng, clock=clock)
    assert r2.session("juliet@capulet.lit", 0x1001).ssid == ssid
    assert j.receive(R_FULL, late).displays == ("r-before-restart",)
    out = r2.send("juliet@capulet.lit", 0x1001, "r-after-restart")
    got = j.receive(R_FULL, out.payloads[0])
    assert got.displays == ("r-after-restart",) and not got.established
    (data,) = j.send("romeo@montague.lit", 0x2002, "j-after").payloads
    back = r2.receive(J_FULL, data)
    assert back.displays == ("j-after",) and not back.established
    assert r2.session("juliet@capulet.lit", 0x1001).ssid == ssid
    j_store.close()
    r_store.close()


def test_offline_start_reaches_a_device_started_for_the_first_time(tmp_path: Path) -> None:
    rng, clock = DeterministicRng("offline-restart"), FixedClock(NOW)
    with SQLiteStore(tmp_path / "tablet.db") as t_store:
        tablet = DeviceEngine(_identity("t", 0x3003), "romeo@montague.lit/tablet", rng=rng,
                              clock=clock, store=t_store)
        secrets = tablet.new_prekeys(3)
        ensembles = tablet.ensembles(secrets)
    j = DeviceEngine(_identity("j", 0x1001), J_FULL, rng=rng, clock=clock)
    out = j.send_offline("romeo@montague.lit", ensembles[1], "while you were away")
    more = j.send("romeo@montague.lit", 0x3003, "and a second one")
    with SQLiteStore(tmp_path / "tablet.db") as t_store:
        t2 = DeviceEngine.open(t_store, "romeo@montague.lit/tablet", rng=rng, clock=clock)
        shown: list[str] = []
        for data in out.payloads + more.payloads:
            shown += t2.receive(J_FULL, data).displays
        assert shown == ["while you were away", "and a second one"]
        assert [p.identifier for p in t2.local_prekeys.prekeys] == \
            [secrets[0].identifier, secrets[2].identifier]


def test_redelivery_after_a_crash_is_recognised_and_nothing_is_lost(tmp_path: Path) -> None:
    rng, clock = DeterministicRng("redelivery"), FixedClock(NOW)
    with SQLiteStore(tmp_path / "t.db") as t_store:
        tablet = DeviceEngine(_identity("t", 0x3003), "romeo@montague.lit/tablet", rng=rng,
                              clock=clock, store=t_store)
        ensembles = tablet.ensembles(tablet.new_prekeys(1))
    j = DeviceEngine(_identity("j", 0x1001), J_FULL, rng=rng, clock=clock)
    stanzas = list(j.send_offline("romeo@montague.lit", ensembles[0], "one").payloads)
    stanzas += j.send("romeo@montague.lit", 0x3003, "two").payloads
    # the tablet handles both, then crashes before the application showed "two"
    with SQLiteStore(tmp_path / "t.db") as t_store:
        t = DeviceEngine.open(t_store, "romeo@montague.lit/tablet", rng=rng, clock=clock)
        first = [o for d in stanzas if (o := t.receive(J_FULL, d))]
        # the Non-Interactive-Auth message, "one", "two"
        assert [o.displays for o in first] == [(), ("one",), ("two",)]
    # restart: the plaintext not acknowledged is handed over again; the server's
    # redelivery of both stanzas is recognised
    with SQLiteStore(tmp_path / "t.db") as t_store:
        t = DeviceEngine.open(t_store, "romeo@montague.lit/tablet", rng=rng, clock=clock)
        assert [(u.peer, u.tag, u.text) for u in t.undelivered()] == \
            [("juliet@capulet.lit", 0x1001, "two")]
        again = [t.receive(J_FULL, d) for d in stanzas]
        assert [(o.duplicate, o.displays) for o in again] == [(True, ())] * 3
        t.acknowledge()
        assert t.undelivered() == []
        (reply,) = t.send("juliet@capulet.lit", 0x1001, "hello back").payloads
        assert j.receive("romeo@montague.lit/tablet", reply).displays == ("hello back",)


@dataclass
class FlakyStore(DeviceStore):
    """A store whose next commit fails when ``fail_next`` is set (a crash before the
    commit reached the disk)."""

    inner: MemoryStore = field(default_factory=MemoryStore)
    fail_next: bool = False

    def get(self, name: str) -> bytes | None:
        return self.inner.get(name)

    def names(self, prefix: str = "") -> list[str]:
        return self.inner.names(prefix)

    def commit(self, puts, deletes=(), *, sync=True) -> None:  # type: ignore[no-untyped-def]
        if self.fail_next:
            self.fail_next = False
            raise OSError("disk gone")
        self.inner.commit(puts, deletes)

    def close(self) -> None:
        pass


def test_a_failed_commit_changes_nothing() -> None:
    rng, clock = DeterministicRng("flaky"), FixedClock(NOW)
    store = FlakyStore()
    j = DeviceEngine(_identity("j", 0x1001), J_FULL, rng=rng, clock=clock, store=store)
    r = DeviceEngine(_identity("r", 0x2002), R_FULL, rng=rng, clock=clock)
    _connect(j, J_FULL, r, R_FULL)
    before = {n: store.get(n) for n in store.names()}
    pair = j.session("romeo@montague.lit", 0x2002)
    session = pair.session
    store.fail_next = True
    with pytest.raises(OSError, match="disk gone"):
        j.send("romeo@montague.lit", 0x2002, "lost")
    assert pair.session is session
    assert {n: store.get(n) for n in store.names()} == before
    (data,) = j.send("romeo@montague.lit", 0x2002, "kept").payloads
    assert r.receive(J_FULL, data).displays == ("kept",)


# --------------------------------------------------------------------------- property test

OPS = st.lists(st.tuples(
    st.sampled_from(["send", "deliver", "deliver-late", "redeliver", "restart", "crash"]),
    st.sampled_from([0, 1])), min_size=1, max_size=30)


class World:
    """Two devices (index 0 and 1) over in-memory stores, and the wire between them."""

    JIDS = (J_FULL, R_FULL)

    def __init__(self) -> None:
        self.rng, self.clock = DeterministicRng("property"), FixedClock(NOW)
        self.stores = [FlakyStore(), FlakyStore()]
        self.engines = [
            DeviceEngine(_identity("j", 0x1001), J_FULL, rng=self.rng, clock=self.clock,
                         store=self.stores[0]),
            DeviceEngine(_identity("r", 0x2002), R_FULL, rng=self.rng, clock=self.clock,
                         store=self.stores[1])]
        _connect(self.engines[0], J_FULL, self.engines[1], R_FULL)
        self.wire: list[list[bytes]] = [[], []]  # messages in flight to device i
        self.delivered: list[list[bytes]] = [[], []]
        self.sent = 0
        self.log: list[object] = []

    def reload(self, i: int) -> None:
        e = DeviceEngine.open(self.stores[i], self.JIDS[i], rng=self.rng, clock=self.clock)
        self.log.append(("undelivered", i, [u.text for u in e.undelivered()]))
        try:
            e.acknowledge()
        except OSError:  # the planned crash hit this commit
            e.acknowledge()
        self.engines[i] = e

    def _call(self, i: int, interrupted: bool, call: str, *args: object) -> Outcome:
        counter = self.rng._counter
        try:
            result: Outcome = getattr(self.engines[i], call)(*args)
        except OSError:  # the process died before its commit: start again, redo the call
            assert interrupted
            self.rng._counter = counter  # a new process draws anew; same draws here
            self.reload(i)
            result = getattr(self.engines[i], call)(*args)
        return result

    def run(self, op: str, i: int, interrupted: bool) -> None:
        other = 1 - i
        peer, tag = self.JIDS[other].partition("/")[0], self.engines[other].instance_tag
        if op == "send":
            self.sent += 1
            out = self._call(i, interrupted, "send", peer, tag, f"{i}:{self.sent}")
            self.wire[other].extend(out.payloads)
            self.log.append(("sent", i, out.payloads))
        elif op in ("deliver", "deliver-late") and self.wire[i]:
            data = self.wire[i].pop(-1 if op == "deliver-late" else 0)
            self.delivered[i].append(data)
            out = self._call(i, interrupted, "receive", self.JIDS[other], data)
            self.wire[other].extend(out.payloads)
            self.log.append(("received", i, out.displays, out.duplicate, out.payloads))
        elif op == "redeliver" and self.delivered[i]:
            out = self._call(i, interrupted, "receive", self.JIDS[other], self.delivered[i][-1])
            self.log.append(("redelivered", i, out.displays, out.duplicate))
        elif op == "restart" and interrupted:
            self.reload(i)
        elif op == "crash" and interrupted:
            self.stores[i].fail_next = True

    def state(self) -> list[dict[str, bytes | None]]:
        for e in self.engines:
            e.acknowledge()
        return [{n: s.get(n) for n in s.names()} for s in self.stores]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPS)
@example([("send", 0), ("crash", 1), ("deliver", 1), ("send", 1), ("crash", 0),
          ("deliver", 0), ("send", 0), ("send", 0), ("deliver-late", 1), ("restart", 1),
          ("deliver", 1), ("redeliver", 1), ("crash", 1), ("redeliver", 1), ("send", 1),
          ("restart", 0), ("deliver", 0)])
def test_interrupted_runs_end_like_the_uninterrupted_run(ops: list[tuple[str, int]]) -> None:
    plain, broken = World(), World()
    for op, i in ops:
        plain.run(op, i, interrupted=False)
        broken.run(op, i, interrupted=True)
    for w in (plain, broken):
        for i in (0, 1):
            if w.stores[i].fail_next:  # a crash planned after the last operation
                w.stores[i].fail_next = False
    assert [e for e in broken.log if e[0] != "undelivered"] == plain.log
    shown = [t for e in plain.log if e[0] == "received" for t in e[2]]
    assert all(t in shown for e in broken.log if e[0] == "undelivered" for t in e[2])
    assert broken.state() == plain.state()
    # no (ratchet id, message id) pair is sent twice by a device
    from otrv4.data_message import DataMessage
    for i in (0, 1):
        ids = [(m.ratchet_id, m.message_id) for e in plain.log if e[0] in ("sent", "received")
               and e[1] == i for m in map(DataMessage.decode, e[-1])]
        assert len(ids) == len(set(ids))


# --------------------------------------------------------------------------- key lifecycle

DAY = 24 * 3600


def test_an_eight_day_old_identity_renews_and_is_reachable_offline(tmp_path: Path) -> None:
    rng = DeterministicRng("renewal")
    with SQLiteStore(tmp_path / "t.db") as store:
        DeviceEngine(_identity("t", 0x3003), "romeo@montague.lit/tablet", rng=rng,
                     clock=FixedClock(NOW), store=store)
    later = FixedClock(NOW + 8 * DAY)
    with SQLiteStore(tmp_path / "t.db") as store:
        t = DeviceEngine.open(store, "romeo@montague.lit/tablet", rng=rng, clock=later)
        old = t.identity
        assert t.profiles_due()
        assert t.renew_profiles()
        assert not t.profiles_due() and not t.renew_profiles()
        assert t.identity.expires == NOW + 15 * DAY
        assert t.identity.prekey_profile.expiration == NOW + 15 * DAY
        assert t.identity.keypair == old.keypair and t.identity.instance_tag == 0x3003
        assert t.identity.shared_prekey != old.shared_prekey
        # the expired profiles (past their extra day) are gone
        assert t.local_prekeys.client_profiles == (t.identity.client_profile,)
        ensembles = t.ensembles(t.new_prekeys(1))
    with SQLiteStore(tmp_path / "t.db") as store:
        t = DeviceEngine.open(store, "romeo@montague.lit/tablet", rng=rng, clock=later)
        assert t.identity.expires == NOW + 15 * DAY
        j = DeviceEngine(DeviceIdentity.generate(rng, later, instance_tag=0x1001), J_FULL,
                         rng=rng, clock=later)
        out = j.send_offline("romeo@montague.lit", ensembles[0], "a week later")
        shown = [d for p in out.payloads for d in t.receive(J_FULL, p).displays]
        assert shown == ["a week later"]
        (reply,) = t.send("juliet@capulet.lit", 0x1001, "still here").payloads
        assert j.receive("romeo@montague.lit/tablet", reply).displays == ("still here",)


def test_ensembles_of_the_previous_profiles_still_work_after_renewal() -> None:
    rng = DeterministicRng("overlap")
    clock = FixedClock(NOW + 6 * DAY)
    t = DeviceEngine(_identity("t", 0x3003), "romeo@montague.lit/tablet", rng=rng,
                     clock=clock, store=MemoryStore())
    old_ensembles = t.ensembles(t.new_prekeys(2))
    assert t.renew_profiles()
    new_ensembles = t.ensembles(t.new_prekeys(1))
    assert old_ensembles[0].prekey_profile != new_ensembles[0].prekey_profile
    j = DeviceEngine(DeviceIdentity.generate(rng, clock, instance_tag=0x1001), J_FULL,
                     rng=rng, clock=clock)
    out = j.send_offline("romeo@montague.lit", old_ensembles[0], "drawn before renewal")
    assert [d for p in out.payloads for d in t.receive(J_FULL, p).displays] == \
        ["drawn before renewal"]
