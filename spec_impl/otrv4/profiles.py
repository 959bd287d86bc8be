"""Client Profiles and Prekey Profiles.

Implements ``otrv4.md`` §Client Profile, §Client Profile Data Type, §Creating a
Client Profile, §Establishing Versions, §Create/Verify a Client Profile
Signature, §Validating a Client Profile, and the same sections for the Prekey
Profile.

Both profiles are frozen dataclasses with ``encode``/``decode``/``read``.  A
Client Profile keeps the order in which its fields arrived
(:attr:`ClientProfile.field_order`): the signature and the DAKE transcripts
cover the exact bytes, so a received profile re-encodes to exactly what was
received.

Decisions taken here (registered with :mod:`otrv4.decisions`):

* **Ambiguity 6** — the Client Profile signature covers every byte before it:
  ``Number of Fields (INT) || each field as type (SHORT) || value``, in wire
  order (what libotr-ng signs), not the bare concatenation of values.
* **Ambiguity 12** — this implementation has no OTRv3 engine.  Our profiles
  say ``Versions = "4"`` and never carry a DSA key or a transitional signature.
  A received profile must list ``"4"`` and must not list ``"1"`` or ``"2"``;
  a ``"3"`` (and any other character) is accepted and ignored; fields 0x0006
  and 0x0007 are parsed, kept byte for byte (the Ed448 signature covers them)
  and never verified (their verification is optional in the spec and
  forbidden in the standalone mode).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property

from .clock import Clock
from .decisions import Decision, register
from .encoding import (
    Reader,
    WireType,
    encode_data,
    encode_int,
    encode_long,
    encode_short,
)
from .errors import DecodeError, ValidationError
from .instance_tag import InvalidSenderTagError, is_valid_instance_tag
from .keys import ForgingKey, KeyType, encode_typed_key, read_typed_key
from .primitives import eddsa
from .primitives.ed448 import Point
from .primitives.eddsa import EdDSAKeyPair

__all__ = [
    "CLIENT_PROFILE_FIELDS",
    "DEFAULT_EXTRA_VALIDITY",
    "DEFAULT_PROFILE_LIFETIME",
    "EDDSA_SIGNATURE_BYTES",
    "PREKEY_PROFILE_FIELDS",
    "ClientProfile",
    "DuplicateProfileFieldError",
    "EmptyProfileSignatureError",
    "ForbiddenVersionError",
    "InvalidProfileOwnerTagError",
    "MissingDsaKeyError",
    "MissingProfileFieldError",
    "MissingTransitionalSignatureError",
    "MissingVersion4Error",
    "PrekeyProfile",
    "ProfileExpiredError",
    "ProfileField",
    "ProfileOwnerTagMismatchError",
    "ProfileSignatureError",
    "TooManyProfileFieldsError",
    "UnknownProfileFieldError",
    "latest",
    "supports_version_4",
]

EDDSA_SIGNATURE_BYTES = 114
DEFAULT_PROFILE_LIFETIME = 7 * 24 * 3600
"""The spec's recommended profile expiry: one week."""
DEFAULT_EXTRA_VALIDITY = 24 * 3600
"""The spec's recommended local grace after a profile publicly expires: one day."""


# --------------------------------------------------------------------------- errors


class UnknownProfileFieldError(DecodeError):
    """A Client Profile field type the spec does not define (its length is unknowable)."""


class DuplicateProfileFieldError(DecodeError):
    """A Client Profile field that appears twice (§Client Profile Data Type)."""


class MissingProfileFieldError(DecodeError):
    """A Client Profile without one of the required fields 0x0001-0x0005."""


class TooManyProfileFieldsError(DecodeError):
    """A field count larger than the seven field types the spec defines."""


class MissingTransitionalSignatureError(DecodeError):
    """A Client Profile with an OTRv3 DSA key but no transitional signature."""


class MissingDsaKeyError(DecodeError):
    """A malformed OTRv3 DSA key field (type is not 0x0000)."""


class EmptyProfileSignatureError(ValidationError):
    """A profile signature that is all zero bytes (§Validating…, step 1: "not empty")."""


class ProfileSignatureError(ValidationError):
    """A Client or Prekey Profile whose Ed448 signature does not verify."""


class InvalidProfileOwnerTagError(ValidationError):
    """A profile owner instance tag below 0x100."""


class ProfileOwnerTagMismatchError(ValidationError):
    """A profile whose owner tag differs from the sender tag of the message carrying it."""


class ProfileExpiredError(ValidationError):
    """A profile whose expiration lies in the past (plus any local grace)."""


class MissingVersion4Error(ValidationError):
    """A Client Profile whose Versions field does not contain "4"."""


