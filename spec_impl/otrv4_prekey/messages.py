"""Every message of the OTRv4 prekey-server protocol, declared once.

Implements the encodings of otrv4-prekey-server.md §DAKE-1 Message, §DAKE-2
Message, §DAKE-3 Message, §Prekey Publication Message, §Storage Information
Request Message, §Storage Status Message, §Success Message, §Failure Message,
§Prekey Ensemble Query Retrieval Message, §Prekey Ensemble Retrieval Message,
§No Prekey Ensembles in Storage Message, §Prekey Server Composite Identity and
§Encoded Messages (``base64(message) || "."``, without the ``?OTR:`` prefix).

Each message is a frozen dataclass with ``encode()``, ``read(reader)`` and
``decode(data)``; :func:`decode_message` dispatches on the type byte.  The
class-level ``FIELDS`` table (spec name, wire type, meaning), after the
protocol version and the type, renders the XEP's tables.

Decoding is parsing plus every check that needs no context: version and type
bytes, lengths, trailing bytes, the ``K``/``J`` flags, ``L > 0``, the UTF-8 of
identities, and every embedded OTRv4 value as :mod:`otrv4` decodes it (points
fully validated, DH values checked to be in the group, profiles structurally
parsed).  Checks that need context (instance tags, signatures, expiry, MACs,
proofs) belong to :mod:`otrv4_prekey.dake`, :mod:`otrv4_prekey.publication`,
:mod:`otrv4_prekey.retrieval` and :mod:`otrv4_prekey.server`.

Version rule: the specification lets a receiver accept "0x0004 or a higher
version"; a higher version's layout is unknown to this implementation, so it
accepts 0x0004 only (:class:`~otrv4.encoding.UnsupportedVersionError`).
"""

from __future__ import annotations

import base64
import binascii
import enum
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from otrv4.encoding import (
    MAC_BYTES,
    PROTOCOL_VERSION,
    Reader,
    base64_prefix,
    encode_byte,
    encode_data,
    encode_int,
    encode_short,
    read_version_and_type,
)
from otrv4.errors import DecodeError
from otrv4.keys import KeyType, encode_typed_key, read_typed_key
from otrv4.messages import PrekeyMessage
from otrv4.prekeys import PrekeyEnsemble
from otrv4.primitives.ed448 import Point
from otrv4.primitives.ring_signature import RING_SIGNATURE_BYTES, RingSignature
from otrv4.profiles import ClientProfile, PrekeyProfile

from .proofs import DhProof, EcdhProof

__all__ = [
    "MAX_PREKEY_MESSAGES_PER_PUBLICATION",
    "NO_PREKEY_MESSAGES_TEXT",
    "CompositeIdentity",
    "Dake1",
    "Dake2",
    "Dake3",
    "EmptyRetrievalError",
    "EnsembleQuery",
    "EnsembleRetrieval",
    "Failure",
    "IdentityEncodingError",
    "InvalidFlagError",
    "InvalidPrekeyServerBase64Error",
    "NoPrekeyEnsembles",
    "NotAPrekeyServerEncodingError",
    "PrekeyPublication",
    "PrekeyServerMessage",
    "PrekeyServerMessageType",
    "ProofsMismatchError",
    "StorageInformationRequest",
    "StorageStatus",
    "Success",
    "UnknownPrekeyServerMessageTypeError",
    "WrongPrekeyServerMessageTypeError",
    "decode_message",
    "decode_text",
    "encode_text",
    "peek_type",
]

#: The human-readable part of a No Prekey Ensembles in Storage message (§No Prekey Ensembles…).
NO_PREKEY_MESSAGES_TEXT = "No Prekey Messages available for this identity"
#: ``N`` is a BYTE (§Prekey Publication Message: "at most 255").
MAX_PREKEY_MESSAGES_PER_PUBLICATION = 255
#: The suffix of an encoded prekey-server message (§Encoded Messages).
ENCODED_SUFFIX = "."


# --------------------------------------------------------------------------- errors


class UnknownPrekeyServerMessageTypeError(DecodeError):
    """A type byte that the prekey-server protocol does not define."""


class WrongPrekeyServerMessageTypeError(DecodeError):
    """A prekey-server message of a known type where another type was expected."""


class InvalidFlagError(DecodeError):
    """A ``K`` or ``J`` presence flag of a Prekey Publication that is neither 0 nor 1."""


