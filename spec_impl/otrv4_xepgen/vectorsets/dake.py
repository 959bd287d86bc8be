"""Vectors for both DAKEs (``examples/vectors/dake-interactive.json``,
``examples/vectors/dake-non-interactive.json``).

Each file holds a full transcript (every random draw, every intermediate value
of the key schedule, every message), the simultaneous-Identity race (the
interactive file), and negative cases: one field of one message mutated, the
receiving side's state taken from the transcript, the exact error class the
receiver raises, and a flag naming what was mutated.

The scenario builders (:func:`make_party`, :func:`interactive_run`,
:func:`non_interactive_run`, :func:`interactive_mutations`,
:func:`non_interactive_mutations`) are public so that tests and benchmarks
replay exactly what the vectors list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from otrv4 import dake, xzdh
from otrv4.clock import FixedClock
from otrv4.dake import DakeContext, Participant, Step, WaitingAuthI, WaitingAuthR
from otrv4.encoding import encode_int, encode_mpi
from otrv4.errors import OTRError
from otrv4.keys import ForgingKey, LongTermKeyPair, SharedPrekeyPair
from otrv4.messages import AuthIMessage, AuthRMessage, DakeMessage, IdentityMessage
from otrv4.prekeys import LocalPrekeys, PrekeyEnsemble, PrekeySecret, generate_prekey_message
from otrv4.primitives import dh3072
from otrv4.primitives.dh3072 import dh_shared_secret
from otrv4.primitives.ecdh import ecdh
from otrv4.primitives.rng import DeterministicRng, RecordingRng, Rng
from otrv4.profiles import ClientProfile, PrekeyProfile
from otrv4.shared_state import (
    DakeResult,
    FirstKeys,
    brace_key_from_dh,
    derive_ratchet_keys,
    first_root_key,
    mixed_secret,
    phi,
)

from ..vectors import TestCase, TestGroup, VectorFile

__all__ = [
    "NOW",
    "VECTOR_FILES",
    "InteractiveRun",
    "Mutation",
    "NonInteractiveRun",
    "PartyKeys",
    "interactive_mutations",
    "interactive_run",
    "interactive_vectors",
    "make_party",
    "non_interactive_mutations",
    "non_interactive_run",
    "non_interactive_vectors",
]

NOW = 1_767_225_600
"""The fixed clock of every scenario: 2026-01-01T00:00:00Z."""
LIFETIME = 7 * 24 * 3600
BOB_TAG = 0x0000_B0B0
ALICE_TAG = 0x0000_A11C
BOB_JID = "bob@example.org"
ALICE_JID = "alice@example.net"


@dataclass(frozen=True)
class PartyKeys:
    """One party's long-term inputs, as a vector lists them."""

    sym_key: bytes
    forging_sym_key: bytes
    tag: int
    jid: str
    expiration: int

    def participant(self) -> Participant:
        """Build the keys and the signed Client Profile."""
        keypair = LongTermKeyPair.from_secret(self.sym_key)
        forging = ForgingKey(LongTermKeyPair.from_secret(self.forging_sym_key).public)
        profile = ClientProfile.create(keypair, forging, self.tag, self.expiration)
        return Participant(keypair, forging.public, profile)

    def inputs(self, prefix: str) -> dict[str, object]:
        """The vector inputs describing this party, keys prefixed with ``prefix``."""
        return {
            f"{prefix}_sym_key": self.sym_key,
            f"{prefix}_forging_sym_key": self.forging_sym_key,
            f"{prefix}_instance_tag": self.tag,
            f"{prefix}_jid": self.jid,
            f"{prefix}_profile_expiration": self.expiration,
        }


def make_party(label: str, tag: int, jid: str, expiration: int = NOW + LIFETIME) -> PartyKeys:
    """Long-term keys from ``DeterministicRng(label)`` (two 57-byte draws)."""
    rng = DeterministicRng(label)
    return PartyKeys(rng.random_bytes(57), rng.random_bytes(57), tag, jid, expiration)


def _ctx(me: PartyKeys, peer: PartyKeys, clock: FixedClock) -> DakeContext:
    return DakeContext(me.participant(), me.jid, peer.jid, clock)


# --------------------------------------------------------------------------- interactive


