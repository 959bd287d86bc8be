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

import codecs
import contextlib
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, Literal

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
    "decode_utf8",
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
    """The outcome of validating one document (one or more stanzas).

    ``violations`` is a sequence of :class:`Violation`.  With the lxml engine it
    is formatted from libxml2's error log when first read (element paths,
    messages), so a caller that only needs :attr:`ok` does not pay for it;
    ``verdict`` then holds the engine's answer.
    """

    source: str
    stanzas: int
    violations: Sequence[Violation]
    complete: bool
    """False when part of the document could not be checked: no XSF stanza schemas,
    or an element of a namespace whose schema is known but not found here."""
    verdict: bool | None = field(default=None, compare=False)
    ok: bool = field(init=False, compare=False, repr=False)
    """Whether the document is valid (no violation): ``verdict`` when given, else whether
    ``violations`` is empty (an attribute, not a property: a receiving client reads it
    for every stanza)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "ok", self.verdict if self.verdict is not None
                           else not self.violations)


def _invalid_stanza_report(source: str, complete: bool,
                           violations: Sequence[Violation]) -> ValidationReport:
    """``ValidationReport(source, 1, violations, complete, verdict=False)``, the same object
    built without the generated ``__init__``, whose ``object.__setattr__`` call per field
    cost more than the rest of the fast path's bookkeeping for an invalid stanza."""
    report = object.__new__(ValidationReport)
    report.__dict__.update(source=source, stanzas=1, violations=violations,
                           complete=complete, verdict=False, ok=False)
    return report


class _DeferredViolations(Sequence[Violation]):
    """Violations formatted on first use: those known at once, then each pending batch."""

    __slots__ = ("_done", "_pending")

    def __init__(self, ready: Sequence[Violation],
                 pending: Sequence[Callable[[], Iterable[Violation]]]) -> None:
        self._done: tuple[Violation, ...] | None = None if pending else tuple(ready)
        self._pending = (ready, pending)

    def _all(self) -> tuple[Violation, ...]:
        if self._done is None:
            ready, pending = self._pending
            out = list(ready)
            for batch in pending:
                out.extend(batch())
            self._done = tuple(out)
        return self._done

    def __getitem__(self, index: Any) -> Any:
        return self._all()[index]

    def __len__(self) -> int:
        return len(self._all())

    def __iter__(self) -> Iterator[Violation]:
        return iter(self._all())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _DeferredViolations):
            return self._all() == other._all()
        if isinstance(other, (tuple, list)):
            return self._all() == tuple(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._all())

    def __repr__(self) -> str:
        return repr(self._all())


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
    while node is not None and node.tag != _WRAP_TAG:
        tag = node.tag
        if isinstance(tag, str) and tag.startswith("{"):
            ns, _, local = tag[1:].partition("}")
            parts.append(tag if ns != NS_CLIENT else local)
        else:
            parts.append(str(tag))
        node = node.getparent()
    return "/" + "/".join(reversed(parts))


_XML_DECL = re.compile(r"^\s*<\?xml[^>]*\?>")
_WRAP_OPEN = f"<wrap xmlns='{NS_CLIENT}'>"
_WRAP_TAG = f"{{{NS_CLIENT}}}wrap"
_parsers = threading.local()
_LXML_HEAD = re.compile(r"^Element '[^']*'(?:, attribute '([^']*)')?: ")


def _parser() -> etree.XMLParser:
    """This thread's stanza parser (lxml parsers are reusable but not shareable across
    threads): no entities, no network, no DTD."""
    parser: etree.XMLParser | None = getattr(_parsers, "parser", None)
    if parser is None:
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False,
                                 huge_tree=False)
        _parsers.parser = parser
    return parser


def decode_utf8(data: bytes) -> tuple[str | None, str]:
    """``(text, "")`` for UTF-8 ``data`` (a byte-order mark is dropped), else ``(None, why)``
    where ``why`` names the line, the column and the offending byte.  Raises nothing."""
    try:
        return data.decode("utf-8-sig"), ""
    except UnicodeDecodeError as exc:
        before = data[:exc.start]
        line = before.count(b"\n") + 1
        column = exc.start - (before.rfind(b"\n") + 1) + 1
        return None, (f"line {line}, column {column}: byte 0x{data[exc.start]:02x} is not "
                      "valid UTF-8 (XMPP streams are UTF-8, RFC 6120 section 11.6)")


