"""Helpers: real OTRv4 devices with sessions, for the binding's tests."""

from __future__ import annotations

from otrv4.clock import FixedClock
from otrv4.primitives.rng import DeterministicRng
from otrv4_xmpp.endpoint import Endpoint

NOW = 1776945600


def pair(label: str) -> tuple[Endpoint, Endpoint, DeterministicRng]:
    """Juliet's laptop and Romeo's laptop after a completed interactive DAKE."""
    rng = DeterministicRng(label)
    clock = FixedClock(NOW)
    j = Endpoint.create("juliet@capulet.lit/balcony", rng, clock)
    r = Endpoint.create("romeo@montague.lit/orchard", rng, clock)
    connect(j, r, rng)
    return j, r, rng


def connect(a: Endpoint, b: Endpoint, rng: DeterministicRng) -> None:
    """Run the interactive DAKE from ``a`` to ``b``."""
    answer = b.receive_dake(a.account, a.start_dake(b.account, b.tag, rng).payloads[0],
                            a.tag, rng)
    assert answer is not None
    last = a.receive_dake(b.account, answer.payloads[0], b.tag, rng)
    assert last is not None
    assert b.receive_dake(a.account, last.payloads[0], a.tag, rng) is None
    assert b.tag in a.sessions and a.tag in b.sessions