@dataclass(frozen=True)
class InteractiveRun:
    """A complete interactive DAKE: Bob initiates (Identity), Alice responds (Auth-R)."""

    bob: DakeContext
    alice: DakeContext
    draws: tuple[bytes, ...]
    identity: Step
    auth_r: Step
    auth_i: Step
    done: Step

    @property
    def bob_result(self) -> DakeResult:
        """The initiator's result (after sending Auth-I)."""
        assert self.auth_i.result is not None
        return self.auth_i.result

    @property
    def alice_result(self) -> DakeResult:
        """The responder's result (after receiving Auth-I)."""
        assert self.done.result is not None
        return self.done.result


def interactive_run(label: str = "dake-interactive", rng: Rng | None = None) -> InteractiveRun:
    """Run the interactive DAKE with deterministic parties (``label``) and ``rng``
    (default: a recording ``DeterministicRng(label)``)."""
    clock = FixedClock(NOW)
    bob_keys = make_party(f"{label}/bob", BOB_TAG, BOB_JID)
    alice_keys = make_party(f"{label}/alice", ALICE_TAG, ALICE_JID)
    bob, alice = _ctx(bob_keys, alice_keys, clock), _ctx(alice_keys, bob_keys, clock)
    rec = RecordingRng(rng or DeterministicRng(label))
    s1 = dake.start(bob, rec)
    assert s1.send is not None
    s2 = dake.receive(alice, dake.START, s1.send.encode(), rec)
    assert s2.send is not None
    s3 = dake.receive(bob, s1.state, s2.send.encode(), rec)
    assert s3.send is not None
    s4 = dake.receive(alice, s2.state, s3.send.encode(), rec)
    return InteractiveRun(bob, alice, tuple(d.value for d in rec.draws), s1, s2, s3, s4)


@dataclass(frozen=True)
class Mutation:
    """One negative case: which message, what changed, the bytes, and the error expected."""

    step: str
    flag: str
    comment: str
    message: bytes
    error: type[OTRError]


def _flip(data: bytes, index: int, mask: int = 0x01) -> bytes:
    b = bytearray(data)
    b[index] ^= mask
    return bytes(b)


def _splice(data: bytes, span: tuple[int, int], value: bytes) -> bytes:
    return data[:span[0]] + value + data[span[1]:]


def _off_curve_point() -> bytes:
    from otrv4.primitives.ed448 import Point, PointNotOnCurveError

    y = 2
    while True:
        raw = y.to_bytes(57, "little")
        try:
            Point.decode(raw)
        except PointNotOnCurveError:
            return raw
        except OTRError:
            pass
        y += 1


def _non_residue() -> int:
    x = 3
    while dh3072.is_in_subgroup(x):
        x += 1
    return x


IDENTITY_POINT = (1).to_bytes(57, "little")
"""(0, 1): the neutral element."""
SMALL_ORDER_POINT = (2**448 - 2**224 - 2).to_bytes(57, "little")
"""(0, -1), i.e. y = p - 1 with a zero sign bit: the point of order 2."""


def _common_mutations(step: str, msg: DakeMessage, raw: bytes) -> list[Mutation]:
    """Header and structural mutations shared by every message."""
    from otrv4.encoding import (
        TrailingDataError,
        TruncatedError,
        UnsupportedVersionError,
        WrongMessageTypeError,
    )

    spans = msg.field_spans()
    wrong_type = 0x37 if msg.MESSAGE_TYPE != 0x37 else 0x36
    out = [
        Mutation(step, "WrongVersion", "protocol version 0x0003", _splice(raw, spans["version"],
                 b"\x00\x03"), UnsupportedVersionError),
        Mutation(step, "WrongType", f"message type {wrong_type:#04x}",
                 _splice(raw, spans["message_type"], bytes([wrong_type])), WrongMessageTypeError),
        Mutation(step, "Truncated", "last byte removed", raw[:-1], TruncatedError),
        Mutation(step, "Truncated", "cut inside the header", raw[:7], TruncatedError),
        Mutation(step, "TrailingData", "one byte appended", raw + b"\x00", TrailingDataError),
    ]
    if "sender_tag" in spans:
        from otrv4.instance_tag import InvalidReceiverTagError, InvalidSenderTagError

        out += [
            Mutation(step, "SenderTag", "sender instance tag 0x000000ff",
                     _splice(raw, spans["sender_tag"], encode_int(0xFF)), InvalidSenderTagError),
            Mutation(step, "ReceiverTag", "receiver instance tag 0x00000005",
                     _splice(raw, spans["receiver_tag"], encode_int(5)), InvalidReceiverTagError),
        ]
    return out


