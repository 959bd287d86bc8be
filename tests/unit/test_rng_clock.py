"""Injected randomness and time."""

from __future__ import annotations

import hashlib

import pytest

from otrv4.clock import FixedClock, SystemClock
from otrv4.primitives.rng import (
    DeterministicRng,
    RecordingRng,
    ReplayError,
    ReplayRng,
    Rng,
    SystemRng,
)


def test_deterministic_rng_known_answer() -> None:
    rng = DeterministicRng("example")
    first = rng.random_bytes(8)
    second = rng.random_bytes(4)
    domain = b"otrv4-xmpp deterministic rng\x00example\x00"
    assert first == hashlib.shake_256(domain + (0).to_bytes(8, "big")).digest(8)
    assert second == hashlib.shake_256(domain + (1).to_bytes(8, "big")).digest(4)
    assert first.hex() == "24b8fefd169a321f"


def test_labels_are_independent_and_reproducible() -> None:
    a, b, a2 = DeterministicRng("a"), DeterministicRng("b"), DeterministicRng("a")
    assert a.random_bytes(32) == a2.random_bytes(32)
    assert DeterministicRng("a").random_bytes(32) != b.random_bytes(32)


def test_recording_rng_keeps_every_draw() -> None:
    rec = RecordingRng(DeterministicRng("rec"))
    values = [rec.random_bytes(n) for n in (1, 57, 0)]
    assert [d.value for d in rec.draws] == values
    assert [d.index for d in rec.draws] == [0, 1, 2]


@pytest.mark.parametrize("rng", [SystemRng(), DeterministicRng("x")])
def test_rngs_meet_the_protocol(rng: Rng) -> None:
    assert isinstance(rng, Rng)
    assert len(rng.random_bytes(57)) == 57
    with pytest.raises(ValueError):
        rng.random_bytes(-1)


def test_clocks() -> None:
    clock = FixedClock(1000)
    clock.advance(5)
    assert clock.now() == 1005
    with pytest.raises(ValueError):
        clock.advance(-1)
    assert SystemClock().now() > 1_700_000_000


def test_replay_rng_returns_the_listed_draws_and_nothing_else() -> None:
    rng = ReplayRng([b"\x01\x02", "0304"])
    assert rng.random_bytes(2) == b"\x01\x02"
    with pytest.raises(ReplayError, match="asked for 3 bytes"):
        rng.random_bytes(3)
    assert rng.remaining == 1
    assert rng.random_bytes(2) == b"\x03\x04"
    with pytest.raises(ReplayError, match="after the 2 listed"):
        rng.random_bytes(1)


def test_recorded_draws_replay_to_the_same_values() -> None:
    rec = RecordingRng(DeterministicRng("replay"))
    first = [rec.random_bytes(n) for n in (3, 57, 80)]
    replay = ReplayRng([d.value for d in rec.draws])
    assert [replay.random_bytes(n) for n in (3, 57, 80)] == first
