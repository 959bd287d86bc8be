"""The OTRv4 wire data types, the message header, and ``?OTR:`` encoded messages.

Implements ``otrv4.md`` §Data Types (``BYTE``, ``SHORT``, ``INT``, ``MPI``,
``DATA``, ``NONCE``, ``MAC``, ``POINT``, ``SCALAR``), the 8-byte signed
expiration timestamps of §Client Profile Data Type / §Prekey Profile Data Type
(called ``LONG`` here), the common header every OTRv4 message starts with
(protocol version ``SHORT`` 0x0004, message type ``BYTE``, then, for every type
but the Prekey message, sender and receiver instance tags ``INT``), and
§Encoded Messages (``"?OTR:" || base64(message) || "."``).

Reading is done with a :class:`Reader`, a cursor over immutable bytes: each
``read_*`` method consumes a value or raises :class:`TruncatedError`;
:meth:`Reader.finish` raises :class:`TrailingDataError` if anything is left.
Writing is done with the pure ``encode_*`` functions (or the tiny
:class:`Writer` that chains them).

Points and scalars are read and written here as raw 57-byte strings; turning
them into curve points (with full validation) belongs to
:mod:`otrv4.primitives.ed448`, so this module depends on nothing but the
standard library and :mod:`otrv4.errors`.
"""

from __future__ import annotations

import base64
import binascii
import enum
import struct
from dataclasses import dataclass
from typing import TypeVar

from .errors import DecodeError, ValidationError

__all__ = [
    "HEADER_BYTES",
    "MAC_BYTES",
    "NONCE_BYTES",
    "OTR_PREFIX",
    "OTR_SUFFIX",
    "POINT_BYTES",
    "PROTOCOL_VERSION",
    "SCALAR_BYTES",
    "EncodedMessageError",
    "Header",
    "InvalidBase64Error",
    "MessageType",
    "NonMinimalMPIError",
    "NotAnEncodedMessageError",
    "OutOfRangeError",
    "Reader",
    "TrailingDataError",
    "TruncatedError",
    "UnknownMessageTypeError",
    "UnsupportedVersionError",
    "WireType",
    "Writer",
    "WrongMessageTypeError",
    "base64_prefix",
    "decode_encoded_message",
    "encode_byte",
    "encode_data",
    "encode_int",
    "encode_long",
    "encode_message",
    "encode_mpi",
    "encode_short",
    "expect_type",
    "is_encoded_message",
    "mpi_length",
    "peek_message_type",
    "read_instance_tags",
    "read_version_and_type",
]

PROTOCOL_VERSION = 0x0004
"""The protocol version every OTRv4 message carries (§Data Message Format and the DAKE messages)."""

POINT_BYTES = 57
"""Length of an encoded Ed448 point (§Encoding and Decoding, Point)."""

SCALAR_BYTES = 57
"""Length of an encoded Ed448 scalar (§Encoding and Decoding, Scalar)."""

MAC_BYTES = 64
"""Length of a ``MAC`` (§Data Types)."""

NONCE_BYTES = 12
"""Length of a ``NONCE`` (§Data Types); no OTRv4 message carries one."""

HEADER_BYTES = 11
"""Version (2) + type (1) + sender tag (4) + receiver tag (4)."""

OTR_PREFIX = "?OTR:"
OTR_SUFFIX = "."

_U8 = 0xFF
_U16 = 0xFFFF
_U32 = 0xFFFF_FFFF
_I64_MIN = -(2**63)
_I64_MAX = 2**63 - 1


# --------------------------------------------------------------------------- errors


class TruncatedError(DecodeError):
    """The input ended before the value being read was complete."""


class TrailingDataError(DecodeError):
    """Bytes were left over after the last field of a wire type."""


class NonMinimalMPIError(DecodeError):
    """An ``MPI`` with a leading zero byte (§Data Types requires the minimum-length encoding)."""


class UnsupportedVersionError(DecodeError):
    """A message whose protocol version is not 0x0004."""


class UnknownMessageTypeError(DecodeError):
    """A message type byte that OTRv4 does not define."""