class EmptyRetrievalError(DecodeError):
    """A Prekey Ensemble Retrieval message with ``L = 0`` (it "must be greater than 0")."""


class IdentityEncodingError(DecodeError):
    """An identity or text ``DATA`` field that is not UTF-8 (§Data Types: strings are UTF-8)."""


class ProofsMismatchError(ValueError):
    """A publication built with proofs that do not match its contents (a programming error)."""


class NotAPrekeyServerEncodingError(DecodeError):
    """A text that does not end with ``.`` or is empty (§Encoded Messages)."""


class InvalidPrekeyServerBase64Error(DecodeError):
    """The text before the ``.`` is not canonical, padded base64."""


# --------------------------------------------------------------------------- types


class PrekeyServerMessageType(enum.IntEnum):
    """The type bytes of the prekey-server messages; renders the XEP's type table."""

    FAILURE = 0x05
    SUCCESS = 0x06
    PREKEY_PUBLICATION = 0x08
    STORAGE_INFORMATION_REQUEST = 0x09
    STORAGE_STATUS = 0x0B
    NO_PREKEY_ENSEMBLES = 0x0E
    ENSEMBLE_QUERY = 0x10
    ENSEMBLE_RETRIEVAL = 0x13
    DAKE_1 = 0x35
    DAKE_2 = 0x36
    DAKE_3 = 0x37

    @property
    def spec_name(self) -> str:
        """The message's name as otrv4-prekey-server.md writes it."""
        return _TYPE_NAMES[self]

    @property
    def base64_prefix(self) -> str:
        """The first four characters of the encoded message (e.g. ``AAQ1`` for DAKE-1)."""
        return base64_prefix(self)


_TYPE_NAMES = {
    PrekeyServerMessageType.FAILURE: "Failure",
    PrekeyServerMessageType.SUCCESS: "Success",
    PrekeyServerMessageType.PREKEY_PUBLICATION: "Prekey Publication",
    PrekeyServerMessageType.STORAGE_INFORMATION_REQUEST: "Storage Information Request",
    PrekeyServerMessageType.STORAGE_STATUS: "Storage Status",
    PrekeyServerMessageType.NO_PREKEY_ENSEMBLES: "No Prekey Ensembles in Storage",
    PrekeyServerMessageType.ENSEMBLE_QUERY: "Prekey Ensemble Query Retrieval",
    PrekeyServerMessageType.ENSEMBLE_RETRIEVAL: "Prekey Ensemble Retrieval",
    PrekeyServerMessageType.DAKE_1: "DAKE-1",
    PrekeyServerMessageType.DAKE_2: "DAKE-2",
    PrekeyServerMessageType.DAKE_3: "DAKE-3",
}


def _read_type(reader: Reader) -> PrekeyServerMessageType:
    return read_version_and_type(reader, PrekeyServerMessageType,
                                 UnknownPrekeyServerMessageTypeError)


def peek_type(data: bytes) -> PrekeyServerMessageType:
    """The type of a binary prekey-server message, from its first three bytes.

    Raises :class:`~otrv4.encoding.TruncatedError`,
    :class:`~otrv4.encoding.UnsupportedVersionError`,
    :class:`UnknownPrekeyServerMessageTypeError`.
    """
    return _read_type(Reader(data[:3], "prekey-server message"))


def _read_text(reader: Reader, field: str) -> str:
    start = reader.offset
    raw = reader.read_data(field)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        reader.rewind(start)
        raise IdentityEncodingError(f"{reader.what}: {field} is not UTF-8") from None


def _check_mac(mac: bytes) -> bytes:
    if len(mac) != MAC_BYTES:
        raise ValueError(f"a MAC is {MAC_BYTES} bytes, not {len(mac)}")
    return mac


_M = TypeVar("_M", bound="PrekeyServerMessage")


