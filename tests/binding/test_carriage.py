"""Message carriage: the <otr/> element and the stanza around it."""

from __future__ import annotations

import base64
import copy
import itertools
import re
from xml.etree import ElementTree as ET

import pytest
from lxml import etree

from otrv4.encoding import MessageType
from otrv4_xmpp import carriage as c
from otrv4_xmpp.namespaces import NS_CARBONS, NS_CLIENT, NS_EME, NS_HINTS, NS_OTR4
from otrv4_xmpp.xmltext import parse, to_text

from ._pairs import pair

J_BARE, R_BARE = "juliet@capulet.lit", "romeo@montague.lit"


@pytest.fixture(scope="module")
def data_otr() -> tuple[c.OtrElement, int, int]:
    j, r, _ = pair("carriage-data")
    return c.OtrElement.of(j.tag, [(r.tag, j.encrypt(r, "hello"))]), j.tag, r.tag


@pytest.fixture(scope="module")
def identity_otr() -> c.OtrElement:
    from otrv4.clock import FixedClock
    from otrv4.primitives.rng import DeterministicRng
    from otrv4_devtools.multidevice import Device
    rng = DeterministicRng("carriage-identity")
    j = Device.create("juliet@capulet.lit/balcony", rng, FixedClock(1776945600))
    (identity,) = j.engine.start_dake(f"{R_BARE}/orchard").payloads
    return c.OtrElement.of(j.tag, [(0, identity)])


def _header(sender: int, receiver: int, kind: MessageType = MessageType.DATA) -> bytes:
    return b"\x00\x04" + bytes([kind]) + sender.to_bytes(4, "big") + receiver.to_bytes(4, "big")


def test_stored_delivery_stanza_layout(data_otr: tuple[c.OtrElement, int, int]) -> None:
    otr, _, rt = data_otr
    msg = c.build_message(otr, sender="juliet@capulet.lit/balcony", to=R_BARE, stanza_id="m1")
    children = [(etree.QName(e).namespace, etree.QName(e).localname) for e in msg]
    assert children == [(NS_CLIENT, "body"), (NS_OTR4, "otr"), (NS_EME, "encryption"),
                        (NS_HINTS, "store")]
    assert msg.get("type") == "chat" and msg.get("to") == R_BARE
    assert msg.findtext(f"{{{NS_CLIENT}}}body") == c.FALLBACK_BODY
    enc = msg.find(f"{{{NS_EME}}}encryption")
    assert enc is not None
    assert (enc.get("namespace"), enc.get("name"), len(enc.attrib)) == (NS_OTR4, "OTRv4", 2)
    p = msg.find(f"{{{NS_OTR4}}}otr/{{{NS_OTR4}}}payload")
    assert p is not None and p.get("receiver") == f"{rt:08x}"
    assert base64.b64decode(p.text or "") == otr.payloads[0].data
    assert otr.delivery is c.Delivery.STORED


def test_live_delivery_hints(identity_otr: c.OtrElement) -> None:
    msg = c.build_message(identity_otr, sender="juliet@capulet.lit/balcony",
                          to="romeo@montague.lit/orchard", stanza_id="d1")
    tail = [(etree.QName(e).namespace, etree.QName(e).localname) for e in msg][3:]
    assert tail == [(NS_HINTS, "no-store"), (NS_HINTS, "no-copy"), (NS_CARBONS, "private")]
    assert c.parse_message(msg).hints == frozenset({"no-store", "no-copy", "private"})


def test_addressing_rules(identity_otr: c.OtrElement,
                          data_otr: tuple[c.OtrElement, int, int]) -> None:
    with pytest.raises(c.AddressingError):
        c.build_message(identity_otr, sender="a@b/c", to=R_BARE, stanza_id="x")
    with pytest.raises(c.AddressingError):
        c.build_message(data_otr[0], sender="a@b/c", to=R_BARE + "/orchard", stanza_id="x")


def test_parse_round_trip(data_otr: tuple[c.OtrElement, int, int]) -> None:
    otr, jt, rt = data_otr
    msg = c.build_message(otr, sender="juliet@capulet.lit/balcony", to=R_BARE, stanza_id="m1")
    got = c.parse_message(parse(to_text(msg)))
    assert got.otr == otr and got.stanza_id == "m1" and got.hints == frozenset({"store"})
    assert c.payload_for(got, rt) == otr.payloads[0]
    with pytest.raises(c.NoPayloadForDeviceError):
        c.payload_for(got, jt)


def test_zero_receiver_taken_only_when_alone(identity_otr: c.OtrElement) -> None:
    sender = identity_otr.sender
    zero = c.OtrElement.of(sender, [(0, _header(sender, 0, MessageType.IDENTITY) + b"x")])
    received = c.ReceivedOtr("a", "b", None, zero, frozenset())
    assert c.payload_for(received, 0x5555).receiver == 0


@pytest.mark.parametrize(("payloads", "error"), [
    ([], c.PayloadCountError),
    ([(0x200 + i, _header(0x100, 0x200 + i)) for i in range(16)], c.PayloadCountError),
    ([(0x200, _header(0x100, 0x200)), (0x200, _header(0x100, 0x200))],
     c.DuplicateReceiverError),
    ([(0x200, b"\x00\x03" + _header(0x100, 0x200)[2:])], c.UnsupportedPayloadError),
    ([(0x200, _header(0x100, 0x200, MessageType.PREKEY))], c.UnsupportedPayloadError),
    ([(0x200, b"\x00\x04\x99" + bytes(8))], c.UnsupportedPayloadError),
    ([(0x200, b"\x00\x04\x03")], c.UnsupportedPayloadError),
    ([(0x200, _header(0x101, 0x200))], c.PayloadSenderMismatchError),
    ([(0x200, _header(0x100, 0x201))], c.PayloadReceiverMismatchError),
    ([(0x200, _header(0x100, 0x200)), (0x201, _header(0x100, 0x201, MessageType.AUTH_R))],
     c.MixedDeliveryError),
    ([(0, _header(0x100, 0))], c.ZeroReceiverError),
    ([(0, _header(0x100, 0, MessageType.AUTH_I))], c.ZeroReceiverError),
])
def test_element_rules(payloads: list[tuple[int, bytes]], error: type[Exception]) -> None:
    with pytest.raises(error):
        c.OtrElement.of(0x100, payloads)


