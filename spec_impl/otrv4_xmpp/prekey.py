"""The prekey service over XMPP: the IQ protocol, its errors, and the service's discovery.

Namespace ``urn:xmpp:otr4:prekey:0`` (schema ``schemas/otr4-prekey.xsd``).

Requests and answers.  A client sends each prekey-server message
(otrv4-prekey-server.md) to the service in an IQ of type ``set``::

    <iq type='set' to='prekeys.capulet.lit' id='…'>
      <prekey xmlns='urn:xmpp:otr4:prekey:0'>AAQ1…</prekey>
    </iq>

and the service answers in the IQ result, in the same element: DAKE-2 for
DAKE-1; Success, Failure or Storage Status for DAKE-3; Prekey Ensemble
Retrieval or No Prekey Ensembles in Storage for a query.  The element holds
the binary message in base64 without the specification's final ``.`` (the
element delimits it).  Every request is a ``set``, also the query, because
answering it consumes one-time prekeys.

Why IQ and not ``<message><body>`` (what otrv4/prekey-server-xmpp did):
an IQ is answered exactly once and the answer is correlated by its ``id``
(the spec's "one request in flight per device" becomes a property of the
transport); failures have a place to go (IQ errors); IQs are never stored
offline, archived by MAM or copied by carbons, so key material and DAKE
messages are not kept by the user's server; and a message body would be
shown by clients that do not understand it.

Errors.  Where the prekey-server specification says to send nothing (a
message that does not decode, a DAKE that fails, a DAKE-3 out of state), an
IQ still needs an answer: an IQ error with an RFC 6120 condition and an
application-specific condition of this namespace (:data:`CONDITIONS`).
"No Prekey Ensembles in Storage" is *not* an error: it is the protocol's
answer to a query that succeeded and found nothing, it carries the
specification's message, and it travels in a result; the retriever then
falls back to the interactive DAKE once the peer is online.

Discovery (otrv4-prekey-server.md §Discovering a Prekey Server): the service
is an item of its domain's disco#items; its disco#info has the identity
``auth``/``otr-prekey`` and the features ``urn:xmpp:otr4:prekey:0`` (ours)
and ``http://jabber.org/protocol/otrv4-prekey-server`` (the spec's, for
existing clients); its own disco#items lists an item with
``node='fingerprint'`` whose ``name`` is the server's fingerprint in 112
hexadecimal digits.  A retriever looks for the prekey service of the
*peer's* domain.

:func:`handle_prekey_iq` is the whole service side over lxml elements: the
XEP-0114 component (:mod:`otrv4_xmpp.component`) only moves stanzas.
"""

from __future__ import annotations

import base64
import enum
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final, Literal

from lxml import etree

from otrv4.errors import DecodeError, OTRError, ValidationError
from otrv4_prekey.dake import SERVER_FINGERPRINT_BYTES, format_server_fingerprint
from otrv4_prekey.messages import decode_base64
from otrv4_prekey.server import (
    ForeignPublisherError,
    MessageTooLargeError,
    NotInDakeError,
    PrekeyServer,
    RateLimitedError,
    UnexpectedMessageError,
)

from .discovery import DiscoInfo, Identity, build_disco_info_result
from .namespaces import NS_CLIENT, NS_DISCO_INFO, NS_STANZAS

__all__ = [
    "CONDITIONS",
    "FINGERPRINT_NODE",
    "NS_DISCO_ITEMS",
    "NS_PREKEY",
    "PREKEY_SPEC_FEATURE",
    "SERVICE_FEATURES",
    "SERVICE_IDENTITY",
    "DiscoItem",
    "PrekeyCondition",
    "PrekeyIq",
    "PrekeyIqError",
    "PrekeyStanzaError",
    "build_fingerprint_items",
    "build_prekey_error",
    "build_prekey_iq",
    "build_service_disco_info",
    "build_service_items",
    "condition_for",
    "find_fingerprint",
    "handle_prekey_iq",
    "is_prekey_service",
    "parse_disco_items",
    "parse_prekey_error",
    "parse_prekey_iq",
]

#: Our namespace: the IQ element, the error conditions, the disco feature.
NS_PREKEY: Final = "urn:xmpp:otr4:prekey:0"
#: The prekey-server specification's own disco feature (advertised too, for existing clients).
PREKEY_SPEC_FEATURE: Final = "http://jabber.org/protocol/otrv4-prekey-server"
NS_DISCO_ITEMS: Final = "http://jabber.org/protocol/disco#items"
#: The disco identity of a prekey service (otrv4-prekey-server.md).
SERVICE_IDENTITY: Final = Identity("auth", "otr-prekey", "OTR Prekey Server")
#: The features a prekey service lists in its disco#info result.
SERVICE_FEATURES: Final = (NS_DISCO_INFO, NS_DISCO_ITEMS, NS_PREKEY, PREKEY_SPEC_FEATURE)
#: The disco#items node that carries the server's fingerprint.
FINGERPRINT_NODE: Final = "fingerprint"

