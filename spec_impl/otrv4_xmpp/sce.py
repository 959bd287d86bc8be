"""This binding's profile of Stanza Content Encryption (XEP-0420) (section
"Encrypting More Than Bodies").

An ``<envelope xmlns='urn:xmpp:sce:1'/>``, serialized as UTF-8, travels in a
TLV of the binding's own type :data:`SCE_TLV_TYPE` in the data message, whose
text part is then empty (:func:`sce_message`).  The TLV marks the content: a
receiver never takes text the user typed for an envelope, whatever it starts
with.  OTRv4 receivers ignore TLVs of types they do not know (otrv4.md §TLV
Types), so a device that does not implement this profile shows nothing rather
than XML.  The profile:

* ``<content/>`` holds the stanza's end-to-end elements: body, chat states
  (XEP-0085), receipts (XEP-0184), corrections (XEP-0308), file metadata
  (XEP-0446), ...; never what servers must see (hints, EME, stanza ids,
  addresses), which stay outside in the stanza;
* ``<from jid/>`` MUST be present and be the sender's bare JID; the receiver
  compares it with the account its session is with;
* ``<time stamp/>`` SHOULD be present (XEP-0082, UTC);
* ``<rpad/>`` MUST NOT be used: OTRv4's padding TLV (type 0) pads instead;
* ``<to/>`` is not used: the DAKE already binds both accounts (``phi``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from otrv4.errors import DecodeError, ValidationError
from otrv4.session import UserMessage
from otrv4.tlv import TLV

from .devices import format_expiry
from .namespaces import NS_CARBONS, NS_CLIENT, NS_EME, NS_HINTS, NS_SCE

__all__ = [
    "NS_CHATSTATES",
    "NS_RECEIPTS",
    "SCE_TLV_TYPE",
    "SERVER_NAMESPACES",
    "Envelope",
    "ForbiddenContentError",
    "FromMismatchError",
    "MissingFromAffixError",
    "NotAnEnvelopeError",
    "RpadNotAllowedError",
    "StanzaContent",
    "UnknownChatStateError",
    "build_envelope",
    "content_elements",
    "envelope_plaintext",
    "message_content",
    "parse_envelope",
    "read_content",
    "sce_message",
]

#: Namespaces of elements that servers process: they stay outside the envelope.
SERVER_NAMESPACES = frozenset({NS_HINTS, NS_EME, NS_CARBONS, "urn:xmpp:sid:0",
                               "http://jabber.org/protocol/address"})

NS_CHATSTATES = "http://jabber.org/protocol/chatstates"
NS_RECEIPTS = "urn:xmpp:receipts"
#: The chat states of XEP-0085.
CHAT_STATES = frozenset({"active", "composing", "paused", "inactive", "gone"})

#: The TLV type that carries an SCE envelope in an OTRv4 data message (this binding's;
#: otrv4.md defines types 0 to 7).
SCE_TLV_TYPE = 0x0100


class NotAnEnvelopeError(DecodeError):
    """The plaintext is not one well-formed ``<envelope/>`` of ``urn:xmpp:sce:1``."""


class MissingFromAffixError(ValidationError):
    """The envelope has no ``<from jid/>`` affix (the profile requires it)."""


class FromMismatchError(ValidationError):
    """``<from jid/>`` is not the bare JID the session is with."""


class RpadNotAllowedError(ValidationError):
    """The envelope has ``<rpad/>``; this profile pads with OTRv4's padding TLV."""


class UnknownChatStateError(ValidationError):
    """A chat state that XEP-0085 does not define."""


class ForbiddenContentError(ValidationError):
    """``<content/>`` holds an element servers must see (hints, EME, stanza ids, addresses)."""


@dataclass(frozen=True)
class Envelope:
    """A parsed envelope: the content elements, the sender's bare JID, the time."""

    content: tuple[etree._Element, ...]
    from_jid: str
    stamp: str | None


@dataclass(frozen=True)
class StanzaContent:
    """What an envelope's ``<content/>`` says, as a client shows it: the body, the chat
    state (XEP-0085), whether a delivery receipt is requested (XEP-0184), the id of a
    receipt it carries, and any other elements, untouched."""

    body: str | None = None
    chat_state: str | None = None
    receipt_request: bool = False
    receipt_for: str | None = None
    other: tuple[etree._Element, ...] = ()


def content_elements(content: StanzaContent) -> list[etree._Element]:
    """The elements of ``<content/>`` for ``content`` (body, chat state, receipt request
    or receipt, then the others).  Raises :class:`UnknownChatStateError`."""
    out: list[etree._Element] = []
    if content.body is not None:
        body = etree.Element(f"{{{NS_CLIENT}}}body",
                             nsmap={None: NS_CLIENT})  # type: ignore[dict-item]
        body.text = content.body
        out.append(body)
    if content.chat_state is not None:
        if content.chat_state not in CHAT_STATES:
            raise UnknownChatStateError(f"{content.chat_state!r} is not a chat state")
        out.append(etree.Element(f"{{{NS_CHATSTATES}}}{content.chat_state}",
                                 nsmap={None: NS_CHATSTATES}))  # type: ignore[dict-item]
    if content.receipt_request:
        out.append(etree.Element(f"{{{NS_RECEIPTS}}}request",
                                 nsmap={None: NS_RECEIPTS}))  # type: ignore[dict-item]
    if content.receipt_for is not None:
        out.append(etree.Element(f"{{{NS_RECEIPTS}}}received", {"id": content.receipt_for},
                                 nsmap={None: NS_RECEIPTS}))  # type: ignore[dict-item]
    out.extend(content.other)
    return out


