"""The runner's report: per level, passed / failed / unsupported, with each failure.

A failure names the check (``<file>.<group> #<tcId>`` for a vector, the
session's name for a live check), the rule it exercises (the expected error
class, or the outputs compared), and what differed — for byte strings, the
first differing byte.  :meth:`Report.text` is for people, :meth:`Report.json`
for CI systems; :attr:`Report.exit_code` is 0 only when every claimed level
passed.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .levels import LEVELS

__all__ = ["CheckResult", "Report", "Status", "first_difference"]

Status = Literal["passed", "failed", "unsupported", "blocked", "skipped"]
"""``blocked``: not run because a check it needs failed; ``skipped``: not checkable on this
machine (a missing schema), which neither passes nor fails a level."""


@dataclass(frozen=True)
class CheckResult:
    """One check: its level, name, status, the rule it exercises and, unless it passed, why."""

    level: int
    name: str
    status: Status
    rule: str = ""
    detail: str = ""


def _is_hex(value: object) -> bool:
    return isinstance(value, str) and len(value) % 2 == 0 and all(
        c in "0123456789abcdef" for c in value)


def first_difference(expected: object, got: object) -> str:
    """Say where ``got`` departs from ``expected``: the first differing byte of two hex
    strings (with a few bytes of context), else both values, shortened."""
    if _is_hex(expected) and isinstance(got, str) and _is_hex(got.lower()):
        a, b = bytes.fromhex(str(expected)), bytes.fromhex(got.lower())
        n = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
        if n == len(a) == len(b):
            return "equal"
        lo = max(0, n - 4)
        return (f"first difference at byte {n} (expected {len(a)} bytes, got {len(b)}): "
                f"expected …{a[lo:n + 8].hex()}…, got …{b[lo:n + 8].hex()}…")
    e, g = (json.dumps(v) for v in (expected, got))
    e, g = (s if len(s) <= 80 else s[:77] + "..." for s in (e, g))
    return f"expected {e}, got {g}"


@dataclass
class Report:
    """Everything a run found."""

    adapter: str
    command: str
    claimed: tuple[int, ...]
    results: list[CheckResult] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, results: Iterable[CheckResult]) -> None:
        self.results.extend(results)

    def counts(self, level: int) -> dict[str, int]:
        """``{"passed": n, "failed": n, "unsupported": n, "blocked": n, "skipped": n}`` for
        ``level``."""
        out = {"passed": 0, "failed": 0, "unsupported": 0, "blocked": 0, "skipped": 0}
        for r in self.results:
            if r.level == level:
                out[r.status] += 1
        return out

    def level_passed(self, level: int) -> bool:
        """Whether ``level`` ran and every one of its checks passed."""
        c = self.counts(level)
        return c["passed"] > 0 and c["failed"] == c["unsupported"] == c["blocked"] == 0

    @property
    def exit_code(self) -> int:
        """0 when the adapter claims at least one level and every claimed level passed."""
        return 0 if self.claimed and all(self.level_passed(n) for n in self.claimed) else 1

    @staticmethod
    def _line(r: CheckResult) -> str:
        if r.status == "passed":
            return f"  {r.status.upper():11} L{r.level} {r.name}"
        rule = f" [{r.rule}]" if r.rule else ""
        detail = f": {r.detail}" if r.detail else ""
        return f"  {r.status.upper():11} L{r.level} {r.name}{rule}{detail}"

    def text(self, *, verbose: bool = False) -> str:
        """The report for people: one line per level, the live sessions, then every other
        check that did not pass (every check with ``verbose``)."""
        lines = [f"Adapter: {self.adapter}", f"Command: {self.command}",
                 f"Claimed levels: {', '.join(map(str, self.claimed)) or 'none'}", ""]
        for level in LEVELS:
            c = self.counts(level.number)
            if not any(c.values()):
                continue
            claimed = level.number in self.claimed
            verdict = ("PASS" if self.level_passed(level.number) else "FAIL") if claimed \
                else "not claimed"
            lines.append(f"Level {level.number} ({level.title}): {verdict} — "
                         f"{c['passed']} passed, {c['failed']} failed, "
                         f"{c['unsupported']} unsupported, {c['blocked']} blocked"
                         + (f", {c['skipped']} skipped" if c["skipped"] else ""))
        live = {name for level in LEVELS for name in level.live}
        sessions = [r for r in self.results if r.name in live]
        if sessions:
            lines += ["", "Live sessions with the reference implementation:"]
            lines += [self._line(r) for r in sessions]
        shown = [r for r in self.results
                 if r.name not in live and (verbose or r.status != "passed")]
        if shown:
            lines += ["", "Checks that did not pass:" if not verbose else "Checks:"]
            lines += [self._line(r) for r in shown]
        if self.notes:
            lines += ["", *self.notes]
        lines += ["", f"Result: {'PASS' if self.exit_code == 0 else 'FAIL'}"]
        return "\n".join(lines) + "\n"

    def json(self) -> str:
        """The report for CI systems (a stable, sorted JSON object)."""
        data: dict[str, Any] = {
            "adapter": self.adapter, "command": self.command, "claimed": list(self.claimed),
            "passed": self.exit_code == 0,
            "levels": {str(level.number): {**self.counts(level.number),
                                           "claimed": level.number in self.claimed,
                                           "passed": self.level_passed(level.number)}
                       for level in LEVELS},
            "results": [asdict(r) for r in self.results], "notes": self.notes}
        return json.dumps(data, indent=1, sort_keys=True) + "\n"
