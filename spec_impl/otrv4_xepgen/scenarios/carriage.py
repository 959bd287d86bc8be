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
from ._cast import StoryError, deliver, expect_payload

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
    """Juliet's laptop starts an interactive DAKE with Romeo's laptop, which is online."""
    story = ctx.story
    j, r = story.juliet_laptop, story.romeo_laptop
    s1 = story.message(j, j.engine.start_dake(r.jid), to=r.jid, stanza_id="dake1")
    got1, answer = story.receive(r, j, s1)
    s2 = story.message(r, answer, to=j.jid, stanza_id="dake2")
    got2, last = story.receive(j, r, s2)
    s3 = story.message(j, last, to=r.jid, stanza_id="dake3")
    got3, done = story.receive(r, j, s3)
    if not (done.established and j.engine.has_session(r.account, r.tag)):
        raise StoryError("the DAKE did not complete")

    out: list[Step | InvalidExample] = [
        Step("identity", f"{j.name} sends an Identity message to {r.name}", s1,
             produced_by="otrv4_xmpp.engine.DeviceEngine.start_dake, "
                         "otrv4_xmpp.carriage.build_message",
             accepted_by="otrv4_xmpp.carriage.parse_message, "
                         "otrv4_xmpp.engine.DeviceEngine.receive",
             accept=expect_payload(0, got1, MessageType.IDENTITY), sender=j),
        Step("auth-r", f"{r.name} answers with an Auth-R message", s2,
             produced_by="otrv4_xmpp.engine.DeviceEngine.receive",
             accepted_by="otrv4_xmpp.carriage.parse_message, "
                         "otrv4_xmpp.engine.DeviceEngine.receive",
             accept=expect_payload(j.tag, got2, MessageType.AUTH_R), sender=r),
        Step("auth-i", f"{j.name} completes the DAKE with an Auth-I message", s3,
             produced_by="otrv4_xmpp.engine.DeviceEngine.receive",
             accepted_by="otrv4_xmpp.carriage.parse_message, "
                         "otrv4_xmpp.engine.DeviceEngine.receive",
             accept=expect_payload(r.tag, got3, MessageType.AUTH_I), sender=j),
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
    """Juliet's phone is offline; Romeo's laptop starts with a Non-Interactive-Auth message
    built from the phone's Prekey Ensemble it retrieved, then sends its message.  The
    phone, back online, gets both from offline storage."""
    story = ctx.story
    r, phone = story.romeo_laptop, story.juliet_phone
    ensemble = story.retrieved.get(phone.tag)
    if ensemble is None:
        raise StoryError("no ensemble of Juliet's phone was retrieved")
    sent = r.engine.send_offline(phone.account, ensemble, "Lady, by yonder blessed moon I vow")
    nia, *data = sent.payloads
    stanza = build_message(OtrElement.of(r.tag, [(phone.tag, nia)]), sender=r.jid,
                           to=phone.account, stanza_id=story.stanza_id("offline1"))
    got, started = story.receive(phone, r, stanza)
    shown = [t for d in data for t in phone.engine.receive(r.jid, d).displays]
    if not started.established or shown != ["Lady, by yonder blessed moon I vow"]:
        raise StoryError("the phone did not start the conversation from the prekeys")
    return [Step("non-interactive-auth",
                 f"{r.name} sends a Non-Interactive-Auth message to {phone.name}, which is "
                 "offline",
                 stanza,
                 produced_by="otrv4_xmpp.engine.DeviceEngine.send_offline, "
                             "otrv4_xmpp.carriage.build_message",
                 accepted_by="otrv4_xmpp.carriage.parse_message, "
                             "otrv4_xmpp.engine.DeviceEngine.receive",
                 accept=expect_payload(phone.tag, got, MessageType.NON_INTERACTIVE_AUTH),
                 sender=r)]


def data_to_all_devices(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Juliet's laptop has sessions with Romeo's two devices and with her own phone (the
    DAKEs with Romeo's phone and her own phone happen off the page); one stanza to
    Romeo's bare JID carries a data message for each of the three."""
    story = ctx.story
    j, phone = story.juliet_laptop, story.juliet_phone
    story.connect(j, story.romeo_phone)
    story.connect(j, phone)
    receivers = (story.romeo_laptop, story.romeo_phone, phone)
    text = "Art thou not Romeo, and a Montague?"
    sent = [(d, j.engine.send(d.account, d.tag, text)) for d in receivers]
    if any(len(out.payloads) != 1 for _, out in sent):
        raise StoryError("one data message per device was expected")
    otr = OtrElement.of(j.tag, [(d.tag, out.payloads[0]) for d, out in sent])
    stanza = build_message(otr, sender=j.jid, to=story.romeo_laptop.account,
                           stanza_id=story.stanza_id("chat1"))
    carbon = build_sent_carbon(stanza, account=j.account, to=phone.jid)
    parsed = parse_message(deliver(stanza))
    copied = unwrap(deliver(carbon), our_account=phone.account)
    if copied.arrival is not Arrival.CARBON:
        raise StoryError("the carbon was not recognised")
    accepted: dict[int, bytes] = {}
    for device, seen in ((story.romeo_laptop, parsed), (story.romeo_phone, parsed),
                         (phone, parse_message(copied.stanza))):
        payload = payload_for(seen, device.tag)
        got = device.engine.receive(j.jid, payload.data).displays
        if got != (text,):
            raise StoryError(f"{device.jid} showed {got!r}")
        accepted[device.tag] = payload.data

    def accept(st: etree._Element) -> object:
        return [expect_payload(tag, data, MessageType.DATA)(st)
                for tag, data in accepted.items() if tag != phone.tag]

    def accept_carbon(st: etree._Element) -> object:
        inner = unwrap(st, our_account=j.account)
        if inner.arrival is not Arrival.CARBON:
            raise StoryError("not a carbon")
        return expect_payload(phone.tag, accepted[phone.tag], MessageType.DATA)(inner.stanza)

    return [
        Step("data-message", f"{j.name} sends one message to all of Romeo's devices "
             "and to her own phone", stanza,
             produced_by="otrv4_xmpp.engine.DeviceEngine.send, "
                         "otrv4_xmpp.carriage.build_message",
             accepted_by="otrv4_xmpp.carriage.payload_for, "
                         "otrv4_xmpp.engine.DeviceEngine.receive (each of Romeo's devices)",
             accept=accept, sender=j),
        Step("carbon", f"{phone.name} receives the carbon copy and takes its own payload",
             carbon,
             produced_by="otrv4_xmpp.carbons.build_sent_carbon (the server's copy)",
             accepted_by="otrv4_xmpp.carbons.unwrap, otrv4_xmpp.carriage.payload_for, "
                         "otrv4_xmpp.engine.DeviceEngine.receive",
             accept=accept_carbon),
    ]


SCENARIOS = {
    "interactive-dake": interactive_dake,
    "offline-start": offline_start,
    "data-to-all-devices": data_to_all_devices,
}
