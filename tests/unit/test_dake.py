"""The interactive DAKE (otrv4.md §Interactive DAKE Overview, §Identity/Auth-R/Auth-I Message).

Complete runs in both directions, the simultaneous-Identity race, every negative case of
the committed vectors (with the receiver's state compared to an untouched copy, and the
DAKE then completed with the genuine message), the committed transcript replayed from its
JSON, and the hand-off to the double ratchet.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from otrv4 import dake
from otrv4.clock import FixedClock
from otrv4.dake import START, DakeContext, UnexpectedMessageError, WaitingAuthI, WaitingAuthR
from otrv4.decisions import DECISIONS
from otrv4.encoding import MessageType, decode_encoded_message, encode_message
from otrv4.instance_tag import InvalidReceiverTagError
from otrv4.messages import (
    AuthIMessage,
    AuthRMessage,
    DakeMessage,
    IdentityMessage,
    decode_dake_message,
    wire_table,
)
from otrv4.modes import Mode
from otrv4.primitives.rng import DeterministicRng, ReplayRng
from otrv4.profiles import ProfileExpiredError
from otrv4.ratchet import DoubleRatchet, RatchetStart
from otrv4.shared_state import Role, format_ssid

from ..conftest import COMPILED_ED448_BACKENDS, ed448_backend_in_use
from ..helpers.dake import (
    NOW,
    Interactive,
    contexts,
    interactive,
    interactive_transcript,
    rejected,
    sent,
)
from ..helpers.vectors import cases_of, draws, raises_exactly


@pytest.fixture(scope="module", autouse=True, params=COMPILED_ED448_BACKENDS)
def ed448_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test of this module runs on libdecaf and on pycryptodome (the reference backend
    runs these protocols through the pinned vectors)."""
    with ed448_backend_in_use(request.param) as name:
        yield name


@pytest.fixture(scope="module")
def run() -> Interactive:
    """The committed transcript, replayed from its inputs and random draws."""
    return interactive_transcript()[0]


def test_completes_and_agrees(run: Interactive) -> None:
    bob, alice = run.bob_result, run.alice_result
    assert bob.ssid == alice.ssid and len(bob.ssid) == 8
    assert bob.dake_secret == alice.dake_secret
    assert bob.role is Role.INTERACTIVE_INITIATOR and alice.role is Role.INTERACTIVE_RESPONDER
    # Alice's sending chain 0 is Bob's receiving chain 0.
    assert alice.chain_key_sending == bob.chain_key_receiving
    assert alice.chain_key_receiving is None and bob.chain_key_sending is not None
    assert (alice.i, bob.i) == (0, 1)
    assert bob.their_ecdh == alice.our_ecdh.public and bob.their_dh == alice.our_dh.public
    assert alice.their_ecdh == bob.our_ecdh_first.public
    assert bob.our_ecdh != bob.our_ecdh_first  # Bob made new keys for his sending chain
    assert alice.sends_first and not bob.sends_first
    assert alice.ssid_bold_first and not bob.ssid_bold_first
    assert format_ssid(alice.ssid, bold_first=True).startswith("**")
    assert alice.their_client_profile == run.bob.us.client_profile
    assert bob.their_client_profile == run.alice.us.client_profile
    assert isinstance(run.done.state, type(START)) and run.done.send is None


def test_message_sizes(run: Interactive) -> None:
    assert run.identity.send is not None and run.auth_r.send is not None
    assert run.auth_i.send is not None
    assert len(run.identity.send.encode()) == 1164
    assert len(run.auth_r.send.encode()) == 1506
    assert len(run.auth_i.send.encode()) == 353


