"""Ed448 EdDSA signatures (RFC 8032 §5.2), as OTRv4 uses them.

OTRv4 signs Client Profiles and Prekey Profiles with "pure" Ed448 and an
empty context (``otrv4.md`` §Create a Client Profile Signature, §Verify a
Client Profile Signature); its long-term keys are generated as RFC 8032 §5.2.5
says (``otrv4.md`` §Public keys, Shared Prekeys, Forging keys and
Fingerprints): a 57-byte ``sym_key``, ``SHAKE-256(sym_key, 114)``, the low half
pruned into the secret scalar, the high half the signing prefix.

Signatures are byte-identical to RFC 8032's (and so to OpenSSL's, via the
``cryptography`` package; the tests check both).  A context string (RFC 8032's
Ed448 with context) is supported for completeness; OTRv4 never uses one.

Verification (RFC 8032 §5.2.7) raises a subclass of
:class:`InvalidSignatureError` for each way a signature can fail:

===============================================  ================================
rule                                             error
===============================================  ================================
the signature is 114 bytes                       :class:`SignatureLengthError`
``R`` decodes (RFC 8032 §5.2.3)                  :class:`SignaturePointError`
``S < L`` (``L`` = ``q``)                        :class:`SignatureScalarError`
``[S]B = R + [k]A``                              :class:`SignatureMismatchError`
===============================================  ================================

The equation is checked without the cofactor (RFC 8032 allows either form; the
cofactorless one is the stricter and accepts everything an honest signer
produces).  A public key given as bytes is decoded with the full OTRv4
validation of :meth:`otrv4.primitives.ed448.Point.decode` and so raises its
:class:`~otrv4.primitives.ed448.InvalidPointError` subclasses, not an
:class:`InvalidSignatureError`: the key is wrong, not the signature.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Final

from ..errors import DecodeError, ValidationError
from .ed448 import (
    POINT_BYTES,
    SCALAR_BYTES,
    InvalidPointError,
    Point,
    Q,
    base_mul,
    base_mul_add,
    decode_canonical_scalar,
    encode_scalar,
    prune,
)
from .rng import Rng

__all__ = [
    "CONTEXT_MAX_BYTES",
    "SECRET_BYTES",
    "SIGNATURE_BYTES",
    "EdDSAKeyPair",
    "InvalidSignatureError",
    "SecretKeyLengthError",
    "SignatureLengthError",
    "SignatureMismatchError",
    "SignaturePointError",
    "SignatureScalarError",
    "expand_secret",
    "public_key_from_secret",
    "sign",
    "verify",
]

SECRET_BYTES: Final = 57
SIGNATURE_BYTES: Final = POINT_BYTES + SCALAR_BYTES  # 114
CONTEXT_MAX_BYTES: Final = 255

_DOM4_PREFIX: Final = b"SigEd448"


class SecretKeyLengthError(ValidationError):
    """An EdDSA secret key (``sym_key``) that is not 57 bytes."""


class InvalidSignatureError(ValidationError):
    """An Ed448 signature that does not verify (root of the ways it can fail)."""


class SignatureLengthError(InvalidSignatureError, DecodeError):
    """A signature that is not exactly 114 bytes (``EDDSA-SIG``)."""


class SignaturePointError(InvalidSignatureError):
    """The first half of the signature, ``R``, is not a point encoding (RFC 8032 §5.2.3)."""


class SignatureScalarError(InvalidSignatureError):
    """The second half of the signature, ``S``, is not below ``q`` (RFC 8032 §5.2.7 step 1)."""


class SignatureMismatchError(InvalidSignatureError):
    """A well-formed signature for which ``[S]B != R + [k]A``: wrong key, message or signature."""


def _dom4(context: bytes) -> bytes:
    """RFC 8032 §5.2's ``dom4(0, context)`` (phflag 0: not pre-hashed)."""
    if len(context) > CONTEXT_MAX_BYTES:
        raise ValueError(f"an Ed448 context is at most {CONTEXT_MAX_BYTES} bytes")
    return _DOM4_PREFIX + bytes([0, len(context)]) + context


def _shake(data: bytes) -> bytes:
    return hashlib.shake_256(data).digest(114)


def expand_secret(secret: bytes) -> tuple[int, bytes]:
    """The secret scalar and the 57-byte signing prefix of an EdDSA secret (RFC 8032 §5.2.5).

    ``h = SHAKE-256(secret, 114)``; the scalar is ``LE(prune(h[:57]))`` (not
    reduced mod ``q``; otrv4.md calls it ``sk``), the prefix is ``h[57:]``.
    Raises :class:`SecretKeyLengthError` unless ``secret`` is 57 bytes.
    """
    if len(secret) != SECRET_BYTES:
        raise SecretKeyLengthError(
            f"an Ed448 secret key is {SECRET_BYTES} bytes, got {len(secret)}"
        )
    h = _shake(secret)
    return int.from_bytes(prune(h[:SECRET_BYTES]), "little"), h[SECRET_BYTES:]


