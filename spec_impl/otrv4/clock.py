"""Time, injected.

Protocol code never reads the wall clock.  Anything that depends on the time
(profile expiry, session expiry, heartbeats) takes a ``clock`` implementing
:class:`Clock`; production passes :class:`SystemClock`, examples and vectors a
:class:`FixedClock`.
"""

from __future__ import annotations

import time
from typing import Protocol, runtime_checkable

__all__ = ["Clock", "FixedClock", "SystemClock"]


@runtime_checkable
class Clock(Protocol):
    """A source of the current time in whole seconds since the Unix epoch."""

    def now(self) -> int:
        """Return the current time in seconds since 1970-01-01T00:00:00Z."""
        ...


class SystemClock:
    """The real clock; the production default."""

    def now(self) -> int:
        return int(time.time())


class FixedClock:
    """A clock that stands still unless advanced; for examples, vectors and tests."""

    def __init__(self, t: int) -> None:
        if t < 0:
            raise ValueError("time before the epoch is not representable")
        self._t = t

    def now(self) -> int:
        return self._t

    def advance(self, seconds: int) -> None:
        """Move the clock forward by ``seconds`` (never backward)."""
        if seconds < 0:
            raise ValueError("a clock does not go backward")
        self._t += seconds
