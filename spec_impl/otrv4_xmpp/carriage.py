"""Message carriage: OTRv4 messages in the ``<otr/>`` element of a message stanza.

Implements the binding's "Message Carriage" section.  One ``<otr/>`` element
carries one ``<payload/>`` per receiving instance (device), each the base64 of
one complete OTRv4 message (never fragmented, never ``?OTR:``-wrapped).  The
stanza around it carries a human-readable ``<body/>`` fallback, the XEP-0380
``<encryption/>`` marker and the processing hints of its delivery class:

* :attr:`Delivery.STORED` (Data and Non-Interactive-Auth messages): to the
  peer's *bare* JID, ``<store/>`` so offline devices get it from offline storage
  or the archive; carbons allowed (they are how the sender's own online devices
  get their payloads).
* :attr:`Delivery.LIVE` (Identity, Auth-R, Auth-I): to one *full* JID,
  ``<no-store/>``, ``<no-copy/>`` and carbons ``<private/>``: worthless later,
  and must not be replayed from an archive.

The receiving side (:func:`parse_message`, :func:`payload_for`) checks every
rule the schema cannot: each payload decodes as an OTRv4 message of a type that
may travel here, its header's instance tags agree with the element's
attributes, and all payloads of one stanza share one delivery class.
"""

from __future__ import annotations

import base64
import binascii
import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypeAlias
from xml.etree import ElementTree as ET

from lxml import etree

from otrv4.encoding import PROTOCOL_VERSION, MessageType, read_instance_tags
from otrv4.errors import DecodeError, ValidationError
from otrv4.instance_tag import UNKNOWN_RECEIVER, is_valid_instance_tag

from .namespaces import NS_CARBONS, NS_CLIENT, NS_EME, NS_HINTS, NS_OTR4

__all__ = [
    "DELIVERY_OF",
    "FALLBACK_BODY",
    "MAX_PAYLOADS",
    "MAX_PAYLOAD_CHARS",
    "MAX_STANZA_BYTES",
    "AddressingError",
    "AnyElement",
    "Delivery",
    "DuplicateReceiverError",
    "InvalidPayloadBase64Error",
    "InvalidTagTextError",
    "MalformedOtrElementError",
    "MixedDeliveryError",
    "NoPayloadForDeviceError",
    "NotAnOtrStanzaError",
    "OtrElement",
    "OtrPayload",
    "PayloadCountError",
    "PayloadReceiverMismatchError",
    "PayloadSenderMismatchError",
    "PayloadTooLargeError",
    "ReceivedOtr",
    "StanzaTooLargeError",
    "UnsupportedPayloadError",
    "ZeroReceiverError",
    "build_message",
    "is_bare_jid",
    "is_padded_base64",
    "parse_message",
    "parse_tag",
    "payload_for",
    "tag_text",
]

#: Payloads in one ``<otr/>``: the peer's devices plus the sender's other devices
#: (8 devices per account at most, see :mod:`otrv4_xmpp.devices`, minus the sender).
MAX_PAYLOADS = 15

#: Base64 characters in one payload (45000 bytes of OTRv4 message): one payload and the
#: rest of its stanza fit in :data:`MAX_STANZA_BYTES`.
MAX_PAYLOAD_CHARS = 60000

#: The largest stanza a sender builds, in UTF-8 octets of its serialized form.
MAX_STANZA_BYTES = 65536

#: The ``<body/>`` a client without this binding shows instead of the message.
FALLBACK_BODY = ("This message is encrypted with OTRv4 (OTRv4 over XMPP), "
                 "which your client does not support.")

_TAG_TEXT = re.compile(r"[0-9a-f]{8}")
_OTR = f"{{{NS_OTR4}}}otr"
_PAYLOAD = f"{{{NS_OTR4}}}payload"
#: White space in XML (the schema allows only these between elements; ``str.strip()``
#: alone would also take other Unicode spaces).
_XML_SPACE = " \t\r\n"

#: An element as lxml or the standard library (slixmpp) parsed it: the readers of this
#: module take either, so a client reads a received stanza without copying it first.
AnyElement: TypeAlias = "etree._Element | ET.Element"
#: Padded base64 is this pattern with a length that is a multiple of 4 (the same strings as
#: ``(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?``, which Python's
#: regular expressions match group by group, several times slower on a kilobyte).
_B64_TEXT = re.compile(r"[A-Za-z0-9+/]*={0,2}")


