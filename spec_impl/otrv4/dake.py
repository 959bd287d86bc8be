"""The interactive DAKE (DAKEZ): Identity, Auth-R, Auth-I.

Implements ``otrv4.md`` §Interactive DAKE Overview, §Identity Message,
§Auth-R Message, §Auth-I Message and the DAKE rows of the state machine
(§Receiving an Identity Message, §Receiving an Auth-R Message, §Receiving an
Auth-I Message), including the simultaneous-Identity tie-break.

The style is functional: the DAKE states are frozen dataclasses and every
handler returns a new state (and the message to send) or raises; it never
changes its inputs, so a rejected message leaves the caller's state exactly
as it was.  Roles follow the spec: the party that sends the Identity message
is the *initiator* ("Bob" in §Interactive DAKE Overview), the party that
answers with Auth-R the *responder* ("Alice").

Flow::

    state, identity = start(ctx, rng)                     # initiator
    step = receive(ctx_r, START, identity.encode(), rng)  # responder: Auth-R
    step = receive(ctx, state, auth_r_bytes, rng)         # initiator: Auth-I + DakeResult
    step = receive(ctx_r, waiting, auth_i_bytes, rng)     # responder: DakeResult

Decision on **ambiguity 10** (registered here): the tie-break hash, see
:func:`identity_tiebreak_hash`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Union

from .clock import Clock
from .decisions import Decision, register
from .encoding import encode_mpi
from .errors import OTRError, ValidationError
from .instance_tag import UNKNOWN_RECEIVER, check_receiver_tag, check_sender_tag
from .messages import AuthIMessage, AuthRMessage, DakeMessage, IdentityMessage
from .modes import Capability, Mode, require
from .primitives.dh3072 import DHKeyPair, dh_shared_secret, generate_dh
from .primitives.ecdh import ECDHKeyPair, ecdh, generate_ecdh
from .primitives.ed448 import Point
from .primitives.eddsa import EdDSAKeyPair
from .primitives.kdf import UsageID, hwc
from .primitives.ring_signature import ring_sign, ring_verify
from .primitives.rng import Rng
from .profiles import ClientProfile
from .shared_state import (
    DakeKind,
    DakeResult,
    FirstKeys,
    Role,
    brace_key_from_dh,
    derive_ratchet_keys,
    first_root_key,
    mixed_secret,
    phi,
    ssid,
    xmpp_phi_prime,
)

__all__ = [
    "START",
    "AuthIMessage",
    "AuthRMessage",
    "DakeContext",
    "DakeStart",
    "DakeState",
    "IdentityMessage",
    "Participant",
    "Step",
    "UnexpectedMessageError",
    "UnexpectedSenderError",
    "WaitingAuthI",
    "WaitingAuthR",
    "auth_i_t",
    "auth_r_t",
    "identity_tiebreak_hash",
    "receive",
    "receive_auth_i",
    "receive_auth_r",
    "receive_identity",
    "start",
]

register(Decision(
    number=10,
    title="The hash of the simultaneous-Identity tie-break",
    question=(
        "§Receiving an Identity Message (state WAITING_AUTH_R) compares 'the hashed B you "
        "sent ... with the DH value from the message you received, considered as 32-byte "
        "unsigned big-endian values' without naming the hash or the encoding of B."
    ),
    decision=(
        "Each side hashes the MPI encoding of a B (4-byte length, minimal big-endian value) "
        "with SHA-256 and compares the two 32-byte digests as unsigned big-endian integers; "
        "the side whose own digest is higher ignores the received Identity message and "
        "resends its own; the other side answers it with Auth-R. Equal digests (equal B) "
        "count as 'not higher'. In WAITING_AUTH_I, an Identity message equal to the one "
        "being answered (the winner's resend) is answered with the same Auth-R, so the race "
        "ends in exactly one DAKE."
    ),
    reason=(
        "The sentence is inherited from OTRv3's AKE, where the compared value is SHA-256 of "
        "the MPI-encoded g^x; 32 bytes is SHA-256's size, not a size OTRv4's SHAKE-256 "
        "functions are used with; no usage ID is defined for it, so reusing HWC would "
        "invent one."
    ),
    others="libotr-ng's handling of this case was not checked; the spec text is the source.",
    vector="dake-interactive",
))


class UnexpectedMessageError(OTRError):
    """A DAKE message that the current state does not accept (the spec says: ignore it)."""


class UnexpectedSenderError(ValidationError):
    """A message from an instance other than the one this DAKE is running with."""


@dataclass(frozen=True)
class Participant:
    """Our long-term material for a DAKE: the identity key pair, the forging key's public
    part and the Client Profile that binds them to our instance tag."""

    keypair: EdDSAKeyPair
    forging_key: Point
    client_profile: ClientProfile

    @property
    def instance_tag(self) -> int:
        """Our instance tag: the owner tag of our Client Profile."""
        return self.client_profile.owner_tag


@dataclass(frozen=True)
class DakeContext:
    """What one party knows outside the DAKE messages.

    ``our_jid``/``their_jid`` are the bare JIDs that make ``phi'`` (decision 8);
    ``clock`` judges profile expiry; ``mode`` refuses what the mode forbids.
    """

    us: Participant
    our_jid: str
    their_jid: str
    clock: Clock
    mode: Mode = Mode.STANDALONE

    @property
    def phi_prime(self) -> bytes:
        """``phi'`` for XMPP."""
        return xmpp_phi_prime(self.our_jid, self.their_jid)