def _point_mutations(step: str, raw: bytes, spans: dict[str, tuple[int, int]], attr: str,
                     name: str) -> list[Mutation]:
    from otrv4.primitives.ed448 import (
        IdentityPointError,
        PointNotOnCurveError,
        SmallOrderPointError,
    )

    span = spans[attr]
    return [
        Mutation(step, "PointNotOnCurve", f"{name} replaced by a y with no x on the curve",
                 _splice(raw, span, _off_curve_point()), PointNotOnCurveError),
        Mutation(step, "IdentityPoint", f"{name} is the identity",
                 _splice(raw, span, IDENTITY_POINT), IdentityPointError),
        Mutation(step, "SmallOrderPoint", f"{name} is (0, -1), of order 2",
                 _splice(raw, span, SMALL_ORDER_POINT), SmallOrderPointError),
    ]


def _dh_mutations(step: str, raw: bytes, spans: dict[str, tuple[int, int]], attr: str,
                  name: str) -> list[Mutation]:
    from otrv4.encoding import NonMinimalMPIError

    span = spans[attr]
    value = int.from_bytes(raw[span[0] + 4:span[1]], "big")
    padded = value.to_bytes(span[1] - span[0] - 4 + 1, "big")
    return [
        Mutation(step, "DHOutOfRange", f"{name} = 1", _splice(raw, span, encode_mpi(1)),
                 dh3072.DHValueOutOfRangeError),
        Mutation(step, "DHOutOfRange", f"{name} = p - 1",
                 _splice(raw, span, encode_mpi(dh3072.P - 1)), dh3072.DHValueOutOfRangeError),
        Mutation(step, "DHNotInSubgroup", f"{name} = {_non_residue()}, a non-residue mod p",
                 _splice(raw, span, encode_mpi(_non_residue())), dh3072.DHValueNotInSubgroupError),
        Mutation(step, "NonMinimalMPI", f"{name} with a leading zero byte",
                 _splice(raw, span, encode_int(len(padded)) + padded), NonMinimalMPIError),
    ]


def _profile_mutations(step: str, msg: DakeMessage, raw: bytes, owner: PartyKeys,
                       other: PartyKeys) -> list[Mutation]:
    from otrv4.profiles import (
        MissingVersion4Error,
        ProfileExpiredError,
        ProfileOwnerTagMismatchError,
        ProfileSignatureError,
        UnknownProfileFieldError,
    )

    spans = msg.field_spans()
    span = spans["client_profile"]
    if not isinstance(msg, IdentityMessage | AuthRMessage | xzdh.NonInteractiveAuthMessage):
        raise TypeError("this message carries no Client Profile")
    profile = msg.client_profile
    keypair = LongTermKeyPair.from_secret(owner.sym_key)
    forging = LongTermKeyPair.from_secret(owner.forging_sym_key).public
    sig_at = span[1] - 114
    expired = ClientProfile.create(keypair, forging, owner.tag, NOW - 1)
    v3_only = ClientProfile(owner.tag, keypair.public, forging, b"3", owner.expiration, b"")
    v3_only = replace(v3_only, signature=keypair.sign(v3_only.signed_part()))
    exp_at = raw.index(b"\x00\x05" + profile.expiration.to_bytes(8, "big"), span[0]) + 9
    swapped = other.participant().client_profile
    bad_field = _splice(raw, (span[0] + 4, span[0] + 6), b"\x00\x09")
    return [
        Mutation(step, "ForgedProfileSignature", "one bit of the Client Profile signature flipped",
                 _flip(raw, sig_at + 3), ProfileSignatureError),
        Mutation(step, "ForgedProfileSignature", "expiration changed, signature kept",
                 _flip(raw, exp_at), ProfileSignatureError),
        Mutation(step, "ExpiredProfile", "a validly signed profile that expired 1 s ago",
                 _splice(raw, span, expired.encode()), ProfileExpiredError),
        Mutation(step, "ProfileVersions", "a validly signed profile with Versions = \"3\"",
                 _splice(raw, span, v3_only.encode()), MissingVersion4Error),
        Mutation(step, "SwappedProfile", "the other party's (valid) Client Profile",
                 _splice(raw, span, swapped.encode()), ProfileOwnerTagMismatchError),
        Mutation(step, "ProfileField", "first field type changed to 0x0009",
                 bad_field, UnknownProfileFieldError),
    ]