class PrekeyServerMessage:
    """The shared codec: version (SHORT 0x0004), type (BYTE), then the body."""

    MESSAGE_TYPE: ClassVar[PrekeyServerMessageType]
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]]

    def _body(self) -> bytes:
        raise NotImplementedError

    @classmethod
    def _read_body(cls: type[_M], reader: Reader) -> _M:
        raise NotImplementedError

    def encode(self) -> bytes:
        """The binary message."""
        return encode_short(PROTOCOL_VERSION) + encode_byte(self.MESSAGE_TYPE) + self._body()

    def to_text(self) -> str:
        """§Encoded Messages: ``base64(encode()) || "."``."""
        return encode_text(self.encode())

    @classmethod
    def read(cls: type[_M], reader: Reader) -> _M:
        """Read one message of this type (the reader does not move on failure).

        Raises :class:`~otrv4.encoding.TruncatedError`,
        :class:`~otrv4.encoding.UnsupportedVersionError`,
        :class:`UnknownPrekeyServerMessageTypeError`,
        :class:`WrongPrekeyServerMessageTypeError`, and the errors of the
        fields the message carries (see each class).
        """
        start = reader.offset
        try:
            mtype = _read_type(reader)
            if mtype is not cls.MESSAGE_TYPE:
                raise WrongPrekeyServerMessageTypeError(
                    f"{reader.what}: expected {cls.MESSAGE_TYPE.spec_name} "
                    f"({int(cls.MESSAGE_TYPE):#04x}), got {mtype.spec_name} ({int(mtype):#04x})"
                )
            return cls._read_body(reader)
        except Exception:
            reader.rewind(start)
            raise

    @classmethod
    def decode(cls: type[_M], data: bytes) -> _M:
        """Decode exactly one message of this type; also raises
        :class:`~otrv4.encoding.TrailingDataError`."""
        reader = Reader(data, cls.MESSAGE_TYPE.spec_name)
        msg = cls.read(reader)
        reader.finish()
        return msg


# --------------------------------------------------------------------------- composite identity


@dataclass(frozen=True)
class CompositeIdentity:
    """§Prekey Server Composite Identity: ``DATA(identity) || ED448-PUBKEY``.

    Over XMPP the identity is the service's bare JID (``prekeys.capulet.lit``).
    """

    identity: str
    public_key: Point

    def encode(self) -> bytes:
        """``PREKEY-SERVER-COMP-ID``."""
        return encode_data(self.identity.encode("utf-8")) + encode_typed_key(
            self.public_key, KeyType.ED448_PUBKEY
        )

    @classmethod
    def read(cls, reader: Reader) -> CompositeIdentity:
        """Raises :class:`~otrv4.encoding.TruncatedError`, :class:`IdentityEncodingError`,
        :class:`~otrv4.primitives.keytypes.PublicKeyTypeError` and the point errors."""
        start = reader.offset
        try:
            identity = _read_text(reader, "Prekey Server Identity")
            key = read_typed_key(reader, KeyType.ED448_PUBKEY, "Prekey Server public key")
        except Exception:
            reader.rewind(start)
            raise
        return cls(identity, key)


# --------------------------------------------------------------------------- DAKE


@dataclass(frozen=True)
class Dake1(PrekeyServerMessage):
    """§DAKE-1 Message (0x35): the publisher's Client Profile and ephemeral ``I``."""

    MESSAGE_TYPE: ClassVar[PrekeyServerMessageType] = PrekeyServerMessageType.DAKE_1
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("Sender instance tag", "INT", "the publisher's instance tag"),
        ("Sender Client Profile", "CLIENT-PROF", "the publisher's Client Profile"),
        ("I", "POINT", "the publisher's ephemeral ECDH public key"),
    )

    sender_tag: int
    client_profile: ClientProfile
    i: Point

    def _body(self) -> bytes:
        return encode_int(self.sender_tag) + self.client_profile.encode() + self.i.encode()

    @classmethod
    def _read_body(cls, reader: Reader) -> Dake1:
        tag = reader.read_int("sender instance tag")
        profile = ClientProfile.read(reader)
        i = Point.decode(reader.read_point("I"))
        return cls(tag, profile, i)


@dataclass(frozen=True)
class Dake2(PrekeyServerMessage):
    """§DAKE-2 Message (0x36): the server's composite identity, ``S`` and ring signature."""

    MESSAGE_TYPE: ClassVar[PrekeyServerMessageType] = PrekeyServerMessageType.DAKE_2
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("Receiver instance tag", "INT", "the publisher's instance tag, from DAKE-1"),
        ("Prekey Server Composite Identity", "PREKEY-SERVER-COMP-ID",
         "the service's identity (bare JID) and long-term public key"),
        ("S", "POINT", "the server's ephemeral ECDH public key"),
        ("sigma", "RING-SIG", "RSig(H_s, sk_s, {H_a, H_s, I}, t)"),
    )

    receiver_tag: int
    composite_identity: CompositeIdentity
    s: Point
    sigma: RingSignature

    def _body(self) -> bytes:
        return (encode_int(self.receiver_tag) + self.composite_identity.encode()
                + self.s.encode() + self.sigma.encode())

    @classmethod
    def _read_body(cls, reader: Reader) -> Dake2:
        tag = reader.read_int("receiver instance tag")
        composite = CompositeIdentity.read(reader)
        s = Point.decode(reader.read_point("S"))
        sigma = RingSignature.decode(reader.read(RING_SIGNATURE_BYTES, "sigma"))
        return cls(tag, composite, s, sigma)


