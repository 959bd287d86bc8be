"""The protocol state machine (spec §The Protocol State Machine)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import replace

import pytest

from otrv4 import dake, smp
from otrv4 import session as session_module
from otrv4.clock import FixedClock
from otrv4.data_message import DataMessage
from otrv4.encoding import decode_encoded_message, encode_message
from otrv4.errors import OTRError
from otrv4.keys import ForgingKey, SharedPrekeyPair
from otrv4.modes import Mode
from otrv4.plaintext import ErrorCode, encode_error, whitespace_tag
from otrv4.prekeys import LocalPrekeys, PrekeyEnsemble, generate_prekey_message
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.rng import DeterministicRng
from otrv4.profiles import ClientProfile, PrekeyProfile
from otrv4.ratchet import DoubleRatchet
from otrv4.session import (
    TRANSITIONS,
    Display,
    Event,
    ExtraKey,
    Notice,
    NoticeKind,
    OfflineStart,
    Output,
    ProtocolState,
    Send,
    Session,
    SessionConfig,
    SmpRequest,
    SmpUpdate,
    UnhandledTransition,
    UserMessage,
    new_session,
    receive,
    step,
)
from otrv4.tlv import decode_payload, encode_payload, extra_symmetric_key

A_TAG, B_TAG = 0x00000101, 0x00000202
S = ProtocolState


def contexts(label: str, clock: FixedClock, mode: Mode = Mode.STANDALONE
             ) -> tuple[dake.DakeContext, dake.DakeContext]:
    rng = DeterministicRng(label + "-keys")

    def participant(tag: int) -> dake.Participant:
        kp = EdDSAKeyPair.generate(rng)
        fk = ForgingKey.generate(rng)
        return dake.Participant(kp, fk.public,
                                ClientProfile.create(kp, fk, tag, clock.now() + 7 * 86400))

    return (dake.DakeContext(participant(A_TAG), "alice@example.org", "bob@example.org",
                             clock, mode),
            dake.DakeContext(participant(B_TAG), "bob@example.org", "alice@example.org",
                             clock, mode))


def sends(outputs: Sequence[Output]) -> list[str]:
    return [o.text for o in outputs if isinstance(o, Send)]


class Pair:
    def __init__(self, label: str, config: SessionConfig | None = None) -> None:
        self.clock = FixedClock(1_700_000_000)
        ca, cb = contexts(label, self.clock)
        self.a = new_session(ca, config)
        self.b = new_session(cb, config)
        self.rng = DeterministicRng(label)

    def to_b(self, texts: Sequence[str]) -> tuple[Output, ...]:
        out: list[Output] = []
        for t in texts:
            self.b, o = receive(self.b, t, self.rng, self.clock)
            out.extend(o)
        return tuple(out)

    def to_a(self, texts: Sequence[str]) -> tuple[Output, ...]:
        out: list[Output] = []
        for t in texts:
            self.a, o = receive(self.a, t, self.rng, self.clock)
            out.extend(o)
        return tuple(out)

    def pump(self, for_a: list[str], for_b: list[str], rounds: int = 6) -> None:
        """Deliver until nothing is left to send (both directions, in rounds)."""
        for _ in range(rounds):
            if not for_a and not for_b:
                return
            next_b = sends(self.to_a(for_a))
            next_a = sends(self.to_b(for_b))
            for_a, for_b = next_a, next_b

    def handshake(self) -> None:
        self.b, out = step(self.b, Event.USER_START_INTERACTIVE, None, self.rng, self.clock)
        states = [self.b.state]
        auth_r = sends(self.to_a(sends(out)))
        states.append(self.a.state)
        auth_i = sends(self.to_b(auth_r))
        states.append(self.b.state)
        notices = self.to_a(auth_i)
        states.append(self.a.state)
        assert states == [S.WAITING_AUTH_R, S.WAITING_AUTH_I, S.ENCRYPTED_MESSAGES,
                          S.ENCRYPTED_MESSAGES]
        assert Notice(NoticeKind.ENCRYPTED) in notices
        assert self.a.ssid == self.b.ssid
        assert self.a.their_fingerprint == self.b.our_fingerprint

    def send_a(self, text: str) -> list[str]:
        self.a, out = step(self.a, Event.USER_SEND, text, self.rng, self.clock)
        return sends(out)

    def send_b(self, text: str) -> list[str]:
        self.b, out = step(self.b, Event.USER_SEND, text, self.rng, self.clock)
        return sends(out)


def test_table_is_consistent() -> None:
    keys = [(t.state, t.event) for t in TRANSITIONS]
    assert len(keys) == len(set(keys))
    assert all(t.next_states and t.description for t in TRANSITIONS)
    # the table refers to the handler functions; the XEP shows their names
    assert all(getattr(session_module, t.handler_name) is t.handler for t in TRANSITIONS)
    # each event has one input type, whatever the state
    for event in Event:
        assert len({t.takes for t in TRANSITIONS if t.event is event}) == 1, event
    # every event is handled somewhere, every state has rows
    assert {t.event for t in TRANSITIONS} == set(Event)
    assert {t.state for t in TRANSITIONS} == set(ProtocolState)
    auth_r = [t for t in TRANSITIONS if t.event is Event.AUTH_R]
    assert [t.state for t in auth_r] == [S.WAITING_AUTH_R]


def test_conversation_and_end() -> None:
    p = Pair("session-basic")
    p.handshake()
    out = p.to_b(p.send_a("hello Bob"))
    assert Display("hello Bob") in out
    out = p.to_a(p.send_b("hi Alice"))
    assert Display("hi Alice") in out
    p.a, out = step(p.a, Event.USER_END, None, p.rng, p.clock)
    assert p.a.state is S.START and p.a.ratchet is None
    got = p.to_b(sends(out))
    assert Notice(NoticeKind.DISCONNECTED) in got and p.b.state is S.FINISHED
    p.b, out = step(p.b, Event.USER_SEND, "late", p.rng, p.clock)
    assert out == (Notice(NoticeKind.CANNOT_SEND),) and p.b.queued == (UserMessage("late"),)
    p.b, _ = step(p.b, Event.USER_END, None, p.rng, p.clock)
    assert p.b.state is S.START


def test_queued_messages_flushed_after_dake() -> None:
    p = Pair("session-queue")
    p.a, out = step(p.a, Event.USER_SEND, "typed early", p.rng, p.clock)
    assert out == (Notice(NoticeKind.QUEUED),)
    p.handshake()
    # Alice's queued message went out right after Auth-I; deliver everything she sent
    p.b, _ = receive(p.b, p.send_a("second")[0], p.rng, p.clock)
    assert p.a.queued == ()


def test_identity_tie_break() -> None:
    p = Pair("session-race")
    p.a, out_a = step(p.a, Event.USER_START_INTERACTIVE, None, p.rng, p.clock)
    p.b, out_b = step(p.b, Event.USER_START_INTERACTIVE, None, p.rng, p.clock)
    assert {p.a.state, p.b.state} == {S.WAITING_AUTH_R}
    # both Identity messages cross; one side wins the tie-break and one DAKE completes
    p.pump(sends(out_b), sends(out_a))
    assert (p.a.state, p.b.state) == (S.ENCRYPTED_MESSAGES, S.ENCRYPTED_MESSAGES)
    assert p.a.ssid == p.b.ssid
    assert Display("x") in p.to_b(p.send_a("x"))


def test_unreadable_and_not_private() -> None:
    p = Pair("session-errors")
    p.handshake()
    raw = decode_encoded_message(p.send_a("hello")[0])
    tampered = raw[:-70] + bytes([raw[-70] ^ 1]) + raw[-69:]
    before = p.b
    out = p.to_b([encode_message(tampered)])
    assert Send(encode_error(ErrorCode.UNREADABLE_MESSAGE)) in out
    assert p.b.ratchet is before.ratchet and p.b == before
    # the untampered message still decrypts
    assert Display("hello") in p.to_b([encode_message(raw)])
    # a data message in START: ERROR_2
    fresh = Pair("session-errors-2")
    fresh.handshake()
    msg = fresh.send_a("to nobody")[0]
    lonely = new_session(contexts("session-errors-2", p.clock)[1])
    _, out = receive(lonely, msg, p.rng, p.clock)
    assert Send("?OTR Error: ERROR_2: Not in private state message") in out
    # ignore-unreadable data messages get no error
    hb = DataMessage.decode(decode_encoded_message(msg))
    _, out = receive(lonely, encode_message(replace(hb, flags=1).encode()), p.rng, p.clock)
    assert out == ()


def test_error_messages_and_refusals() -> None:
    p = Pair("session-refuse")
    _, out = receive(p.a, "?OTR Error: ERROR_2: Not in private state message", p.rng, p.clock)
    assert out == (Notice(NoticeKind.ERROR_RECEIVED,
                          "ERROR_2: Not in private state message"),)
    for text in ("?OTRv4?", "hello" + whitespace_tag([4]), "hello"):
        s2, out = receive(p.a, text, p.rng, p.clock)
        assert s2 == p.a and len(out) == 1 and isinstance(out[0], Notice)
        assert out[0].kind is NoticeKind.REFUSED
    s2, out = step(p.a, Event.AUTH_I, b"", p.rng, p.clock)  # unlisted pair: ignored
    assert s2 == p.a and out[0] == Notice(NoticeKind.IGNORED,
                                          f"{Event.AUTH_I.value} in START")


def test_smp_through_sessions() -> None:
    for answer, outcome in (("our secret", smp.SmpOutcome.SUCCEEDED),
                            ("wrong", smp.SmpOutcome.FAILED)):
        p = Pair("session-smp")
        p.handshake()
        p.a, out = step(p.a, Event.USER_SMP_START, ("our secret", "which?"), p.rng, p.clock)
        got = p.to_b(sends(out))
        assert SmpUpdate(smp.SmpOutcome.QUESTION, b"which?") in got
        p.b, out = step(p.b, Event.USER_SMP_ANSWER, answer, p.rng, p.clock)
        m3 = sends(p.to_a(sends(out)))
        got_b = p.to_b(m3)
        got_a = p.to_a([t for t in sends(got_b)])
        assert SmpUpdate(outcome) in got_b and SmpUpdate(outcome) in got_a
        assert p.a.smp_state == smp.Expect1() == p.b.smp_state


def test_smp_abort_and_bad_message() -> None:
    p = Pair("session-smp-abort")
    p.handshake()
    p.a, out = step(p.a, Event.USER_SMP_START, ("s", ""), p.rng, p.clock)
    assert p.a.smp_state.name is smp.SmpState.EXPECT2
    p.a, out = step(p.a, Event.USER_SMP_ABORT, None, p.rng, p.clock)
    assert SmpUpdate(smp.SmpOutcome.ABORTED) in out
    got = p.to_b(sends(out))
    assert SmpUpdate(smp.SmpOutcome.ABORTED) in got
    assert p.a.smp_state == smp.Expect1()


def test_extra_symmetric_key() -> None:
    p = Pair("session-extra")
    p.handshake()
    assert p.a.ratchet is not None
    enc = p.a.ratchet.encrypt(encode_payload("file", [extra_symmetric_key(b"\x00\x00\x00\x05",
                                                                          b"name")]), p.rng)
    got = p.to_b([encode_message(enc.message.encode())])
    keys = [o for o in got if isinstance(o, ExtraKey)]
    assert len(keys) == 1 and keys[0].context == b"\x00\x00\x00\x05" and keys[0].data == b"name"


def test_heartbeat_and_expiry() -> None:
    p = Pair("session-timer", SessionConfig(expiry_seconds=3600, heartbeat_seconds=60))
    p.handshake()
    p.a, out = step(p.a, Event.TIMER, None, p.rng, p.clock)
    assert out == ()
    p.clock.advance(61)
    p.a, out = step(p.a, Event.TIMER, None, p.rng, p.clock)
    (heartbeat,) = sends(out)
    assert not [o for o in p.to_b([heartbeat]) if isinstance(o, Display)]
    # a message Bob never receives leaves a skipped key; expiry reveals its MAC key
    lost = p.send_b("lost")
    assert lost
    p.to_a(p.send_b("delivered"))
    p.clock.advance(3600)
    p.a, out = step(p.a, Event.TIMER, None, p.rng, p.clock)
    assert p.a.state is S.FINISHED and Notice(NoticeKind.EXPIRED) in out
    (tlv1_message,) = sends(out)
    got = p.to_b([tlv1_message])
    assert Notice(NoticeKind.DISCONNECTED) in got and p.b.state is S.FINISHED
    assert p.b.ratchet is None


def test_early_data_message_is_stored_then_read() -> None:
    p = Pair("session-early")
    p.b, out = step(p.b, Event.USER_START_INTERACTIVE, None, p.rng, p.clock)
    auth_r = sends(p.to_a(sends(out)))
    auth_i = sends(p.to_b(auth_r))
    early = p.send_b("before your Auth-I")  # Bob is encrypted, Alice still waits
    assert Notice(NoticeKind.STORED) in p.to_a(early)
    got = p.to_a(auth_i)
    assert Display("before your Auth-I") in got and p.a.stored == ()


def test_handlers_do_not_touch_the_old_session() -> None:
    p = Pair("session-immutable")
    p.handshake()
    old = p.a
    p.a, _ = step(p.a, Event.USER_END, None, p.rng, p.clock)
    assert old.state is S.ENCRYPTED_MESSAGES and old.ratchet is not None
    assert isinstance(old, Session)


def test_plaintext_payload_helpers() -> None:
    assert decode_payload(encode_payload("x")).text == "x"


def bob_prekeys(cb: dake.DakeContext, rng: DeterministicRng, clock: FixedClock
                ) -> tuple[LocalPrekeys, PrekeyEnsemble]:
    """Bob's published prekey material and the ensemble a prekey server would hand out."""
    shared = SharedPrekeyPair.generate(rng)
    profile = PrekeyProfile.create(cb.us.keypair, shared, B_TAG, clock.now() + 86400)
    prekey = generate_prekey_message(rng, B_TAG)
    local = LocalPrekeys((cb.us.client_profile,), ((profile, shared),), (prekey,))
    return local, PrekeyEnsemble(cb.us.client_profile, profile, prekey.message)


