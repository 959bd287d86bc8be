"""Fixtures for the primitive tests: run a test once per Ed448 backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ...conftest import ED448_BACKENDS, ed448_backend_in_use


@pytest.fixture(params=ED448_BACKENDS)
def ed448_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The name of the Ed448 backend the test runs on (each test runs on each backend;
    libdecaf's skip where it is not installed, outside CI)."""
    name: str = request.param
    with ed448_backend_in_use(name):
        yield name