@dataclass(frozen=True)
class DakeStart:
    """State START (or ENCRYPTED_MESSAGES/FINISHED, which handle Identity the same way)."""


START = DakeStart()


@dataclass(frozen=True)
class WaitingAuthR:
    """State WAITING_AUTH_R: we sent ``identity`` and keep its secrets."""

    our_ecdh: ECDHKeyPair = field(repr=False)
    our_dh: DHKeyPair = field(repr=False)
    ecdh_first: ECDHKeyPair = field(repr=False)
    dh_first: DHKeyPair = field(repr=False)
    identity: IdentityMessage


@dataclass(frozen=True)
class WaitingAuthI:
    """State WAITING_AUTH_I: we answered ``their_identity`` with ``auth_r`` and hold K."""

    their_identity: IdentityMessage
    auth_r: AuthRMessage
    ecdh_first: ECDHKeyPair = field(repr=False)
    dh_first: DHKeyPair = field(repr=False)
    dake_secret: bytes = field(repr=False)
    ssid: bytes
    phi: bytes


DakeState = Union[DakeStart, WaitingAuthR, WaitingAuthI]  # noqa: UP007  (used at runtime)


@dataclass(frozen=True)
class Step:
    """The result of a handler: the next state, the message to send (if any), and the
    :class:`~otrv4.shared_state.DakeResult` once the DAKE is complete."""

    state: DakeState
    send: DakeMessage | None = None
    result: DakeResult | None = None


# --------------------------------------------------------------------------- pieces


def identity_tiebreak_hash(b: int) -> int:
    """Decision 10: ``SHA-256(MPI(B))`` read as a 256-bit big-endian integer."""
    return int.from_bytes(hashlib.sha256(encode_mpi(b)).digest(), "big")


def _t(
    role_byte: bytes,
    usages: tuple[UsageID, UsageID, UsageID],
    initiator_profile: ClientProfile,
    responder_profile: ClientProfile,
    y: Point,
    x: Point,
    b: int,
    a: int,
    phi_value: bytes,
) -> bytes:
    return b"".join((
        role_byte,
        hwc(usages[0], initiator_profile.encode(), 64),
        hwc(usages[1], responder_profile.encode(), 64),
        y.encode(), x.encode(), encode_mpi(b), encode_mpi(a),
        hwc(usages[2], phi_value, 64),
    ))


