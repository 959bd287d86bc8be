"""Every element of every namespace this binding defines round-trips:
build -> to_text -> parse -> read -> build gives identical text, and the schemas
accept what was built."""

from __future__ import annotations

import base64

from hypothesis import given, settings
from hypothesis import strategies as st
from lxml import etree

from otrv4.encoding import MessageType
from otrv4_xmpp import carriage as c
from otrv4_xmpp import devices as d
from otrv4_xmpp import errors as e
from otrv4_xmpp import sce
from otrv4_xmpp.compat import build_body_message, parse_body_message
from otrv4_xmpp.namespaces import NS_CLIENT
from otrv4_xmpp.validation import StanzaValidator
from otrv4_xmpp.xmltext import parse, to_text

TAGS = st.integers(min_value=0x100, max_value=0xFFFFFFFF)
STORED = st.sampled_from([MessageType.DATA, MessageType.NON_INTERACTIVE_AUTH])
XML_CHARS = st.characters(blacklist_categories=("Cs", "Cc", "Cn", "Co"))
LIVE = st.sampled_from([MessageType.IDENTITY, MessageType.AUTH_R, MessageType.AUTH_I])


def _message(kind: MessageType, sender: int, receiver: int, body: bytes) -> bytes:
    return b"\x00\x04" + bytes([kind]) + sender.to_bytes(4, "big") + receiver.to_bytes(
        4, "big") + body


@st.composite
def otr_elements(draw: st.DrawFn) -> c.OtrElement:
    sender = draw(TAGS)
    receivers = draw(st.lists(TAGS, min_size=1, max_size=c.MAX_PAYLOADS, unique=True))
    kinds = draw(st.sampled_from([STORED, LIVE]))
    return c.OtrElement.of(sender, [
        (r, _message(draw(kinds), sender, r, draw(st.binary(max_size=64)))) for r in receivers])


@st.composite
def device_lists(draw: st.DrawFn) -> d.DeviceList:
    tags = draw(st.lists(TAGS, max_size=d.MAX_DEVICES, unique=True))
    labels = st.none() | st.text(XML_CHARS, min_size=1, max_size=52)
    return d.DeviceList.of(d.DeviceEntry(
        t, draw(st.sampled_from(list(d.DeviceMode))),
        draw(st.integers(min_value=0, max_value=4_000_000_000)), draw(labels)) for t in tags)


def _again(el: etree._Element) -> tuple[str, etree._Element]:
    text = to_text(el)
    return text, parse(text)


@settings(max_examples=50, deadline=None)
@given(otr_elements())
def test_otr_element(otr: c.OtrElement) -> None:
    to = "romeo@montague.lit" if otr.delivery is c.Delivery.STORED else "romeo@montague.lit/o"
    msg = c.build_message(otr, sender="juliet@capulet.lit/b", to=to, stanza_id="m1")
    text, parsed = _again(msg)
    got = c.parse_message(parsed)
    assert got.otr == otr
    again = c.build_message(got.otr, sender=got.sender_jid, to=got.to,
                            stanza_id=got.stanza_id or "")
    assert to_text(again) == text
    for p in otr.payloads:
        assert base64.b64decode(
            parsed.findall(".//{urn:xmpp:otr4:0}payload")[otr.payloads.index(p)].text
            or "") == p.data


@settings(max_examples=50, deadline=None)
@given(device_lists())
def test_device_list(listed: d.DeviceList) -> None:
    pub_text, pub = _again(d.build_publish(listed, sender="j@c/b", stanza_id="p1"))
    assert to_text(d.build_publish(d.parse_publish(pub), sender="j@c/b",
                                   stanza_id="p1")) == pub_text
    ev_text, ev = _again(d.build_event(listed, owner="j@c", to="r@m/o", stanza_id="e1"))
    owner, got = d.parse_event(ev)
    assert got == listed
    assert to_text(d.build_event(got, owner=owner, to="r@m/o", stanza_id="e1")) == ev_text


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(list(e.Condition)), TAGS)
def test_stanza_error(condition: e.Condition, tag: int) -> None:
    text, parsed = _again(e.build_error(condition, reporter_tag=tag, sender="r@m/t",
                                        to="j@c/b", stanza_id="m7"))
    got = e.parse_error(parsed)
    assert (got.condition, got.tag, got.stanza_id) == (condition, tag, "m7")
    assert got.defined == e.CONDITIONS[condition][0] and got.type == e.CONDITIONS[condition][1]
    assert to_text(e.build_error(got.condition, reporter_tag=got.tag, sender=got.sender,
                                 to=got.to, stanza_id=got.stanza_id)) == text


@settings(max_examples=50, deadline=None)
@given(st.text(XML_CHARS, min_size=1, max_size=80),
       st.integers(min_value=0, max_value=4_000_000_000))
def test_sce_envelope(body_text: str, when: int) -> None:
    body = etree.Element(f"{{{NS_CLIENT}}}body")
    body.text = body_text
    env = sce.build_envelope([body], from_jid="juliet@capulet.lit/balcony", time=when)
    text, parsed = _again(env)
    got = sce.parse_envelope(sce.envelope_plaintext(parsed), peer="juliet@capulet.lit")
    assert [x.text for x in got.content] == [body_text]
    rebuilt = sce.build_envelope(got.content, from_jid=got.from_jid, time=when)
    assert to_text(rebuilt) == text and got.stamp == d.format_expiry(when)


def test_compat_body() -> None:
    msg = build_body_message("?OTRv4? hi", sender="r@m/d", to="j@c/b", stanza_id="q")
    text, parsed = _again(msg)
    got = parse_body_message(parsed)
    assert to_text(build_body_message(got.text, sender="r@m/d", to="j@c/b",
                                      stanza_id="q")) == text


def test_built_elements_are_schema_valid(validator: StanzaValidator) -> None:
    otr = c.OtrElement.of(0x100, [(0x200, _message(MessageType.DATA, 0x100, 0x200, b"x"))])
    listed = d.DeviceList.of([d.DeviceEntry(0x200, d.DeviceMode.STANDALONE, 0, "L")])
    body = etree.Element(f"{{{NS_CLIENT}}}body")
    body.text = "x"
    for el in (c.build_message(otr, sender="j@c/b", to="r@m", stanza_id="m"),
               d.build_publish(listed, sender="j@c/b", stanza_id="p"),
               d.build_event(listed, owner="j@c", to="r@m/o", stanza_id="e"),
               d.build_items_request(sender="r@m/o", owner="j@c", stanza_id="g"),
               build_body_message("?OTRv4?", sender="r@m/d", to="j@c/b", stanza_id="q"),
               sce.build_envelope([body], from_jid="j@c", time=0)):
        for engine in ("lxml", "xmlschema"):
            report = validator.validate_text(to_text(el), "built", engine)
            assert report.ok, report.violations


def test_error_condition_is_checked_where_rfc6120_puts_it(
        validator: StanzaValidator) -> None:
    """The validator loads jabber:client with RFC 6120 §8.3.2's application-specific
    condition inside <error/>, validated strictly against our schema."""
    msg = e.build_error(e.Condition.MODE_NOT_SUPPORTED, reporter_tag=0x200, sender="r@m/t",
                        to="j@c/b", stanza_id="m")
    assert validator.validate_text(to_text(msg)).ok
    err = msg.find(f"{{{NS_CLIENT}}}error")
    assert err is not None
    err[1].set("tag", "not-a-tag")
    report = validator.validate_text(to_text(msg))
    assert [v.path for v in report.violations] == [
        "/message/error/{urn:xmpp:otr4:0}mode-not-supported/@tag"]
