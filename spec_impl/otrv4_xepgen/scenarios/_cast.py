"""The cast of the XEP's examples and the story they live in.

Every example of the document comes from one continuous, deterministic run of
one cast, created once:

* Juliet (``juliet@capulet.lit``) with her laptop (``/balcony``) and her phone
  (``/chamber``);
* Romeo (``romeo@montague.lit``) with his laptop (``/orchard``) and his phone
  (``/cell``); later a new device of his, a tablet (``/tablet``), and a desktop
  client that implements ``otrv4.md`` only (``/desktop``);
* the prekey service of Juliet's domain, ``prekeys.capulet.lit``.

Each device is a :class:`otrv4_xmpp.engine.DeviceEngine`, the engine the
slixmpp plugin runs, with its own deterministic rng (label ``cast:<full JID>``)
so that its keys, instance tag and profiles are the same in every example.  The
chapters (scenarios) run in the order the story happens and share this state;
a conversation a chapter does not show is run all the same, through the same
engines (:meth:`Story.converse`).

Delivery is honest: :func:`deliver` serializes the stanza, parses the text
back, and gives the *parsed* stanza to the receiving device's engine.  A
step's ``accept`` (run again by the generator on its own parse of the example)
reads the stanza with the binding's public parser and checks that it yields
exactly the bytes the receiving engine accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from otrv4.clock import Clock
from otrv4.encoding import Header, MessageType, Reader
from otrv4.prekeys import PrekeyEnsemble
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.rng import DeterministicRng
from otrv4_prekey.client import PublisherClient
from otrv4_prekey.dake import ServerIdentity
from otrv4_prekey.server import PrekeyServer, ServerPolicy
from otrv4_prekey.storage import InMemoryStorage
from otrv4_xmpp.carriage import OtrElement, OtrPayload, build_message, parse_message, payload_for
from otrv4_xmpp.engine import DeviceEngine, DeviceIdentity, Outcome, bare_of
from otrv4_xmpp.xmltext import parse, to_text

__all__ = [
    "DOMAIN",
    "JULIET",
    "ROMEO",
    "SERVICE",
    "Device",
    "PayloadMismatchError",
    "Story",
    "StoryError",
    "deliver",
    "expect_payload",
    "receiver_of",
]

JULIET = "juliet@capulet.lit"
ROMEO = "romeo@montague.lit"
DOMAIN = "capulet.lit"
SERVICE = "prekeys.capulet.lit"


class PayloadMismatchError(Exception):
    """The parsed example does not yield the payload the receiving engine accepted."""


class StoryError(Exception):
    """The story went another way than its chapter says (a bug in the code or the story)."""


@dataclass
class Device:
    """One device of the cast: its full JID, how the document names it, the label it
    gives itself in its account's device list, and its engine."""

    jid: str
    name: str
    label: str
    engine: DeviceEngine = field(repr=False)

    @property
    def tag(self) -> int:
        """The device's instance tag."""
        return self.engine.instance_tag

    @property
    def account(self) -> str:
        """The device's bare JID."""
        return bare_of(self.jid)

    @property
    def expires(self) -> int:
        """When the device's Client Profile expires."""
        return self.engine.identity.expires


def deliver(stanza: etree._Element) -> etree._Element:
    """The stanza as the receiver gets it: serialized, then parsed back."""
    return parse(to_text(stanza))


def receiver_of(data: bytes) -> int:
    """The receiver instance tag in an OTRv4 message header (0 for a Prekey message)."""
    header = Header.read(Reader(data, "message"))
    return header.receiver_tag


def expect_payload(receiver_tag: int, accepted: bytes, kind: MessageType
                   ) -> Callable[[etree._Element], object]:
    """An ``accept`` for a stanza with ``<otr/>``: parse it, take the payload for
    ``receiver_tag``, check its message type and that it is the accepted bytes."""

    def accept(stanza: etree._Element) -> object:
        received = parse_message(stanza)
        payload: OtrPayload = payload_for(received, receiver_tag)
        if payload.message_type is not kind:
            raise PayloadMismatchError(f"expected a {kind.spec_name}, found "
                                       f"{payload.message_type.spec_name}")
        if payload.data != accepted:
            raise PayloadMismatchError("the payload differs from what the receiver accepted")
        return payload

    return accept