class WrongMessageTypeError(DecodeError):
    """A message of a known type where another type was expected."""


class EncodedMessageError(DecodeError):
    """A text that is not a well-formed OTRv4 encoded message (§Encoded Messages)."""


class NotAnEncodedMessageError(EncodedMessageError):
    """The text does not start with ``?OTR:`` or does not end with ``.``."""


class InvalidBase64Error(EncodedMessageError):
    """The text between ``?OTR:`` and ``.`` is not canonical, padded base64."""


class OutOfRangeError(ValidationError):
    """A value given to an ``encode_*`` function does not fit its wire type."""


# --------------------------------------------------------------------------- wire types


class WireType(enum.Enum):
    """The wire types named by §Data Types and the profile/key sections.

    ``value`` is the spec's name; :attr:`size` is the fixed length in bytes or
    ``None`` for variable-length types; :attr:`description` is the one-line
    definition the XEP's field tables print.
    """

    BYTE = "BYTE"
    SHORT = "SHORT"
    INT = "INT"
    LONG = "LONG"
    MPI = "MPI"
    DATA = "DATA"
    NONCE = "NONCE"
    MAC = "MAC"
    POINT = "POINT"
    SCALAR = "SCALAR"
    ED448_PUBKEY = "ED448-PUBKEY"
    ED448_FORGING_KEY = "ED448-FORGING-KEY"
    ED448_SHARED_PREKEY = "ED448-SHARED-PREKEY"
    EDDSA_SIG = "EDDSA-SIG"
    RING_SIG = "RING-SIG"
    CLIENT_PROF = "CLIENT-PROF"
    PREKEY_PROF = "PREKEY-PROF"

    @property
    def size(self) -> int | None:
        """Fixed encoded length in bytes, or ``None`` if the length varies."""
        return _WIRE_SIZES[self]

    @property
    def description(self) -> str:
        """A one-line definition of the type, for rendered tables."""
        return _WIRE_DESCRIPTIONS[self]


_WIRE_SIZES: dict[WireType, int | None] = {
    WireType.BYTE: 1,
    WireType.SHORT: 2,
    WireType.INT: 4,
    WireType.LONG: 8,
    WireType.MPI: None,
    WireType.DATA: None,
    WireType.NONCE: NONCE_BYTES,
    WireType.MAC: MAC_BYTES,
    WireType.POINT: POINT_BYTES,
    WireType.SCALAR: SCALAR_BYTES,
    WireType.ED448_PUBKEY: 2 + POINT_BYTES,
    WireType.ED448_FORGING_KEY: 2 + POINT_BYTES,
    WireType.ED448_SHARED_PREKEY: 2 + POINT_BYTES,
    WireType.EDDSA_SIG: 114,
    WireType.RING_SIG: 6 * SCALAR_BYTES,
    WireType.CLIENT_PROF: None,
    WireType.PREKEY_PROF: None,
}

_WIRE_DESCRIPTIONS: dict[WireType, str] = {
    WireType.BYTE: "1-byte unsigned value",
    WireType.SHORT: "2-byte unsigned value, big-endian",
    WireType.INT: "4-byte unsigned value, big-endian",
    WireType.LONG: "8-byte signed value, big-endian (seconds since the Unix epoch)",
    WireType.MPI: "4-byte big-endian length, then the minimal big-endian magnitude",
    WireType.DATA: "4-byte big-endian length, then that many bytes",
    WireType.NONCE: "12 bytes, always zero",
    WireType.MAC: "64 bytes",
    WireType.POINT: "57-byte Ed448 point encoding (RFC 8032 §5.2.2), little-endian",
    WireType.SCALAR: "57-byte little-endian integer, reduced mod q when decoded",
    WireType.ED448_PUBKEY: "2-byte type 0x0010 (big-endian), then POINT H",
    WireType.ED448_FORGING_KEY: "2-byte type 0x0012 (big-endian), then POINT F",
    WireType.ED448_SHARED_PREKEY: "2-byte type 0x0011 (big-endian), then POINT D",
    WireType.EDDSA_SIG: "114-byte Ed448 signature (RFC 8032)",
    WireType.RING_SIG: "six SCALARs c1, r1, c2, r2, c3, r3 (342 bytes)",
    WireType.CLIENT_PROF: "a Client Profile (field count, typed fields, EDDSA-SIG)",
    WireType.PREKEY_PROF: "a Prekey Profile (owner tag, expiration, shared prekey, EDDSA-SIG)",
}


