"""The multi-device candidates and their measurement."""

from __future__ import annotations

import json

import pytest
from cryptography.exceptions import InvalidTag
from lxml import etree

from otrv4.clock import FixedClock
from otrv4.data_message import DataMessage
from otrv4.primitives.rng import DeterministicRng
from otrv4_devtools import multidevice as md
from otrv4_devtools.measure_multidevice import to_json
from otrv4_devtools.multidevice import Device
from otrv4_xmpp.carriage import build_message
from otrv4_xmpp.devices import DeviceEntry, DeviceList, DeviceMode

from ._pairs import NOW, connect


def _group(label: str, n: int) -> tuple[Device, list[Device], DeterministicRng]:
    rng = DeterministicRng(label)
    clock = FixedClock(NOW)
    sender = Device.create("juliet@capulet.lit/balcony", rng, clock)
    peers = [Device.create(f"romeo@montague.lit/d{i}", rng, clock) for i in range(n)]
    for p in peers:
        connect(sender, p)
    return sender, peers, rng


def test_per_device_each_reads_its_own() -> None:
    sender, peers, _ = _group("md-a", 3)
    otr = md.per_device(sender, peers, "hi all")
    assert len({p.data for p in otr.payloads}) == 3
    for p in peers:
        mine = next(x for x in otr.payloads if x.receiver == p.tag)
        assert p.decrypt(sender, mine.data) == "hi all"


def test_shared_ciphertext_round_trip_and_tamper() -> None:
    sender, peers, rng = _group("md-b", 2)
    shared = md.shared_ciphertext(sender, peers, "one for all", rng)
    assert md.open_shared(peers[0], sender, shared) == "one for all"
    tampered = md.SharedCiphertext(bytes([shared.ciphertext[0] ^ 1]) + shared.ciphertext[1:],
                                   shared.keys)
    with pytest.raises(InvalidTag):
        md.open_shared(peers[1], sender, tampered)
    # every key payload is a real OTRv4 data message whose ciphertext is the key, as the
    # 44 characters of its base64 form
    assert [len(DataMessage.decode(p.data).ciphertext) for p in shared.keys.payloads] == [44, 44]


def test_batch_check_names_missing_devices() -> None:
    sender, peers, _ = _group("md-c", 3)
    peers.sort(key=lambda p: p.tag)
    tags = [p.tag for p in peers]
    lists = [DeviceList.of(DeviceEntry(t, DeviceMode.STANDALONE, NOW + 10) for t in tags),
             DeviceList.of([DeviceEntry(sender.tag, DeviceMode.STANDALONE, NOW + 10)])]
    partial = md.per_device(sender, peers[:1], "x")
    with pytest.raises(md.MissingDevicesError) as info:
        md.check_batch(lists, partial, NOW)
    assert info.value.missing == tuple(tags[1:])
    refusal = md.refusal_stanza(info.value, server="capulet.lit", to=sender.jid, stanza_id="m")
    assert refusal.get("type") == "error"
    md.check_batch(lists, md.per_device(sender, peers, "x"), NOW)
    # expired entries are not required
    md.check_batch(lists, partial, NOW + 10)


def test_measure_bytes_do_not_depend_on_randomness() -> None:
    a = md.measure(DeterministicRng("m1"), FixedClock(NOW), counts=(1, 2), repeats=3)
    b = md.measure(DeterministicRng("m2"), FixedClock(NOW), counts=(1, 2), repeats=3)
    bytes_a = [(r.per_device_bytes, r.shared_key_bytes, r.server_checked_bytes) for r in a.rows]
    bytes_b = [(r.per_device_bytes, r.shared_key_bytes, r.server_checked_bytes) for r in b.rows]
    assert bytes_a == bytes_b
    one, two = a.rows
    assert one.server_checked_bytes is None and two.server_checked_bytes is not None
    # the refused stanza + refusal + the full stanza: more than the full stanza alone
    assert two.server_checked_bytes > two.per_device_bytes
    assert two.per_device_bytes > one.per_device_bytes
    data = json.loads(to_json(a))
    assert [r["devices"] for r in data["rows"]] == [1, 2]
    assert "At 2 devices" in data["conclusion"]


def test_committed_measurement_matches_the_code() -> None:
    """Bytes in xep/data/multidevice.json are what the code produces now."""
    from otrv4_xepgen.tables_binding import DATA_FILE
    committed = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    counts = tuple(r["devices"] for r in committed["rows"])
    now = md.measure(DeterministicRng("check"), FixedClock(NOW), counts=counts, repeats=2)
    for row, fresh in zip(committed["rows"], now.rows, strict=True):
        assert (row["per_device_bytes"], row["shared_key_bytes"],
                row["server_checked_bytes"]) == (fresh.per_device_bytes,
                                                 fresh.shared_key_bytes,
                                                 fresh.server_checked_bytes)


def test_wire_bytes_is_the_stream_form() -> None:
    sender, peers, _ = _group("md-w", 1)
    msg = md.per_device(sender, peers[:1], "x")
    stanza = build_message(msg, sender=sender.jid, to=peers[0].account, stanza_id="m")
    wire = etree.tostring(stanza, encoding="utf-8")
    assert md.wire_bytes(stanza) == len(wire) and b"\n" not in wire
    assert peers[0].decrypt(sender, msg.payloads[0].data) == "x"