def auth_r_t(
    initiator_profile: ClientProfile, responder_profile: ClientProfile,
    y: Point, x: Point, b: int, a: int, phi_value: bytes,
) -> bytes:
    """§Auth-R Message: ``t = 0x00 || HWC(0x05 || Bob_CP, 64) || HWC(0x06 || Alice_CP, 64) ||
    Y || X || B || A || HWC(0x07 || phi, 64)`` (Y, X as POINT; B, A as MPI; profiles as
    their full wire encoding)."""
    return _t(b"\x00", (UsageID.AUTH_R_BOB_CLIENT_PROFILE, UsageID.AUTH_R_ALICE_CLIENT_PROFILE,
                        UsageID.AUTH_R_PHI),
              initiator_profile, responder_profile, y, x, b, a, phi_value)


def auth_i_t(
    initiator_profile: ClientProfile, responder_profile: ClientProfile,
    y: Point, x: Point, b: int, a: int, phi_value: bytes,
) -> bytes:
    """§Auth-I Message: ``t = 0x01 || HWC(0x08 || Bob_CP, 64) || HWC(0x09 || Alice_CP, 64) ||
    Y || X || B || A || HWC(0x0A || phi, 64)``."""
    return _t(b"\x01", (UsageID.AUTH_I_BOB_CLIENT_PROFILE, UsageID.AUTH_I_ALICE_CLIENT_PROFILE,
                        UsageID.AUTH_I_PHI),
              initiator_profile, responder_profile, y, x, b, a, phi_value)


def _dake_secret(our_ecdh: ECDHKeyPair, their_ecdh: Point,
                 our_dh: DHKeyPair, their_dh: int) -> tuple[bytes, bytes]:
    """``(K, brace_key)``: K_ecdh = ECDH(ours, theirs), k_dh = DH(ours, theirs)."""
    k_ecdh = ecdh(our_ecdh.secret, their_ecdh)
    brace = brace_key_from_dh(dh_shared_secret(our_dh.secret, their_dh))
    return mixed_secret(k_ecdh, brace), brace


def _decode(data: bytes | DakeMessage, cls: type[DakeMessage]) -> DakeMessage:
    if isinstance(data, cls):
        return data
    if isinstance(data, DakeMessage):
        raise UnexpectedMessageError(
            f"expected {cls.MESSAGE_TYPE.spec_name}, got {data.MESSAGE_TYPE.spec_name}"
        )
    return cls.decode(data)


# --------------------------------------------------------------------------- initiator


def start(ctx: DakeContext, rng: Rng, receiver_tag: int = UNKNOWN_RECEIVER) -> Step:
    """§Identity Message: make ``(y, Y)``, ``(b, B)``, the first ECDH and DH key pairs
    (four draws, in that order) and the Identity message; next state WAITING_AUTH_R.

    ``receiver_tag`` is the peer's instance tag if known, else 0.  Raises nothing
    for valid input (:class:`~otrv4.encoding.OutOfRangeError` for a tag over 32 bits).
    """
    require(ctx.mode, Capability.INTERACTIVE_DAKE)
    y = generate_ecdh(rng)
    b = generate_dh(rng)
    ecdh_first = generate_ecdh(rng)
    dh_first = generate_dh(rng)
    msg = IdentityMessage(
        sender_tag=ctx.us.instance_tag, receiver_tag=receiver_tag,
        client_profile=ctx.us.client_profile, y=y.public, b=b.public,
        ecdh_first=ecdh_first.public, dh_first=dh_first.public,
    )
    msg.encode()  # fail here, not later, on an unencodable tag
    return Step(WaitingAuthR(y, b, ecdh_first, dh_first, msg), send=msg)


# --------------------------------------------------------------------------- responder


