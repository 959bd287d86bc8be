"""Decisions on the ambiguities of the OTRv4 specification.

``otrv4.md`` contradicts itself or is silent in a dozen places (the project's
list is in ``otrv4-brief.md`` §2.24).  Each place gets exactly one
:class:`Decision`, registered here by the module that implements it, pinned by
a test vector, and rendered into the XEP's decisions appendix.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DECISIONS", "Decision", "all_decisions", "register"]


@dataclass(frozen=True)
class Decision:
    """One decision on one ambiguity.

    ``number``: 1-12 are the ambiguities of the project's list, 13 and up the
    other departures found since, 101 and up the prekey server's; ``others`` says
    what the existing implementations (libotr-ng, coyim's otr4, …) did;
    ``vector`` names the vector file (under ``examples/vectors/``) that pins it.
    """

    number: int
    title: str
    question: str
    decision: str
    reason: str
    others: str
    vector: str


DECISIONS: dict[int, Decision] = {}


def register(decision: Decision) -> Decision:
    """Record ``decision``; each ambiguity may be decided once."""
    if decision.number in DECISIONS and DECISIONS[decision.number] != decision:
        raise ValueError(f"ambiguity {decision.number} is already decided")
    DECISIONS[decision.number] = decision
    return decision


def all_decisions(packages: tuple[str, ...] = ("otrv4",)) -> list[Decision]:
    """Every decision, by number, after importing every module of ``packages``.

    Modules register their decisions when imported; importing them all here
    makes the list independent of what the caller happened to import first.
    Other packages that build on OTRv4 (the prekey server) register theirs
    here too; a caller that wants them names their package.
    """
    import importlib
    import pkgutil

    for name in packages:
        package = importlib.import_module(name)
        for info in pkgutil.walk_packages(package.__path__, f"{name}."):
            importlib.import_module(info.name)
    return [DECISIONS[k] for k in sorted(DECISIONS)]
