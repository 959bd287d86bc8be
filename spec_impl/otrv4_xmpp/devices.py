"""The device list: which OTRv4 instances an account has (section "Devices").

Each account publishes one PEP (XEP-0163) item, id ``current``, on the node
``urn:xmpp:otr4:devices:0``, with the ``open`` access model, holding::

    <devices xmlns='urn:xmpp:otr4:devices:0'>
      <device tag='0000abcd' mode='standalone' expires='2026-04-30T12:00:00Z' label='Phone'/>
    </devices>

One entry per instance tag, at most :data:`MAX_DEVICES`.  ``expires`` mirrors
the device's Client Profile expiry: whoever republishes the list drops the
entries that have expired (:func:`prune`), and senders ignore them
(:func:`active`), so the list cannot grow without bound.  Devices maintain
the list by read-modify-write: :func:`join` (add or refresh oneself),
:func:`leave`; a device that finds itself missing joins again.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from lxml import etree

from otrv4.errors import DecodeError, ValidationError
from otrv4.instance_tag import is_valid_instance_tag
from otrv4.modes import Mode

from .carriage import InvalidTagTextError, parse_tag, tag_text
from .namespaces import NS_CLIENT, NS_DEVICES, NS_PUBSUB, NS_PUBSUB_EVENT, NS_XDATA

__all__ = [
    "ITEM_ID",
    "MAX_DEVICES",
    "MAX_LABEL_CHARS",
    "NODE",
    "DeviceEntry",
    "DeviceLimitError",
    "DeviceList",
    "DeviceMode",
    "DuplicateDeviceError",
    "InstanceTagCollisionError",
    "InvalidDeviceAttributeError",
    "LabelTooLongError",
    "NotADeviceListError",
    "TooManyDevicesError",
    "active",
    "build_event",
    "build_items_request",
    "build_publish",
    "format_expiry",
    "join",
    "leave",
    "parse_event",
    "parse_expiry",
    "parse_publish",
    "prune",
]

#: The PEP node (also the payload namespace).
NODE = NS_DEVICES
#: The one item of the node.
ITEM_ID = "current"
#: Devices per account.  OTRv4's multi-device notes and Wire allow 8; 8 devices per
#: account keep a stanza to a peer (8 + 7 payloads) well under the size limit.
MAX_DEVICES = 8
#: A label has fewer than 53 characters (Unicode code points).
MAX_LABEL_CHARS = 52

_EXPIRES = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


class NotADeviceListError(DecodeError):
    """The element or stanza does not hold a ``<devices/>`` payload where one is expected."""


class InvalidDeviceAttributeError(DecodeError):
    """A ``<device/>`` lacks ``tag``, ``mode`` or ``expires``, or one has a bad value,
    or it has an unknown attribute."""


class LabelTooLongError(ValidationError):
    """A label of more than :data:`MAX_LABEL_CHARS` characters, or an empty one."""


class TooManyDevicesError(ValidationError):
    """A device list of more than :data:`MAX_DEVICES` entries."""


class DuplicateDeviceError(ValidationError):
    """Two entries with one instance tag."""


class DeviceLimitError(ValidationError):
    """A device cannot join: the list is full.  ``candidates`` are the entries the user
    may remove, earliest expiry first."""

    def __init__(self, message: str, candidates: tuple[DeviceEntry, ...]) -> None:
        super().__init__(message)
        self.candidates = candidates


class InstanceTagCollisionError(ValidationError):
    """A new device's instance tag is already in its account's list: it must draw another."""


class DeviceMode(enum.Enum):
    """The ``mode`` attribute: the OTRv4 mode a device runs in."""

    STANDALONE = "standalone"
    INTERACTIVE_ONLY = "interactive-only"

    @classmethod
    def of(cls, mode: Mode) -> DeviceMode:
        """The attribute value for an engine :class:`~otrv4.modes.Mode`."""
        return cls.STANDALONE if mode is Mode.STANDALONE else cls.INTERACTIVE_ONLY

    @property
    def accepts_offline(self) -> bool:
        """Whether the device takes Non-Interactive-Auth messages (offline conversations)."""
        return self is DeviceMode.STANDALONE


def format_expiry(seconds: int) -> str:
    """Seconds since the epoch as ``YYYY-MM-DDThh:mm:ssZ`` (XEP-0082 DateTime, UTC)."""
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_expiry(text: str | None) -> int:
    """Read an ``expires`` attribute.  Raises :class:`InvalidDeviceAttributeError`."""
    if text is None or not _EXPIRES.fullmatch(text):
        raise InvalidDeviceAttributeError(f"expires={text!r} is not YYYY-MM-DDThh:mm:ssZ")
    try:
        when = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidDeviceAttributeError(f"expires={text!r} is not a date") from None
    return int(when.timestamp())


@dataclass(frozen=True, order=True)
class DeviceEntry:
    """One ``<device/>``: instance tag, mode, Client Profile expiry, optional label."""

    tag: int
    mode: DeviceMode
    expires: int
    label: str | None = None

    def check(self) -> None:
        """Raises :class:`InvalidDeviceAttributeError` (tag) or :class:`LabelTooLongError`."""
        if not is_valid_instance_tag(self.tag):
            raise InvalidDeviceAttributeError(f"instance tag {self.tag:#x} is below 0x100")
        if self.label is not None and not 1 <= len(self.label) <= MAX_LABEL_CHARS:
            raise LabelTooLongError(f"label of {len(self.label)} characters; "
                                    f"1 to {MAX_LABEL_CHARS} allowed")

    def expired(self, now: int) -> bool:
        """True once the Client Profile this entry mirrors has expired."""
        return self.expires <= now


@dataclass(frozen=True)
class DeviceList:
    """The list as published: entries sorted by instance tag."""

    entries: tuple[DeviceEntry, ...] = ()

    @classmethod
    def of(cls, entries: Iterable[DeviceEntry]) -> DeviceList:
        """Sort and check (:meth:`check`)."""
        out = cls(tuple(sorted(entries, key=lambda e: e.tag)))
        out.check()
        return out

    def check(self) -> None:
        """Raises :class:`TooManyDevicesError`, :class:`DuplicateDeviceError` and what
        :meth:`DeviceEntry.check` raises."""
        if len(self.entries) > MAX_DEVICES:
            raise TooManyDevicesError(f"{len(self.entries)} devices; at most {MAX_DEVICES}")
        tags = [e.tag for e in self.entries]
        if len(set(tags)) != len(tags):
            raise DuplicateDeviceError("two entries with one instance tag")
        for e in self.entries:
            e.check()

    def find(self, tag: int) -> DeviceEntry | None:
        """The entry for ``tag``, if any."""
        return next((e for e in self.entries if e.tag == tag), None)

    @property
    def tags(self) -> tuple[int, ...]:
        """The listed instance tags, ascending."""
        return tuple(e.tag for e in self.entries)

    def to_element(self) -> etree._Element:
        """The ``<devices/>`` payload."""
        root = etree.Element(f"{{{NS_DEVICES}}}devices",
                             nsmap={None: NS_DEVICES})  # type: ignore[dict-item]
        for e in self.entries:
            attrs = {"tag": tag_text(e.tag), "mode": e.mode.value,
                     "expires": format_expiry(e.expires)}
            if e.label is not None:
                attrs["label"] = e.label
            etree.SubElement(root, f"{{{NS_DEVICES}}}device", attrs)
        return root

    @classmethod
    def from_element(cls, el: etree._Element) -> DeviceList:
        """Read a ``<devices/>`` payload.  Raises :class:`NotADeviceListError`,
        :class:`InvalidDeviceAttributeError` and what :meth:`check` raises."""
        if el.tag != f"{{{NS_DEVICES}}}devices":
            raise NotADeviceListError(f"expected <devices/>, found {el.tag}")
        entries: list[DeviceEntry] = []
        for child in el:
            if child.tag != f"{{{NS_DEVICES}}}device":
                raise NotADeviceListError(f"unexpected element {child.tag} in <devices/>")
            extra = set(child.attrib) - {"tag", "mode", "expires", "label"}
            if extra:
                raise InvalidDeviceAttributeError(f"unknown attributes {sorted(extra)}")
            try:
                tag = parse_tag(child.get("tag"))
            except InvalidTagTextError as exc:
                raise InvalidDeviceAttributeError(str(exc)) from None
            try:
                mode = DeviceMode(child.get("mode", ""))
            except ValueError:
                raise InvalidDeviceAttributeError(
                    f"mode={child.get('mode')!r} is not a device mode") from None
            entries.append(DeviceEntry(tag, mode, parse_expiry(child.get("expires")),
                                       child.get("label")))
        out = cls(tuple(entries))
        out.check()
        return out


def prune(devices: DeviceList, now: int) -> DeviceList:
    """The list without expired entries (what a republishing device writes)."""
    return DeviceList(tuple(e for e in devices.entries if not e.expired(now)))


def active(devices: DeviceList, now: int) -> tuple[DeviceEntry, ...]:
    """The entries a sender uses: those not expired."""
    return prune(devices, now).entries


def join(devices: DeviceList, me: DeviceEntry, now: int, *, new_device: bool = False,
         replace_earliest: bool = False) -> DeviceList:
    """Add (or refresh) ``me`` in its account's list, pruning expired entries.

    ``new_device``: ``me`` has never been published; its tag in the list is then
    another device's (:class:`InstanceTagCollisionError`: draw a new tag).  A full
    list raises :class:`DeviceLimitError` naming the removable entries, unless
    ``replace_earliest``, which drops the entry that expires first.
    """
    me.check()
    current = prune(devices, now)
    present = current.find(me.tag)
    if present is not None and new_device:
        raise InstanceTagCollisionError(f"instance tag {tag_text(me.tag)} is already listed")
    others = [e for e in current.entries if e.tag != me.tag]
    if len(others) >= MAX_DEVICES:
        ranked = tuple(sorted(others, key=lambda e: (e.expires, e.tag)))
        if not replace_earliest:
            raise DeviceLimitError(
                f"{len(others)} devices already; remove one of "
                + ", ".join(tag_text(e.tag) for e in ranked), ranked)
        others = list(ranked[1:])
    return DeviceList.of([*others, replace(me)])


def leave(devices: DeviceList, tag: int) -> DeviceList:
    """The list without ``tag`` (a device that stops using OTRv4 on this account)."""
    return DeviceList(tuple(e for e in devices.entries if e.tag != tag))


# --------------------------------------------------------------------------- stanzas


def _c(local: str) -> str:
    return f"{{{NS_CLIENT}}}{local}"


def _iq(attrs: dict[str, str]) -> etree._Element:
    return etree.Element(_c("iq"), attrs, nsmap={None: NS_CLIENT})  # type: ignore[dict-item]


def build_publish(devices: DeviceList, *, sender: str, stanza_id: str) -> etree._Element:
    """The XEP-0060 publish of the list to one's own PEP node, item ``current``, with
    publish-options ``pubsub#access_model = open`` (section "Devices")."""
    devices.check()
    iq = _iq({"from": sender, "id": stanza_id, "type": "set"})
    pubsub = etree.SubElement(iq, f"{{{NS_PUBSUB}}}pubsub",
                              nsmap={None: NS_PUBSUB})  # type: ignore[dict-item]
    publish = etree.SubElement(pubsub, f"{{{NS_PUBSUB}}}publish", {"node": NODE})
    item = etree.SubElement(publish, f"{{{NS_PUBSUB}}}item", {"id": ITEM_ID})
    item.append(devices.to_element())
    options = etree.SubElement(pubsub, f"{{{NS_PUBSUB}}}publish-options")
    form = etree.SubElement(options, f"{{{NS_XDATA}}}x", {"type": "submit"},
                            nsmap={None: NS_XDATA})  # type: ignore[dict-item]
    for var, value, ftype in (
        ("FORM_TYPE", "http://jabber.org/protocol/pubsub#publish-options", "hidden"),
        ("pubsub#access_model", "open", None),
    ):
        field = etree.SubElement(form, f"{{{NS_XDATA}}}field", {"var": var})
        if ftype:
            field.set("type", ftype)
        etree.SubElement(field, f"{{{NS_XDATA}}}value").text = value
    return iq