def split_stanzas(text: str) -> tuple[etree._Element, list[etree._Element]]:
    """Parse ``text`` (one or more stanzas as in a client stream, comments allowed).

    Line numbers of the returned elements are those of ``text``.  A leading
    XML declaration is blanked out (keeping its line breaks).  Raises
    :class:`lxml.etree.XMLSyntaxError` with line and column for malformed input
    and :class:`UnicodeEncodeError` for text that cannot be UTF-8 (lone
    surrogates).
    """
    if text.lstrip().startswith("<?xml"):
        decl = _XML_DECL.match(text)
        if decl:
            text = re.sub(r"[^\n]", " ", decl.group(0)) + text[decl.end():]
    # The wrapper sits on the first line, so line numbers do not move; columns on
    # the first line shift by its length, which error messages correct for.
    root = etree.fromstring((_WRAP_OPEN + text + "</wrap>").encode("utf-8"), _parser())
    return root, [c for c in root if isinstance(c.tag, str)]


#: The first start tag of a document: (1) its name or prefix, (2) the colon of a prefixed
#: name, (3) a default namespace declaration.  Possessive and atomic, so no input makes
#: it backtrack more than linearly (``<`` and 20,000 letters took 2 s with plain
#: quantifiers).
_FIRST_START_TAG = re.compile(
    rb"\A\s*+(?><\?xml[^>]*\?>\s*+)?(?><!--(?:[^-]|-[^-])*+-->\s*+)*+"
    rb"<([A-Za-z_][^\s/>:]*+)(:)?[^\s/>]*+(?>[^>]*?(\sxmlns\s*+=))?[^>]*+>",
)
_CLIENT_XMLNS = f" xmlns='{NS_CLIENT}'".encode()
#: Every namespace declaration's value (a prefix is an NCName: no colon, so the scan
#: stays linear; ``xmlns:`` repeated 8,000 times took 11 s with ``[^\s=]+``).
_XMLNS_BYTES = re.compile(rb"""xmlns(?::[^\s=:]++)?\s*+=\s*+["']([^"']*+)""")


def _syntax_violation(text: str, source: str, exc: etree.XMLSyntaxError) -> Violation:
    """A parse error, in terms of the user's input only (never of the wrapper)."""
    line, column = (exc.position if exc.position else (None, None))
    if line == 1 and column is not None:
        column = max(1, column - len(_WRAP_OPEN))
    msg = re.sub(r",? line \d+, column \d+$", "", str(exc.msg)).strip()
    unclosed = re.match(r"Opening and ending tag mismatch: (\S+) line (\d+) and wrap$", msg)
    if unclosed or "wrap" in msg:
        lines = text.split("\n")
        line, column = len(lines), len(lines[-1]) + 1  # the end of the input
        msg = (f"the input ends before element '{unclosed.group(1)}' (opened on line "
               f"{unclosed.group(2)}) is closed" if unclosed
               else "the input ends inside an unclosed element or closes one it never opened")
    elif msg.startswith("Extra content at the end of the document"):
        msg = "an end tag closes an element that was never opened"
    return Violation(source, line, column, "", f"not well-formed XML: {msg}")


#: A value longer than this is shortened in messages (a payload can be 60,000 characters).
_LONG_VALUE = 48
#: A pattern longer than this is named by its type in messages rather than printed.
_LONG_PATTERN = 40


def _shorten_values(rule: str) -> str:
    def cut(m: re.Match[str]) -> str:
        value = m.group(2)
        if len(value) <= _LONG_VALUE:
            return m.group(0)
        return f"{m.group(1)}'{value[:24]}...{value[-8:]}' ({len(value)} characters)"

    return _QUOTED_VALUE.sub(cut, rule)


