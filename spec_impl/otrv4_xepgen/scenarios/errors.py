"""Scenario: a stanza error with this binding's condition.

Romeo's new tablet (not yet in Juliet's copy of his device list) receives a
message stanza with no payload for it and tells the sender.

The error carries the application-specific condition inside ``<error/>``, as
RFC 6120 §8.3.4 defines; the XSF's copy of the jabber:client schema does not
allow that element there (its ``<error/>`` content model ends after
``<text/>``), so the validator loads it with that correction
(:func:`otrv4_xmpp.xep_schema_fixes.rfc6120_jabber_client`).
"""

from __future__ import annotations

from lxml import etree

from otrv4_xmpp.carriage import (
    NoPayloadForDeviceError,
    OtrElement,
    build_message,
    parse_message,
    payload_for,
)
from otrv4_xmpp.errors import Condition, StanzaError, build_error, parse_error

from . import InvalidExample, Scenario, ScenarioContext, Step
from ._cast import ROMEO, deliver

__all__ = ["SCENARIOS"]


class ConditionMismatchError(Exception):
    """The error does not carry the condition the reporting device chose."""


def no_payload_for_device(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Romeo's new tablet is online but Juliet's laptop does not know it yet: a message
    to Romeo's devices holds no payload for it, and the tablet says so."""
    story = ctx.story
    j, tablet = story.juliet_laptop, story.romeo_tablet
    known = (story.romeo_laptop, story.romeo_phone)
    text = "Wherefore art thou Romeo?"
    sent = [(d, j.engine.send(d.account, d.tag, text)) for d in known]
    otr = OtrElement.of(j.tag, [(d.tag, out.payloads[0]) for d, out in sent])
    stanza = build_message(otr, sender=j.jid, to=ROMEO, stanza_id=story.stanza_id("chat3"))
    for device, _ in sent:  # Romeo's devices Juliet knows read it
        story.receive(device, j, stanza)
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

    return [Step("no-payload-for-device", f"{tablet.name} reports that the stanza holds no "
                 "payload for it", error,
                 produced_by="otrv4_xmpp.errors.build_error",
                 accepted_by="otrv4_xmpp.errors.parse_error", accept=accept, sender=tablet)]


SCENARIOS: dict[str, Scenario] = {"stanza-error": no_payload_for_device}
