"""Measuring against a peer honestly: same process, interleaved, repeated, median ratio.

Every comparison in ``make bench`` goes through :func:`compare`: each round
times the project and the peer back to back (the order alternating from round
to round, so neither always runs on a warmer cache or a quieter moment), each
for enough calls to last a few milliseconds, and keeps the ratio of the two
per-call times.  The reported figure is the median of the per-round ratios,
with the lowest and highest round as its spread.  A verdict line compares the
median with the target.  Results accumulate in a :class:`Report` that is
written as JSON to ``build/bench/<name>.json`` (``BENCH_OUT`` overrides the
folder) for the plots and for anyone who wants the raw numbers.
"""

from __future__ import annotations

import gc
import json
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OUT = Path(os.environ.get("BENCH_OUT", "build/bench"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))


def per_call(fn: Callable[[], Any], number: int) -> float:
    """Seconds per call of ``fn`` over ``number`` consecutive calls (GC paused)."""
    gc_was = gc.isenabled()
    gc.disable()
    try:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        return (time.perf_counter() - start) / number
    finally:
        if gc_was:
            gc.enable()


def calls_for(fn: Callable[[], Any], seconds: float = 0.02) -> int:
    """How many calls of ``fn`` last about ``seconds`` (at least one)."""
    fn()
    once = per_call(fn, 1)
    return max(1, int(seconds / max(once, 1e-7)))


@dataclass
class Comparison:
    """One figure: ours and the peer's per-call times and their ratio, round by round."""

    name: str
    peer: str
    ours_ms: list[float]
    peer_ms: list[float]
    target: float | None = None
    floor: bool = False
    note: str = ""
    #: ``"time"``: the ratio is our time over the peer's (lower is better, target is a
    #: maximum); ``"rate"``: the peer's time over ours, i.e. our throughput in units of
    #: the peer's (higher is better, target is a minimum).
    sense: str = "time"
    ratios: list[float] = field(init=False)

    def __post_init__(self) -> None:
        pairs = zip(self.ours_ms, self.peer_ms, strict=True)
        self.ratios = ([o / p for o, p in pairs] if self.sense == "time"
                       else [p / o for o, p in pairs])

    @property
    def ratio(self) -> float:
        """The median of the per-round ratios (ours / peer; below 1 means faster)."""
        return statistics.median(self.ratios)

    @property
    def spread(self) -> tuple[float, float]:
        """The lowest and highest per-round ratio."""
        return (min(self.ratios), max(self.ratios))

    @property
    def met(self) -> bool | None:
        """Whether the median ratio meets the target (``None`` without a target)."""
        if self.target is None:
            return None
        return self.ratio <= self.target if self.sense == "time" else self.ratio >= self.target

    def line(self) -> str:
        """A one-line summary, with the verdict when there is a target."""
        lo, hi = self.spread
        ours, peer = statistics.median(self.ours_ms), statistics.median(self.peer_ms)
        what = "time" if self.sense == "time" else "rate"
        text = (f"{self.name}: {ours:.4f} ms vs {self.peer} {peer:.4f} ms; {what} ratio "
                f"{self.ratio:.2f}x (rounds {lo:.2f}-{hi:.2f}, n={len(self.ratios)})")
        if self.floor:
            return "FLOOR   " + text + " [a floor, not a peer: no verdict]"
        if self.target is None:
            return "INFO    " + text
        op = "<=" if self.sense == "time" else ">="
        return (f"VERDICT {text}; target {op} {self.target:g}x: "
                f"{'MET' if self.met else 'MISSED'}")

    def as_json(self) -> dict[str, Any]:
        """The comparison as plain data, with its median, spread and verdict."""
        data = asdict(self)
        data.update(ratio=self.ratio, spread=list(self.spread), met=self.met,
                    ours_median_ms=statistics.median(self.ours_ms),
                    peer_median_ms=statistics.median(self.peer_ms))
        return data


def compare(
    name: str,
    ours: Callable[[], Any],
    peer: Callable[[], Any],
    peer_name: str,
    *,
    target: float | None = None,
    floor: bool = False,
    rounds: int | None = None,
    seconds: float = 0.02,
    note: str = "",
    sense: str = "time",
    per: int = 1,
) -> Comparison:
    """Time ``ours`` and ``peer`` interleaved for ``rounds`` rounds; print and return the result.

    ``per``: how many items one call handles (a corpus), so that times are per item.
    """
    rounds = rounds or ROUNDS
    n_ours, n_peer = calls_for(ours, seconds), calls_for(peer, seconds)
    ours_ms: list[float] = []
    peer_ms: list[float] = []
    for r in range(rounds):
        if r % 2:
            p = per_call(peer, n_peer)
            o = per_call(ours, n_ours)
        else:
            o = per_call(ours, n_ours)
            p = per_call(peer, n_peer)
        ours_ms.append(o * 1e3 / per)
        peer_ms.append(p * 1e3 / per)
    result = Comparison(name, peer_name, ours_ms, peer_ms, target, floor, note, sense)
    print(result.line(), flush=True)
    return result


def measure(fn: Callable[[], Any], rounds: int | None = None, seconds: float = 0.02) -> list[float]:
    """Milliseconds per call of ``fn`` in each of ``rounds`` rounds (no peer)."""
    rounds = rounds or ROUNDS
    n = calls_for(fn, seconds)
    return [per_call(fn, n) * 1e3 for _ in range(rounds)]


@dataclass
class Report:
    """What one benchmark script measured, written as ``build/bench/<name>.json``."""

    name: str
    comparisons: list[Comparison] = field(default_factory=list)
    series: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, comparison: Comparison) -> Comparison:
        """Keep ``comparison`` for the JSON file; returns it."""
        self.comparisons.append(comparison)
        return comparison

    def write(self) -> Path:
        """Write the JSON file and return its path."""
        OUT.mkdir(parents=True, exist_ok=True)
        path = OUT / f"{self.name}.json"
        data = {
            "benchmark": self.name,
            "python": sys.version.split()[0],
            "machine": platform.machine(),
            "rounds": ROUNDS,
            "comparisons": [c.as_json() for c in self.comparisons],
            "series": self.series,
            "notes": self.notes,
        }
        path.write_text(json.dumps(data, indent=1) + "\n")
        print(f"wrote {path}")
        return path