# --------------------------------------------------------------------------- writing


def _check(value: int, low: int, high: int, what: str) -> None:
    if not low <= value <= high:
        raise OutOfRangeError(f"{what} {value} is outside [{low}, {high}]")


def encode_byte(value: int) -> bytes:
    """``BYTE`` (§Data Types).  Raises :class:`OutOfRangeError` unless 0 <= value <= 255."""
    _check(value, 0, _U8, "BYTE")
    return bytes((value,))


def encode_short(value: int) -> bytes:
    """``SHORT``, 2 bytes big-endian (§Data Types).  Raises :class:`OutOfRangeError`."""
    _check(value, 0, _U16, "SHORT")
    return value.to_bytes(2, "big")


def encode_int(value: int) -> bytes:
    """``INT``, 4 bytes big-endian (§Data Types).  Raises :class:`OutOfRangeError`."""
    _check(value, 0, _U32, "INT")
    return value.to_bytes(4, "big")


def encode_long(value: int) -> bytes:
    """8-byte signed big-endian timestamp (§Client Profile Data Type, Expiration).

    Raises :class:`OutOfRangeError` outside the signed 64-bit range.
    """
    _check(value, _I64_MIN, _I64_MAX, "LONG")
    return value.to_bytes(8, "big", signed=True)


def mpi_length(value: int) -> int:
    """Length of the minimal big-endian magnitude of ``value`` (0 for zero)."""
    return (value.bit_length() + 7) // 8


def encode_mpi(value: int) -> bytes:
    """``MPI``: ``INT`` length, then the minimal big-endian magnitude (§Data Types).

    Zero encodes as length 0 (the "absent DH key" of a data message).
    Raises :class:`OutOfRangeError` for negative values or magnitudes over 2^32-1 bytes.
    """
    if value < 0:
        raise OutOfRangeError("an MPI is unsigned")
    n = mpi_length(value)
    return encode_int(n) + value.to_bytes(n, "big")


def encode_data(value: bytes) -> bytes:
    """``DATA``: ``INT`` length, then the bytes (§Data Types).  Raises :class:`OutOfRangeError`."""
    return encode_int(len(value)) + bytes(value)


class Writer:
    """Accumulates encoded fields; each method returns ``self`` so calls chain.

    >>> Writer().put_short(4).put_byte(0x35).put_int(0x100).value().hex()
    '00043500000100'
    """

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def put_byte(self, value: int) -> Writer:
        """Append a ``BYTE``."""
        self._parts.append(encode_byte(value))
        return self

    def put_short(self, value: int) -> Writer:
        """Append a ``SHORT``."""
        self._parts.append(encode_short(value))
        return self

    def put_int(self, value: int) -> Writer:
        """Append an ``INT``."""
        self._parts.append(encode_int(value))
        return self

    def put_long(self, value: int) -> Writer:
        """Append an 8-byte signed big-endian timestamp."""
        self._parts.append(encode_long(value))
        return self

    def put_mpi(self, value: int) -> Writer:
        """Append an ``MPI``."""
        self._parts.append(encode_mpi(value))
        return self

    def put_data(self, value: bytes) -> Writer:
        """Append a ``DATA``."""
        self._parts.append(encode_data(value))
        return self

    def put_raw(self, value: bytes, size: int | None = None) -> Writer:
        """Append bytes as they are; if ``size`` is given, check the length first.

        Raises :class:`OutOfRangeError` when ``len(value) != size``.
        """
        if size is not None and len(value) != size:
            raise OutOfRangeError(f"expected {size} bytes, got {len(value)}")
        self._parts.append(bytes(value))
        return self

    def value(self) -> bytes:
        """Everything appended so far."""
        return b"".join(self._parts)


# --------------------------------------------------------------------------- reading