def interactive_mutations(run: InteractiveRun) -> dict[str, list[Mutation]]:
    """Negative cases for Identity (to Alice in START), Auth-R (to Bob in WAITING_AUTH_R)
    and Auth-I (to Alice in WAITING_AUTH_I)."""
    from otrv4.instance_tag import ReceiverTagMismatchError
    from otrv4.primitives.ring_signature import InvalidRingSignatureError

    label = "dake-interactive"
    bob_keys = make_party(f"{label}/bob", BOB_TAG, BOB_JID)
    alice_keys = make_party(f"{label}/alice", ALICE_TAG, ALICE_JID)
    out: dict[str, list[Mutation]] = {}

    ident = run.identity.send
    assert isinstance(ident, IdentityMessage)
    raw = ident.encode()
    spans = ident.field_spans()
    m = _common_mutations("identity", ident, raw)
    m += _profile_mutations("identity", ident, raw, bob_keys, alice_keys)
    m += _point_mutations("identity", raw, spans, "y", "Y")
    m += _point_mutations("identity", raw, spans, "ecdh_first", "our_ecdh_first")[:1]
    m += _dh_mutations("identity", raw, spans, "b", "B")
    m += _dh_mutations("identity", raw, spans, "dh_first", "our_dh_first")[:1]
    m.append(Mutation("identity", "ReceiverTag", "receiver tag of another instance (0x00000777)",
                      _splice(raw, spans["receiver_tag"], encode_int(0x777)),
                      ReceiverTagMismatchError))
    out["identity"] = m

    auth_r = run.auth_r.send
    assert isinstance(auth_r, AuthRMessage)
    raw = auth_r.encode()
    spans = auth_r.field_spans()
    m = _common_mutations("auth_r", auth_r, raw)
    m += _profile_mutations("auth_r", auth_r, raw, alice_keys, bob_keys)
    m += _point_mutations("auth_r", raw, spans, "x", "X")
    m += _point_mutations("auth_r", raw, spans, "ecdh_first", "our_ecdh_first")[:1]
    m += _dh_mutations("auth_r", raw, spans, "a", "A")
    m += _dh_mutations("auth_r", raw, spans, "dh_first", "our_dh_first")[:1]
    sig = spans["sigma"]
    m += [
        Mutation("auth_r", "WrongRingSignature", f"sigma scalar {name} changed",
                 _flip(raw, sig[0] + 57 * i + 1), InvalidRingSignatureError)
        for i, name in enumerate(("c1", "r1", "c2", "r2", "c3", "r3"))
    ]
    m += [
        Mutation("auth_r", "WrongRingSignature", "our_ecdh_first replaced (phi changes)",
                 _splice(raw, spans["ecdh_first"], auth_r.x.encode()), InvalidRingSignatureError),
        Mutation("auth_r", "ReceiverTag", "receiver tag of another instance",
                 _splice(raw, spans["receiver_tag"], encode_int(0x777)),
                 ReceiverTagMismatchError),
    ]
    out["auth_r"] = m

    auth_i = run.auth_i.send
    assert isinstance(auth_i, AuthIMessage)
    raw = auth_i.encode()
    spans = auth_i.field_spans()
    m = _common_mutations("auth_i", auth_i, raw)
    sig = spans["sigma"]
    m += [
        Mutation("auth_i", "WrongRingSignature", f"sigma scalar {name} changed",
                 _flip(raw, sig[0] + 57 * i + 1), InvalidRingSignatureError)
        for i, name in enumerate(("c1", "r1", "c2", "r2", "c3", "r3"))
    ]
    m += [
        Mutation("auth_i", "WrongRingSignature", "sigma of the Auth-R message",
                 _splice(raw, sig, auth_r.sigma.encode()), InvalidRingSignatureError),
        Mutation("auth_i", "ReceiverTag", "receiver tag of another instance",
                 _splice(raw, spans["receiver_tag"], encode_int(0x777)),
                 ReceiverTagMismatchError),
        Mutation("auth_i", "SenderTag", "sender tag of another instance (0x00000777)",
                 _splice(raw, spans["sender_tag"], encode_int(0x777)),
                 dake.UnexpectedSenderError),
    ]
    out["auth_i"] = m
    return out


def apply_interactive(run: InteractiveRun, mutation: Mutation) -> Step:
    """Deliver a mutated message to the state the transcript had at that point."""
    rng = DeterministicRng("dake-interactive/negative")
    if mutation.step == "identity":
        return dake.receive_identity(run.alice, dake.START, mutation.message, rng)
    if mutation.step == "auth_r":
        return dake.receive_auth_r(run.bob, run.identity.state, mutation.message, rng)
    return dake.receive_auth_i(run.alice, run.auth_r.state, mutation.message, rng)