def public_key_from_secret(secret: bytes) -> Point:
    """The public key ``G * sk`` of an EdDSA secret (RFC 8032 §5.2.5; otrv4.md §Public keys).

    Raises :class:`SecretKeyLengthError`.
    """
    scalar, _ = expand_secret(secret)
    return base_mul(scalar)


@dataclass(frozen=True)
class EdDSAKeyPair:
    """A long-term Ed448 key pair (otrv4.md §Public keys, Shared Prekeys, Forging keys and
    Fingerprints): ``sym_key`` (the EdDSA secret), ``scalar`` (``sk``), ``public`` (``H``)."""

    sym_key: bytes = field(repr=False)
    scalar: int = field(repr=False)
    public: Point

    @classmethod
    def from_secret(cls, sym_key: bytes) -> EdDSAKeyPair:
        """The key pair of a 57-byte ``sym_key``.  Raises :class:`SecretKeyLengthError`."""
        scalar, _ = expand_secret(sym_key)
        return cls(bytes(sym_key), scalar, base_mul(scalar))

    @classmethod
    def generate(cls, rng: Rng) -> EdDSAKeyPair:
        """A fresh key pair from one 57-byte draw of ``rng``."""
        return cls.from_secret(rng.random_bytes(SECRET_BYTES))

    def sign(self, message: bytes, context: bytes = b"") -> bytes:
        """:func:`sign` with this pair's secret."""
        return sign(self.sym_key, message, context)


def sign(secret: bytes, message: bytes, context: bytes = b"") -> bytes:
    """The 114-byte Ed448 signature ``R || S`` of ``message`` (RFC 8032 §5.2.6).

    Deterministic: the same secret and message always give the same bytes.
    Raises :class:`SecretKeyLengthError`, or :class:`ValueError` for a context
    longer than 255 bytes.
    """
    scalar, prefix = expand_secret(secret)
    dom = _dom4(context)
    public = base_mul(scalar).encode()
    r = int.from_bytes(_shake(dom + prefix + message), "little") % Q
    big_r = base_mul(r).encode()
    k = int.from_bytes(_shake(dom + big_r + public + message), "little") % Q
    return big_r + encode_scalar(r + k * scalar)


def verify(
    public: Point | bytes, message: bytes, signature: bytes, context: bytes = b""
) -> None:
    """Check an Ed448 signature (RFC 8032 §5.2.7); return ``None`` if it is valid.

    ``public`` is a :class:`~otrv4.primitives.ed448.Point` or its 57-byte
    encoding (then decoded and validated, raising
    :class:`~otrv4.primitives.ed448.InvalidPointError` subclasses).  Raises
    :class:`SignatureLengthError`, :class:`SignaturePointError`,
    :class:`SignatureScalarError` or :class:`SignatureMismatchError` (all
    :class:`InvalidSignatureError`), or :class:`ValueError` for a context
    longer than 255 bytes.
    """
    dom = _dom4(context)
    a = public if isinstance(public, Point) else Point.decode(public)
    if len(signature) != SIGNATURE_BYTES:
        raise SignatureLengthError(
            f"an Ed448 signature is {SIGNATURE_BYTES} bytes, got {len(signature)}"
        )
    big_r_bytes, s_bytes = signature[:POINT_BYTES], signature[POINT_BYTES:]
    try:
        s = decode_canonical_scalar(s_bytes)
    except ValidationError as exc:
        _check_r(big_r_bytes)  # R is checked first: a bad R is reported as such
        raise SignatureScalarError("S is not below q") from exc
    k = int.from_bytes(_shake(dom + big_r_bytes + a.encode() + message), "little") % Q
    # [S]B = R + [k]A, checked as [S]B + [-k]A = R: one double-base multiplication
    # with public scalars (variable-time is fine for values anyone can see).  The
    # encoding is one-to-one, so comparing encodings compares points, and R need
    # not be decoded unless the signature fails (to say whether R was a point).
    if base_mul_add(s, a, -k, public=True).encode() != big_r_bytes:
        _check_r(big_r_bytes)
        raise SignatureMismatchError("the signature does not match this key and message")


def _check_r(big_r_bytes: bytes) -> None:
    """Raise :class:`SignaturePointError` unless ``R`` decodes (RFC 8032 §5.2.3)."""
    try:
        Point.decode_rfc8032(big_r_bytes)
    except InvalidPointError as exc:
        raise SignaturePointError(f"R is not a point: {exc}") from exc
