"""The interactive DAKE (otrv4.md §Interactive DAKE Overview, §Identity/Auth-R/Auth-I Message).

Complete runs in both directions, the simultaneous-Identity race, every negative case of
the vectors (with the receiver's state compared to an untouched copy, and the DAKE then
completed with the genuine message), the vectors replayed from their JSON, and the
hand-off to the double ratchet.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from otrv4 import dake
from otrv4.clock import FixedClock
from otrv4.dake import START, DakeContext, UnexpectedMessageError, WaitingAuthI, WaitingAuthR
from otrv4.decisions import DECISIONS
from otrv4.encoding import MessageType, decode_encoded_message, encode_message
from otrv4.errors import OTRError
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
from xepgen.vectors import dump_vectors, load_vectors
from xepgen.vectorsets import dake as scenarios


@pytest.fixture(scope="module")
def run() -> scenarios.InteractiveRun:
    return scenarios.interactive_run()


def test_completes_and_agrees(run: scenarios.InteractiveRun) -> None:
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


def test_message_sizes(run: scenarios.InteractiveRun) -> None:
    assert run.identity.send is not None and run.auth_r.send is not None
    assert run.auth_i.send is not None
    assert len(run.identity.send.encode()) == 1164
    assert len(run.auth_r.send.encode()) == 1506
    assert len(run.auth_i.send.encode()) == 353


def test_other_direction() -> None:
    """Alice initiates and Bob responds; also with distinct labels (fresh keys)."""
    first = scenarios.interactive_run("dake-test/other")
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


def test_deterministic(run: scenarios.InteractiveRun) -> None:
    again = scenarios.interactive_run()
    assert again.draws == run.draws
    assert again.auth_i.send == run.auth_i.send
    assert again.identity.state == run.identity.state


def test_double_ratchet_hand_off(run: scenarios.InteractiveRun) -> None:
    """The results feed otrv4.ratchet and a message goes each way."""
    rng = DeterministicRng("dake-test/ratchet")
    alice = DoubleRatchet(RatchetStart.from_dake(run.alice_result))
    bob = DoubleRatchet(RatchetStart.from_dake(run.bob_result))
    to_bob = alice.encrypt(b"hello bob", rng)
    assert bob.decrypt(to_bob.message).plaintext == b"hello bob"
    to_alice = bob.encrypt(b"hello alice", rng)
    assert alice.decrypt(to_alice.message).plaintext == b"hello alice"


def test_race_resolves_to_one_dake() -> None:
    case = scenarios._race_case()  # raises if the race does not end in one DAKE
    assert case.outputs["initiator"] in {"bob", "alice"}
    assert case.intermediates["bob_tiebreak_hash"] != case.intermediates["alice_tiebreak_hash"]


def test_race_step_by_step() -> None:
    first = scenarios.interactive_run("dake-test/race")
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


def test_identity_in_waiting_auth_i_restarts(run: scenarios.InteractiveRun) -> None:
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


def test_messages_out_of_state(run: scenarios.InteractiveRun) -> None:
    rng = DeterministicRng("dake-test/state")
    assert run.auth_r.send is not None and run.auth_i.send is not None
    with pytest.raises(UnexpectedMessageError):
        dake.receive(run.bob, START, run.auth_r.send.encode(), rng)
    with pytest.raises(UnexpectedMessageError):
        dake.receive(run.alice, START, run.auth_i.send.encode(), rng)
    with pytest.raises(UnexpectedMessageError):
        dake.receive(run.alice, run.identity.state, run.auth_i.send.encode(), rng)


def test_expired_profile_by_clock(run: scenarios.InteractiveRun) -> None:
    late = DakeContext(run.alice.us, run.alice.our_jid, run.alice.their_jid,
                       FixedClock(scenarios.NOW + 8 * 24 * 3600))
    assert run.identity.send is not None
    with pytest.raises(ProfileExpiredError):
        dake.receive(late, START, run.identity.send.encode(), DeterministicRng("x"))


def test_wrong_jid_breaks_authentication(run: scenarios.InteractiveRun) -> None:
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


def _mutations() -> list[tuple[str, scenarios.Mutation]]:
    run = scenarios.interactive_run()
    return [(f"{step}:{m.comment}", m)
            for step, muts in scenarios.interactive_mutations(run).items() for m in muts]


@pytest.mark.parametrize(("name", "mutation"), _mutations(), ids=lambda v: str(v)[:60])
def test_mutation_rejected_and_state_unchanged(
    run: scenarios.InteractiveRun, name: str, mutation: scenarios.Mutation
) -> None:
    pristine = scenarios.interactive_run()  # an untouched copy of every state
    with pytest.raises(mutation.error) as info:
        scenarios.apply_interactive(run, mutation)
    assert type(info.value) is mutation.error, name
    assert run.identity.state == pristine.identity.state
    assert run.auth_r.state == pristine.auth_r.state
    # the untouched state still accepts the genuine message, with the same outcome
    rng = DeterministicRng("dake-test/continue")
    if mutation.step == "identity":
        assert run.identity.send is not None
        step = dake.receive(run.alice, START, run.identity.send.encode(), rng)
        assert isinstance(step.state, WaitingAuthI)
        assert step.state.their_identity == run.identity.send
    elif mutation.step == "auth_r":
        assert run.auth_r.send is not None
        step = dake.receive(run.bob, run.identity.state, run.auth_r.send.encode(), rng)
        assert step.result is not None and step.result.ssid == run.bob_result.ssid
    else:
        assert run.auth_i.send is not None
        step = dake.receive(run.alice, run.auth_r.state, run.auth_i.send.encode(), rng)
        assert step.result == run.alice_result


def test_every_rule_has_a_case() -> None:
    flags = {m.flag for _, m in _mutations()}
    assert {"WrongVersion", "WrongType", "Truncated", "TrailingData", "SenderTag",
            "ReceiverTag", "SwappedProfile", "ExpiredProfile", "ForgedProfileSignature",
            "PointNotOnCurve", "IdentityPoint", "SmallOrderPoint", "DHOutOfRange",
            "DHNotInSubgroup", "NonMinimalMPI", "WrongRingSignature"} <= flags


def test_vectors_replay(tmp_path: Path) -> None:
    """Load the JSON back: the transcript reproduces from its draws; negatives raise."""
    path = tmp_path / "dake-interactive.json"
    path.write_text(dump_vectors(scenarios.interactive_vectors(), "0" * 40))
    run = scenarios.interactive_run()
    counts = {"valid": 0, "invalid": 0}
    for group, test in load_vectors(path):
        counts[test["result"]] += 1
        if group["type"] == "transcript":
            replay = scenarios.interactive_run(
                rng=ReplayRng([bytes.fromhex(d) for d in test["randomDraws"]]))
            assert replay.identity.send is not None and replay.auth_r.send is not None
            assert replay.auth_i.send is not None
            assert replay.identity.send.encode().hex() == test["outputs"]["identity"]
            assert replay.auth_r.send.encode().hex() == test["outputs"]["auth_r"]
            assert replay.auth_i.send.encode().hex() == test["outputs"]["auth_i"]
            assert replay.alice_result.ssid.hex() == test["outputs"]["ssid"]
            inter = test["intermediates"]
            assert replay.bob_result.dake_secret.hex() == inter["K"]
            assert replay.alice_result.chain_key_sending is not None
            assert replay.alice_result.chain_key_sending.hex() == inter["chain0_chain_key"]
            assert replay.alice_result.chain_key_sending.hex() == inter["alice_chain_key_sending"]
        elif test["result"] == "invalid":
            step = group["type"].split(" ")[0]
            mutation = scenarios.Mutation(step, "", "", bytes.fromhex(test["inputs"]["message"]),
                                          OTRError)
            with pytest.raises(OTRError) as info:
                scenarios.apply_interactive(run, mutation)
            assert type(info.value).__name__ == test["expectedError"], test["comment"]
    assert counts["valid"] == 2 and counts["invalid"] > 50




@pytest.mark.parametrize("cls", [IdentityMessage, AuthRMessage, AuthIMessage])
def test_wire_round_trip_and_table(run: scenarios.InteractiveRun, cls: type[DakeMessage]) -> None:
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


def test_modes_allow_the_interactive_dake(run: scenarios.InteractiveRun) -> None:
    ctx = DakeContext(run.bob.us, run.bob.our_jid, run.bob.their_jid, run.bob.clock,
                      Mode.INTERACTIVE_ONLY)
    step = dake.start(ctx, DeterministicRng("dake-test/mode"))
    assert isinstance(step.send, IdentityMessage)
    assert MessageType.IDENTITY.base64_prefix == "AAQ1"


def test_decisions_registered() -> None:
    assert DECISIONS[8].vector == "dake-interactive"
    assert DECISIONS[10].vector == "dake-interactive"
    assert DECISIONS[11].vector == "dake-non-interactive"
