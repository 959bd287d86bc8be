"""A small driver of both DAKEs for the protocol's tests (public ``otrv4`` API only).

Bob and Alice are built from the long-term secrets a vector lists (or from a label,
for runs of the tests' own), then the DAKE runs with the rng given: a
``ReplayRng`` over a vector's ``randomDraws`` reproduces that vector's transcript.
Every step is kept, so a test can hand any message, genuine or mutated, to the
state its receiver had in the transcript.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from otrv4 import dake, xzdh
from otrv4.clock import FixedClock
from otrv4.dake import DakeContext, Participant, Step
from otrv4.keys import ForgingKey, LongTermKeyPair, SharedPrekeyPair
from otrv4.prekeys import LocalPrekeys, PrekeyEnsemble, PrekeySecret, generate_prekey_message
from otrv4.primitives.rng import DeterministicRng, RecordingRng, ReplayRng, Rng
from otrv4.profiles import ClientProfile, PrekeyProfile

from .vectors import cases_of, draws, unhex, vector_cases

if TYPE_CHECKING:  # the DAKE's result type, named here for the annotations only
    from otrv4.shared_state import DakeResult

NOW = 1_767_225_600
"""2026-01-01T00:00:00Z, the time of the DAKE vectors."""
WEEK = 7 * 24 * 3600
BOB = ("bob@example.org", 0x0000_B0B0)
ALICE = ("alice@example.net", 0x0000_A11C)


@dataclass(frozen=True)
class Party:
    """One party's long-term secrets and names."""

    sym_key: bytes
    forging_sym_key: bytes
    tag: int
    jid: str
    expiration: int = NOW + WEEK

    @classmethod
    def from_label(cls, label: str, who: tuple[str, int]) -> Party:
        """Secrets drawn from ``DeterministicRng(label)``."""
        seed = DeterministicRng(label)
        return cls(seed.random_bytes(57), seed.random_bytes(57), who[1], who[0])

    @classmethod
    def from_vector(cls, inputs: dict[str, Any], name: str) -> Party:
        """The party ``name`` (``bob``/``alice``) of a vector's inputs."""
        return cls(unhex(inputs[f"{name}_sym_key"]), unhex(inputs[f"{name}_forging_sym_key"]),
                   inputs[f"{name}_instance_tag"], inputs[f"{name}_jid"],
                   inputs[f"{name}_profile_expiration"])

    def talking_to(self, peer: Party, clock: FixedClock) -> DakeContext:
        """This party's DAKE context for a conversation with ``peer``."""
        identity = LongTermKeyPair.from_secret(self.sym_key)
        forging = LongTermKeyPair.from_secret(self.forging_sym_key).public
        profile = ClientProfile.create(identity, ForgingKey(forging), self.tag, self.expiration)
        return DakeContext(Participant(identity, forging, profile), self.jid, peer.jid, clock)


def sent(step: Step) -> bytes:
    """The bytes of the message ``step`` sends (it must send one)."""
    assert step.send is not None, step
    return step.send.encode()


def contexts(label: str, inputs: dict[str, Any] | None) -> tuple[DakeContext, DakeContext, int]:
    """(Bob's context, Alice's context, now) from a vector's inputs or from ``label``."""
    if inputs is None:
        bob, alice, now = (Party.from_label(f"{label}/bob", BOB),
                           Party.from_label(f"{label}/alice", ALICE), NOW)
    else:
        bob, alice, now = (Party.from_vector(inputs, "bob"), Party.from_vector(inputs, "alice"),
                           inputs["now"])
    clock = FixedClock(now)
    return bob.talking_to(alice, clock), alice.talking_to(bob, clock), now


# --------------------------------------------------------------------------- interactive


def _result(step: Step) -> DakeResult:
    assert step.result is not None, "this step completes no DAKE"
    return step.result


@dataclass(frozen=True)
class Interactive:
    """Bob sends Identity, Alice Auth-R, Bob Auth-I, Alice takes it (``done``)."""

    identity: Step
    auth_r: Step
    auth_i: Step
    done: Step
    bob: DakeContext
    alice: DakeContext
    draws: tuple[bytes, ...]

    @property
    def bob_result(self) -> DakeResult:
        """The initiator's result: Bob took Auth-R and sent Auth-I."""
        return _result(self.auth_i)

    @property
    def alice_result(self) -> DakeResult:
        """The responder's result: Alice took Auth-I."""
        return _result(self.done)

    def deliver(self, step: str, message: bytes) -> Step:
        """Hand ``message`` to the receiver of the transcript's ``step`` message, in the
        state the transcript had (``identity``, ``auth_r`` or ``auth_i``)."""
        rng = DeterministicRng("tests/deliver")
        if step == "identity":
            return dake.receive_identity(self.alice, dake.START, message, rng)
        if step == "auth_r":
            return dake.receive_auth_r(self.bob, self.identity.state, message, rng)
        assert step == "auth_i", step
        return dake.receive_auth_i(self.alice, self.auth_r.state, message, rng)


