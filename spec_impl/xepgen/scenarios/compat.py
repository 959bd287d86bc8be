"""Scenarios: OTR text in ``<body/>``: a query message from a client in
OTRv3-compatible mode, and an Identity message sent as ``?OTR:`` text by a client
that implements otrv4.md but not this binding."""

from __future__ import annotations

from lxml import etree

from otrv4.encoding import MessageType, peek_message_type
from otrv4.plaintext import encode_query, parse_query
from otrv4_xmpp.carriage import OtrPayload
from otrv4_xmpp.compat import BodyKind, build_body_message, encoded_body, parse_body_message
from otrv4_xmpp.endpoint import Endpoint

from . import InvalidExample, ScenarioContext, Step
from ._cast import Cast, deliver

__all__ = ["SCENARIOS"]


class CompatMismatchError(Exception):
    """The body is not the OTR text the receiver processed."""


def query_message(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Romeo's desktop client runs OTRv3-compatible mode and asks for OTR version 4."""
    cast = Cast.create(ctx.rng, ctx.clock)
    text = encode_query(["4"], "Romeo has requested an Off-the-Record private conversation.")
    stanza = build_body_message(text, sender="romeo@montague.lit/desktop",
                                to=cast.balcony.jid, stanza_id="q1")
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

    return [Step("query", "A client in OTRv3-compatible mode sends a query message", stanza,
                 produced_by="otrv4.plaintext.encode_query, "
                             "otrv4_xmpp.compat.build_body_message",
                 accepted_by="otrv4_xmpp.compat.parse_body_message, "
                             "otrv4.plaintext.parse_query", accept=accept)]


def encoded_body_message(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Romeo's desktop client implements otrv4.md only: it sends its Identity message to
    Juliet's laptop as ?OTR: text; the laptop answers the DAKE (in the same form)."""
    cast = Cast.create(ctx.rng, ctx.clock)
    desktop = Endpoint.create("romeo@montague.lit/desktop", ctx.rng, ctx.clock)
    j = cast.balcony
    identity = desktop.start_dake(j.account, 0, ctx.rng).payloads[0].data
    stanza = build_body_message(encoded_body(identity), sender=desktop.jid, to=j.jid,
                                stanza_id="c1")
    got = parse_body_message(deliver(stanza))
    if got.message is None:
        raise RuntimeError("no encoded message in the body")
    answer = j.receive_dake(desktop.account, OtrPayload(j.tag, got.message), desktop.tag,
                            ctx.rng)
    if answer is None or peek_message_type(answer.payloads[0].data) is not MessageType.AUTH_R:
        raise RuntimeError("the laptop did not answer with Auth-R")

    def accept(st: etree._Element) -> object:
        body = parse_body_message(st)
        if body.kind is not BodyKind.ENCODED or body.message != identity:
            raise CompatMismatchError("the body is not the Identity message processed")
        return peek_message_type(body.message)

    return [Step("encoded-identity", "An otrv4.md client sends an Identity message as ?OTR: "
                 "text", stanza,
                 produced_by="otrv4.encoding.encode_message, "
                             "otrv4_xmpp.compat.build_body_message",
                 accepted_by="otrv4_xmpp.compat.parse_body_message, otrv4.dake.receive",
                 accept=accept)]


SCENARIOS = {"query-message": query_message, "encoded-body": encoded_body_message}