@dataclass(frozen=True)
class Dake3(PrekeyServerMessage):
    """§DAKE-3 Message (0x37): the publisher's ring signature and the attached message.

    ``message`` holds the encoded Prekey Publication or Storage Information
    Request as bytes: the server verifies ``sigma`` before it looks inside
    (see :func:`decode_inner`).
    """

    MESSAGE_TYPE: ClassVar[PrekeyServerMessageType] = PrekeyServerMessageType.DAKE_3
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("Sender instance tag", "INT", "the publisher's instance tag"),
        ("sigma", "RING-SIG", "RSig(H_a, sk_a, {H_a, H_s, S}, t)"),
        ("Message", "DATA", "a Prekey Publication or a Storage Information Request"),
    )

    sender_tag: int
    sigma: RingSignature
    message: bytes

    def _body(self) -> bytes:
        return encode_int(self.sender_tag) + self.sigma.encode() + encode_data(self.message)

    @classmethod
    def _read_body(cls, reader: Reader) -> Dake3:
        tag = reader.read_int("sender instance tag")
        sigma = RingSignature.decode(reader.read(RING_SIGNATURE_BYTES, "sigma"))
        message = reader.read_data("Message")
        return cls(tag, sigma, message)

    def decode_inner(self) -> PrekeyPublication | StorageInformationRequest:
        """Decode the attached message (§DAKE-3: type 0x08 or 0x09 only).

        Raises :class:`WrongPrekeyServerMessageTypeError` for any other type and
        the decoding errors of the two classes.
        """
        mtype = peek_type(self.message)
        if mtype is PrekeyServerMessageType.PREKEY_PUBLICATION:
            return PrekeyPublication.decode(self.message)
        if mtype is PrekeyServerMessageType.STORAGE_INFORMATION_REQUEST:
            return StorageInformationRequest.decode(self.message)
        raise WrongPrekeyServerMessageTypeError(
            f"a DAKE-3 carries a Prekey Publication or a Storage Information Request, "
            f"not a {mtype.spec_name}"
        )


# --------------------------------------------------------------------------- inside DAKE-3


