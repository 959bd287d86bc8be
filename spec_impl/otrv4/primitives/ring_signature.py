"""The ring signature of the DAKEs: ``RSig`` and ``RVrf``.

Implements otrv4.md §Appendices/"Ring Signature Authentication" (a Schnorr
signature of knowledge of one of three secret keys, bound to a message) and
§"Serializing the Ring Signature Proof of Authentication" (``RING-SIG``: six
``SCALAR`` values, 342 bytes).  The prekey server (otrv4-prekey-server.md
§DAKE-2/§DAKE-3) reuses it with its own KDF prefix and ``usage_auth``; select
that with ``domain=PREKEY_SERVER_AUTH``.

``RSig(A_i, a_i, {A1, A2, A3}, m)`` for the signer at position ``i``, with
``j < k`` the other two positions:

1. draw ``t_i, c_j, c_k, r_j, r_k`` (in this order), each one 57-byte draw,
   hashed with SHAKE-256 and pruned, as an element of ``Z_q``
   (:func:`otrv4.primitives.ed448.random_scalar`);
2. ``T_i = G * t_i``, ``T_j = G * r_j + A_j * c_j``, ``T_k = G * r_k + A_k * c_k``;
3. ``c = HashToScalar(usage_auth || G || q || A1 || A2 || A3 || T1 || T2 || T3 || m)``;
4. ``c_i = c - c_j - c_k (mod q)``, ``r_i = t_i - c_i * a_i (mod q)``;
5. ``sigma = (c1, r1, c2, r2, c3, r3)``, always in ring order.

``RVrf`` recomputes ``T_n = G * r_n + A_n * c_n`` for ``n = 1, 2, 3`` and accepts
iff the same hash equals ``c1 + c2 + c3 (mod q)``.

The hash input and output size is ambiguity 7 of the project's list; the
decision is registered below: ``G`` as its 57-byte ``POINT`` encoding, ``q`` as
57 bytes little-endian, and ``HashToScalar`` with a 57-byte hash in both RSig
and RVrf (:func:`otrv4.primitives.kdf.hash_to_scalar`).

Ring keys are :class:`~otrv4.primitives.ed448.Point` values.  The appendix
asks that each be checked as in otrv4.md §"Verifying that a point is on the
curve"; in this package that check is :meth:`Point.decode
<otrv4.primitives.ed448.Point.decode>`, which every key received from a peer
passes through, and arithmetic on such points stays in the prime-order
subgroup.  So these functions only reject the identity
(:class:`~otrv4.primitives.ed448.IdentityPointError`) and do not repeat the
``q * A`` test (it would add three scalar multiplications, about 0.7 ms, to
each call).  A point built with ``Point.decode_rfc8032`` or
``Point.from_affine`` must be validated by the caller
(:meth:`Point.validate <otrv4.primitives.ed448.Point.validate>`) first.

Received scalars are decoded as the spec decodes every ``SCALAR``: little-endian,
reduced mod ``q`` (so an unreduced encoding is accepted; see
:mod:`otrv4.primitives.ed448`).  :meth:`RingSignature.decode` has a ``strict``
mode that rejects them instead.  Python offers no constant-time arithmetic, so
the signer's position can leak through timing; the output itself does not
depend on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from ..decisions import Decision, register
from ..errors import DecodeError, ValidationError
from .ed448 import (
    SCALAR_BYTES,
    G,
    IdentityPointError,
    Point,
    Q,
    base_mul,
    base_mul_add,
    decode_canonical_scalar,
    decode_scalar,
    encode_scalar,
    random_scalar,
)
from .kdf import KdfDomain, PrekeyUsageID, UsageID, hash_to_scalar
from .rng import Rng

__all__ = [
    "OTRV4_AUTH",
    "PREKEY_SERVER_AUTH",
    "RING_SIGNATURE_BYTES",
    "InvalidRingSignatureError",
    "RingDomain",
    "RingSignature",
    "RingSignatureLengthError",
    "SignerNotInRingError",
    "challenge",
    "ring_sign",
    "ring_verify",
]

#: Length of an encoded ``RING-SIG``: six 57-byte scalars.
RING_SIGNATURE_BYTES: Final = 6 * SCALAR_BYTES

#: ``q`` as it enters the hash (ambiguity 7): 57 bytes, little-endian, not reduced.
_Q_BYTES: Final = Q.to_bytes(SCALAR_BYTES, "little")


class RingSignatureLengthError(DecodeError):
    """An encoded ``RING-SIG`` that is not exactly 342 bytes."""


class InvalidRingSignatureError(ValidationError):
    """``RVrf`` failed: ``c1 + c2 + c3`` does not equal the hash (otrv4.md §Verification)."""


class SignerNotInRingError(ValidationError):
    """``RSig`` was given a secret key whose public key is none of the three ring keys."""


@dataclass(frozen=True)
class RingDomain:
    """Which KDF prefix and ``usage_auth`` value the challenge hash uses."""

    prefix: KdfDomain
    usage_auth: int


#: OTRv4's DAKEs: prefix ``"OTRv4"``, ``usage_auth = 0x1A``.
OTRV4_AUTH: Final = RingDomain(KdfDomain.OTRV4, UsageID.AUTH)
#: The prekey server's DAKE: prefix ``"OTR-Prekey-Server"``, ``usage_auth = 0x11``.
PREKEY_SERVER_AUTH: Final = RingDomain(KdfDomain.PREKEY_SERVER, PrekeyUsageID.AUTH)


@dataclass(frozen=True)
class RingSignature:
    """``sigma = (c1, r1, c2, r2, c3, r3)``, each an integer in ``[0, q)``.

    Wire form (otrv4.md §"Serializing the Ring Signature Proof of
    Authentication"): the six values as ``SCALAR`` (57 bytes little-endian)
    in that order, 342 bytes.
    """

    c1: int
    r1: int
    c2: int
    r2: int
    c3: int
    r3: int

    def scalars(self) -> tuple[int, int, int, int, int, int]:
        """``(c1, r1, c2, r2, c3, r3)``."""
        return (self.c1, self.r1, self.c2, self.r2, self.c3, self.r3)

    def encode(self) -> bytes:
        """The 342-byte ``RING-SIG`` (each value reduced mod ``q``, then 57 bytes little-endian)."""
        return b"".join(encode_scalar(v) for v in self.scalars())

    @classmethod
    def decode(cls, data: bytes, *, strict: bool = False) -> RingSignature:
        """Parse a ``RING-SIG``.

        Each ``SCALAR`` is read little-endian and reduced mod ``q`` (otrv4.md
        §Scalar); with ``strict=True`` a value ``>= q`` is rejected instead.
        Raises :class:`RingSignatureLengthError` unless ``data`` is 342 bytes,
        and in strict mode :class:`otrv4.primitives.ed448.NonCanonicalScalarError`.
        """
        if len(data) != RING_SIGNATURE_BYTES:
            raise RingSignatureLengthError(
                f"a RING-SIG is {RING_SIGNATURE_BYTES} bytes, got {len(data)}"
            )
        decode = decode_canonical_scalar if strict else decode_scalar
        c1, r1, c2, r2, c3, r3 = (
            decode(data[i:i + SCALAR_BYTES]) for i in range(0, RING_SIGNATURE_BYTES, SCALAR_BYTES)
        )
        return cls(c1, r1, c2, r2, c3, r3)


def challenge(
    ring: tuple[Point, Point, Point],
    commitments: tuple[Point, Point, Point],
    message: bytes,
    domain: RingDomain = OTRV4_AUTH,
) -> int:
    """``HashToScalar(usage_auth || G || q || A1 || A2 || A3 || T1 || T2 || T3 || m)``.

    otrv4.md §"Ring Signature Authentication" and §HashToScalar, with the
    encodings of ambiguity 7: ``G`` and the ``A``/``T`` points as 57-byte
    ``POINT``, ``q`` as 57 bytes little-endian, a 57-byte hash reduced mod
    ``q``.  Raises nothing.
    """
    data = b"".join((
        G.encode(), _Q_BYTES,
        *(a.encode() for a in ring),
        *(t.encode() for t in commitments),
        message,
    ))
    return hash_to_scalar(domain.usage_auth, data, domain.prefix)


def _check_ring(ring: tuple[Point, Point, Point]) -> None:
    if len(ring) != 3:
        raise ValueError("a ring has exactly three keys")
    for key in ring:
        if key.is_identity():
            raise IdentityPointError("a ring key is the identity element")


def ring_sign(
    secret: int,
    ring: tuple[Point, Point, Point],
    message: bytes,
    rng: Rng,
    domain: RingDomain = OTRV4_AUTH,
    *,
    public: Point | None = None,
) -> RingSignature:
    """``RSig(A_i, a_i, {A1, A2, A3}, m)`` (otrv4.md §"Authentication: RSig").

    ``secret`` is ``a_i`` (any integer; used mod ``q``); the signer's position
    ``i`` is the first ring key equal to ``A_i = G * a_i``.  A caller that holds
    ``A_i`` already (a key pair) passes it as ``public`` and saves that
    multiplication; it must be ``G * secret`` (with any other point the
    signature would not verify).  Draws five 57-byte values from ``rng``, in
    the order ``t_i, c_j, c_k, r_j, r_k`` (``j < k``).  Raises
    :class:`SignerNotInRingError` if ``A_i`` is not in the ring and
    :class:`~otrv4.primitives.ed448.IdentityPointError` if a ring key is the
    identity (see the module docstring on key validation).  Nothing is drawn
    from ``rng`` if it raises.
    """
    _check_ring(ring)
    if public is None:
        public = base_mul(secret)
    try:
        signer = ring.index(public)
    except ValueError:
        raise SignerNotInRingError("the secret key's public key is not in the ring") from None
    others = [n for n in range(3) if n != signer]
    t = random_scalar(rng)
    cs = [0, 0, 0]
    rs = [0, 0, 0]
    for n in others:
        cs[n] = random_scalar(rng)
    for n in others:
        rs[n] = random_scalar(rng)
    commitments = [base_mul(t) if n == signer else base_mul_add(rs[n], ring[n], cs[n])
                   for n in range(3)]
    c = challenge(ring, (commitments[0], commitments[1], commitments[2]), message, domain)
    cs[signer] = (c - sum(cs[n] for n in others)) % Q
    rs[signer] = (t - cs[signer] * secret) % Q
    return RingSignature(cs[0], rs[0], cs[1], rs[1], cs[2], rs[2])


def ring_verify(
    ring: tuple[Point, Point, Point],
    sigma: RingSignature,
    message: bytes,
    domain: RingDomain = OTRV4_AUTH,
) -> None:
    """``RVrf({A1, A2, A3}, sigma, m)`` (otrv4.md §"Verification: RVrf").

    Returns ``None`` if ``sigma`` is valid.  Raises
    :class:`InvalidRingSignatureError` if it is not, and
    :class:`~otrv4.primitives.ed448.IdentityPointError` if a ring key is the
    identity (see the module docstring on key validation).
    """
    _check_ring(ring)
    pairs = ((sigma.c1, sigma.r1), (sigma.c2, sigma.r2), (sigma.c3, sigma.r3))
    t1, t2, t3 = (base_mul_add(r, key, c, public=True)
                  for key, (c, r) in zip(ring, pairs, strict=True))
    if challenge(ring, (t1, t2, t3), message, domain) != (sigma.c1 + sigma.c2 + sigma.c3) % Q:
        raise InvalidRingSignatureError("the ring signature does not verify")


register(Decision(
    number=7,
    title="The ring signature's challenge hash: encoding of G and q, and hash size",
    question=(
        "RSig and RVrf hash usage_auth || G || q || A1 || A2 || A3 || T1 || T2 || T3 || m, but "
        "otrv4.md gives no encoding for the base point G and the group order q, and while "
        "RSig calls HashToScalar (a 57-byte HWC output, little-endian) RVrf writes "
        "'h = HWC(...)' without an output size, then 'c = h (mod q)'."
    ),
    decision=(
        "G is its 57-byte POINT encoding; q is 57 bytes, little-endian, not reduced (the "
        "SCALAR byte layout; reducing q mod q would give zero); the points are 57-byte POINT "
        "encodings; m follows as is. Both RSig and RVrf compute "
        "c = HashToScalar(usage_auth || ...): HWC(..., 57) read little-endian, mod q."
    ),
    reason=(
        "RVrf must recompute exactly the c that RSig hashed, so one function serves both, and "
        "the only size the specification states is HashToScalar's 57 bytes. Little-endian "
        "follows the rule that elliptic-curve values (POINT, SCALAR) are little-endian, and "
        "the POINT encoding is the one every other point in the hash uses."
    ),
    others=(
        "libotr-ng (src/auth.c) hashes q as 57 bytes big-endian and takes a 64-byte HWC "
        "output reduced mod q, with its older usage_auth 0x1C. The 2019 Go prekey server "
        "(otrng-prekey-server) hashes with the prekey server's usage_auth 0x11, q as 56 bytes "
        "big-endian and a 64-byte output, encodes its SCALARs in 56 bytes and puts r_i / 4 on "
        "the wire (decision 106, facts W1, R1, R2). Neither is wire-compatible with this "
        "decision."
    ),
    vector="ring-signature",
))
