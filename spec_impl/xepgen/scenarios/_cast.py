"""The people and devices of the binding's scenarios, and how a step is delivered.

Juliet has a laptop (``balcony``) and a phone (``chamber``); Romeo has a laptop
(``orchard``, online) and a phone (``cell``, offline, with prekeys published).
Every scenario builds its own cast from its own rng, so scenarios stay
independent.

Delivery is honest: :func:`deliver` serializes the stanza, parses the text
back, and gives the *parsed* stanza to the receiving device's code, which runs
the OTRv4 engine on it.  The step's ``accept`` (run again by the generator on
its own parse of the example) reads the stanza with the binding's public
parser and checks that it yields exactly the bytes the receiving engine
accepted, after decoding them as the expected OTRv4 message.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from otrv4.clock import Clock
from otrv4.encoding import MessageType
from otrv4.modes import Mode
from otrv4.primitives.rng import Rng
from otrv4_xmpp.carriage import OtrPayload, parse_message, payload_for
from otrv4_xmpp.endpoint import Endpoint
from otrv4_xmpp.xmltext import parse, to_text

__all__ = ["Cast", "PayloadMismatchError", "deliver", "expect_payload"]

JULIET = "juliet@capulet.lit"
ROMEO = "romeo@montague.lit"


class PayloadMismatchError(Exception):
    """The parsed example does not yield the payload the receiving engine accepted."""


@dataclass
class Cast:
    """Two accounts, two devices each."""

    balcony: Endpoint
    chamber: Endpoint
    orchard: Endpoint
    cell: Endpoint

    @classmethod
    def create(cls, rng: Rng, clock: Clock, *, cell_mode: Mode = Mode.STANDALONE) -> Cast:
        return cls(
            Endpoint.create(f"{JULIET}/balcony", rng, clock, label="Balcony laptop"),
            Endpoint.create(f"{JULIET}/chamber", rng, clock, label="Phone"),
            Endpoint.create(f"{ROMEO}/orchard", rng, clock, label="Orchard laptop"),
            Endpoint.create(f"{ROMEO}/cell", rng, clock, mode=cell_mode, label="Phone"),
        )


def deliver(stanza: etree._Element) -> etree._Element:
    """The stanza as the receiver gets it: serialized, then parsed back."""
    return parse(to_text(stanza))


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