@dataclass(frozen=True)
class PrekeyPublication(PrekeyServerMessage):
    """§Prekey Publication Message (0x08), attached to a DAKE-3.

    ``N`` Prekey messages, an optional Client Profile (flag ``K``), an
    optional Prekey Profile (flag ``J``), the proofs (Prekey messages' ECDH
    and DH proofs when ``N > 0``, the Prekey Profile's ECDH proof when
    ``J = 1``) and the Prekey MAC.
    """

    MESSAGE_TYPE: ClassVar[PrekeyServerMessageType] = PrekeyServerMessageType.PREKEY_PUBLICATION
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("N", "BYTE", "the number of Prekey messages (at most 255)"),
        ("Prekey Messages", "N x Prekey message", "the one-time prekeys, as in OTRv4"),
        ("K", "BYTE", "1 if a Client Profile follows, else 0"),
        ("Client Profile", "CLIENT-PROF", "present only if K = 1"),
        ("J", "BYTE", "1 if a Prekey Profile follows, else 0"),
        ("Prekey Profile", "PREKEY-PROF", "present only if J = 1"),
        ("Proofs", "PROOF-ECDH, PROOF-DH, PROOF-ECDH",
         "Y_i proof and B_i proof if N > 0; D proof if J = 1"),
        ("Prekey MAC", "MAC", "the MAC over the whole publication (decision 103)"),
    )

    prekey_messages: tuple[PrekeyMessage, ...]
    client_profile: ClientProfile | None
    prekey_profile: PrekeyProfile | None
    ecdh_proof: EcdhProof | None
    dh_proof: DhProof | None
    profile_proof: EcdhProof | None
    mac: bytes

    def __post_init__(self) -> None:
        if len(self.prekey_messages) > MAX_PREKEY_MESSAGES_PER_PUBLICATION:
            raise ProofsMismatchError("at most 255 Prekey messages per publication")
        has_n = bool(self.prekey_messages)
        if (self.ecdh_proof is not None) != has_n or (self.dh_proof is not None) != has_n:
            raise ProofsMismatchError("the Prekey message proofs are present iff N > 0")
        if (self.profile_proof is not None) != (self.prekey_profile is not None):
            raise ProofsMismatchError("the Prekey Profile proof is present iff J = 1")

    @property
    def k(self) -> int:
        """The flag ``K``."""
        return 0 if self.client_profile is None else 1

    @property
    def j(self) -> int:
        """The flag ``J``."""
        return 0 if self.prekey_profile is None else 1

    def prekey_messages_bytes(self) -> bytes:
        """The ``N`` Prekey messages as they appear on the wire."""
        return b"".join(pm.encode() for pm in self.prekey_messages)

    def proofs_bytes(self) -> bytes:
        """The proofs field as it appears on the wire (empty when there are none)."""
        parts = [p.encode() for p in (self.ecdh_proof, self.dh_proof, self.profile_proof)
                 if p is not None]
        return b"".join(parts)

    def _body(self) -> bytes:
        out = [encode_byte(len(self.prekey_messages)), self.prekey_messages_bytes(),
               encode_byte(self.k)]
        if self.client_profile is not None:
            out.append(self.client_profile.encode())
        out.append(encode_byte(self.j))
        if self.prekey_profile is not None:
            out.append(self.prekey_profile.encode())
        out.append(self.proofs_bytes())
        out.append(_check_mac(self.mac))
        return b"".join(out)

    @classmethod
    def _read_body(cls, reader: Reader) -> PrekeyPublication:
        n = reader.read_byte("N")
        messages = tuple(PrekeyMessage.read(reader) for _ in range(n))
        k = reader.read_byte("K")
        if k not in (0, 1):
            raise InvalidFlagError(f"{reader.what}: K is {k}, not 0 or 1")
        cp = ClientProfile.read(reader) if k else None
        j = reader.read_byte("J")
        if j not in (0, 1):
            raise InvalidFlagError(f"{reader.what}: J is {j}, not 0 or 1")
        pp = PrekeyProfile.read(reader) if j else None
        ecdh_proof = EcdhProof.read(reader, "Prekey messages ECDH proof") if n else None
        dh_proof = DhProof.read(reader, "Prekey messages DH proof") if n else None
        profile_proof = EcdhProof.read(reader, "Prekey Profile proof") if j else None
        mac = reader.read_mac("Prekey MAC")
        return cls(messages, cp, pp, ecdh_proof, dh_proof, profile_proof, mac)


@dataclass(frozen=True)
class StorageInformationRequest(PrekeyServerMessage):
    """§Storage Information Request Message (0x09), attached to a DAKE-3."""

    MESSAGE_TYPE: ClassVar[PrekeyServerMessageType] = (
        PrekeyServerMessageType.STORAGE_INFORMATION_REQUEST
    )
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("Storage Information MAC", "MAC", "KDF(usage_storage_info_MAC, prekey_mac_k || type, 64)"),
    )

    mac: bytes

    def _body(self) -> bytes:
        return _check_mac(self.mac)

    @classmethod
    def _read_body(cls, reader: Reader) -> StorageInformationRequest:
        return cls(reader.read_mac("Storage Information MAC"))


# --------------------------------------------------------------------------- server replies


@dataclass(frozen=True)
class StorageStatus(PrekeyServerMessage):
    """§Storage Status Message (0x0B): how many Prekey messages the server holds."""

    MESSAGE_TYPE: ClassVar[PrekeyServerMessageType] = PrekeyServerMessageType.STORAGE_STATUS
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("Receiver instance tag", "INT", "the publisher's instance tag"),
        ("Stored prekey messages number", "INT",
         "Prekey messages stored for this identity and instance tag"),
        ("Status MAC", "MAC", "KDF(usage_status_MAC, prekey_mac_k || type || tag || number, 64)"),
    )

    receiver_tag: int
    stored: int
    mac: bytes

    def _body(self) -> bytes:
        return encode_int(self.receiver_tag) + encode_int(self.stored) + _check_mac(self.mac)

    @classmethod
    def _read_body(cls, reader: Reader) -> StorageStatus:
        tag = reader.read_int("receiver instance tag")
        stored = reader.read_int("stored prekey messages number")
        return cls(tag, stored, reader.read_mac("Status MAC"))


