"""Corrections to third-party schemas the validator loads, each with its reason.

Third-party schemas are never copied into this project; where one needs a
fix, the fix is applied at run time to the caller's copy and the result kept
in a cache folder under a name derived from its content.  The ``*.xsd`` files
here are written by this binding for namespaces it uses (XEP-0297 forwarding,
XEP-0085 chat states, XEP-0184 receipts); the validator loads one only when the
XSF's own file for that namespace is not found (see
``otrv4_xmpp.validation.FALLBACK_SCHEMAS``).

:func:`xep0420_any_content` lets XEP-0420's ``<content/>`` hold several elements.

:func:`xep0280_compilable` fixes XEP-0280's schema, which does not compile as
published (``abstract`` on a simple type; an element declaration with a
``namespace`` attribute).  :func:`rfc6120_jabber_client` patches the XSF's
``jabber-client.xsd``: the XSF's file ends ``<error/>`` after
``<text/>``, while RFC 6120 §8.3.4 lets an error carry one application-specific
condition element after the text.  Both this binding and its prekey service
send such conditions.  The wildcard added lists the namespaces it admits: a
``##other`` wildcard would also match the stanza-error namespace of ``<text/>``
and break XML Schema's unique particle attribution rule (libxml2 refuses the
schema as "not determinist"), which is probably why the schema never had one.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..namespaces import DEFINED

__all__ = ["CarbonsSchemaNotRecognisedError", "ErrorModelNotFoundError",
           "SchemaNotRecognisedError", "app_condition", "rfc6120_jabber_client",
           "xep0280_compilable", "xep0420_any_content"]


def app_condition(namespaces: Iterable[str]) -> str:
    """The particle added after the optional ``<text/>`` of ``<error/>``: at most one
    element of one of ``namespaces`` (RFC 6120 §8.3.4), validated strictly."""
    listed = " ".join(sorted(set(namespaces)))
    return (f"<xs:any namespace='{listed}' minOccurs='0' maxOccurs='1' "
            "processContents='strict'/>")

_TEXT_REF = "<xs:element ref='err:text'\n                    minOccurs='0'/>"


class ErrorModelNotFoundError(ValueError):
    """The given jabber-client.xsd does not have the <error/> content model expected."""


def rfc6120_jabber_client(xsf_schemas: Path, cache: Path | None = None,
                          namespaces: Iterable[str] = tuple(DEFINED)) -> Path:
    """A copy of ``xsf_schemas/jabber-client.xsd`` whose ``<error/>`` accepts one
    application-specific condition of ``namespaces`` (by default those this
    specification defines), written once to ``cache`` (a temporary folder by
    default) under a name derived from its content; returns its path.

    Its imports keep their ``https://xmpp.org/schemas/`` locations, so the
    validator's URL mapping still finds ``stanzaerror.xsd`` and ``xml.xsd``.
    Raises :class:`ErrorModelNotFoundError` when the original's ``<error/>``
    model is not the one this patch expects (so a changed upstream file is noticed).
    """
    original = (xsf_schemas / "jabber-client.xsd").read_text(encoding="utf-8")
    if original.count(_TEXT_REF) != 1:
        raise ErrorModelNotFoundError("jabber-client.xsd: <error/> model not recognised")
    patched = original.replace(_TEXT_REF,
                               _TEXT_REF + "\n        " + app_condition(namespaces))
    return _cached(patched, "jabber-client-rfc6120", cache)


def _cached(text: str, stem: str, cache: Path | None) -> Path:
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    folder = cache or Path(tempfile.gettempdir()) / "otr4-schema-fixes"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{stem}-{digest}.xsd"
    if not target.is_file():
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(target)
    return target


class SchemaNotRecognisedError(ValueError):
    """A third-party schema is not the published text a fix expects (so it is not fixed)."""


class CarbonsSchemaNotRecognisedError(SchemaNotRecognisedError):
    """The given xep-0280.xsd is not the published text this fix expects."""


_XEP0420_CONTENT = '<xs:any minOccurs="0"/>'


def xep0420_any_content(xep0420: Path, cache: Path | None = None) -> Path:
    """XEP-0420's schema (the caller's copy) whose ``<content/>`` admits any number of elements.

    As published, ``<content/>`` holds ``<xs:any minOccurs="0"/>``: at most one
    element, although the XEP's own examples carry several (a body and a chat
    state, say).  The fix adds ``maxOccurs="unbounded"``; each element is still
    validated strictly against its own namespace's schema.  Raises
    :class:`SchemaNotRecognisedError` if the text differs from the published one.
    """
    text = xep0420.read_text(encoding="utf-8")
    if text.count(_XEP0420_CONTENT) != 1:
        raise SchemaNotRecognisedError(f"{xep0420}: the <content/> model not found")
    text = text.replace(_XEP0420_CONTENT, '<xs:any minOccurs="0" maxOccurs="unbounded"/>')
    return _cached(text, "xep-0420-any-content", cache)


_XEP0280_FIXES = (
    ("<xs:simpleType name='empty' abstract='true'>", "<xs:simpleType name='empty'>"),
    ("<xs:complexType name='forward-container' abstract='true'>",
     "<xs:complexType name='forward-container'>"),
)
_XEP0280_FORWARDED = re.compile(
    r"<xs:choice>\s*<xs:element name='forwarded'\s+namespace='urn:xmpp:forward:0'"
    r"\s+minOccurs='1'\s+maxOccurs='1'/>\s*</xs:choice>")


def xep0280_compilable(xep0280: Path, cache: Path | None = None) -> Path:
    """XEP-0280's schema (the caller's copy) with the changes that make it compile.

    The simple type ``empty`` and the complex type ``forward-container`` lose
    ``abstract='true'`` (not allowed on a simple type, and it would forbid the
    type's use), and the ``forwarded`` child, declared with a ``namespace``
    attribute XML Schema does not have, becomes an element of namespace
    ``urn:xmpp:forward:0`` (validated by that namespace's schema).  Raises
    :class:`CarbonsSchemaNotRecognisedError` if the text differs from the
    published one.
    """
    text = xep0280.read_text(encoding="utf-8")
    for old, new in _XEP0280_FIXES:
        if old not in text:
            raise CarbonsSchemaNotRecognisedError(f"{xep0280}: {old!r} not found")
        text = text.replace(old, new)
    text, n = _XEP0280_FORWARDED.subn(
        "<xs:sequence><xs:any namespace='urn:xmpp:forward:0' processContents='lax'/>"
        "</xs:sequence>", text)
    if n != 1:
        raise CarbonsSchemaNotRecognisedError(f"{xep0280}: the forwarded child not found")
    return _cached(text, "xep-0280-compilable", cache)
