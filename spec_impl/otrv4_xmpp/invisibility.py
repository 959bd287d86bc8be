"""Invisible users (section "Invisible Users" of the XEP; XEP-0186).

A device that is invisible to a contact must not reveal to that contact that it
is online.  Contacts see it as offline and start with the non-interactive DAKE;
the device itself keeps to :func:`may_send`: no interactive DAKE message, no
OTR Error message, no stanza error and no heartbeat to a contact it hides
from; what the user writes travels in stored delivery, starting with a
Non-Interactive-Auth message where there is no session yet.

The XEP-0186 commands themselves are built and read here
(:func:`build_command`, :func:`parse_command`).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from lxml import etree

from otrv4.encoding import MessageType
from otrv4.errors import ValidationError

from .namespaces import NS_CLIENT

__all__ = [
    "NS_INVISIBLE",
    "InvisibleCommand",
    "NotAnInvisibleCommandError",
    "Outgoing",
    "build_command",
    "may_send",
    "parse_command",
]

NS_INVISIBLE: Final = "urn:xmpp:invisible:0"


class NotAnInvisibleCommandError(ValidationError):
    """The stanza is not an XEP-0186 ``<invisible/>`` or ``<visible/>`` IQ set."""


class Outgoing(enum.Enum):
    """What a device may want to send to a contact, for :func:`may_send`."""

    USER_MESSAGE = "a data message the user wrote"
    NON_INTERACTIVE_AUTH = "a Non-Interactive-Auth message before the user's message"
    INTERACTIVE_DAKE = "an Identity, Auth-R or Auth-I message"
    HEARTBEAT = "a heartbeat or other data message the user did not write"
    OTR_ERROR = "an OTR Error message"
    STANZA_ERROR = "a stanza error of this specification"


_HIDDEN_ALLOWED: Final = frozenset({Outgoing.USER_MESSAGE, Outgoing.NON_INTERACTIVE_AUTH})


def may_send(what: Outgoing, *, invisible_to_contact: bool) -> bool:
    """Whether a device may send ``what`` to a contact (any of its full JIDs or its bare
    JID), given whether it is invisible to that contact (XEP section "Invisible Users")."""
    return not invisible_to_contact or what in _HIDDEN_ALLOWED


def outgoing_of(message_type: MessageType, *, user_written: bool) -> Outgoing:
    """The :class:`Outgoing` kind of an OTRv4 message about to be sent."""
    if message_type is MessageType.NON_INTERACTIVE_AUTH:
        return Outgoing.NON_INTERACTIVE_AUTH
    if message_type is MessageType.DATA:
        return Outgoing.USER_MESSAGE if user_written else Outgoing.HEARTBEAT
    return Outgoing.INTERACTIVE_DAKE


@dataclass(frozen=True)
class InvisibleCommand:
    """An XEP-0186 command: become invisible (optionally with ``probe``) or visible."""

    invisible: bool
    probe: bool = False


def build_command(command: InvisibleCommand, *, sender: str, stanza_id: str) -> etree._Element:
    """The ``<iq type='set'/>`` to the own server that makes the session invisible or
    visible again (XEP-0186 §3, §4)."""
    iq = etree.Element(f"{{{NS_CLIENT}}}iq", {"from": sender, "id": stanza_id, "type": "set"},
                       nsmap={None: NS_CLIENT})  # type: ignore[dict-item]  # stubs: str keys
    name = "invisible" if command.invisible else "visible"
    child = etree.SubElement(iq, f"{{{NS_INVISIBLE}}}{name}",
                             nsmap={None: NS_INVISIBLE})  # type: ignore[dict-item]
    if command.invisible and command.probe:
        child.set("probe", "true")
    return iq


def parse_command(iq: etree._Element) -> InvisibleCommand:
    """Read an XEP-0186 command.  Raises :class:`NotAnInvisibleCommandError`."""
    if iq.tag != f"{{{NS_CLIENT}}}iq" or iq.get("type") != "set" or len(iq) != 1:
        raise NotAnInvisibleCommandError("not an IQ set with one child")
    child = iq[0]
    if child.tag == f"{{{NS_INVISIBLE}}}invisible":
        return InvisibleCommand(True, child.get("probe") in ("true", "1"))
    if child.tag == f"{{{NS_INVISIBLE}}}visible":
        return InvisibleCommand(False)
    raise NotAnInvisibleCommandError(f"unexpected child {child.tag}")
