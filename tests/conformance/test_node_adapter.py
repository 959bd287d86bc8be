"""The Node.js adapter printed on the adapter page passes level 1."""

from __future__ import annotations

import os
import shutil

import pytest

from otrv4_conformance.runner import run

from ._adapters import ROOT

ADAPTER = ROOT / "docs" / "conformance" / "adapter.js"


def test_the_page_includes_the_adapter_verbatim() -> None:
    page = (ROOT / "docs" / "conformance.rst").read_text()
    assert ".. literalinclude:: conformance/adapter.js" in page


def test_node_adapter_passes_level_1() -> None:
    node = shutil.which("node")
    if node is None:
        if os.environ.get("CI"):
            pytest.fail("node is required in CI (the adapter page's example is run by a test)")
        pytest.skip("node is not installed")
    report = run(f"{node} {ADAPTER}", root=ROOT, timeout=60)
    assert report.claimed == (1,)
    assert [r for r in report.results if r.status != "passed"] == []
    assert report.counts(1)["passed"] == sum(1 for r in report.results)
    assert report.exit_code == 0
