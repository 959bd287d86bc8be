"""The wire types of the DAKE messages, declared once.

Implements the encodings of ``otrv4.md`` §Identity Message, §Auth-R Message,
§Auth-I Message, §Prekey Message and §Non-Interactive-Auth Message.

Each message is a frozen dataclass whose class-level :attr:`FIELDS` table
lists, in wire order, every field after the protocol version and the message
type: its attribute, the spec's name for it and its
:class:`~otrv4.encoding.WireType`.  That one table drives :meth:`encode`,
:meth:`decode`, the round-trip tests, the vectors and the XEP's tables
(:func:`wire_table`).

Decoding is parsing plus every check that needs no context: the version and
type bytes, lengths, trailing bytes, the Client Profile's structure, every
``POINT`` fully validated (on the curve, not the identity, in the prime-order
subgroup) and every DH ``MPI`` checked to be in the 3072-bit group.  Checks
that need context (instance tags, the profile's signature and expiry, the ring
signature, the Auth MAC) are done by :mod:`otrv4.dake` and :mod:`otrv4.xzdh`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from .encoding import (
    MAC_BYTES as _MAC_BYTES,
)
from .encoding import (
    PROTOCOL_VERSION,
    MessageType,
    Reader,
    WireType,
    encode_byte,
    encode_int,
    encode_mpi,
    encode_short,
    expect_type,
    peek_message_type,
)
from .errors import DecodeError
from .primitives import dh3072
from .primitives.ed448 import Point
from .primitives.ring_signature import RingSignature
from .profiles import ClientProfile

__all__ = [
    "DAKE_MESSAGE_TYPES",
    "AuthIMessage",
    "AuthRMessage",
    "DakeMessage",
    "IdentityMessage",
    "NonDakeMessageError",
    "NonInteractiveAuthMessage",
    "PrekeyMessage",
    "WireField",
    "decode_dake_message",
    "wire_table",
]

RING_SIG_BYTES = 342


class NonDakeMessageError(DecodeError):
    """A well-formed OTRv4 message that is not one of the DAKE messages (e.g. a Data message)."""


@dataclass(frozen=True)
class WireField:
    """One row of a message's wire table: attribute, spec name, wire type, meaning."""

    attr: str
    name: str
    wire: WireType
    meaning: str


def _read_point(reader: Reader, name: str) -> Point:
    return Point.decode(reader.read_point(name))


def _read_dh(reader: Reader, name: str) -> int:
    start = reader.offset
    value = reader.read_mpi(name)
    try:
        dh3072.validate_dh_public(value)
    except Exception:
        reader.rewind(start)
        raise
    return value


def _read_ring_sig(reader: Reader, name: str) -> RingSignature:
    start = reader.offset
    raw = reader.read(RING_SIG_BYTES, name)
    try:
        return RingSignature.decode(raw)
    except Exception:
        reader.rewind(start)
        raise


_READERS: dict[WireType, Callable[[Reader, str], Any]] = {
    WireType.INT: lambda r, n: r.read_int(n),
    WireType.POINT: _read_point,
    WireType.MPI: _read_dh,
    WireType.CLIENT_PROF: lambda r, n: ClientProfile.read(r),
    WireType.RING_SIG: _read_ring_sig,
    WireType.MAC: lambda r, n: r.read(_MAC_BYTES, n),
}

_WRITERS: dict[WireType, Callable[[Any], bytes]] = {
    WireType.INT: encode_int,
    WireType.POINT: lambda p: p.encode(),
    WireType.MPI: encode_mpi,
    WireType.CLIENT_PROF: lambda p: p.encode(),
    WireType.RING_SIG: lambda s: s.encode(),
    WireType.MAC: lambda m: bytes(m) if len(m) == _MAC_BYTES else _bad_mac(m),
}


def _bad_mac(m: bytes) -> bytes:
    raise ValueError(f"a MAC is {_MAC_BYTES} bytes, not {len(m)}")


_M = TypeVar("_M", bound="DakeMessage")

_SENDER = WireField("sender_tag", "Sender's instance tag", WireType.INT,
                    "the instance tag of the sending client")
_RECEIVER = WireField("receiver_tag", "Receiver's instance tag", WireType.INT,
                      "the instance tag of the intended recipient (0 if unknown: Identity only)")