class Reader:
    """A cursor over ``data``; every read either consumes a whole value or raises.

    A failed read leaves the cursor where it was.  ``what`` names the wire type
    being decoded and appears in error messages.
    """

    __slots__ = ("_data", "_pos", "what")

    def __init__(self, data: bytes, what: str = "message") -> None:
        self._data = bytes(data)
        self._pos = 0
        self.what = what

    @property
    def offset(self) -> int:
        """Number of bytes consumed so far."""
        return self._pos

    @property
    def remaining(self) -> int:
        """Number of bytes not yet consumed."""
        return len(self._data) - self._pos

    def consumed_since(self, start: int) -> bytes:
        """The bytes between offset ``start`` and the current offset (for signatures over input)."""
        return self._data[start:self._pos]

    def read(self, n: int, field: str = "field") -> bytes:
        """Read exactly ``n`` bytes.  Raises :class:`TruncatedError`."""
        if n < 0:
            raise ValueError("cannot read a negative number of bytes")
        end = self._pos + n
        if end > len(self._data):
            raise TruncatedError(
                f"{self.what}: {field} needs {n} bytes at offset {self._pos}, "
                f"{len(self._data) - self._pos} left"
            )
        out = self._data[self._pos:end]
        self._pos = end
        return out

    def read_byte(self, field: str = "BYTE") -> int:
        """``BYTE``.  Raises :class:`TruncatedError`."""
        return self.read(1, field)[0]

    def read_short(self, field: str = "SHORT") -> int:
        """``SHORT`` (big-endian).  Raises :class:`TruncatedError`."""
        return int.from_bytes(self.read(2, field), "big")

    def read_int(self, field: str = "INT") -> int:
        """``INT`` (big-endian).  Raises :class:`TruncatedError`."""
        return int.from_bytes(self.read(4, field), "big")

    def read_long(self, field: str = "LONG") -> int:
        """8-byte signed big-endian timestamp.  Raises :class:`TruncatedError`."""
        return int.from_bytes(self.read(8, field), "big", signed=True)

    def read_data(self, field: str = "DATA") -> bytes:
        """``DATA``.  Raises :class:`TruncatedError` (the cursor does not move on failure)."""
        start = self._pos
        n = self.read_int(field)
        try:
            return self.read(n, field)
        except TruncatedError:
            self._pos = start
            raise

    def read_mpi(self, field: str = "MPI") -> int:
        """``MPI``.  Raises :class:`TruncatedError`, :class:`NonMinimalMPIError`."""
        start = self._pos
        raw = self.read_data(field)
        if raw[:1] == b"\x00":
            self._pos = start
            raise NonMinimalMPIError(f"{self.what}: {field} has a leading zero byte")
        return int.from_bytes(raw, "big")

    def read_point(self, field: str = "POINT") -> bytes:
        """The raw 57 bytes of a ``POINT`` (not yet decoded).  Raises :class:`TruncatedError`."""
        return self.read(POINT_BYTES, field)

    def read_scalar(self, field: str = "SCALAR") -> bytes:
        """The raw 57 bytes of a ``SCALAR``.  Raises :class:`TruncatedError`."""
        return self.read(SCALAR_BYTES, field)

    def read_mac(self, field: str = "MAC") -> bytes:
        """A 64-byte ``MAC``.  Raises :class:`TruncatedError`."""
        return self.read(MAC_BYTES, field)

    def rewind(self, offset: int) -> None:
        """Move the cursor back to an earlier ``offset``, to undo a failed parse."""
        if not 0 <= offset <= self._pos:
            raise ValueError("can only rewind to an earlier offset")
        self._pos = offset

    def rest(self) -> bytes:
        """Consume and return everything that is left."""
        out = self._data[self._pos:]
        self._pos = len(self._data)
        return out

    def finish(self) -> None:
        """Raise :class:`TrailingDataError` unless every byte has been consumed."""
        if self._pos != len(self._data):
            raise TrailingDataError(
                f"{self.what}: {len(self._data) - self._pos} trailing bytes at offset {self._pos}"
            )


