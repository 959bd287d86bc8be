"""Stanza I/O for the plugin's parts: send a stanza, send an IQ and wait for the
answer, check outgoing stanzas against the schemas, report errors.

The bottom of the plugin: it knows slixmpp and the validator, and nothing of
the OTRv4 state.
"""

from __future__ import annotations

import logging
from typing import Any
from xml.etree import ElementTree as ET

from lxml import etree
from slixmpp import JID
from slixmpp.basexmpp import BaseXMPP
from slixmpp.stanza import Iq

from ..namespaces import NS_DEVICES, NS_OTR4
from ..validation import StanzaValidator
from .errors import OutgoingStanzaInvalidError
from .events import Cause, Otr4Error
from .stanza import to_lxml

__all__ = ["IQ_TIMEOUT", "StanzaIO"]

log = logging.getLogger(__name__)

#: Seconds an IQ waits for its answer.
IQ_TIMEOUT = 20


class StanzaIO:
    """The stream of one plugin instance (``xmpp``) and the ``validator`` its stanzas
    are checked with."""

    def __init__(self, xmpp: BaseXMPP, validator: StanzaValidator) -> None:
        self.xmpp = xmpp
        self.validator = validator

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

    def send(self, el: etree._Element) -> None:
        """Send a message stanza built with lxml."""
        self.xmpp.Message(xml=ET.fromstring(etree.tostring(el))).send()

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
