"""The Data Message wire type (spec §Data Message Format).

::

    Protocol version               SHORT  0x0004
    Message type                   BYTE   0x03
    Sender's instance tag          INT
    Receiver's instance tag        INT
    Flags                          BYTE   IGNORE_UNREADABLE = 0x01
    Previous chain message number  INT    pn
    Ratchet id                     INT    i
    Message id                     INT    j
    Public ECDH key                POINT  57 bytes
    Public DH key                  MPI    length 0 when absent
    Encrypted message              DATA
    Authenticator                  MAC    64 bytes, over everything above
    Old MAC keys to be revealed    DATA   a multiple of 64 bytes

:class:`DataMessage` only parses and serializes.  It keeps the ECDH key as
its 57 raw bytes and the DH key as an integer (``None`` when absent); the
double ratchet (:mod:`otrv4.ratchet`) validates both when it uses them, checks
the authenticator before decrypting, and rolls back on any failure.

The authenticator (ambiguity 3, decided here) is
``HCMAC(usage_authenticator || MKmac || sections, 64)`` where ``sections`` is
the encoding from the protocol version to the end of the encrypted message.
"""

from __future__ import annotations

import hmac
import struct
from dataclasses import dataclass

from .decisions import Decision, register
from .encoding import (
    MAC_BYTES,
    POINT_BYTES,
    PROTOCOL_VERSION,
    Header,
    MessageType,
    OutOfRangeError,
    Reader,
    Writer,
)
from .errors import DecodeError
from .primitives.kdf import UsageID, kdf_for

__all__ = [
    "FLAG_IGNORE_UNREADABLE",
    "MAC_KEY_BYTES",
    "DataMessage",
    "RevealedMacKeysLengthError",
    "UnknownFlagsError",
    "compute_authenticator",
    "verify_authenticator",
]

FLAG_IGNORE_UNREADABLE = 0x01
MAC_KEY_BYTES = 64
_KNOWN_FLAGS = FLAG_IGNORE_UNREADABLE


class RevealedMacKeysLengthError(DecodeError):
    """The "old MAC keys" field is not a whole number of 64-byte keys."""


class UnknownFlagsError(DecodeError):
    """The flags byte has bits set that OTRv4 does not define."""


