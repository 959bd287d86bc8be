"""Data for the XEP's tables, gathered from the code.

Every module ``xepgen/tables_*.py`` exports ``TEMPLATE_DATA``: a mapping from
a template variable name to plain data (lists of tuples or dicts), computed
from the public constants of the protocol packages.  The renderer passes the
union to the templates, so a table restating code can never drift from it.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any

import otrv4_xepgen

__all__ = ["template_data"]


def template_data() -> dict[str, Any]:
    """The union of every ``tables_*`` module's ``TEMPLATE_DATA``; names must not clash."""
    out: dict[str, Any] = {}
    for info in sorted(pkgutil.iter_modules(otrv4_xepgen.__path__), key=lambda m: m.name):
        if not info.name.startswith("tables_"):
            continue
        module = importlib.import_module(f"otrv4_xepgen.{info.name}")
        for key, value in getattr(module, "TEMPLATE_DATA", {}).items():
            if key in out:
                raise ValueError(f"template variable {key!r} defined twice")
            out[key] = value
    return out