@pytest.mark.parametrize("mode", [Mode.INTERACTIVE_ONLY])
def test_interactive_only_refuses_offline(mode: Mode) -> None:
    clock = FixedClock(1_700_000_000)
    ca, cb = contexts("session-mode", clock, mode)
    rng = DeterministicRng("m")
    _, ensemble = bob_prekeys(cb, rng, clock)
    s = new_session(ca)
    s2, out = step(s, Event.USER_SEND_OFFLINE, OfflineStart(ensemble, "hi"), rng, clock)
    assert s2 == s and out[0].kind is NoticeKind.REFUSED  # type: ignore[union-attr]


def test_inputs_are_checked() -> None:
    p = Pair("session-inputs")
    for event, wrong in ((Event.USER_SEND, b"bytes"), (Event.IDENTITY, "text"),
                         (Event.TIMER, "now"), (Event.USER_SEND_OFFLINE, (None, "hi")),
                         (Event.DATA, 7), (Event.USER_START_INTERACTIVE, 0)):
        with pytest.raises(TypeError, match="this event takes"):
            step(p.a, event, wrong, p.rng, p.clock)
    p.handshake()
    with pytest.raises(TypeError, match="SmpRequest"):
        step(p.a, Event.USER_SMP_START, ("secret", None), p.rng, p.clock)
    # the typed input and the pair are the same request (and p.a is the same value twice)
    _, out1 = step(p.a, Event.USER_SMP_START, SmpRequest("s", "q?"), DeterministicRng("x"),
                    p.clock)
    _, out2 = step(p.a, Event.USER_SMP_START, ("s", "q?"), DeterministicRng("x"), p.clock)
    assert out1 == out2