class NotAnOtrStanzaError(DecodeError):
    """The stanza is not a message stanza with one ``<otr/>`` element."""


class MalformedOtrElementError(DecodeError):
    """``<otr/>`` or a ``<payload/>`` lacks a required attribute or has unexpected content."""


class InvalidTagTextError(DecodeError):
    """An instance tag attribute is not 8 lowercase hex digits of a valid tag."""


class InvalidPayloadBase64Error(DecodeError):
    """A payload's text is not padded base64 of the standard alphabet."""


class PayloadCountError(ValidationError):
    """``<otr/>`` holds no payload or more than :data:`MAX_PAYLOADS`."""


class PayloadTooLargeError(ValidationError):
    """A payload's text is longer than :data:`MAX_PAYLOAD_CHARS`."""


class DuplicateReceiverError(ValidationError):
    """Two payloads of one ``<otr/>`` name the same receiver."""


class UnsupportedPayloadError(DecodeError):
    """A payload is not an OTRv4 message that may be carried here (version 4; Data,
    Non-Interactive-Auth, Identity, Auth-R or Auth-I)."""


class PayloadSenderMismatchError(ValidationError):
    """A payload's sender instance tag differs from the ``sender`` attribute."""


class PayloadReceiverMismatchError(ValidationError):
    """A payload's receiver instance tag differs from its ``receiver`` attribute."""


class ZeroReceiverError(ValidationError):
    """Receiver ``00000000`` on a payload other than an Identity message."""


class MixedDeliveryError(ValidationError):
    """One ``<otr/>`` mixes messages for stored and for live delivery."""


class AddressingError(ValidationError):
    """A stored-delivery stanza to a full JID, or a live-delivery stanza to a bare JID."""


class StanzaTooLargeError(ValidationError):
    """The built stanza is larger than :data:`MAX_STANZA_BYTES`."""


class NoPayloadForDeviceError(ValidationError):
    """The stanza holds no payload for this device's instance tag."""


class Delivery(enum.Enum):
    """How a stanza travels, by the kind of OTRv4 message it carries."""

    STORED = "stored"
    """To the bare JID; kept by offline storage and archives; carbons allowed."""
    LIVE = "live"
    """To one full JID; never stored, never copied."""


#: The delivery class of every message type that travels in ``<otr/>``.
DELIVERY_OF: dict[MessageType, Delivery] = {
    MessageType.DATA: Delivery.STORED,
    MessageType.NON_INTERACTIVE_AUTH: Delivery.STORED,
    MessageType.IDENTITY: Delivery.LIVE,
    MessageType.AUTH_R: Delivery.LIVE,
    MessageType.AUTH_I: Delivery.LIVE,
}

#: The message types that travel in ``<otr/>``, by their type byte.
_CARRIED: dict[int, MessageType] = {int(kind): kind for kind in DELIVERY_OF}
_VERSION = PROTOCOL_VERSION.to_bytes(2, "big")

_HINTS: dict[Delivery, tuple[tuple[str, str], ...]] = {
    Delivery.STORED: ((NS_HINTS, "store"),),
    Delivery.LIVE: ((NS_HINTS, "no-store"), (NS_HINTS, "no-copy"), (NS_CARBONS, "private")),
}


def is_bare_jid(jid: str) -> bool:
    """True when ``jid`` has no resource part."""
    return "/" not in jid


def is_padded_base64(text: str) -> bool:
    """Whether ``text`` is what ``<payload/>`` holds: at least one group of four characters
    of the base64 alphabet, the last group padded with ``=`` (RFC 4648 §4), nothing else."""
    return len(text) >= 4 and len(text) % 4 == 0 and _B64_TEXT.fullmatch(text) is not None


def tag_text(tag: int) -> str:
    """An instance tag as this binding writes it in attributes: 8 lowercase hex digits."""
    return f"{tag:08x}"


def parse_tag(text: str | None, *, allow_zero: bool = False) -> int:
    """Read an instance tag attribute (8 lowercase hex digits).

    Raises :class:`InvalidTagTextError` for other text, for a tag below 0x100,
    and for ``00000000`` unless ``allow_zero``.
    """
    if text is None or not _TAG_TEXT.fullmatch(text):
        raise InvalidTagTextError(f"instance tag {text!r} is not 8 lowercase hex digits")
    tag = int(text, 16)
    if tag == UNKNOWN_RECEIVER and allow_zero:
        return tag
    if not is_valid_instance_tag(tag):
        raise InvalidTagTextError(f"instance tag {text} is below 00000100")
    return tag


