"""Deterministic text form of stanzas, in the style XEP-0143 asks of examples.

lxml's serializer is exact but not what a reader of a XEP expects.  This
writer produces one canonical, readable form: two-space indentation, single
quotes around attribute values, attributes in Canonical XML order
(namespace declaration first, then attributes sorted by namespace URI and
local name, unqualified ones first), and a default-namespace declaration
only where an element's namespace differs from its parent's.  Stanzas are in
``jabber:client`` without declaring it, as they appear inside a client stream.

:func:`to_text` and :func:`parse` are inverses on everything this binding
builds: ``to_text(parse(to_text(e))) == to_text(e)``.
"""

from __future__ import annotations

from lxml import etree

from .namespaces import NS_CLIENT, NS_XML

__all__ = ["MixedContentError", "StanzaCountError", "parse", "to_text"]

_WRAP_OPEN = f"<wrap xmlns='{NS_CLIENT}'>"
_WRAP_CLOSE = "</wrap>"
_MAX_TAG_LINE = 100


class StanzaCountError(ValueError):
    """The text holds no stanza or more than one where exactly one was expected."""


class MixedContentError(ValueError):
    """An element mixes text and child elements; stanzas of this binding never do."""


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _escape_attr(value: str) -> str:
    return (value.replace("&", "&amp;").replace("<", "&lt;").replace("'", "&apos;")
            .replace("\n", "&#10;").replace("\t", "&#9;").replace("\r", "&#13;"))


def _escape_text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr_name(qname: str) -> tuple[tuple[str, str], str]:
    ns, local = _split(qname)
    if ns == NS_XML:
        return (ns, local), f"xml:{local}"
    if ns:
        raise ValueError(f"namespaced attribute {qname!r} is not supported")
    return (ns, local), local


def _write(elem: etree._Element, parent_ns: str, indent: int, out: list[str]) -> None:
    ns, local = _split(str(elem.tag))
    pad = "  " * indent
    attrs: list[str] = []
    if ns != parent_ns:
        attrs.append(f"xmlns='{_escape_attr(ns)}'")
    named = sorted((*_attr_name(str(k)), str(v)) for k, v in elem.attrib.items())
    attrs.extend(f"{name}='{_escape_attr(value)}'" for _, name, value in named)
    head = f"{pad}<{local}"
    one_line = head + "".join(" " + a for a in attrs)
    if len(one_line) > _MAX_TAG_LINE and len(attrs) > 1:
        align = " " * (len(head) + 1)
        start = head + " " + attrs[0] + "".join("\n" + align + a for a in attrs[1:])
    else:
        start = one_line
    children = list(elem)
    text = elem.text or ""
    if children:
        if text.strip() or any((c.tail or "").strip() for c in children):
            raise MixedContentError(f"element {local!r} mixes text and elements")
        out.append(start + ">")
        for child in children:
            if not isinstance(child.tag, str):
                continue  # comments and processing instructions are not part of a stanza
            _write(child, ns, indent + 1, out)
        out.append(f"{pad}</{local}>")
    elif text:
        out.append(f"{start}>{_escape_text(text)}</{local}>")
    else:
        out.append(start + "/>")


def to_text(elem: etree._Element) -> str:
    """Serialize a stanza (or any element) in the canonical example form, without a newline.

    Raises :class:`MixedContentError` for mixed content and :class:`ValueError`
    for namespaced attributes other than ``xml:*``.
    """
    out: list[str] = []
    _write(elem, NS_CLIENT, 0, out)
    return "\n".join(out)


def parse(text: str | bytes) -> etree._Element:
    """Parse one stanza written as in a client stream (default namespace ``jabber:client``).

    Whitespace-only text between elements is dropped.  Raises
    :class:`lxml.etree.XMLSyntaxError` for malformed input and
    :class:`StanzaCountError` unless there is exactly one stanza.
    """
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    parser = etree.XMLParser(remove_blank_text=True, resolve_entities=False, no_network=True)
    wrap = etree.fromstring(_WRAP_OPEN + text + _WRAP_CLOSE, parser)
    stanzas = [c for c in wrap if isinstance(c.tag, str)]
    if len(stanzas) != 1:
        raise StanzaCountError(f"expected one stanza, found {len(stanzas)}")
    return stanzas[0]
