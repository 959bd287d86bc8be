"""``to_lxml`` copies slixmpp's ElementTree stanzas into lxml without a second
parse; the tree must be exactly what serializing and parsing gave."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from lxml import etree
from slixmpp.xmlstream import tostring

from otrv4_xmpp.slixmpp_plugin.stanza import _copy, to_lxml

EXAMPLES = sorted(Path(__file__).parents[2].joinpath("examples", "stanzas").rglob("*.xml"))


def by_parser(xml: ET.Element) -> etree._Element:
    """What to_lxml gave before: slixmpp's serializer and an lxml parser."""
    return etree.fromstring(tostring(xml).encode("utf-8"))


def same(a: etree._Element, b: etree._Element) -> bool:
    return bool(etree.tostring(a) == etree.tostring(b)
                and [e.nsmap for e in a.iter()] == [e.nsmap for e in b.iter()])


def test_the_examples_are_there() -> None:
    assert len(EXAMPLES) > 40


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: str(p.relative_to(p.parents[2])))
def test_examples_give_the_parsed_tree(path: Path) -> None:
    # as slixmpp reads them: inside a stream whose default namespace is jabber:client
    xml = ET.fromstring(f"<s xmlns='jabber:client'>{path.read_text()}</s>")[0]
    assert xml.tag.startswith("{")
    assert _copy(xml, "", None) is not None  # copied, not parsed again
    assert same(to_lxml(xml), by_parser(xml))


@pytest.mark.parametrize("text", [
    # namespaces change and change back; xml:lang; tails; escaped characters
    "<message xmlns='jabber:client' xml:lang='en' to='a@b'>\n <otr xmlns='urn:xmpp:otr4:0'"
    " sender='0000abcd'><payload receiver='00000001'>QUJD</payload>\n </otr>"
    "<body>a &lt;b&gt; &amp; &quot;c&quot;</body> <x xmlns='y'><z xmlns='jabber:client'/>"
    "</x></message>",
    # an element without a namespace inside a namespaced one
    "<message xmlns='jabber:client'><x xmlns=''><y/></x></message>",
    # a foreign attribute (slixmpp's serializer drops it)
    "<message xmlns='jabber:client' xmlns:f='urn:f' f:a='1'><body f:b='2'>x</body></message>",
    # whitespace in attribute values and a carriage return in text (normalized by a parser)
    "<message xmlns='jabber:client' id='a&#10;b&#9;c'><body>x&#13;y</body></message>",
])
def test_special_cases_give_the_parsed_tree(text: str) -> None:
    xml = ET.fromstring(text)
    assert same(to_lxml(xml), by_parser(xml))


def test_a_character_xml_cannot_hold_is_a_syntax_error() -> None:
    xml = ET.fromstring("<message xmlns='jabber:client'><body>x</body></message>")
    xml[0].text = "x\x01y"
    with pytest.raises(etree.XMLSyntaxError):
        by_parser(xml)
    with pytest.raises(etree.XMLSyntaxError):
        to_lxml(xml)


def test_a_text_tail_after_the_root_is_a_syntax_error() -> None:
    xml = ET.fromstring("<r xmlns='urn:x'><message xmlns='jabber:client'/>tail</r>")[0]
    with pytest.raises(etree.XMLSyntaxError):
        to_lxml(xml)
    xml.tail = "\n  "
    assert same(to_lxml(xml), by_parser(xml))