def test_other_direction() -> None:
    """Alice initiates and Bob responds; also with distinct labels (fresh keys)."""
    first = interactive("dake-test/other")
    bob, alice = first.alice, first.bob  # swapped roles
    rng = DeterministicRng("dake-test/other-direction")
    s1 = dake.start(bob, rng)
    assert s1.send is not None
    s2 = dake.receive(alice, START, s1.send.encode(), rng)
    assert s2.send is not None
    s3 = dake.receive(bob, s1.state, s2.send.encode(), rng)
    assert s3.send is not None and s3.result is not None
    s4 = dake.receive(alice, s2.state, s3.send.encode(), rng)
    assert s4.result is not None
    assert s3.result.ssid == s4.result.ssid
    assert s3.result.ssid != first.bob_result.ssid
    assert s4.result.chain_key_sending == s3.result.chain_key_receiving


def test_deterministic(run: Interactive) -> None:
    again, test = interactive_transcript()
    assert again.draws == run.draws == tuple(draws(test))
    assert again.auth_i.send == run.auth_i.send
    assert again.identity.state == run.identity.state
    assert interactive("dake-test/det").draws == interactive("dake-test/det").draws


def test_double_ratchet_hand_off(run: Interactive) -> None:
    """The results feed otrv4.ratchet and a message goes each way."""
    rng = DeterministicRng("dake-test/ratchet")
    alice = DoubleRatchet(RatchetStart.from_dake(run.alice_result))
    bob = DoubleRatchet(RatchetStart.from_dake(run.bob_result))
    to_bob = alice.encrypt(b"hello bob", rng)
    assert bob.decrypt(to_bob.message).plaintext == b"hello bob"
    to_alice = bob.encrypt(b"hello alice", rng)
    assert alice.decrypt(to_alice.message).plaintext == b"hello alice"


def test_race_resolves_to_one_dake() -> None:
    """The committed race: both send Identity; the higher SHA-256(MPI(B)) resends its
    Identity, the other answers both with the same Auth-R, and one DAKE completes."""
    (test,) = cases_of("dake-interactive", "race")
    bob, alice, _ = contexts("", test["inputs"])
    rng = ReplayRng(draws(test))
    starts = {"bob": dake.start(bob, rng), "alice": dake.start(alice, rng)}
    hashes = {name: dake.identity_tiebreak_hash(step.send.b) for name, step in starts.items()
              if isinstance(step.send, IdentityMessage)}
    assert {f"{name}_tiebreak_hash": h.to_bytes(32, "big").hex()
            for name, h in hashes.items()} == test["intermediates"]
    winner = max(hashes, key=hashes.__getitem__)
    loser = "alice" if winner == "bob" else "bob"
    ctx = {"bob": bob, "alice": alice}
    # each receives the other's Identity, the winner first
    resend = dake.receive(ctx[winner], starts[winner].state, sent(starts[loser]), rng)
    answer = dake.receive(ctx[loser], starts[loser].state, sent(starts[winner]), rng)
    assert resend.send == starts[winner].send and isinstance(answer.send, AuthRMessage)
    again = dake.receive(ctx[loser], answer.state, sent(resend), rng)
    assert again.send == answer.send
    auth_i = dake.receive(ctx[winner], resend.state, sent(answer), rng)
    done = dake.receive(ctx[loser], again.state, sent(auth_i), rng)
    assert auth_i.result is not None and done.result is not None
    assert done.result.ssid == auth_i.result.ssid
    assert {"bob_identity": sent(starts["bob"]).hex(),
            "alice_identity": sent(starts["alice"]).hex(), "initiator": winner,
            "auth_r": sent(answer).hex(), "auth_i": sent(auth_i).hex(),
            "ssid": done.result.ssid.hex()} == test["outputs"]


def test_race_step_by_step() -> None:
    first = interactive("dake-test/race")
    a, b = first.bob, first.alice
    rng = DeterministicRng("dake-test/race-steps")
    sa, sb = dake.start(a, rng), dake.start(b, rng)
    assert isinstance(sa.send, IdentityMessage) and isinstance(sb.send, IdentityMessage)
    ra = dake.receive(a, sa.state, sb.send.encode(), rng)
    rb = dake.receive(b, sb.state, sa.send.encode(), rng)
    higher_a = dake.identity_tiebreak_hash(sa.send.b) > dake.identity_tiebreak_hash(sb.send.b)
    winner, loser = (ra, rb) if higher_a else (rb, ra)
    assert isinstance(winner.state, WaitingAuthR) and isinstance(winner.send, IdentityMessage)
    assert winner.state == (sa.state if higher_a else sb.state)  # unchanged
    assert isinstance(loser.state, WaitingAuthI) and isinstance(loser.send, AuthRMessage)