@dataclass(frozen=True)
class DataMessage:
    """One OTRv4 Data Message (spec §Data Message Format)."""

    sender_tag: int
    receiver_tag: int
    flags: int
    previous_chain_length: int
    ratchet_id: int
    message_id: int
    ecdh_public: bytes
    dh_public: int | None
    ciphertext: bytes
    authenticator: bytes = bytes(MAC_BYTES)
    revealed_mac_keys: bytes = b""

    @property
    def ignore_unreadable(self) -> bool:
        """Whether the IGNORE_UNREADABLE flag is set."""
        return bool(self.flags & FLAG_IGNORE_UNREADABLE)

    @property
    def mac_keys(self) -> tuple[bytes, ...]:
        """The revealed MAC keys, split into 64-byte keys."""
        r = self.revealed_mac_keys
        return tuple(r[n:n + MAC_KEY_BYTES] for n in range(0, len(r), MAC_KEY_BYTES))

    def authenticated_sections(self) -> bytes:
        """The bytes the authenticator covers: protocol version to end of encrypted message.

        Computed once per message and kept (a decoded message keeps the slice of
        the bytes it was decoded from, which is the same encoding: every field has
        one encoding).  Raises :class:`otrv4.encoding.OutOfRangeError` for fields
        that do not fit.
        """
        cached: bytes | None = self.__dict__.get("_sections")
        if cached is None:
            cached = _encode_sections(
                self.sender_tag, self.receiver_tag, self.flags, self.previous_chain_length,
                self.ratchet_id, self.message_id, self.ecdh_public, self.dh_public,
                self.ciphertext)
            object.__setattr__(self, "_sections", cached)
        return cached

    @classmethod
    def signed(
        cls, mac_key: bytes, sender_tag: int, receiver_tag: int, flags: int,
        previous_chain_length: int, ratchet_id: int, message_id: int, ecdh_public: bytes,
        dh_public: int | None, ciphertext: bytes, revealed_mac_keys: bytes = b"",
    ) -> DataMessage:
        """A message with these fields and its authenticator computed under ``mac_key`` (spec
        §When you send a Data Message): the sections are encoded once, for the MAC and for
        :meth:`encode`, and the message is built once.  Raises
        :class:`otrv4.encoding.OutOfRangeError` for fields that do not fit."""
        sections = _encode_sections(sender_tag, receiver_tag, flags, previous_chain_length,
                                    ratchet_id, message_id, ecdh_public, dh_public, ciphertext)
        return cls._make(sender_tag, receiver_tag, flags, previous_chain_length, ratchet_id,
                         message_id, ecdh_public, dh_public, ciphertext,
                         _authenticator(mac_key + sections), revealed_mac_keys, sections)

    @classmethod
    def _make(
        cls, sender_tag: int, receiver_tag: int, flags: int, previous_chain_length: int,
        ratchet_id: int, message_id: int, ecdh_public: bytes, dh_public: int | None,
        ciphertext: bytes, authenticator: bytes, revealed_mac_keys: bytes, sections: bytes,
    ) -> DataMessage:
        """The message with these fields and its known ``sections``, for :meth:`signed` and
        :meth:`decode`: one update of the instance dictionary instead of the frozen
        ``__init__``'s eleven ``object.__setattr__`` calls (a test holds the two equal)."""
        message = object.__new__(cls)
        fields = message.__dict__
        fields["sender_tag"] = sender_tag
        fields["receiver_tag"] = receiver_tag
        fields["flags"] = flags
        fields["previous_chain_length"] = previous_chain_length
        fields["ratchet_id"] = ratchet_id
        fields["message_id"] = message_id
        fields["ecdh_public"] = ecdh_public
        fields["dh_public"] = dh_public
        fields["ciphertext"] = ciphertext
        fields["authenticator"] = authenticator
        fields["revealed_mac_keys"] = revealed_mac_keys
        fields["_sections"] = sections
        return message

    def with_authenticator(self, mac_key: bytes) -> DataMessage:
        """This message with its authenticator computed under ``mac_key`` (see :meth:`signed`).
        Raises :class:`otrv4.encoding.OutOfRangeError`."""
        return self.signed(mac_key, self.sender_tag, self.receiver_tag, self.flags,
                           self.previous_chain_length, self.ratchet_id, self.message_id,
                           self.ecdh_public, self.dh_public, self.ciphertext,
                           self.revealed_mac_keys)

    def encode(self) -> bytes:
        """Serialize the whole message.  Raises :class:`otrv4.encoding.OutOfRangeError`."""
        authenticator, revealed = self.authenticator, self.revealed_mac_keys
        if len(authenticator) != MAC_BYTES:
            raise OutOfRangeError(f"expected {MAC_BYTES} bytes, got {len(authenticator)}")
        if len(revealed) > _U32:
            raise OutOfRangeError(f"INT {len(revealed)} is outside [0, {_U32}]")
        return b"".join((self.authenticated_sections(), authenticator,
                         _LENGTH.pack(len(revealed)), revealed))

    @classmethod
    def decode(cls, data: bytes) -> DataMessage:
        """Parse a binary Data Message (spec §Data Message Format).

        Raises the header errors of :meth:`otrv4.encoding.Header.read`,
        :class:`otrv4.encoding.TruncatedError`,
        :class:`otrv4.encoding.NonMinimalMPIError`,
        :class:`otrv4.encoding.TrailingDataError`, :class:`UnknownFlagsError`
        and :class:`RevealedMacKeysLengthError`.  The ECDH and DH keys are not
        validated here (the ratchet does it).
        """
        data = bytes(data)
        # One pass with fixed offsets for a well-formed message; anything the pass does not
        # accept goes to the field-by-field reader, which names the error.
        size = len(data)
        if size >= _MIN_BYTES and data[:3] == _VERSION_AND_TYPE:
            sender, receiver, flags, pn, rid, mid, n_dh = _FIXED_AND_DH_LENGTH.unpack_from(data)
            ct_at = _DH_AT + n_dh
            if (not flags & ~_KNOWN_FLAGS and ct_at + 4 <= size
                    and (n_dh == 0 or data[_DH_AT] != 0)):
                mac_at = ct_at + 4 + _LENGTH.unpack_from(data, ct_at)[0]
                revealed_at = mac_at + MAC_BYTES + 4
                if revealed_at <= size:
                    n_revealed = size - revealed_at
                    if (_LENGTH.unpack_from(data, revealed_at - 4)[0] == n_revealed
                            and not n_revealed % MAC_KEY_BYTES):
                        return cls._make(
                            sender, receiver, flags, pn, rid, mid, data[_ECDH_AT:_ECDH_END],
                            int.from_bytes(data[_DH_AT:ct_at], "big") if n_dh else None,
                            data[ct_at + 4:mac_at], data[mac_at:mac_at + MAC_BYTES],
                            data[revealed_at:], data[:mac_at])
        return cls._read(data)

    @classmethod
    def _read(cls, data: bytes) -> DataMessage:
        """:meth:`decode`, field by field, with the error of the first field that fails."""
        r = Reader(data, "Data Message")
        header = Header.read(r, MessageType.DATA)
        flags = r.read_byte("flags")
        if flags & ~_KNOWN_FLAGS:
            raise UnknownFlagsError(f"undefined flag bits {flags & ~_KNOWN_FLAGS:#04x}")
        pn = r.read_int("previous chain message number")
        ratchet_id = r.read_int("ratchet id")
        message_id = r.read_int("message id")
        ecdh = r.read_point("public ECDH key")
        dh = r.read_mpi("public DH key")
        ciphertext = r.read_data("encrypted message")
        sections = r.consumed_since(0)
        authenticator = r.read_mac("authenticator")
        revealed = r.read_data("old MAC keys")
        r.finish()
        if len(revealed) % MAC_KEY_BYTES:
            raise RevealedMacKeysLengthError(
                f"{len(revealed)} bytes of old MAC keys is not a multiple of 64"
            )
        message = cls(header.sender_tag, header.receiver_tag, flags, pn, ratchet_id, message_id,
                      ecdh, dh or None, ciphertext, authenticator, revealed)
        object.__setattr__(message, "_sections", sections)
        return message


