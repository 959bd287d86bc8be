"""The slixmpp stanza classes of the plugin: ``msg['otr4']`` and its payloads."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from slixmpp.stanza import Message

from otrv4_xmpp.slixmpp_plugin.stanza import Otr4Payload, register_stanzas


def test_payloads_are_listed_when_asked_for_not_built_with_the_stanza() -> None:
    register_stanzas()
    built = Message()
    built["otr4"]["sender"] = "00000100"
    built["otr4"].add_payload(0x200, b"abc")
    built["otr4"].add_payload(0x300, b"xyz")
    text = str(built)
    assert text == ('<message xmlns="jabber:client"><otr xmlns="urn:xmpp:otr4:0" '
                    'sender="00000100"><payload receiver="00000200">YWJj</payload>'
                    '<payload receiver="00000300">eHl6</payload></otr></message>')
    parsed = Message(xml=ET.fromstring(text))
    otr = parsed["otr4"]
    assert otr.iterables == []  # nothing was made for the payloads while parsing
    payloads = otr["payloads"]
    assert all(isinstance(p, Otr4Payload) for p in payloads)
    assert [(p["receiver"], p["data"], p.receiver_tag) for p in payloads] == [
        ("00000200", b"abc", 0x200), ("00000300", b"xyz", 0x300)]
    assert otr.payload_for(0x300) == b"xyz" and otr.payload_for(0x400) is None
    assert otr.sender_tag == 0x100