@dataclass(frozen=True)
class Success(PrekeyServerMessage):
    """§Success Message (0x06): the publication was stored."""

    MESSAGE_TYPE: ClassVar[PrekeyServerMessageType] = PrekeyServerMessageType.SUCCESS
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("Receiver instance tag", "INT", "the publisher's instance tag"),
        ("Success MAC", "MAC", "KDF(usage_success_MAC, prekey_mac_k || type || tag, 64)"),
    )

    receiver_tag: int
    mac: bytes

    def _body(self) -> bytes:
        return encode_int(self.receiver_tag) + _check_mac(self.mac)

    @classmethod
    def _read_body(cls, reader: Reader) -> Success:
        tag = reader.read_int("receiver instance tag")
        return cls(tag, reader.read_mac("Success MAC"))


@dataclass(frozen=True)
class Failure(PrekeyServerMessage):
    """§Failure Message (0x05): the publication or request was refused."""

    MESSAGE_TYPE: ClassVar[PrekeyServerMessageType] = PrekeyServerMessageType.FAILURE
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("Receiver instance tag", "INT", "the publisher's instance tag"),
        ("Failure MAC", "MAC", "KDF(usage_failure_MAC, prekey_mac_k || type || tag, 64)"),
    )

    receiver_tag: int
    mac: bytes

    def _body(self) -> bytes:
        return encode_int(self.receiver_tag) + _check_mac(self.mac)

    @classmethod
    def _read_body(cls, reader: Reader) -> Failure:
        tag = reader.read_int("receiver instance tag")
        return cls(tag, reader.read_mac("Failure MAC"))


# --------------------------------------------------------------------------- retrieval


@dataclass(frozen=True)
class EnsembleQuery(PrekeyServerMessage):
    """§Prekey Ensemble Query Retrieval Message (0x10); not authenticated."""

    MESSAGE_TYPE: ClassVar[PrekeyServerMessageType] = PrekeyServerMessageType.ENSEMBLE_QUERY
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("Sender instance tag", "INT", "the retriever's instance tag"),
        ("Participant Identity", "DATA", "the bare JID whose ensembles are wanted (UTF-8)"),
        ("Versions", "DATA", "the OTR versions wanted, e.g. \"4\""),
    )

    sender_tag: int
    identity: str
    versions: bytes = b"4"

    def _body(self) -> bytes:
        return (encode_int(self.sender_tag) + encode_data(self.identity.encode("utf-8"))
                + encode_data(self.versions))

    @classmethod
    def _read_body(cls, reader: Reader) -> EnsembleQuery:
        tag = reader.read_int("sender instance tag")
        identity = _read_text(reader, "Participant Identity")
        return cls(tag, identity, reader.read_data("Versions"))


@dataclass(frozen=True)
class EnsembleRetrieval(PrekeyServerMessage):
    """§Prekey Ensemble Retrieval Message (0x13): ``L > 0`` ensembles."""

    MESSAGE_TYPE: ClassVar[PrekeyServerMessageType] = PrekeyServerMessageType.ENSEMBLE_RETRIEVAL
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("Receiver instance tag", "INT", "the retriever's instance tag"),
        ("Participant Identity", "DATA", "the bare JID the ensembles belong to"),
        ("L", "INT", "the number of ensembles, at least 1"),
        ("Ensembles", "L x (CLIENT-PROF || PREKEY-PROF || Prekey message)",
         "one ensemble per instance tag of the participant"),
    )

    receiver_tag: int
    identity: str
    ensembles: tuple[PrekeyEnsemble, ...]

    def _body(self) -> bytes:
        if not self.ensembles:
            raise ValueError("a Prekey Ensemble Retrieval message holds at least one ensemble")
        return (encode_int(self.receiver_tag) + encode_data(self.identity.encode("utf-8"))
                + encode_int(len(self.ensembles))
                + b"".join(e.encode() for e in self.ensembles))

    @classmethod
    def _read_body(cls, reader: Reader) -> EnsembleRetrieval:
        tag = reader.read_int("receiver instance tag")
        identity = _read_text(reader, "Participant Identity")
        count = reader.read_int("L")
        if count == 0:
            raise EmptyRetrievalError(f"{reader.what}: L is 0")
        ensembles = []
        for _ in range(count):
            cp = ClientProfile.read(reader)
            pp = PrekeyProfile.read(reader)
            pm = PrekeyMessage.read(reader)
            ensembles.append(PrekeyEnsemble(cp, pp, pm))
        return cls(tag, identity, tuple(ensembles))


