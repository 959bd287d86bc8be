"""Benchmark: one message to 1-8 devices, bytes on the wire and CPU, against python-omemo.

Run: ``make bench``.

Ours: the binding's design, one OTRv4 data message per device in one ``<otr/>``
element (:func:`otrv4_devtools.multidevice.per_device` over the device engine),
in the binding's
message stanza (body fallback, EME marker, hints), serialized.  The peer, in
the same run: python-omemo 2.1's OMEMO:2 backend, the content encrypted once
and its key material encrypted per device with each device's Double Ratchet
(established sessions, no key exchange attached), serialized with twomemo's own
``etree.serialize_message`` into the same stanza envelope.

A scaling figure (INFO rows, no target: the plugin's targets belong to the
plugin benchmark); the JSON feeds the docs' plot.
"""

from __future__ import annotations

import copy
import statistics
import sys
import xml.etree.ElementTree as ET

import harness
import peers
from lxml import etree

from otrv4.clock import FixedClock
from otrv4.primitives.rng import DeterministicRng
from otrv4_devtools.multidevice import Device, per_device, sessions
from otrv4_xmpp.carriage import build_message
from otrv4_xmpp.namespaces import NS_OTR4

COUNTS = (1, 2, 4, 8)
TEXT = "Shall I hear more, or shall I speak at this? " * 2


def ours_setup(n: int) -> tuple[Device, list[Device]]:
    return sessions(DeterministicRng(f"bench-fanout/{n}"), FixedClock(1_776_945_600), n)


class OmemoFanOut:
    """python-omemo's OMEMO:2 backend: one sender device, ``n`` receiving devices."""

    def __init__(self, n: int) -> None:
        import twomemo.etree as tetree
        from omemo.message import Message

        tm = peers._twomemo()
        self._tm, self._etree, self._message = tm, tetree, Message
        self.sender = tm.Twomemo(peers._memory_storage())
        self.sessions = []
        for i in range(n):
            device = tm.Twomemo(peers._memory_storage())
            peers.run(device.generate_pre_keys(5))
            bundle = peers.run(device.get_bundle("romeo@montague.lit", 100 + i))
            _, key_material = peers.run(self.sender.encrypt_plaintext(b"first"))
            session, _ = peers.run(self.sender.build_session_active(
                "romeo@montague.lit", 100 + i, bundle, key_material))
            self.sessions.append(session)

    def send(self) -> ET.Element:
        content, key_material = peers.run(self.sender.encrypt_plaintext(TEXT.encode()))
        keys = frozenset(
            (peers.run(self.sender.encrypt_key_material(s, key_material)), None)
            for s in self.sessions)
        message = self._message("urn:xmpp:omemo:2", "juliet@capulet.lit", 1, content, keys)
        return self._etree.serialize_message(message)


def measure(n: int, rng: DeterministicRng) -> tuple[harness.Comparison, dict[str, float]]:
    """Bytes and CPU of one message to ``n`` devices, ours and the peer's."""
    sender, receivers = ours_setup(n)
    peer = OmemoFanOut(n)

    def ours() -> bytes:
        stanza = build_message(per_device(sender, receivers, TEXT), sender=sender.jid,
                               to="romeo@montague.lit", stanza_id="m")
        return etree.tostring(stanza, encoding="utf-8")

    template = build_message(per_device(sender, receivers[:1], TEXT), sender=sender.jid,
                             to="romeo@montague.lit", stanza_id="m")

    def theirs() -> bytes:
        stanza = copy.deepcopy(template)  # the same envelope: body fallback, EME, hints
        otr = stanza.find(f"{{{NS_OTR4}}}otr")
        assert otr is not None
        stanza.replace(otr, etree.fromstring(ET.tostring(peer.send())))
        return etree.tostring(stanza, encoding="utf-8")

    ours_bytes, peer_bytes = len(ours()), len(theirs())
    c = harness.compare(f"fan-out to {n} device(s), CPU to send", ours, theirs,
                        "python-omemo", seconds=0.01, note=f"bytes {ours_bytes} vs {peer_bytes}")
    print(f"INFO    fan-out to {n} device(s), bytes: {ours_bytes} vs python-omemo "
          f"{peer_bytes} ({ours_bytes / peer_bytes:.2f}x)")
    return c, {"devices": n, "ours_bytes": ours_bytes, "peer_bytes": peer_bytes,
               "ours_ms": statistics.median(c.ours_ms), "peer_ms": statistics.median(c.peer_ms)}


def main() -> int:
    if not peers.available():
        print("INFO    fan-out: no peer (python-omemo not installed)")
        return 1
    report = harness.Report("fanout")
    rows = []
    rng = DeterministicRng("bench-fanout/messages")
    for n in COUNTS:
        c, row = measure(n, rng)
        report.add(c)
        rows.append(row)
    report.series["fanout"] = rows
    report.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