_QUOTED_VALUE = re.compile(r"(The value |attribute \S+=)'([^']*)'")
_THE_PATTERN = re.compile(r"(the pattern )'(.*)'(?=\.$)")
_ANY_PATTERN = re.compile(r"(any pattern )of \['(.*)'\]$")


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
        self._patterns = _named_patterns(own)
        self._own_namespaces = frozenset(ns for ns, _ in self._imports)
        #: The namespace declarations that let a text skip the per-element namespace scan
        #: (``None``: none does, the stanza schema itself being missing).
        self._known_declarations: frozenset[bytes] | None = (
            None if NS_CLIENT in self.missing
            else frozenset(ns.encode() for ns in self.namespaces) | {b""})
        #: The report of a valid stanza, by source (reports are immutable).
        self._valid_reports: dict[str, ValidationReport] = {}
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
        """The elements to validate: the stanza itself, or (incomplete set) our elements.

        Without the stanza schemas, the outermost elements of our namespaces, in
        document order: one walk that does not enter a root it found (linear in the
        number of elements).
        """
        if self.complete:
            return [stanza]
        own = self._own_namespaces
        roots: list[etree._Element] = []
        stack = [stanza]
        while stack:
            el = stack.pop()
            if _ns_of(el.tag) in own:
                roots.append(el)
                continue
            stack.extend(reversed([c for c in el if isinstance(c.tag, str)]))
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

    def _validate(self, stanzas: Sequence[etree._Element], source: str, engine: Engine,
                  known_only: bool = False) -> tuple[list[Violation], set[str]]:
        """The violations, and the namespaces the stanzas use (of those that matter).

        ``known_only``: the source text declares no namespace without a loaded schema
        (see :meth:`_validate_utf8`), so the per-element namespace scan is skipped.
        """
        out, used = self._namespace_violations(stanzas, source, known_only)
        for stanza in stanzas:
            for root in self._roots(stanza):
                if engine == "lxml":
                    out.extend(self._check_lxml(root, source))
                else:
                    out.extend(self._check_xmlschema(root, source))
        return out, used

    def _namespace_violations(self, stanzas: Sequence[etree._Element], source: str,
                              known_only: bool) -> tuple[list[Violation], set[str]]:
        """Elements of namespaces without a loaded schema, and the namespaces used.

        The namespaces declared in the text are a superset of those its elements use
        (every namespace but the implicit ``jabber:client`` is declared); when all of
        them are loaded (``known_only``), the per-element scan is skipped.
        """
        out: list[Violation] = []
        used: set[str] = set()
        if known_only:
            return out, used
        for stanza in stanzas:
            present = {_ns_of(el.tag) for el in stanza.iter(etree.Element)}
            used |= present
            if present - self.namespaces - self.missing - {""}:  # rare: locate them
                out.extend(self._unknown_namespaces(stanza, source, 0))
        return out, used

    def _validate_deferred(self, stanzas: Sequence[etree._Element], source: str,
                           known_only: bool) -> tuple[Sequence[Violation], bool, set[str]]:
        """The lxml engine, one validation per stanza: the violations (formatted from the
        error log when first read), the verdict, and the namespaces that matter."""
        ready, used = self._namespace_violations(stanzas, source, known_only)
        schema = self._lxml_schema()
        pending: list[Callable[[], Iterable[Violation]]] = []
        for stanza in stanzas:
            for root in self._roots(stanza):
                if not schema.validate(root):
                    pending.append(partial(self._lxml_violations, root, schema.error_log,
                                           source))
        return _DeferredViolations(ready, pending), not ready and not pending, used

    def _check_lxml(self, root: etree._Element, source: str) -> Iterator[Violation]:
        schema = self._lxml_schema()
        if schema.validate(root):
            return  # the common case: valid, nothing to report
        yield from self._lxml_violations(root, schema.error_log, source)

    def _lxml_violations(self, root: etree._Element, log: Any,
                         source: str) -> Iterator[Violation]:
        """The violations in libxml2's error ``log`` of one validation of ``root``.

        libxml2's paths start at ``root`` (lxml validates it as a document root),
        so they are resolved below it; the element path runs from the stanza.
        """
        seen: set[tuple[int | None, str, str]] = set()
        children: Children = {}
        for entry in log:
            message = entry.message
            if entry.level_name == "WARNING" or "No precomputed value" in message:
                continue  # libxml2's note after a failed facet, not a rule of its own
            head = _LXML_HEAD.match(message)
            rule = message[head.end():] if head else message
            path = _lxml_path(root, entry.path, children)
            if head and head.group(1):
                path += f"/@{head.group(1)}"
            if "'" in rule:
                rule = _shorten_values(self._name_patterns(rule))
            key = (entry.line, path, rule)
            if key not in seen:
                seen.add(key)
                yield Violation(source, entry.line, None, path, rule)
        if not seen:
            yield Violation(source, root.sourceline if isinstance(root.sourceline, int)
                            else None, None, _element_path(root),
                            "not valid (libxml2 gave no message)")

    def _name_patterns(self, rule: str) -> str:
        """Replace a long pattern in a message by the name of the type that declares it."""
        def name(m: re.Match[str]) -> str:
            pattern = m.group(2)
            if len(pattern) <= _LONG_PATTERN:
                return m.group(0)
            type_name = self._patterns.get(pattern)
            return (f"{m.group(1)}of type '{type_name}'" if type_name
                    else f"{m.group(1)}'{pattern[:_LONG_PATTERN]}...'")

        rule = _THE_PATTERN.sub(name, rule)
        return _ANY_PATTERN.sub(
            lambda m: name(m).replace("any pattern of", "the pattern of"), rule)

    def _check_xmlschema(self, root: etree._Element, source: str) -> Iterator[Violation]:
        schema = self._xmlschema_schema()
        seen: set[tuple[int | None, str, str]] = set()
        for err in schema.iter_errors(root):
            elem = err.elem
            line = elem.sourceline if isinstance(elem, etree._Element) else None
            path = (_element_path(elem) if isinstance(elem, etree._Element)
                    else str(err.path or ""))
            rule = _shorten_values(self._name_patterns(str(err.reason or err.message)))
            if (line, path, rule) not in seen:
                seen.add((line, path, rule))
                yield Violation(source, line if isinstance(line, int) else None, None, path,
                                rule)

    def validate_text(self, text: str, source: str = "-",
                      engine: Engine = "lxml") -> ValidationReport:
        """Parse and validate a document of stanzas: one parse, one validation per stanza.

        Malformed XML gives one violation with the parser's line, column and
        message, and text that cannot be UTF-8 (lone surrogates, e.g. from
        ``surrogateescape``) one violation saying so: this method never raises
        for any ``str``.
        """
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError as exc:
            before = text[:exc.start]
            line = before.count("\n") + 1
            column = exc.start - (before.rfind("\n") + 1) + 1
            return ValidationReport(source, 0, (Violation(
                source, line, column, "",
                "not UTF-8 text: the input holds a character that has no UTF-8 encoding "
                f"(U+{ord(text[exc.start]):04X}, an undecodable byte)"),), False)
        return self._validate_utf8(data, text, source, engine)

    def validate_bytes(self, data: bytes, source: str = "-",
                       engine: Engine = "lxml") -> ValidationReport:
        """:meth:`validate_text` for raw bytes (a file, standard input): bytes that are not
        UTF-8 give one violation naming the line, column and byte.  Never raises."""
        if data.isascii():  # the common case: no decoding needed, the bytes are parsed as is
            return self._validate_utf8(data, None, source, engine)
        text, why = decode_utf8(data)
        if text is None:
            return ValidationReport(source, 0, (Violation(source, None, None, "",
                                                          f"not UTF-8: {why}"),), False)
        if data.startswith(codecs.BOM_UTF8):
            data = data[len(codecs.BOM_UTF8):]  # now data == text.encode("utf-8")
        return self._validate_utf8(data, text, source, engine)

    def _validate_utf8(self, data: bytes, text: str | None, source: str,
                       engine: Engine) -> ValidationReport:
        """Validate the UTF-8 document ``data`` (``text``: the same document decoded, or
        ``None`` to decode it only if needed).  Raises nothing.

        A document of one stanza is parsed as it is, ``jabber:client`` being its
        default namespace as in a client stream: the declaration is added to the
        first start tag (unless it declares a default namespace itself), on its line,
        so no line number moves, and the stanza is the document's root, which libxml2
        validates without building a fake document.  Anything else (several stanzas,
        malformed XML) goes to :func:`split_stanzas` and its diagnostics.

        The namespaces the text declares are a superset of those its elements use
        (every one but the implicit ``jabber:client`` is declared): when all of them
        have a loaded schema, the per-element namespace scan is skipped.  A
        declaration-like string in character data only makes the scan run.
        """
        # The two scans of the bytes run back to back, before libxml2 takes the caches;
        # the common case is written inline (this runs once per stanza received).
        known = self._known_declarations
        known_only = known is not None and known.issuperset(_XMLNS_BYTES.findall(data))
        one: etree._Element | None = None
        m = _FIRST_START_TAG.match(data)
        if m is not None:
            doc = data
            if m.start(2) < 0 and m.start(3) < 0:  # (``b":" in`` raises and catches)
                doc = data[:m.end(1)] + _CLIENT_XMLNS + data[m.end(1):]
            try:
                one = etree.fromstring(doc, getattr(_parsers, "parser", None) or _parser())
            except etree.XMLSyntaxError:
                one = None
        if one is not None and known_only and engine == "lxml":
            # One stanza, every namespace known and loaded; messages are formatted only
            # if the report of an invalid stanza is read.
            schema = self._lxml or self._lxml_schema()
            if schema.validate(one):
                valid = self._valid_reports.get(source)
                if valid is None:
                    if len(self._valid_reports) >= 256:
                        self._valid_reports.clear()
                    valid = ValidationReport(source, 1, (), self.complete, True)
                    self._valid_reports[source] = valid
                return valid
            return _invalid_stanza_report(source, self.complete, _DeferredViolations((), (partial(
                self._lxml_violations, one, schema.error_log, source),)))
        if text is None:
            text = data.decode("utf-8")
        try:
            stanzas = [one] if one is not None else split_stanzas(text)[1]
        except etree.XMLSyntaxError as exc:
            return ValidationReport(source, 0, (_syntax_violation(text, source, exc),), False)
        if not stanzas:
            return ValidationReport(source, 0, (Violation(source, None, None, "",
                                                          "no stanza found"),), self.complete)
        if engine == "lxml":
            deferred, verdict, used = self._validate_deferred(stanzas, source, known_only)
            return ValidationReport(source, len(stanzas), deferred,
                                    self.complete and not used & self.missing, verdict)
        violations, used = self._validate(stanzas, source, engine, known_only)
        return ValidationReport(source, len(stanzas), tuple(violations),
                                self.complete and not used & self.missing)

    def iter_files(self, paths: Iterable[Path]) -> Iterator[Path]:
        """Expand folders into the ``*.xml`` files below them, sorted."""
        for p in paths:
            if p.is_dir():
                yield from sorted(q for q in p.rglob("*.xml") if q.is_file())
            else:
                yield p


