"""slixmpp stanza classes for this binding's elements, and the bridge to lxml.

* :class:`Otr4` is ``<otr xmlns='urn:xmpp:otr4:0' sender='TAG'/>`` with one
  :class:`Otr4Payload` (``<payload receiver='TAG'>base64</payload>``) per
  receiving device (the carriage element, schema ``schemas/otr4.xsd``);
* :class:`Devices` / :class:`Device` are the PEP device-list payload
  ``<devices xmlns='urn:xmpp:otr4:devices:0'><device tag='…' mode='…'
  expires='…' label='…'/></devices>``.

Instance tags are written as 8 lower-case hex digits.  The stanza classes only
move attributes and text; what is valid is decided by the schemas, checked
through :func:`to_lxml` and :class:`otrv4_xmpp.validation.StanzaValidator`.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any, ClassVar
from xml.etree import ElementTree as ET

from lxml import etree
from slixmpp.xmlstream import ElementBase, tostring

from ..namespaces import NS_CARBONS, NS_DEVICES, NS_EME, NS_HINTS, NS_OTR4

__all__ = [
    "NS_CARBONS",
    "NS_DELAY",
    "NS_DEVICES",
    "NS_EME",
    "NS_HINTS",
    "NS_SID",
    "Device",
    "Devices",
    "Otr4",
    "Otr4Payload",
    "format_tag",
    "parse_tag",
    "to_lxml",
]

NS_DELAY = "urn:xmpp:delay"
NS_SID = "urn:xmpp:sid:0"


def format_tag(tag: int) -> str:
    """An instance tag as the schemas write it: 8 lower-case hex digits."""
    return f"{tag:08x}"


def parse_tag(text: str | None) -> int | None:
    """The instance tag written as 8 hex digits, or ``None`` when it is not that."""
    if text is None or len(text) != 8:
        return None
    try:
        return int(text, 16)
    except ValueError:
        return None


class Otr4Payload(ElementBase):
    """``<payload receiver='TAG'>base64</payload>``: one OTRv4 message for one device."""

    name = "payload"
    namespace = NS_OTR4
    plugin_attrib = "payload"
    plugin_multi_attrib = "payloads"
    interfaces: ClassVar[set[str]] = {"receiver", "data"}

    def get_data(self) -> bytes | None:
        """The binary OTRv4 message, or ``None`` when the text is not base64."""
        try:
            return base64.b64decode((self.xml.text or "").encode("ascii"), validate=True)
        except (binascii.Error, UnicodeEncodeError):
            return None

    def set_data(self, value: bytes) -> None:
        self.xml.text = base64.b64encode(value).decode("ascii")

    def del_data(self) -> None:
        self.xml.text = None

    @property
    def receiver_tag(self) -> int | None:
        """The receiver attribute as an instance tag (``None`` if malformed)."""
        return parse_tag(self.xml.get("receiver"))


class Otr4(ElementBase):
    """``<otr xmlns='urn:xmpp:otr4:0' sender='TAG'>``: the carriage element.

    ``otr['payloads']`` lists its :class:`Otr4Payload` children, made when asked for:
    the payload class is not registered as an iterable plugin, so slixmpp does not
    build an object for each device's payload of every message it parses.
    """

    name = "otr"
    namespace = NS_OTR4
    plugin_attrib = "otr4"
    interfaces: ClassVar[set[str]] = {"sender", "payloads"}

    def get_payloads(self) -> list[Otr4Payload]:
        """The ``<payload/>`` children, in document order."""
        return [Otr4Payload(xml=child, parent=self)
                for child in self.xml.iterfind(f"{{{NS_OTR4}}}payload")]

    @property
    def sender_tag(self) -> int | None:
        """The sender attribute as an instance tag (``None`` if malformed)."""
        return parse_tag(self.xml.get("sender"))

    def add_payload(self, receiver: int, data: bytes) -> None:
        """Append one payload for the device ``receiver`` (0 while its tag is unknown)."""
        p = Otr4Payload()
        p["receiver"] = format_tag(receiver)
        p["data"] = data
        self.append(p)

    def payload_for(self, tag: int) -> bytes | None:
        """The first payload addressed to ``tag``, decoded (``None`` if absent)."""
        for p in self["payloads"]:
            if isinstance(p, Otr4Payload) and p.receiver_tag == tag:
                data: bytes | None = p["data"]
                return data
        return None


class Device(ElementBase):
    """``<device tag='…' mode='standalone|interactive-only' expires='…Z' label='…'/>``."""

    name = "device"
    namespace = NS_DEVICES
    plugin_attrib = "device"
    plugin_multi_attrib = "entries"
    interfaces: ClassVar[set[str]] = {"tag", "mode", "expires", "label"}


class Devices(ElementBase):
    """``<devices xmlns='urn:xmpp:otr4:devices:0'/>``: the device-list PEP payload."""

    name = "devices"
    namespace = NS_DEVICES
    plugin_attrib = "otr4_devices"
    interfaces: ClassVar[set[str]] = set()


def to_lxml(xml: ET.Element, xmlns: str = "", *, subtree: bool = False) -> etree._Element:
    """The same element as an lxml tree (for :class:`StanzaValidator` and the
    binding's lxml parsers), with clean default namespaces.  ``subtree``: ``xml`` is
    an element inside a stanza (its tail is its parent's text and is left out).

    A stanza as slixmpp parses it (every element namespaced, attributes
    unqualified or ``xml:``) is copied element by element, without serializing
    and parsing it again; anything else goes through slixmpp's serializer and a
    parser, which gives the same tree (and raises
    :class:`lxml.etree.XMLSyntaxError` for what XML cannot hold)."""
    del xmlns
    if subtree and xml.tail:
        xml = _without_tail(xml)
    try:
        copied = _copy(xml, "", None)
    except ValueError:  # text or an attribute XML cannot hold: the parser reports it
        copied = None
    if copied is not None:
        return copied
    text = tostring(xml)
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    return etree.fromstring(text.encode("utf-8"), parser)


def _without_tail(xml: ET.Element) -> ET.Element:
    """A shallow copy of ``xml`` (same attributes, text and children) without its tail."""
    el = ET.Element(xml.tag, xml.attrib)
    el.text = xml.text
    el.extend(xml)
    return el


def _copy(xml: ET.Element, parent_ns: str,
          parent: etree._Element | None) -> etree._Element | None:
    """``xml`` copied under ``parent`` (a new root when ``None``), declaring its
    namespace as the default where it differs from ``parent_ns``; ``None`` when
    the element is not one :func:`to_lxml` copies directly."""
    tag = xml.tag
    if not isinstance(tag, str) or not tag.startswith("{"):
        return None
    for k, v in xml.attrib.items():
        if (k.startswith("{") and not k.startswith(_XML_ATTR)) or _ATTR_WS.search(v):
            return None  # dropped by slixmpp's serializer, normalized by the parser
    if (xml.text and "\r" in xml.text) or (xml.tail and "\r" in xml.tail):
        return None  # the parser turns it into a line feed
    ns = tag[1:tag.index("}")]
    nsmap = {None: ns} if ns != parent_ns else None
    el = (etree.Element(tag, xml.attrib, nsmap)  # type: ignore[arg-type]
          if parent is None
          else etree.SubElement(parent, tag, xml.attrib, nsmap))  # type: ignore[arg-type]
    el.text = xml.text
    for child in xml:
        if _copy(child, ns, el) is None:
            return None
    if parent is None:
        if xml.tail and xml.tail.strip():
            return None  # not well-formed as a document: the parser reports it
    else:
        el.tail = xml.tail
    return el


_XML_ATTR = "{http://www.w3.org/XML/1998/namespace}"
_ATTR_WS = re.compile("[\t\n\r]")


def _register(parent: Any, child: Any, iterable: bool = False) -> None:
    from slixmpp.xmlstream import register_stanza_plugin
    register_stanza_plugin(parent, child, iterable=iterable)


def register_stanzas() -> None:
    """Register the classes on slixmpp's Message (``msg['otr4']``) and nest the children."""
    from slixmpp.plugins.xep_0060.stanza import EventItem, Item
    from slixmpp.stanza import Message

    _register(Message, Otr4)
    _register(Devices, Device, iterable=True)
    _register(Item, Devices)
    _register(EventItem, Devices)