def _interactive_intermediates(run: InteractiveRun) -> dict[str, object]:
    w_r = run.identity.state
    w_i = run.auth_r.state
    assert isinstance(w_r, WaitingAuthR) and isinstance(w_i, WaitingAuthI)
    ident, auth_r = w_r.identity, w_i.auth_r
    bob, alice = run.bob_result, run.alice_result
    k_ecdh = ecdh(w_r.our_ecdh.secret, auth_r.x)
    brace = brace_key_from_dh(dh_shared_secret(w_r.our_dh.secret, auth_r.a))
    t_r = dake.auth_r_t(ident.client_profile, auth_r.client_profile, ident.y, auth_r.x,
                        ident.b, auth_r.a, w_i.phi)
    t_i = dake.auth_i_t(ident.client_profile, auth_r.client_profile, ident.y, auth_r.x,
                        ident.b, auth_r.a, w_i.phi)
    prev_root = first_root_key(w_i.dake_secret)
    k1 = mixed_secret(ecdh(w_r.ecdh_first.secret, auth_r.ecdh_first),
                      brace_key_from_dh(dh_shared_secret(w_r.dh_first.secret, auth_r.dh_first)))
    root0, chain0 = derive_ratchet_keys(prev_root, k1)
    return {
        "bob_client_profile": ident.client_profile.encode(),
        "alice_client_profile": auth_r.client_profile.encode(),
        "phi": w_i.phi,
        "t_auth_r": t_r,
        "t_auth_i": t_i,
        "K_ecdh": k_ecdh,
        "brace_key": brace,
        "K": w_i.dake_secret,
        "ssid": w_i.ssid,
        "first_root_key": prev_root,
        "chain0_mixed_secret": k1,
        "chain0_root_key": root0,
        "chain0_chain_key": chain0,
        "bob_new_ecdh_public": bob.our_ecdh.public.encode(),
        "bob_new_dh_public": encode_mpi(bob.our_dh.public),
        "bob_root_key": bob.root_key,
        "bob_chain_key_sending": bob.chain_key_sending or b"",
        "bob_brace_key": bob.brace_key,
        "alice_root_key": alice.root_key,
        "alice_chain_key_sending": alice.chain_key_sending or b"",
        "alice_brace_key": alice.brace_key,
        "bob_identity_tiebreak_hash": dake.identity_tiebreak_hash(ident.b).to_bytes(32, "big"),
    }


def _race_case() -> TestCase:
    label = "dake-interactive/race"
    clock = FixedClock(NOW)
    bob_keys = make_party(f"{label}/bob", BOB_TAG, BOB_JID)
    alice_keys = make_party(f"{label}/alice", ALICE_TAG, ALICE_JID)
    bob, alice = _ctx(bob_keys, alice_keys, clock), _ctx(alice_keys, bob_keys, clock)
    rec = RecordingRng(DeterministicRng(label))
    sb = dake.start(bob, rec)
    sa = dake.start(alice, rec)
    assert isinstance(sb.send, IdentityMessage) and isinstance(sa.send, IdentityMessage)
    hb, ha = dake.identity_tiebreak_hash(sb.send.b), dake.identity_tiebreak_hash(sa.send.b)
    winner, loser = ((bob, sb), (alice, sa)) if hb > ha else ((alice, sa), (bob, sb))
    w_ctx, w_step = winner
    l_ctx, l_step = loser
    assert w_step.send is not None and l_step.send is not None
    w2 = dake.receive(w_ctx, w_step.state, l_step.send.encode(), rec)
    l2 = dake.receive(l_ctx, l_step.state, w_step.send.encode(), rec)
    assert w2.send is not None and l2.send is not None
    l3 = dake.receive(l_ctx, l2.state, w2.send.encode(), rec)  # the resend
    assert l3.send is not None and l3.send == l2.send
    w3 = dake.receive(w_ctx, w2.state, l2.send.encode(), rec)
    assert w3.send is not None and w3.result is not None
    l4 = dake.receive(l_ctx, l3.state, w3.send.encode(), rec)
    assert l4.result is not None and l4.result.ssid == w3.result.ssid
    return TestCase(
        comment=(
            "simultaneous Identity messages: the side whose SHA-256(MPI(B)) is higher resends "
            "its Identity; the other answers it with Auth-R, and answers the resend with the "
            "same Auth-R; exactly one DAKE completes"
        ),
        result="valid",
        flags=["Decision10", "Race"],
        random_draws=[d.value for d in rec.draws],
        inputs={**bob_keys.inputs("bob"), **alice_keys.inputs("alice"), "now": NOW},
        intermediates={
            "bob_tiebreak_hash": hb.to_bytes(32, "big"),
            "alice_tiebreak_hash": ha.to_bytes(32, "big"),
        },
        outputs={
            "bob_identity": sb.send.encode(),
            "alice_identity": sa.send.encode(),
            "initiator": "bob" if w_ctx is bob else "alice",
            "auth_r": l2.send.encode(),
            "auth_i": w3.send.encode(),
            "ssid": w3.result.ssid,
        },
    )


