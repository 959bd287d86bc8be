"""Delivering one message to many devices: the three candidates of the section
"Multiple Devices", and the measurement that chose between them.

(a) :func:`per_device` (the binding's choice): one OTRv4 data message per
    device, all in one ``<otr/>`` element.
(b) :func:`shared_ciphertext` (OMEMO-style): the message encrypted once under a
    random key with ChaCha20-Poly1305; the key (and nothing else, base64-encoded
    as the message text) travels in each device's OTRv4 data message.  The shared
    ciphertext is authenticated by a Poly1305 tag under a key that is never
    revealed, and it is not malleable: nobody without the key can alter it,
    whereas OTRv4's revealed MAC keys and malleable encryption let anyone alter
    an OTRv4 data message after the fact.  That forgeability is what OTRv4's
    deniability rests on, so the binding does not use this design.
(c) :func:`check_batch` (Wire-style): a delivery rule that refuses a stanza
    whose payloads miss a device of the published lists and names the missing
    ones; its cost is the refused stanza, the refusal and the resent stanza.

:func:`measure` runs the three over real OTRv4 sessions between
:class:`~otrv4_xmpp.engine.DeviceEngine` instances (the engine the plugin runs) and
returns wire bytes (deterministic) and CPU time (machine-dependent) per message.
"""

from __future__ import annotations

import base64
import platform
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from lxml import etree

from otrv4.clock import Clock
from otrv4.errors import ValidationError
from otrv4.primitives.rng import DeterministicRng, Rng
from otrv4_xmpp.carriage import OtrElement, OtrPayload, build_message, tag_text
from otrv4_xmpp.devices import DeviceEntry, DeviceList, DeviceMode, active
from otrv4_xmpp.engine import DeviceEngine, DeviceIdentity, NoSessionError, bare_of
from otrv4_xmpp.namespaces import NS_CLIENT, NS_OTR4, NS_STANZAS

__all__ = [
    "DEVICE_COUNTS",
    "Device",
    "Measurement",
    "MissingDevicesError",
    "Row",
    "SharedCiphertext",
    "check_batch",
    "connect",
    "measure",
    "open_shared",
    "per_device",
    "refusal_stanza",
    "sessions",
    "shared_ciphertext",
    "wire_bytes",
]

#: Recipient device counts the measurement covers.
DEVICE_COUNTS = (1, 2, 4, 8)

_SHARED_KEY_BYTES = 32
_NONCE = bytes(12)  # one key per message: a fixed nonce is safe


class MissingDevicesError(ValidationError):
    """Candidate (c): the stanza misses devices of the published lists (``missing``)."""

    def __init__(self, message: str, missing: tuple[int, ...]) -> None:
        super().__init__(message)
        self.missing = missing


@dataclass
class Device:
    """A device of the measurement: its full JID and its engine."""

    jid: str
    engine: DeviceEngine

    @classmethod
    def create(cls, jid: str, rng: Rng, clock: Clock) -> Device:
        """A new device with its own identity; ``rng`` seeds the device's own generator."""
        own = DeterministicRng(f"device:{jid}:{rng.random_bytes(16).hex()}")
        return cls(jid, DeviceEngine(DeviceIdentity.generate(own, clock), bare_of(jid),
                                     rng=own, clock=clock))

    @property
    def tag(self) -> int:
        return self.engine.instance_tag

    @property
    def account(self) -> str:
        return bare_of(self.jid)

    def encrypt(self, to: Device, text: str) -> bytes:
        """One data message for ``to``.  Raises :class:`NoSessionError`."""
        out = self.engine.send(to.account, to.tag, text)
        if len(out.payloads) != 1:
            raise NoSessionError(f"no encrypted session with {to.jid}")
        return out.payloads[0]

    def decrypt(self, sender: Device, data: bytes) -> str:
        """The text of a data message from ``sender``.  Raises :class:`NoSessionError`
        when it cannot be read."""
        out = self.engine.receive(sender.jid, data)
        if len(out.displays) != 1:
            raise NoSessionError(f"the message from {sender.jid} could not be read")
        return out.displays[0]