IqType = Literal["set", "result"]


class PrekeyStanzaError(DecodeError):
    """A stanza that is not a well-formed prekey IQ of this binding."""


class PrekeyIqError(OTRError):
    """The service answered with an IQ error (:attr:`condition` says which)."""

    def __init__(self, condition: PrekeyCondition | None, stanza_condition: str,
                 text: str | None = None) -> None:
        super().__init__(f"{stanza_condition}"
                         + (f" / {condition.value}" if condition else "")
                         + (f": {text}" if text else ""))
        self.condition = condition
        self.stanza_condition = stanza_condition
        self.text = text


class PrekeyCondition(enum.Enum):
    """The application-specific error conditions (elements of ``urn:xmpp:otr4:prekey:0``)."""

    MALFORMED_MESSAGE = "malformed-message"
    MESSAGE_TOO_LARGE = "message-too-large"
    UNEXPECTED_MESSAGE = "unexpected-message"
    DAKE_FAILED = "dake-failed"
    NOT_IN_DAKE = "not-in-dake"
    NOT_A_PUBLISHER = "not-a-publisher"
    RATE_LIMITED = "rate-limited"


#: For each condition: the RFC 6120 condition, the error type, and when the service sends
#: it (rendered into the XEP's table).
CONDITIONS: Final[dict[PrekeyCondition, tuple[str, str, str]]] = {
    PrekeyCondition.MALFORMED_MESSAGE: (
        "bad-request", "modify",
        "The element's content is not canonical base64, or the bytes are not a prekey-server "
        "message of version 4 (truncated, trailing bytes, bad field)."),
    PrekeyCondition.MESSAGE_TOO_LARGE: (
        "not-acceptable", "modify",
        "The message is longer than the service accepts (a publication of 255 Prekey messages "
        "is about 120 kB)."),
    PrekeyCondition.UNEXPECTED_MESSAGE: (
        "bad-request", "cancel",
        "A message a client never sends (DAKE-2, Success, a retrieval answer, ...)."),
    PrekeyCondition.DAKE_FAILED: (
        "not-acceptable", "cancel",
        "DAKE-1 or DAKE-3 does not verify: an invalid or expired Client Profile, an invalid "
        "instance tag, a ring signature that fails. The specification says to send nothing."),
    PrekeyCondition.NOT_IN_DAKE: (
        "unexpected-request", "cancel",
        "A DAKE-3 from a device that has no DAKE in progress with the service (never started, "
        "finished, or timed out)."),
    PrekeyCondition.NOT_A_PUBLISHER: (
        "forbidden", "auth",
        "A DAKE from a JID whose domain the service does not serve: only the domain's users "
        "publish; anyone may retrieve."),
    PrekeyCondition.RATE_LIMITED: (
        "resource-constraint", "wait",
        "Too many retrievals from this JID in the last minute (prekeys are one-time values "
        "anyone may ask for, so the service limits draining)."),
}


def _c(local: str) -> str:
    return f"{{{NS_CLIENT}}}{local}"


def _p(local: str) -> str:
    return f"{{{NS_PREKEY}}}{local}"


def _iq(sender: str | None, to: str, stanza_id: str, iq_type: str) -> etree._Element:
    attrs = {"to": to, "id": stanza_id, "type": iq_type}
    if sender is not None:
        attrs["from"] = sender
    return etree.Element(_c("iq"), attrs, nsmap={None: NS_CLIENT})  # type: ignore[dict-item]


# --------------------------------------------------------------------------- the IQ element


@dataclass(frozen=True)
class PrekeyIq:
    """A parsed prekey IQ: its type, addressing and the binary prekey-server message."""

    iq_type: IqType
    stanza_id: str
    sender: str | None
    to: str | None
    message: bytes


def build_prekey_iq(*, sender: str | None, to: str, stanza_id: str, message: bytes,
                    iq_type: IqType = "set") -> etree._Element:
    """``<iq type='set|result'><prekey xmlns='urn:xmpp:otr4:prekey:0'>base64</prekey></iq>``.

    ``sender`` may be ``None`` for what a client sends (its server stamps ``from``).
    """
    iq = _iq(sender, to, stanza_id, iq_type)
    el = etree.SubElement(iq, _p("prekey"), nsmap={None: NS_PREKEY})  # type: ignore[dict-item]
    el.text = base64.b64encode(message).decode("ascii")
    return iq


