"""The generator's side of the vector files: ``otrv4_xepgen.vectorsets`` reproduces every
committed file under ``examples/vectors/`` byte for byte.

These tests may import ``xepgen``; the protocol's own tests (``tests/unit``,
``tests/prekey_server``) read the committed files with ``tests/helpers/vectors.py``
and replay them through the protocol API instead.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from functools import cache

import pytest

from otrv4_xepgen import vectorsets
from otrv4_xepgen.vectors import dump_vectors
from otrv4_xepgen.vectorsets import all_vector_files

from ..helpers.vectors import VECTORS_DIR, vector_document, vector_stems

PRODUCERS = all_vector_files()


@cache
def generated(stem: str) -> str:
    """The producer's file, stamped with the committed file's source tree id."""
    committed_tree = vector_document(stem)["generator"]["sourceTree"]
    return dump_vectors(PRODUCERS[stem](), committed_tree)


def test_every_committed_file_has_a_producer() -> None:
    assert sorted(PRODUCERS) == vector_stems()


def test_every_producer_is_registered() -> None:
    for info in pkgutil.iter_modules(vectorsets.__path__):
        module = importlib.import_module(f"{vectorsets.__name__}.{info.name}")
        for stem, producer in getattr(module, "VECTOR_FILES", {}).items():
            assert PRODUCERS[stem] is producer, stem


@pytest.mark.parametrize("stem", sorted(PRODUCERS))
def test_generator_reproduces_the_committed_file(stem: str) -> None:
    committed = (VECTORS_DIR / f"{stem}.json").read_text(encoding="utf-8")
    assert generated(stem) == committed, f"examples/vectors/{stem}.json is stale: run make"


@pytest.mark.parametrize("stem", sorted(PRODUCERS))
def test_producer_is_deterministic(stem: str) -> None:
    tree = vector_document(stem)["generator"]["sourceTree"]
    assert dump_vectors(PRODUCERS[stem](), tree) == generated(stem)


@pytest.mark.parametrize("stem", sorted(PRODUCERS))
def test_flags_are_noted_and_invalid_cases_name_their_error(stem: str) -> None:
    doc = json.loads(generated(stem))
    for group in doc["testGroups"]:
        for test in group["tests"]:
            assert set(test["flags"]) <= set(doc["notes"]), test["comment"]
            assert (test["result"] == "invalid") == bool(test["expectedError"]), test["comment"]
