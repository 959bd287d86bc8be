"""The layers import only downwards (design.md: truth flows one way).

The protocol (``otrv4``, ``otrv4_prekey``) knows nothing of XMPP or of the
document generator; the XMPP binding (``otrv4_xmpp``) knows nothing of the
generator; and the protocol's tests do not use the generator as their harness.
Imports are read from the syntax tree, so a name in a string or a comment does
not count and an import inside a function does.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ROOT / "spec_impl"

#: (folder, top-level packages that no file below it may import)
RULES = [
    ("spec_impl/otrv4", {"otrv4_xmpp", "otrv4_xepgen"}),
    ("spec_impl/otrv4_prekey", {"otrv4_xmpp", "otrv4_xepgen"}),
    ("spec_impl/otrv4_xmpp", {"otrv4_xepgen"}),
    ("tests/unit", {"otrv4_xepgen"}),
    ("tests/prekey_server", {"otrv4_xepgen"}),
    ("tests/helpers", {"otrv4_xepgen"}),
]


def imported_packages(source: str, package: str) -> set[str]:
    """The top-level packages a module of the top-level package ``package`` imports.

    A relative import stays inside the module's own top-level package.
    """
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            found.add(node.module.split(".")[0] if node.level == 0 and node.module else package)
    return found


def _package_of(path: Path) -> str:
    """The top-level package of a file: its folder under ``spec_impl/``, or ``tests``."""
    rel = path.relative_to(ROOT)
    return rel.parts[1] if rel.parts[0] == "spec_impl" else rel.parts[0]


def _files(folder: str) -> list[Path]:
    files = sorted((ROOT / folder).rglob("*.py"))
    assert files, f"{folder} has no Python files"
    return files


@pytest.mark.parametrize(("folder", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_layer_does_not_import_upwards(folder: str, forbidden: set[str]) -> None:
    offenders = {
        str(path.relative_to(ROOT)):
            sorted(imported_packages(path.read_text(encoding="utf-8"), _package_of(path))
                   & forbidden)
        for path in _files(folder)
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


def test_the_check_sees_every_kind_of_import() -> None:
    """Plain, from-, nested and relative imports count; strings and comments do not."""
    source = (
        '"""import otrv4_xepgen in a docstring does not count."""\n'
        "import os.path  # import otrv4_xepgen\n"
        "from otrv4 import dake\n"
        "from ..helpers import vectors\n"
        "from . import test_tlv\n"
        "def late():\n"
        "    import otrv4_xepgen.vectors\n"
    )
    assert imported_packages(source, "tests") == {"os", "otrv4", "tests", "otrv4_xepgen"}
    assert imported_packages("from .dake import start\n", "otrv4") == {"otrv4"}
    assert _package_of(SOURCES / "otrv4_xmpp" / "engine.py") == "otrv4_xmpp"
    assert _package_of(ROOT / "tests" / "unit" / "test_tlv.py") == "tests"
