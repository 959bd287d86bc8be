"""The reader of ``<otr/>`` (``OtrElement.from_element``) takes exactly what its schema
takes, so the plugin's receive path checks a received ``<otr/>`` once instead of a
second time with libxml2 (and the sender does not validate what it built)."""

from __future__ import annotations

import base64
import struct
from xml.etree import ElementTree as ET

import pytest
from lxml import etree

from otrv4.encoding import MessageType
from otrv4.errors import OTRError
from otrv4_xmpp import carriage as c
from otrv4_xmpp.namespaces import NS_OTR4
from otrv4_xmpp.validation import StanzaValidator

#: The errors that stand for a schema rule; the others are carriage rules (on a
#: schema-valid element).  ``check`` raises every schema-rule error before a carriage one.
SCHEMA_RULES = (c.MalformedOtrElementError, c.InvalidTagTextError, c.InvalidPayloadBase64Error,
                c.PayloadTooLargeError, c.PayloadCountError, c.DuplicateReceiverError)


def _data(sender: int, receiver: int) -> str:
    header = struct.pack(">HBII", 4, MessageType.DATA, sender, receiver)
    return base64.b64encode(header + bytes(40)).decode()


P200 = f"<payload receiver='00000200'>{_data(0x100, 0x200)}</payload>"
P300 = f"<payload receiver='00000300'>{_data(0x100, 0x300)}</payload>"


def _otr(inner: str, attrs: str = "sender='00000100'") -> str:
    return f"<otr xmlns='{NS_OTR4}' {attrs}>{inner}</otr>"


def _payload(text: str, receiver: str = "00000200") -> str:
    return _otr(f"<payload receiver='{receiver}'>{text}</payload>")


def _many(n: int) -> str:
    return _otr("".join(f"<payload receiver='{0x200 + i:08x}'>{_data(0x100, 0x200 + i)}"
                        "</payload>" for i in range(n)))


CASES = [
    _otr(P200), _otr(P200 + P300), _otr(f"\n  {P200}\n  {P300}\n"),
    _otr(P200, "sender='000000ff'"), _otr(P200, "sender='0000010'"),
    _otr(P200, "sender='000001000'"), _otr(P200, "sender='0000010A'"),
    _otr(P200, "sender='00000000'"), _otr(P200, "sender=' 00000100'"),
    _otr(P200, "sender='ffffffff'"), _otr(P200, ""), _otr(P200, "sender='00000100' v='4'"),
    _otr(P200, "sender='00000100' xml:lang='en'"),
    _payload(_data(0x100, 0), "00000000"), _payload(_data(0x100, 0xFF), "000000ff"),
    _payload(_data(0x100, 0x200), "0000020A"), _payload(_data(0x100, 0x200), ""),
    _otr(f"<payload>{_data(0x100, 0x200)}</payload>"),
    _otr(f"<payload receiver='00000200' x='1'>{_data(0x100, 0x200)}</payload>"),
    _otr(f"<payload receiver='00000200' xml:lang='en'>{_data(0x100, 0x200)}</payload>"),
    _otr(f"x{P200}"), _otr(f"\u00a0{P200}"), _otr(f"{P200}x"), _otr(f"{P200}\u00a0{P300}"),
    _otr(f"{P200}\t\r\n{P300}"),
    _otr(f"<other>{_data(0x100, 0x200)}</other>"),
    _otr(f"<payload xmlns='urn:example:x' receiver='00000200'>{_data(0x100, 0x200)}</payload>"),
    _otr(f"<payload receiver='00000200'><b/>{_data(0x100, 0x200)}</payload>"),
    _otr(""), _otr("  "), _many(15), _many(16), _otr(P200 + P200),
    _payload(""), _payload("AAAA"), _payload("AAA"), _payload("AAA="), _payload("AA=="),
    _payload("A==="), _payload("AA=A"), _payload("AAAA===="), _payload(" AAAA"),
    _payload("AAAA\n"), _payload("AAAA\u00a0"), _payload("AA\u00e9A"), _payload("AAAA-_AA"),
    _payload(_data(0x100, 0x200)[:-1]), _payload(_data(0x100, 0x200)[:-2]),
    _payload(_data(0x100, 0x200) + "AAAA"), _payload("A" * 60000), _payload("A" * 60004),
    _payload(_data(0x101, 0x200)), _payload(_data(0x100, 0x201)),
    _payload(base64.b64encode(struct.pack(">HBII", 4, MessageType.AUTH_R, 0x100, 0x200))
             .decode()),
]


@pytest.fixture(scope="module")
def validator() -> StanzaValidator:
    return StanzaValidator()


def _reader_verdict(otr: c.AnyElement) -> bool:
    """Whether the reader takes ``otr`` by the schema's rules (a carriage rule may still
    refuse it)."""
    try:
        c.OtrElement.from_element(otr)
    except SCHEMA_RULES:
        return False
    except OTRError:  # a carriage rule
        return True
    return True


@pytest.mark.parametrize("text", CASES)
def test_reader_takes_what_the_schema_takes(validator: StanzaValidator, text: str) -> None:
    schema_ok = validator.validate_elements([etree.fromstring(text)]) == []
    assert _reader_verdict(ET.fromstring(text)) is schema_ok  # as slixmpp parsed it
    assert _reader_verdict(etree.fromstring(text)) is schema_ok


def test_the_cases_cover_both_verdicts(validator: StanzaValidator) -> None:
    verdicts = {validator.validate_elements([etree.fromstring(t)]) == [] for t in CASES}
    assert verdicts == {True, False}


def test_what_the_sender_builds_is_valid(validator: StanzaValidator) -> None:
    """``Delivery.send_otr`` does not validate its stanzas: ``build_message`` of any
    element ``OtrElement.of`` accepts is valid by the schemas."""
    payloads = [(0x200 + i, base64.b64decode(_data(0x100, 0x200 + i)) + bytes(i))
                for i in range(c.MAX_PAYLOADS)]
    for n in (1, 4, c.MAX_PAYLOADS):
        otr = c.OtrElement.of(0x100, payloads[:n])
        msg = c.build_message(otr, sender="juliet@capulet.lit/balcony",
                              to="romeo@montague.lit", stanza_id="m1")
        assert validator.validate_elements([msg]) == []


def test_a_payload_too_large_for_the_schema_is_refused_when_built() -> None:
    header = base64.b64decode(_data(0x100, 0x200))
    c.OtrElement.of(0x100, [(0x200, header + bytes(45000 - len(header)))])
    with pytest.raises(c.PayloadTooLargeError):
        c.OtrElement.of(0x100, [(0x200, header + bytes(45001 - len(header)))])
