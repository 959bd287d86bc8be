"""Message carbons (XEP-0280) as this binding uses them (section "Message Carriage").

Stored-delivery stanzas may be copied: the sender's server wraps the stanza in
``<sent><forwarded>...</forwarded></sent>`` and delivers it to the sender's
other online resources, which take the payload addressed to their own
instance tag.  :func:`build_sent_carbon` is the server's side (used by the
examples and tests); :func:`unwrap` is the receiving device's: it tells a
carbon from a direct delivery, so that :func:`otrv4_xmpp.policy.accepts` can
refuse live-delivery messages that arrive as copies.
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass

from lxml import etree

from otrv4.errors import DecodeError

from .namespaces import NS_CARBONS, NS_CLIENT, NS_FORWARD
from .policy import Arrival

__all__ = ["CarbonDirection", "ForgedCarbonError", "MalformedCarbonError", "Unwrapped",
           "build_sent_carbon", "unwrap"]


class MalformedCarbonError(DecodeError):
    """A ``<sent/>`` or ``<received/>`` without exactly one forwarded message."""


class ForgedCarbonError(DecodeError):
    """A carbon that does not come from the receiving account's own bare JID (XEP-0280
    §11: such a copy must be ignored)."""


class CarbonDirection(enum.Enum):
    """Whether the copied stanza was sent or received by another resource."""

    SENT = "sent"
    RECEIVED = "received"


@dataclass(frozen=True)
class Unwrapped:
    """The stanza to process and how it arrived."""

    stanza: etree._Element
    arrival: Arrival
    direction: CarbonDirection | None = None


def build_sent_carbon(original: etree._Element, *, account: str, to: str) -> etree._Element:
    """The copy the server of ``account`` sends to resource ``to`` of a stanza that
    another resource of the account sent (XEP-0280 §6)."""
    msg = etree.Element(f"{{{NS_CLIENT}}}message",
                        {"from": account, "to": to, "type": original.get("type", "normal")},
                        nsmap={None: NS_CLIENT})  # type: ignore[dict-item]
    sent = etree.SubElement(msg, f"{{{NS_CARBONS}}}sent",
                            nsmap={None: NS_CARBONS})  # type: ignore[dict-item]
    forwarded = etree.SubElement(sent, f"{{{NS_FORWARD}}}forwarded",
                                 nsmap={None: NS_FORWARD})  # type: ignore[dict-item]
    forwarded.append(copy.deepcopy(original))
    return msg


def unwrap(msg: etree._Element, *, our_account: str) -> Unwrapped:
    """The stanza inside a carbon (arrival CARBON), or ``msg`` itself (arrival LIVE).

    Raises :class:`ForgedCarbonError` for a carbon from another JID than
    ``our_account`` and :class:`MalformedCarbonError`.
    """
    for direction in CarbonDirection:
        wrapper = msg.find(f"{{{NS_CARBONS}}}{direction.value}")
        if wrapper is None:
            continue
        if msg.get("from", our_account) != our_account:
            raise ForgedCarbonError(f"a carbon from {msg.get('from')}, not {our_account}")
        inner = wrapper.findall(f"{{{NS_FORWARD}}}forwarded/{{{NS_CLIENT}}}message")
        if len(inner) != 1:
            raise MalformedCarbonError(f"{len(inner)} forwarded messages in <{direction.value}/>")
        return Unwrapped(inner[0], Arrival.CARBON, direction)
    return Unwrapped(msg, Arrival.LIVE)
