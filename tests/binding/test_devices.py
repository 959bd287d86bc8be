"""The device list: model, maintenance rules, PEP stanzas, parse errors."""

from __future__ import annotations

import pytest
from lxml import etree

from otrv4.modes import Mode
from otrv4_xmpp import devices as d
from otrv4_xmpp.namespaces import NS_DEVICES, NS_PUBSUB, NS_XDATA
from otrv4_xmpp.xmltext import parse, to_text

NOW = 1776945600
DAY = 86400


def entry(tag: int, expires: int = NOW + DAY, label: str | None = None,
          mode: d.DeviceMode = d.DeviceMode.STANDALONE) -> d.DeviceEntry:
    return d.DeviceEntry(tag, mode, expires, label)


def test_expiry_format() -> None:
    assert d.format_expiry(NOW) == "2026-04-23T12:00:00Z"
    assert d.parse_expiry("2026-04-23T12:00:00Z") == NOW
    for bad in (None, "2026-04-23T12:00:00+00:00", "2026-04-23 12:00:00Z", "2026-02-30T00:00:00Z"):
        with pytest.raises(d.InvalidDeviceAttributeError):
            d.parse_expiry(bad)


def test_mode_of_engine_mode() -> None:
    assert d.DeviceMode.of(Mode.STANDALONE) is d.DeviceMode.STANDALONE
    assert d.DeviceMode.of(Mode.INTERACTIVE_ONLY) is d.DeviceMode.INTERACTIVE_ONLY
    assert d.DeviceMode.STANDALONE.accepts_offline
    assert not d.DeviceMode.INTERACTIVE_ONLY.accepts_offline


def test_join_adds_refreshes_and_prunes() -> None:
    listed = d.join(d.DeviceList(), entry(0x300, NOW + 10), NOW, new_device=True)
    listed = d.join(listed, entry(0x200), NOW, new_device=True)
    assert listed.tags == (0x200, 0x300)
    refreshed = d.join(listed, entry(0x300, NOW + 5 * DAY, "Phone"), NOW)
    assert refreshed.find(0x300) == entry(0x300, NOW + 5 * DAY, "Phone")
    # later, the 0x300 entry has expired: whoever republishes drops it
    later = d.join(listed, entry(0x200, NOW + 2 * DAY), NOW + 20)
    assert later.tags == (0x200,)
    assert d.active(listed, NOW + 20) == (entry(0x200),)
    assert d.prune(listed, NOW + 10).tags == (0x200,)  # expiry is exclusive


def test_collision_and_leave() -> None:
    listed = d.join(d.DeviceList(), entry(0x200), NOW, new_device=True)
    with pytest.raises(d.InstanceTagCollisionError):
        d.join(listed, entry(0x200, label="another device"), NOW, new_device=True)
    assert d.leave(listed, 0x200) == d.DeviceList()
    assert d.leave(listed, 0x999) == listed


def test_limit_refuses_or_replaces_earliest() -> None:
    full = d.DeviceList.of(entry(0x100 + i, NOW + (i + 1) * DAY) for i in range(8))
    with pytest.raises(d.DeviceLimitError) as info:
        d.join(full, entry(0x900), NOW, new_device=True)
    assert [e.tag for e in info.value.candidates][:2] == [0x100, 0x101]
    assert len(info.value.candidates) == 8
    replaced = d.join(full, entry(0x900), NOW, new_device=True, replace_earliest=True)
    assert 0x100 not in replaced.tags and 0x900 in replaced.tags and len(replaced.entries) == 8
    # a listed device refreshing itself is not a ninth device
    assert d.join(full, entry(0x105, NOW + 30 * DAY), NOW).find(0x105) is not None


@pytest.mark.parametrize(("entries", "error"), [
    ([entry(0x100 + i) for i in range(9)], d.TooManyDevicesError),
    ([entry(0x200), entry(0x200, label="x")], d.DuplicateDeviceError),
    ([entry(0xFF)], d.InvalidDeviceAttributeError),
    ([entry(0x200, label="x" * 53)], d.LabelTooLongError),
    ([entry(0x200, label="")], d.LabelTooLongError),
])
def test_list_rules(entries: list[d.DeviceEntry], error: type[Exception]) -> None:
    with pytest.raises(error):
        d.DeviceList.of(entries)


def test_label_of_52_code_points_is_fine() -> None:
    assert d.DeviceList.of([entry(0x200, label="\U0001F339" * 52)]).entries[0].label


