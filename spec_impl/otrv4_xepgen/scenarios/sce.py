"""Scenario: an XEP-0420 envelope as the plaintext of an OTRv4 data message."""

from __future__ import annotations

from lxml import etree

from otrv4.encoding import MessageType
from otrv4_xmpp.carriage import parse_message, payload_for
from otrv4_xmpp.sce import (
    SCE_TLV_TYPE,
    StanzaContent,
    build_envelope,
    content_elements,
    parse_envelope,
    read_content,
    sce_message,
)

from . import InvalidExample, ScenarioContext, Step
from ._cast import StoryError

__all__ = ["SCENARIOS"]


class EnvelopeMismatchError(Exception):
    """The example is not the envelope the receiver decrypted."""


def envelope(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Juliet's laptop puts the body, her chat state and a receipt request in an SCE
    envelope, marked by the binding's TLV in the data message, for Romeo's laptop; the
    laptop decrypts it and reads the content back."""
    story = ctx.story
    j, r = story.juliet_laptop, story.romeo_laptop
    wanted = StanzaContent(body="Good night, good night! Parting is such sweet sorrow.",
                           chat_state="active", receipt_request=True)
    env = build_envelope(content_elements(wanted), from_jid=j.jid, time=ctx.clock.now())
    sent = j.engine.send(r.account, r.tag, sce_message(env))
    stanza = story.message(j, sent, to=r.account, stanza_id="chat2")
    _, received = story.receive(r, j, stanza)
    if received.displays or len(received.envelopes) != 1:
        raise StoryError("Romeo's laptop did not find exactly one envelope")
    decrypted = received.envelopes[0]
    seen = parse_envelope(decrypted, peer=j.account)
    if read_content(seen) != wanted:
        raise StoryError("the content read back differs from what Juliet's laptop sent")

    def accept_stanza(st: etree._Element) -> object:
        payload = payload_for(parse_message(st), r.tag)
        if payload.message_type is not MessageType.DATA or payload.data != stanza_payload:
            raise EnvelopeMismatchError("the stanza does not carry the encrypted envelope")
        return payload

    def accept(st: etree._Element) -> object:
        got = parse_envelope(st, peer=j.account)
        if etree.tostring(st) != decrypted or read_content(got) != wanted:
            raise EnvelopeMismatchError("the envelope is not the decrypted plaintext")
        return got

    stanza_payload = payload_for(parse_message(stanza), r.tag).data
    return [
        Step("stanza", f"{j.name} sends a message whose content is encrypted in an SCE "
             "envelope", stanza,
             produced_by="otrv4_xmpp.sce.sce_message, otrv4_xmpp.engine.DeviceEngine.send, "
                         "otrv4_xmpp.carriage.build_message",
             accepted_by="otrv4_xmpp.engine.DeviceEngine.receive (Outcome.envelopes)",
             accept=accept_stanza, sender=j),
        Step("envelope", "The envelope inside that data message, in the TLV of type "
             f"0x{SCE_TLV_TYPE:04x}", env,
             produced_by="otrv4_xmpp.sce.content_elements, otrv4_xmpp.sce.build_envelope",
             accepted_by="otrv4_xmpp.sce.parse_envelope, otrv4_xmpp.sce.read_content",
             accept=accept, sender=j),
    ]


SCENARIOS = {"sce-envelope": envelope}