# --------------------------------------------------------------------------- header


def base64_prefix(message_type: int) -> str:
    """The first four base64 characters of any encoded version-4 message of this type byte
    (``base64(0x0004 || type)``); shared with the prekey server's messages."""
    return base64.b64encode(encode_short(PROTOCOL_VERSION) + encode_byte(message_type))[:4].decode()


class MessageType(enum.IntEnum):
    """Message type bytes of OTRv4 (the ``Message type (BYTE)`` field of each message section).

    Renders the XEP's type table; :attr:`base64_prefix` is the first four
    base64 characters of an encoded message of that type (after ``?OTR:``).
    """

    DATA = 0x03
    NON_INTERACTIVE_AUTH = 0x0D
    PREKEY = 0x0F
    IDENTITY = 0x35
    AUTH_R = 0x36
    AUTH_I = 0x37

    @property
    def spec_name(self) -> str:
        """The message's name as ``otrv4.md`` writes it."""
        return _TYPE_NAMES[self]

    @property
    def base64_prefix(self) -> str:
        """``base64(version || type)``, e.g. ``"AAQ1"`` for Identity."""
        return base64_prefix(self)

    @property
    def has_receiver_tag(self) -> bool:
        """Whether the header carries sender and receiver instance tags (all but Prekey)."""
        return self is not MessageType.PREKEY


_TYPE_NAMES = {
    MessageType.DATA: "Data Message",
    MessageType.NON_INTERACTIVE_AUTH: "Non-Interactive-Auth Message",
    MessageType.PREKEY: "Prekey Message",
    MessageType.IDENTITY: "Identity Message",
    MessageType.AUTH_R: "Auth-R Message",
    MessageType.AUTH_I: "Auth-I Message",
}


_T = TypeVar("_T", bound=enum.IntEnum)


def read_version_and_type(reader: Reader, types: type[_T],
                          unknown: type[DecodeError]) -> _T:
    """Read the protocol version (SHORT, must be 0x0004) and a message type of ``types``.

    Shared by OTRv4's messages and the prekey server's.  Raises
    :class:`TruncatedError`, :class:`UnsupportedVersionError`, and ``unknown``
    for a type byte that is not a member of ``types``.
    """
    version = reader.read_short("protocol version")
    if version != PROTOCOL_VERSION:
        raise UnsupportedVersionError(f"{reader.what}: protocol version {version:#06x}, not 0x0004")
    raw = reader.read_byte("message type")
    try:
        return types(raw)
    except ValueError:
        raise unknown(f"{reader.what}: unknown message type {raw:#04x}") from None


def _read_version_and_type(reader: Reader) -> MessageType:
    return read_version_and_type(reader, MessageType, UnknownMessageTypeError)


def peek_message_type(message: bytes) -> MessageType:
    """The type of a binary OTRv4 message, from its first three bytes.

    Raises :class:`TruncatedError`, :class:`UnsupportedVersionError`,
    :class:`UnknownMessageTypeError`.
    """
    return _read_version_and_type(Reader(message[:3]))


@dataclass(frozen=True)
class Header:
    """The header shared by Data, Identity, Auth-R, Auth-I and Non-Interactive-Auth messages.

    ``version (SHORT) || type (BYTE) || sender instance tag (INT) || receiver
    instance tag (INT)``.  Instance-tag rules (§Instance Tags) are checked by
    :mod:`otrv4.instance_tag`, not here.
    """

    message_type: MessageType
    sender_tag: int
    receiver_tag: int
    version: int = PROTOCOL_VERSION

    def encode(self) -> bytes:
        """The 11 header bytes.  Raises :class:`OutOfRangeError` for tags over 32 bits."""
        return (
            encode_short(self.version) + encode_byte(self.message_type)
            + encode_int(self.sender_tag) + encode_int(self.receiver_tag)
        )

    @classmethod
    def read(cls, reader: Reader, expected: MessageType | None = None) -> Header:
        """Read a header; if ``expected`` is given the type must equal it.

        Raises :class:`TruncatedError`, :class:`UnsupportedVersionError`,
        :class:`UnknownMessageTypeError`, :class:`WrongMessageTypeError` (also
        for a Prekey message, whose header has no receiver tag).
        """
        start = reader.offset
        try:
            message_type = _read_version_and_type(reader)
            if expected is not None and message_type is not expected:
                raise WrongMessageTypeError(
                    f"{reader.what}: expected {expected.spec_name} ({expected:#04x}), "
                    f"got {message_type.spec_name} ({message_type:#04x})"
                )
            if not message_type.has_receiver_tag:
                raise WrongMessageTypeError(f"{reader.what}: a Prekey message has no tag pair")
            sender = reader.read_int("sender instance tag")
            receiver = reader.read_int("receiver instance tag")
        except DecodeError:
            reader.rewind(start)
            raise
        return cls(message_type, sender, receiver)


