"""Scenarios: OTRv4 messages in ``<otr/>``: the interactive DAKE to a full JID, the
Non-Interactive-Auth to an offline device, a data message to every device, and
stanzas that break the carriage schema."""

from __future__ import annotations

import copy

from lxml import etree

from otrv4.encoding import MessageType
from otrv4_xmpp.carbons import build_sent_carbon, unwrap
from otrv4_xmpp.carriage import OtrElement, build_message, parse_message, payload_for
from otrv4_xmpp.namespaces import NS_CLIENT, NS_OTR4
from otrv4_xmpp.policy import Arrival

from . import InvalidExample, ScenarioContext, Step
from ._cast import Cast, deliver, expect_payload

__all__ = ["SCENARIOS"]

_P = f"{{{NS_OTR4}}}payload"
_O = f"{{{NS_OTR4}}}otr"


def _mutated(stanza: etree._Element) -> tuple[etree._Element, etree._Element]:
    """A copy of ``stanza`` and its ``<otr/>``."""
    bad = copy.deepcopy(stanza)
    otr = bad.find(_O)
    assert otr is not None  # the stanzas here all carry <otr/>
    return bad, otr


def _payload(otr: etree._Element) -> etree._Element:
    p = otr.find(_P)
    if p is None:
        raise RuntimeError("no payload to mutate")
    return p