def test_sender_tag_below_minimum() -> None:
    with pytest.raises(c.InvalidTagTextError):
        c.OtrElement.of(0xFF, [(0x200, _header(0xFF, 0x200))])


def _otr_xml(inner: str, sender: str = "00000100") -> etree._Element:
    return etree.fromstring(f"<otr xmlns='{NS_OTR4}' sender='{sender}'>{inner}</otr>")


GOOD = base64.b64encode(_header(0x100, 0x200)).decode()


@pytest.mark.parametrize(("xml", "error"), [
    (_otr_xml(f"<payload receiver='00000200'>{GOOD}</payload>", "0000010"),
     c.InvalidTagTextError),
    (_otr_xml(f"<payload receiver='00000200'>{GOOD}</payload>", "000000ff"),
     c.InvalidTagTextError),
    (_otr_xml(f"<payload receiver='0000020A'>{GOOD}</payload>"), c.InvalidTagTextError),
    (_otr_xml(f"<payload receiver='00000200'>{GOOD[:-1]}!</payload>"),
     c.InvalidPayloadBase64Error),
    (_otr_xml(f"<payload receiver='00000200'>{GOOD[:-2]}</payload>"),
     c.InvalidPayloadBase64Error),
    (_otr_xml("<payload receiver='00000200'>" + "A" * 60004 + "</payload>"),
     c.PayloadTooLargeError),
    (_otr_xml(f"<payload>{GOOD}</payload>"), c.MalformedOtrElementError),
    (_otr_xml(f"<payload receiver='00000200' x='1'>{GOOD}</payload>"),
     c.MalformedOtrElementError),
    (_otr_xml(f"<other>{GOOD}</other>"), c.MalformedOtrElementError),
    (etree.fromstring(f"<otr xmlns='{NS_OTR4}' sender='00000100' v='4'/>"),
     c.MalformedOtrElementError),
    (_otr_xml(""), c.PayloadCountError),
])
def test_from_element_errors(xml: etree._Element, error: type[Exception]) -> None:
    with pytest.raises(error):
        c.OtrElement.from_element(xml)


def test_from_element_accepts_the_good_one() -> None:
    got = c.OtrElement.from_element(_otr_xml(f"<payload receiver='00000200'>{GOOD}</payload>"))
    assert got == c.OtrElement(0x100, (c.OtrPayload(0x200, _header(0x100, 0x200)),))


def test_not_an_otr_stanza(data_otr: tuple[c.OtrElement, int, int]) -> None:
    msg = c.build_message(data_otr[0], sender="a@b/c", to=R_BARE, stanza_id="m")
    with pytest.raises(c.NotAnOtrStanzaError):
        c.parse_message(etree.Element(f"{{{NS_CLIENT}}}iq"))
    twice = copy.deepcopy(msg)
    otr = twice.find(f"{{{NS_OTR4}}}otr")
    assert otr is not None
    twice.append(copy.deepcopy(otr))
    with pytest.raises(c.NotAnOtrStanzaError):
        c.parse_message(twice)
    for el in list(twice.iterfind(f"{{{NS_OTR4}}}otr")):
        twice.remove(el)
    with pytest.raises(c.NotAnOtrStanzaError):
        c.parse_message(twice)


def test_stanza_size_limit() -> None:
    data = _header(0x100, 0x200) + bytes(44000)
    big = c.OtrElement.of(0x100, [(0x200, data)])
    msg = c.build_message(big, sender="a@b/c", to=R_BARE, stanza_id="m")
    assert len(etree.tostring(msg)) < c.MAX_STANZA_BYTES
    bigger = c.OtrElement.of(0x100, [(0x200, data), (0x300, _header(0x100, 0x300)
                                                     + bytes(6000))])
    with pytest.raises(c.StanzaTooLargeError):
        c.build_message(bigger, sender="a@b/c", to=R_BARE, stanza_id="m")


def test_tag_text() -> None:
    assert c.tag_text(0x100) == "00000100" and c.parse_tag("0000abcd") == 0xABCD
    assert c.parse_tag("00000000", allow_zero=True) == 0
    with pytest.raises(c.InvalidTagTextError):
        c.parse_tag("00000000")


def test_padded_base64_check_means_the_group_pattern() -> None:
    """The length-and-alphabet check takes exactly the strings of the group-by-group
    pattern (every string of up to 8 characters over a small alphabet)."""
    groups = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")
    for n in range(9):
        for chars in itertools.product("A/=-", repeat=n):
            text = "".join(chars)
            expected = len(text) >= 4 and groups.fullmatch(text) is not None
            assert c.is_padded_base64(text) is expected, text


def test_parse_reads_a_standard_library_tree(data_otr: tuple[c.OtrElement, int, int]) -> None:
    """parse_message reads the tree slixmpp parsed (xml.etree) as it reads lxml's."""
    otr, _, _ = data_otr
    el = c.build_message(otr, sender="juliet@capulet.lit/balcony", to="romeo@montague.lit",
                         stanza_id="m1")
    text = etree.tostring(el)
    assert c.parse_message(ET.fromstring(text)) == c.parse_message(etree.fromstring(text))
