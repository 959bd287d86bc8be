"""Stanza errors of the binding (section "Error Handling").

A device that cannot use a stanza carrying ``<otr/>`` answers, for stanzas it
received live (never for ones from an archive or offline storage, see
:func:`otrv4_xmpp.policy.may_answer`), with a message of type ``error``: an
RFC 6120 defined condition plus one application-specific condition of the
base namespace that names the reporting device's instance tag.  Failures
inside an OTRv4 conversation stay OTR Error messages (``?OTR Error: ERROR_n``),
carried like the other OTRv4 messages.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from lxml import etree

from otrv4.errors import DecodeError

from .carriage import parse_tag, tag_text
from .namespaces import NS_CLIENT, NS_OTR4, NS_STANZAS

__all__ = [
    "CONDITIONS",
    "Condition",
    "NotAStanzaError",
    "StanzaError",
    "build_error",
    "parse_error",
]


class NotAStanzaError(DecodeError):
    """The message is not an error of this binding (no ``<error/>`` or no condition of ours)."""


class Condition(enum.Enum):
    """The application-specific conditions (elements of ``urn:xmpp:otr4:0``)."""

    NO_PAYLOAD_FOR_DEVICE = "no-payload-for-device"
    UNKNOWN_INSTANCE_TAG = "unknown-instance-tag"
    MODE_NOT_SUPPORTED = "mode-not-supported"
    INVALID_OTR_MESSAGE = "invalid-otr-message"


#: For each condition: the RFC 6120 defined condition, the error type, and when a
#: device sends it (rendered into the XEP's table).
CONDITIONS: dict[Condition, tuple[str, str, str]] = {
    Condition.NO_PAYLOAD_FOR_DEVICE: (
        "item-not-found", "cancel",
        "A live stanza with <otr/> holds no payload for the receiving device: the sender "
        "does not know this device yet (it refetches the device list)."),
    Condition.UNKNOWN_INSTANCE_TAG: (
        "item-not-found", "cancel",
        "A payload sent to this device's full JID names a receiver instance tag that is "
        "not the device's (an old tag, or another device's)."),
    Condition.MODE_NOT_SUPPORTED: (
        "feature-not-implemented", "cancel",
        "A Non-Interactive-Auth message reached a device in OTRv4-interactive-only mode."),
    Condition.INVALID_OTR_MESSAGE: (
        "bad-request", "modify",
        "The <otr/> element or a payload breaks a rule of Message Carriage (bad header, "
        "mismatched instance tags, a message type that does not travel in <otr/>)."),
}


@dataclass(frozen=True)
class StanzaError:
    """An error as read back: the condition, the reporting device, the defined condition."""

    condition: Condition
    tag: int
    defined: str
    type: str
    sender: str
    to: str
    stanza_id: str | None


def build_error(condition: Condition, *, reporter_tag: int, sender: str, to: str,
                stanza_id: str | None) -> etree._Element:
    """The error message a device returns (RFC 6120 §8.3); ``sender`` is the reporting
    device's full JID, ``to`` the JID the failed stanza came from, ``stanza_id`` its id."""
    defined, etype, _ = CONDITIONS[condition]
    attrs = {"from": sender, "to": to, "type": "error"}
    if stanza_id is not None:
        attrs["id"] = stanza_id
    msg = etree.Element(f"{{{NS_CLIENT}}}message", attrs,
                        nsmap={None: NS_CLIENT})  # type: ignore[dict-item]
    err = etree.SubElement(msg, f"{{{NS_CLIENT}}}error", {"type": etype})
    etree.SubElement(err, f"{{{NS_STANZAS}}}{defined}",
                     nsmap={None: NS_STANZAS})  # type: ignore[dict-item]
    etree.SubElement(err, f"{{{NS_OTR4}}}{condition.value}", {"tag": tag_text(reporter_tag)},
                     nsmap={None: NS_OTR4})  # type: ignore[dict-item]
    return msg


def parse_error(msg: etree._Element) -> StanzaError:
    """Read an error of this binding.  Raises :class:`NotAStanzaError` and
    :class:`~otrv4_xmpp.carriage.InvalidTagTextError`."""
    err = msg.find(f"{{{NS_CLIENT}}}error")
    if msg.get("type") != "error" or err is None:
        raise NotAStanzaError("not an error stanza")
    defined = next((etree.QName(c).localname for c in err
                    if etree.QName(c).namespace == NS_STANZAS and etree.QName(c).localname
                    != "text"), "")
    for child in err:
        if etree.QName(child).namespace == NS_OTR4:
            try:
                condition = Condition(etree.QName(child).localname)
            except ValueError:
                raise NotAStanzaError(f"unknown condition {child.tag}") from None
            return StanzaError(condition, parse_tag(child.get("tag")), defined,
                               err.get("type", ""), msg.get("from", ""), msg.get("to", ""),
                               msg.get("id"))
    raise NotAStanzaError("no condition of urn:xmpp:otr4:0 in the error")
