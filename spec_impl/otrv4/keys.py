"""Long-term keys, forging keys, shared prekeys and fingerprints.

Implements ``otrv4.md`` §Public keys, Shared Prekeys, Forging keys and
Fingerprints:

* :data:`LongTermKeyPair` — the Ed448 identity key ``(sym_h, sk_h, H)``
  (:class:`~otrv4.primitives.eddsa.EdDSAKeyPair`): a 57-byte symmetric key
  ``sym_key`` (the RFC 8032 private key, which signs the profiles), the pruned
  secret scalar ``scalar`` (``sk_h``: used by the ring signatures and the
  non-interactive DAKE) and the public point ``H``.  The same
  construction gives the shared prekey ``(sym_d, sk_d, D)``
  (:data:`SharedPrekeyPair`) and an "honest" forging key.
* :class:`ForgingKey` — the public forging key ``F`` and, only if the user
  chose to keep it, its secret.
* :func:`fingerprint` — ``HWC(usage_fingerprint || byte(H) || byte(F), 56)``,
  where ``byte(X)`` is the key's typed wire encoding (ED448-PUBKEY and
  ED448-FORGING-KEY: the 2-byte type then the POINT), as libotr-ng does
  (decision 13, registered here).
* reading the typed-key wire encodings ED448-PUBKEY (0x0010),
  ED448-SHARED-PREKEY (0x0011) and ED448-FORGING-KEY (0x0012) from a
  :class:`~otrv4.encoding.Reader` (the codec and decision 5 live in
  :mod:`otrv4.primitives.keytypes`).

Secrets never appear in ``repr``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .decisions import Decision, register
from .encoding import Reader
from .primitives.ed448 import Point
from .primitives.eddsa import EdDSAKeyPair
from .primitives.kdf import UsageID, hwc
from .primitives.keytypes import (
    TYPED_KEY_BYTES,
    KeyType,
    decode_typed_key,
    encode_typed_key,
)
from .primitives.rng import Rng

__all__ = [
    "FINGERPRINT_BYTES",
    "SYM_KEY_BYTES",
    "ForgingKey",
    "KeyType",
    "LongTermKeyPair",
    "SharedPrekeyPair",
    "encode_typed_key",
    "fingerprint",
    "format_fingerprint",
    "read_typed_key",
]

SYM_KEY_BYTES = 57
"""Length of ``sym_key`` (§Public keys…)."""

FINGERPRINT_BYTES = 56
"""A fingerprint is 56 bytes (224-bit security level), shown as 112 hex digits."""

LongTermKeyPair = EdDSAKeyPair
"""The long-term Ed448 key pair ``(sym_h, sk_h, H)``: ``sym_key``, ``scalar``, ``public``."""

SharedPrekeyPair = EdDSAKeyPair
"""The shared prekey pair ``(sym_d, sk_d, D)``, generated exactly like the long-term key."""


def read_typed_key(reader: Reader, key_type: KeyType, field: str = "public key") -> Point:
    """Read a 59-byte typed key (ED448-PUBKEY/-SHARED-PREKEY/-FORGING-KEY) and validate its point.

    Raises :class:`~otrv4.encoding.TruncatedError`,
    :class:`~otrv4.primitives.keytypes.PublicKeyTypeError` and the
    :class:`~otrv4.primitives.ed448.InvalidPointError` subclasses.  The reader
    does not move on failure.
    """
    start = reader.offset
    raw = reader.read(TYPED_KEY_BYTES, field)
    try:
        return decode_typed_key(raw, key_type)
    except Exception:
        reader.rewind(start)
        raise


@dataclass(frozen=True)
class ForgingKey:
    """The long-term forging key: ``public`` (F) and, if kept, its key pair.

    §Public keys…: an implementation must support forging keys and should ask
    whether to keep the secret; :meth:`generate` discards it unless
    ``keep_secret`` is true.
    """

    public: Point
    keypair: EdDSAKeyPair | None = field(default=None, repr=False)

    @classmethod
    def generate(cls, rng: Rng, *, keep_secret: bool = False) -> ForgingKey:
        """Generate F as an honest Ed448 key (one 57-byte draw); keep the secret on request."""
        pair = EdDSAKeyPair.generate(rng)
        return cls(pair.public, pair if keep_secret else None)


    @classmethod
    def random_point(cls, rng: Rng) -> ForgingKey:
        """§Public keys…, second method: draw 57 bytes and decode them as a POINT, again
        until the result is a valid point (about half the draws decode; of those, a
        quarter lie in the prime-order subgroup).  No secret exists."""
        from .errors import OTRError

        while True:
            try:
                return cls(Point.decode(rng.random_bytes(57)))
            except OTRError:
                continue


def fingerprint(public_key: Point, forging_key: Point) -> bytes:
    """§Public keys…: ``HWC(usage_fingerprint || byte(H) || byte(F), 56)``.

    ``byte(H)`` and ``byte(F)`` are the typed wire encodings (59 bytes each),
    as libotr-ng hashes them.
    """
    return hwc(
        UsageID.FINGERPRINT,
        encode_typed_key(public_key, KeyType.ED448_PUBKEY)
        + encode_typed_key(forging_key, KeyType.ED448_FORGING_KEY),
        FINGERPRINT_BYTES,
    )


def format_fingerprint(fp: bytes) -> str:
    """112 upper-case hex digits in groups of eight, for display and comparison by people."""
    digits = fp.hex().upper()
    return " ".join(digits[i:i + 8] for i in range(0, len(digits), 8))


register(Decision(
    number=13,
    title="The bytes of the keys hashed into the fingerprint",
    question=(
        "otrv4.md §Public keys, Shared Prekeys, Forging keys and Fingerprints computes the "
        "fingerprint as HWC(usage_fingerprint || byte(H) || byte(F), 56) without saying "
        "whether byte(H) and byte(F) include the 2-byte key type."
    ),
    decision=(
        "byte(H) is the 59-byte ED448-PUBKEY encoding (type 0x0010, big-endian as decision 5, "
        "then the POINT) and byte(F) the 59-byte ED448-FORGING-KEY encoding (0x0012, then the "
        "POINT): fingerprint = SHAKE-256(\"OTRv4\" || 0x00 || ED448-PUBKEY(H) || "
        "ED448-FORGING-KEY(F), 56), shown as 112 hexadecimal digits. The peer computes it from "
        "H and F of the owner's Client Profile; the SMP secret hashes these 56 bytes "
        "(decision 18)."
    ),
    reason=(
        "These are the encodings the keys have in the Client Profile, so no other layout "
        "needs defining, and the type codes keep H and F apart in the hash. A reading that "
        "differs breaks every comparison of fingerprints between users and every SMP run; "
        "the prekey server's fingerprint (decision 104) uses the same encoding."
    ),
    others="libotr-ng (src/fingerprint.c) hashes the 59-byte typed encodings.",
    vector="fingerprint",
))
