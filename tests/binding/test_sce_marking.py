"""SCE content is marked by the binding's TLV, never recognised by what the text says."""

from __future__ import annotations

import pytest
from lxml import etree

from otrv4.data_message import DataMessage
from otrv4.session import UserMessage
from otrv4.tlv import TLV, decode_payload
from otrv4_xmpp import sce

from ._pairs import NOW, pair


def _envelope(text: str) -> etree._Element:
    content = sce.StanzaContent(body=text, chat_state="composing", receipt_request=True)
    return sce.build_envelope(sce.content_elements(content), from_jid="juliet@capulet.lit/b",
                              time=NOW)


def test_an_envelope_travels_in_its_tlv_and_is_read_back() -> None:
    j, r, _ = pair("sce-tlv")
    env = _envelope("hello")
    out = j.engine.send(r.account, r.tag, sce.sce_message(env))
    got = r.engine.receive(j.jid, out.payloads[0])
    assert got.displays == () and got.envelopes == (sce.envelope_plaintext(env),)
    content = sce.read_content(sce.parse_envelope(got.envelopes[0], peer=j.account))
    assert content == sce.StanzaContent("hello", "composing", True)


def test_typed_text_that_looks_like_an_envelope_stays_text() -> None:
    j, r, _ = pair("sce-typed")
    typed = sce.envelope_plaintext(_envelope("gotcha")).decode()
    got = r.engine.receive(j.jid, j.encrypt(r, typed))
    assert got.displays == (typed,) and got.envelopes == ()


def test_the_plaintext_is_an_empty_text_and_one_tlv() -> None:
    message = sce.sce_message(_envelope("x"))
    assert message.text == "" and [t.type for t in message.tlvs] == [sce.SCE_TLV_TYPE]
    assert sce.SCE_TLV_TYPE not in range(8)  # not one of OTRv4's own TLV types


def test_other_unknown_tlvs_are_not_envelopes() -> None:
    j, r, _ = pair("sce-other")
    out = j.engine.send(r.account, r.tag, UserMessage("hi", (TLV(0x0200, b"x"),)))
    got = r.engine.receive(j.jid, out.payloads[0])
    assert got.displays == ("hi",) and got.envelopes == ()
    assert isinstance(DataMessage.decode(out.payloads[0]), DataMessage)
    assert decode_payload(b"hi\x00\x02\x00\x00\x01x").text == "hi"


def test_unknown_chat_state_is_refused() -> None:
    with pytest.raises(sce.UnknownChatStateError):
        sce.content_elements(sce.StanzaContent(chat_state="sleeping"))


def test_message_content_is_plain_text_unless_there_is_more() -> None:
    assert sce.message_content(sce.StanzaContent("hi"), from_jid="j@c", time=NOW) == "hi"
    rich = sce.message_content(sce.StanzaContent("hi", "active"), from_jid="j@c", time=NOW)
    assert isinstance(rich, UserMessage) and rich.text == ""
    assert [t.type for t in rich.tlvs] == [sce.SCE_TLV_TYPE]
