"""Scenarios: OTR text in ``<body/>``: a query message from a client in
OTRv3-compatible mode, and an Identity message sent as ``?OTR:`` text by a client
that implements otrv4.md but not this binding."""

from __future__ import annotations

from lxml import etree

from otrv4.encoding import MessageType, peek_message_type
from otrv4.plaintext import encode_query, parse_query
from otrv4_xmpp.compat import BodyKind, build_body_message, encoded_body, parse_body_message

from . import InvalidExample, ScenarioContext, Step
from ._cast import StoryError, deliver

__all__ = ["SCENARIOS"]


class CompatMismatchError(Exception):
    """The body is not the OTR text the receiver processed."""


def query_message(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Romeo's desktop client runs OTRv3-compatible mode and asks for OTR version 4."""
    story = ctx.story
    desktop = story.romeo_desktop
    text = encode_query(["4"], "Romeo has requested an Off-the-Record private conversation.")
    stanza = build_body_message(text, sender=desktop.jid, to=story.juliet_laptop.jid,
                                stanza_id=story.stanza_id("query1"))
    got = parse_body_message(deliver(stanza))
    query = parse_query(got.text)
    if query is None or not query.offers_v4:
        raise RuntimeError("the query message does not offer version 4")

    def accept(st: etree._Element) -> object:
        body = parse_body_message(st)
        found = parse_query(body.text)
        if body.kind is not BodyKind.QUERY or found is None or not found.offers_v4:
            raise CompatMismatchError("not a query message offering version 4")
        return found

    return [Step("query", f"{desktop.name}, in OTRv3-compatible mode, sends a query message",
                 stanza, sender=desktop,
                 produced_by="otrv4.plaintext.encode_query, "
                             "otrv4_xmpp.compat.build_body_message",
                 accepted_by="otrv4_xmpp.compat.parse_body_message, "
                             "otrv4.plaintext.parse_query", accept=accept)]


def encoded_body_message(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Romeo's desktop client implements otrv4.md only: it sends its Identity message to
    Juliet's laptop as ?OTR: text; the laptop answers the DAKE (in the same form)."""
    story = ctx.story
    desktop, j = story.romeo_desktop, story.juliet_laptop
    started = desktop.engine.start_dake(j.jid)
    identity = started.payloads[0]
    stanza = build_body_message(encoded_body(identity), sender=desktop.jid, to=j.jid,
                                stanza_id=story.stanza_id("compat1"))
    got = parse_body_message(deliver(stanza))
    if got.message is None:
        raise StoryError("no encoded message in the body")
    answer = j.engine.receive(desktop.jid, got.message)
    if not answer.payloads or peek_message_type(answer.payloads[0]) is not MessageType.AUTH_R:
        raise StoryError("the laptop did not answer with Auth-R")
    story.converse(j, desktop, answer)  # the rest of the DAKE, as ?OTR: bodies

    def accept(st: etree._Element) -> object:
        body = parse_body_message(st)
        if body.kind is not BodyKind.ENCODED or body.message != identity:
            raise CompatMismatchError("the body is not the Identity message processed")
        return peek_message_type(body.message)

    return [Step("encoded-identity", f"{desktop.name}, which implements otrv4.md only, sends "
                 "an Identity message as ?OTR: text", stanza, sender=desktop,
                 produced_by="otrv4.encoding.encode_message, "
                             "otrv4_xmpp.compat.build_body_message",
                 accepted_by="otrv4_xmpp.compat.parse_body_message, otrv4.dake.receive",
                 accept=accept)]


SCENARIOS = {"query-message": query_message, "encoded-body": encoded_body_message}