_NOTES = {
    "Transcript": "a complete DAKE with every random draw and intermediate value",
    "Decision8": "phi as decided for ambiguity 8 (canonical order, bare JIDs)",
    "Decision10": "the simultaneous-Identity tie-break of ambiguity 10 (SHA-256 of MPI(B))",
    "Decision11": "t of the non-interactive DAKE uses usage_non_int_auth_phi = 0x10 (ambiguity 11)",
    "Race": "both parties sent an Identity message",
    "WrongVersion": "the protocol version is not 0x0004",
    "WrongType": "the message type byte names another message",
    "Truncated": "the message ends early",
    "TrailingData": "bytes follow the last field",
    "SenderTag": "the sender instance tag is invalid or not the expected instance",
    "ReceiverTag": "the receiver instance tag is invalid or names another instance",
    "ForgedProfileSignature": "the Client Profile's Ed448 signature does not verify",
    "ExpiredProfile": "the Client Profile has expired",
    "ProfileVersions": "the Client Profile does not list version 4",
    "SwappedProfile": "a valid Client Profile of another instance",
    "ProfileField": "the Client Profile has an unknown field type",
    "PointNotOnCurve": "a POINT whose y has no x on the curve",
    "IdentityPoint": "a POINT that is the neutral element",
    "SmallOrderPoint": "a POINT of small order",
    "DHOutOfRange": "a DH value outside [2, p-2]",
    "DHNotInSubgroup": "a DH value outside the prime-order subgroup",
    "NonMinimalMPI": "an MPI with a leading zero byte",
    "WrongRingSignature": "the ring signature does not verify",
    "WrongAuthMac": "the Auth MAC does not match",
    "UnknownPrekey": "the Prekey Message Identifier names no unused prekey",
}


def _negative_cases(mutations: dict[str, list[Mutation]], where: dict[str, str]) -> list[TestGroup]:
    groups = []
    for step, muts in mutations.items():
        groups.append(TestGroup(
            type=f"{step} rejected",
            comment=f"the transcript's {step} message, mutated, delivered to {where[step]}",
            tests=[
                TestCase(
                    comment=m.comment, result="invalid", flags=[m.flag],
                    inputs={"message": m.message}, expected_error=m.error.__name__,
                )
                for m in muts
            ],
        ))
    return groups


def interactive_vectors() -> VectorFile:
    """The ``dake-interactive`` vector file."""
    run = interactive_run()
    bob_keys = make_party("dake-interactive/bob", BOB_TAG, BOB_JID)
    alice_keys = make_party("dake-interactive/alice", ALICE_TAG, ALICE_JID)
    assert run.identity.send and run.auth_r.send and run.auth_i.send
    transcript = TestCase(
        comment="Bob sends Identity, Alice Auth-R, Bob Auth-I; both derive the same SSID and keys",
        result="valid",
        flags=["Transcript", "Decision8"],
        random_draws=list(run.draws),
        inputs={**bob_keys.inputs("bob"), **alice_keys.inputs("alice"), "now": NOW},
        intermediates=_interactive_intermediates(run),
        outputs={
            "identity": run.identity.send.encode(),
            "auth_r": run.auth_r.send.encode(),
            "auth_i": run.auth_i.send.encode(),
            "ssid": run.bob_result.ssid,
        },
    )
    where = {
        "identity": "Alice in START",
        "auth_r": "Bob in WAITING_AUTH_R (after his Identity)",
        "auth_i": "Alice in WAITING_AUTH_I (after her Auth-R)",
    }
    return VectorFile(
        algorithm="OTRv4 interactive DAKE (DAKEZ)",
        header=[
            "Long-term keys: sym_key -> RFC 8032 key pair; forging key likewise; Client "
            "Profiles signed as decided for ambiguity 6, Versions \"4\".",
            "Random draws in order: Bob's Identity (y, b, ecdh_first, dh_first seeds: 57, 80, "
            "57, 80 bytes); Alice's Auth-R (x, a, ecdh_first, dh_first, then the ring "
            "signature's t1, c_j, c_k, r_j, r_k); Bob's Auth-I (ring signature, then his new "
            "ECDH and DH key pairs).",
            "phi' is DATA(bare JID) of both parties ordered bytewise (ambiguity 8).",
            "Negative cases replace one message of the transcript; the receiver is in the "
            "state the transcript had; the receiver's state must be unchanged afterwards.",
        ],
        notes=_NOTES,
        groups=[
            TestGroup(type="transcript", tests=[transcript]),
            TestGroup(type="race", tests=[_race_case()]),
            *_negative_cases(interactive_mutations(run), where),
        ],
    )