def wire_bytes(stanza: etree._Element) -> int:
    """Octets of the stanza as sent on a stream (UTF-8, no pretty-printing)."""
    return len(etree.tostring(stanza, encoding="utf-8"))


def per_device(sender: Device, receivers: Sequence[Device], text: str) -> OtrElement:
    """Candidate (a): one OTRv4 data message per receiving instance."""
    return OtrElement.of(sender.tag, [(r.tag, sender.encrypt(r, text)) for r in receivers])


@dataclass(frozen=True)
class SharedCiphertext:
    """Candidate (b): the shared ciphertext and the ``<otr/>`` carrying each device's key."""

    ciphertext: bytes
    keys: OtrElement

    def to_element(self) -> etree._Element:
        """``<otr/>`` with the key payloads, plus a ``<shared/>`` child holding the
        ciphertext (an element of this measurement only; not part of the schema)."""
        otr = self.keys.to_element()
        shared = etree.SubElement(otr, f"{{{NS_OTR4}}}shared")
        shared.text = base64.b64encode(self.ciphertext).decode("ascii")
        return otr


def shared_ciphertext(sender: Device, receivers: Sequence[Device], text: str,
                      rng: Rng) -> SharedCiphertext:
    """Candidate (b): encrypt ``text`` once under a fresh key; send the key to each
    device inside an OTRv4 data message."""
    key = rng.random_bytes(_SHARED_KEY_BYTES)
    ciphertext = ChaCha20Poly1305(key).encrypt(_NONCE, text.encode("utf-8"), None)
    wrapped = base64.b64encode(key).decode("ascii")
    keys = OtrElement.of(sender.tag, [(r.tag, sender.encrypt(r, wrapped)) for r in receivers])
    return SharedCiphertext(ciphertext, keys)


def _payload(otr: OtrElement, tag: int) -> OtrPayload:
    return next(p for p in otr.payloads if p.receiver == tag)


def open_shared(receiver: Device, sender: Device, message: SharedCiphertext) -> str:
    """Candidate (b), receiving side: decrypt the key payload, then the shared ciphertext.

    Raises what :meth:`Device.decrypt` raises and
    :class:`cryptography.exceptions.InvalidTag`.
    """
    payload = _payload(message.keys, receiver.tag)
    key = base64.b64decode(receiver.decrypt(sender, payload.data))
    return ChaCha20Poly1305(key).decrypt(_NONCE, message.ciphertext, None).decode("utf-8")


def check_batch(lists: Iterable[DeviceList], otr: OtrElement, now: int) -> None:
    """Candidate (c): the server's rule.  Every unexpired device of ``lists`` other
    than the sender must have a payload.  Raises :class:`MissingDevicesError`."""
    have = {p.receiver for p in otr.payloads}
    wanted = {e.tag for dl in lists for e in active(dl, now)} - {otr.sender}
    missing = tuple(sorted(wanted - have))
    if missing:
        raise MissingDevicesError("payloads missing for " + ", ".join(map(tag_text, missing)),
                                  missing)


def refusal_stanza(error: MissingDevicesError, *, server: str, to: str,
                   stanza_id: str) -> etree._Element:
    """Candidate (c): the refusal a server would send (a ``not-acceptable`` error naming
    the missing instance tags in its text; this binding defines no such condition)."""
    msg = etree.Element(f"{{{NS_CLIENT}}}message",
                        {"from": server, "to": to, "id": stanza_id, "type": "error"},
                        nsmap={None: NS_CLIENT})  # type: ignore[dict-item]
    err = etree.SubElement(msg, f"{{{NS_CLIENT}}}error", {"type": "modify"})
    etree.SubElement(err, f"{{{NS_STANZAS}}}not-acceptable",
                     nsmap={None: NS_STANZAS})  # type: ignore[dict-item]
    etree.SubElement(err, f"{{{NS_STANZAS}}}text").text = (
        "missing devices: " + " ".join(map(tag_text, error.missing)))
    return msg


