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


def _write_decisions(app: object) -> None:
    """Render the decisions page from the code (truth flows one way)."""
    from otrv4.decisions import all_decisions

    out = ["Decisions on the ambiguities of OTRv4", "=" * 38, "",
           "Generated from :mod:`otrv4.decisions`; the XEP renders the same records.", ""]
    for d in all_decisions(("otrv4", "prekey_server")):
        title = f"{d.number}. {d.title}"
        out += [title, "-" * len(title), "", f"**Question.** {d.question}", "",
                f"**Decision.** {d.decision}", "", f"**Reason.** {d.reason}", "",
                f"**Other implementations.** {d.others}", "",
                f"**Vector.** ``examples/vectors/{d.vector}.json``", ""]
    target = Path(__file__).parent / "_generated" / "decisions.rst"
    target.parent.mkdir(exist_ok=True)
    text = "\n".join(out) + "\n"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


def setup(app: object) -> None:
    app.connect("builder-inited", _write_decisions)  # type: ignore[attr-defined]