class ForbiddenVersionError(ValidationError):
    """A Client Profile advertising version 1 or 2 (invalid per §Establishing Versions)."""


# --------------------------------------------------------------------------- decisions

register(Decision(
    number=6,
    title="What the Client Profile signature covers",
    question=(
        "§Create a Client Profile Signature defines m as the concatenation of the field "
        "values; §Creating a Client Profile says the signature covers 'the entire Client "
        "Profile excluding the signature itself'."
    ),
    decision=(
        "m is every byte of the encoded profile before the signature: Number of Fields "
        "(INT), then each field as its 2-byte type followed by its value, in the order "
        "they appear on the wire (including fields 0x0006/0x0007 when present)."
    ),
    reason=(
        "Signing the exact encoding binds the field types, the count and the order, so "
        "no two different encodings share a signature; verification needs no "
        "re-serialization; it is what the only implementation does."
    ),
    others="libotr-ng signs Number of Fields || typed fields (src/client_profile.c).",
    vector="client-profile",
))

register(Decision(
    number=12,
    title="Versions: no OTRv3 engine",
    question=(
        "A compliant OTRv4 client in OTRv3-compatible mode must support version 3; what "
        "does a Versions string with '3' mean for an implementation without OTRv3?"
    ),
    decision=(
        "We implement the OTRv4-standalone and OTRv4-interactive-only modes only. Our "
        "Client Profiles carry Versions = \"4\" and never a DSA key or transitional "
        "signature. A received profile must contain '4' and must not contain '1' or "
        "'2'; '3' and other characters are ignored; DSA key and transitional signature "
        "fields are parsed, kept and covered by the Ed448 signature, never verified."
    ),
    reason=(
        "The standalone mode document restricts our own profile to \"4\" and forbids "
        "DSA verification; accepting '3' from peers keeps OTRv3-compatible OTRv4 "
        "clients able to talk to us in version 4."
    ),
    others=(
        "libotr-ng implements OTRv3 through libotr and writes \"34\" plus a DSA key when "
        "both versions are allowed."
    ),
    vector="client-profile",
))


# --------------------------------------------------------------------------- Client Profile


class ProfileField(enum.IntEnum):
    """Client Profile field types (§Client Profile Data Type)."""

    OWNER_INSTANCE_TAG = 0x0001
    PUBLIC_KEY = 0x0002
    FORGING_KEY = 0x0003
    VERSIONS = 0x0004
    EXPIRATION = 0x0005
    DSA_PUBLIC_KEY = 0x0006
    TRANSITIONAL_SIGNATURE = 0x0007


CLIENT_PROFILE_FIELDS: tuple[tuple[ProfileField, str, WireType | str], ...] = (
    (ProfileField.OWNER_INSTANCE_TAG, "Client Profile owner instance tag", WireType.INT),
    (ProfileField.PUBLIC_KEY, "Ed448 public key", WireType.ED448_PUBKEY),
    (ProfileField.FORGING_KEY, "Ed448 public forging key", WireType.ED448_FORGING_KEY),
    (ProfileField.VERSIONS, "Versions", WireType.DATA),
    (ProfileField.EXPIRATION, "Client Profile Expiration", WireType.LONG),
    (ProfileField.DSA_PUBLIC_KEY, "OTRv3 public authentication DSA key (optional)", "PUBKEY"),
    (ProfileField.TRANSITIONAL_SIGNATURE, "Transitional Signature (optional)", "CLIENT-SIG"),
)
"""(type, name, wire type) of each Client Profile field; renders the XEP's table."""

_REQUIRED = (
    ProfileField.OWNER_INSTANCE_TAG,
    ProfileField.PUBLIC_KEY,
    ProfileField.FORGING_KEY,
    ProfileField.VERSIONS,
    ProfileField.EXPIRATION,
)


def supports_version_4(versions: bytes) -> bool:
    """Whether a Versions string lists "4" (§Establishing Versions)."""
    return b"4" in versions


def _check_versions(versions: bytes) -> None:
    if b"1" in versions or b"2" in versions:
        raise ForbiddenVersionError(f"Versions {versions!r} lists version 1 or 2")
    if not supports_version_4(versions):
        raise MissingVersion4Error(f"Versions {versions!r} does not list version 4")


def _check_not_expired(expiration: int, clock: Clock, extra_validity: int, what: str) -> None:
    now = clock.now()
    if now > expiration + extra_validity:
        raise ProfileExpiredError(f"{what} expired at {expiration}, now is {now}")


