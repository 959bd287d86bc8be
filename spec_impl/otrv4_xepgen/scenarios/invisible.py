"""Chapter: an invisible user (XEP-0186).  Romeo's new tablet becomes invisible, then
writes to Juliet: it fetches her prekey ensembles and starts with the only device that
still has one, her phone, in stored delivery; it sends nothing that shows it online."""

from __future__ import annotations

from lxml import etree

from otrv4.encoding import MessageType
from otrv4_prekey.messages import EnsembleQuery
from otrv4_prekey.retrieval import Ensembles, read_answer
from otrv4_xmpp.carriage import OtrElement, build_message
from otrv4_xmpp.invisibility import (
    InvisibleCommand,
    Outgoing,
    build_command,
    may_send,
    outgoing_of,
    parse_command,
)
from otrv4_xmpp.prekey import build_prekey_iq, handle_prekey_iq, parse_prekey_iq

from . import InvalidExample, ScenarioContext, Step
from ._cast import JULIET, SERVICE, StoryError, expect_payload

__all__ = ["SCENARIOS"]


def invisible(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    story = ctx.story
    tablet, phone = story.romeo_tablet, story.juliet_phone
    command = build_command(InvisibleCommand(invisible=True), sender=tablet.jid,
                            stanza_id=story.stanza_id("invisible1"))
    # the tablet fetches Juliet's ensembles (not shown: the same exchange as in the
    # retrieval section)
    query = build_prekey_iq(sender=tablet.jid, to=SERVICE, stanza_id=story.stanza_id("hidden1"),
                            message=EnsembleQuery(tablet.tag, JULIET).encode())
    answer = handle_prekey_iq(story.service, query, tablet.account)
    found = read_answer(parse_prekey_iq(answer).message, tablet.tag, JULIET, story.clock)
    if not isinstance(found, Ensembles) or set(found.by_tag) != {phone.tag}:
        raise StoryError("only Juliet's phone should have a Prekey message left")
    text = "It is my lady, O, it is my love!"
    sent = tablet.engine.send_offline(JULIET, found.by_tag[phone.tag], text)
    nia, *data = sent.payloads
    kinds = [outgoing_of(MessageType.NON_INTERACTIVE_AUTH, user_written=True),
             *(outgoing_of(MessageType.DATA, user_written=True) for _ in data)]
    if not all(may_send(k, invisible_to_contact=True) for k in kinds):
        raise StoryError("an invisible device would reveal itself")
    if may_send(Outgoing.INTERACTIVE_DAKE, invisible_to_contact=True):
        raise StoryError("an invisible device must not run an interactive DAKE")
    stanza = build_message(OtrElement.of(tablet.tag, [(phone.tag, nia)]), sender=tablet.jid,
                           to=JULIET, stanza_id=story.stanza_id("hidden2"))
    got, started = story.receive(phone, tablet, stanza)
    shown = [t for d in data for t in phone.engine.receive(tablet.jid, d).displays]
    if not started.established or shown != [text]:
        raise StoryError("Juliet's phone did not read the invisible tablet's message")

    def accept_command(iq: etree._Element) -> object:
        got_command = parse_command(iq)
        if not got_command.invisible:
            raise StoryError("not an invisible command")
        return got_command

    return [
        Step("invisible-command", f"{tablet.name} becomes invisible to everyone", command,
             produced_by="otrv4_xmpp.invisibility.build_command",
             accepted_by="otrv4_xmpp.invisibility.parse_command", accept=accept_command,
             sender=tablet),
        Step("non-interactive-auth", f"{tablet.name}, invisible, starts a conversation with "
             f"{phone.name} in stored delivery", stanza,
             produced_by="otrv4_xmpp.engine.DeviceEngine.send_offline, "
                         "otrv4_xmpp.invisibility.may_send, otrv4_xmpp.carriage.build_message",
             accepted_by="otrv4_xmpp.carriage.parse_message, "
                         "otrv4_xmpp.engine.DeviceEngine.receive",
             accept=expect_payload(phone.tag, got, MessageType.NON_INTERACTIVE_AUTH),
             sender=tablet),
    ]


SCENARIOS = {"invisible": invisible}
