"""This binding's profile of Stanza Content Encryption (XEP-0420) (section
"Encrypting More Than Bodies").

The plaintext of an OTRv4 data message may be, instead of plain text, an
``<envelope xmlns='urn:xmpp:sce:1'/>`` serialized as UTF-8 (the text part of
the data message; TLVs follow it as usual).  The profile:

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

from .devices import format_expiry
from .namespaces import NS_CARBONS, NS_EME, NS_HINTS, NS_SCE

__all__ = [
    "SERVER_NAMESPACES",
    "Envelope",
    "ForbiddenContentError",
    "FromMismatchError",
    "MissingFromAffixError",
    "NotAnEnvelopeError",
    "RpadNotAllowedError",
    "build_envelope",
    "envelope_plaintext",
    "is_envelope",
    "parse_envelope",
]

#: Namespaces of elements that servers process: they stay outside the envelope.
SERVER_NAMESPACES = frozenset({NS_HINTS, NS_EME, NS_CARBONS, "urn:xmpp:sid:0",
                               "http://jabber.org/protocol/address"})

_PREFIX = b"<envelope xmlns="


class NotAnEnvelopeError(DecodeError):
    """The plaintext is not one well-formed ``<envelope/>`` of ``urn:xmpp:sce:1``."""


class MissingFromAffixError(ValidationError):
    """The envelope has no ``<from jid/>`` affix (the profile requires it)."""


class FromMismatchError(ValidationError):
    """``<from jid/>`` is not the bare JID the session is with."""


class RpadNotAllowedError(ValidationError):
    """The envelope has ``<rpad/>``; this profile pads with OTRv4's padding TLV."""


class ForbiddenContentError(ValidationError):
    """``<content/>`` holds an element servers must see (hints, EME, stanza ids, addresses)."""


@dataclass(frozen=True)
class Envelope:
    """A parsed envelope: the content elements, the sender's bare JID, the time."""

    content: tuple[etree._Element, ...]
    from_jid: str
    stamp: str | None


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


def is_envelope(plaintext: bytes) -> bool:
    """Whether a decrypted text part is an envelope (it starts with ``<envelope xmlns=``)."""
    return plaintext.startswith(_PREFIX)


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
