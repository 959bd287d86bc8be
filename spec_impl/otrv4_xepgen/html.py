"""The XEP as HTML, rendered by this project (no XSF stylesheet needed).

Numbered sections with stable anchors (the XEP's own ``anchor`` attributes),
a table of contents, captioned and highlighted examples, each with a note of
the scenario step that produced it, footnotes from ``<note/>``, the header
data and the revision history.  Entity references are expanded from the
document's internal subset and, when available, the XSF's ``xep.ent``;
without it, ``&xepNNNN;`` and ``&rfcNNNN;`` become plain links and the legal
notice a pointer to the XSF IPR policy.  The output depends only on its
inputs, so it is byte-reproducible.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from pathlib import Path

from lxml import etree
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import XmlLexer

from .examples import CheckedExample

__all__ = ["render_html"]

_CSS = "\n".join([
    "body { font-family: sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em;",
    "       line-height: 1.45; }",
    "h1 { font-size: 1.8em; } h2 { border-bottom: 1px solid #ccc; }",
    "table.header td { padding: 0.1em 1em 0.1em 0; vertical-align: top; }",
    "table.grid { border-collapse: collapse; }",
    "table.grid td, table.grid th { border: 1px solid #bbb; padding: 0.2em 0.5em; }",
    "figure.example { margin: 1em 0; } figure.example figcaption { font-weight: bold; }",
    "figure.example .highlight pre { background: #f6f6f6; padding: 0.6em; font-size: 0.9em; }",
    "/* long base64 payloads wrap instead of scrolling sideways */",
    "pre { white-space: pre-wrap; overflow-wrap: anywhere; }",
    "p.provenance { font-size: 0.85em; color: #555; margin-top: 0.2em; }",
    "nav.toc ul { list-style: none; padding-left: 1.2em; }",
    "a.anchor { color: #aaa; text-decoration: none; margin-left: 0.3em; }",
])


_INLINE_TAGS = frozenset({"link", "note", "tt", "em", "strong", "cite", "dfn", "acronym", "span",
                          "br"})
_BLOCK_TAGS = frozenset({"p", "ul", "ol", "dl", "example", "code", "table", "div",
                         "blockquote"})


class _Renderer:
    def __init__(self, doc: etree._Element, examples: Sequence[CheckedExample],
                 entities: dict[str, str]) -> None:
        self.doc = doc
        self.by_text = {e.text: e for e in examples if e.valid}
        self.entities = entities
        self.notes: list[str] = []
        self.example_no = 0
        self.toc: list[tuple[int, str, str, str]] = []

    # -- entities ---------------------------------------------------------
    def entity(self, name: str) -> str:
        content = self.entities.get(name)
        if content is not None:
            frag = etree.fromstring(f"<x>{content}</x>".encode(),
                                    etree.XMLParser(resolve_entities=False))
            return self.inline_children(frag)
        m = re.fullmatch(r"xep(\d{4})", name)
        if m:
            n = m.group(1)
            return (f"<a href='https://xmpp.org/extensions/xep-{n}.html'>XEP-{n}</a>")
        m = re.fullmatch(r"rfc(\d+)", name)
        if m:
            n = m.group(1)
            return f"<a href='https://www.rfc-editor.org/rfc/rfc{n}'>RFC {n}</a>"
        if name == "LEGALNOTICE":
            return ("<p>This XMPP Extension Protocol is copyright of the XMPP Standards "
                    "Foundation and is subject to its <a href='https://xmpp.org/about/xsf/"
                    "ipr-policy'>Intellectual Property Rights Policy</a>.</p>")
        return html.escape(f"&{name};")

    # -- inline content ---------------------------------------------------
    def inline_children(self, el: etree._Element) -> str:
        out = [html.escape(el.text or "", quote=False)]
        for child in el:
            out.append(self.inline(child))
            out.append(html.escape(child.tail or "", quote=False))
        return "".join(out)

    def inline(self, el: etree._Element) -> str:
        if isinstance(el, etree._Entity):
            return self.entity(str(el.name))
        if not isinstance(el.tag, str):
            return ""
        tag = el.tag
        inner = self.inline_children(el) if tag not in ("note",) else ""
        if tag == "link":
            return f"<a href='{html.escape(el.get('url', ''))}'>{inner}</a>"
        if tag == "note":
            self.notes.append(self.inline_children(el))
            n = len(self.notes)
            return f"<sup><a href='#nt-{n}' id='nt-ref-{n}'>{n}</a></sup>"
        if tag in ("tt",):
            return f"<code>{inner}</code>"
        if tag in ("em", "strong", "cite", "dfn", "acronym"):
            return f"<{tag}>{inner}</{tag}>"
        if tag == "span":
            return f"<span>{inner}</span>"
        if tag == "br":
            return "<br/>"
        if tag in _BLOCK_TAGS:
            return self.block(el)
        return inner

    # -- blocks -----------------------------------------------------------
    def block(self, el: etree._Element) -> str:
        tag = el.tag
        if isinstance(el, etree._Entity):
            return self.entity(str(el.name))
        if not isinstance(tag, str):
            return ""
        if tag == "p":
            return f"<p>{self.inline_children(el)}</p>"
        if tag in ("ul", "ol"):
            items = "".join(f"<li>{self.inline_children(li)}</li>" for li in el
                            if li.tag == "li")
            return f"<{tag}>{items}</{tag}>"
        if tag == "dl":
            parts = []
            for di in el:
                for part in di:
                    if part.tag in ("dt", "dd"):
                        parts.append(f"<{part.tag}>{self.inline_children(part)}</{part.tag}>")
            return "<dl>" + "".join(parts) + "</dl>"
        if tag == "example":
            return self.example(el)
        if tag == "code":
            cap = el.get("caption")
            caption = f"<figcaption>{html.escape(cap)}</figcaption>" if cap else ""
            body = highlight(el.text or "", XmlLexer(), HtmlFormatter(nowrap=False))
            return f"<figure class='example'>{caption}{body}</figure>"
        if tag == "table":
            rows = []
            for tr in el:
                cells = "".join(f"<{c.tag}>{self.inline_children(c)}</{c.tag}>" for c in tr
                                if c.tag in ("th", "td"))
                rows.append(f"<tr>{cells}</tr>")
            cap = el.get("caption")
            caption = f"<caption>{html.escape(cap)}</caption>" if cap else ""
            return f"<table class='grid'>{caption}{''.join(rows)}</table>"
        if tag in ("div", "blockquote"):
            return f"<{tag}>{self.inline_children(el)}</{tag}>"
        if tag in _INLINE_TAGS:
            return self.inline(el)
        # containers without a rendering of their own (e.g. the legal notice's parts)
        return f"<div class='{html.escape(tag)}'>{self.inline_children(el)}</div>"

    def example(self, el: etree._Element) -> str:
        self.example_no += 1
        n = self.example_no
        text = el.text or ""
        source = self.by_text.get(text.strip("\n"))
        anchor = f"example-{n}"
        cap = html.escape(el.get("caption", ""))
        body = highlight(text.strip("\n"), XmlLexer(), HtmlFormatter())
        prov = ""
        if source is not None:
            pid = f"ex-{source.scenario}-{source.name}"
            prov = (f"<p class='provenance' id='{pid}'>Produced by "
                    f"<code>{source.produced_by}</code> in scenario "
                    f"<code>{source.scenario}</code>, "
                    f"step <code>{source.name}</code>; accepted by "
                    f"<code>{source.accepted_by}</code>; file "
                    f"<code>examples/stanzas/{source.relpath}</code>.</p>")
        return (f"<figure class='example' id='{anchor}'><figcaption>Example {n}. {cap}"
                f"<a class='anchor' href='#{anchor}'>#</a></figcaption>{body}{prov}</figure>")

    def section(self, el: etree._Element, level: int, number: str) -> str:
        topic = el.get("topic", "")
        anchor = el.get("anchor") or f"sect-{number.replace('.', '-')}"
        self.toc.append((level, number, topic, anchor))
        out = [f"<section id='{html.escape(anchor)}'>",
               f"<h{level + 1}>{number}. {html.escape(topic)}"
               f"<a class='anchor' href='#{html.escape(anchor)}'>#</a></h{level + 1}>"]
        sub = 0
        for child in el:
            if isinstance(child.tag, str) and child.tag == f"section{level + 1}":
                sub += 1
                out.append(self.section(child, level + 1, f"{number}.{sub}"))
            else:
                out.append(self.block(child))
        out.append("</section>")
        return "".join(out)

    def header(self) -> str:
        h = self.doc.find("header")
        assert h is not None  # the DTD requires it; render_html checks first

        def t(name: str) -> str:
            node = h.find(name)
            return html.escape(node.text or "") if node is not None else ""

        rows = [("Number", t("number")), ("Status", t("status")), ("Type", t("type")),
                ("Approver", t("approver")), ("Short name", t("shortname"))]
        revs = h.findall("revision")
        if revs:
            rows.insert(0, ("Version", html.escape(revs[0].findtext("version") or "")))
            rows.insert(1, ("Last updated", html.escape(revs[0].findtext("date") or "")))
        authors = ", ".join(html.escape(f"{a.findtext('firstname')} {a.findtext('surname')}")
                            for a in h.findall("author"))
        rows.append(("Authors", authors))
        table = "".join(f"<tr><td>{k}</td><td>{v}</td></tr>" for k, v in rows)
        legal = "".join(self.entity(str(c.name)) for c in h if isinstance(c, etree._Entity))
        history = "".join(
            f"<tr><td>{html.escape(r.findtext('version') or '')}</td>"
            f"<td>{html.escape(r.findtext('date') or '')}</td>"
            f"<td>{html.escape(r.findtext('initials') or '')}</td>"
            f"<td>{self._remark(r)}</td></tr>" for r in revs)
        return (f"<h1>{t('title')}</h1><p class='abstract'><strong>Abstract:</strong> "
                f"{t('abstract')}</p><table class='header'>{table}</table>"
                f"<details><summary>Legal notice</summary>{legal}</details>"
                f"<details><summary>Revision history</summary><table class='grid'>"
                f"<tr><th>Version</th><th>Date</th><th>Initials</th><th>Remark</th></tr>"
                f"{history}</table></details>")

    def _remark(self, revision: etree._Element) -> str:
        remark = revision.find("remark")
        return self.inline_children(remark) if remark is not None else ""

    def render(self) -> str:
        head = self.header()
        body = []
        n = 0
        for child in self.doc:
            if child.tag == "section1":
                n += 1
                body.append(self.section(child, 1, str(n)))
        toc = "".join(
            f"<li style='margin-left:{(lvl - 1) * 1.2}em'><a href='#{html.escape(a)}'>"
            f"{num}. {html.escape(topic)}</a></li>" for lvl, num, topic, a in self.toc)
        notes = "".join(f"<li id='nt-{i}'>{txt} <a href='#nt-ref-{i}'>↩</a></li>"
                        for i, txt in enumerate(self.notes, start=1))
        title = self.doc.findtext("header/title") or ""
        style = str(HtmlFormatter().get_style_defs(".highlight"))  # type: ignore[no-untyped-call]
        return ("<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'/>"
                f"<title>{html.escape(title)}</title><style>{_CSS}{style}</style></head><body>"
                f"{head}<nav class='toc'><h2>Table of Contents</h2><ul>{toc}</ul></nav>"
                f"{''.join(body)}<section id='notes'><h2>Notes</h2><ol>{notes}</ol></section>"
                "</body></html>\n")


def _xep_ent_entities(xep_ent: Path | None) -> dict[str, str]:
    if xep_ent is None or not xep_ent.is_file():
        return {}
    out: dict[str, str] = {}
    text = xep_ent.read_text(encoding="utf-8")
    for m in re.finditer(r"<!ENTITY\s+([A-Za-z0-9_.-]+)\s+(\"([^\"]*)\"|'([^']*)')\s*>", text):
        out[m.group(1)] = m.group(3) if m.group(3) is not None else m.group(4)
    return out


def render_html(xep_xml: str, examples: Sequence[CheckedExample],
                xep_ent: Path | None = None) -> str:
    """Render the XEP's XML text as one self-contained HTML page."""
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
    doc = etree.fromstring(xep_xml.encode("utf-8"), parser)
    entities = _xep_ent_entities(xep_ent)
    dtd = doc.getroottree().docinfo.internalDTD
    if dtd is not None:
        for ent in dtd.iterentities():  # type: ignore[union-attr]
            if ent.content is not None:
                entities[str(ent.name)] = str(ent.content)
    if doc.find("header") is None:
        raise ValueError("the XEP has no <header/>")
    return _Renderer(doc, examples, entities).render()