# --------------------------------------------------------------------------- non-interactive


@dataclass(frozen=True)
class NonInteractiveRun:
    """Bob publishes an ensemble; Alice sends Non-Interactive-Auth; Bob receives it."""

    bob: DakeContext
    alice: DakeContext
    shared_prekey_sym: bytes
    prekey: PrekeySecret
    local: LocalPrekeys
    ensemble: PrekeyEnsemble
    draws: tuple[bytes, ...]
    message: xzdh.NonInteractiveAuthMessage
    alice_side: xzdh.NonInteractiveResult
    bob_local_after: LocalPrekeys
    bob_side: xzdh.NonInteractiveResult


def non_interactive_run(
    label: str = "dake-non-interactive", rng: Rng | None = None
) -> NonInteractiveRun:
    """Run the non-interactive DAKE with deterministic parties and ``rng``."""
    clock = FixedClock(NOW)
    bob_keys = make_party(f"{label}/bob", BOB_TAG, BOB_JID)
    alice_keys = make_party(f"{label}/alice", ALICE_TAG, ALICE_JID)
    bob, alice = _ctx(bob_keys, alice_keys, clock), _ctx(alice_keys, bob_keys, clock)
    rec = RecordingRng(rng or DeterministicRng(label))
    shared_sym = rec.random_bytes(57)
    shared = SharedPrekeyPair.from_secret(shared_sym)
    prekey_profile = PrekeyProfile.create(bob.us.keypair, shared, BOB_TAG, NOW + LIFETIME)
    prekey = generate_prekey_message(rec, BOB_TAG)
    local = LocalPrekeys((bob.us.client_profile,), ((prekey_profile, shared),), (prekey,))
    ensemble = PrekeyEnsemble(bob.us.client_profile, prekey_profile, prekey.message)
    msg, alice_side = xzdh.send_non_interactive_auth(alice, ensemble, rec)
    after, bob_side = xzdh.receive_non_interactive_auth(bob, local, msg.encode())
    return NonInteractiveRun(bob, alice, shared_sym, prekey, local, ensemble,
                             tuple(d.value for d in rec.draws), msg, alice_side, after, bob_side)


def non_interactive_mutations(run: NonInteractiveRun) -> dict[str, list[Mutation]]:
    """Negative cases for the Non-Interactive-Auth message delivered to Bob."""
    from otrv4.instance_tag import ReceiverTagMismatchError
    from otrv4.prekeys import UnknownPrekeyError
    from otrv4.primitives.ring_signature import InvalidRingSignatureError

    label = "dake-non-interactive"
    bob_keys = make_party(f"{label}/bob", BOB_TAG, BOB_JID)
    alice_keys = make_party(f"{label}/alice", ALICE_TAG, ALICE_JID)
    msg = run.message
    raw = msg.encode()
    spans = msg.field_spans()
    m = _common_mutations("non_interactive_auth", msg, raw)
    m += _profile_mutations("non_interactive_auth", msg, raw, alice_keys, bob_keys)
    m += _point_mutations("non_interactive_auth", raw, spans, "x", "X")
    m += _point_mutations("non_interactive_auth", raw, spans, "ecdh_first", "our_ecdh_first")[:1]
    m += _dh_mutations("non_interactive_auth", raw, spans, "a", "A")
    m += _dh_mutations("non_interactive_auth", raw, spans, "dh_first", "our_dh_first")[:1]
    sig = spans["sigma"]
    m += [
        Mutation("non_interactive_auth", "WrongRingSignature", f"sigma scalar {name} changed",
                 _flip(raw, sig[0] + 57 * i + 1), InvalidRingSignatureError)
        for i, name in enumerate(("c1", "r1", "c2", "r2", "c3", "r3"))
    ]
    mac = spans["auth_mac"]
    m += [
        Mutation("non_interactive_auth", "WrongAuthMac", "one bit of the Auth MAC flipped",
                 _flip(raw, mac[0] + 10), xzdh.AuthMacMismatchError),
        Mutation("non_interactive_auth", "UnknownPrekey", "Prekey Message Identifier + 1",
                 _splice(raw, spans["prekey_message_id"],
                         encode_int((msg.prekey_message_id + 1) % 2**32)), UnknownPrekeyError),
        Mutation("non_interactive_auth", "ReceiverTag", "receiver tag of another instance",
                 _splice(raw, spans["receiver_tag"], encode_int(0x777)),
                 ReceiverTagMismatchError),
        Mutation("non_interactive_auth", "WrongRingSignature",
                 "our_ecdh_first replaced (phi changes)",
                 _splice(raw, spans["ecdh_first"], msg.x.encode()), InvalidRingSignatureError),
    ]
    return {"non_interactive_auth": m}


