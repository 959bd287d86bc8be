"""Randomness, injected.

Every function in this package that needs random bytes takes an ``rng``
argument implementing :class:`Rng`.  Production code passes
:class:`SystemRng` (the operating system's CSPRNG); examples and test vectors
pass :class:`DeterministicRng`, a SHAKE-256 stream keyed by one label per
scenario, so that adding a scenario never changes another one's output.

A :class:`RecordingRng` wraps any generator and keeps every draw, so that
vector files can list each random input and other implementations can check
them without reproducing our generator; a :class:`ReplayRng` hands such a
list back, in order, to replay a vector.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["DeterministicRng", "Draw", "RecordingRng", "ReplayError", "ReplayRng", "Rng",
           "SystemRng"]


@runtime_checkable
class Rng(Protocol):
    """A source of uniformly random bytes."""

    def random_bytes(self, n: int) -> bytes:
        """Return ``n`` random bytes."""
        ...


class SystemRng:
    """The operating system's CSPRNG (``os.urandom``); the production default."""

    def random_bytes(self, n: int) -> bytes:
        if n < 0:
            raise ValueError("cannot draw a negative number of bytes")
        return os.urandom(n)


class DeterministicRng:
    """A reproducible stream for examples and vectors; never for production.

    Draw ``i`` (counting from 0) of ``n`` bytes is
    ``SHAKE-256("otrv4-xmpp deterministic rng" || 0x00 || label || 0x00 || i as 8-byte
    big-endian, n)``.  Each draw is independent of the sizes of earlier draws,
    so inserting a draw only shifts the counter of the draws after it.
    """

    DOMAIN = b"otrv4-xmpp deterministic rng"

    def __init__(self, label: str) -> None:
        if not label:
            raise ValueError("a deterministic rng needs a non-empty label")
        self.label = label
        self._counter = 0

    def random_bytes(self, n: int) -> bytes:
        if n < 0:
            raise ValueError("cannot draw a negative number of bytes")
        seed = (
            self.DOMAIN + b"\x00" + self.label.encode("utf-8") + b"\x00"
            + self._counter.to_bytes(8, "big")
        )
        self._counter += 1
        return hashlib.shake_256(seed).digest(n)


@dataclass(frozen=True)
class Draw:
    """One random draw: its position, its purpose (if the caller named one) and its bytes."""

    index: int
    value: bytes


@dataclass
class RecordingRng:
    """Wraps another :class:`Rng` and records every draw, in order."""

    inner: Rng
    draws: list[Draw] = field(default_factory=list)

    def random_bytes(self, n: int) -> bytes:
        value = self.inner.random_bytes(n)
        self.draws.append(Draw(len(self.draws), value))
        return value


class ReplayError(ValueError):
    """A replayed draw does not match what the code asks for (size, or one draw too many)."""


class ReplayRng:
    """Returns the listed draws in order: replays a vector's ``randomDraws``.

    Draws may be bytes or hex strings (as in vector files).  Raises
    :class:`ReplayError` when the code asks for a size other than the next
    draw's, or for more draws than were listed.
    """

    def __init__(self, draws: Sequence[bytes | str]) -> None:
        self._draws = [bytes.fromhex(d) if isinstance(d, str) else bytes(d) for d in draws]
        self._next = 0

    @property
    def remaining(self) -> int:
        """How many listed draws have not been used."""
        return len(self._draws) - self._next

    def random_bytes(self, n: int) -> bytes:
        if self._next >= len(self._draws):
            raise ReplayError(f"a draw of {n} bytes asked for after the {len(self._draws)} "
                              "listed ones")
        value = self._draws[self._next]
        if len(value) != n:
            raise ReplayError(f"draw {self._next} asked for {n} bytes; the list has "
                              f"{len(value)}")
        self._next += 1
        return value