def interactive_dake(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Juliet's laptop starts an interactive DAKE with Romeo's online laptop."""
    cast = Cast.create(ctx.rng, ctx.clock)
    j, r = cast.balcony, cast.orchard
    identity = j.start_dake(r.account, r.tag, ctx.rng)
    s1 = build_message(identity, sender=j.jid, to=r.jid, stanza_id="dake1")
    got = payload_for(parse_message(deliver(s1)), r.tag)
    auth_r = r.receive_dake(j.account, got, j.tag, ctx.rng)
    assert auth_r is not None  # an Identity message is always answered
    s2 = build_message(auth_r, sender=r.jid, to=j.jid, stanza_id="dake2")
    got_r = payload_for(parse_message(deliver(s2)), j.tag)
    auth_i = j.receive_dake(r.account, got_r, r.tag, ctx.rng)
    assert auth_i is not None
    s3 = build_message(auth_i, sender=j.jid, to=r.jid, stanza_id="dake3")
    got_i = payload_for(parse_message(deliver(s3)), r.tag)
    r.receive_dake(j.account, got_i, j.tag, ctx.rng)
    if j.tag not in r.sessions or r.tag not in j.sessions:
        raise RuntimeError("the DAKE did not complete")

    out: list[Step | InvalidExample] = [
        Step("identity", "Juliet's laptop sends an Identity message to Romeo's laptop", s1,
             produced_by="otrv4_xmpp.endpoint.Endpoint.start_dake, "
                         "otrv4_xmpp.carriage.build_message",
             accepted_by="otrv4_xmpp.carriage.parse_message, otrv4.dake.receive",
             accept=expect_payload(r.tag, got.data, MessageType.IDENTITY)),
        Step("auth-r", "Romeo's laptop answers with an Auth-R message", s2,
             produced_by="otrv4_xmpp.endpoint.Endpoint.receive_dake",
             accepted_by="otrv4_xmpp.carriage.parse_message, otrv4.dake.receive",
             accept=expect_payload(j.tag, got_r.data, MessageType.AUTH_R)),
        Step("auth-i", "Juliet's laptop completes the DAKE with an Auth-I message", s3,
             produced_by="otrv4_xmpp.endpoint.Endpoint.receive_dake",
             accepted_by="otrv4_xmpp.carriage.parse_message, otrv4.dake.receive",
             accept=expect_payload(r.tag, got_i.data, MessageType.AUTH_I)),
    ]

    bad, otr = _mutated(s3)
    for p in otr.findall(_P):
        otr.remove(p)
    out.append(InvalidExample("otr-without-payload", bad,
                              mutation="the only <payload/> removed",
                              rule="Missing child element(s)"))
    bad, otr = _mutated(s3)
    p = _payload(otr)
    p.text = (p.text or "")[:-8] + "%%%%%%%%"
    out.append(InvalidExample("payload-bad-base64", bad,
                              mutation="the last 8 payload characters replaced by '%'",
                              rule="is not accepted by the pattern"))
    bad, otr = _mutated(s3)
    otr.set("version", "4")
    out.append(InvalidExample("otr-unknown-attribute", bad,
                              mutation="an attribute 'version' added to <otr/>",
                              rule="The attribute 'version' is not allowed"))
    bad, otr = _mutated(s3)
    otr.set("sender", "000000ff")
    out.append(InvalidExample("sender-tag-below-minimum", bad,
                              mutation="sender instance tag set to 000000ff (below 00000100)",
                              rule="is not accepted by the pattern"))
    bad, otr = _mutated(s3)
    p = _payload(otr)
    p.set("receiver", "0000ABCD")
    out.append(InvalidExample("receiver-tag-uppercase", bad,
                              mutation="receiver instance tag written in uppercase hex (0000ABCD)",
                              rule="is not accepted by the pattern"))
    bad, otr = _mutated(s3)
    p = _payload(otr)
    del p.attrib["receiver"]
    out.append(InvalidExample("payload-without-receiver", bad,
                              mutation="the 'receiver' attribute removed",
                              rule="The attribute 'receiver' is required"))
    bad, otr = _mutated(s3)
    p = _payload(otr)
    otr.append(copy.deepcopy(p))
    out.append(InvalidExample("two-payloads-one-receiver", bad,
                              mutation="the payload duplicated",
                              rule="Duplicate key-sequence"))
    bad, otr = _mutated(s3)
    p = _payload(otr)
    inner = copy.deepcopy(otr)
    p.text = None
    p.append(inner)
    out.append(InvalidExample("otr-inside-payload", bad,
                              mutation="the <otr/> element nested inside its own <payload/>",
                              rule="Element content is not allowed"))
    bad, otr = _mutated(s3)
    body = bad.find(f"{{{NS_CLIENT}}}body")
    assert body is not None
    bad.remove(body)
    bad.append(body)
    out.append(InvalidExample("body-after-extensions", bad,
                              mutation="<body/> moved after the extension elements",
                              rule="This element is not expected"))
    bad, otr = _mutated(s3)
    p = _payload(otr)
    for i in range(16):
        extra = copy.deepcopy(p)
        extra.set("receiver", f"{0x1000 + i:08x}")
        otr.append(extra)
    otr.remove(p)
    out.append(InvalidExample("sixteen-payloads", bad,
                              mutation="16 payloads (the limit is 15)",
                              rule="This element is not expected"))
    return out


def offline_start(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Romeo's phone is offline; Juliet's laptop starts with a Non-Interactive-Auth message
    built from a prekey ensemble of that phone."""
    cast = Cast.create(ctx.rng, ctx.clock)
    j, cell = cast.balcony, cast.cell
    ensembles = cell.make_prekeys(ctx.rng, 3)
    data = j.send_non_interactive(cell.account, ensembles[0], ctx.rng)
    otr = OtrElement.of(j.tag, [(cell.tag, data)])
    stanza = build_message(otr, sender=j.jid, to=cell.account, stanza_id="nia1")
    got = payload_for(parse_message(deliver(stanza)), cell.tag)
    if cell.receive_non_interactive(j.account, got.data) != j.tag:
        raise RuntimeError("the Non-Interactive-Auth message came from another instance")
    return [Step("non-interactive-auth",
                 "Juliet's laptop sends a Non-Interactive-Auth message to Romeo's offline phone",
                 stanza,
                 produced_by="otrv4_xmpp.endpoint.Endpoint.send_non_interactive, "
                             "otrv4_xmpp.carriage.build_message",
                 accepted_by="otrv4_xmpp.carriage.parse_message, "
                             "otrv4.xzdh.receive_non_interactive_auth",
                 accept=expect_payload(cell.tag, got.data, MessageType.NON_INTERACTIVE_AUTH))]


def data_to_all_devices(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Juliet's laptop has sessions with Romeo's two devices and her own phone; one
    stanza to Romeo's bare JID carries a data message for each of the three."""
    cast = Cast.create(ctx.rng, ctx.clock)
    j = cast.balcony
    for peer in (cast.orchard, cast.chamber):
        answer = peer.receive_dake(j.account, j.start_dake(peer.account, peer.tag,
                                                           ctx.rng).payloads[0], j.tag, ctx.rng)
        assert answer is not None
        last = j.receive_dake(peer.account, answer.payloads[0], peer.tag, ctx.rng)
        assert last is not None
        peer.receive_dake(j.account, last.payloads[0], j.tag, ctx.rng)
    ensemble = cast.cell.make_prekeys(ctx.rng, 1)[0]
    cast.cell.receive_non_interactive(j.account, j.send_non_interactive(
        cast.cell.account, ensemble, ctx.rng))
    receivers = (cast.orchard, cast.cell, cast.chamber)
    text = "Art thou not Romeo, and a Montague?"
    otr = j.fan_out([d.tag for d in receivers], text, ctx.rng)
    stanza = build_message(otr, sender=j.jid, to=cast.orchard.account, stanza_id="msg1")
    carbon = build_sent_carbon(stanza, account=j.account, to=cast.chamber.jid)
    parsed = parse_message(deliver(stanza))
    copied = unwrap(deliver(carbon), our_account=cast.chamber.account)
    if copied.arrival is not Arrival.CARBON:
        raise RuntimeError("the carbon was not recognised")
    accepted: dict[int, bytes] = {}
    for device, seen in ((cast.orchard, parsed), (cast.cell, parsed),
                         (cast.chamber, parse_message(copied.stanza))):
        payload = payload_for(seen, device.tag)
        got = device.decrypt(payload).text
        if got != text:
            raise RuntimeError(f"{device.jid} decrypted {got!r}")
        accepted[device.tag] = payload.data
    phone = cast.chamber.tag

    def accept(st: etree._Element) -> object:
        return [expect_payload(tag, data, MessageType.DATA)(st)
                for tag, data in accepted.items() if tag != phone]

    def accept_carbon(st: etree._Element) -> object:
        inner = unwrap(st, our_account=j.account)
        if inner.arrival is not Arrival.CARBON:
            raise RuntimeError("not a carbon")
        return expect_payload(phone, accepted[phone], MessageType.DATA)(inner.stanza)

    return [
        Step("data-message", "Juliet's laptop sends one message to all of Romeo's devices "
             "and to her own phone", stanza,
             produced_by="otrv4_xmpp.endpoint.Endpoint.fan_out, "
                         "otrv4_xmpp.carriage.build_message",
             accepted_by="otrv4_xmpp.carriage.payload_for, "
                         "otrv4.ratchet.DoubleRatchet.decrypt (each of Romeo's devices)",
             accept=accept),
        Step("carbon", "Juliet's phone receives the carbon copy and takes its own payload",
             carbon,
             produced_by="otrv4_xmpp.carbons.build_sent_carbon (the server's copy)",
             accepted_by="otrv4_xmpp.carbons.unwrap, otrv4_xmpp.carriage.payload_for, "
                         "otrv4.ratchet.DoubleRatchet.decrypt",
             accept=accept_carbon),
    ]


SCENARIOS = {
    "interactive-dake": interactive_dake,
    "offline-start": offline_start,
    "data-to-all-devices": data_to_all_devices,
}
