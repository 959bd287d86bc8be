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
from dataclasses import dataclass, replace

from .decisions import Decision, register
from .encoding import (
    MAC_BYTES,
    POINT_BYTES,
    Header,
    MessageType,
    Reader,
    Writer,
)
from .errors import DecodeError
from .primitives.kdf import UsageID, hcmac

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
            w = Writer()
            w.put_raw(Header(MessageType.DATA, self.sender_tag, self.receiver_tag).encode())
            w.put_byte(self.flags).put_int(self.previous_chain_length)
            w.put_int(self.ratchet_id).put_int(self.message_id)
            w.put_raw(self.ecdh_public, POINT_BYTES)
            w.put_mpi(self.dh_public or 0)
            w.put_data(self.ciphertext)
            cached = w.value()
            object.__setattr__(self, "_sections", cached)
        return cached

    def with_authenticator(self, mac_key: bytes) -> DataMessage:
        """This message with its authenticator computed under ``mac_key`` (spec §When you
        send a Data Message), the authenticated sections encoded once for both the MAC
        and :meth:`encode`.  Raises :class:`otrv4.encoding.OutOfRangeError`."""
        sections = self.authenticated_sections()
        signed = replace(self, authenticator=compute_authenticator(mac_key, sections))
        object.__setattr__(signed, "_sections", sections)
        return signed

    def encode(self) -> bytes:
        """Serialize the whole message.  Raises :class:`otrv4.encoding.OutOfRangeError`."""
        w = Writer().put_raw(self.authenticated_sections())
        w.put_raw(self.authenticator, MAC_BYTES)
        w.put_data(self.revealed_mac_keys)
        return w.value()

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


def compute_authenticator(mac_key: bytes, sections: bytes) -> bytes:
    """``HCMAC(usage_authenticator || MKmac || sections, 64)`` (spec §When you send a Data Message).

    Raises nothing.
    """
    return hcmac(UsageID.AUTHENTICATOR, mac_key + sections, MAC_BYTES)


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
