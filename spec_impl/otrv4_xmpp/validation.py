"""Validating stanzas against the schemas: what we emit and what we receive.

Two engines check the same schema set and must agree:

* the fast path, libxml2 through lxml (compiled once, about 20 µs a stanza);
* the diagnostic path, :mod:`xmlschema`, slower but with precise element paths.

The schema set is this binding's own schemas (``schemas/*.xsd``, normative)
plus, when they can be found, the XSF's stanza schemas (``jabber-client.xsd``
and friends, from an xsf/schemas checkout) and schemas cut out of related XEPs
(EME, hints, …).  The XSF files are never copied into this project: the
caller says where they are (:class:`SchemaLocations`).  Their remote
``schemaLocation`` URLs are mapped onto the local copies, so validation never
touches the network.

The stanza schema accepts extension elements through a *lax* wildcard: an
element whose namespace has no loaded schema passes unchecked.  So the
validator also reports every element in a namespace it has no schema for.
Without the XSF stanza schemas, it validates only the elements of the
namespaces it does have (each as a root), and says so in the report.
"""

from __future__ import annotations

import contextlib
import copy as copy_module
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import xmlschema
from lxml import etree

from .namespaces import NS_CLIENT, NS_STANZAS, NS_XML
from .xep_schema_fixes import (
    ErrorModelNotFoundError,
    SchemaNotRecognisedError,
    rfc6120_jabber_client,
    xep0280_compilable,
    xep0420_any_content,
)

__all__ = [
    "Engine",
    "SchemaLocations",
    "StanzaValidator",
    "ValidationReport",
    "Violation",
    "default_schema_dir",
    "split_stanzas",
]

Engine = Literal["lxml", "xmlschema"]

_XSF_URL_PREFIXES = ("https://xmpp.org/schemas/", "http://xmpp.org/schemas/",
                     "http://www.xmpp.org/schemas/")
_XML_XSD_URLS = ("https://www.w3.org/2001/03/xml.xsd", "http://www.w3.org/2001/03/xml.xsd",
                 "http://www.w3.org/2001/xml.xsd")

#: Schemas from the XSF's stanza-schema collection, by namespace (file name in that folder).
XSF_SCHEMAS: dict[str, str] = {
    NS_CLIENT: "jabber-client.xsd",
    "http://jabber.org/protocol/disco#info": "disco-info.xsd",
    "http://jabber.org/protocol/pubsub": "pubsub.xsd",
    "http://jabber.org/protocol/pubsub#event": "pubsub-event.xsd",
    "http://jabber.org/protocol/pubsub#errors": "pubsub-errors.xsd",
    "jabber:x:data": "x-data.xsd",
    "http://jabber.org/protocol/disco#items": "disco-items.xsd",
    "http://jabber.org/protocol/chatstates": "chatstates.xsd",
    "urn:xmpp:receipts": "receipts.xsd",
    "urn:xmpp:forward:0": "forward.xsd",
    "urn:xmpp:delay": "delay.xsd",
}
#: Schemas this binding writes for namespaces it uses, loaded when the XSF's own
#: file for the namespace is not found (``otrv4_xmpp/xep_schema_fixes/``).
FALLBACK_SCHEMAS: dict[str, str] = {
    "urn:xmpp:forward:0": "xep-0297.xsd",
    "http://jabber.org/protocol/chatstates": "chatstates.xsd",
    "urn:xmpp:receipts": "receipts.xsd",
    "urn:xmpp:invisible:0": "xep-0186.xsd",
}

#: Schemas cut out of XEPs (not published as files by the XSF), by namespace.
XEP_SCHEMAS: dict[str, str] = {
    "urn:xmpp:eme:0": "xep-0380.xsd",
    "urn:xmpp:hints": "xep-0334.xsd",
    "urn:xmpp:sce:1": "xep-0420.xsd",
    "urn:xmpp:sid:0": "xep-0359.xsd",
    "http://jabber.org/protocol/disco#items": "xep-0030-2.xsd",
    # XEP-0420's <content/> admits one element as published; fixed at load time
    # (otrv4_xmpp.xep_schema_fixes.xep0420_any_content).
    # XEP-0280's own schema does not compile; it is fixed at load time
    # (otrv4_xmpp.xep_schema_fixes.xep0280_compilable).
    "urn:xmpp:carbons:2": "xep-0280.xsd",
}