@dataclass(frozen=True)
class OtrPayload:
    """One OTRv4 message for one receiving instance (``receiver`` 0: not yet known)."""

    receiver: int
    data: bytes

    @property
    def message_type(self) -> MessageType:
        """The OTRv4 message type in the payload's header.

        Raises :class:`UnsupportedPayloadError` when the header is not version 4
        or the type is not one of :data:`DELIVERY_OF`.
        """
        data = self.data
        kind = _CARRIED.get(data[2]) if len(data) >= 3 and data[:2] == _VERSION else None
        if kind is not None:
            return kind
        if len(data) < 3 or int.from_bytes(data[:2], "big") != PROTOCOL_VERSION:
            raise UnsupportedPayloadError("payload is not an OTR version 4 message")
        try:
            other = MessageType(data[2])
        except ValueError:
            raise UnsupportedPayloadError(
                f"payload message type {data[2]:#04x} is unknown") from None
        raise UnsupportedPayloadError(f"a {other.spec_name} does not travel in <otr/>")

    def header_tags(self) -> tuple[int, int]:
        """``(sender, receiver)`` instance tags from the message header (spec §Message
        header).  Raises :class:`UnsupportedPayloadError` for a short or foreign payload."""
        self.message_type  # noqa: B018  (validates version and type)
        return self._tags()

    def _tags(self) -> tuple[int, int]:
        """The header's tags, the type being one that travels here.  Raises
        :class:`UnsupportedPayloadError` for a payload shorter than a header."""
        try:
            return read_instance_tags(self.data)
        except DecodeError:
            raise UnsupportedPayloadError(
                "payload shorter than an OTRv4 message header") from None