def test_offline_conversation() -> None:
    clock = FixedClock(1_700_000_000)
    ca, cb = contexts("session-offline", clock)
    rng = DeterministicRng("session-offline")
    local, ensemble = bob_prekeys(cb, rng, clock)
    alice = new_session(ca)
    bob = new_session(cb, local_prekeys=local)
    alice, out = step(alice, Event.USER_SEND_OFFLINE, (ensemble, "while you were away"),
                      rng, clock)
    assert alice.state is S.ENCRYPTED_MESSAGES
    nia, data = sends(out)
    bob, got = receive(bob, nia, rng, clock)
    assert bob.state is S.ENCRYPTED_MESSAGES and bob.local_prekeys is not None
    assert bob.local_prekeys.prekeys == ()  # the one-time prekey is consumed
    bob, got = receive(bob, data, rng, clock)
    assert Display("while you were away") in got
    bob, out = step(bob, Event.USER_SEND, "back online", rng, clock)
    alice, got = receive(alice, sends(out)[0], rng, clock)
    assert Display("back online") in got
    # a second Non-Interactive-Auth with the consumed prekey is ignored, state kept
    again, got = receive(bob, nia, rng, clock)
    assert again == bob and got[0].kind is NoticeKind.IGNORED  # type: ignore[union-attr]