def parse_prekey_iq(iq: etree._Element) -> PrekeyIq:
    """Read a prekey IQ (``set`` or ``result``).

    Raises :class:`PrekeyStanzaError` when ``iq`` is not such an IQ (wrong
    element or type, no or two ``<prekey/>``, no ``id``) and
    :class:`~otrv4_prekey.messages.InvalidPrekeyServerBase64Error` for content
    that is not canonical base64.
    """
    if iq.tag != _c("iq"):
        raise PrekeyStanzaError("not an iq stanza")
    raw_type = iq.get("type")
    if raw_type == "set":
        iq_type: IqType = "set"
    elif raw_type == "result":
        iq_type = "result"
    else:
        raise PrekeyStanzaError(f"a prekey iq is of type 'set' or 'result', not {raw_type!r}")
    stanza_id = iq.get("id")
    if not stanza_id:
        raise PrekeyStanzaError("an iq needs an id")
    children = [c for c in iq if isinstance(c.tag, str)]
    if len(children) != 1 or children[0].tag != _p("prekey"):
        raise PrekeyStanzaError("a prekey iq holds exactly one <prekey/> element")
    message = decode_base64(children[0].text or "")
    return PrekeyIq(iq_type, stanza_id, iq.get("from"), iq.get("to"), message)


# --------------------------------------------------------------------------- errors


def build_prekey_error(*, sender: str, to: str, stanza_id: str, condition: PrekeyCondition,
                       text: str | None = None) -> etree._Element:
    """The IQ error for ``condition`` (RFC 6120 §8.3): the defined condition of
    :data:`CONDITIONS`, our application-specific element, and an optional ``<text/>``."""
    stanza_condition, error_type, _ = CONDITIONS[condition]
    iq = _iq(sender, to, stanza_id, "error")
    error = etree.SubElement(iq, _c("error"), {"type": error_type})
    etree.SubElement(error, f"{{{NS_STANZAS}}}{stanza_condition}",
                     nsmap={None: NS_STANZAS})  # type: ignore[dict-item]
    if text:
        t = etree.SubElement(error, f"{{{NS_STANZAS}}}text",
                             nsmap={None: NS_STANZAS})  # type: ignore[dict-item]
        t.text = text
    etree.SubElement(error, _p(condition.value), nsmap={None: NS_PREKEY})  # type: ignore[dict-item]
    return iq


def parse_prekey_error(iq: etree._Element) -> PrekeyIqError:
    """Read an IQ error from the service into a :class:`PrekeyIqError` (returned, not raised).

    Raises :class:`PrekeyStanzaError` when ``iq`` is not an IQ error with a
    defined condition.
    """
    if iq.tag != _c("iq") or iq.get("type") != "error":
        raise PrekeyStanzaError("not an iq error")
    error = iq.find(_c("error"))
    if error is None:
        raise PrekeyStanzaError("an iq error needs an <error/> element")
    stanza_condition: str | None = None
    text: str | None = None
    condition: PrekeyCondition | None = None
    for child in error:
        if not isinstance(child.tag, str):
            continue
        q = etree.QName(child)
        if q.namespace == NS_STANZAS and q.localname == "text":
            text = child.text
        elif q.namespace == NS_STANZAS:
            stanza_condition = q.localname
        elif q.namespace == NS_PREKEY:
            try:
                condition = PrekeyCondition(q.localname)
            except ValueError:
                condition = None
    if stanza_condition is None:
        raise PrekeyStanzaError("an iq error needs a defined condition")
    return PrekeyIqError(condition, stanza_condition, text)


def condition_for(exc: Exception) -> PrekeyCondition:
    """The error condition for an exception :meth:`otrv4_prekey.server.PrekeyServer.handle`
    raised.  Anything not listed is a ``DAKE_FAILED`` when it is a validation error and
    ``MALFORMED_MESSAGE`` otherwise."""
    if isinstance(exc, MessageTooLargeError):
        return PrekeyCondition.MESSAGE_TOO_LARGE
    if isinstance(exc, UnexpectedMessageError):
        return PrekeyCondition.UNEXPECTED_MESSAGE
    if isinstance(exc, NotInDakeError):
        return PrekeyCondition.NOT_IN_DAKE
    if isinstance(exc, ForeignPublisherError):
        return PrekeyCondition.NOT_A_PUBLISHER
    if isinstance(exc, RateLimitedError):
        return PrekeyCondition.RATE_LIMITED
    if isinstance(exc, DecodeError):
        return PrekeyCondition.MALFORMED_MESSAGE
    if isinstance(exc, ValidationError):
        return PrekeyCondition.DAKE_FAILED
    return PrekeyCondition.MALFORMED_MESSAGE


