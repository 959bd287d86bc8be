"""Child adapters import the packages from this checkout, installed or not."""

from __future__ import annotations

import os

import pytest

from ._adapters import ROOT


@pytest.fixture(autouse=True)
def _spec_impl_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", f"{ROOT / 'spec_impl'}{os.pathsep}{path}" if path
                       else str(ROOT / "spec_impl"))
