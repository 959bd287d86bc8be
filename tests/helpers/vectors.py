"""Read the committed vector files the way another implementation would.

A test helper, not library code: the protocol's tests replay
``examples/vectors/*.json`` through the protocol API (``otrv4.*``,
``otrv4_prekey.*``) with nothing but :mod:`json`, so they check the committed
files independently of the generator that wrote them (``xepgen``; the tests
that the generator reproduces the files live in ``tests/vectors``).

The format: ``testGroups`` of ``tests``; byte strings are lowercase hex;
``result`` is ``valid`` or ``invalid``, and an invalid test names the exact
error class in ``expectedError``.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import pytest

VECTORS_DIR = Path(__file__).resolve().parents[2] / "examples" / "vectors"

Case = tuple[dict[str, Any], dict[str, Any]]
"""``(group, test)``: one test of a vector file and the group that holds it."""

#: The packages whose exception classes a vector may name.
ERROR_PACKAGES = ("otrv4", "otrv4_prekey")


@cache
def vector_document(stem: str) -> dict[str, Any]:
    """The whole JSON document of ``examples/vectors/<stem>.json``."""
    with open(VECTORS_DIR / f"{stem}.json", encoding="utf-8") as f:
        document: dict[str, Any] = json.load(f)
    return document


def vector_cases(stem: str) -> list[Case]:
    """Every ``(group, test)`` of a committed vector file, in file order."""
    doc = vector_document(stem)
    cases = [(group, test) for group in doc["testGroups"] for test in group["tests"]]
    assert len(cases) == doc["numberOfTests"], stem
    return cases


def cases_of(stem: str, group_type: str) -> list[dict[str, Any]]:
    """The tests of the groups of type ``group_type`` (at least one)."""
    tests = [test for group, test in vector_cases(stem) if group["type"] == group_type]
    assert tests, f"{stem}: no group {group_type!r}"
    return tests


def vector_stems() -> list[str]:
    """The stems of every committed vector file."""
    return sorted(p.stem for p in VECTORS_DIR.glob("*.json"))


def unhex(value: str) -> bytes:
    """A hex string of a vector as bytes."""
    return bytes.fromhex(value)


def draws(test: dict[str, Any]) -> list[bytes]:
    """The test's ``randomDraws``, in order, as bytes."""
    return [unhex(d) for d in test["randomDraws"]]


@cache
def _error_classes() -> dict[str, type[Exception] | None]:
    """Every exception class of the protocol packages by name; ``None`` for a name two
    classes share (a vector cannot name those)."""
    found: dict[str, type[Exception] | None] = {}
    for package_name in ERROR_PACKAGES:
        package = importlib.import_module(package_name)
        modules = [package] + [
            importlib.import_module(info.name)
            for info in pkgutil.walk_packages(package.__path__, f"{package_name}.")
        ]
        for module in modules:
            for name, value in vars(module).items():
                ours = isinstance(value, type) and issubclass(value, Exception) \
                    and value.__module__.startswith(ERROR_PACKAGES)
                if ours and found.setdefault(name, value) is not value:
                    found[name] = None
    return found


def error_class(name: str) -> type[Exception]:
    """The protocol's exception class called ``name`` (as a vector's ``expectedError``)."""
    found = _error_classes().get(name)
    if found is None:
        raise LookupError(f"no single exception class {name!r} in {ERROR_PACKAGES}")
    return found


@contextmanager
def raises_exactly(name: str, why: str = "") -> Iterator[None]:
    """Expect the block to raise exactly the class ``name`` (not a subclass)."""
    expected = error_class(name)
    with pytest.raises(expected) as info:
        yield
    assert type(info.value) is expected, f"{why}: {type(info.value).__name__} is not {name}"