def _read_dsa_key(reader: Reader) -> tuple[bytes, int]:
    """Read an OTRv3 PUBKEY; return its raw bytes and the byte length of q."""
    start = reader.offset
    if reader.read_short("DSA key type") != 0x0000:
        reader.rewind(start)
        raise MissingDsaKeyError(f"{reader.what}: OTRv3 DSA key type is not 0x0000")
    reader.read_mpi("DSA p")
    q = reader.read_mpi("DSA q")
    reader.read_mpi("DSA g")
    reader.read_mpi("DSA y")
    return reader.consumed_since(start), (q.bit_length() + 7) // 8


@dataclass(frozen=True)
class ClientProfile:
    """A Client Profile (§Client Profile Data Type).

    ``versions`` is the raw Versions string (ASCII digits), ``expiration`` is
    seconds since the epoch, ``dsa_public_key`` and ``transitional_signature``
    are the raw optional OTRv3 fields, ``signature`` the 114-byte Ed448
    signature, ``field_order`` the order of the fields on the wire.
    """

    owner_tag: int
    public_key: Point
    forging_key: Point
    versions: bytes
    expiration: int
    signature: bytes
    dsa_public_key: bytes | None = None
    transitional_signature: bytes | None = None
    field_order: tuple[ProfileField, ...] = field(default=_REQUIRED)

    def _field_value(self, f: ProfileField) -> bytes:
        if f is ProfileField.OWNER_INSTANCE_TAG:
            return encode_int(self.owner_tag)
        if f is ProfileField.PUBLIC_KEY:
            return encode_typed_key(self.public_key, KeyType.ED448_PUBKEY)
        if f is ProfileField.FORGING_KEY:
            return encode_typed_key(self.forging_key, KeyType.ED448_FORGING_KEY)
        if f is ProfileField.VERSIONS:
            return encode_data(self.versions)
        if f is ProfileField.EXPIRATION:
            return encode_long(self.expiration)
        if f is ProfileField.DSA_PUBLIC_KEY:
            return self.dsa_public_key or b""
        return self.transitional_signature or b""

    def signed_part(self) -> bytes:
        """The bytes the Ed448 signature covers (decision 6): count and typed fields."""
        return self._signed_part

    @cached_property
    def _signed_part(self) -> bytes:  # a profile is immutable: encoded once (a DAKE asks 13 times)
        return encode_int(len(self.field_order)) + b"".join(
            encode_short(f) + self._field_value(f) for f in self.field_order
        )

    def encode(self) -> bytes:
        """The ``CLIENT-PROF`` wire encoding."""
        return self._signed_part + self.signature

    @classmethod
    def read(cls, reader: Reader) -> ClientProfile:
        """Read a ``CLIENT-PROF`` from ``reader`` (the reader does not move on failure).

        Raises :class:`~otrv4.encoding.TruncatedError`,
        :class:`TooManyProfileFieldsError`, :class:`UnknownProfileFieldError`,
        :class:`DuplicateProfileFieldError`, :class:`MissingProfileFieldError`,
        :class:`MissingDsaKeyError`, :class:`MissingTransitionalSignatureError`,
        :class:`~otrv4.primitives.keytypes.PublicKeyTypeError` and the point-decoding errors of
        :mod:`otrv4.primitives.ed448` (both keys are validated on decoding).
        """
        start = reader.offset
        try:
            return cls._read(reader)
        except Exception:
            reader.rewind(start)
            raise

    @classmethod
    def _read(cls, reader: Reader) -> ClientProfile:
        count = reader.read_int("Number of Fields")
        if count > len(ProfileField):
            raise TooManyProfileFieldsError(f"{reader.what}: {count} Client Profile fields")
        order: list[ProfileField] = []
        owner: int | None = None
        pub: Point | None = None
        forging: Point | None = None
        versions: bytes | None = None
        expiration: int | None = None
        dsa: bytes | None = None
        trans: bytes | None = None
        q_len = 20
        for _ in range(count):
            raw_type = reader.read_short("Client Profile field type")
            try:
                ftype = ProfileField(raw_type)
            except ValueError:
                raise UnknownProfileFieldError(
                    f"{reader.what}: unknown Client Profile field type {raw_type:#06x}"
                ) from None
            if ftype in order:
                raise DuplicateProfileFieldError(f"{reader.what}: field {ftype.name} twice")
            order.append(ftype)
            if ftype is ProfileField.OWNER_INSTANCE_TAG:
                owner = reader.read_int("owner instance tag")
            elif ftype is ProfileField.PUBLIC_KEY:
                pub = read_typed_key(reader, KeyType.ED448_PUBKEY, "Ed448 public key")
            elif ftype is ProfileField.FORGING_KEY:
                forging = read_typed_key(reader, KeyType.ED448_FORGING_KEY, "forging key")
            elif ftype is ProfileField.VERSIONS:
                versions = reader.read_data("Versions")
            elif ftype is ProfileField.EXPIRATION:
                expiration = reader.read_long("Client Profile Expiration")
            elif ftype is ProfileField.DSA_PUBLIC_KEY:
                dsa, q_len = _read_dsa_key(reader)
            else:
                trans = reader.read(2 * q_len, "Transitional Signature")
        if owner is None or pub is None or forging is None or versions is None or (
            expiration is None
        ):
            missing = [f.name for f in _REQUIRED if f not in order]
            raise MissingProfileFieldError(f"{reader.what}: Client Profile lacks {missing}")
        if dsa is not None and trans is None:
            raise MissingTransitionalSignatureError(
                f"{reader.what}: a DSA key requires a Transitional Signature"
            )
        signature = reader.read(EDDSA_SIGNATURE_BYTES, "Client Profile Signature")
        return cls(
            owner_tag=owner,
            public_key=pub,
            forging_key=forging,
            versions=versions,
            expiration=expiration,
            signature=signature,
            dsa_public_key=dsa,
            transitional_signature=trans,
            field_order=tuple(order),
        )

    @classmethod
    def decode(cls, data: bytes) -> ClientProfile:
        """Decode exactly one ``CLIENT-PROF``; raises what :meth:`read` raises and
        :class:`~otrv4.encoding.TrailingDataError`."""
        reader = Reader(data, "Client Profile")
        profile = cls.read(reader)
        reader.finish()
        return profile

    @classmethod
    def create(
        cls,
        keypair: EdDSAKeyPair,
        forging_key: ForgingKey | Point,
        owner_tag: int,
        expiration: int,
        versions: bytes = b"4",
    ) -> ClientProfile:
        """§Creating a Client Profile (version 4 only: no DSA key, no transitional signature).

        Signs with ``keypair.sym_key`` (RFC 8032, empty context).  Raises
        :class:`InvalidProfileOwnerTagError`, :class:`ForbiddenVersionError`,
        :class:`MissingVersion4Error`.
        """
        if not is_valid_instance_tag(owner_tag):
            raise InvalidProfileOwnerTagError(f"owner tag {owner_tag:#x} is below 0x100")
        _check_versions(versions)
        forging = forging_key.public if isinstance(forging_key, ForgingKey) else forging_key
        unsigned = cls(owner_tag, keypair.public, forging, bytes(versions), expiration, b"")
        return replace(unsigned, signature=keypair.sign(unsigned.signed_part()))

    def verify_signature(self) -> None:
        """§Verify a Client Profile Signature, with the profile's own key H.

        Raises :class:`EmptyProfileSignatureError`, :class:`ProfileSignatureError`.
        """
        if not any(self.signature):
            raise EmptyProfileSignatureError("Client Profile signature is empty")
        try:
            eddsa.verify(self.public_key, self.signed_part(), self.signature)
        except eddsa.InvalidSignatureError:
            raise ProfileSignatureError("Client Profile signature does not verify") from None

    def validate(self, sender_tag: int, clock: Clock, *, extra_validity: int = 0) -> None:
        """§Validating a Client Profile, in the spec's order.

        1-2. the signature is present and valid (:class:`EmptyProfileSignatureError`,
        :class:`ProfileSignatureError`); 3. the owner tag equals ``sender_tag``, the
        sender instance tag of the carrying message
        (:class:`ProfileOwnerTagMismatchError`); 4. not expired at ``clock.now()``
        (``extra_validity`` seconds of local grace; :class:`ProfileExpiredError`);
        5. Versions lists "4" and neither "1" nor "2" (:class:`MissingVersion4Error`,
        :class:`ForbiddenVersionError`); 6-7. H and F are valid points (already
        enforced by decoding); 8. the optional transitional signature is not
        verified (decision 12).
        """
        self.verify_signature()
        if self.owner_tag != sender_tag:
            raise ProfileOwnerTagMismatchError(
                f"profile owner {self.owner_tag:#010x} is not the sender {sender_tag:#010x}"
            )
        if not is_valid_instance_tag(self.owner_tag):
            raise InvalidSenderTagError(f"owner tag {self.owner_tag:#x} is below 0x100")
        _check_not_expired(self.expiration, clock, extra_validity, "Client Profile")
        _check_versions(self.versions)