def test_identity_in_waiting_auth_i_restarts(run: Interactive) -> None:
    """A different Identity message in WAITING_AUTH_I (receiver tag = ours) gets a new Auth-R."""
    rng = DeterministicRng("dake-test/restart")
    fresh = dake.start(run.bob, rng, receiver_tag=run.alice.us.instance_tag)
    assert fresh.send is not None
    step = dake.receive(run.alice, run.auth_r.state, fresh.send.encode(), rng)
    assert isinstance(step.state, WaitingAuthI) and step.state.their_identity == fresh.send
    assert step.send != run.auth_r.send
    # the same Identity with receiver tag 0 is refused in WAITING_AUTH_I
    unknown = dake.start(run.bob, rng)
    assert unknown.send is not None
    with pytest.raises(InvalidReceiverTagError):
        dake.receive(run.alice, run.auth_r.state, unknown.send.encode(), rng)


def test_messages_out_of_state(run: Interactive) -> None:
    rng = DeterministicRng("dake-test/state")
    assert run.auth_r.send is not None and run.auth_i.send is not None
    with pytest.raises(UnexpectedMessageError):
        dake.receive(run.bob, START, run.auth_r.send.encode(), rng)
    with pytest.raises(UnexpectedMessageError):
        dake.receive(run.alice, START, run.auth_i.send.encode(), rng)
    with pytest.raises(UnexpectedMessageError):
        dake.receive(run.alice, run.identity.state, run.auth_i.send.encode(), rng)


def test_expired_profile_by_clock(run: Interactive) -> None:
    late = DakeContext(run.alice.us, run.alice.our_jid, run.alice.their_jid,
                       FixedClock(NOW + 8 * 24 * 3600))
    assert run.identity.send is not None
    with pytest.raises(ProfileExpiredError):
        dake.receive(late, START, run.identity.send.encode(), DeterministicRng("x"))


def test_wrong_jid_breaks_authentication(run: Interactive) -> None:
    """phi binds the bare JIDs: Alice believing she talks to mallory@ fails at Bob."""
    from otrv4.primitives.ring_signature import InvalidRingSignatureError

    confused = DakeContext(run.alice.us, run.alice.our_jid, "mallory@example.org",
                           run.alice.clock)
    rng = DeterministicRng("dake-test/jid")
    assert run.identity.send is not None
    step = dake.receive(confused, START, run.identity.send.encode(), rng)
    assert step.send is not None
    with pytest.raises(InvalidRingSignatureError):
        dake.receive(run.bob, run.identity.state, step.send.encode(), rng)


NEGATIVES = rejected("dake-interactive")


@pytest.mark.parametrize(("step", "test"), NEGATIVES,
                         ids=[f"{step}:{t['comment']}"[:60] for step, t in NEGATIVES])
def test_mutation_rejected_and_state_unchanged(
    run: Interactive, step: str, test: dict[str, Any]
) -> None:
    pristine = interactive_transcript()[0]  # an untouched copy of every state
    with raises_exactly(test["expectedError"], test["comment"]):
        run.deliver(step, bytes.fromhex(test["inputs"]["message"]))
    assert run.identity.state == pristine.identity.state
    assert run.auth_r.state == pristine.auth_r.state
    # the untouched state still accepts the genuine message, with the same outcome
    rng = DeterministicRng("dake-test/continue")
    if step == "identity":
        assert run.identity.send is not None
        step = dake.receive(run.alice, START, run.identity.send.encode(), rng)
        assert isinstance(step.state, WaitingAuthI)
        assert step.state.their_identity == run.identity.send
    elif step == "auth_r":
        assert run.auth_r.send is not None
        step = dake.receive(run.bob, run.identity.state, run.auth_r.send.encode(), rng)
        assert step.result is not None and step.result.ssid == run.bob_result.ssid
    else:
        assert run.auth_i.send is not None
        step = dake.receive(run.alice, run.auth_r.state, run.auth_i.send.encode(), rng)
        assert step.result == run.alice_result


