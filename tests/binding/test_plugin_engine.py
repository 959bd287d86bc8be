"""The plugin's per-device conversation engine, without XMPP.

Devices talk through :class:`DeviceEngine` directly: what one returns as
payloads the test hands to the other, with the full JID the stanza would
have come from.
"""

from __future__ import annotations

import pytest

from otrv4.clock import FixedClock
from otrv4.encoding import MessageType, peek_message_type
from otrv4.primitives.rng import DeterministicRng
from otrv4.session import NoticeKind, ProtocolState
from otrv4_xmpp.engine import (
    DeviceEngine,
    DeviceIdentity,
    NoSessionError,
    NotAConversationMessageError,
    Outcome,
    bare_of,
)

NOW = 1_800_000_000
J1, J2 = "juliet@localhost/balcony", "juliet@localhost/phone"
R1 = "romeo@localhost/garden"


def device(label: str, jid: str, clock: FixedClock) -> DeviceEngine:
    identity = DeviceIdentity.generate(DeterministicRng(f"id/{label}"), clock)
    return DeviceEngine(identity, bare_of(jid), rng=DeterministicRng(f"run/{label}"),
                         clock=clock)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


def relay(out: Outcome, to: DeviceEngine, sender_full: str) -> list[Outcome]:
    return [to.receive(sender_full, p) for p in out.payloads]


def dake(a: DeviceEngine, a_full: str, b: DeviceEngine, b_full: str) -> None:
    """a starts a DAKE with b's full JID; run it to completion."""
    identity = a.start_dake(b_full)
    assert [peek_message_type(p) for p in identity.payloads] == [MessageType.IDENTITY]
    assert identity.payloads[0][7:11] == bytes(4)  # receiver tag unknown: 0
    assert a.dake_in_progress(b_full)
    [auth_r] = relay(identity, b, a_full)
    assert [peek_message_type(p) for p in auth_r.payloads] == [MessageType.AUTH_R]
    [auth_i] = relay(auth_r, a, b_full)
    assert auth_i.established
    assert peek_message_type(auth_i.payloads[0]) is MessageType.AUTH_I
    [done] = relay(auth_i, b, a_full)
    assert done.established and done.payloads == ()


def test_generate_identity_is_deterministic_and_tagged(clock: FixedClock) -> None:
    a = DeviceIdentity.generate(DeterministicRng("x"), clock)
    b = DeviceIdentity.generate(DeterministicRng("x"), clock)
    assert a.instance_tag == b.instance_tag >= 0x100
    assert a.fingerprint == b.fingerprint
    assert a.expires > NOW
    fixed = DeviceIdentity.generate(DeterministicRng("y"), clock, instance_tag=0x1234)
    assert fixed.instance_tag == 0x1234


def test_interactive_dake_files_the_session_under_the_peer_tag(clock: FixedClock) -> None:
    j, r = device("j", J1, clock), device("r", R1, clock)
    dake(j, J1, r, R1)
    assert j.pending == {} and r.pending == {}
    js = j.session("romeo@localhost", r.instance_tag)
    rs = r.session("juliet@localhost", j.instance_tag)
    assert js.encrypted and rs.encrypted
    assert js.ssid == rs.ssid and len(js.ssid) == 8
    assert js.full_jid == R1 and rs.full_jid == J1
    assert js.fingerprint == r.identity.fingerprint
    assert j.tags_with_sessions("romeo@localhost") == [r.instance_tag]
    assert j.at_full_jid(R1) is js


def test_messages_both_ways_and_heartbeat_free_display(clock: FixedClock) -> None:
    j, r = device("j", J1, clock), device("r", R1, clock)
    dake(j, J1, r, R1)
    for i in range(3):
        out = j.send("romeo@localhost", r.instance_tag, f"hi {i}")
        [got] = relay(out, r, J1)
        assert got.displays == (f"hi {i}",)
        out = r.send("juliet@localhost", j.instance_tag, f"re {i}")
        [got] = relay(out, j, R1)
        assert got.displays == (f"re {i}",)


def test_simultaneous_starts_end_in_one_dake(clock: FixedClock) -> None:
    j, r = device("j", J1, clock), device("r", R1, clock)
    ji, ri = j.start_dake(R1), r.start_dake(J1)
    # Each receives the other's Identity: one side resends, the other answers.
    from_j = relay(ri, j, R1)[0]
    from_r = relay(ji, r, J1)[0]
    queue = [(from_j, r, J1), (from_r, j, R1)]
    for _ in range(10):
        if not queue:
            break
        out, dest, sender = queue.pop(0)
        for got in relay(out, dest, sender):
            back = j if dest is r else r
            queue.append((got, back, R1 if dest is r else J1))
    js = j.session("romeo@localhost", r.instance_tag)
    rs = r.session("juliet@localhost", j.instance_tag)
    assert js.encrypted and rs.encrypted and js.ssid == rs.ssid
    [got] = relay(j.send("romeo@localhost", r.instance_tag, "after the race"), r, J1)
    assert got.displays == ("after the race",)


def test_data_message_from_an_unknown_device_raises(clock: FixedClock) -> None:
    j, r, j2 = device("j", J1, clock), device("r", R1, clock), device("j2", J2, clock)
    dake(j, J1, r, R1)
    out = j.send("romeo@localhost", r.instance_tag, "not for you")
    with pytest.raises(NoSessionError):
        j2.receive(J1, out.payloads[0])


def test_a_prekey_message_is_not_a_conversation_message(clock: FixedClock) -> None:
    from otrv4.prekeys import generate_prekey_message
    j = device("j", J1, clock)
    prekey = generate_prekey_message(DeterministicRng("pk"), 0x1234).message.encode()
    with pytest.raises(NotAConversationMessageError):
        j.receive(R1, prekey)


def test_tampered_auth_r_is_ignored_and_changes_nothing(clock: FixedClock) -> None:
    j, r = device("j", J1, clock), device("r", R1, clock)
    identity = j.start_dake(R1)
    [auth_r] = relay(identity, r, J1)
    before = j.pending[R1].session
    bad = bytearray(auth_r.payloads[0])
    bad[-10] ^= 1
    out = j.receive(R1, bytes(bad))
    assert out.payloads == () and not out.established
    assert [n.kind for n in out.notices] == [NoticeKind.IGNORED]
    assert j.pending[R1].session is before
    # The genuine Auth-R still completes the DAKE.
    assert j.receive(R1, auth_r.payloads[0]).established


def test_end_ends_only_that_pair(clock: FixedClock) -> None:
    j, r1, j2 = device("j", J1, clock), device("r", R1, clock), device("j2", J2, clock)
    dake(j, J1, r1, R1)
    dake(j, J1, j2, J2)
    out = j.end("romeo@localhost", r1.instance_tag)
    assert out.ended
    [got] = relay(out, r1, J1)
    assert got.ended
    assert any(n.kind is NoticeKind.DISCONNECTED for n in got.notices)
    assert r1.session("juliet@localhost", j.instance_tag).state is ProtocolState.FINISHED
    assert not j.has_session("romeo@localhost", r1.instance_tag)
    assert j.has_session("juliet@localhost", j2.instance_tag)
    [got] = relay(j.send("juliet@localhost", j2.instance_tag, "still on"), j2, J1)
    assert got.displays == ("still on",)


def test_own_devices_talk_like_any_pair(clock: FixedClock) -> None:
    j, j2 = device("j", J1, clock), device("j2", J2, clock)
    dake(j, J1, j2, J2)
    [got] = relay(j.send("juliet@localhost", j2.instance_tag, "note to self"), j2, J1)
    assert got.displays == ("note to self",)