# --------------------------------------------------------------------------- Prekey Profile

PREKEY_PROFILE_FIELDS: tuple[tuple[str, str, WireType], ...] = (
    ("owner_tag", "Prekey Profile owner's instance tag", WireType.INT),
    ("expiration", "Prekey Profile Expiration", WireType.LONG),
    ("shared_prekey", "Public Shared Prekey", WireType.ED448_SHARED_PREKEY),
    ("signature", "Prekey Profile Signature", WireType.EDDSA_SIG),
)
"""(attribute, name, wire type) of each Prekey Profile field; renders the XEP's table."""


@dataclass(frozen=True)
class PrekeyProfile:
    """A Prekey Profile (§Prekey Profile Data Type): 185 bytes on the wire."""

    owner_tag: int
    expiration: int
    shared_prekey: Point
    signature: bytes

    def signed_part(self) -> bytes:
        """``owner tag || expiration || ED448-SHARED-PREKEY`` (§Create a Prekey Profile
        Signature)."""
        return self._signed_part

    @cached_property
    def _signed_part(self) -> bytes:  # a profile is immutable: encoded once
        return (
            encode_int(self.owner_tag) + encode_long(self.expiration)
            + encode_typed_key(self.shared_prekey, KeyType.ED448_SHARED_PREKEY)
        )

    def encode(self) -> bytes:
        """The ``PREKEY-PROF`` wire encoding."""
        return self._signed_part + self.signature

    @classmethod
    def read(cls, reader: Reader) -> PrekeyProfile:
        """Read a ``PREKEY-PROF``.  Raises :class:`~otrv4.encoding.TruncatedError`,
        :class:`~otrv4.primitives.keytypes.PublicKeyTypeError` and the point-decoding errors."""
        start = reader.offset
        try:
            owner = reader.read_int("Prekey Profile owner instance tag")
            expiration = reader.read_long("Prekey Profile Expiration")
            d = read_typed_key(reader, KeyType.ED448_SHARED_PREKEY, "Public Shared Prekey")
            sig = reader.read(EDDSA_SIGNATURE_BYTES, "Prekey Profile Signature")
        except Exception:
            reader.rewind(start)
            raise
        return cls(owner, expiration, d, sig)

    @classmethod
    def decode(cls, data: bytes) -> PrekeyProfile:
        """Decode exactly one ``PREKEY-PROF``; also raises
        :class:`~otrv4.encoding.TrailingDataError`."""
        reader = Reader(data, "Prekey Profile")
        profile = cls.read(reader)
        reader.finish()
        return profile

    @classmethod
    def create(
        cls,
        keypair: EdDSAKeyPair,
        shared_prekey: EdDSAKeyPair | Point,
        owner_tag: int,
        expiration: int,
    ) -> PrekeyProfile:
        """§Creating a Prekey Profile: signed with the long-term ``sym_h``.

        Raises :class:`InvalidProfileOwnerTagError`.
        """
        if not is_valid_instance_tag(owner_tag):
            raise InvalidProfileOwnerTagError(f"owner tag {owner_tag:#x} is below 0x100")
        d = shared_prekey.public if isinstance(shared_prekey, EdDSAKeyPair) else shared_prekey
        unsigned = cls(owner_tag, expiration, d, b"")
        return cls(owner_tag, expiration, d, keypair.sign(unsigned.signed_part()))

    def validate(
        self, public_key: Point, sender_tag: int, clock: Clock, *, extra_validity: int = 0
    ) -> None:
        """§Validating a Prekey Profile, in the spec's order.

        1. the signature verifies with ``public_key`` (the H of the Client Profile
        that accompanies it; :class:`EmptyProfileSignatureError`,
        :class:`ProfileSignatureError`); 2/4. the owner tag equals ``sender_tag``
        (:class:`ProfileOwnerTagMismatchError`); 3. not expired
        (:class:`ProfileExpiredError`); 5. D is a valid point (enforced by decoding).
        """
        if not any(self.signature):
            raise EmptyProfileSignatureError("Prekey Profile signature is empty")
        try:
            eddsa.verify(public_key, self.signed_part(), self.signature)
        except eddsa.InvalidSignatureError:
            raise ProfileSignatureError("Prekey Profile signature does not verify") from None
        if self.owner_tag != sender_tag:
            raise ProfileOwnerTagMismatchError(
                f"prekey profile owner {self.owner_tag:#010x} is not {sender_tag:#010x}"
            )
        _check_not_expired(self.expiration, clock, extra_validity, "Prekey Profile")


def latest(profiles: Iterable[ClientProfile]) -> ClientProfile | None:
    """The profile that expires last, or ``None``; for picking among local profiles."""
    best: ClientProfile | None = None
    for p in profiles:
        if best is None or p.expiration > best.expiration:
            best = p
    return best