@dataclass(frozen=True)
class Row:
    """One line of the table: ``devices`` receiving instances."""

    devices: int
    per_device_bytes: int
    per_device_ms: float
    per_device_receive_ms: float
    shared_key_bytes: int
    shared_key_ms: float
    shared_key_receive_ms: float
    server_checked_bytes: int | None
    """Bytes of the refused stanza (one device missed), the refusal and the resent
    stanza; ``None`` for one device (nothing to send before the miss)."""


@dataclass(frozen=True)
class Measurement:
    """The whole measurement: the rows and what they were measured with."""

    plaintext_bytes: int
    repeats: int
    machine: str
    rows: tuple[Row, ...]
    ratchet_step_ms: float
    """Mean extra milliseconds, per device, of a message that starts a new sending chain
    (after the peer answered): the same for both designs, so not in the rows."""

    def conclusion(self) -> str:
        """One sentence comparing the candidates at the largest device count."""
        last = self.rows[-1]
        ratio = last.per_device_bytes / last.shared_key_bytes
        text = (f"At {last.devices} devices a per-device message costs "
                f"{last.per_device_bytes} bytes, {ratio:.2f} times the shared-ciphertext "
                f"design, and {last.per_device_ms:.2f} ms to encrypt against "
                f"{last.shared_key_ms:.2f} ms.")
        if last.server_checked_bytes is not None:
            text += (f" A server-checked batch that missed one device costs "
                     f"{last.server_checked_bytes} bytes in all "
                     f"({last.server_checked_bytes / last.per_device_bytes:.2f} times one "
                     "stanza) and a round trip.")
        return text + (f" A message that follows a reply adds {self.ratchet_step_ms:.2f} ms "
                       "per device to either design (the DH ratchet step).")


TEXT = ("But soft, what light through yonder window breaks? It is the east, "
        "and Juliet is the sun. Arise, fair sun!")


def connect(a: Device, b: Device) -> int:
    """An interactive DAKE started by ``a`` with ``b``: every message relayed between the
    two engines until neither has anything to send.  Returns how many were relayed."""
    queue = [(a, b, d) for d in a.engine.start_dake(b.jid).payloads]
    relayed = 0
    while queue:
        src, dst, data = queue.pop(0)
        queue.extend((dst, src, d) for d in dst.engine.receive(src.jid, data).payloads)
        relayed += 1
    return relayed


def sessions(rng: Rng, clock: Clock, n: int) -> tuple[Device, list[Device]]:
    """Juliet's laptop with an OTRv4 session with each of ``n`` devices of Romeo, warmed up
    (one exchange each way) so that the next messages are in the sender's chain 3, a chain
    without a new 3072-bit DH key (two chains in three are so)."""
    sender = Device.create("juliet@capulet.lit/balcony", rng, clock)
    receivers = [Device.create(f"romeo@montague.lit/device{i}", rng, clock) for i in range(n)]
    for r in receivers:
        connect(sender, r)
        r.decrypt(sender, sender.encrypt(r, "warm-up"))
        sender.decrypt(r, r.encrypt(sender, "warm-up reply"))
    return sender, receivers


_T = TypeVar("_T")


def _timed(fn: Callable[[], _T], repeats: int) -> tuple[float, _T]:
    """Median milliseconds of ``repeats`` calls, and the last result."""
    times: list[float] = []
    out = fn()
    for _ in range(repeats - 1):
        start = time.perf_counter()
        out = fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), out


