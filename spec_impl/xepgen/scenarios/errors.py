"""Scenario: a stanza error with this binding's condition.

Romeo's new tablet (not yet in Juliet's copy of his device list) receives a
message stanza with no payload for it and tells the sender.

The error carries the application-specific condition inside ``<error/>``, as
RFC 6120 §8.3.2 defines; the XSF's copy of the jabber:client schema does not
allow that element there (its ``<error/>`` content model ends after
``<text/>``), so the validator loads it with that correction
(:func:`otrv4_xmpp.xep_schema_fixes.rfc6120_jabber_client`).
"""

from __future__ import annotations

from lxml import etree

from otrv4_xmpp.carriage import (
    NoPayloadForDeviceError,
    build_message,
    parse_message,
    payload_for,
)
from otrv4_xmpp.endpoint import Endpoint
from otrv4_xmpp.errors import Condition, StanzaError, build_error, parse_error

from . import InvalidExample, Scenario, ScenarioContext, Step
from ._cast import Cast, deliver

__all__ = ["SCENARIOS"]


class ConditionMismatchError(Exception):
    """The error does not carry the condition the reporting device chose."""


def no_payload_for_device(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    cast = Cast.create(ctx.rng, ctx.clock)
    j, r = cast.balcony, cast.orchard
    tablet = Endpoint.create("romeo@montague.lit/tablet", ctx.rng, ctx.clock)
    answer = r.receive_dake(j.account, j.start_dake(r.account, r.tag, ctx.rng).payloads[0],
                            j.tag, ctx.rng)
    assert answer is not None
    last = j.receive_dake(r.account, answer.payloads[0], r.tag, ctx.rng)
    assert last is not None
    r.receive_dake(j.account, last.payloads[0], j.tag, ctx.rng)
    stanza = build_message(j.fan_out([r.tag], "Wherefore art thou Romeo?", ctx.rng),
                           sender=j.jid, to=r.account, stanza_id="msg7")
    received = parse_message(deliver(stanza))
    try:
        payload_for(received, tablet.tag)
    except NoPayloadForDeviceError:
        error = build_error(Condition.NO_PAYLOAD_FOR_DEVICE, reporter_tag=tablet.tag,
                            sender=tablet.jid, to=received.sender_jid,
                            stanza_id=received.stanza_id)
    else:
        raise RuntimeError("the tablet unexpectedly found a payload")

    def accept(st: etree._Element) -> StanzaError:
        got = parse_error(st)
        if (got.condition, got.tag) != (Condition.NO_PAYLOAD_FOR_DEVICE, tablet.tag):
            raise ConditionMismatchError(f"{got.condition} from {got.tag:08x}")
        return got

    return [Step("no-payload-for-device", "Romeo's tablet reports that the stanza holds no "
                 "payload for it", error,
                 produced_by="otrv4_xmpp.errors.build_error",
                 accepted_by="otrv4_xmpp.errors.parse_error", accept=accept)]


SCENARIOS: dict[str, Scenario] = {"stanza-error": no_payload_for_device}
