"""Sphinx configuration.  Build with ``make docs`` (warnings are errors)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "spec_impl"))

project = "OTRv4 over XMPP"
author = "OTRv4 over XMPP contributors"
copyright = "2026, OTRv4 over XMPP contributors"

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
]
autosummary_generate = True
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": True}
autodoc_typehints = "description"
autodoc_member_order = "bysource"
nitpicky = False
exclude_patterns = ["_build", "benchmarks/results.rst"]  # included by benchmarks.rst
html_theme = "alabaster"
# "ref.python": builtin names such as `type` in type hints match dataclass fields of
# the same name; the ambiguity is harmless and not ours to fix.
suppress_warnings = ["autosummary.import_cycle", "ref.python"]


def _write_if_changed(target: Path, text: str) -> None:
    target.parent.mkdir(exist_ok=True)
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


def _write_conformance(app: object) -> None:
    """The adapter page's tables, and the runner's report for the reference adapter, run
    now (the page shows what this build measured)."""
    import os
    import shlex

    from otrv4_conformance.catalogue import catalogue_rst, transcript
    from otrv4_conformance.runner import run

    generated = Path(__file__).parent / "_generated"
    _write_if_changed(generated / "conformance-levels.rst",
                      catalogue_rst(ROOT / "examples" / "vectors"))
    _write_if_changed(generated / "conformance-transcript.txt",
                      transcript(ROOT / "examples" / "vectors"))
    path = os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = str(ROOT / "spec_impl") + (os.pathsep + path if path else "")
    report = run(f"{shlex.quote(sys.executable)} -m otrv4_conformance.reference", root=ROOT,
                 timeout=120)
    os.environ["PYTHONPATH"] = path
    report.command = "python -m otrv4_conformance.reference"
    if report.exit_code != 0:
        raise RuntimeError("the reference adapter fails the conformance harness:\n"
                           + report.text())
    _write_if_changed(generated / "conformance-report.txt", report.text())


def setup(app: object) -> None:
    app.connect("builder-inited", _write_conformance)  # type: ignore[attr-defined]