class Story:
    """The cast, the prekey service, and what has happened so far.

    Stanza ids are handed out by :meth:`stanza_id`, which refuses an id twice, so
    that no two unrelated exchanges of the document share one.
    """

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.juliet_laptop = self._device(f"{JULIET}/balcony", "Juliet's laptop",
                                          "Balcony laptop")
        self.juliet_phone = self._device(f"{JULIET}/chamber", "Juliet's phone", "Phone")
        self.romeo_laptop = self._device(f"{ROMEO}/orchard", "Romeo's laptop", "Orchard laptop")
        self.romeo_phone = self._device(f"{ROMEO}/cell", "Romeo's phone", "Phone")
        self.romeo_tablet = self._device(f"{ROMEO}/tablet", "Romeo's tablet", "Tablet")
        self.romeo_desktop = self._device(f"{ROMEO}/desktop", "Romeo's desktop client",
                                          "Desktop")
        service_rng = DeterministicRng(f"cast:{SERVICE}")
        self.service = PrekeyServer(
            ServerIdentity(SERVICE, EdDSAKeyPair.generate(service_rng)), InMemoryStorage(),
            service_rng, clock, ServerPolicy(publisher_domains=frozenset({DOMAIN})))
        self.retrieved: dict[int, PrekeyEnsemble] = {}
        """The Prekey Ensembles of Juliet's devices that Romeo's laptop retrieved, by tag."""
        self._ids: set[str] = set()

    def _device(self, jid: str, name: str, label: str) -> Device:
        rng = DeterministicRng(f"cast:{jid}")
        identity = DeviceIdentity.generate(rng, self.clock)
        return Device(jid, name, label, DeviceEngine(identity, bare_of(jid), rng=rng,
                                                     clock=self.clock))

    @property
    def devices(self) -> tuple[Device, ...]:
        """Every device of the cast."""
        return (self.juliet_laptop, self.juliet_phone, self.romeo_laptop, self.romeo_phone,
                self.romeo_tablet, self.romeo_desktop)

    def stanza_id(self, wanted: str) -> str:
        """``wanted``, once in the whole story.  Raises :class:`StoryError` the second time."""
        if wanted in self._ids:
            raise StoryError(f"stanza id {wanted!r} is already used by another exchange")
        self._ids.add(wanted)
        return wanted

    def publisher(self, device: Device, rng: DeterministicRng) -> PublisherClient:
        """A prekey-server client of ``device`` for the service of its domain."""
        return PublisherClient(device.engine.identity.publisher(device.account), SERVICE, rng,
                               self.service.identity.fingerprint)

    # -- moving OTRv4 messages between engines ------------------------------------------------

    @staticmethod
    def element(sender: Device, outcome: Outcome) -> OtrElement:
        """The ``<otr/>`` element for every payload of ``outcome``."""
        if not outcome.payloads:
            raise StoryError(f"{sender.name} produced nothing to send")
        return OtrElement.of(sender.tag, [(receiver_of(d), d) for d in outcome.payloads])

    def message(self, sender: Device, outcome: Outcome, to: str, stanza_id: str
                ) -> etree._Element:
        """The message stanza that carries ``outcome``'s payloads from ``sender``."""
        return build_message(self.element(sender, outcome), sender=sender.jid, to=to,
                             stanza_id=self.stanza_id(stanza_id))

    @staticmethod
    def receive(receiver: Device, sender: Device, stanza: etree._Element) -> tuple[bytes,
                                                                               Outcome]:
        """``receiver`` reads its payload from ``stanza`` (delivered) and runs its engine."""
        payload = payload_for(parse_message(deliver(stanza)), receiver.tag)
        return payload.data, receiver.engine.receive(sender.jid, payload.data)

    @staticmethod
    def converse(a: Device, b: Device, first: Outcome) -> None:
        """Relay ``first`` (from ``a``) and every answer between ``a`` and ``b`` until
        neither has anything more to send (a conversation the document does not show)."""
        queue: list[tuple[Device, Device, bytes]] = [(a, b, d) for d in first.payloads]
        while queue:
            src, dst, data = queue.pop(0)
            out = dst.engine.receive(src.jid, data)
            queue.extend((dst, src, d) for d in out.payloads)

    def connect(self, a: Device, b: Device) -> None:
        """An interactive DAKE between ``a`` and ``b``, started by ``a``, off the page."""
        self.converse(a, b, a.engine.start_dake(b.jid))
        if not (a.engine.has_session(b.account, b.tag)
                and b.engine.has_session(a.account, a.tag)):
            raise StoryError(f"the DAKE between {a.name} and {b.name} did not complete")