_ECDH_FIRST = WireField("ecdh_first", "our_ecdh_first.public", WireType.POINT,
                        "the sender's first ECDH key of the double ratchet")
_DH_FIRST = WireField("dh_first", "our_dh_first.public", WireType.MPI,
                      "the sender's first DH key of the double ratchet")
_PROFILE = WireField("client_profile", "Sender's Client Profile", WireType.CLIENT_PROF,
                     "the sender's Client Profile")
_SIGMA = WireField("sigma", "sigma", WireType.RING_SIG, "the ring signature over t")


class DakeMessage:
    """Shared codec of the DAKE messages; subclasses are frozen dataclasses with a FIELDS table."""

    MESSAGE_TYPE: ClassVar[MessageType]
    FIELDS: ClassVar[tuple[WireField, ...]]

    def encode(self) -> bytes:
        """The binary message: version, type, then every field of :attr:`FIELDS` in order."""
        parts = [encode_short(PROTOCOL_VERSION), encode_byte(self.MESSAGE_TYPE)]
        parts += [_WRITERS[f.wire](getattr(self, f.attr)) for f in self.FIELDS]
        return b"".join(parts)

    def field_spans(self) -> dict[str, tuple[int, int]]:
        """``{attribute: (start, end)}`` byte offsets of every field in :meth:`encode`'s output,
        with ``"version"`` and ``"message_type"`` first (for annotated dumps and mutation tests)."""
        spans = {"version": (0, 2), "message_type": (2, 3)}
        offset = 3
        for f in self.FIELDS:
            size = len(_WRITERS[f.wire](getattr(self, f.attr)))
            spans[f.attr] = (offset, offset + size)
            offset += size
        return spans

    @classmethod
    def read(cls: type[_M], reader: Reader) -> _M:
        """Read one message of this type from ``reader`` (the reader does not move on failure).

        Raises :class:`~otrv4.encoding.TruncatedError`,
        :class:`~otrv4.encoding.UnsupportedVersionError`,
        :class:`~otrv4.encoding.UnknownMessageTypeError`,
        :class:`~otrv4.encoding.WrongMessageTypeError`,
        :class:`~otrv4.encoding.NonMinimalMPIError`, the Client Profile decoding
        errors of :mod:`otrv4.profiles`, the point errors of
        :mod:`otrv4.primitives.ed448`, the DH range/subgroup errors of
        :mod:`otrv4.primitives.dh3072` and the ring-signature decoding errors.
        """
        start = reader.offset
        try:
            expect_type(reader, cls.MESSAGE_TYPE)
            values = {f.attr: _READERS[f.wire](reader, f.name) for f in cls.FIELDS}
        except Exception:
            reader.rewind(start)
            raise
        return cls(**values)

    @classmethod
    def decode(cls: type[_M], data: bytes) -> _M:
        """Decode exactly one message; also raises :class:`~otrv4.encoding.TrailingDataError`."""
        reader = Reader(data, cls.MESSAGE_TYPE.spec_name)
        msg = cls.read(reader)
        reader.finish()
        return msg


@dataclass(frozen=True)
class IdentityMessage(DakeMessage):
    """§Identity Message (type 0x35): the first message of the interactive DAKE."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.IDENTITY
    FIELDS: ClassVar[tuple[WireField, ...]] = (
        _SENDER, _RECEIVER, _PROFILE,
        WireField("y", "Y", WireType.POINT, "the ephemeral public ECDH key"),
        WireField("b", "B", WireType.MPI, "the ephemeral public DH key"),
        _ECDH_FIRST, _DH_FIRST,
    )

    sender_tag: int
    receiver_tag: int
    client_profile: ClientProfile
    y: Point
    b: int
    ecdh_first: Point
    dh_first: int


@dataclass(frozen=True)
class AuthRMessage(DakeMessage):
    """§Auth-R Message (type 0x36): the responder's keys and ring signature."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.AUTH_R
    FIELDS: ClassVar[tuple[WireField, ...]] = (
        _SENDER, _RECEIVER, _PROFILE,
        WireField("x", "X", WireType.POINT, "the ephemeral public ECDH key"),
        WireField("a", "A", WireType.MPI, "the ephemeral public DH key"),
        _SIGMA, _ECDH_FIRST, _DH_FIRST,
    )

    sender_tag: int
    receiver_tag: int
    client_profile: ClientProfile
    x: Point
    a: int
    sigma: RingSignature
    ecdh_first: Point
    dh_first: int