def _validate_identity(ctx: DakeContext, msg: IdentityMessage, *, require_ours: bool) -> None:
    check_sender_tag(msg.sender_tag)
    if require_ours:
        check_receiver_tag(msg.receiver_tag, ctx.us.instance_tag)
    else:
        check_receiver_tag(msg.receiver_tag, ctx.us.instance_tag, allow_unknown=True)
    msg.client_profile.validate(msg.sender_tag, ctx.clock)


def _answer_identity(ctx: DakeContext, their: IdentityMessage, rng: Rng) -> Step:
    x = generate_ecdh(rng)
    a = generate_dh(rng)
    ecdh_first = generate_ecdh(rng)
    dh_first = generate_dh(rng)
    phi_value = phi(
        FirstKeys(ctx.us.instance_tag, ecdh_first.public, dh_first.public),
        FirstKeys(their.sender_tag, their.ecdh_first, their.dh_first),
        ctx.phi_prime,
    )
    t = auth_r_t(their.client_profile, ctx.us.client_profile,
                 their.y, x.public, their.b, a.public, phi_value)
    ring = (their.client_profile.forging_key, ctx.us.keypair.public, their.y)
    sigma = ring_sign(ctx.us.keypair.scalar, ring, t, rng, public=ctx.us.keypair.public)
    k, _brace = _dake_secret(x, their.y, a, their.b)
    auth_r = AuthRMessage(
        sender_tag=ctx.us.instance_tag, receiver_tag=their.sender_tag,
        client_profile=ctx.us.client_profile, x=x.public, a=a.public, sigma=sigma,
        ecdh_first=ecdh_first.public, dh_first=dh_first.public,
    )
    state = WaitingAuthI(their, auth_r, ecdh_first, dh_first, k, ssid(k), phi_value)
    return Step(state, send=auth_r)


def receive_identity(
    ctx: DakeContext, state: DakeState, data: bytes | IdentityMessage, rng: Rng
) -> Step:
    """§Receiving an Identity Message, in every DAKE state.

    * START: validate, answer with Auth-R (draws x, a, first ECDH, first DH, then
      the ring signature's five values), go to WAITING_AUTH_I.
    * WAITING_AUTH_R: validate; if our :func:`identity_tiebreak_hash` is higher,
      stay and resend our Identity message; otherwise forget our keys and answer
      as in START.
    * WAITING_AUTH_I: validate (the receiver tag must be ours); a retransmission of
      the Identity message we are answering gets the same Auth-R again (this is
      what lets the simultaneous-Identity race end in one DAKE: the winner
      resends the Identity the loser already answered); a different one is
      answered with a new Auth-R.

    Raises the decoding errors of :class:`~otrv4.messages.IdentityMessage`,
    :class:`~otrv4.instance_tag.InvalidSenderTagError`,
    :class:`~otrv4.instance_tag.InvalidReceiverTagError`,
    :class:`~otrv4.instance_tag.ReceiverTagMismatchError`, the Client Profile
    validation errors of :mod:`otrv4.profiles`; ``state`` is never changed.
    """
    require(ctx.mode, Capability.INTERACTIVE_DAKE)
    msg = _decode(data, IdentityMessage)
    if not isinstance(msg, IdentityMessage):  # pragma: no cover - _decode guarantees it
        raise UnexpectedMessageError("not an Identity message")
    if isinstance(state, WaitingAuthI) and msg == state.their_identity:
        return Step(state, send=state.auth_r)  # a retransmission, validated when first seen
    _validate_identity(ctx, msg, require_ours=isinstance(state, WaitingAuthI))
    if isinstance(state, WaitingAuthR) and (
        identity_tiebreak_hash(state.identity.b) > identity_tiebreak_hash(msg.b)
    ):
        return Step(state, send=state.identity)
    return _answer_identity(ctx, msg, rng)