def default_schema_dir() -> Path:
    """This binding's schemas: ``$OTR4_SCHEMA_DIR`` when set; in an installed wheel the
    package data ``otrv4_xmpp/schemas/`` (copied from the repository's ``schemas/`` at
    build time); in a checkout the repository's ``schemas/`` folder (the source of truth).
    Raises nothing (a missing folder shows when the validator loads it)."""
    env = os.environ.get("OTR4_SCHEMA_DIR")
    if env:
        return Path(env)
    packaged = Path(__file__).resolve().parent / "schemas"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "schemas"


@dataclass(frozen=True)
class SchemaLocations:
    """Where the schemas are.

    ``own``: this binding's schemas (every ``*.xsd`` in it is loaded).
    ``xsf``: a folder holding the XSF stanza schemas (``jabber-client.xsd``,
    ``stanzaerror.xsd``, ``xml.xsd``, …), e.g. an xsf/schemas checkout.
    ``xep``: a folder of schemas cut out of XEPs (``xep-0380.xsd``, …).
    """

    own: Path = field(default_factory=default_schema_dir)
    xsf: Path | None = None
    xep: Path | None = None


@dataclass(frozen=True)
class Violation:
    """One rule a stanza breaks: where (source, line, column, element path) and which rule."""

    source: str
    line: int | None
    column: int | None
    path: str
    rule: str

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        return f"{where}: {self.path}: {self.rule}" if self.path else f"{where}: {self.rule}"


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating one document (one or more stanzas)."""

    source: str
    stanzas: int
    violations: tuple[Violation, ...]
    complete: bool
    """False when part of the document could not be checked: no XSF stanza schemas,
    or an element of a namespace whose schema is known but not found here."""

    @property
    def ok(self) -> bool:
        return not self.violations


class _Resolver(etree.Resolver):
    def __init__(self, mapping: dict[str, str]) -> None:
        super().__init__()
        self._mapping = mapping

    # lxml-stubs declare resolve() without its context argument and omit resolve_filename
    def resolve(self, system_url: str | None, public_id: str | None,  # type: ignore[override]
                context: object) -> object:
        target = _map_url(self._mapping, system_url or "")
        if target is None:
            return None
        return self.resolve_filename(target, context)  # type: ignore[attr-defined]


def _map_url(mapping: dict[str, str], url: str) -> str | None:
    if url in mapping:
        return mapping[url]
    for prefix in _XSF_URL_PREFIXES:
        if url.startswith(prefix) and prefix in mapping:
            return mapping[prefix] + url[len(prefix):]
    return None


def _ns_of(tag: object) -> str:
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].partition("}")[0]
    return ""


def _element_path(elem: etree._Element) -> str:
    parts: list[str] = []
    node: etree._Element | None = elem
    while node is not None and node.tag != f"{{{NS_CLIENT}}}wrap":
        ns, local = _ns_of(node.tag), etree.QName(node).localname
        parts.append(f"{{{ns}}}{local}" if ns and ns != NS_CLIENT else local)
        node = node.getparent()
    return "/" + "/".join(reversed(parts))


_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")


def split_stanzas(text: str) -> tuple[etree._Element, list[etree._Element]]:
    """Parse ``text`` (one or more stanzas as in a client stream, comments allowed).

    Line numbers of the returned elements are those of ``text``.  A leading
    XML declaration is blanked out (keeping its line breaks).  Raises
    :class:`lxml.etree.XMLSyntaxError` with line and column for malformed input.
    """
    decl = _XML_DECL.match(text)
    if decl:
        text = re.sub(r"[^\n]", " ", decl.group(0)) + text[decl.end():]
    # The wrapper sits on the first line, so line numbers do not move; columns on
    # the first line shift by its length, which error messages correct for.
    wrapped = f"<wrap xmlns='{NS_CLIENT}'>{text}</wrap>"
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                             huge_tree=False)
    root = etree.fromstring(wrapped.encode("utf-8"), parser)
    return root, [c for c in root if isinstance(c.tag, str)]


class StanzaValidator:
    """Validates stanzas against one schema set with either engine.

    Compiling the schemas is the slow part; build one validator and reuse it.
    Raises :class:`FileNotFoundError` when ``locations.own`` holds no schema.
    """

    def __init__(self, locations: SchemaLocations | None = None) -> None:
        self.locations = locations or SchemaLocations()
        own = sorted(self.locations.own.glob("*.xsd"))
        if not own:
            raise FileNotFoundError(f"no *.xsd schemas in {self.locations.own}")
        self._imports: list[tuple[str, str]] = []
        self._mapping: dict[str, str] = {}
        for path in own:
            ns = etree.parse(str(path)).getroot().get("targetNamespace")
            if ns:
                self._imports.append((ns, path.resolve().as_uri()))
        xsf = self.locations.xsf
        self.complete = bool(xsf and (xsf / "jabber-client.xsd").is_file())
        if xsf and self.complete:
            base = str(xsf.resolve()) + "/"
            for prefix in _XSF_URL_PREFIXES:
                self._mapping[prefix] = base
            for url in _XML_XSD_URLS:
                self._mapping[url] = base + "xml.xsd"
            for ns, name in XSF_SCHEMAS.items():
                if (xsf / name).is_file():
                    self._imports.append((ns, _XSF_URL_PREFIXES[0] + name))
            # RFC 6120 §8.3.4: an application-specific condition inside <error/>; with an
            # unexpected upstream file, the file is used as it is.
            with contextlib.suppress(ErrorModelNotFoundError):
                self._mapping[_XSF_URL_PREFIXES[0] + "jabber-client.xsd"] = str(
                    rfc6120_jabber_client(xsf))
        xep = self.locations.xep
        if xep and self.complete:
            for ns, name in XEP_SCHEMAS.items():
                path = Path(name) if Path(name).is_absolute() else xep / name
                if not path.is_file():
                    continue
                if ns in self.namespaces_loaded():
                    continue  # the XSF's own file came first
                try:
                    if ns == "urn:xmpp:carbons:2":
                        path = xep0280_compilable(path)
                    elif ns == "urn:xmpp:sce:1":
                        path = xep0420_any_content(path)
                except SchemaNotRecognisedError:
                    continue
                self._imports.append((ns, path.resolve().as_uri()))
        if self.complete:
            fallback_dir = Path(__file__).resolve().parent / "xep_schema_fixes"
            for ns, name in FALLBACK_SCHEMAS.items():
                if ns not in self.namespaces_loaded():
                    self._imports.append((ns, (fallback_dir / name).as_uri()))
        self.namespaces = frozenset(ns for ns, _ in self._imports) | {NS_STANZAS, NS_XML}
        #: Namespaces this validator knows a schema for but could not load here.
        self.missing = frozenset(set(XSF_SCHEMAS) | set(XEP_SCHEMAS)
                                 | set(FALLBACK_SCHEMAS)) - self.namespaces
        self._driver = self._driver_text()
        self._lxml: etree.XMLSchema | None = None
        self._xmlschema: xmlschema.XMLSchema10 | None = None

    def namespaces_loaded(self) -> set[str]:
        """The namespaces imported so far (during construction) or in total."""
        return {ns for ns, _ in self._imports}

    def _driver_text(self) -> str:
        lines = ["<xs:schema xmlns:xs='http://www.w3.org/2001/XMLSchema'>"]
        lines += [f"  <xs:import namespace='{ns}' schemaLocation='{loc}'/>"
                  for ns, loc in self._imports]
        lines.append("</xs:schema>")
        return "\n".join(lines)

    @property
    def driver(self) -> str:
        """The driver schema: one ``xs:import`` per loaded namespace."""
        return self._driver

    def catalog(self) -> str:
        """An OASIS XML catalog mapping the XSF's remote schema URLs onto the local copies.

        With :meth:`driver` written to a file, ``XML_CATALOG_FILES=catalog.xml
        xmllint --noout --schema driver.xsd STANZA.xml`` checks what this
        validator checks (for a file holding one stanza with
        ``xmlns='jabber:client'``).
        """
        lines = ["<?xml version='1.0'?>",
                 "<catalog xmlns='urn:oasis:names:tc:entity:xmlns:xml:catalog'>"]
        for url, target in sorted(self._mapping.items()):
            uri = Path(target).resolve().as_uri() + ("/" if url.endswith("/") else "")
            if url.endswith("/"):
                lines.append(f"  <rewriteURI uriStartString='{url}' rewritePrefix='{uri}'/>")
                lines.append(f"  <rewriteSystem systemIdStartString='{url}' "
                             f"rewritePrefix='{uri}'/>")
            else:
                lines.append(f"  <uri name='{url}' uri='{uri}'/>")
                lines.append(f"  <system systemId='{url}' uri='{uri}'/>")
        lines.append("</catalog>")
        return "\n".join(lines) + "\n"

    def _lxml_schema(self) -> etree.XMLSchema:
        if self._lxml is None:
            parser = etree.XMLParser(no_network=True)
            parser.resolvers.add(_Resolver(self._mapping))
            doc = etree.fromstring(self._driver.encode(), parser,
                                   base_url=self.locations.own.resolve().as_uri() + "/")
            self._lxml = etree.XMLSchema(etree.ElementTree(doc))
        return self._lxml

    def _xmlschema_schema(self) -> xmlschema.XMLSchema10:
        if self._xmlschema is None:
            mapping = self._mapping

            def uri_mapper(url: str) -> str:
                target = _map_url(mapping, url)
                return Path(target).as_uri() if target else url

            self._xmlschema = xmlschema.XMLSchema10(
                self._driver, base_url=str(self.locations.own.resolve()),
                uri_mapper=uri_mapper, allow="local")
        return self._xmlschema

    def _roots(self, stanza: etree._Element) -> list[etree._Element]:
        """The elements to validate: the stanza itself, or (incomplete set) our elements."""
        if self.complete:
            return [stanza]
        own = {ns for ns, _ in self._imports}
        roots: list[etree._Element] = []
        for el in stanza.iter():
            if _ns_of(el.tag) in own and not any(r in el.iterancestors() for r in roots):
                roots.append(el)
        return roots

    def _unknown_namespaces(self, stanza: etree._Element, source: str,
                            line_shift: int) -> Iterator[Violation]:
        if not self.complete:
            return
        for el in stanza.iter():
            if not isinstance(el.tag, str):
                continue
            ns = _ns_of(el.tag)
            parent = el.getparent()
            if ns in self.missing:
                continue  # a schema exists but is not on this machine: not this stanza's fault
            if ns and ns not in self.namespaces and (parent is None or _ns_of(parent.tag) != ns):
                line = el.sourceline if isinstance(el.sourceline, int) else None
                yield Violation(source, line, None, _element_path(el),
                                f"no schema is loaded for namespace '{ns}'; the stanza "
                                "schema's lax wildcard would let it pass unchecked")

    def validate_elements(self, stanzas: Sequence[etree._Element], source: str = "-",
                          engine: Engine = "lxml") -> list[Violation]:
        """Validate parsed stanzas; returns the violations (empty when valid)."""
        return self._validate(stanzas, source, engine)[0]

    def _validate(self, stanzas: Sequence[etree._Element], source: str,
                  engine: Engine) -> tuple[list[Violation], set[str]]:
        """The violations, and the namespaces the stanzas use."""
        out: list[Violation] = []
        used: set[str] = set()
        for stanza in stanzas:
            present = {_ns_of(el.tag) for el in stanza.iter(etree.Element)}
            used |= present
            if present - self.namespaces - self.missing - {""}:  # rare: locate them
                out.extend(self._unknown_namespaces(stanza, source, 0))
            for root in self._roots(stanza):
                if engine == "lxml":
                    out.extend(self._check_lxml(root, source))
                else:
                    out.extend(self._check_xmlschema(root, source))
        return out, used

    def _check_lxml(self, root: etree._Element, source: str) -> Iterator[Violation]:
        schema = self._lxml_schema()
        if schema.validate(root):
            return  # the common case: valid in place, nothing to report
        # Validate a copy as a document of its own: libxml2 reports XPaths
        # relative to the document, and a copy keeps the source lines.
        copy = copy_module.deepcopy(root)
        tree = etree.ElementTree(copy)
        if schema.validate(tree):
            return
        for entry in schema.error_log:  # type: ignore[attr-defined]  # lxml-stubs lack __iter__
            rule = re.sub(r"^Element '[^']*'(, attribute '[^']*')?: ", "", entry.message)
            attr = re.match(r"^Element '[^']*', attribute '([^']*)'", entry.message)
            path = _lxml_path(tree, entry.path)
            parent = root.getparent()
            if parent is not None and parent.tag != f"{{{NS_CLIENT}}}wrap":
                path = _element_path(parent) + path
            if attr:
                path += f"/@{attr.group(1)}"
            yield Violation(source, entry.line, None, path, rule)

    def _check_xmlschema(self, root: etree._Element, source: str) -> Iterator[Violation]:
        schema = self._xmlschema_schema()
        for err in schema.iter_errors(root):
            elem = err.elem
            line = elem.sourceline if isinstance(elem, etree._Element) else None
            path = (_element_path(elem) if isinstance(elem, etree._Element)
                    else str(err.path or ""))
            yield Violation(source, line, None, path, str(err.reason or err.message))

    def validate_text(self, text: str, source: str = "-",
                      engine: Engine = "lxml") -> ValidationReport:
        """Parse and validate a document of stanzas.

        Malformed XML gives one violation with the parser's line, column and
        message (never an exception).
        """
        try:
            _, stanzas = split_stanzas(text)
        except etree.XMLSyntaxError as exc:
            line, column = (exc.position if exc.position else (None, None))
            if line == 1 and column is not None:
                column = max(1, column - len(f"<wrap xmlns='{NS_CLIENT}'>"))
            msg = re.sub(r",? line \d+, column \d+$", "", str(exc.msg))
            return ValidationReport(source, 0, (Violation(source, line, column, "",
                                                          f"not well-formed XML: {msg}"),), False)
        if not stanzas:
            return ValidationReport(source, 0, (Violation(source, None, None, "",
                                                          "no stanza found"),), self.complete)
        violations, used = self._validate(stanzas, source, engine)
        return ValidationReport(source, len(stanzas), tuple(violations),
                                self.complete and not used & self.missing)

    def iter_files(self, paths: Iterable[Path]) -> Iterator[Path]:
        """Expand folders into the ``*.xml`` files below them, sorted."""
        for p in paths:
            if p.is_dir():
                yield from sorted(q for q in p.rglob("*.xml") if q.is_file())
            else:
                yield p


def _lxml_path(tree: etree._ElementTree, libxml_path: str | None) -> str:
    """Turn libxml2's XPath into our namespaced element path."""
    if not libxml_path:
        return _element_path(tree.getroot())
    try:
        found = tree.xpath(libxml_path)
    except etree.XPathError:
        return libxml_path
    if isinstance(found, list) and found and isinstance(found[0], etree._Element):
        return _element_path(found[0])
    return libxml_path