# --------------------------------------------------------------------------- value semantics


def ratchet_state(s: Session) -> dict[str, object] | None:
    """A deep snapshot of the session's ratchet: every chain, key, counter and skipped key."""
    return None if s.ratchet is None else copy.deepcopy(vars(s.ratchet))


def snapshot(s: Session) -> tuple[Session, dict[str, object] | None]:
    return replace(s), ratchet_state(s)


def unchanged(s: Session, snap: tuple[Session, dict[str, object] | None]) -> bool:
    return s == snap[0] and ratchet_state(s) == snap[1]


def conversation_with_skipped_key(label: str) -> Pair:
    """Encrypted sessions where Alice holds a skipped key (a message Bob sent and she lost)."""
    p = Pair(label)
    p.handshake()
    p.to_b(p.send_a("one"))
    assert p.send_b("lost")
    p.to_a(p.send_b("delivered"))
    assert p.a.ratchet is not None and p.a.ratchet.skipped
    return p


class WireDown(Exception):
    """Raised by a monkeypatched function after the ratchet committed."""


def _raise(*args: object, **kwargs: object) -> None:
    raise WireDown


def test_failed_send_after_the_ratchet_moved_leaves_the_old_session(
        monkeypatch: pytest.MonkeyPatch) -> None:
    p = conversation_with_skipped_key("session-rollback-send")
    old = p.a
    snap = snapshot(old)
    assert old.ratchet is not None and old.ratchet.needs_new_sending_chain()
    # encoding the wire text runs after DoubleRatchet.encrypt committed its new chain
    monkeypatch.setattr(session_module, "encode_message", _raise)
    with pytest.raises(WireDown):
        step(old, Event.USER_SEND, "never sent", p.rng, p.clock)
    assert unchanged(old, snap)
    monkeypatch.undo()
    # the old value still works, and a retry produces a message Bob reads
    p.a = old
    assert Display("sent now") in p.to_b(p.send_a("sent now"))