def _devices_in_item(item: etree._Element | None) -> DeviceList:
    if item is None or item.get("id") != ITEM_ID:
        raise NotADeviceListError(f"no item '{ITEM_ID}' on node {NODE}")
    payload = item.find(f"{{{NS_DEVICES}}}devices")
    if payload is None:
        raise NotADeviceListError("the item holds no <devices/>")
    return DeviceList.from_element(payload)


def parse_publish(iq: etree._Element) -> DeviceList:
    """Read the list from a publish request (what the PEP service stores).

    Raises :class:`NotADeviceListError` and what :meth:`DeviceList.from_element` raises.
    """
    publish = iq.find(f"{{{NS_PUBSUB}}}pubsub/{{{NS_PUBSUB}}}publish")
    if iq.tag != _c("iq") or iq.get("type") != "set" or publish is None \
            or publish.get("node") != NODE:
        raise NotADeviceListError("not a publish to the device-list node")
    return _devices_in_item(publish.find(f"{{{NS_PUBSUB}}}item"))


def build_event(devices: DeviceList, *, owner: str, to: str, stanza_id: str) -> etree._Element:
    """The PEP notification a subscriber (a contact with ``+notify``) receives."""
    devices.check()
    msg = etree.Element(_c("message"), {"from": owner, "to": to, "id": stanza_id,
                                        "type": "headline"},
                        nsmap={None: NS_CLIENT})  # type: ignore[dict-item]
    event = etree.SubElement(msg, f"{{{NS_PUBSUB_EVENT}}}event",
                             nsmap={None: NS_PUBSUB_EVENT})  # type: ignore[dict-item]
    items = etree.SubElement(event, f"{{{NS_PUBSUB_EVENT}}}items", {"node": NODE})
    item = etree.SubElement(items, f"{{{NS_PUBSUB_EVENT}}}item", {"id": ITEM_ID})
    item.append(devices.to_element())
    return msg


def parse_event(msg: etree._Element) -> tuple[str, DeviceList]:
    """Read ``(owner bare JID, list)`` from a PEP notification.

    Raises :class:`NotADeviceListError` and what :meth:`DeviceList.from_element` raises.
    """
    items = msg.find(f"{{{NS_PUBSUB_EVENT}}}event/{{{NS_PUBSUB_EVENT}}}items")
    if msg.tag != _c("message") or items is None or items.get("node") != NODE:
        raise NotADeviceListError("not a device-list notification")
    return msg.get("from", "").split("/", 1)[0], _devices_in_item(
        items.find(f"{{{NS_PUBSUB_EVENT}}}item"))


def build_items_request(*, sender: str, owner: str, stanza_id: str) -> etree._Element:
    """Fetch a contact's list (XEP-0060 §6.5.2, the last item)."""
    iq = _iq({"from": sender, "to": owner, "id": stanza_id, "type": "get"})
    pubsub = etree.SubElement(iq, f"{{{NS_PUBSUB}}}pubsub",
                              nsmap={None: NS_PUBSUB})  # type: ignore[dict-item]
    etree.SubElement(pubsub, f"{{{NS_PUBSUB}}}items", {"node": NODE, "max_items": "1"})
    return iq
