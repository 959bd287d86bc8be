"""Scenarios of the prekey service: discovery, publication, storage status, retrieval,
exhaustion.

Everything is real: Juliet's device (``juliet@capulet.lit/balcony``) runs the
publisher side of :mod:`prekey_server.client`, the service
``prekeys.capulet.lit`` runs :class:`prekey_server.server.PrekeyServer` over
an in-memory storage, Romeo's device (``romeo@montague.lit/orchard``)
retrieves; each stanza is what :mod:`otrv4_xmpp.prekey` builds, and each
acceptor is the receiving side's code.  One scenario per flow so each
example's randomness is independent of the others.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

from lxml import etree

from otrv4.instance_tag import generate_instance_tag
from otrv4.keys import ForgingKey
from otrv4.prekeys import generate_prekey_message
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.profiles import ClientProfile, PrekeyProfile
from otrv4_xmpp.discovery import parse_disco_info_result
from otrv4_xmpp.prekey import (
    NS_DISCO_ITEMS,
    NS_PREKEY,
    DiscoItem,
    PrekeyCondition,
    build_fingerprint_items,
    build_prekey_iq,
    build_service_disco_info,
    build_service_items,
    find_fingerprint,
    handle_prekey_iq,
    is_prekey_service,
    parse_disco_items,
    parse_prekey_error,
    parse_prekey_iq,
)
from otrv4_xmpp.validation import XEP_SCHEMAS, XSF_SCHEMAS
from prekey_server.client import PublisherClient
from prekey_server.dake import PublisherIdentity, ServerIdentity, receive_dake2
from prekey_server.messages import (
    Dake1,
    Dake3,
    EnsembleQuery,
    NoPrekeyEnsembles,
    StorageStatus,
    Success,
)
from prekey_server.publication import SharedPrekey, verify_reply_mac
from prekey_server.retrieval import Ensembles, Exhausted, read_answer
from prekey_server.server import PrekeyServer, ServerPolicy
from prekey_server.storage import InMemoryStorage

from . import InvalidExample, ScenarioContext, Step

__all__ = ["DISCO_ITEMS_EXAMPLES", "SCENARIOS"]

JULIET = "juliet@capulet.lit"
JULIET_FULL = "juliet@capulet.lit/balcony"
ROMEO = "romeo@montague.lit"
ROMEO_FULL = "romeo@montague.lit/orchard"
DOMAIN = "capulet.lit"
SERVICE = "prekeys.capulet.lit"

#: Whether the validator has a schema for disco#items (XEP-0030's second schema); the
#: examples that need one are produced only then (the templates ask the same question).
DISCO_ITEMS_EXAMPLES = NS_DISCO_ITEMS in XSF_SCHEMAS or NS_DISCO_ITEMS in XEP_SCHEMAS


class UnexpectedAnswerError(Exception):
    """An acceptor got another prekey-server message than the step promised."""


@dataclass
class _World:
    ctx: ScenarioContext
    server: PrekeyServer
    juliet: PublisherIdentity
    shared: SharedPrekey
    client: PublisherClient


def _world(ctx: ScenarioContext) -> _World:
    rng, clock = ctx.rng, ctx.clock
    server = PrekeyServer(ServerIdentity(SERVICE, EdDSAKeyPair.generate(rng)), InMemoryStorage(),
                          rng, clock, ServerPolicy(publisher_domains=frozenset({DOMAIN})))
    keypair = EdDSAKeyPair.generate(rng)
    tag = generate_instance_tag(rng)
    expires = clock.now() + 7 * 24 * 3600
    profile = ClientProfile.create(keypair, ForgingKey.generate(rng), tag, expires)
    d = EdDSAKeyPair.generate(rng)
    shared = SharedPrekey(PrekeyProfile.create(keypair, d, tag, expires), d)
    juliet = PublisherIdentity(JULIET, tag, keypair, profile)
    client = PublisherClient(juliet, SERVICE, rng, server.identity.fingerprint)
    return _World(ctx, server, juliet, shared, client)


def _request(sender: str, stanza_id: str, data: bytes) -> etree._Element:
    return build_prekey_iq(sender=sender, to=SERVICE, stanza_id=stanza_id, message=data)


def _serve(w: _World, request: etree._Element,
           server: PrekeyServer | None = None) -> tuple[etree._Element, bytes]:
    """The service's IQ answer to ``request`` (what the component sends) and, for a result,
    the prekey-server message in it."""
    sender = request.get("from") or ""
    answer = handle_prekey_iq(server or w.server, request, sender.partition("/")[0])
    data = parse_prekey_iq(answer).message if answer.get("type") == "result" else b""
    return answer, data


def discovery(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Juliet's client finds the prekey service of her domain and its fingerprint."""
    w = _world(ctx)
    steps: list[Step | InvalidExample] = []
    if DISCO_ITEMS_EXAMPLES:
        items = build_service_items(sender=DOMAIN, to=JULIET_FULL, stanza_id="items1",
                                    items=[DiscoItem(SERVICE, None, "OTR Prekey Server")])
        steps.append(Step("domain-items", "The domain lists its services", items,
                          produced_by="otrv4_xmpp.prekey.build_service_items",
                          accepted_by="otrv4_xmpp.prekey.parse_disco_items",
                          accept=parse_disco_items))
    info = build_service_disco_info(sender=SERVICE, to=JULIET_FULL, stanza_id="info1")

    def accept_info(iq: etree._Element) -> object:
        found = parse_disco_info_result(iq)
        if not is_prekey_service(found):
            raise UnexpectedAnswerError("not a prekey service")
        return found

    steps.append(Step("service-info", "The prekey service describes itself", info,
                      produced_by="otrv4_xmpp.prekey.build_service_disco_info",
                      accepted_by="otrv4_xmpp.prekey.is_prekey_service", accept=accept_info))
    if DISCO_ITEMS_EXAMPLES:
        fp = build_fingerprint_items(sender=SERVICE, to=JULIET_FULL, stanza_id="items2",
                                     fingerprint=w.server.identity.fingerprint)
        steps.append(Step("service-fingerprint", "The prekey service's fingerprint", fp,
                          produced_by="otrv4_xmpp.prekey.build_fingerprint_items",
                          accepted_by="otrv4_xmpp.prekey.find_fingerprint",
                          accept=lambda iq: find_fingerprint(parse_disco_items(iq), SERVICE)))
    return steps


