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
exclude_patterns = ["_build"]
html_theme = "alabaster"
# "ref.python": builtin names such as `type` in type hints match dataclass fields of
# the same name; the ambiguity is harmless and not ours to fix.
suppress_warnings = ["autosummary.import_cycle", "ref.python"]
