"""Scenarios: the device list: Juliet's laptop publishes her list, Romeo's laptop is
notified; lists that break the devices schema."""

from __future__ import annotations

import copy

from lxml import etree

from otrv4_xmpp.devices import (
    DeviceEntry,
    DeviceList,
    DeviceMode,
    build_event,
    build_publish,
    join,
    parse_event,
    parse_publish,
)
from otrv4_xmpp.namespaces import NS_DEVICES

from . import InvalidExample, ScenarioContext, Step
from ._cast import deliver

__all__ = ["SCENARIOS"]

_D = f"{{{NS_DEVICES}}}device"


class ListMismatchError(Exception):
    """The parsed example does not hold the list that was published."""


def _entry(device_tag: int, expires: int, label: str | None) -> DeviceEntry:
    return DeviceEntry(device_tag, DeviceMode.STANDALONE, expires, label)


def _devices(stanza: etree._Element) -> etree._Element:
    found = next(stanza.iter(f"{{{NS_DEVICES}}}devices"), None)
    if found is None:
        raise RuntimeError("no <devices/> to mutate")
    return found


def device_list(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Juliet's phone is already listed; her laptop joins (read-modify-write) and
    publishes; Romeo's laptop, subscribed through +notify, receives the event."""
    story = ctx.story
    now = ctx.clock.now()
    phone, laptop = story.juliet_phone, story.juliet_laptop
    listed = join(DeviceList(), _entry(phone.tag, phone.expires, phone.label), now,
                  new_device=True)
    wanted = join(listed, _entry(laptop.tag, laptop.expires, laptop.label), now,
                  new_device=True)
    publish = build_publish(wanted, sender=laptop.jid, stanza_id=story.stanza_id("devices1"))
    if parse_publish(deliver(publish)) != wanted:
        raise RuntimeError("the published list does not read back")
    event = build_event(wanted, owner=laptop.account, to=story.romeo_laptop.jid,
                        stanza_id=story.stanza_id("devices2"))
    owner, seen = parse_event(deliver(event))
    if (owner, seen) != (laptop.account, wanted):
        raise RuntimeError("the notification does not read back")

    def accept_publish(st: etree._Element) -> object:
        if parse_publish(st) != wanted:
            raise ListMismatchError("the publish does not hold the list")
        return wanted

    def accept_event(st: etree._Element) -> object:
        if parse_event(st) != (laptop.account, wanted):
            raise ListMismatchError("the event does not hold the list")
        return wanted

    out: list[Step | InvalidExample] = [
        Step("publish", f"{laptop.name} publishes her device list", publish,
             produced_by="otrv4_xmpp.devices.join, otrv4_xmpp.devices.build_publish",
             accepted_by="otrv4_xmpp.devices.parse_publish", accept=accept_publish,
             sender=laptop),
        Step("event", f"{story.romeo_laptop.name} is notified of Juliet's device list", event,
             produced_by="otrv4_xmpp.devices.build_event",
             accepted_by="otrv4_xmpp.devices.parse_event", accept=accept_event),
    ]

    bad = copy.deepcopy(event)
    devices = _devices(bad)
    first = devices.find(_D)
    assert first is not None
    for i in range(7):
        extra = copy.deepcopy(first)
        extra.set("tag", f"{0x5000 + i:08x}")
        devices.append(extra)
    out.append(InvalidExample("nine-devices", bad,
                              mutation="seven more <device/> entries (nine in all; the limit "
                                       "is 8)",
                              rule="This element is not expected"))
    bad = copy.deepcopy(event)
    devices = _devices(bad)
    first = devices.find(_D)
    assert first is not None
    devices.append(copy.deepcopy(first))
    out.append(InvalidExample("duplicate-device-tag", bad,
                              mutation="the first entry repeated",
                              rule="Duplicate key-sequence"))
    bad = copy.deepcopy(event)
    first = _devices(bad).find(_D)
    assert first is not None
    first.set("label", "Juliet's balcony laptop, the one with a rose sticker!")
    out.append(InvalidExample("label-too-long", bad,
                              mutation="a label of 53 characters",
                              rule="exceeds the allowed maximum length of '52'"))
    bad = copy.deepcopy(event)
    first = _devices(bad).find(_D)
    assert first is not None
    first.set("mode", "otrv3-compatible")
    out.append(InvalidExample("unknown-mode", bad,
                              mutation="mode set to 'otrv3-compatible'",
                              rule="is not an element of the set"))
    bad = copy.deepcopy(event)
    first = _devices(bad).find(_D)
    assert first is not None
    first.set("expires", (first.get("expires") or "").replace("Z", "+02:00"))
    out.append(InvalidExample("expiry-not-utc", bad,
                              mutation="expires written with a +02:00 offset",
                              rule="is not accepted by the pattern"))
    bad = copy.deepcopy(publish)
    first = _devices(bad).find(_D)
    assert first is not None
    del first.attrib["expires"]
    out.append(InvalidExample("device-without-expiry", bad,
                              mutation="the 'expires' attribute removed",
                              rule="The attribute 'expires' is required"))
    return out


SCENARIOS = {"device-list": device_list}