def read_instance_tags(message: bytes) -> tuple[int, int]:
    """``(sender, receiver)`` instance tags of a binary OTRv4 message, from its header
    (§Instance Tags; the header of Data, Identity, Auth-R, Auth-I and
    Non-Interactive-Auth messages, see :class:`Header`).

    The one place that reads tags out of an encoded message.  Raises
    :class:`TruncatedError`, :class:`UnsupportedVersionError`,
    :class:`UnknownMessageTypeError` and :class:`WrongMessageTypeError` (a Prekey
    message, whose header has no receiver tag).
    """
    if (len(message) >= HEADER_BYTES and message[0] == 0 and message[1] == PROTOCOL_VERSION
            and message[2] in _TAGGED_TYPES):  # the common case, without a Reader
        sender, receiver = _TAG_PAIR.unpack_from(message)
        return sender, receiver
    header = Header.read(Reader(message[:HEADER_BYTES], "message header"))
    return header.sender_tag, header.receiver_tag


#: The type bytes of the messages whose header has both instance tags.
_TAGGED_TYPES = frozenset(int(t) for t in MessageType if t.has_receiver_tag)
#: version and type (skipped), then the sender and receiver tags (big-endian INTs).
_TAG_PAIR = struct.Struct(">3xII")


def expect_type(reader: Reader, expected: MessageType) -> None:
    """Read ``version || type`` and require ``expected`` (for the Prekey message's short header).

    Raises :class:`TruncatedError`, :class:`UnsupportedVersionError`,
    :class:`UnknownMessageTypeError`, :class:`WrongMessageTypeError`.
    """
    start = reader.offset
    message_type = _read_version_and_type(reader)
    if message_type is not expected:
        reader.rewind(start)
        raise WrongMessageTypeError(
            f"{reader.what}: expected {expected.spec_name} ({expected:#04x}), "
            f"got {message_type.spec_name} ({message_type:#04x})"
        )



# --------------------------------------------------------------------------- encoded messages


def encode_message(message: bytes) -> str:
    """§Encoded Messages: ``"?OTR:" || base64(message) || "."`` (standard alphabet, padded)."""
    return OTR_PREFIX + base64.b64encode(message).decode("ascii") + OTR_SUFFIX


def is_encoded_message(text: str) -> bool:
    """Whether ``text`` has the shape of an encoded message (prefix and suffix only)."""
    return text.startswith(OTR_PREFIX) and text.endswith(OTR_SUFFIX) and len(text) > 6


def decode_encoded_message(text: str) -> bytes:
    """The binary message inside an encoded message (§Encoded Messages).

    Accepts only the canonical form :func:`encode_message` produces: standard
    alphabet, ``=`` padding, no whitespace, zero padding bits.  Raises
    :class:`NotAnEncodedMessageError`, :class:`InvalidBase64Error`.
    """
    if not is_encoded_message(text):
        raise NotAnEncodedMessageError("an encoded message is '?OTR:' base64 '.'")
    body = text[len(OTR_PREFIX):-len(OTR_SUFFIX)]
    try:
        raw = base64.b64decode(body.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as exc:
        raise InvalidBase64Error(f"not base64: {exc}") from None
    if base64.b64encode(raw).decode("ascii") != body:
        raise InvalidBase64Error("non-canonical base64 (padding bits or padding)")
    return raw
