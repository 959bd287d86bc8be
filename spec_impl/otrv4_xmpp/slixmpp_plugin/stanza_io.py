"""Stanza I/O for the plugin's parts: send a stanza, send an IQ and wait for the
answer, check outgoing stanzas against the schemas, report errors.

The bottom of the plugin: it knows slixmpp and the validator, and nothing of
the OTRv4 state.

Sending serializes a stanza once, with lxml: slixmpp's own serializer escapes
text character by character, which for the kilobytes of base64 in an
``<otr/>`` element costs more than the rest of sending.  The stanza still goes
through slixmpp's send queue and its outgoing filters (stream management
counts it, other plugins may add to it); a last filter (:meth:`StanzaIO.attach`)
writes the text lxml made, or leaves the stanza to slixmpp's serializer when an
earlier filter changed it.
"""

from __future__ import annotations

import logging
import weakref
from typing import Any
from xml.etree import ElementTree as ET

from lxml import etree
from slixmpp import JID
from slixmpp.basexmpp import BaseXMPP
from slixmpp.stanza import Iq
from slixmpp.xmlstream import StanzaBase

from ..namespaces import NS_DEVICES, NS_OTR4
from ..validation import StanzaValidator
from .errors import OutgoingStanzaInvalidError
from .events import Cause, Otr4Error
from .stanza import to_lxml

__all__ = ["IQ_TIMEOUT", "StanzaIO"]

log = logging.getLogger(__name__)

#: Seconds an IQ waits for its answer.
IQ_TIMEOUT = 20


class _Prepared:
    """The text lxml made for a stanza, and what the stanza looked like then."""

    __slots__ = ("attrib", "children", "text")

    def __init__(self, text: bytes, children: int, attrib: dict[str, str]) -> None:
        self.text = text
        self.children = children
        self.attrib = attrib

    def unchanged(self, xml: ET.Element) -> bool:
        """Whether ``xml`` still has the attributes and the number of children it had
        (the filters of slixmpp's plugins add children or attributes to the stanza)."""
        return len(xml) == self.children and xml.attrib == self.attrib


class StanzaIO:
    """The stream of one plugin instance (``xmpp``) and the ``validator`` its stanzas
    are checked with."""

    def __init__(self, xmpp: BaseXMPP, validator: StanzaValidator) -> None:
        self.xmpp = xmpp
        self.validator = validator
        self._prepared: weakref.WeakKeyDictionary[ET.Element, _Prepared] = (
            weakref.WeakKeyDictionary())

    def attach(self) -> None:
        """Add the outgoing filter that writes the stanzas :meth:`send` serialized (the
        last of slixmpp's filters when the plugin starts)."""
        self.xmpp.add_filter("out_sce", self._write_prepared)

    def detach(self) -> None:
        """Remove the filter :meth:`attach` added."""
        self.xmpp.del_filter("out_sce", self._write_prepared)

    def _write_prepared(self, stanza: StanzaBase) -> StanzaBase | None:
        """The stanza's lxml text goes out as it is, unless a filter replaced or changed
        the stanza (its attributes or its children): then slixmpp serializes it."""
        prepared = self._prepared.pop(stanza.xml, None)
        if prepared is None or not prepared.unchanged(stanza.xml):
            return stanza
        self.xmpp.send_raw(prepared.text)
        return None

    @property
    def full(self) -> str:
        """The full JID the stream is bound to."""
        return str(self.xmpp.boundjid.full)

    @property
    def bare(self) -> str:
        """The own account's bare JID."""
        return str(self.xmpp.boundjid.bare)

    @property
    def domain(self) -> str:
        """The own account's domain."""
        return str(self.xmpp.boundjid.domain)

    def new_id(self) -> str:
        """A fresh stanza id."""
        return str(self.xmpp.new_id())

    def send(self, el: etree._Element) -> int:
        """Send a message stanza built with lxml; returns its size in bytes (UTF-8), as
        lxml serialized it once for the stream (see the module's notes)."""
        text = etree.tostring(el, encoding="utf-8")
        msg = self.xmpp.Message(xml=ET.fromstring(text))
        self._prepared[msg.xml] = _Prepared(text, len(msg.xml), dict(msg.xml.attrib))
        msg.send()
        return len(text)

    async def send_iq(self, el: etree._Element) -> etree._Element:
        """Send an IQ built with lxml and return its result.  Raises
        :class:`slixmpp.exceptions.IqError` and :class:`~slixmpp.exceptions.IqTimeout`."""
        iq = Iq(self.xmpp, xml=ET.fromstring(etree.tostring(el)))  # type: ignore[no-untyped-call]
        result = await iq.send(timeout=IQ_TIMEOUT)  # type: ignore[no-untyped-call]
        return to_lxml(result.xml)

    def check_outgoing(self, el: etree._Element) -> None:
        """Check the ``<otr/>`` and ``<devices/>`` elements of a stanza this plugin built
        (or the stanza itself when it has none).  Raises
        :class:`~.errors.OutgoingStanzaInvalidError`."""
        roots = [e for e in el.iter() if isinstance(e.tag, str)
                 and e.tag in (f"{{{NS_OTR4}}}otr", f"{{{NS_DEVICES}}}devices")]
        violations = self.validator.validate_elements(roots or [el], source="outgoing")
        if violations:
            raise OutgoingStanzaInvalidError("; ".join(map(str, violations)))

    def violations(self, el: etree._Element, source: str) -> str | None:
        """What is wrong with a received element by the schemas, or ``None``."""
        found = self.validator.validate_elements([el], source=source)
        return "; ".join(map(str, found)) if found else None

    def event(self, name: str, value: Any) -> None:
        """Raise the slixmpp event ``name``."""
        self.xmpp.event(name, value)

    def error(self, sender: str | JID, reason: str, exc: BaseException | None = None,
              cause: Cause | None = None) -> None:
        """Log ``reason`` and raise ``otr4_error`` (``cause``: why a message could not be
        decrypted; its action is added to the reason)."""
        if cause is not None:
            reason = f"{reason} [{cause.name}: {cause.action}]"
        log.warning("%s: %s", sender, reason)
        self.xmpp.event("otr4_error", Otr4Error(str(sender), reason, exc, cause))