@dataclass(frozen=True)
class AuthIMessage(DakeMessage):
    """§Auth-I Message (type 0x37): the initiator's ring signature."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.AUTH_I
    FIELDS: ClassVar[tuple[WireField, ...]] = (_SENDER, _RECEIVER, _SIGMA)

    sender_tag: int
    receiver_tag: int
    sigma: RingSignature


@dataclass(frozen=True)
class NonInteractiveAuthMessage(DakeMessage):
    """§Non-Interactive-Auth Message (type 0x0D): completes the non-interactive DAKE."""

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.NON_INTERACTIVE_AUTH
    FIELDS: ClassVar[tuple[WireField, ...]] = (
        _SENDER, _RECEIVER, _PROFILE,
        WireField("x", "X", WireType.POINT, "the ephemeral public ECDH key"),
        WireField("a", "A", WireType.MPI, "the ephemeral public DH key"),
        _SIGMA,
        WireField("prekey_message_id", "Prekey Message Identifier", WireType.INT,
                  "the identifier of the Prekey message used"),
        WireField("auth_mac", "Auth MAC", WireType.MAC, "HCMAC(usage_auth_MAC || auth_mac_k || t)"),
        _ECDH_FIRST, _DH_FIRST,
    )

    sender_tag: int
    receiver_tag: int
    client_profile: ClientProfile
    x: Point
    a: int
    sigma: RingSignature
    prekey_message_id: int
    auth_mac: bytes
    ecdh_first: Point
    dh_first: int


@dataclass(frozen=True)
class PrekeyMessage(DakeMessage):
    """§Prekey Message (type 0x0F): one-time prekeys published to a prekey server.

    It has no sender/receiver tag pair: the owner tag follows the identifier.
    """

    MESSAGE_TYPE: ClassVar[MessageType] = MessageType.PREKEY
    FIELDS: ClassVar[tuple[WireField, ...]] = (
        WireField("identifier", "Prekey Message Identifier", WireType.INT,
                  "a random identifier, unique among the owner's prekey messages"),
        WireField("owner_tag", "Prekey owner's instance tag", WireType.INT,
                  "the instance tag of the client that made the prekey"),
        WireField("y", "Y", WireType.POINT, "first one-time prekey: ECDH public key"),
        WireField("b", "B", WireType.MPI, "second one-time prekey: DH public key"),
    )

    identifier: int
    owner_tag: int
    y: Point
    b: int


DAKE_MESSAGE_TYPES: dict[MessageType, type[DakeMessage]] = {
    MessageType.IDENTITY: IdentityMessage,
    MessageType.AUTH_R: AuthRMessage,
    MessageType.AUTH_I: AuthIMessage,
    MessageType.NON_INTERACTIVE_AUTH: NonInteractiveAuthMessage,
    MessageType.PREKEY: PrekeyMessage,
}


def decode_dake_message(data: bytes) -> DakeMessage:
    """Decode any DAKE (or Prekey) message by its type byte.

    Raises :class:`NonDakeMessageError` for a Data message, and what the
    message class's :meth:`DakeMessage.decode` raises.
    """
    mtype = peek_message_type(data)
    cls = DAKE_MESSAGE_TYPES.get(mtype)
    if cls is None:
        raise NonDakeMessageError(f"{mtype.spec_name} is not a DAKE message")
    return cls.decode(data)


def wire_table(cls: type[DakeMessage]) -> list[tuple[str, str, str]]:
    """Rows ``(spec name, wire type, meaning)`` for the XEP, starting with version and type."""
    rows = [
        ("Protocol version", WireType.SHORT.value, f"always {PROTOCOL_VERSION:#06x}"),
        ("Message type", WireType.BYTE.value, f"{int(cls.MESSAGE_TYPE):#04x}"),
    ]
    rows += [(f.name, f.wire.value, f.meaning) for f in cls.FIELDS]
    return rows