def publication(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Juliet's device publishes its profiles and one Prekey message (DAKE over IQs)."""
    w = _world(ctx)
    dake1 = w.client.start()
    pending = w.client.pending_dake
    if pending is None:
        raise UnexpectedAnswerError("the client should be in IN_DAKE")
    req1 = _request(JULIET_FULL, "pk1", dake1)
    res1, dake2 = _serve(w, req1)
    prekeys = [generate_prekey_message(ctx.rng, w.juliet.instance_tag)]
    dake3 = w.client.publish(dake2, prekeys, client_profile=w.juliet.client_profile,
                             prekey_profile=w.shared)
    session = w.client.session
    if session is None:
        raise UnexpectedAnswerError("the client should hold a session")
    req2 = _request(JULIET_FULL, "pk2", dake3)
    res2, reply = _serve(w, req2)
    w.client.finish(reply)
    replay, _ = _serve(w, _request(JULIET_FULL, "pk3", dake3))

    def accept_replay(iq: etree._Element) -> object:
        err = parse_prekey_error(iq)
        if err.condition is not PrekeyCondition.NOT_IN_DAKE:
            raise UnexpectedAnswerError(f"expected <not-in-dake/>, got {err}")
        return err

    not_base64 = copy.deepcopy(req1)
    not_base64[0].text = "?OTR:" + (not_base64[0].text or "")
    dotted = copy.deepcopy(req1)
    dotted[0].text = (dotted[0].text or "") + "."
    empty = copy.deepcopy(req1)
    empty[0].text = "AAQ1"
    return [
        Step("dake1", "Juliet's device starts the DAKE with the service (DAKE-1)", req1,
             produced_by="prekey_server.client.PublisherClient.start",
             accepted_by="prekey_server.messages.Dake1.decode",
             accept=lambda iq: Dake1.decode(parse_prekey_iq(iq).message)),
        Step("dake2", "The service answers with DAKE-2", res1,
             produced_by="otrv4_xmpp.prekey.handle_prekey_iq",
             accepted_by="prekey_server.dake.receive_dake2",
             accept=lambda iq: receive_dake2(pending, parse_prekey_iq(iq).message)),
        Step("dake3-publication", "DAKE-3 carrying the Prekey Publication", req2,
             produced_by="prekey_server.client.PublisherClient.publish",
             accepted_by="prekey_server.messages.Dake3.decode_inner",
             accept=lambda iq: Dake3.decode(parse_prekey_iq(iq).message).decode_inner()),
        Step("success", "The service stored the values (Success)", res2,
             produced_by="otrv4_xmpp.prekey.handle_prekey_iq",
             accepted_by="prekey_server.publication.verify_reply_mac",
             accept=lambda iq: verify_reply_mac(
                 session.prekey_mac_k, Success.decode(parse_prekey_iq(iq).message))),
        Step("replayed-dake3", "The same DAKE-3 again: no DAKE is in progress", replay,
             produced_by="otrv4_xmpp.prekey.handle_prekey_iq",
             accepted_by="otrv4_xmpp.prekey.parse_prekey_error", accept=accept_replay),
        InvalidExample("prekey-not-base64", not_base64,
                       mutation="the '?OTR:' prefix of OTRv4 text messages added to the content",
                       rule="facet 'pattern'"),
        InvalidExample("prekey-with-final-dot", dotted,
                       mutation="the '.' of the specification's text encoding kept",
                       rule="facet 'pattern'"),
        InvalidExample("prekey-too-short", empty,
                       mutation="only the version and type of a message",
                       rule="facet 'minLength'"),
    ]


def storage_status(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Juliet's device asks how many of its Prekey messages the service still holds."""
    w = _world(ctx)
    dake2 = w.server.handle(JULIET, w.client.start()).encode()
    first = w.client.publish(dake2, [generate_prekey_message(ctx.rng, w.juliet.instance_tag)
                                     for _ in range(3)],
                             client_profile=w.juliet.client_profile, prekey_profile=w.shared)
    w.client.finish(w.server.handle(JULIET, first).encode())
    dake2 = w.server.handle(JULIET, w.client.start()).encode()
    dake3 = w.client.request_status(dake2)
    session = w.client.session
    if session is None:
        raise UnexpectedAnswerError("the client should hold a session")
    request = _request(JULIET_FULL, "st2", dake3)
    answer, reply = _serve(w, request)
    w.client.finish(reply)

    def accept_status(iq: etree._Element) -> object:
        status = StorageStatus.decode(parse_prekey_iq(iq).message)
        verify_reply_mac(session.prekey_mac_k, status)
        if status.stored != 3:
            raise UnexpectedAnswerError(f"{status.stored} stored, not 3")
        return status

    return [
        Step("dake3-status", "DAKE-3 carrying a Storage Information Request", request,
             produced_by="prekey_server.client.PublisherClient.request_status",
             accepted_by="prekey_server.messages.Dake3.decode_inner",
             accept=lambda iq: Dake3.decode(parse_prekey_iq(iq).message).decode_inner()),
        Step("status", "The service reports three stored Prekey messages (Storage Status)",
             answer, produced_by="otrv4_xmpp.prekey.handle_prekey_iq",
             accepted_by="prekey_server.publication.verify_reply_mac",
             accept=accept_status),
    ]


def retrieval(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Romeo's device fetches Juliet's ensemble, then finds none left and falls back."""
    w = _world(ctx)
    dake2 = w.server.handle(JULIET, w.client.start()).encode()
    dake3 = w.client.publish(dake2, [generate_prekey_message(ctx.rng, w.juliet.instance_tag)],
                             client_profile=w.juliet.client_profile, prekey_profile=w.shared)
    w.client.finish(w.server.handle(JULIET, dake3).encode())
    romeo_tag = generate_instance_tag(ctx.rng)
    query = EnsembleQuery(romeo_tag, JULIET).encode()
    q1, q2 = _request(ROMEO_FULL, "q1", query), _request(ROMEO_FULL, "q2", query)
    first_iq, _ = _serve(w, q1)
    second_iq, second = _serve(w, q2)
    # a service that allows two retrievals a minute per requester refuses the third
    strict = PrekeyServer(w.server.identity, w.server.storage, ctx.rng, ctx.clock,
                          ServerPolicy(publisher_domains=frozenset({DOMAIN}),
                                       retrievals_per_minute=2))
    for stanza_id in ("q3", "q4"):
        _serve(w, _request(ROMEO_FULL, stanza_id, query), strict)
    limited, _ = _serve(w, _request(ROMEO_FULL, "q5", query), strict)
    clock = ctx.clock

    def accept_limited(iq: etree._Element) -> object:
        err = parse_prekey_error(iq)
        if err.condition is not PrekeyCondition.RATE_LIMITED:
            raise UnexpectedAnswerError(f"expected <rate-limited/>, got {err}")
        return err

    def accept_ensembles(iq: etree._Element) -> object:
        answer = read_answer(parse_prekey_iq(iq).message, romeo_tag, JULIET, clock)
        if not isinstance(answer, Ensembles):
            raise UnexpectedAnswerError("expected ensembles")
        return answer

    def accept_exhausted(iq: etree._Element) -> object:
        answer = read_answer(parse_prekey_iq(iq).message, romeo_tag, JULIET, clock)
        if not isinstance(answer, Exhausted):
            raise UnexpectedAnswerError("expected No Prekey Ensembles")
        return answer

    if NoPrekeyEnsembles.decode(second).identity != JULIET:
        raise UnexpectedAnswerError("the second answer should be No Prekey Ensembles")
    bad = copy.deepcopy(_request(ROMEO_FULL, "q9", query))
    etree.SubElement(bad[0], f"{{{NS_PREKEY}}}identity").text = JULIET
    bad[0].text = None
    return [
        Step("query", "Romeo's device asks for Juliet's ensembles", q1,
             produced_by="prekey_server.client.query",
             accepted_by="prekey_server.messages.EnsembleQuery.decode",
             accept=lambda iq: EnsembleQuery.decode(parse_prekey_iq(iq).message)),
        Step("ensembles", "One ensemble per device of Juliet (Prekey Ensemble Retrieval)",
             first_iq, produced_by="otrv4_xmpp.prekey.handle_prekey_iq",
             accepted_by="prekey_server.retrieval.read_answer", accept=accept_ensembles),
        Step("no-ensembles", "Every Prekey message was served: No Prekey Ensembles in Storage",
             second_iq, produced_by="otrv4_xmpp.prekey.handle_prekey_iq",
             accepted_by="prekey_server.retrieval.read_answer", accept=accept_exhausted),
        Step("rate-limited", "A requester that asked too often in the last minute", limited,
             produced_by="otrv4_xmpp.prekey.handle_prekey_iq",
             accepted_by="otrv4_xmpp.prekey.parse_prekey_error", accept=accept_limited),
        InvalidExample("prekey-with-children", bad,
                       mutation="the query spelled out as child elements instead of the "
                                "binary message",
                       rule="Element content is not allowed"),
    ]


SCENARIOS = {
    "prekey-discovery": discovery,
    "prekey-publication": publication,
    "prekey-status": storage_status,
    "prekey-retrieval": retrieval,
}
