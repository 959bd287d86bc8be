"""Scenarios: runs of the reference implementation that produce the XEP's examples.

A scenario is a function ``(ctx: ScenarioContext) -> list[Step | InvalidExample]``.
Each :class:`Step` is one stanza one party's code built through the public
API, plus the code with which the receiving party accepts it; the generator
serializes the stanza, parses the text back, validates it and runs the
acceptor on the parsed copy.  An :class:`InvalidExample` is a stanza derived
from a valid one by a named mutation, with the schema rule it must break.

Scenario modules live in this package and export ``SCENARIOS``: a mapping
from scenario name to function.  Each scenario gets its own deterministic rng
(label ``scenario:<name>``) and a fixed clock, so adding one never changes
another's output.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from otrv4.clock import FixedClock
from otrv4.primitives.rng import DeterministicRng

__all__ = ["EXAMPLE_TIME", "InvalidExample", "ScenarioContext", "Step", "all_scenarios"]

#: The fixed time of every example: 2026-04-23T12:00:00Z.
EXAMPLE_TIME = 1776945600


@dataclass
class ScenarioContext:
    """What a scenario may use: its own rng and clock."""

    name: str
    rng: DeterministicRng
    clock: FixedClock

    @classmethod
    def for_scenario(cls, name: str) -> ScenarioContext:
        return cls(name, DeterministicRng(f"scenario:{name}"), FixedClock(EXAMPLE_TIME))


@dataclass(frozen=True)
class Step:
    """One example stanza.

    ``name`` is unique within the scenario; the XEP refers to the example as
    ``scenario/name``.  ``produced_by`` and ``accepted_by`` name the public
    functions involved (shown under the example in the HTML).  ``accept``
    receives the stanza parsed back from its text and raises if the receiving
    side's code rejects it.
    """

    name: str
    title: str
    stanza: etree._Element
    produced_by: str
    accepted_by: str
    accept: Callable[[etree._Element], object]


@dataclass(frozen=True)
class InvalidExample:
    """A stanza that must fail validation, and why.

    ``rule`` is a fragment of the violation message the validators must
    report (both engines are checked for a violation, lxml's message for the
    fragment); ``mutation`` says what was changed from the valid stanza.
    """

    name: str
    stanza: etree._Element
    mutation: str
    rule: str


Scenario = Callable[[ScenarioContext], list[Step | InvalidExample]]


def all_scenarios() -> dict[str, Scenario]:
    """Every scenario of every module in this package, by name, sorted."""
    found: dict[str, Scenario] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, fn in getattr(module, "SCENARIOS", {}).items():
            if name in found:
                raise ValueError(f"two scenarios named {name!r}")
            found[name] = fn
    return dict(sorted(found.items()))
