"""The non-interactive DAKE and prekey ensembles (otrv4.md §Non-Interactive DAKE Overview,
§Prekey Message, §Non-Interactive-Auth Message, §Validating/Receiving Prekey Ensembles)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from otrv4 import xzdh
from otrv4.clock import FixedClock
from otrv4.dake import DakeContext
from otrv4.keys import SharedPrekeyPair
from otrv4.messages import NonInteractiveAuthMessage, PrekeyMessage, decode_dake_message
from otrv4.modes import (
    Mode,
    NonInteractiveDakeRefusedError,
    PrekeyPublicationRefusedError,
)
from otrv4.prekeys import (
    EnsembleTagMismatchError,
    LocalPrekeys,
    PrekeyEnsemble,
    UnknownPrekeyError,
    generate_prekey_message,
    select_ensembles,
    validate_ensemble,
)
from otrv4.primitives.rng import DeterministicRng
from otrv4.profiles import PrekeyProfile, ProfileExpiredError
from otrv4.ratchet import DoubleRatchet, RatchetStart
from otrv4.shared_state import Role

from ..conftest import COMPILED_ED448_BACKENDS, ed448_backend_in_use
from ..helpers.dake import (
    ALICE,
    BOB,
    NOW,
    NonInteractive,
    non_interactive,
    non_interactive_transcript,
    rejected,
)
from ..helpers.vectors import raises_exactly

BOB_TAG, ALICE_TAG = BOB[1], ALICE[1]


@pytest.fixture(scope="module", autouse=True, params=COMPILED_ED448_BACKENDS)
def ed448_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test of this module runs on libdecaf and on pycryptodome (the reference backend
    runs these protocols through the pinned vectors)."""
    with ed448_backend_in_use(request.param) as name:
        yield name


@pytest.fixture(scope="module")
def run() -> NonInteractive:
    """The committed transcript, replayed from its inputs and random draws."""
    return non_interactive_transcript()[0]


def test_completes_and_agrees(run: NonInteractive) -> None:
    alice, bob = run.alice_side.result, run.bob_side.result
    assert alice.ssid == bob.ssid
    assert alice.root_key == bob.root_key
    assert alice.chain_key_sending == bob.chain_key_receiving is not None
    assert alice.role is Role.NON_INTERACTIVE_SENDER and bob.role is Role.NON_INTERACTIVE_RECEIVER
    assert run.alice_side.keys == run.bob_side.keys  # t, brace key, tmp_k, MAC key, K
    assert bob.their_ecdh == run.message.ecdh_first and alice.their_ecdh == run.prekey.ecdh.public
    assert (alice.i, bob.i) == (1, 1)
    assert run.bob_local_after.prekeys == ()
    assert run.local.prekeys == (run.prekey,)  # the input store is untouched
    assert len(run.message.encode()) == 1574


def test_other_direction() -> None:
    """Alice publishes, Bob sends: the roles swapped, with fresh keys."""
    first = non_interactive("xzdh-test/other")
    owner, sender = first.alice, first.bob
    rng = DeterministicRng("xzdh-test/other-direction")
    shared = SharedPrekeyPair.generate(rng)
    profile = PrekeyProfile.create(owner.us.keypair, shared, owner.us.instance_tag,
                                   NOW + 100)
    prekey = generate_prekey_message(rng, owner.us.instance_tag)
    local = LocalPrekeys((owner.us.client_profile,), ((profile, shared),), (prekey,))
    ensemble = PrekeyEnsemble(owner.us.client_profile, profile, prekey.message)
    msg, sent = xzdh.send_non_interactive_auth(sender, ensemble, rng)
    after, received = xzdh.receive_non_interactive_auth(owner, local, msg.encode())
    assert sent.result.ssid == received.result.ssid != first.alice_side.result.ssid
    assert after.prekeys == ()


def test_prekey_is_one_time(run: NonInteractive) -> None:
    with pytest.raises(UnknownPrekeyError):
        xzdh.receive_non_interactive_auth(run.bob, run.bob_local_after, run.message.encode())