def handle_prekey_iq(server: PrekeyServer, iq: etree._Element,
                     sender_bare: str) -> etree._Element:
    """The service's side of one request: the IQ result with the server's answer, or the
    IQ error.

    ``sender_bare`` is the requester's bare JID as the XMPP server stamped it
    (never taken from the payload).  The answer is addressed to ``iq``'s
    ``from`` (the full JID), from its ``to``.  Raises nothing for bad input:
    every failure becomes an IQ error.  Errors that are not the protocol's
    (e.g. the storage failing) propagate, for the component to answer
    ``internal-server-error``.
    """
    requester = iq.get("from") or sender_bare
    service = iq.get("to") or server.identity.jid
    stanza_id = iq.get("id") or ""
    try:
        request = parse_prekey_iq(iq)
        if request.iq_type != "set":
            raise PrekeyStanzaError("requests are iq 'set'")
        reply = server.handle(sender_bare, request.message)
    except OTRError as exc:
        return build_prekey_error(sender=service, to=requester, stanza_id=stanza_id,
                                  condition=condition_for(exc))
    return build_prekey_iq(sender=service, to=requester, stanza_id=stanza_id,
                           message=reply.encode(), iq_type="result")


# --------------------------------------------------------------------------- discovery


@dataclass(frozen=True, order=True)
class DiscoItem:
    """A disco#items item (XEP-0030 §4): ``jid``, optional ``node`` and ``name``."""

    jid: str
    node: str | None = None
    name: str | None = None


def build_service_disco_info(*, sender: str, to: str, stanza_id: str) -> etree._Element:
    """The service's disco#info result: identity ``auth``/``otr-prekey`` and
    :data:`SERVICE_FEATURES`."""
    return build_disco_info_result(sender=sender, to=to, stanza_id=stanza_id,
                                   identities=[SERVICE_IDENTITY], features=SERVICE_FEATURES)


def is_prekey_service(info: DiscoInfo) -> bool:
    """Whether a disco#info result describes a prekey service: the ``auth``/``otr-prekey``
    identity and either feature (ours or the specification's)."""
    has_identity = any(i.category == "auth" and i.type == "otr-prekey" for i in info.identities)
    return has_identity and bool({NS_PREKEY, PREKEY_SPEC_FEATURE} & set(info.features))


def _items_result(sender: str, to: str, stanza_id: str,
                  items: Iterable[DiscoItem]) -> etree._Element:
    iq = _iq(sender, to, stanza_id, "result")
    query = etree.SubElement(iq, f"{{{NS_DISCO_ITEMS}}}query",
                             nsmap={None: NS_DISCO_ITEMS})  # type: ignore[dict-item]
    for item in items:
        attrs = {"jid": item.jid}
        if item.node is not None:
            attrs["node"] = item.node
        if item.name is not None:
            attrs["name"] = item.name
        etree.SubElement(query, f"{{{NS_DISCO_ITEMS}}}item", attrs)
    return iq


def build_fingerprint_items(*, sender: str, to: str, stanza_id: str,
                            fingerprint: bytes) -> etree._Element:
    """The service's own disco#items: one item ``node='fingerprint'`` with the 112
    upper-case hex digits of the server's fingerprint as ``name``."""
    return _items_result(sender, to, stanza_id, [DiscoItem(
        sender, FINGERPRINT_NODE, format_server_fingerprint(fingerprint))])


def build_service_items(*, sender: str, to: str, stanza_id: str,
                        items: Iterable[DiscoItem]) -> etree._Element:
    """A domain's disco#items result listing its services (the first lookup)."""
    return _items_result(sender, to, stanza_id, items)


def parse_disco_items(iq: etree._Element) -> list[DiscoItem]:
    """The items of a disco#items result.  Raises :class:`PrekeyStanzaError`."""
    if iq.tag != _c("iq") or iq.get("type") != "result":
        raise PrekeyStanzaError("not an iq result")
    query = iq.find(f"{{{NS_DISCO_ITEMS}}}query")
    if query is None:
        raise PrekeyStanzaError("no disco#items query element")
    return [DiscoItem(i.get("jid", ""), i.get("node"), i.get("name"))
            for i in query.iterfind(f"{{{NS_DISCO_ITEMS}}}item")]


def find_fingerprint(items: Iterable[DiscoItem], service: str) -> bytes:
    """The server's fingerprint from its disco#items: the item of ``service`` with node
    ``fingerprint`` and 112 hexadecimal digits as name.

    Raises :class:`PrekeyStanzaError` when there is none or it is malformed.
    """
    for item in items:
        if item.jid == service and item.node == FINGERPRINT_NODE and item.name is not None:
            digits = item.name.strip()
            if len(digits) != 2 * SERVER_FINGERPRINT_BYTES:
                raise PrekeyStanzaError(f"a fingerprint has 112 hex digits, not {len(digits)}")
            try:
                return bytes.fromhex(digits)
            except ValueError:
                raise PrekeyStanzaError("the fingerprint is not hexadecimal") from None
    raise PrekeyStanzaError(f"{service} lists no fingerprint item")
