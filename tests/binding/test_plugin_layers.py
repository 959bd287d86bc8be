"""The shape of the slixmpp plugin: its parts never import each other or the facade, and
the send planner and the admission step know nothing of XMPP streams."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import otrv4_xmpp

PACKAGE = Path(otrv4_xmpp.__file__).parent
PLUGIN = PACKAGE / "slixmpp_plugin"
PARTS = ("directory", "prekey_agent", "inbound", "lifecycle", "verification")
BOTTOM = ("errors", "events", "stanza_io", "device", "delivery")


def imported(path: Path) -> set[str]:
    """Modules ``path`` imports, relative ones resolved within otrv4_xmpp."""
    here = path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = list(here[:len(here) - node.level + 1]) if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            out.add(module)
            out.update(f"{module}.{a.name}" for a in node.names)
    return out


@pytest.mark.parametrize("part", PARTS + BOTTOM)
def test_parts_import_neither_each_other_nor_the_facade(part: str) -> None:
    names = imported(PLUGIN / f"{part}.py")
    forbidden = {f"otrv4_xmpp.slixmpp_plugin.{m}" for m in (*PARTS, "plugin")} - {
        f"otrv4_xmpp.slixmpp_plugin.{part}"}
    if part in BOTTOM:  # the bottom does not reach up into the parts either
        forbidden |= {f"otrv4_xmpp.slixmpp_plugin.{m}" for m in PARTS}
    assert not names & forbidden


@pytest.mark.parametrize("module", ["send_plan", "admission"])
def test_planner_and_admission_are_transport_free(module: str) -> None:
    names = imported(PACKAGE / f"{module}.py")
    assert not {n for n in names if n.startswith(("slixmpp", "otrv4_xmpp.slixmpp_plugin"))}


def test_the_facade_stays_small() -> None:
    lines = (PLUGIN / "plugin.py").read_text(encoding="utf-8").count("\n")
    # 340 before the store setting, retire() and renew_profiles() (issue 14)
    assert lines <= 340, lines


def test_instance_tags_are_read_by_one_function() -> None:
    root = PACKAGE.parent
    offenders = [str(p.relative_to(root)) for p in root.rglob("*.py")
                 if "[3:7]" in p.read_text(encoding="utf-8")
                 or "[7:11]" in p.read_text(encoding="utf-8")]
    assert offenders == []