def test_failed_receive_after_the_ratchet_moved_leaves_the_old_session(
        monkeypatch: pytest.MonkeyPatch) -> None:
    p = conversation_with_skipped_key("session-rollback-receive")
    text = p.send_b("second chain message")
    old = p.a
    snap = snapshot(old)
    # decoding the payload runs after DoubleRatchet.decrypt verified and committed
    monkeypatch.setattr(session_module, "decode_payload", _raise)
    with pytest.raises(WireDown):
        receive(old, text[0], p.rng, p.clock)
    assert unchanged(old, snap)
    monkeypatch.undo()
    assert Display("second chain message") in p.to_a(text)


def test_unhandled_transition_leaves_the_old_session(monkeypatch: pytest.MonkeyPatch) -> None:
    p = conversation_with_skipped_key("session-rollback-table")
    old = p.a
    snap = snapshot(old)
    key = (S.ENCRYPTED_MESSAGES, Event.USER_SEND)
    row = session_module._TABLE[key]
    monkeypatch.setitem(session_module._TABLE, key, replace(row, next_states=(S.FINISHED,)))
    with pytest.raises(UnhandledTransition):
        step(old, Event.USER_SEND, "breaks the table", p.rng, p.clock)
    assert unchanged(old, snap)


def test_successful_steps_do_not_mutate_the_old_session() -> None:
    """Every step of a whole conversation leaves the value it started from as it was."""
    p = Pair("session-values", SessionConfig(expiry_seconds=3600, heartbeat_seconds=60))
    checked = 0

    def run_a(event: Event, inp: object) -> list[str]:
        nonlocal checked
        old, snap = p.a, snapshot(p.a)
        p.a, out = step(p.a, event, inp, p.rng, p.clock)
        assert unchanged(old, snap), event
        checked += 1
        return sends(out)

    def deliver_to_b(texts: Sequence[str]) -> list[str]:
        nonlocal checked
        replies: list[str] = []
        for t in texts:
            old, snap = p.b, snapshot(p.b)
            p.b, out = receive(p.b, t, p.rng, p.clock)
            assert unchanged(old, snap)
            checked += 1
            replies += sends(out)
        return replies

    p.handshake()
    deliver_to_b(run_a(Event.USER_SEND, "hello"))
    deliver_to_b(run_a(Event.USER_SEND, "again"))
    p.to_a(p.send_b("a new chain from Bob"))
    deliver_to_b(run_a(Event.USER_SEND, "a new chain from Alice"))
    run_a(Event.USER_SMP_START, ("secret", "question?"))  # Bob never answers
    run_a(Event.USER_SMP_ABORT, None)
    p.clock.advance(61)
    deliver_to_b(run_a(Event.TIMER, None))  # heartbeat
    p.clock.advance(3600)
    expiry = run_a(Event.TIMER, None)
    assert p.a.state is S.FINISHED
    deliver_to_b(expiry)
    assert p.b.state is S.FINISHED and checked >= 9


