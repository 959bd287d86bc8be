"""The non-interactive DAKE (XZDH): the Non-Interactive-Auth message.

Implements ``otrv4.md`` §Non-Interactive DAKE Overview, §Non-Interactive-Auth
Message and §Receiving a Non-Interactive-Auth Message.

* The sender ("Alice": she retrieved the ensemble) calls
  :func:`send_non_interactive_auth` with a validated
  :class:`~otrv4.prekeys.PrekeyEnsemble`; she gets the message and her
  :class:`~otrv4.shared_state.DakeResult` (she may send data at once).
* The prekey owner ("Bob") calls :func:`receive_non_interactive_auth` with his
  :class:`~otrv4.prekeys.LocalPrekeys`; he gets a copy without the consumed
  prekey and his :class:`~otrv4.shared_state.DakeResult`.  On any failure it
  raises and his store is unchanged.

Decision on **ambiguity 11** (registered here): ``t`` hashes phi with
``usage_non_int_auth_phi`` (0x10); ``their_shared_prekey`` enters ``t`` as a
``POINT``.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from .dake import DakeContext, UnexpectedSenderError
from .decisions import Decision, register
from .encoding import encode_mpi
from .errors import ValidationError
from .instance_tag import check_receiver_tag, check_sender_tag
from .messages import NonInteractiveAuthMessage
from .modes import Capability, require
from .prekeys import LocalPrekeys, PrekeyEnsemble, validate_ensemble
from .primitives.dh3072 import DHKeyPair, dh_shared_secret, generate_dh
from .primitives.ecdh import ECDHKeyPair, ecdh, generate_ecdh
from .primitives.ed448 import Point
from .primitives.kdf import UsageID, hcmac, hwc, kdf
from .primitives.ring_signature import InvalidRingSignatureError, ring_sign, ring_verify
from .primitives.rng import Rng
from .profiles import ClientProfile
from .shared_state import (
    DakeKind,
    DakeResult,
    FirstKeys,
    Role,
    brace_key_from_dh,
    non_interactive_ratchet_keys,
    phi,
    ssid,
)

__all__ = [
    "AuthMacMismatchError",
    "NonInteractiveAuthMessage",
    "NonInteractiveKeys",
    "NonInteractiveResult",
    "auth_mac",
    "non_interactive_t",
    "receive_non_interactive_auth",
    "send_non_interactive_auth",
]

register(Decision(
    number=11,
    title="The usage ID of phi in the non-interactive t",
    question=(
        "§Non-Interactive-Auth Message builds t with HWC(usageNonIntAuthPh || phi, 64), a "
        "name the usage-ID table does not define, while the verification steps use "
        "usage_non_int_auth_phi; the encoding of their_shared_prekey inside t is not stated."
    ),
    decision=(
        "usageNonIntAuthPh is a typo of usage_non_int_auth_phi = 0x10, used by sender and "
        "receiver alike. their_shared_prekey (D) enters t as a 57-byte POINT, like Y and X; "
        "the profiles as their full wire encodings; B and A as MPIs. t has no leading role byte."
    ),
    reason=(
        "The receiver's steps name the defined identifier, and sender and receiver must hash "
        "the same bytes; every other point in t is a POINT."
    ),
    others=(
        "libotr-ng predates the 2019 renumbering of usage IDs and uses its own table "
        "(src/dake.c); its value for this hash was not checked against the current spec."
    ),
    vector="dake-non-interactive",
))


class AuthMacMismatchError(ValidationError):
    """A Non-Interactive-Auth message whose Auth MAC does not match."""


@dataclass(frozen=True)
class NonInteractiveKeys:
    """The intermediate values of one XZDH run (for vectors and the forging tools)."""

    t: bytes
    brace_key: bytes
    tmp_k: bytes
    auth_mac_key: bytes
    dake_secret: bytes


@dataclass(frozen=True)
class NonInteractiveResult:
    """What a completed non-interactive DAKE gives one side."""

    result: DakeResult
    keys: NonInteractiveKeys


def non_interactive_t(
    owner_profile: ClientProfile, sender_profile: ClientProfile,
    y: Point, x: Point, b: int, a: int, shared_prekey: Point, phi_value: bytes,
) -> bytes:
    """``t = HWC(0x0E || Bob_CP, 64) || HWC(0x0F || Alice_CP, 64) || Y || X || B || A ||
    D || HWC(0x10 || phi, 64)`` (decision 11)."""
    return b"".join((
        hwc(UsageID.NON_INT_AUTH_BOB_CLIENT_PROFILE, owner_profile.encode(), 64),
        hwc(UsageID.NON_INT_AUTH_ALICE_CLIENT_PROFILE, sender_profile.encode(), 64),
        y.encode(), x.encode(), encode_mpi(b), encode_mpi(a), shared_prekey.encode(),
        hwc(UsageID.NON_INT_AUTH_PHI, phi_value, 64),
    ))


def auth_mac(auth_mac_key: bytes, t: bytes) -> bytes:
    """``Auth MAC = HCMAC(usage_auth_MAC || auth_mac_k || t, 64)``."""
    return hcmac(UsageID.AUTH_MAC, auth_mac_key + t, 64)


def _tmp_k(k_ecdh: bytes, ecdh_d: bytes, ecdh_h: bytes, brace: bytes) -> bytes:
    return kdf(UsageID.TMP_KEY, k_ecdh + ecdh_d + ecdh_h + brace, 64)


def send_non_interactive_auth(
    ctx: DakeContext, ensemble: PrekeyEnsemble, rng: Rng
) -> tuple[NonInteractiveAuthMessage, NonInteractiveResult]:
    """Alice's side of §Non-Interactive DAKE Overview.

    Validates ``ensemble`` (:func:`~otrv4.prekeys.validate_ensemble`), then draws
    x, a, the first ECDH and DH key pairs, and the ring signature's five values,
    and computes ``tmp_k``, the Auth MAC, K, the SSID and her sending chain.

    Raises :class:`~otrv4.modes.NonInteractiveDakeRefusedError` in
    interactive-only mode and the ensemble validation errors.
    """
    require(ctx.mode, Capability.NON_INTERACTIVE_DAKE)
    validate_ensemble(ensemble, ctx.clock, mode=ctx.mode)
    bob_cp = ensemble.client_profile
    y, b = ensemble.prekey_message.y, ensemble.prekey_message.b
    d = ensemble.prekey_profile.shared_prekey
    x = generate_ecdh(rng)
    a = generate_dh(rng)
    ecdh_first = generate_ecdh(rng)
    dh_first = generate_dh(rng)
    k_ecdh = ecdh(x.secret, y)
    brace = brace_key_from_dh(dh_shared_secret(a.secret, b))
    tmp_k = _tmp_k(k_ecdh, ecdh(x.secret, d), ecdh(x.secret, bob_cp.public_key), brace)
    mac_key = kdf(UsageID.AUTH_MAC_KEY, tmp_k, 64)
    ours = ctx.us
    phi_value = phi(
        FirstKeys(ours.instance_tag, ecdh_first.public, dh_first.public),
        FirstKeys(bob_cp.owner_tag),
        ctx.phi_prime,
    )
    t = non_interactive_t(bob_cp, ours.client_profile, y, x.public, b, a.public, d, phi_value)
    sigma = ring_sign(ours.keypair.scalar, (bob_cp.forging_key, ours.keypair.public, y), t, rng,
                      public=ours.keypair.public)
    k = kdf(UsageID.SHARED_SECRET, tmp_k, 64)
    root, chain_s = non_interactive_ratchet_keys(k)
    msg = NonInteractiveAuthMessage(
        sender_tag=ours.instance_tag, receiver_tag=bob_cp.owner_tag,
        client_profile=ours.client_profile, x=x.public, a=a.public, sigma=sigma,
        prekey_message_id=ensemble.prekey_message.identifier, auth_mac=auth_mac(mac_key, t),
        ecdh_first=ecdh_first.public, dh_first=dh_first.public,
    )
    result = DakeResult(
        kind=DakeKind.NON_INTERACTIVE, role=Role.NON_INTERACTIVE_SENDER, ssid=ssid(k),
        dake_secret=k, brace_key=brace, root_key=root,
        chain_key_sending=chain_s, chain_key_receiving=None,
        our_ecdh=ecdh_first, our_dh=dh_first, their_ecdh=y, their_dh=b,
        our_instance_tag=ours.instance_tag, their_instance_tag=bob_cp.owner_tag,
        their_client_profile=bob_cp, i=1,
        our_ecdh_first=ecdh_first, our_dh_first=dh_first, their_ecdh_first=y, their_dh_first=b,
    )
    return msg, NonInteractiveResult(result, NonInteractiveKeys(t, brace, tmp_k, mac_key, k))


def receive_non_interactive_auth(
    ctx: DakeContext, local: LocalPrekeys, data: bytes | NonInteractiveAuthMessage
) -> tuple[LocalPrekeys, NonInteractiveResult]:
    """Bob's side: §Receiving a Non-Interactive-Auth Message and §Non-Interactive DAKE Overview.

    In the spec's order: the receiver tag is ours; type and version; X, A and the
    first keys are valid (decoding); Alice's Client Profile is valid; the Prekey
    message identifier is known; ``sigma`` verifies over ``t`` (trying each of our
    local Client Profiles and Prekey Profiles, current first); the Auth MAC
    matches.  Draws nothing.

    Returns ``local`` without the consumed prekey, and the result.  Raises
    :class:`~otrv4.modes.NonInteractiveDakeRefusedError` in interactive-only
    mode, the decoding errors of :class:`~otrv4.messages.NonInteractiveAuthMessage`,
    the instance-tag errors, the Client Profile validation errors,
    :class:`~otrv4.prekeys.UnknownPrekeyError`,
    :class:`~otrv4.dake.UnexpectedSenderError` (a prekey of another instance),
    :class:`~otrv4.primitives.ring_signature.InvalidRingSignatureError`,
    :class:`AuthMacMismatchError`.  ``local`` is never changed.
    """
    require(ctx.mode, Capability.NON_INTERACTIVE_DAKE)
    msg = data if isinstance(data, NonInteractiveAuthMessage) else (
        NonInteractiveAuthMessage.decode(data)
    )
    check_receiver_tag(msg.receiver_tag, ctx.us.instance_tag)
    check_sender_tag(msg.sender_tag)
    alice_cp = msg.client_profile
    alice_cp.validate(msg.sender_tag, ctx.clock)
    prekey = local.find(msg.prekey_message_id)
    if prekey.owner_tag != ctx.us.instance_tag:
        raise UnexpectedSenderError("the prekey message belongs to another instance")
    phi_value = phi(
        FirstKeys(msg.sender_tag, msg.ecdh_first, msg.dh_first),
        FirstKeys(ctx.us.instance_tag),
        ctx.phi_prime,
    )
    y, b = prekey.ecdh.public, prekey.dh.public
    failure: InvalidRingSignatureError | None = None
    for our_cp in local.client_profiles:
        for prekey_profile, shared in local.prekey_profiles:
            if prekey_profile.owner_tag != our_cp.owner_tag:
                continue
            t = non_interactive_t(our_cp, alice_cp, y, msg.x, b, msg.a,
                                  prekey_profile.shared_prekey, phi_value)
            try:
                ring_verify((our_cp.forging_key, alice_cp.public_key, y), msg.sigma, t)
            except InvalidRingSignatureError as exc:
                failure = exc
                continue
            return local.consume(prekey.identifier), _finish(
                ctx, msg, prekey.ecdh, prekey.dh, shared.scalar, t, alice_cp
            )
    raise failure or InvalidRingSignatureError("no local profile to verify against")


def _finish(
    ctx: DakeContext, msg: NonInteractiveAuthMessage, y: ECDHKeyPair, b: DHKeyPair,
    sk_d: int, t: bytes, alice_cp: ClientProfile,
) -> NonInteractiveResult:
    k_ecdh = ecdh(y.secret, msg.x)
    brace = brace_key_from_dh(dh_shared_secret(b.secret, msg.a))
    tmp_k = _tmp_k(k_ecdh, ecdh(sk_d, msg.x), ecdh(ctx.us.keypair.scalar, msg.x), brace)
    mac_key = kdf(UsageID.AUTH_MAC_KEY, tmp_k, 64)
    if not hmac.compare_digest(auth_mac(mac_key, t), msg.auth_mac):
        raise AuthMacMismatchError("the Auth MAC does not match")
    k = kdf(UsageID.SHARED_SECRET, tmp_k, 64)
    root, chain_r = non_interactive_ratchet_keys(k)
    result = DakeResult(
        kind=DakeKind.NON_INTERACTIVE, role=Role.NON_INTERACTIVE_RECEIVER, ssid=ssid(k),
        dake_secret=k, brace_key=brace, root_key=root,
        chain_key_sending=None, chain_key_receiving=chain_r,
        our_ecdh=y, our_dh=b, their_ecdh=msg.ecdh_first, their_dh=msg.dh_first,
        our_instance_tag=ctx.us.instance_tag, their_instance_tag=msg.sender_tag,
        their_client_profile=alice_cp, i=1,
        our_ecdh_first=y, our_dh_first=b,
        their_ecdh_first=msg.ecdh_first, their_dh_first=msg.dh_first,
    )
    return NonInteractiveResult(result, NonInteractiveKeys(t, brace, tmp_k, mac_key, k))