@dataclass(frozen=True)
class NoPrekeyEnsembles(PrekeyServerMessage):
    """§No Prekey Ensembles in Storage Message (0x0E)."""

    MESSAGE_TYPE: ClassVar[PrekeyServerMessageType] = PrekeyServerMessageType.NO_PREKEY_ENSEMBLES
    FIELDS: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("Receiver instance tag", "INT", "the retriever's instance tag"),
        ("Participant Identity", "DATA", "the bare JID that was asked for"),
        ("No Prekey-Messages message", "DATA", f"the text \"{NO_PREKEY_MESSAGES_TEXT}\""),
    )

    receiver_tag: int
    identity: str
    text: str = NO_PREKEY_MESSAGES_TEXT

    def _body(self) -> bytes:
        return (encode_int(self.receiver_tag) + encode_data(self.identity.encode("utf-8"))
                + encode_data(self.text.encode("utf-8")))

    @classmethod
    def _read_body(cls, reader: Reader) -> NoPrekeyEnsembles:
        tag = reader.read_int("receiver instance tag")
        identity = _read_text(reader, "Participant Identity")
        return cls(tag, identity, _read_text(reader, "No Prekey-Messages message"))


MESSAGE_CLASSES: dict[PrekeyServerMessageType, type[PrekeyServerMessage]] = {
    PrekeyServerMessageType.DAKE_1: Dake1,
    PrekeyServerMessageType.DAKE_2: Dake2,
    PrekeyServerMessageType.DAKE_3: Dake3,
    PrekeyServerMessageType.PREKEY_PUBLICATION: PrekeyPublication,
    PrekeyServerMessageType.STORAGE_INFORMATION_REQUEST: StorageInformationRequest,
    PrekeyServerMessageType.STORAGE_STATUS: StorageStatus,
    PrekeyServerMessageType.SUCCESS: Success,
    PrekeyServerMessageType.FAILURE: Failure,
    PrekeyServerMessageType.ENSEMBLE_QUERY: EnsembleQuery,
    PrekeyServerMessageType.ENSEMBLE_RETRIEVAL: EnsembleRetrieval,
    PrekeyServerMessageType.NO_PREKEY_ENSEMBLES: NoPrekeyEnsembles,
}
"""Every message class by its type byte."""


def decode_message(data: bytes) -> PrekeyServerMessage:
    """Decode any prekey-server message by its type byte.

    Raises what :func:`peek_type` and the class's ``decode`` raise.
    """
    return MESSAGE_CLASSES[peek_type(data)].decode(data)


# --------------------------------------------------------------------------- encoded messages


def encode_text(message: bytes) -> str:
    """§Encoded Messages: standard padded base64 of the message, then ``"."``."""
    return base64.b64encode(message).decode("ascii") + ENCODED_SUFFIX


def decode_text(text: str) -> bytes:
    """The binary message inside ``base64 || "."`` (§Encoded Messages).

    Accepts only the canonical form :func:`encode_text` writes.  Raises
    :class:`NotAPrekeyServerEncodingError` (no final ``.``, or nothing before
    it) and :class:`InvalidPrekeyServerBase64Error`.
    """
    if not text.endswith(ENCODED_SUFFIX) or len(text) < 2:
        raise NotAPrekeyServerEncodingError("an encoded prekey-server message is base64 then '.'")
    return decode_base64(text[:-1])


def decode_base64(body: str) -> bytes:
    """Canonical padded base64 (the IQ element's content, which has no ``.``).

    Raises :class:`InvalidPrekeyServerBase64Error`.
    """
    try:
        raw = base64.b64decode(body.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise InvalidPrekeyServerBase64Error(f"not base64: {exc}") from None
    if not raw or base64.b64encode(raw).decode("ascii") != body:
        raise InvalidPrekeyServerBase64Error("empty or non-canonical base64")
    return raw