def test_double_ratchet_hand_off(run: NonInteractive) -> None:
    rng = DeterministicRng("xzdh-test/ratchet")
    alice = DoubleRatchet(RatchetStart.from_dake(run.alice_side.result))
    bob = DoubleRatchet(RatchetStart.from_dake(run.bob_side.result))
    first = alice.encrypt(b"offline hello", rng)
    assert bob.decrypt(first.message).plaintext == b"offline hello"
    reply = bob.encrypt(b"back online", rng)
    assert alice.decrypt(reply.message).plaintext == b"back online"


NEGATIVES = [test for _, test in rejected("dake-non-interactive")]


@pytest.mark.parametrize("test", NEGATIVES,
                         ids=[f"{t['flags'][0]}:{t['comment']}"[:60] for t in NEGATIVES])
def test_mutation_rejected_and_store_unchanged(run: NonInteractive, test: dict[str, Any]) -> None:
    pristine = non_interactive_transcript()[0]
    with raises_exactly(test["expectedError"], test["comment"]):
        run.deliver(bytes.fromhex(test["inputs"]["message"]))
    assert run.local == pristine.local
    after, side = run.deliver(run.message.encode())
    assert side.result == run.bob_side.result and after == run.bob_local_after


def test_vectors_replay() -> None:
    """The committed transcript reproduces from its inputs and draws; negatives raise."""
    replay, test = non_interactive_transcript()
    assert replay.message.encode().hex() == test["outputs"]["non_interactive_auth"]
    assert replay.bob_side.result.ssid.hex() == test["outputs"]["ssid"]
    inter = test["intermediates"]
    keys = replay.bob_side.keys
    assert (keys.t.hex(), keys.tmp_k.hex(), keys.dake_secret.hex()) == (
        inter["t"], inter["tmp_k"], inter["K"])
    assert (keys.brace_key.hex(), keys.auth_mac_key.hex()) == (
        inter["brace_key"], inter["auth_mac_k"])
    assert replay.shared_prekey_sym.hex() == inter["bob_shared_prekey_sym_key"]
    assert replay.ensemble.prekey_message.encode().hex() == inter["bob_prekey_message"]
    assert replay.ensemble.prekey_profile.encode().hex() == inter["bob_prekey_profile"]
    assert replay.ensemble.client_profile.encode().hex() == inter["bob_client_profile"]
    for negative in NEGATIVES:
        with raises_exactly(negative["expectedError"], negative["comment"]):
            replay.deliver(bytes.fromhex(negative["inputs"]["message"]))
    assert len(NEGATIVES) > 25


def test_prekey_message_wire(run: NonInteractive) -> None:
    raw = run.prekey.message.encode()
    assert raw[:3] == b"\x00\x04\x0f"
    assert raw[3:7] == run.prekey.identifier.to_bytes(4, "big")
    assert raw[7:11] == BOB_TAG.to_bytes(4, "big")
    assert len(raw) == 3 + 4 + 4 + 57 + 4 + 384
    assert PrekeyMessage.decode(raw) == run.prekey.message
    assert decode_dake_message(run.message.encode()) == run.message
    assert NonInteractiveAuthMessage.decode(run.message.encode()) == run.message


def test_prekey_identifiers_are_unique() -> None:
    class Scripted:
        def __init__(self) -> None:
            self.inner = DeterministicRng("xzdh-test/ids")
            self.first = True

        def random_bytes(self, n: int) -> bytes:
            if n == 4 and self.first:
                self.first = False
                return b"\x00\x00\x00\x07"
            return self.inner.random_bytes(n)

    secret = generate_prekey_message(Scripted(), 0x100, existing={7})
    assert secret.identifier != 7


