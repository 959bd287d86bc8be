"""Rendering the XEP's XML from Jinja2 templates.

The document is written as text, never re-serialized from a parsed tree: the
XSF's tooling checks the literal ``&LEGALNOTICE;`` entity reference, the
DOCTYPE with its internal subset, and the stylesheet instruction.

The main template holds the header; each ``section1`` is a file in
``templates/sections/``, included in the order of the file names (a number
prefix), so sections can be added without touching the others.  Templates
contain prose only.  Everything that restates code comes from the
context built here: examples (by reference ``scenario/step``), the schema
files, the namespace table, the decisions, the revision history.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup, escape

from otrv4.decisions import Decision, all_decisions
from otrv4_xmpp.namespaces import DEFINED

from . import __version__
from .examples import CheckedExample
from .tables import template_data

__all__ = ["RenderError", "Revision", "cdata", "load_revisions", "render_xep"]

MAIN_TEMPLATE = "otrv4-over-xmpp.xml.j2"


class RenderError(Exception):
    """The templates refer to something the code did not produce, or the data is bad."""


@dataclass(frozen=True)
class Revision:
    """One entry of the XEP's revision history (``xep/revisions.toml``)."""

    version: str
    date: str
    initials: str
    remark: str


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) for p in v.split("."))


def load_revisions(path: Path) -> list[Revision]:
    """Read the revision history, newest first; raises :class:`RenderError` if out of order."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        revs = [Revision(str(r["version"]), str(r["date"]), str(r["initials"]),
                         str(r["remark"])) for r in data["revision"]]
    except (OSError, KeyError, TypeError, tomllib.TOMLDecodeError) as exc:
        raise RenderError(f"{path}: cannot read the revision history: {exc}") from exc
    keys = [_version_key(r.version) for r in revs]
    if keys != sorted(keys, reverse=True) or len(set(keys)) != len(keys):
        raise RenderError(f"{path}: revisions must be listed newest first, versions unique")
    return revs


def cdata(text: str) -> Markup:
    """Wrap ``text`` in a CDATA section, splitting any ``]]>`` it contains."""
    return Markup("<![CDATA[" + text.replace("]]>", "]]]]><![CDATA[>") + "]]>")


class _Context:
    """The functions templates call; each records what it was asked for."""

    def __init__(self, examples: Sequence[CheckedExample], schema_dir: Path,
                 decisions: Sequence[Decision] = (), notes_url: str = "") -> None:
        self._decisions = {d.number for d in decisions}
        self._notes_url = notes_url
        self._examples = {e.ref: e for e in examples if e.valid}
        self._schema_dir = schema_dir
        self.used: list[str] = []

    def _find(self, ref: str) -> CheckedExample:
        try:
            return self._examples[ref]
        except KeyError:
            raise RenderError(f"template refers to example {ref!r}, which no scenario "
                              f"produced (known: {', '.join(sorted(self._examples))})") from None

    def example(self, ref: str) -> Markup:
        """The example ``ref``, captioned with the title its scenario gave it."""
        ex = self._find(ref)
        self.used.append(ref)
        return (Markup(f"<example caption='{escape(ex.title)}'>") + cdata(ex.text)
                + Markup("</example>"))

    def sender(self, ref: str) -> Markup:
        """How the document names the device that sent example ``ref`` (prose takes it from
        here, so that it names the device that really sent the stanza).  Raises
        :class:`RenderError` for an example a server sent."""
        ex = self._find(ref)
        if not ex.sender:
            raise RenderError(f"example {ref!r} was not sent by a device of the cast")
        # element text: an apostrophe needs no escaping
        return Markup(str(escape(ex.sender)).replace("&#39;", "'"))

    def decision(self, number: int) -> Markup:
        """A link to decision ``number`` in the companion document (the implementation
        notes).  Raises :class:`RenderError` for a decision no module registered."""
        if number not in self._decisions:
            raise RenderError(f"template cites decision {number}, which is not registered "
                              f"(known: {', '.join(map(str, sorted(self._decisions)))})")
        url = escape(f"{self._notes_url}#decision-{number}")
        return Markup(f"<link url='{url}'>decision {number}</link>")

    def schema(self, filename: str) -> Markup:
        path = self._schema_dir / filename
        try:
            text = path.read_text(encoding="utf-8").rstrip("\n")
        except OSError as exc:
            raise RenderError(f"template refers to schema {filename!r}: {exc}") from exc
        return Markup("<code caption='") + escape(filename) + Markup("'>") + cdata(text) \
            + Markup("</code>")


def render_xep(templates: Path, schema_dir: Path, examples: Sequence[CheckedExample],
               revisions: Sequence[Revision], extra: Mapping[str, Any] | None = None) -> str:
    """Render the XEP's XML text.

    Raises :class:`RenderError` when a template names an unknown example or
    schema, or leaves a valid example unused (every example the code produces
    must appear in the document or be removed from the scenarios).
    """
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    decisions: list[Decision] = all_decisions(("otrv4", "otrv4_prekey"))
    notes_url = str((extra or {}).get("notes_url", ""))
    ctx = _Context(examples, schema_dir, decisions, notes_url)
    sections = sorted(p.relative_to(templates).as_posix()
                      for p in (templates / "sections").glob("*.xml.j2"))
    try:
        text = env.get_template(MAIN_TEMPLATE).render(
            example=ctx.example,
            sender=ctx.sender,
            decision=ctx.decision,
            schema=ctx.schema,
            revisions=revisions,
            namespaces=sorted(DEFINED.items()),
            generator_version=__version__,
            sections=sections,
            **template_data(),
            **(extra or {}),
        )
    except jinja2.TemplateError as exc:
        where = f"{getattr(exc, 'filename', None) or MAIN_TEMPLATE}"
        lineno = getattr(exc, "lineno", None)
        raise RenderError(f"{where}:{lineno or '?'}: {exc}") from exc
    unused = sorted(set(ctx._examples) - set(ctx.used))
    if unused:
        raise RenderError("examples produced but not used in the XEP: " + ", ".join(unused))
    return text
