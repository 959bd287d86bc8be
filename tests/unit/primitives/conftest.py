"""Fixtures for the primitive tests: run a test once per Ed448 backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from otrv4.primitives import ed448


@pytest.fixture(params=["fast", "reference"])
def ed448_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The name of the Ed448 backend the test runs on (each test runs on both)."""
    name: str = request.param
    with ed448.using_backend(name):
        yield name
