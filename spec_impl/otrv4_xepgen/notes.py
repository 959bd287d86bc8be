"""The companion document, *OTRv4 Implementation Notes*.

The XEP is the XMPP binding; what the reference implementation decided about
OTRv4 itself (the decisions on the specifications' ambiguities, the wire-format
reference, the state machine, the error classes) is rendered into this
companion, which the XEP cites informatively.  It is reStructuredText, made
from ``xep/notes/implementation-notes.rst.j2`` and the same code data as the
XEP: committed as ``docs/implementation-notes.rst`` (the Sphinx documentation
publishes it) and rendered to HTML beside the XEP by the build.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2

from otrv4.decisions import Decision, all_decisions

from . import __version__
from .tables import template_data

__all__ = ["NOTES_HTML", "NOTES_RST", "NOTES_TEMPLATE", "NotesError", "decisions",
           "docutils_text", "notes_html", "render_notes"]

#: The template, relative to the ``xep/`` folder.
NOTES_TEMPLATE = "notes/implementation-notes.rst.j2"
#: The committed reST, relative to the project root.
NOTES_RST = "docs/implementation-notes.rst"
#: The HTML file written beside the XEP's HTML.
NOTES_HTML = "otrv4-implementation-notes.html"


class NotesError(Exception):
    """The companion document cannot be rendered; the message says where."""


_ROLE = re.compile(r":[a-z]+:`~?([^`]+)`")


def docutils_text(text: str) -> str:
    """``text`` with Sphinx cross-reference roles (``:func:`x```) turned into literals, so
    that plain docutils reads it as Sphinx does."""
    return _ROLE.sub(lambda m: f"``{m.group(1)}``", text)


def decisions() -> list[Decision]:
    """Every registered decision, OTRv4's and the prekey server's, by number."""
    return all_decisions(("otrv4", "otrv4_prekey"))


def render_notes(xep_dir: Path, extra: Mapping[str, Any] | None = None) -> str:
    """The companion's reST text.  Raises :class:`NotesError` for a template error."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(xep_dir)),
        autoescape=False,  # reST, not markup
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["rst"] = docutils_text
    found = decisions()
    try:
        return env.get_template(NOTES_TEMPLATE).render(
            decisions=found,
            decisions_otrv4_max=max(d.number for d in found if d.number < 100),
            generator_version=__version__,
            **template_data(),
            **(extra or {}),
        )
    except jinja2.TemplateError as exc:
        lineno = getattr(exc, "lineno", None)
        raise NotesError(f"{NOTES_TEMPLATE}:{lineno or '?'}: {exc}") from exc


def notes_html(rst: str) -> str:
    """The companion rendered to a standalone HTML page by docutils.

    Any reST warning is an error (:class:`NotesError` naming the line), so the
    document Sphinx publishes and the page beside the XEP are the same text.
    """
    from docutils.core import publish_string
    from docutils.utils import SystemMessage

    settings = {"halt_level": 2, "report_level": 5, "output_encoding": "unicode",
                "embed_stylesheet": True, "datestamp": None, "generator": False,
                "traceback": False, "input_encoding": "unicode"}
    try:
        out = publish_string(rst, source_path=NOTES_RST, writer="html5",
                             settings_overrides=settings)
    except SystemMessage as exc:
        raise NotesError(f"{NOTES_RST}: {exc}") from exc
    page = out if isinstance(out, str) else out.decode("utf-8")
    return page.replace("</head>", f"<style>\n{_CSS}\n</style>\n</head>", 1)


#: Wide tables and long identifiers wrap instead of making the page scroll sideways.
_CSS = """body { max-width: 60em; margin: 2em auto; padding: 0 1em; }
table.docutils { width: 100%; table-layout: fixed; }
table.docutils td, table.docutils th { overflow-wrap: anywhere; vertical-align: top; }
pre, code, span.literal { white-space: pre-wrap; overflow-wrap: anywhere; }"""
