"""Scenario: an XEP-0420 envelope as the plaintext of an OTRv4 data message."""

from __future__ import annotations

from lxml import etree

from otrv4_xmpp.carriage import OtrElement, build_message, parse_message, payload_for
from otrv4_xmpp.namespaces import NS_CLIENT
from otrv4_xmpp.sce import build_envelope, envelope_plaintext, is_envelope, parse_envelope

from . import InvalidExample, ScenarioContext, Step
from ._cast import Cast, deliver

__all__ = ["SCENARIOS"]


class EnvelopeMismatchError(Exception):
    """The example is not the envelope the receiver decrypted."""


def envelope(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Juliet's laptop puts the body, her chat state and a receipt request in an SCE
    envelope and encrypts it for Romeo's laptop; the laptop decrypts and reads it back."""
    cast = Cast.create(ctx.rng, ctx.clock)
    j, r = cast.balcony, cast.orchard
    answer = r.receive_dake(j.account, j.start_dake(r.account, r.tag, ctx.rng).payloads[0],
                            j.tag, ctx.rng)
    assert answer is not None
    last = j.receive_dake(r.account, answer.payloads[0], r.tag, ctx.rng)
    assert last is not None
    r.receive_dake(j.account, last.payloads[0], j.tag, ctx.rng)

    body = etree.Element(f"{{{NS_CLIENT}}}body", nsmap={None: NS_CLIENT})  # type: ignore[dict-item]
    body.text = "Good night, good night! Parting is such sweet sorrow."
    # a chat state (XEP-0085) and a receipt request (XEP-0184) travel encrypted too
    state = etree.Element("{http://jabber.org/protocol/chatstates}active",
                          nsmap={None: "http://jabber.org/protocol/chatstates"})  # type: ignore[dict-item]
    receipt = etree.Element("{urn:xmpp:receipts}request",
                            nsmap={None: "urn:xmpp:receipts"})  # type: ignore[dict-item]
    env = build_envelope([body, state, receipt], from_jid=j.jid, time=ctx.clock.now())
    plaintext = envelope_plaintext(env)
    otr = OtrElement.of(j.tag, [(r.tag, j.encrypt_bytes(r.tag, plaintext, ctx.rng))])
    stanza = build_message(otr, sender=j.jid, to=r.account, stanza_id="sce1")
    decrypted = r.decrypt_raw(payload_for(parse_message(deliver(stanza)), r.tag))
    if not is_envelope(decrypted):
        raise RuntimeError("the decrypted plaintext is not an envelope")
    seen = parse_envelope(decrypted, peer=j.account)

    def accept(st: etree._Element) -> object:
        got = parse_envelope(st, peer=j.account)
        if etree.tostring(st) != decrypted or got.from_jid != seen.from_jid:
            raise EnvelopeMismatchError("the envelope is not the decrypted plaintext")
        return got

    return [Step("envelope", "The plaintext of a data message: an SCE envelope", env,
                 produced_by="otrv4_xmpp.sce.build_envelope",
                 accepted_by="otrv4.ratchet.DoubleRatchet.decrypt, "
                             "otrv4_xmpp.sce.parse_envelope", accept=accept)]


SCENARIOS = {"sce-envelope": envelope}