# --------------------------------------------------------------------------- no silent errors


def test_too_many_extra_keys_is_a_notice() -> None:
    p = Pair("session-extra-many")
    p.handshake()
    assert p.a.ratchet is not None
    records = [extra_symmetric_key(bytes([0, 0, 0, n]), b"") for n in range(11)]
    enc = p.a.ratchet.copy().encrypt(encode_payload("eleven keys", records), p.rng)
    got = p.to_b([encode_message(enc.message.encode())])
    assert Display("eleven keys") in got
    assert not [o for o in got if isinstance(o, ExtraKey)]
    assert Notice(NoticeKind.IGNORED,
                  "extra symmetric keys: at most 10 extra symmetric keys can be derived") in got


def test_unreadable_ignore_unreadable_message_is_a_notice() -> None:
    p = Pair("session-ignore-unreadable")
    p.handshake()
    p.clock.advance(61)
    p.a, out = step(p.a, Event.TIMER, None, p.rng, p.clock)  # a heartbeat: IGNORE_UNREADABLE
    heartbeat = DataMessage.decode(decode_encoded_message(sends(out)[0]))
    assert heartbeat.ignore_unreadable
    tampered = replace(heartbeat, authenticator=bytes(len(heartbeat.authenticator)))
    before = p.b
    got = p.to_b([encode_message(tampered.encode())])
    assert p.b is before and not sends(got)  # no ERROR_1 for such a message (spec)
    (notice,) = got
    assert isinstance(notice, Notice) and notice.kind is NoticeKind.IGNORED
    assert notice.detail.startswith("unreadable (IGNORE_UNREADABLE): ")


class Broken(OTRError):
    """Raised by a monkeypatched handler."""


def test_stored_message_that_fails_after_the_dake_is_a_notice(
        monkeypatch: pytest.MonkeyPatch) -> None:
    p = Pair("session-early-fails")
    p.b, out = step(p.b, Event.USER_START_INTERACTIVE, None, p.rng, p.clock)
    auth_r = sends(p.to_a(sends(out)))
    auth_i = sends(p.to_b(auth_r))
    assert Notice(NoticeKind.STORED) in p.to_a(p.send_b("early"))

    def broken(*args: object) -> None:
        raise Broken("cannot")

    monkeypatch.setattr(session_module, "receiving_a_data_message", broken)
    got = p.to_a(auth_i)
    assert p.a.state is S.ENCRYPTED_MESSAGES and p.a.stored == ()
    assert Notice(NoticeKind.UNREADABLE, "stored data message: cannot") in got


def test_expiry_wipes_the_live_ratchet(monkeypatch: pytest.MonkeyPatch) -> None:
    """The ratchet that sent TLV 1 is wiped; the value the step started from is not touched."""
    p = Pair("session-expiry-wipe", SessionConfig(expiry_seconds=3600, heartbeat_seconds=60))
    p.handshake()
    p.to_a(p.send_b("so Alice holds received-message MAC keys"))
    wiped: list[DoubleRatchet] = []
    real_expire = DoubleRatchet.expire

    def spy(self: DoubleRatchet) -> bytes:
        wiped.append(self)
        return real_expire(self)

    monkeypatch.setattr(DoubleRatchet, "expire", spy)
    old, snap = p.a, snapshot(p.a)
    p.clock.advance(3600)
    p.a, out = step(p.a, Event.TIMER, None, p.rng, p.clock)
    assert Notice(NoticeKind.EXPIRED) in out and p.a.ratchet is None
    (live,) = wiped
    assert live is not old.ratchet and live.expired
    assert live.root_key is None and live.send_chain_key is None and not live.skipped
    assert live.mac_keys_to_reveal == [] and live.our_ecdh is None
    assert unchanged(old, snap)
