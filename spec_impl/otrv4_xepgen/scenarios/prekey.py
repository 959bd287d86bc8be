"""Chapters of the prekey service: discovery, publication, storage status, retrieval,
exhaustion.

Everything is real: Juliet's devices run the publisher side of
:mod:`otrv4_prekey.client` with their own engine's keys and Prekey messages
(:meth:`otrv4_xmpp.engine.DeviceEngine.new_prekeys`); the service
``prekeys.capulet.lit`` runs :class:`otrv4_prekey.server.PrekeyServer` over
an in-memory storage; Romeo's devices retrieve.  Each stanza is what
:mod:`otrv4_xmpp.prekey` builds, and each acceptor is the receiving side's code.
"""

from __future__ import annotations

import copy

from lxml import etree

from otrv4.prekeys import PrekeySecret
from otrv4_prekey.client import PublisherClient
from otrv4_prekey.dake import receive_dake2
from otrv4_prekey.messages import (
    Dake1,
    Dake3,
    EnsembleQuery,
    NoPrekeyEnsembles,
    StorageStatus,
    Success,
)
from otrv4_prekey.publication import verify_reply_mac
from otrv4_prekey.retrieval import Ensembles, Exhausted, read_answer
from otrv4_prekey.server import PrekeyServer, ServerPolicy
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

from . import InvalidExample, ScenarioContext, Step
from ._cast import DOMAIN, JULIET, SERVICE, Device, Story, StoryError

__all__ = ["DISCO_ITEMS_EXAMPLES", "SCENARIOS"]

#: Whether the validator has a schema for disco#items (XEP-0030's second schema); the
#: examples that need one are produced only then (the templates ask the same question).
DISCO_ITEMS_EXAMPLES = NS_DISCO_ITEMS in XSF_SCHEMAS or NS_DISCO_ITEMS in XEP_SCHEMAS


class UnexpectedAnswerError(Exception):
    """An acceptor got another prekey-server message than the step promised."""


def _request(story: Story, sender: Device, stanza_id: str, data: bytes) -> etree._Element:
    return build_prekey_iq(sender=sender.jid, to=SERVICE, stanza_id=story.stanza_id(stanza_id),
                           message=data)


def _serve(story: Story, request: etree._Element,
           server: PrekeyServer | None = None) -> tuple[etree._Element, bytes]:
    """The service's IQ answer to ``request`` (what the component sends) and, for a result,
    the prekey-server message in it."""
    sender = request.get("from") or ""
    answer = handle_prekey_iq(server or story.service, request, sender.partition("/")[0])
    data = parse_prekey_iq(answer).message if answer.get("type") == "result" else b""
    return answer, data


def _publish(story: Story, device: Device, client: PublisherClient,
             secrets: tuple[PrekeySecret, ...]) -> None:
    """A whole publication off the page; the device keeps the secrets once confirmed."""
    dake2 = story.service.handle(device.account, client.start()).encode()
    ident = device.engine.identity
    dake3 = client.publish(dake2, list(secrets), client_profile=ident.client_profile,
                           prekey_profile=ident.shared())
    if not isinstance(client.finish(story.service.handle(device.account, dake3).encode()),
                      Success):
        raise StoryError(f"the service refused the publication of {device.name}")
    device.engine.prekeys_published(secrets)