def receive_auth_r(
    ctx: DakeContext, state: DakeState, data: bytes | AuthRMessage, rng: Rng
) -> Step:
    """§Receiving an Auth-R Message (initiator, state WAITING_AUTH_R).

    Validates (type, version, tags, Alice's Client Profile, X, A and first keys on
    decoding, then ``RVrf({F_b, H_a, Y}, sigma, t)``), computes K and the SSID,
    builds Auth-I (``RSig(H_b, sk_hb, {H_b, F_a, X}, t')``: five draws), initialises
    the double ratchet as the initiator (two more draws: a new ECDH and a new DH
    key pair) and returns the final state with the
    :class:`~otrv4.shared_state.DakeResult`.

    Raises :class:`UnexpectedMessageError` in any other state, the decoding
    errors of :class:`~otrv4.messages.AuthRMessage`, the instance-tag errors, the
    Client Profile validation errors,
    :class:`~otrv4.primitives.ring_signature.InvalidRingSignatureError`;
    ``state`` is never changed.
    """
    require(ctx.mode, Capability.INTERACTIVE_DAKE)
    if not isinstance(state, WaitingAuthR):
        raise UnexpectedMessageError("Auth-R is only accepted in WAITING_AUTH_R")
    msg = _decode(data, AuthRMessage)
    if not isinstance(msg, AuthRMessage):  # pragma: no cover
        raise UnexpectedMessageError("not an Auth-R message")
    check_sender_tag(msg.sender_tag)
    check_receiver_tag(msg.receiver_tag, ctx.us.instance_tag)
    if state.identity.receiver_tag not in (UNKNOWN_RECEIVER, msg.sender_tag):
        raise UnexpectedSenderError(
            f"Auth-R from {msg.sender_tag:#010x}, "
            f"Identity was for {state.identity.receiver_tag:#010x}"
        )
    their_profile = msg.client_profile
    their_profile.validate(msg.sender_tag, ctx.clock)
    ours = ctx.us
    phi_value = phi(
        FirstKeys(ours.instance_tag, state.ecdh_first.public, state.dh_first.public),
        FirstKeys(msg.sender_tag, msg.ecdh_first, msg.dh_first),
        ctx.phi_prime,
    )
    y, b = state.our_ecdh.public, state.our_dh.public
    t = auth_r_t(ours.client_profile, their_profile, y, msg.x, b, msg.a, phi_value)
    ring_verify((ours.forging_key, their_profile.public_key, y), msg.sigma, t)
    k, _ = _dake_secret(state.our_ecdh, msg.x, state.our_dh, msg.a)
    t_i = auth_i_t(ours.client_profile, their_profile, y, msg.x, b, msg.a, phi_value)
    sigma = ring_sign(ours.keypair.scalar, (ours.keypair.public, their_profile.forging_key, msg.x),
                      t_i, rng, public=ours.keypair.public)
    auth_i = AuthIMessage(sender_tag=ours.instance_tag, receiver_tag=msg.sender_tag, sigma=sigma)
    # Ratchet initialisation as the initiator (§Interactive DAKE Overview, Bob).
    prev_root = first_root_key(k)
    k1, _ = _dake_secret(state.ecdh_first, msg.ecdh_first, state.dh_first, msg.dh_first)
    root, chain_r = derive_ratchet_keys(prev_root, k1)
    new_ecdh = generate_ecdh(rng)
    new_dh = generate_dh(rng)
    k2, brace2 = _dake_secret(new_ecdh, msg.ecdh_first, new_dh, msg.dh_first)
    root2, chain_s = derive_ratchet_keys(root, k2)
    result = DakeResult(
        kind=DakeKind.INTERACTIVE, role=Role.INTERACTIVE_INITIATOR, ssid=ssid(k),
        dake_secret=k, brace_key=brace2, root_key=root2,
        chain_key_sending=chain_s, chain_key_receiving=chain_r,
        our_ecdh=new_ecdh, our_dh=new_dh, their_ecdh=msg.ecdh_first, their_dh=msg.dh_first,
        our_instance_tag=ours.instance_tag, their_instance_tag=msg.sender_tag,
        their_client_profile=their_profile, i=1,
        our_ecdh_first=state.ecdh_first, our_dh_first=state.dh_first,
        their_ecdh_first=msg.ecdh_first, their_dh_first=msg.dh_first,
    )
    return Step(START, send=auth_i, result=result)


