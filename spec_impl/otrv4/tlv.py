"""TLV records and the plaintext of a data message (spec §TLV Record Types, §Data Message).

A decrypted data message is a human-readable UTF-8 text, optionally followed by
one ``NUL`` byte and zero or more TLV records with no padding between them.
A TLV record is ``Type (SHORT) || Length (SHORT) || Value (Length bytes)``.

Two parsers exist because the specification asks for two behaviours:

* :func:`decode_tlvs` is strict: it raises on a truncated record.  Vectors and
  our own encoder use it.
* :func:`decode_payload` is what a receiver runs on a decrypted data message:
  records of unknown type are set aside (``Payload.unknown``), and a corrupted
  record (truncated, or a known type whose value breaks its rule) stops TLV
  processing while the text and the records before it are still delivered
  (spec: "stop processing it, but process the remaining data message").
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum

from .errors import DecodeError, ValidationError

__all__ = [
    "IGNORE_UNREADABLE_TYPES",
    "TLV",
    "TLV_DESCRIPTIONS",
    "InvalidPayloadText",
    "MalformedTLVValue",
    "Payload",
    "TLVTooLong",
    "TLVType",
    "TextContainsNul",
    "TruncatedTLV",
    "decode_payload",
    "decode_tlvs",
    "disconnected",
    "encode_payload",
    "encode_tlvs",
    "extra_symmetric_key",
    "padding",
    "smp_abort",
]

MAX_TLV_VALUE = 0xFFFF


class TLVType(IntEnum):
    """The TLV record types of OTRv4 (spec §TLV Record Types)."""

    PADDING = 0
    DISCONNECTED = 1
    SMP_MESSAGE_1 = 2
    SMP_MESSAGE_2 = 3
    SMP_MESSAGE_3 = 4
    SMP_MESSAGE_4 = 5
    SMP_ABORT = 6
    EXTRA_SYMMETRIC_KEY = 7


#: Types whose data message should carry the IGNORE_UNREADABLE flag (1 to 7).
IGNORE_UNREADABLE_TYPES = frozenset(t for t in TLVType if t != TLVType.PADDING)

#: Meaning of each type, for documentation tables rendered into the XEP.
TLV_DESCRIPTIONS: dict[TLVType, str] = {
    TLVType.PADDING: "Arbitrary data to be ignored; disguises the length of the plaintext.",
    TLVType.DISCONNECTED: "The sender closed its end of the private conversation; "
    "may carry old MAC keys when the session expired.",
    TLVType.SMP_MESSAGE_1: "First SMP message (question DATA, then G2a, c2, d2, G3a, c3, d3).",
    TLVType.SMP_MESSAGE_2: "Second SMP message.",
    TLVType.SMP_MESSAGE_3: "Third SMP message.",
    TLVType.SMP_MESSAGE_4: "Fourth SMP message.",
    TLVType.SMP_ABORT: "Abort the SMP; the value is empty.",
    TLVType.EXTRA_SYMMETRIC_KEY: "The sender uses the extra symmetric key: 4-byte usage "
    "context, then use-specific data.",
}


class TruncatedTLV(DecodeError):
    """A TLV record's header or value runs past the end of the data."""


class TLVTooLong(ValidationError):
    """A TLV value longer than 65535 bytes cannot be encoded (its length is a SHORT)."""


class TextContainsNul(ValidationError):
    """The human-readable part of a message contains NUL, which separates it from the TLVs."""


class InvalidPayloadText(DecodeError):
    """The human-readable part of a decrypted data message is not valid UTF-8."""


class MalformedTLVValue(ValidationError):
    """A TLV of a known type whose value breaks that type's rule (e.g. TLV 7 under 4 bytes)."""


@dataclass(frozen=True)
class TLV:
    """One TLV record: ``type`` (0..65535) and ``value`` (at most 65535 bytes)."""

    type: int
    value: bytes = b""

    def encode(self) -> bytes:
        """Serialize as ``Type || Length || Value``; raises :class:`TLVTooLong`."""
        if not 0 <= self.type <= 0xFFFF:
            raise TLVTooLong(f"TLV type {self.type} does not fit in a SHORT")
        if len(self.value) > MAX_TLV_VALUE:
            raise TLVTooLong(f"TLV value of {len(self.value)} bytes exceeds 65535")
        return struct.pack(">HH", self.type, len(self.value)) + self.value

    @property
    def known_type(self) -> TLVType | None:
        """The :class:`TLVType` of this record, or ``None`` when the type is not defined."""
        try:
            return TLVType(self.type)
        except ValueError:
            return None


def padding(n: int) -> TLV:
    """A padding TLV (type 0) of ``n`` zero bytes."""
    return TLV(TLVType.PADDING, bytes(n))


def disconnected(old_mac_keys: bytes = b"") -> TLV:
    """A Disconnected TLV (type 1), optionally carrying old MAC keys (session expiry)."""
    return TLV(TLVType.DISCONNECTED, old_mac_keys)


