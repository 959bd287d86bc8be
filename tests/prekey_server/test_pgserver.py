"""Without PostgreSQL the tests that need it skip, saying why; in CI they fail."""

from __future__ import annotations

import pytest

import tests.conftest as shared
from tests.prekey_server import pgserver


def test_missing_postgresql_skips_outside_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgserver, "find_pg_bin", lambda: None)
    monkeypatch.setattr(shared, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="PostgreSQL is not installed"):
        pgserver.require_postgres()


def test_missing_postgresql_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pgserver, "find_pg_bin", lambda: None)
    monkeypatch.setattr(shared, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="required in CI: PostgreSQL"):
        pgserver.require_postgres()