@dataclass(frozen=True)
class OtrElement:
    """The ``<otr/>`` element: the sending instance and one payload per receiver."""

    sender: int
    payloads: tuple[OtrPayload, ...]

    @classmethod
    def of(cls, sender: int, messages: Iterable[tuple[int, bytes]]) -> OtrElement:
        """Build from ``(receiver tag, encoded OTRv4 message)`` pairs, sorted by receiver,
        and check it (see :meth:`check`)."""
        element = cls(sender, tuple(sorted((OtrPayload(r, d) for r, d in messages),
                                           key=lambda p: p.receiver)))
        element.check()
        return element

    @property
    def delivery(self) -> Delivery:
        """The delivery class shared by every payload (checked by :meth:`check`)."""
        return DELIVERY_OF[self.payloads[0].message_type]

    def check(self) -> None:
        """Every rule of the Message Carriage section the schema does not state, and those
        of the schema's rules that bytes can break (payload count and size, one payload
        per receiver).

        Raises :class:`PayloadCountError`, :class:`DuplicateReceiverError`,
        :class:`PayloadTooLargeError`, :class:`UnsupportedPayloadError`,
        :class:`PayloadSenderMismatchError`, :class:`PayloadReceiverMismatchError`,
        :class:`ZeroReceiverError`, :class:`MixedDeliveryError`,
        :class:`InvalidTagTextError` (a sender tag below 0x100).
        """
        if not is_valid_instance_tag(self.sender):
            raise InvalidTagTextError(f"sender tag {self.sender:#010x} is below 0x100")
        if not 1 <= len(self.payloads) <= MAX_PAYLOADS:
            raise PayloadCountError(f"{len(self.payloads)} payloads; 1 to {MAX_PAYLOADS} allowed")
        receivers = [p.receiver for p in self.payloads]
        if len(set(receivers)) != len(receivers):
            raise DuplicateReceiverError("two payloads for one receiver")
        classes = set()
        for p in self.payloads:
            if (len(p.data) + 2) // 3 * 4 > MAX_PAYLOAD_CHARS:
                raise PayloadTooLargeError(f"payload of {len(p.data)} bytes; its base64 is "
                                           f"over {MAX_PAYLOAD_CHARS} characters")
            kind = p.message_type
            classes.add(DELIVERY_OF[kind])
            if p.receiver == UNKNOWN_RECEIVER and kind is not MessageType.IDENTITY:
                raise ZeroReceiverError(
                    f"receiver 00000000 on a {kind.spec_name}; only an Identity "
                    "message may be sent before the receiver's tag is known")
            sender, receiver = p._tags()
            if sender != self.sender:
                raise PayloadSenderMismatchError(
                    f"payload sent by {tag_text(sender)} inside <otr sender="
                    f"'{tag_text(self.sender)}'>")
            if receiver != p.receiver:
                raise PayloadReceiverMismatchError(
                    f"payload for {tag_text(receiver)} in <payload receiver="
                    f"'{tag_text(p.receiver)}'>")
        if len(classes) > 1:
            raise MixedDeliveryError("stored and live messages in one <otr/>")

    def to_element(self) -> etree._Element:
        """The ``<otr/>`` element (payloads in the stored order)."""
        otr = etree.Element(f"{{{NS_OTR4}}}otr", {"sender": tag_text(self.sender)},
                            nsmap={None: NS_OTR4})  # type: ignore[dict-item]  # stubs: str keys
        for p in self.payloads:
            el = etree.SubElement(otr, f"{{{NS_OTR4}}}payload",
                                  {"receiver": tag_text(p.receiver)})
            el.text = base64.b64encode(p.data).decode("ascii")
        return otr

    @classmethod
    def from_element(cls, otr: AnyElement) -> OtrElement:
        """Read and check an ``<otr/>`` element.

        The structural checks are every rule of the ``<otr/>`` element in
        ``schemas/otr4.xsd`` (attributes, children, the patterns of instance tags
        and of base64, the length limits, one payload per receiver, only XML
        white space between elements), so a tree without comments or processing
        instructions (as slixmpp parses a stanza) passes them exactly when it is
        valid by the schema; ``tests/binding/test_carriage_schema.py`` holds the two
        to that.  A comment or processing instruction among the children is
        refused (the schema would allow it).

        Raises :class:`MalformedOtrElementError`, :class:`InvalidTagTextError`,
        :class:`InvalidPayloadBase64Error`, :class:`PayloadTooLargeError` and what
        :meth:`check` raises.
        """
        if otr.tag != _OTR:
            raise MalformedOtrElementError(f"expected <otr/>, found {otr.tag}")
        extra = set(otr.attrib) - {"sender"}
        if extra:
            raise MalformedOtrElementError(f"unknown attribute on <otr/>: {sorted(extra)}")
        sender = parse_tag(otr.get("sender"))
        if (otr.text or "").strip(_XML_SPACE):
            raise MalformedOtrElementError("<otr/> holds text")
        payloads: list[OtrPayload] = []
        if len(otr) > MAX_PAYLOADS:
            raise PayloadCountError(f"{len(otr)} payloads; at most {MAX_PAYLOADS} allowed")
        for child in otr:
            if child.tag != _PAYLOAD:
                raise MalformedOtrElementError(f"unexpected element {child.tag} in <otr/>")
            if len(child.attrib) != 1 or "receiver" not in child.attrib or len(child):
                raise MalformedOtrElementError(
                    "<payload/> takes one attribute, 'receiver', and text only")
            if (child.tail or "").strip(_XML_SPACE):
                raise MalformedOtrElementError("<otr/> holds text")
            receiver = parse_tag(child.get("receiver"), allow_zero=True)
            text = child.text or ""
            if len(text) > MAX_PAYLOAD_CHARS:
                raise PayloadTooLargeError(f"payload of {len(text)} characters")
            if not is_padded_base64(text):
                raise InvalidPayloadBase64Error("payload text is not padded base64")
            try:
                data = binascii.a2b_base64(text)
            except binascii.Error as exc:  # pragma: no cover - the pattern rules it out
                raise InvalidPayloadBase64Error(str(exc)) from None
            payloads.append(OtrPayload(receiver, data))
        element = cls(sender, tuple(payloads))
        element.check()
        return element


def _c(local: str) -> str:
    return f"{{{NS_CLIENT}}}{local}"


