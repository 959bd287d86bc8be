"""The storage contract (both stores), the record format (every state object round-trips
byte for byte through both stores) and the bad-input rules of durable device state."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from otrv4 import smp
from otrv4.clock import FixedClock
from otrv4.primitives.rng import DeterministicRng
from otrv4.session import Event, ProtocolState, SmpRequest, step
from otrv4_xmpp.device import DeviceIdentity, PairSession
from otrv4_xmpp.engine import DeviceEngine
from otrv4_xmpp.state.codec import (
    VERSION,
    decode_identity,
    decode_note,
    decode_pair,
    decode_prekeys,
    encode_identity,
    encode_note,
    encode_pair,
    encode_prekeys,
)
from otrv4_xmpp.state.errors import (
    CorruptRecordError,
    NewerRecordVersionError,
    StoreClosedError,
    StoreCorruptError,
    StoreLockedError,
    StoreVersionError,
)
from otrv4_xmpp.state.sqlite import SQLiteStore
from otrv4_xmpp.state.store import DeviceStore, MemoryStore

NOW = 1776945600
JULIET = "juliet@capulet.lit"
ROMEO = "romeo@montague.lit"

StoreFactory = Callable[[], DeviceStore]


@pytest.fixture(params=["memory", "sqlite"])
def make_store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreFactory]:
    opened: list[DeviceStore] = []
    counter = iter(range(1000))

    def make() -> DeviceStore:
        store: DeviceStore
        if request.param == "memory":
            store = MemoryStore()
        else:
            store = SQLiteStore(tmp_path / f"account-{next(counter)}.db")
        opened.append(store)
        return store
    yield make
    for s in opened:
        s.close()


# --------------------------------------------------------------------------- the contract


def test_get_names_commit(make_store: StoreFactory) -> None:
    store = make_store()
    assert store.get("identity") is None and store.names() == []
    store.commit({"pair/a/00000100": b"1", "pair/b/00000200": b"2", "note/x": b"\x00\xff"})
    assert store.get("note/x") == b"\x00\xff"
    assert store.names("pair/") == ["pair/a/00000100", "pair/b/00000200"]
    assert store.names() == ["note/x", "pair/a/00000100", "pair/b/00000200"]
    store.commit({"pair/a/00000100": b"3"}, ["pair/b/00000200", "absent"])
    assert store.names("pair/") == ["pair/a/00000100"]
    assert store.get("pair/a/00000100") == b"3"


def test_prefix_is_literal(make_store: StoreFactory) -> None:
    store = make_store()
    store.commit({"pair/a%": b"1", "pair/ab": b"2", "pair_x": b"3"})
    assert store.names("pair/a%") == ["pair/a%"]
    assert store.names("pair_") == ["pair_x"]


def test_commit_is_atomic(make_store: StoreFactory) -> None:
    store = make_store()
    store.commit({"a": b"1"})

    class Boom(Exception):
        pass

    class Exploding(dict[str, bytes]):
        def items(self):  # type: ignore[no-untyped-def]
            yield "b", b"2"
            raise Boom

    with pytest.raises(Boom):
        store.commit(Exploding(), ["a"])
    assert store.names() == ["a"] and store.get("a") == b"1"


def test_closed_store_raises(make_store: StoreFactory) -> None:
    store = make_store()
    store.close()
    store.close()
    with pytest.raises(StoreClosedError):
        store.get("a")
    with pytest.raises(StoreClosedError):
        store.commit({"a": b"1"})


# --------------------------------------------------------------------------- state objects


def _identity(label: str, tag: int) -> DeviceIdentity:
    return DeviceIdentity.generate(DeterministicRng(label), FixedClock(NOW), instance_tag=tag)


def _engines() -> tuple[DeviceEngine, DeviceEngine, DeterministicRng]:
    rng = DeterministicRng("state-store")
    clock = FixedClock(NOW)
    j = DeviceEngine(_identity("j", 0x1001), JULIET, rng=rng, clock=clock)
    r = DeviceEngine(_identity("r", 0x2002), ROMEO, rng=rng, clock=clock)
    return j, r, rng


def every_state_object() -> list[tuple[str, bytes]]:
    """One encoded record of every kind and every state a pair passes through."""
    j, r, rng = _engines()
    clock = FixedClock(NOW)
    out: list[tuple[str, bytes]] = []
    keep = out.append
    keep(("identity", encode_identity(j.identity)))
    forging_kept = replace(j.identity, forging_key=replace(
        j.identity.forging_key, keypair=j.identity.keypair))
    keep(("identity/forging-secret-kept", encode_identity(forging_kept)))
    r.new_prekeys(3)
    keep(("prekeys", encode_prekeys(r.local_prekeys)))
    keep(("prekeys/none", encode_prekeys(j.local_prekeys)))
    # interactive DAKE, every state
    identity_msg = j.start_dake(f"{ROMEO}/orchard").payloads[0]
    keep(("pair/WAITING_AUTH_R", encode_pair(j.pending[f"{ROMEO}/orchard"])))
    auth_r = r.receive(f"{JULIET}/balcony", identity_msg).payloads[0]
    keep(("pair/WAITING_AUTH_I", encode_pair(r.session(JULIET, j.instance_tag))))
    auth_i = j.receive(f"{ROMEO}/orchard", auth_r).payloads[0]
    r.receive(f"{JULIET}/balcony", auth_i)
    rp = r.session(JULIET, j.instance_tag)
    jp = j.session(ROMEO, r.instance_tag)
    keep(("pair/ENCRYPTED", encode_pair(jp)))
    # skipped keys, MAC keys to reveal, received ids
    msgs = [j.send(ROMEO, r.instance_tag, f"m{n}").payloads[0] for n in range(4)]
    r.receive(f"{JULIET}/balcony", msgs[3])
    keep(("pair/skipped-keys", encode_pair(rp)))
    r.send(JULIET, j.instance_tag, "back")
    keep(("pair/new-chain", encode_pair(rp)))
    # SMP states
    s1, o1 = step(jp.session, Event.USER_SMP_START, SmpRequest("secret", "q?"), rng, clock)
    keep(("pair/SMP-EXPECT2", encode_pair(replace(jp, session=s1))))
    assert isinstance(s1.smp_state, smp.Expect2)
    msg = next(o.text for o in o1 if hasattr(o, "text") and o.text.startswith("?OTR:"))
    from otrv4.data_message import DataMessage
    from otrv4.encoding import decode_encoded_message
    rs, _ = step(rp.session, Event.DATA, DataMessage.decode(decode_encoded_message(msg)),
                 rng, clock)
    assert isinstance(rs.smp_state, smp.Expect1) and rs.smp_state.pending is not None
    keep(("pair/SMP-EXPECT1-pending", encode_pair(replace(rp, session=rs))))
    rs2, o2 = step(rs, Event.USER_SMP_ANSWER, "secret", rng, clock)
    assert isinstance(rs2.smp_state, smp.Expect3)
    keep(("pair/SMP-EXPECT3", encode_pair(replace(rp, session=rs2))))
    msg2 = next(o.text for o in o2 if hasattr(o, "text") and o.text.startswith("?OTR:"))
    js, _ = step(s1, Event.DATA, DataMessage.decode(decode_encoded_message(msg2)), rng, clock)
    assert isinstance(js.smp_state, smp.Expect4)
    keep(("pair/SMP-EXPECT4", encode_pair(replace(jp, session=js))))
    # queued messages; finished; expired ratchet
    j.start_dake(f"{ROMEO}/tablet")
    waiting = j.pending[f"{ROMEO}/tablet"]
    q, _ = step(waiting.session, Event.USER_SEND, "later", rng, clock)
    assert [m.text for m in q.queued] == ["later"]
    keep(("pair/queued", encode_pair(PairSession(ROMEO, f"{ROMEO}/tablet", q))))
    j.end(ROMEO, r.instance_tag)
    keep(("pair/FINISHED", encode_pair(jp)))
    clock2 = FixedClock(NOW + 10 * 3600)
    expired, _ = step(rp.session, Event.TIMER, None, rng, clock2)
    keep(("pair/expired", encode_pair(replace(rp, session=expired))))
    # offline start: both sides
    t = DeviceEngine(_identity("t", 0x3003), ROMEO, rng=rng, clock=clock)
    secrets = t.new_prekeys(2)
    nia = j.send_offline(ROMEO, t.ensembles(secrets)[0], "offline hello")
    keep(("pair/offline-sender", encode_pair(j.session(ROMEO, t.instance_tag))))
    for data in nia.payloads:
        t.receive(f"{JULIET}/balcony", data)
    keep(("pair/offline-receiver", encode_pair(t.session(JULIET, j.instance_tag))))
    keep(("prekeys/one-used", encode_prekeys(t.local_prekeys)))
    keep(("note", encode_note({"devices": [1, 2], "trust": {"ab": "verified"}})))
    return out


STATES = every_state_object()


def _decode(kind: str, data: bytes) -> bytes:
    """Decode a record of ``kind`` and encode it again."""
    ident = _identity("j", 0x1001)
    if kind.startswith("identity"):
        return encode_identity(decode_identity(data))
    if kind.startswith("prekeys"):
        return encode_prekeys(decode_prekeys(data))
    if kind.startswith("pair"):
        pair = decode_pair(data, identity=ident, own_jid=JULIET, clock=FixedClock(NOW),
                           config=DeviceEngine(ident, JULIET, rng=DeterministicRng("x"),
                                               clock=FixedClock(NOW)).config,
                           local_prekeys=None)
        return encode_pair(pair)
    return encode_note(decode_note(data))


@pytest.mark.parametrize(("kind", "data"), STATES, ids=[k for k, _ in STATES])
def test_every_state_object_round_trips_byte_for_byte(make_store: StoreFactory, kind: str,
                                                      data: bytes) -> None:
    store = make_store()
    store.commit({kind: data})
    back = store.get(kind)
    assert back == data
    assert _decode(kind, back) == data
    body = json.loads(data)
    assert body["v"] == VERSION and body["kind"] == kind.split("/")[0]


def test_the_states_cover_every_protocol_state() -> None:
    seen = {json.loads(d)["state"] for k, d in STATES if k.startswith("pair")}
    assert {s.value for s in ProtocolState} - {"START"} <= seen
    smp_seen = {json.loads(d)["smp"]["state"] for k, d in STATES if k.startswith("pair")}
    assert smp_seen == {"EXPECT1", "EXPECT2", "EXPECT3", "EXPECT4"}


def test_restored_ratchet_behaves_like_the_original() -> None:
    j, r, _ = _engines()
    identity_msg = j.start_dake(f"{ROMEO}/o").payloads[0]
    auth_r = r.receive(f"{JULIET}/b", identity_msg).payloads[0]
    r.receive(f"{JULIET}/b", j.receive(f"{ROMEO}/o", auth_r).payloads[0])
    msgs = [j.send(ROMEO, r.instance_tag, f"m{n}").payloads[0] for n in range(3)]
    r.receive(f"{JULIET}/b", msgs[2])
    rp = r.session(JULIET, j.instance_tag)
    twin = decode_pair(encode_pair(rp), identity=r.identity, own_jid=ROMEO,
                       clock=FixedClock(NOW), config=r.config, local_prekeys=r.local_prekeys)
    r.sessions[(JULIET, j.instance_tag)] = twin
    assert r.receive(f"{JULIET}/b", msgs[0]).displays == ("m0",)
    assert r.receive(f"{JULIET}/b", msgs[1]).displays == ("m1",)


# --------------------------------------------------------------------------- bad input


def _record(kind: str) -> bytes:
    return next(d for k, d in STATES if k == kind)


@pytest.mark.parametrize("decode", [decode_identity, decode_prekeys, decode_note])
def test_newer_record_version_is_refused_by_name(decode: Callable[..., object]) -> None:
    body = json.loads(_record("identity"))
    body["v"] = VERSION + 1
    with pytest.raises(NewerRecordVersionError, match=r"^identity: record version 2"):
        decode(json.dumps(body).encode(), "identity")


@pytest.mark.parametrize("cut", [0, 1, 10, 100, -1])
def test_truncated_record_is_corrupt(cut: int) -> None:
    data = _record("pair/ENCRYPTED")
    with pytest.raises(CorruptRecordError, match=r"^pair/x: "):
        decode_pair(data[:cut], identity=_identity("j", 0x1001), own_jid=JULIET,
                    clock=FixedClock(NOW), config=_engines()[0].config, local_prekeys=None,
                    name="pair/x")


def test_wrong_field_type_and_bad_key_are_corrupt() -> None:
    body = json.loads(_record("identity"))
    body["keypair"] = 5
    with pytest.raises(CorruptRecordError, match="identity: malformed record"):
        decode_identity(json.dumps(body).encode())
    body = json.loads(_record("identity"))
    body["forging_public"] = "AAAA"
    with pytest.raises(CorruptRecordError):
        decode_identity(json.dumps(body).encode())
    with pytest.raises(CorruptRecordError, match="a 'note' record, expected 'identity'"):
        decode_identity(_record("note"))


def test_engine_open_names_the_bad_record_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "juliet.db"
    with SQLiteStore(path) as store:
        j, _, rng = _engines()
        DeviceEngine(j.identity, JULIET, rng=rng, clock=FixedClock(NOW), store=store)
        body = json.loads(store.get("prekeys") or b"")
        body["v"] = VERSION + 1
        store.commit({"prekeys": json.dumps(body).encode()})
    before = path.read_bytes()
    with SQLiteStore(path) as store, pytest.raises(NewerRecordVersionError,
                                                   match=r"^prekeys: "):
        DeviceEngine.open(store, JULIET, rng=rng, clock=FixedClock(NOW))
    assert path.read_bytes() == before


def test_sqlite_file_mode_is_0600(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "a.db") as store:
        store.commit({"a": b"1"})
        assert stat.S_IMODE(os.stat(tmp_path / "a.db").st_mode) == 0o600
        assert stat.S_IMODE(os.stat(tmp_path / "a.db.lock").st_mode) == 0o600


def test_second_store_on_one_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with SQLiteStore(path) as store:
        store.commit({"a": b"1"})
        with pytest.raises(StoreLockedError, match="open in another process"):
            SQLiteStore(path)
        assert store.get("a") == b"1"
    with SQLiteStore(path) as again:
        assert again.get("a") == b"1"


def test_second_process_is_refused_and_file_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    with SQLiteStore(path) as store:
        store.commit({"a": b"1"})
        before = path.read_bytes()
        code = ("import sys\nfrom otrv4_xmpp.state.sqlite import SQLiteStore\n"
                "from otrv4_xmpp.state.errors import StoreLockedError\n"
                "try:\n    SQLiteStore(sys.argv[1])\n"
                "except StoreLockedError as e:\n    print(type(e).__name__); sys.exit(3)\n")
        done = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True,
                              text=True, check=False, timeout=60)
        assert (done.returncode, done.stdout.strip()) == (3, "StoreLockedError")
        assert path.read_bytes() == before


def _filled(path: Path) -> bytes:
    with SQLiteStore(path) as store:
        store.commit({f"r{n}": bytes(2000) for n in range(20)})
    return path.read_bytes()


@pytest.mark.parametrize("keep", [0, 50, 100, 4096, 3 * 4096 + 17])
def test_truncated_store_file_is_refused_unchanged(tmp_path: Path, keep: int) -> None:
    path = tmp_path / "a.db"
    data = _filled(path)
    assert len(data) > keep
    path.write_bytes(data[:keep])
    with pytest.raises(StoreCorruptError, match=str(path)):
        SQLiteStore(path)
    assert path.read_bytes() == data[:keep]


def test_not_a_database_and_foreign_database_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    path.write_bytes(b"hello, this is not SQLite" * 10)
    with pytest.raises(StoreCorruptError, match="not an SQLite database"):
        SQLiteStore(path)
    import sqlite3
    other = tmp_path / "b.db"
    con = sqlite3.connect(other)
    con.execute("CREATE TABLE t(x)")
    con.commit()
    con.close()
    before = other.read_bytes()
    with pytest.raises(StoreCorruptError, match="another program"):
        SQLiteStore(other)
    assert other.read_bytes() == before


def test_newer_schema_is_refused_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "a.db"
    _filled(path)
    import sqlite3
    con = sqlite3.connect(path)
    con.execute("PRAGMA user_version=2")
    con.commit()
    con.close()
    before = path.read_bytes()
    with pytest.raises(StoreVersionError, match="schema version 2"):
        SQLiteStore(path)
    assert path.read_bytes() == before
