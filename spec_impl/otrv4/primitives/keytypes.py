"""The typed Ed448 public-key encodings, and the decision on their byte order (ambiguity 5).

Implements the wire forms of ``otrv4.md`` §Public keys, Shared Prekeys,
Forging keys and Fingerprints::

    ED448-PUBKEY         type 0x0010 (2 bytes) || H (POINT)   59 bytes
    ED448-SHARED-PREKEY  type 0x0011 (2 bytes) || D (POINT)   59 bytes
    ED448-FORGING-KEY    type 0x0012 (2 bytes) || F (POINT)   59 bytes

The spec calls the 2-byte type "little-endian" (and lists ED448-PUBKEY among
the little-endian types in §Notation), while every other 2-byte value in
OTRv4 is a big-endian ``SHORT``.  We write and expect the type **big-endian**
(``00 10``); see the :class:`~otrv4.decisions.Decision` registered below.  A
key whose type arrives byte-swapped (``10 00``) is rejected as a wrong type.
"""

from __future__ import annotations

import enum
from typing import Final

from ..decisions import Decision, register
from ..errors import DecodeError
from .ed448 import POINT_BYTES, Point

__all__ = [
    "KEY_TYPE_BYTES",
    "TYPED_KEY_BYTES",
    "KeyType",
    "PublicKeyLengthError",
    "PublicKeyTypeError",
    "decode_typed_key",
    "encode_typed_key",
]

KEY_TYPE_BYTES: Final = 2
TYPED_KEY_BYTES: Final = KEY_TYPE_BYTES + POINT_BYTES  # 59


class KeyType(enum.IntEnum):
    """The type codes of OTRv4's Ed448 public keys (otrv4.md §Public keys…)."""

    ED448_PUBKEY = 0x0010
    ED448_SHARED_PREKEY = 0x0011
    ED448_FORGING_KEY = 0x0012


class PublicKeyLengthError(DecodeError):
    """A typed public key that is not exactly 59 bytes."""


class PublicKeyTypeError(DecodeError):
    """A typed public key whose 2-byte type is not the one the field requires."""


def encode_typed_key(point: Point, key_type: KeyType) -> bytes:
    """``type (2 bytes, big-endian) || POINT``: the 59-byte ED448-PUBKEY, -SHARED-PREKEY or
    -FORGING-KEY encoding (otrv4.md §Public keys…, with decision 5)."""
    return int(key_type).to_bytes(KEY_TYPE_BYTES, "big") + point.encode()


def decode_typed_key(data: bytes, key_type: KeyType) -> Point:
    """Decode a 59-byte typed key of type ``key_type`` and validate its point.

    Raises :class:`PublicKeyLengthError`, :class:`PublicKeyTypeError` (including
    a byte-swapped, little-endian type), or the
    :class:`~otrv4.primitives.ed448.InvalidPointError` subclasses of
    :meth:`Point.decode <otrv4.primitives.ed448.Point.decode>`.
    """
    if len(data) != TYPED_KEY_BYTES:
        raise PublicKeyLengthError(f"a typed key is {TYPED_KEY_BYTES} bytes, got {len(data)}")
    code = int.from_bytes(data[:KEY_TYPE_BYTES], "big")
    if code != key_type:
        raise PublicKeyTypeError(
            f"key type {code:#06x} where {int(key_type):#06x} ({key_type.name}) is required"
        )
    return Point.decode(data[KEY_TYPE_BYTES:])


DECISION_5: Final = register(Decision(
    number=5,
    title="Byte order of the public-key type codes",
    question=(
        "otrv4.md §Public keys, Shared Prekeys, Forging keys and Fingerprints describes the "
        "2-byte type of ED448-PUBKEY (0x0010), ED448-SHARED-PREKEY (0x0011) and "
        "ED448-FORGING-KEY (0x0012) as a 'little-endian' value, and §Notation counts these "
        "types among the little-endian ones, while every other 2-byte field of OTRv4 is a "
        "big-endian SHORT. Is 0x0010 sent as 10 00 or as 00 10?"
    ),
    decision=(
        "The type is a big-endian SHORT: ED448-PUBKEY starts with 00 10, ED448-SHARED-PREKEY "
        "with 00 11, ED448-FORGING-KEY with 00 12. Only the POINT after it is little-endian "
        "(as RFC 8032 encodes it). A byte-swapped type is a wrong key type and is rejected."
    ),
    reason=(
        "Only the curve values themselves (points, scalars, signatures) have a little-endian "
        "encoding of their own; the type code is protocol framing like the message type and "
        "the profile field types, which are big-endian SHORTs. Every implementation that "
        "exists writes 00 10, so big-endian is also the only choice that interoperates."
    ),
    others=(
        "libotr-ng writes the type big-endian (src/serialize.c, "
        "otrng_serialize_public_key); the Go prekey server's serialization tests "
        "(otrng-prekey-server, ser_test.go) expect the bytes 0x00, 0x10 before the point."
    ),
    vector="pubkey-encoding",
))