def interactive(label: str = "tests/dake", rng: Rng | None = None, *,
                inputs: dict[str, Any] | None = None) -> Interactive:
    """Run the interactive DAKE between Bob and Alice (from ``inputs`` or ``label``)."""
    bob, alice, _ = contexts(label, inputs)
    recorder = RecordingRng(rng or DeterministicRng(label))
    identity = dake.start(bob, recorder)
    auth_r = dake.receive(alice, dake.START, sent(identity), recorder)
    auth_i = dake.receive(bob, identity.state, sent(auth_r), recorder)
    done = dake.receive(alice, auth_r.state, sent(auth_i), recorder)
    return Interactive(identity, auth_r, auth_i, done, bob, alice,
                       tuple(d.value for d in recorder.draws))


def interactive_transcript() -> tuple[Interactive, dict[str, Any]]:
    """The committed ``dake-interactive`` transcript replayed, and its vector test."""
    (test,) = cases_of("dake-interactive", "transcript")
    return interactive(rng=ReplayRng(draws(test)), inputs=test["inputs"]), test


# --------------------------------------------------------------------------- non-interactive


@dataclass(frozen=True)
class NonInteractive:
    """Bob publishes one ensemble; Alice sends Non-Interactive-Auth; Bob receives it."""

    message: xzdh.NonInteractiveAuthMessage
    alice_side: xzdh.NonInteractiveResult
    bob_side: xzdh.NonInteractiveResult
    local: LocalPrekeys  # Bob's store before the message
    bob_local_after: LocalPrekeys
    ensemble: PrekeyEnsemble
    prekey: PrekeySecret
    shared_prekey_sym: bytes
    bob: DakeContext
    alice: DakeContext
    draws: tuple[bytes, ...]

    def deliver(self, message: bytes) -> tuple[LocalPrekeys, xzdh.NonInteractiveResult]:
        """Hand ``message`` to Bob with the store he had before the transcript's message."""
        return xzdh.receive_non_interactive_auth(self.bob, self.local, message)


def non_interactive(label: str = "tests/xzdh", rng: Rng | None = None, *,
                    inputs: dict[str, Any] | None = None) -> NonInteractive:
    """Run the non-interactive DAKE: Bob's draws (shared prekey secret, then the Prekey
    message), then Alice's Non-Interactive-Auth."""
    bob, alice, _ = contexts(label, inputs)
    expiration = NOW + WEEK if inputs is None else inputs["bob_prekey_profile_expiration"]
    recorder = RecordingRng(rng or DeterministicRng(label))
    sym = recorder.random_bytes(57)
    shared = SharedPrekeyPair.from_secret(sym)
    me = bob.us
    prekey_profile = PrekeyProfile.create(me.keypair, shared, me.instance_tag, expiration)
    prekey = generate_prekey_message(recorder, me.instance_tag)
    store = LocalPrekeys((me.client_profile,), ((prekey_profile, shared),), (prekey,))
    published = PrekeyEnsemble(me.client_profile, prekey_profile, prekey.message)
    auth, alice_side = xzdh.send_non_interactive_auth(alice, published, recorder)
    after, bob_side = xzdh.receive_non_interactive_auth(bob, store, auth.encode())
    return NonInteractive(auth, alice_side, bob_side, store, after, published, prekey, sym,
                          bob, alice, tuple(d.value for d in recorder.draws))


def non_interactive_transcript() -> tuple[NonInteractive, dict[str, Any]]:
    """The committed ``dake-non-interactive`` transcript replayed, and its vector test."""
    (test,) = cases_of("dake-non-interactive", "transcript")
    return non_interactive(rng=ReplayRng(draws(test)), inputs=test["inputs"]), test


def rejected(stem: str) -> list[tuple[str, dict[str, Any]]]:
    """Every negative case of a DAKE vector file: (the step its message replaces, test)."""
    return [(group["type"].removesuffix(" rejected"), test)
            for group, test in vector_cases(stem) if test["result"] == "invalid"]