def read_content(env: Envelope) -> StanzaContent:
    """What ``env``'s content says (:class:`StanzaContent`); unknown elements are kept in
    :attr:`StanzaContent.other`, an unknown chat state too."""
    body: str | None = None
    state: str | None = None
    request = False
    receipt_for: str | None = None
    other: list[etree._Element] = []
    for el in env.content:
        q = etree.QName(el)
        if q.namespace == NS_CLIENT and q.localname == "body" and body is None:
            body = el.text or ""
        elif q.namespace == NS_CHATSTATES and q.localname in CHAT_STATES and state is None:
            state = q.localname
        elif q.namespace == NS_RECEIPTS and q.localname == "request":
            request = True
        elif q.namespace == NS_RECEIPTS and q.localname == "received":
            receipt_for = el.get("id")
        else:
            other.append(el)
    return StanzaContent(body, state, request, receipt_for, tuple(other))


def _s(local: str) -> str:
    return f"{{{NS_SCE}}}{local}"


def _check_content(elements: Iterable[etree._Element]) -> None:
    for el in elements:
        if etree.QName(el).namespace in SERVER_NAMESPACES:
            raise ForbiddenContentError(f"{el.tag} must stay outside the envelope")


def build_envelope(content: Iterable[etree._Element], *, from_jid: str,
                   time: int | None) -> etree._Element:
    """The envelope of this profile (copies of ``content``, ``<from/>``, ``<time/>``).

    Raises :class:`ForbiddenContentError`.
    """
    items = [etree.fromstring(etree.tostring(c)) for c in content]
    _check_content(items)
    env = etree.Element(_s("envelope"), nsmap={None: NS_SCE})  # type: ignore[dict-item]
    box = etree.SubElement(env, _s("content"))
    for item in items:
        box.append(item)
    if time is not None:
        etree.SubElement(env, _s("time"), {"stamp": format_expiry(time)})
    etree.SubElement(env, _s("from"), {"jid": from_jid.split("/", 1)[0]})
    return env


def envelope_plaintext(env: etree._Element) -> bytes:
    """The UTF-8 text that becomes the data message's plaintext (no XML declaration)."""
    return etree.tostring(env, encoding="utf-8")


def message_content(content: StanzaContent, *, from_jid: str,
                    time: int | None) -> str | UserMessage:
    """What a data message carries for ``content``: its body as plain text when that is
    all there is, else an envelope of this profile (:func:`sce_message`).  Raises
    :class:`UnknownChatStateError`."""
    if content == StanzaContent(content.body) and content.body is not None:
        return content.body
    return sce_message(build_envelope(content_elements(content), from_jid=from_jid,
                                      time=time))


def sce_message(env: etree._Element) -> UserMessage:
    """The data message content that carries ``env``: an empty text part and one TLV of
    type :data:`SCE_TLV_TYPE` holding the envelope's UTF-8 XML.  Raises
    :class:`otrv4.tlv.TLVTooLong` when the envelope is over 65535 bytes."""
    return UserMessage("", (TLV(SCE_TLV_TYPE, envelope_plaintext(env)),))


def parse_envelope(plaintext: bytes | etree._Element, *, peer: str) -> Envelope:
    """Read and check an envelope received in a session with account ``peer``.

    Raises :class:`NotAnEnvelopeError`, :class:`MissingFromAffixError`,
    :class:`FromMismatchError`, :class:`RpadNotAllowedError`,
    :class:`ForbiddenContentError`.
    """
    if isinstance(plaintext, bytes):
        try:
            parser = etree.XMLParser(resolve_entities=False, no_network=True)
            env = etree.fromstring(plaintext, parser)
        except etree.XMLSyntaxError as exc:
            raise NotAnEnvelopeError(f"not well-formed: {exc}") from None
    else:
        env = plaintext
    if env.tag != _s("envelope"):
        raise NotAnEnvelopeError(f"root is {env.tag}, not an SCE envelope")
    box = env.find(_s("content"))
    if box is None:
        raise NotAnEnvelopeError("no <content/>")
    if env.find(_s("rpad")) is not None:
        raise RpadNotAllowedError("<rpad/> is not used with OTRv4")
    sender = env.find(_s("from"))
    if sender is None or not sender.get("jid"):
        raise MissingFromAffixError("no <from jid/>")
    if sender.get("jid") != peer:
        raise FromMismatchError(f"envelope from {sender.get('jid')} in a session with {peer}")
    items = tuple(c for c in box if isinstance(c.tag, str))
    _check_content(items)
    time = env.find(_s("time"))
    return Envelope(items, sender.get("jid", ""), None if time is None else time.get("stamp"))