def apply_non_interactive(run: NonInteractiveRun, mutation: Mutation) -> object:
    """Deliver a mutated Non-Interactive-Auth message to Bob's store from the transcript."""
    return xzdh.receive_non_interactive_auth(run.bob, run.local, mutation.message)


def non_interactive_vectors() -> VectorFile:
    """The ``dake-non-interactive`` vector file."""
    run = non_interactive_run()
    bob_keys = make_party("dake-non-interactive/bob", BOB_TAG, BOB_JID)
    alice_keys = make_party("dake-non-interactive/alice", ALICE_TAG, ALICE_JID)
    keys = run.alice_side.keys
    alice = run.alice_side.result
    phi_value = phi(FirstKeys(ALICE_TAG, run.message.ecdh_first, run.message.dh_first),
                    FirstKeys(BOB_TAG), run.alice.phi_prime)
    transcript = TestCase(
        comment=(
            "Bob publishes a Client Profile, a Prekey Profile and a Prekey message; Alice "
            "sends Non-Interactive-Auth; Bob verifies it and consumes the prekey"
        ),
        result="valid",
        flags=["Transcript", "Decision8", "Decision11"],
        random_draws=list(run.draws),
        inputs={**bob_keys.inputs("bob"), **alice_keys.inputs("alice"), "now": NOW,
                "bob_prekey_profile_expiration": NOW + LIFETIME},
        intermediates={
            "bob_shared_prekey_sym_key": run.shared_prekey_sym,
            "bob_client_profile": run.ensemble.client_profile.encode(),
            "bob_prekey_profile": run.ensemble.prekey_profile.encode(),
            "bob_prekey_message": run.ensemble.prekey_message.encode(),
            "alice_client_profile": run.message.client_profile.encode(),
            "phi": phi_value,
            "t": keys.t,
            "brace_key": keys.brace_key,
            "tmp_k": keys.tmp_k,
            "auth_mac_k": keys.auth_mac_key,
            "K": keys.dake_secret,
            "root_key": alice.root_key,
            "chain_key": alice.chain_key_sending or b"",
        },
        outputs={
            "non_interactive_auth": run.message.encode(),
            "ssid": alice.ssid,
        },
    )
    return VectorFile(
        algorithm="OTRv4 non-interactive DAKE (XZDH)",
        header=[
            "Random draws in order: Bob's shared prekey sym_d (57 bytes), his Prekey message "
            "(identifier 4 bytes, y seed 57, b 80); Alice's Non-Interactive-Auth (x, a, "
            "ecdh_first, dh_first seeds, then the ring signature's five values).",
            "Bob sends no first keys; phi holds Alice's (ambiguity 8). t uses 0x10 for phi "
            "(ambiguity 11) and D as a POINT.",
            "Negative cases replace the Non-Interactive-Auth message; Bob's store (profiles, "
            "shared prekey, the one prekey) is the transcript's and must be unchanged.",
        ],
        notes=_NOTES,
        groups=[
            TestGroup(type="transcript", tests=[transcript]),
            *_negative_cases(non_interactive_mutations(run),
                             {"non_interactive_auth": "Bob with his unused prekey"}),
        ],
    )


VECTOR_FILES: dict[str, Callable[[], VectorFile]] = {
    "dake-interactive": interactive_vectors,
    "dake-non-interactive": non_interactive_vectors,
}
