"""Scenario: an XEP-0420 envelope as the plaintext of an OTRv4 data message."""

from __future__ import annotations

from lxml import etree

from otrv4_xmpp.namespaces import NS_CLIENT
from otrv4_xmpp.sce import build_envelope, envelope_plaintext, is_envelope, parse_envelope

from . import InvalidExample, ScenarioContext, Step
from ._cast import StoryError

__all__ = ["SCENARIOS"]


class EnvelopeMismatchError(Exception):
    """The example is not the envelope the receiver decrypted."""


def envelope(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Juliet's laptop puts the body, her chat state and a receipt request in an SCE
    envelope and encrypts it for Romeo's laptop; the laptop decrypts and reads it back."""
    story = ctx.story
    j, r = story.juliet_laptop, story.romeo_laptop
    body = etree.Element(f"{{{NS_CLIENT}}}body", nsmap={None: NS_CLIENT})  # type: ignore[dict-item]
    body.text = "Good night, good night! Parting is such sweet sorrow."
    # a chat state (XEP-0085) and a receipt request (XEP-0184) travel encrypted too
    state = etree.Element("{http://jabber.org/protocol/chatstates}active",
                          nsmap={None: "http://jabber.org/protocol/chatstates"})  # type: ignore[dict-item]
    receipt = etree.Element("{urn:xmpp:receipts}request",
                            nsmap={None: "urn:xmpp:receipts"})  # type: ignore[dict-item]
    env = build_envelope([body, state, receipt], from_jid=j.jid, time=ctx.clock.now())
    plaintext = envelope_plaintext(env)
    sent = j.engine.send(r.account, r.tag, plaintext.decode("utf-8"))
    stanza = story.message(j, sent, to=r.account, stanza_id="chat2")
    _, received = story.receive(r, j, stanza)
    if len(received.displays) != 1:
        raise StoryError("Romeo's laptop did not decrypt the envelope")
    decrypted = received.displays[0].encode("utf-8")
    if not is_envelope(decrypted):
        raise RuntimeError("the decrypted plaintext is not an envelope")
    seen = parse_envelope(decrypted, peer=j.account)

    def accept(st: etree._Element) -> object:
        got = parse_envelope(st, peer=j.account)
        if etree.tostring(st) != decrypted or got.from_jid != seen.from_jid:
            raise EnvelopeMismatchError("the envelope is not the decrypted plaintext")
        return got

    return [Step("envelope", f"The plaintext of a data message from {j.name}: an SCE "
                 "envelope", env,
                 produced_by="otrv4_xmpp.sce.build_envelope, "
                             "otrv4_xmpp.engine.DeviceEngine.send",
                 accepted_by="otrv4_xmpp.engine.DeviceEngine.receive, "
                             "otrv4_xmpp.sce.parse_envelope", accept=accept, sender=j)]


SCENARIOS = {"sce-envelope": envelope}
