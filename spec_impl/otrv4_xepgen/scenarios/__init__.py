"""Scenarios: the chapters of one story whose stanzas are the XEP's examples.

A scenario is a function ``(ctx: ScenarioContext) -> list[Step | InvalidExample]``.
Each :class:`Step` is one stanza one party's code built through the public
API, plus the code with which the receiving party accepts it; the generator
serializes the stanza, parses the text back, validates it and runs the
acceptor on the parsed copy.  An :class:`InvalidExample` is a stanza derived
from a valid one by a named mutation, with the schema rule it must break.

Every scenario is a chapter of one story with one cast
(:class:`~otrv4_xepgen.scenarios._cast.Story`): the devices, their keys, instance
tags and profiles, and the prekey service are created once, and the chapters
run in the order of :data:`CHAPTERS`, each continuing from where the previous
one left the cast.  Each chapter also gets its own deterministic rng (label
``scenario:<name>``) for what it draws outside the cast, and the fixed clock.
Scenario modules live in this package and export ``SCENARIOS``: a mapping from
scenario name to function.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from otrv4.clock import FixedClock
from otrv4.primitives.rng import DeterministicRng

from ._cast import Device, Story

__all__ = ["CHAPTERS", "EXAMPLE_TIME", "InvalidExample", "ScenarioContext", "Step",
           "all_scenarios", "new_story"]

#: The fixed time of every example: 2026-04-23T12:00:00Z.
EXAMPLE_TIME = 1776945600


#: The chapters of the story, in the order they happen.
CHAPTERS = (
    "discovery",
    "device-list",
    "prekey-discovery",
    "prekey-publication",
    "prekey-status",
    "interactive-dake",
    "prekey-retrieval",
    "offline-start",
    "data-to-all-devices",
    "sce-envelope",
    "encoded-body",
    "query-message",
    "stanza-error",
    "invisible",
    "prekey-exhaustion",
)


def new_story() -> Story:
    """The cast at the start of the story, on the examples' fixed clock."""
    return Story(FixedClock(EXAMPLE_TIME))


@dataclass
class ScenarioContext:
    """What a scenario may use: the story so far, its own rng and the clock."""

    name: str
    rng: DeterministicRng
    clock: FixedClock
    story: Story

    @classmethod
    def for_scenario(cls, name: str, story: Story) -> ScenarioContext:
        clock = story.clock
        if not isinstance(clock, FixedClock):
            raise TypeError("the story runs on a FixedClock")
        return cls(name, DeterministicRng(f"scenario:{name}"), clock, story)


@dataclass(frozen=True)
class Step:
    """One example stanza.

    ``name`` is unique within the scenario; the XEP refers to the example as
    ``scenario/name``.  ``produced_by`` and ``accepted_by`` name the public
    functions involved (shown under the example in the HTML).  ``accept``
    receives the stanza parsed back from its text and raises if the receiving
    side's code rejects it.  ``sender`` is the device of the cast that sent the
    stanza (``None`` for a server or the prekey service); templates name it
    from here, never by hand.
    """

    name: str
    title: str
    stanza: etree._Element
    produced_by: str
    accepted_by: str
    accept: Callable[[etree._Element], object]
    sender: Device | None = None


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
    """Every scenario of every module in this package, by name, in story order: the
    :data:`CHAPTERS`, then any scenario they do not list, sorted by name (a new chapter
    continues the story).  Raises :class:`ValueError` for a scenario name used twice and
    for a chapter no module provides."""
    found: dict[str, Scenario] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for name, fn in getattr(module, "SCENARIOS", {}).items():
            if name in found:
                raise ValueError(f"two scenarios named {name!r}")
            found[name] = fn
    missing = [c for c in CHAPTERS if c not in found]
    if missing:
        raise ValueError(f"chapters without a scenario: {missing}")
    order = [*CHAPTERS, *sorted(set(found) - set(CHAPTERS))]
    return {name: found[name] for name in order}
