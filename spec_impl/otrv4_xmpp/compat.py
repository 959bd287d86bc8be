"""Compatibility: OTRv4 text messages in ``<body/>`` (section "Compatibility").

Clients written for otrv4.md alone send OTRv4 as text in the body: encoded
messages (``?OTR:...``), fragments (``?OTR|...``), query messages
(``?OTRv4?``), whitespace tags and OTR Error messages (``?OTR Error:``).  A
message stanza *without* ``<otr/>`` whose body is one of these is processed
as otrv4.md says, between one device and one device, addressed by the instance
tags inside the message; fragmentation applies to such bodies only.

Query and OTR Error messages are text by nature, so this binding sends them
this way too (to one full JID, with the live-delivery hints).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from lxml import etree

from otrv4.encoding import decode_encoded_message, encode_message
from otrv4.errors import DecodeError
from otrv4.plaintext import MessageKind, classify

from .carriage import AddressingError, Delivery, is_bare_jid
from .namespaces import NS_CARBONS, NS_CLIENT, NS_HINTS, NS_OTR4

__all__ = [
    "BodyKind",
    "CompatBody",
    "NotACompatBodyError",
    "build_body_message",
    "encoded_body",
    "parse_body_message",
]


class NotACompatBodyError(DecodeError):
    """The stanza has ``<otr/>``, no body, or a body that is plain text (not OTR)."""


class BodyKind(enum.Enum):
    """The OTR text kinds a body may hold (otrv4.md's classification)."""

    ENCODED = "encoded"
    FRAGMENT = "fragment"
    QUERY = "query"
    WHITESPACE_TAGGED = "whitespace-tagged"
    ERROR = "error"


_KINDS = {
    MessageKind.ENCODED: BodyKind.ENCODED,
    MessageKind.FRAGMENT: BodyKind.FRAGMENT,
    MessageKind.QUERY: BodyKind.QUERY,
    MessageKind.WHITESPACE_TAGGED: BodyKind.WHITESPACE_TAGGED,
    MessageKind.ERROR: BodyKind.ERROR,
}


@dataclass(frozen=True)
class CompatBody:
    """An OTR text body: its kind, the text, and (encoded messages) the binary message."""

    kind: BodyKind
    text: str
    message: bytes | None = None


def build_body_message(text: str, *, sender: str, to: str, stanza_id: str,
                       delivery: Delivery = Delivery.LIVE) -> etree._Element:
    """A message stanza whose body is OTR text (``?OTR:``, ``?OTRv4?``, ``?OTR Error:``).

    ``delivery`` picks the hints as for ``<otr/>`` stanzas.  Raises
    :class:`NotACompatBodyError` for plain text and
    :class:`~otrv4_xmpp.carriage.AddressingError` for a live stanza to a bare JID.
    """
    if classify(text) is MessageKind.PLAINTEXT:
        raise NotACompatBodyError("the body is plain text, not an OTR message")
    if delivery is Delivery.LIVE and is_bare_jid(to):
        raise AddressingError(f"live delivery goes to one full JID, not {to}")
    msg = etree.Element(f"{{{NS_CLIENT}}}message",
                        {"from": sender, "to": to, "id": stanza_id, "type": "chat"},
                        nsmap={None: NS_CLIENT})  # type: ignore[dict-item]
    etree.SubElement(msg, f"{{{NS_CLIENT}}}body").text = text
    hints = ((NS_HINTS, "store"),) if delivery is Delivery.STORED else (
        (NS_HINTS, "no-store"), (NS_HINTS, "no-copy"), (NS_CARBONS, "private"))
    for ns, local in hints:
        etree.SubElement(msg, f"{{{ns}}}{local}", nsmap={None: ns})  # type: ignore[dict-item]
    return msg


def encoded_body(message: bytes) -> str:
    """``?OTR:`` + base64 + ``.`` (otrv4.md §Encoded Messages)."""
    return encode_message(message)


def parse_body_message(stanza: etree._Element) -> CompatBody:
    """Classify the body of a stanza without ``<otr/>``.

    Raises :class:`NotACompatBodyError`, and for ``?OTR:`` bodies the decoding
    errors of :func:`otrv4.encoding.decode_encoded_message`.
    """
    if stanza.find(f"{{{NS_OTR4}}}otr") is not None:
        raise NotACompatBodyError("the stanza carries <otr/>; its body is a fallback")
    body = stanza.find(f"{{{NS_CLIENT}}}body")
    if body is None or not body.text:
        raise NotACompatBodyError("no body")
    kind = classify(body.text)
    if kind is MessageKind.PLAINTEXT:
        raise NotACompatBodyError("the body is plain text")
    out = _KINDS[kind]
    message = decode_encoded_message(body.text) if out is BodyKind.ENCODED else None
    return CompatBody(out, body.text, message)