def _row(n: int, rng: Rng, clock: Clock, repeats: int) -> Row:
    sender, receivers = sessions(rng, clock, n)
    tags = [r.tag for r in receivers]
    bare = receivers[0].account
    first = receivers[0]

    def send_a() -> etree._Element:
        return build_message(per_device(sender, receivers, TEXT), sender=sender.jid,
                             to=bare, stanza_id="m")

    def send_b() -> etree._Element:
        shared = shared_ciphertext(sender, receivers, TEXT, rng)
        msg = build_message(shared.keys, sender=sender.jid, to=bare, stanza_id="m")
        otr = msg.find(f"{{{NS_OTR4}}}otr")
        assert otr is not None  # build_message always adds it
        msg.replace(otr, shared.to_element())
        return msg

    a_ms, stanza_a = _timed(send_a, repeats)
    b_ms, stanza_b = _timed(send_b, repeats)
    # receiving: one device reads each kind of message, `repeats` times
    it_a = iter([per_device(sender, receivers, TEXT) for _ in range(repeats)])
    ra_ms, _ = _timed(lambda: first.decrypt(sender, _payload(next(it_a), first.tag).data),
                      repeats)
    it_b = iter([shared_ciphertext(sender, receivers, TEXT, rng) for _ in range(repeats)])
    rb_ms, _ = _timed(lambda: open_shared(first, sender, next(it_b)), repeats)
    # candidate (c): the sender missed the last device once
    lists = [DeviceList.of(DeviceEntry(t, DeviceMode.STANDALONE, clock.now() + 86400)
                           for t in tags)]
    c_bytes: int | None = None
    if n > 1:
        partial = per_device(sender, receivers[:-1], TEXT)
        try:
            check_batch(lists, partial, clock.now())
        except MissingDevicesError as exc:
            refusal = refusal_stanza(exc, server="capulet.lit", to=sender.jid, stanza_id="m")
        else:
            raise RuntimeError("the batch check accepted a batch that misses a device")
        full = per_device(sender, receivers, TEXT)
        check_batch(lists, full, clock.now())
        c_bytes = (wire_bytes(build_message(partial, sender=sender.jid, to=bare,
                                            stanza_id="m"))
                   + wire_bytes(refusal)
                   + wire_bytes(build_message(full, sender=sender.jid, to=bare,
                                              stanza_id="m")))
    return Row(n, wire_bytes(stanza_a), round(a_ms, 3), round(ra_ms, 3),
               wire_bytes(stanza_b), round(b_ms, 3), round(rb_ms, 3), c_bytes)


def _ratchet_step_ms(rng: Rng, clock: Clock, repeats: int) -> float:
    """Mean cost of encrypting the first message after a reply (a DH-ratchet step: a new
    ECDH key pair, and a 3072-bit DH key pair every third chain) minus a steady-state one."""
    sender, (peer,) = sessions(rng, clock, 1)
    steps: list[float] = []
    steady: list[float] = []
    for _ in range(max(repeats, 3)):
        sender.decrypt(peer, peer.encrypt(sender, "reply"))
        for into in (steps, steady):
            start = time.perf_counter()
            data = sender.encrypt(peer, TEXT)
            into.append((time.perf_counter() - start) * 1000)
            peer.decrypt(sender, data)
    return statistics.fmean(steps) - statistics.fmean(steady)


def measure(rng: Rng, clock: Clock, *, counts: Sequence[int] = DEVICE_COUNTS,
            repeats: int = 20) -> Measurement:
    """Measure the three candidates for each device count: wire bytes of one message
    (identical on every run) and the median CPU time over ``repeats`` messages of
    encrypting (sender) and decrypting (one receiver).  The messages are in an ongoing
    sending chain that carries no DH key (the first message of a chain is left out:
    :attr:`Measurement.ratchet_step_ms` reports its extra cost).  Raises nothing for
    valid input."""
    rows = tuple(_row(n, rng, clock, repeats) for n in counts)
    ratchet = _ratchet_step_ms(rng, clock, repeats)
    machine = (f"{platform.python_implementation()} {platform.python_version()} on "
               f"{platform.machine()} {platform.system()}, {platform.processor() or 'cpu'}")
    return Measurement(len(TEXT.encode("utf-8")), repeats, machine, rows, round(ratchet, 3))