#: version, type, sender tag, receiver tag, flags, pn, ratchet id, message id.
_FIXED = struct.Struct(">HBIIBIII")
#: After the version and type: the tags, flags, pn, ids, (the ECDH key,) the DH key's length.
_FIXED_AND_DH_LENGTH = struct.Struct(f">3xIIBIII{POINT_BYTES}xI")
_VERSION_AND_TYPE = PROTOCOL_VERSION.to_bytes(2, "big") + bytes((MessageType.DATA,))
_DATA_TYPE = int(MessageType.DATA)
_LENGTH = struct.Struct(">I")
_U32 = 0xFFFF_FFFF
#: The MPI of an absent DH key: length 0.
_NO_DH = bytes(4)
_ECDH_AT = _FIXED.size
_ECDH_END = _ECDH_AT + POINT_BYTES
#: Offset of the DH key's magnitude (after its 4-byte length).
_DH_AT = _FIXED_AND_DH_LENGTH.size
#: The shortest Data Message: no DH key, empty ciphertext, no revealed MAC keys.
_MIN_BYTES = _DH_AT + 4 + MAC_BYTES + 4
_authenticator = kdf_for(UsageID.AUTHENTICATOR, MAC_BYTES)


def _encode_sections(sender_tag: int, receiver_tag: int, flags: int, pn: int, ratchet_id: int,
                     message_id: int, ecdh_public: bytes, dh_public: int | None,
                     ciphertext: bytes) -> bytes:
    """The authenticated sections of a message with these fields (see
    :meth:`DataMessage.authenticated_sections`).  Raises :class:`otrv4.encoding.OutOfRangeError`."""
    try:
        if len(ecdh_public) != POINT_BYTES:
            raise OverflowError
        if dh_public:  # a negative value or an over-long field fails the packing below
            n_dh = (dh_public.bit_length() + 7) >> 3
            dh_field = _LENGTH.pack(n_dh) + dh_public.to_bytes(n_dh, "big")
        else:
            dh_field = _NO_DH
        return b"".join((
            _FIXED.pack(PROTOCOL_VERSION, _DATA_TYPE, sender_tag, receiver_tag, flags,
                        pn, ratchet_id, message_id),
            ecdh_public, dh_field, _LENGTH.pack(len(ciphertext)), ciphertext))
    except (struct.error, OverflowError):
        pass
    # A field does not fit: the field-by-field writer names it.
    w = Writer()
    w.put_raw(Header(MessageType.DATA, sender_tag, receiver_tag).encode())
    w.put_byte(flags).put_int(pn).put_int(ratchet_id).put_int(message_id)
    w.put_raw(ecdh_public, POINT_BYTES).put_mpi(dh_public or 0).put_data(ciphertext)
    return w.value()


def compute_authenticator(mac_key: bytes, sections: bytes) -> bytes:
    """``HCMAC(usage_authenticator || MKmac || sections, 64)`` (spec §When you send a Data Message).

    Raises nothing.
    """
    return _authenticator(mac_key + sections)


def verify_authenticator(mac_key: bytes, message: DataMessage) -> bool:
    """Whether ``message.authenticator`` is right for ``mac_key`` (constant-time comparison)."""
    expected = compute_authenticator(mac_key, message.authenticated_sections())
    return hmac.compare_digest(expected, message.authenticator)


register(Decision(
    number=3,
    title="The data message's MAC function",
    question=(
        "otrv4.md computes the data message's Authenticator with 'HWMAC(usage_authenticator || "
        "MKmac || data_message_sections, 64)', but defines no function called HWMAC; it defines "
        "KDF, HWC and HCMAC, all SHAKE-256 with the 'OTRv4' prefix."
    ),
    decision=(
        "Authenticator = HCMAC(usage_authenticator || MKmac || sections, 64) = SHAKE-256('OTRv4' "
        "|| 0x18 || MKmac || sections, 64), where sections is the message from the protocol "
        "version to the end of the Encrypted message field (the DATA length included), and the "
        "old MAC keys are not covered."
    ),
    reason=(
        "HCMAC is the only MAC the specification defines, usage_authenticator (0x18) is the usage "
        "ID the sentence names, and the three functions differ only in name, so reading 'HWMAC' "
        "as HCMAC changes no byte whichever of them was meant."
    ),
    others=(
        "libotr-ng computes the same SHAKE-256 construction but with its older usage-ID "
        "numbering (authenticator 0x1A) and an XSalsa20 nonce field inside the MAC'd sections, "
        "so its tags differ from ours."
    ),
    vector="data-message",
))