def test_every_rule_has_a_case() -> None:
    flags = {flag for _, test in NEGATIVES for flag in test["flags"]}
    assert {"WrongVersion", "WrongType", "Truncated", "TrailingData", "SenderTag",
            "ReceiverTag", "SwappedProfile", "ExpiredProfile", "ForgedProfileSignature",
            "PointNotOnCurve", "IdentityPoint", "SmallOrderPoint", "DHOutOfRange",
            "DHNotInSubgroup", "NonMinimalMPI", "WrongRingSignature"} <= flags


def test_vectors_replay() -> None:
    """The committed transcript reproduces from its inputs and draws; negatives raise."""
    replay, test = interactive_transcript()
    out, inter = test["outputs"], test["intermediates"]
    assert sent(replay.identity).hex() == out["identity"]
    assert sent(replay.auth_r).hex() == out["auth_r"]
    assert sent(replay.auth_i).hex() == out["auth_i"]
    assert replay.alice_result.ssid.hex() == replay.bob_result.ssid.hex() == out["ssid"]
    assert replay.bob_result.dake_secret.hex() == inter["K"]
    assert replay.alice_result.chain_key_sending is not None
    assert replay.alice_result.chain_key_sending.hex() == inter["chain0_chain_key"]
    assert replay.alice_result.chain_key_sending.hex() == inter["alice_chain_key_sending"]
    assert replay.bob_result.root_key.hex() == inter["bob_root_key"]
    assert replay.alice_result.root_key.hex() == inter["alice_root_key"]
    assert replay.alice.us.client_profile.encode().hex() == inter["alice_client_profile"]
    assert replay.bob.us.client_profile.encode().hex() == inter["bob_client_profile"]
    for step, negative in NEGATIVES:
        with raises_exactly(negative["expectedError"], negative["comment"]):
            replay.deliver(step, bytes.fromhex(negative["inputs"]["message"]))
    assert len(NEGATIVES) > 50


@pytest.mark.parametrize("cls", [IdentityMessage, AuthRMessage, AuthIMessage])
def test_wire_round_trip_and_table(run: Interactive, cls: type[DakeMessage]) -> None:
    msg = {IdentityMessage: run.identity.send, AuthRMessage: run.auth_r.send,
           AuthIMessage: run.auth_i.send}[cls]
    assert isinstance(msg, cls)
    raw = msg.encode()
    assert cls.decode(raw) == msg
    assert decode_dake_message(raw) == msg
    spans = msg.field_spans()
    assert spans["version"] == (0, 2) and max(end for _, end in spans.values()) == len(raw)
    assert [row[0] for row in wire_table(cls)][:2] == ["Protocol version", "Message type"]
    assert len(wire_table(cls)) == len(cls.FIELDS) + 2
    assert raw[2] == cls.MESSAGE_TYPE
    text = encode_message(raw)
    assert text.startswith("?OTR:" + cls.MESSAGE_TYPE.base64_prefix) and text.endswith(".")
    assert decode_dake_message(decode_encoded_message(text)) == msg


def test_modes_allow_the_interactive_dake(run: Interactive) -> None:
    ctx = DakeContext(run.bob.us, run.bob.our_jid, run.bob.their_jid, run.bob.clock,
                      Mode.INTERACTIVE_ONLY)
    step = dake.start(ctx, DeterministicRng("dake-test/mode"))
    assert isinstance(step.send, IdentityMessage)
    assert MessageType.IDENTITY.base64_prefix == "AAQ1"


def test_decisions_registered() -> None:
    assert DECISIONS[8].vector == "dake-interactive"
    assert DECISIONS[10].vector == "dake-interactive"
    assert DECISIONS[11].vector == "dake-non-interactive"
