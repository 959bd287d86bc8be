"""Elliptic-curve Diffie-Hellman on Ed448, as OTRv4 does it.

Implements ``otrv4.md`` §Generating ECDH and DH keys (``generateECDH()``) and
§Generating Shared Secrets (``ECDH(a, B)``).

``generateECDH``: draw ``r`` (57 bytes), ``h = SHAKE-256(r, 114)[:57]``, prune
``h`` (clear the two low bits of byte 0, clear byte 56, set the top bit of
byte 55), ``s = LE(h)``, public key ``G * s``.  This is RFC 8032's key
derivation, so the public key equals the Ed448 public key of the secret ``r``
in any RFC 8032 library.  ``s`` is kept *unreduced* (``2^447 <= s < 2^448``),
exactly as the spec defines it; since it is a multiple of 4 it also clears
any small-order component of a point it multiplies.  Reducing it modulo ``q``
would change no result on a validated point.

``ECDH(a, B) = a * B``, which must not be "the all-zero value".  That wording
comes from X25519/X448, where a small-order input gives the all-zero
u-coordinate; on the Edwards curve the same event is the product being the
identity ``(0, 1)`` (whose encoding is ``01 00 .. 00``).  We reject the
identity, and also, literally, the all-zero encoding (the point ``(-1, 0)`` of
order 4, which no clamped secret can produce).  The spec asks for the check
to be constant-time; Python cannot promise that.  Decision 14, registered
here, records this reading.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final

from ..decisions import Decision, register
from ..errors import ValidationError
from .ed448 import POINT_BYTES, Point, base_mul, prune
from .rng import Rng

__all__ = [
    "ECDH_SEED_BYTES",
    "ECDHKeyPair",
    "ECDHSeedLengthError",
    "ZeroSharedSecretError",
    "ecdh",
    "generate_ecdh",
]

ECDH_SEED_BYTES: Final = 57
_ALL_ZERO: Final = bytes(POINT_BYTES)


class ECDHSeedLengthError(ValidationError):
    """An ECDH seed ``r`` that is not 57 bytes."""


class ZeroSharedSecretError(ValidationError):
    """``ECDH(a, B)`` gave the zero of the group: ``B`` had small order, or ``a = 0 mod q``."""


@dataclass(frozen=True)
class ECDHKeyPair:
    """An ephemeral ECDH key pair: ``seed`` (the spec's ``r``), ``secret`` (``s``), ``public``.

    The spec says to delete ``r`` once ``s`` exists; it is kept here so that
    test vectors can list it.  Protocol code should hold on to ``secret`` and
    ``public`` only.
    """

    seed: bytes = field(repr=False)
    secret: int = field(repr=False)
    public: Point

    @classmethod
    def from_seed(cls, seed: bytes) -> ECDHKeyPair:
        """The key pair ``generateECDH()`` makes from the random value ``r = seed``.

        Raises :class:`ECDHSeedLengthError` unless ``seed`` is 57 bytes.
        """
        if len(seed) != ECDH_SEED_BYTES:
            raise ECDHSeedLengthError(f"r is {ECDH_SEED_BYTES} bytes, got {len(seed)}")
        h = hashlib.shake_256(seed).digest(2 * ECDH_SEED_BYTES)[:ECDH_SEED_BYTES]
        secret = int.from_bytes(prune(h), "little")
        return cls(bytes(seed), secret, base_mul(secret))


def generate_ecdh(rng: Rng) -> ECDHKeyPair:
    """``generateECDH()`` of otrv4.md §Generating ECDH and DH keys: one 57-byte draw of ``rng``."""
    return ECDHKeyPair.from_seed(rng.random_bytes(ECDH_SEED_BYTES))


def ecdh(secret: int, public: Point | bytes) -> bytes:
    """``K_ecdh = ECDH(secret, public)`` of otrv4.md §Generating Shared Secrets, as a ``POINT``.

    ``public`` is a :class:`~otrv4.primitives.ed448.Point` (the caller got it
    from :meth:`~otrv4.primitives.ed448.Point.decode`) or its 57-byte encoding
    (decoded and validated here, raising the
    :class:`~otrv4.primitives.ed448.InvalidPointError` subclasses).  Returns
    the 57-byte encoding of ``secret * public``.  Raises
    :class:`ZeroSharedSecretError` if that product is the identity (or encodes
    to 57 zero bytes).
    """
    point = public if isinstance(public, Point) else Point.decode(public)
    shared = point * secret
    encoded = shared.encode()
    if shared.is_identity() or encoded == _ALL_ZERO:
        raise ZeroSharedSecretError("the ECDH shared secret is the zero of the group")
    return encoded


register(Decision(
    number=14,
    title="ECDH: what 'the all-zero value' is on Ed448",
    question=(
        "otrv4.md §Generating Shared Secrets (and otrv4-prekey-server.md §Generating Shared "
        "Secrets) aborts when K_ecdh = a * B 'is the all-zero value', wording taken from "
        "X448, where a small-order input gives an all-zero u-coordinate. On the Edwards curve "
        "the zero of the group is the identity (0, 1), whose POINT encoding is 01 00 .. 00."
    ),
    decision=(
        "ECDH(a, B) is refused when a * B is the identity, and also when its POINT encoding "
        "is 57 zero bytes (the point (-1, 0), of order 4). B has already been validated as "
        "every received point is (on the curve, not the identity, q * B = identity); the "
        "message that carried it is rejected."
    ),
    reason=(
        "The identity is the result that removes the other party's contribution, which is "
        "what the check is for; the literal all-zero test keeps the specification's words "
        "at no cost."
    ),
    others="Not compared with another implementation.",
    vector="ecdh-ed448",
))