def test_ensemble_validation(run: NonInteractive) -> None:
    clock = FixedClock(NOW)
    validate_ensemble(run.ensemble, clock)
    other_tag = replace(run.ensemble, prekey_message=replace(run.ensemble.prekey_message,
                                                             owner_tag=0x999))
    with pytest.raises(EnsembleTagMismatchError):
        validate_ensemble(other_tag, clock)
    with pytest.raises(ProfileExpiredError):
        validate_ensemble(run.ensemble, FixedClock(NOW + 8 * 24 * 3600))


def test_select_one_ensemble_per_tag(run: NonInteractive) -> None:
    clock = FixedClock(NOW)
    second = non_interactive("xzdh-test/second-device")  # same tag, other keys
    rng = DeterministicRng("xzdh-test/select")
    extra = generate_prekey_message(rng, BOB_TAG)
    same_profiles = replace(run.ensemble, prekey_message=extra.message)
    bad = replace(run.ensemble, prekey_message=replace(extra.message, owner_tag=0x999))
    longer = PrekeyProfile.create(second.bob.us.keypair, second.local.prekey_profiles[0][1],
                                  BOB_TAG, NOW + 10 * 24 * 3600)
    newest = replace(second.ensemble, prekey_profile=longer)
    alice = run.alice.us
    alice_shared = SharedPrekeyPair.generate(rng)
    alice_ensemble = PrekeyEnsemble(
        alice.client_profile,
        PrekeyProfile.create(alice.keypair, alice_shared, alice.instance_tag, NOW + 9),
        generate_prekey_message(rng, alice.instance_tag).message,
    )
    chosen = select_ensembles([run.ensemble, run.ensemble, bad, same_profiles, newest,
                               alice_ensemble], clock)
    assert list(chosen) == sorted([BOB_TAG, ALICE_TAG])
    assert chosen[ALICE_TAG] == alice_ensemble
    # equal Client Profile expiry: the Prekey Profile that expires last wins
    assert chosen[BOB_TAG] == newest
    assert select_ensembles([bad], clock) == {}


def test_interactive_only_mode_refuses(run: NonInteractive) -> None:
    rng = DeterministicRng("xzdh-test/mode")
    ctx = DakeContext(run.bob.us, run.bob.our_jid, run.bob.their_jid, run.bob.clock,
                      Mode.INTERACTIVE_ONLY)
    sender = DakeContext(run.alice.us, run.alice.our_jid, run.alice.their_jid, run.alice.clock,
                         Mode.INTERACTIVE_ONLY)
    with pytest.raises(NonInteractiveDakeRefusedError):
        xzdh.receive_non_interactive_auth(ctx, run.local, run.message.encode())
    with pytest.raises(NonInteractiveDakeRefusedError):
        xzdh.send_non_interactive_auth(sender, run.ensemble, rng)
    with pytest.raises(PrekeyPublicationRefusedError):
        generate_prekey_message(rng, BOB_TAG, mode=Mode.INTERACTIVE_ONLY)
    with pytest.raises(NonInteractiveDakeRefusedError):
        select_ensembles([run.ensemble], run.bob.clock, mode=Mode.INTERACTIVE_ONLY)


def test_receiver_tries_every_local_profile(run: NonInteractive) -> None:
    """§Non-Interactive-Auth Message: if sigma fails with one local Client Profile, the
    others still in local storage are tried."""
    from otrv4.profiles import ClientProfile

    me = run.bob.us
    older = ClientProfile.create(me.keypair, me.forging_key, me.instance_tag,
                                 me.client_profile.expiration - 3600)
    local = LocalPrekeys((older, *run.local.client_profiles), run.local.prekey_profiles,
                         run.local.prekeys)
    after, side = xzdh.receive_non_interactive_auth(run.bob, local, run.message.encode())
    assert side.result == run.bob_side.result and after.prekeys == ()
    only_older = LocalPrekeys((older,), run.local.prekey_profiles, run.local.prekeys)
    from otrv4.primitives.ring_signature import InvalidRingSignatureError

    with pytest.raises(InvalidRingSignatureError):
        xzdh.receive_non_interactive_auth(run.bob, only_older, run.message.encode())