def test_publish_stanza_exact() -> None:
    listed = d.DeviceList.of([entry(0xABCD, label="Phone")])
    iq = d.build_publish(listed, sender="juliet@capulet.lit/balcony", stanza_id="p1")
    assert to_text(iq) == (
        "<iq from='juliet@capulet.lit/balcony' id='p1' type='set'>\n"
        "  <pubsub xmlns='http://jabber.org/protocol/pubsub'>\n"
        "    <publish node='urn:xmpp:otr4:devices:0'>\n"
        "      <item id='current'>\n"
        "        <devices xmlns='urn:xmpp:otr4:devices:0'>\n"
        "          <device expires='2026-04-24T12:00:00Z' label='Phone' mode='standalone'"
        " tag='0000abcd'/>\n"
        "        </devices>\n"
        "      </item>\n"
        "    </publish>\n"
        "    <publish-options>\n"
        "      <x xmlns='jabber:x:data' type='submit'>\n"
        "        <field type='hidden' var='FORM_TYPE'>\n"
        "          <value>http://jabber.org/protocol/pubsub#publish-options</value>\n"
        "        </field>\n"
        "        <field var='pubsub#access_model'>\n"
        "          <value>open</value>\n"
        "        </field>\n"
        "      </x>\n"
        "    </publish-options>\n"
        "  </pubsub>\n"
        "</iq>")
    assert d.parse_publish(parse(to_text(iq))) == listed
    assert NS_XDATA in to_text(iq)


def test_event_and_request() -> None:
    listed = d.DeviceList.of([entry(0x200), entry(0x300, mode=d.DeviceMode.INTERACTIVE_ONLY)])
    msg = d.build_event(listed, owner="juliet@capulet.lit", to="romeo@montague.lit/orchard",
                        stanza_id="e1")
    assert d.parse_event(parse(to_text(msg))) == ("juliet@capulet.lit", listed)
    req = d.build_items_request(sender="romeo@montague.lit/orchard", owner="juliet@capulet.lit",
                                stanza_id="g1")
    items = req.find(f"{{{NS_PUBSUB}}}pubsub/{{{NS_PUBSUB}}}items")
    assert req.get("type") == "get" and items is not None
    assert (items.get("node"), items.get("max_items")) == (d.NODE, "1")


def _devices(inner: str) -> etree._Element:
    return etree.fromstring(f"<devices xmlns='{NS_DEVICES}'>{inner}</devices>")


@pytest.mark.parametrize(("xml", "error"), [
    (etree.fromstring("<devices xmlns='urn:other'/>"), d.NotADeviceListError),
    (_devices("<other/>"), d.NotADeviceListError),
    (_devices("<device mode='standalone' expires='2026-04-24T12:00:00Z'/>"),
     d.InvalidDeviceAttributeError),
    (_devices("<device tag='00000200' mode='v3' expires='2026-04-24T12:00:00Z'/>"),
     d.InvalidDeviceAttributeError),
    (_devices("<device tag='00000200' mode='standalone'/>"), d.InvalidDeviceAttributeError),
    (_devices("<device tag='00000200' mode='standalone' expires='2026-04-24T12:00:00Z' "
              "x='1'/>"), d.InvalidDeviceAttributeError),
    (_devices("<device tag='000000ff' mode='standalone' expires='2026-04-24T12:00:00Z'/>"),
     d.InvalidDeviceAttributeError),
    (_devices("<device tag='00000200' mode='standalone' expires='2026-04-24T12:00:00Z'/>" * 2),
     d.DuplicateDeviceError),
])
def test_parse_errors(xml: etree._Element, error: type[Exception]) -> None:
    with pytest.raises(error):
        d.DeviceList.from_element(xml)


def test_stanza_parse_errors() -> None:
    listed = d.DeviceList.of([entry(0x200)])
    iq = d.build_publish(listed, sender="a@b/c", stanza_id="p")
    iq.set("type", "get")
    with pytest.raises(d.NotADeviceListError):
        d.parse_publish(iq)
    msg = d.build_event(listed, owner="a@b", to="c@d/e", stanza_id="e")
    item = next(msg.iter("{http://jabber.org/protocol/pubsub#event}item"))
    item.set("id", "other")
    with pytest.raises(d.NotADeviceListError):
        d.parse_event(msg)