_XPATHS: dict[str, etree.XPath] = {}
_ROOT_STEP = re.compile(r"/[^/\[]+(?:\[1\])?")
#: libxml2's path steps below the root (``xmlGetNodePath``): ``*`` for an element of a
#: namespace declared without prefix, ``prefix:name`` or ``name`` otherwise; ``[k]`` when
#: it has siblings it is counted among (every element sibling for ``*``, those of the same
#: name and prefix otherwise).
_PATH_STEPS = re.compile(r"(?:/(?:\*|[^/\[\]*:]+(?::[^/\[\]*:]+)?)(?:\[[1-9][0-9]*\])?)+")
_PATH_STEP = re.compile(r"/(?:(\*)|(?:([^/\[\]*:]+):)?([^/\[\]*:]+))(?:\[([0-9]+)\])?")

#: The element children of an element, by element, for the paths of one report.
Children = dict[etree._Element, list[etree._Element]]


def _lxml_path(root: etree._Element, libxml_path: str | None,
               children: Children | None = None) -> str:
    """Turn libxml2's XPath into our namespaced element path.

    lxml validates ``root`` as the root of a document of its own, so libxml2's
    path starts at ``root``; it is resolved below ``root`` in the parsed input,
    walking element children step by step (``children`` caches each element's
    element children across the entries of one log), and the element path runs
    from the stanza (never the internal wrapper).  A path it cannot resolve is
    returned as it is.
    """
    if not libxml_path:
        return _element_path(root)
    first = _ROOT_STEP.match(libxml_path)
    if first is None:
        return libxml_path
    rest = libxml_path[first.end():]
    if not rest:
        return _element_path(root)
    if not _PATH_STEPS.fullmatch(rest):
        return libxml_path
    if children is None:
        children = {}
    node = root
    for generic, prefix, name, index in _PATH_STEP.findall(rest):
        kids = children.get(node)
        if kids is None:
            kids = children[node] = [c for c in node if isinstance(c.tag, str)]
        if prefix:  # counted among the siblings of the same name and prefix
            kids = [c for c in kids
                    if c.prefix == prefix and str(c.tag).rpartition("}")[2] == name]
        elif not generic:  # a name in no namespace: counted among its namesakes
            kids = [c for c in kids if c.tag == name]
        k = int(index) - 1 if index else 0  # no index: the only one counted
        if k >= len(kids):
            return libxml_path
        node = kids[k]
    return _element_path(node)


_XS = "{http://www.w3.org/2001/XMLSchema}"


def _named_patterns(schemas: Iterable[Path]) -> dict[str, str]:
    """``pattern value -> type name`` for the named simple types of ``schemas`` (a pattern
    that two types share is named after the first)."""
    found: dict[str, str] = {}
    for path in schemas:
        for simple in etree.parse(str(path)).getroot().iter(f"{_XS}simpleType"):
            type_name = simple.get("name")
            if not type_name:
                continue
            for facet in simple.iter(f"{_XS}pattern"):
                value = facet.get("value")
                if value is not None:
                    found.setdefault(value, type_name)
    return found