def discovery(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Juliet's phone finds the prekey service of her domain and its fingerprint."""
    story = ctx.story
    phone = story.juliet_phone
    steps: list[Step | InvalidExample] = []
    if DISCO_ITEMS_EXAMPLES:
        items = build_service_items(sender=DOMAIN, to=phone.jid,
                                    stanza_id=story.stanza_id("items1"),
                                    items=[DiscoItem(SERVICE, None, "OTR Prekey Server")])
        steps.append(Step("domain-items", "The domain lists its services", items,
                          produced_by="otrv4_xmpp.prekey.build_service_items",
                          accepted_by="otrv4_xmpp.prekey.parse_disco_items",
                          accept=parse_disco_items))
    info = build_service_disco_info(sender=SERVICE, to=phone.jid,
                                    stanza_id=story.stanza_id("info1"))

    def accept_info(iq: etree._Element) -> object:
        found = parse_disco_info_result(iq)
        if not is_prekey_service(found):
            raise UnexpectedAnswerError("not a prekey service")
        return found

    steps.append(Step("service-info", "The prekey service describes itself", info,
                      produced_by="otrv4_xmpp.prekey.build_service_disco_info",
                      accepted_by="otrv4_xmpp.prekey.is_prekey_service", accept=accept_info))
    if DISCO_ITEMS_EXAMPLES:
        fp = build_fingerprint_items(sender=SERVICE, to=phone.jid,
                                     stanza_id=story.stanza_id("items2"),
                                     fingerprint=story.service.identity.fingerprint)
        steps.append(Step("service-fingerprint", "The prekey service's fingerprint", fp,
                          produced_by="otrv4_xmpp.prekey.build_fingerprint_items",
                          accepted_by="otrv4_xmpp.prekey.find_fingerprint",
                          accept=lambda iq: find_fingerprint(parse_disco_items(iq), SERVICE)))
    return steps


def publication(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Juliet's phone publishes its profiles and one Prekey message (DAKE over IQs)."""
    story = ctx.story
    phone = story.juliet_phone
    client = story.publisher(phone, ctx.rng)
    dake1 = client.start()
    pending = client.pending_dake
    if pending is None:
        raise UnexpectedAnswerError("the client should be in IN_DAKE")
    req1 = _request(story, phone, "prekeys1", dake1)
    res1, dake2 = _serve(story, req1)
    secrets = phone.engine.new_prekeys(1)
    ident = phone.engine.identity
    dake3 = client.publish(dake2, list(secrets), client_profile=ident.client_profile,
                           prekey_profile=ident.shared())
    session = client.session
    if session is None:
        raise UnexpectedAnswerError("the client should hold a session")
    req2 = _request(story, phone, "prekeys2", dake3)
    res2, reply = _serve(story, req2)
    client.finish(reply)
    phone.engine.prekeys_published(secrets)
    replay, _ = _serve(story, _request(story, phone, "prekeys3", dake3))

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
        Step("dake1", f"{phone.name} starts the DAKE with the service (DAKE-1)", req1,
             produced_by="otrv4_prekey.client.PublisherClient.start",
             accepted_by="otrv4_prekey.messages.Dake1.decode",
             accept=lambda iq: Dake1.decode(parse_prekey_iq(iq).message), sender=phone),
        Step("dake2", "The service answers with DAKE-2", res1,
             produced_by="otrv4_xmpp.prekey.handle_prekey_iq",
             accepted_by="otrv4_prekey.dake.receive_dake2",
             accept=lambda iq: receive_dake2(pending, parse_prekey_iq(iq).message)),
        Step("dake3-publication", f"{phone.name} sends DAKE-3 carrying the Prekey Publication",
             req2, produced_by="otrv4_xmpp.engine.DeviceEngine.new_prekeys, "
                               "otrv4_prekey.client.PublisherClient.publish",
             accepted_by="otrv4_prekey.messages.Dake3.decode_inner",
             accept=lambda iq: Dake3.decode(parse_prekey_iq(iq).message).decode_inner(),
             sender=phone),
        Step("success", "The service stored the values (Success)", res2,
             produced_by="otrv4_xmpp.prekey.handle_prekey_iq",
             accepted_by="otrv4_prekey.publication.verify_reply_mac",
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
    """Juliet's phone publishes two more Prekey messages (off the page), then asks how many
    the service holds: three."""
    story = ctx.story
    phone = story.juliet_phone
    client = story.publisher(phone, ctx.rng)
    _publish(story, phone, client, phone.engine.new_prekeys(2))
    expected = len(phone.engine.local_prekeys.prekeys)
    dake2 = story.service.handle(phone.account, client.start()).encode()
    dake3 = client.request_status(dake2)
    session = client.session
    if session is None:
        raise UnexpectedAnswerError("the client should hold a session")
    request = _request(story, phone, "status1", dake3)
    answer, reply = _serve(story, request)
    client.finish(reply)
    status = StorageStatus.decode(reply)
    if status.stored != expected:
        raise StoryError(f"the service holds {status.stored} Prekey messages, not {expected}")

    def accept_status(iq: etree._Element) -> object:
        got = StorageStatus.decode(parse_prekey_iq(iq).message)
        verify_reply_mac(session.prekey_mac_k, got)
        if got.stored != expected:
            raise UnexpectedAnswerError(f"{got.stored} stored, not {expected}")
        return got

    return [
        Step("dake3-status", f"{phone.name} sends DAKE-3 carrying a Storage Information "
             "Request", request,
             produced_by="otrv4_prekey.client.PublisherClient.request_status",
             accepted_by="otrv4_prekey.messages.Dake3.decode_inner",
             accept=lambda iq: Dake3.decode(parse_prekey_iq(iq).message).decode_inner(),
             sender=phone),
        Step("status", f"The service reports {status.stored} stored Prekey messages "
             "(Storage Status)", answer, produced_by="otrv4_xmpp.prekey.handle_prekey_iq",
             accepted_by="otrv4_prekey.publication.verify_reply_mac",
             accept=accept_status),
    ]


def _reader(story: Story, device: Device, answer: bytes) -> Ensembles | Exhausted:
    return read_answer(answer, device.tag, JULIET, story.clock)


def retrieval(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Juliet's laptop has published one Prekey message too (off the page); Romeo's
    laptop asks for Juliet's ensembles and gets one per device."""
    story = ctx.story
    laptop, r = story.juliet_laptop, story.romeo_laptop
    _publish(story, laptop, story.publisher(laptop, ctx.rng), laptop.engine.new_prekeys(1))
    query = EnsembleQuery(r.tag, JULIET).encode()
    q1 = _request(story, r, "retrieve1", query)
    answer_iq, answer = _serve(story, q1)
    found = _reader(story, r, answer)
    if not isinstance(found, Ensembles):
        raise StoryError("Romeo's laptop got no ensembles")
    story.retrieved.update(found.by_tag)

    def accept_ensembles(iq: etree._Element) -> object:
        got = _reader(story, r, parse_prekey_iq(iq).message)
        if not isinstance(got, Ensembles) or set(got.by_tag) != set(found.by_tag):
            raise UnexpectedAnswerError("expected the ensembles of Juliet's devices")
        return got

    bad = copy.deepcopy(q1)
    etree.SubElement(bad[0], f"{{{NS_PREKEY}}}identity").text = JULIET
    bad[0].text = None
    return [
        Step("query", f"{r.name} asks for Juliet's ensembles", q1,
             produced_by="otrv4_prekey.client.query",
             accepted_by="otrv4_prekey.messages.EnsembleQuery.decode",
             accept=lambda iq: EnsembleQuery.decode(parse_prekey_iq(iq).message), sender=r),
        Step("ensembles", "One ensemble per device of Juliet (Prekey Ensemble Retrieval)",
             answer_iq, produced_by="otrv4_xmpp.prekey.handle_prekey_iq",
             accepted_by="otrv4_prekey.retrieval.read_answer", accept=accept_ensembles),
        InvalidExample("prekey-with-children", bad,
                       mutation="the query spelled out as child elements instead of the "
                                "binary message",
                       rule="Element content is not allowed"),
    ]


_ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth")


def exhaustion(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Romeo's new tablet asks for Juliet's ensembles until every Prekey message was
    served; a service that allows few retrievals a minute refuses a requester that asks
    too often."""
    story = ctx.story
    tablet = story.romeo_tablet
    query = EnsembleQuery(tablet.tag, JULIET).encode()
    served = 0
    while True:
        request = _request(story, tablet, f"retrieve{served + 2}", query)
        answer_iq, answer = _serve(story, request)
        if isinstance(_reader(story, tablet, answer), Exhausted):
            break
        served += 1
        if served > len(_ORDINALS):
            raise StoryError("Juliet's prekeys were never exhausted")
    if NoPrekeyEnsembles.decode(answer).identity != JULIET:
        raise UnexpectedAnswerError("expected No Prekey Ensembles for Juliet")
    per_minute = 2
    strict = PrekeyServer(story.service.identity, story.service.storage, ctx.rng, story.clock,
                          ServerPolicy(publisher_domains=frozenset({DOMAIN}),
                                       retrievals_per_minute=per_minute))
    attempt = 0
    while True:
        attempt += 1
        limited, _ = _serve(story, _request(story, tablet, f"limited{attempt}", query), strict)
        if limited.get("type") == "error" or attempt > len(_ORDINALS):
            break
    if limited.get("type") != "error":
        raise StoryError("the strict service never refused")

    def accept_limited(iq: etree._Element) -> object:
        err = parse_prekey_error(iq)
        if err.condition is not PrekeyCondition.RATE_LIMITED:
            raise UnexpectedAnswerError(f"expected <rate-limited/>, got {err}")
        return err

    def accept_exhausted(iq: etree._Element) -> object:
        got = _reader(story, tablet, parse_prekey_iq(iq).message)
        if not isinstance(got, Exhausted):
            raise UnexpectedAnswerError("expected No Prekey Ensembles")
        return got

    return [
        Step("no-ensembles", f"After {served} more "
             f"{'retrieval' if served == 1 else 'retrievals'} every Prekey message was "
             "served: No Prekey Ensembles in Storage", answer_iq,
             produced_by="otrv4_xmpp.prekey.handle_prekey_iq",
             accepted_by="otrv4_prekey.retrieval.read_answer", accept=accept_exhausted),
        Step("rate-limited", f"A service limited to {per_minute} retrievals a minute refuses "
             f"the {_ORDINALS[attempt - 1]} request of {tablet.name}", limited,
             produced_by="otrv4_xmpp.prekey.handle_prekey_iq",
             accepted_by="otrv4_xmpp.prekey.parse_prekey_error", accept=accept_limited),
    ]


SCENARIOS = {
    "prekey-discovery": discovery,
    "prekey-publication": publication,
    "prekey-status": storage_status,
    "prekey-retrieval": retrieval,
    "prekey-exhaustion": exhaustion,
}