def build_message(otr: OtrElement, *, sender: str, to: str, stanza_id: str,
                  body: str = FALLBACK_BODY) -> etree._Element:
    """The message stanza that carries ``otr`` (Message Carriage section).

    ``type='chat'``; ``<body/>`` fallback first (the stanza schema puts body
    before extensions), then ``<otr/>``, the EME marker and the hints of the
    delivery class.  Raises :class:`AddressingError` when ``to`` is a full JID
    for stored delivery or a bare JID for live delivery,
    :class:`StanzaTooLargeError`, and what :meth:`OtrElement.check` raises.
    """
    otr.check()
    delivery = otr.delivery
    if delivery is Delivery.STORED and not is_bare_jid(to):
        raise AddressingError(f"stored delivery goes to the bare JID, not {to}")
    if delivery is Delivery.LIVE and is_bare_jid(to):
        raise AddressingError(f"live delivery goes to one full JID, not {to}")
    msg = etree.Element(_c("message"), {"from": sender, "to": to, "id": stanza_id,
                                        "type": "chat"},
                        nsmap={None: NS_CLIENT})  # type: ignore[dict-item]
    etree.SubElement(msg, _c("body")).text = body
    msg.append(otr.to_element())
    etree.SubElement(msg, f"{{{NS_EME}}}encryption",
                     {"namespace": NS_OTR4, "name": "OTRv4"},
                     nsmap={None: NS_EME})  # type: ignore[dict-item]
    for ns, local in _HINTS[delivery]:
        etree.SubElement(msg, f"{{{ns}}}{local}", nsmap={None: ns})  # type: ignore[dict-item]
    size = len(etree.tostring(msg, encoding="utf-8"))
    if size > MAX_STANZA_BYTES:
        raise StanzaTooLargeError(f"stanza of {size} bytes; at most {MAX_STANZA_BYTES}")
    return msg


@dataclass(frozen=True)
class ReceivedOtr:
    """What a receiving device reads from a message stanza with ``<otr/>``."""

    sender_jid: str
    to: str
    stanza_id: str | None
    otr: OtrElement
    hints: frozenset[str]
    """Local names of the XEP-0334 hints and carbons ``private`` present."""

    @property
    def delivery(self) -> Delivery:
        """The delivery class of the carried messages."""
        return self.otr.delivery


def parse_message(stanza: AnyElement, *, sender_jid: str | None = None,
                  to: str | None = None) -> ReceivedOtr:
    """Read a message stanza carrying ``<otr/>`` (Message Carriage section);
    ``sender_jid`` and ``to``: the addresses as the client's stream read them
    (default: the stanza's ``from`` and ``to`` attributes).

    Raises :class:`NotAnOtrStanzaError` (not a message, or zero or several
    ``<otr/>``) and what :meth:`OtrElement.from_element` raises.  Addressing and
    hints are reported, not enforced: a stanza that reached us through a
    carbon or an archive has other addresses (see :mod:`otrv4_xmpp.policy`).
    """
    if stanza.tag != _c("message"):
        raise NotAnOtrStanzaError(f"not a message stanza: {stanza.tag}")
    found = stanza.findall(f"{{{NS_OTR4}}}otr")
    if len(found) != 1:
        raise NotAnOtrStanzaError(f"{len(found)} <otr/> elements; exactly one expected")
    hints = frozenset(local for ns, local in map(_split_tag, stanza)
                      if ns in (NS_HINTS, NS_CARBONS))
    return ReceivedOtr(stanza.get("from", "") if sender_jid is None else sender_jid,
                       stanza.get("to", "") if to is None else to, stanza.get("id"),
                       OtrElement.from_element(found[0]), hints)


def _split_tag(el: AnyElement) -> tuple[str | None, str]:
    """``(namespace, local name)`` of an element; ``(None, "")`` for a comment or a
    processing instruction."""
    tag = el.tag
    if not isinstance(tag, str):
        return None, ""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def payload_for(received: ReceivedOtr, our_tag: int) -> OtrPayload:
    """The payload addressed to ``our_tag``; a payload with receiver ``00000000`` is
    taken only when it is the only one (an Identity message to a device whose tag
    the sender did not know).  Raises :class:`NoPayloadForDeviceError`."""
    for p in received.otr.payloads:
        if p.receiver == our_tag:
            return p
    if len(received.otr.payloads) == 1 and received.otr.payloads[0].receiver == UNKNOWN_RECEIVER:
        return received.otr.payloads[0]
    raise NoPayloadForDeviceError(
        f"no payload for instance {tag_text(our_tag)} in this stanza")
