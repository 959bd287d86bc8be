"""Helpers: real OTRv4 devices (the engine the plugin runs) with sessions, for the
binding's tests."""

from __future__ import annotations

from otrv4.clock import FixedClock
from otrv4.primitives.rng import DeterministicRng
from otrv4_devtools.multidevice import Device
from otrv4_devtools.multidevice import connect as relay

NOW = 1776945600


def pair(label: str) -> tuple[Device, Device, DeterministicRng]:
    """Juliet's laptop and Romeo's laptop after a completed interactive DAKE."""
    rng = DeterministicRng(label)
    clock = FixedClock(NOW)
    j = Device.create("juliet@capulet.lit/balcony", rng, clock)
    r = Device.create("romeo@montague.lit/orchard", rng, clock)
    connect(j, r)
    return j, r, rng


def connect(a: Device, b: Device) -> None:
    """Run the interactive DAKE from ``a`` to ``b`` through both engines."""
    assert relay(a, b) == 3  # Identity, Auth-R, Auth-I
    assert a.engine.has_session(b.account, b.tag) and b.engine.has_session(a.account, a.tag)