def receive_auth_i(
    ctx: DakeContext, state: DakeState, data: bytes | AuthIMessage, rng: Rng | None = None
) -> Step:
    """§Receiving an Auth-I Message (responder, state WAITING_AUTH_I).

    Validates (type, version, tags, ``RVrf({H_b, F_a, X}, sigma, t')``) and
    initialises the double ratchet as the responder.  Draws nothing.

    Raises :class:`UnexpectedMessageError` in any other state, the decoding
    errors of :class:`~otrv4.messages.AuthIMessage`, the instance-tag errors,
    :class:`UnexpectedSenderError` (not the instance we answered),
    :class:`~otrv4.primitives.ring_signature.InvalidRingSignatureError`;
    ``state`` is never changed.
    """
    del rng
    require(ctx.mode, Capability.INTERACTIVE_DAKE)
    if not isinstance(state, WaitingAuthI):
        raise UnexpectedMessageError("Auth-I is only accepted in WAITING_AUTH_I")
    msg = _decode(data, AuthIMessage)
    if not isinstance(msg, AuthIMessage):  # pragma: no cover
        raise UnexpectedMessageError("not an Auth-I message")
    check_sender_tag(msg.sender_tag)
    check_receiver_tag(msg.receiver_tag, ctx.us.instance_tag)
    their = state.their_identity
    if msg.sender_tag != their.sender_tag:
        raise UnexpectedSenderError(
            f"Auth-I from {msg.sender_tag:#010x}, DAKE runs with {their.sender_tag:#010x}"
        )
    ours = ctx.us
    x, a = state.auth_r.x, state.auth_r.a
    t_i = auth_i_t(their.client_profile, ours.client_profile, their.y, x, their.b, a, state.phi)
    ring_verify((their.client_profile.public_key, ours.forging_key, x), msg.sigma, t_i)
    prev_root = first_root_key(state.dake_secret)
    k1, brace1 = _dake_secret(state.ecdh_first, their.ecdh_first, state.dh_first, their.dh_first)
    root, chain_s = derive_ratchet_keys(prev_root, k1)
    result = DakeResult(
        kind=DakeKind.INTERACTIVE, role=Role.INTERACTIVE_RESPONDER, ssid=state.ssid,
        dake_secret=state.dake_secret, brace_key=brace1, root_key=root,
        chain_key_sending=chain_s, chain_key_receiving=None,
        our_ecdh=state.ecdh_first, our_dh=state.dh_first,
        their_ecdh=their.ecdh_first, their_dh=their.dh_first,
        our_instance_tag=ours.instance_tag, their_instance_tag=their.sender_tag,
        their_client_profile=their.client_profile, i=0,
        our_ecdh_first=state.ecdh_first, our_dh_first=state.dh_first,
        their_ecdh_first=their.ecdh_first, their_dh_first=their.dh_first,
    )
    return Step(START, result=result)


def receive(ctx: DakeContext, state: DakeState, data: bytes, rng: Rng) -> Step:
    """Dispatch a binary Identity, Auth-R or Auth-I message to its handler.

    Raises what the handler raises, :class:`UnexpectedMessageError` for other
    DAKE message types, and the header decoding errors of :mod:`otrv4.encoding`.
    """
    from .encoding import MessageType, peek_message_type

    mtype = peek_message_type(data)
    if mtype is MessageType.IDENTITY:
        return receive_identity(ctx, state, data, rng)
    if mtype is MessageType.AUTH_R:
        return receive_auth_r(ctx, state, data, rng)
    if mtype is MessageType.AUTH_I:
        return receive_auth_i(ctx, state, data, rng)
    raise UnexpectedMessageError(f"{mtype.spec_name} is not an interactive DAKE message")


