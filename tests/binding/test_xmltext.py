"""The canonical example text form."""

from __future__ import annotations

import pytest
from lxml import etree

from otrv4_xmpp.discovery import Identity, build_disco_info_result, parse_disco_info_result
from otrv4_xmpp.xmltext import MixedContentError, StanzaCountError, parse, to_text


def test_exact_text() -> None:
    iq = build_disco_info_result(sender="a@b.c/d", to="e@f.g/h", stanza_id="q1",
                                 identities=[Identity("client", "pc")],
                                 features=["urn:xmpp:otr4:0",
                                           "http://jabber.org/protocol/disco#info"])
    assert to_text(iq) == (
        "<iq from='a@b.c/d' id='q1' to='e@f.g/h' type='result'>\n"
        "  <query xmlns='http://jabber.org/protocol/disco#info'>\n"
        "    <identity category='client' type='pc'/>\n"
        "    <feature var='http://jabber.org/protocol/disco#info'/>\n"
        "    <feature var='urn:xmpp:otr4:0'/>\n"
        "  </query>\n"
        "</iq>")


def test_round_trip_and_escaping() -> None:
    text = ("<message to='a@b.c' xml:lang='en'>\n"
            "  <body>&lt;3 &amp; 'quotes' &gt;</body>\n"
            "  <x xmlns='urn:example' v='it&apos;s &lt;'/>\n"
            "</message>")
    assert to_text(parse(text)) == text
    assert parse(text).find("{jabber:client}body").text == "<3 & 'quotes' >"


def test_long_start_tags_put_one_attribute_per_line() -> None:
    attrs = {"from": "a" * 40 + "@x.y", "to": "b" * 40 + "@x.y", "id": "m1"}
    el = etree.Element("{jabber:client}message", attrs)
    lines = to_text(el).split("\n")
    assert lines[0] == "<message from='" + "a" * 40 + "@x.y'"
    assert lines[1] == "         id='m1'"
    assert to_text(parse(to_text(el))) == to_text(el)


def test_mixed_content_is_refused() -> None:
    with pytest.raises(MixedContentError):
        to_text(etree.fromstring("<a>text<b/></a>"))


def test_parse_refuses_two_stanzas() -> None:
    with pytest.raises(StanzaCountError):
        parse("<message/><message/>")


def test_disco_parse_reads_what_build_wrote() -> None:
    iq = build_disco_info_result(sender="a@b.c", to="d@e.f", stanza_id="1",
                                 identities=[Identity("client", "phone", "P")],
                                 features=["b", "a", "b"])
    info = parse_disco_info_result(parse(to_text(iq)))
    assert info.features == ("a", "b")
    assert info.identities == (Identity("client", "phone", "P"),)
