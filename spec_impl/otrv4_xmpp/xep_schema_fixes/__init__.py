"""Corrections to third-party schemas the validator loads, each with its reason.

The ``*.xsd`` files here are small schemas this binding writes itself (XEP-0280
with the one change that makes it compile; XEP-0297, which has no published
file).  :func:`rfc6120_jabber_client` patches the XSF's ``jabber-client.xsd``
in memory instead of copying it: the XSF's file ends ``<error/>`` after
``<text/>``, while RFC 6120 §8.3.2 lets an error carry one application-specific
condition element after the text.  Both this binding and its prekey service
send such conditions.  The wildcard added lists the namespaces it admits: a
``##other`` wildcard would also match the stanza-error namespace of ``<text/>``
and break XML Schema's unique particle attribution rule (libxml2 refuses the
schema as "not determinist"), which is probably why the schema never had one.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Iterable
from pathlib import Path

from ..namespaces import DEFINED

__all__ = ["ErrorModelNotFoundError", "app_condition", "rfc6120_jabber_client"]


def app_condition(namespaces: Iterable[str]) -> str:
    """The particle added after the optional ``<text/>`` of ``<error/>``: at most one
    element of one of ``namespaces`` (RFC 6120 §8.3.2), validated strictly."""
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
    digest = hashlib.sha256(patched.encode("utf-8")).hexdigest()[:16]
    folder = cache or Path(tempfile.gettempdir()) / "otr4-schema-fixes"
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"jabber-client-rfc6120-{digest}.xsd"
    if not target.is_file():
        tmp = target.with_suffix(".tmp")
        tmp.write_text(patched, encoding="utf-8")
        tmp.replace(target)
    return target