def smp_abort() -> TLV:
    """An SMP Abort TLV (type 6), always empty."""
    return TLV(TLVType.SMP_ABORT, b"")


def extra_symmetric_key(context: bytes, data: bytes = b"") -> TLV:
    """An Extra Symmetric Key TLV (type 7): 4-byte ``context`` then ``data``.

    Raises :class:`MalformedTLVValue` when ``context`` is not 4 bytes.
    """
    if len(context) != 4:
        raise MalformedTLVValue("the extra symmetric key context is exactly 4 bytes")
    return TLV(TLVType.EXTRA_SYMMETRIC_KEY, context + data)


def encode_tlvs(tlvs: Iterable[TLV]) -> bytes:
    """Concatenate the encodings of ``tlvs``; raises :class:`TLVTooLong`."""
    return b"".join(t.encode() for t in tlvs)


def _read_one(data: bytes, pos: int) -> tuple[TLV, int]:
    if len(data) - pos < 4:
        raise TruncatedTLV(f"TLV header needs 4 bytes at offset {pos}, {len(data) - pos} left")
    t, n = struct.unpack_from(">HH", data, pos)
    pos += 4
    if len(data) - pos < n:
        raise TruncatedTLV(f"TLV type {t} declares {n} bytes, {len(data) - pos} left")
    return TLV(t, data[pos:pos + n]), pos + n


def _check_known(tlv: TLV) -> None:
    if tlv.type == TLVType.EXTRA_SYMMETRIC_KEY and len(tlv.value) < 4:
        raise MalformedTLVValue("TLV 7 must start with a 4-byte usage context")


def decode_tlvs(data: bytes) -> tuple[TLV, ...]:
    """Strictly parse a sequence of TLV records (spec §TLV Record Types).

    Raises :class:`TruncatedTLV` when a record is cut short and
    :class:`MalformedTLVValue` when a known type's value breaks its rule.
    Records of unknown type are returned as they are.
    """
    out: list[TLV] = []
    pos = 0
    while pos < len(data):
        tlv, pos = _read_one(data, pos)
        _check_known(tlv)
        out.append(tlv)
    return tuple(out)


@dataclass(frozen=True)
class Payload:
    """A decrypted data message: its text, its TLVs, and what the receiver set aside.

    ``tlvs`` holds the records of known types in order, ``positions`` the index of
    each of them in the original record list (the extra-symmetric-key derivation
    uses it), ``unknown`` the records of unknown type, and ``corrupted`` is
    ``True`` when TLV processing stopped at a corrupted record.
    """

    text: str
    tlvs: tuple[TLV, ...] = ()
    positions: tuple[int, ...] = ()
    unknown: tuple[TLV, ...] = ()
    corrupted: bool = False

    @property
    def is_heartbeat(self) -> bool:
        """``True`` when the human-readable part is empty (spec §Data Exchange)."""
        return self.text == ""

    def find(self, tlv_type: TLVType) -> TLV | None:
        """The first record of ``tlv_type``, or ``None``."""
        return next((t for t in self.tlvs if t.type == tlv_type), None)


def encode_payload(text: str, tlvs: Sequence[TLV] = ()) -> bytes:
    """Build the plaintext of a data message: UTF-8 ``text`` [|| NUL || TLVs].

    Raises :class:`TextContainsNul` when ``text`` contains NUL and
    :class:`TLVTooLong` when a record does not fit.
    """
    if "\x00" in text:
        raise TextContainsNul("the human-readable part cannot contain NUL")
    body = text.encode("utf-8")
    if not tlvs:
        return body
    return body + b"\x00" + encode_tlvs(tlvs)


def decode_payload(plaintext: bytes) -> Payload:
    """Split a decrypted data message into text and TLVs, as a receiver does.

    Unknown record types are set aside; a truncated or malformed record stops
    TLV processing (spec §TLV Record Types).  Raises :class:`InvalidPayloadText`
    when the human-readable part is not UTF-8.
    """
    nul = plaintext.find(b"\x00")
    raw_text, rest = (plaintext, b"") if nul < 0 else (plaintext[:nul], plaintext[nul + 1:])
    try:
        text = raw_text.decode("utf-8")
    except UnicodeDecodeError as e:
        raise InvalidPayloadText(f"message text is not UTF-8: {e.reason}") from None
    known: list[TLV] = []
    positions: list[int] = []
    unknown: list[TLV] = []
    pos = 0
    index = 0
    corrupted = False
    while pos < len(rest):
        try:
            tlv, pos = _read_one(rest, pos)
            _check_known(tlv)
        except (TruncatedTLV, MalformedTLVValue):
            corrupted = True
            break
        if tlv.known_type is None:
            unknown.append(tlv)
        else:
            known.append(tlv)
            positions.append(index)
        index += 1
    return Payload(text, tuple(known), tuple(positions), tuple(unknown), corrupted)
