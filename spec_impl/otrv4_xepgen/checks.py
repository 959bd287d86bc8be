"""Checks the XSF applies to a XEP, done here so a failure shows before submission.

* DTD validity against the XSF's ``xep.dtd`` (what ``make check`` in xsf/xeps
  runs with ``xmllint --valid``);
* the XEP-0001 conformance rules of the XSF's
  ``tools/validate-xep0001-conformance.sh``, reimplemented: ProtoXEP status
  and number ``xxxx`` for an inbox file, known status, type and approver,
  revisions in descending order, the Board never approves Standards Track,
  the ``xep.xsl`` stylesheet instruction, and the literal ``&LEGALNOTICE;``.
"""

from __future__ import annotations

import re
from pathlib import Path

from lxml import etree

__all__ = ["XepCheckError", "check_conformance", "check_dtd"]

STATUSES = ("ProtoXEP", "Experimental", "Proposed", "Draft", "Active", "Final", "Retracted",
            "Obsolete", "Deferred", "Rejected", "Deprecated")
TYPES = ("Historical", "Humorous", "Informational", "Organizational", "Standards Track")
APPROVERS = ("Board", "Council", "Editor")


class XepCheckError(Exception):
    """The XEP breaks a rule of the XSF; the message says which, and where."""


def check_dtd(xep_xml: str, dtd_dir: Path) -> None:
    """Validate against ``xep.dtd`` (entities from ``xep.ent``) in ``dtd_dir``.

    Raises :class:`XepCheckError` with the line and message of the first errors.
    """
    parser = etree.XMLParser(load_dtd=True, dtd_validation=True, no_network=True,
                             resolve_entities=True)
    base = (dtd_dir.resolve() / "rendered.xml").as_uri()
    try:
        etree.fromstring(xep_xml.encode("utf-8"), parser, base_url=base)
    except etree.XMLSyntaxError as exc:
        log = exc.error_log  # lxml-stubs lack _ErrorLog.__iter__
        errors = [f"line {e.line}: {e.message}" for e in log][:5] or [str(exc)]  # type: ignore[attr-defined]
        raise XepCheckError("the XEP is not valid against xep.dtd: " + "; ".join(errors)) \
            from exc


def _version_key(v: str) -> tuple[int, ...]:
    return tuple(int(p) if p.isdigit() else -1 for p in re.split(r"[.-]", v))


def check_conformance(xep_xml: str, filename: str) -> None:
    """Apply the XEP-0001 conformance rules; raises :class:`XepCheckError` on the first break."""
    if not re.search(r"<\?xml-stylesheet\s[^>]*href=['\"]xep\.xsl['\"]", xep_xml):
        raise XepCheckError("missing <?xml-stylesheet ... href='xep.xsl'?> instruction")
    if "&LEGALNOTICE;" not in xep_xml:
        raise XepCheckError("the legal notice must be the literal entity reference &LEGALNOTICE;")
    parser = etree.XMLParser(resolve_entities=False, load_dtd=False, no_network=True)
    doc = etree.fromstring(xep_xml.encode("utf-8"), parser)
    status = doc.findtext("header/status") or ""
    number = doc.findtext("header/number") or ""
    xtype = doc.findtext("header/type") or ""
    approver = doc.findtext("header/approver") or ""
    m = re.fullmatch(r"xep-(\d{4})\.xml", filename)
    if m:
        if number != m.group(1):
            raise XepCheckError(f"{filename}: <number> is {number!r}, expected {m.group(1)!r}")
    else:
        if filename.startswith("xep-") and filename[4:5].isdigit():
            raise XepCheckError(f"{filename}: a ProtoXEP's name must not look like xep-NNNN")
        if status != "ProtoXEP":
            raise XepCheckError(f"{filename}: an inbox document must have status ProtoXEP, "
                                f"not {status!r}")
        if number not in ("xxxx", "XXXX"):
            raise XepCheckError(f"{filename}: a ProtoXEP's <number> must be xxxx, not {number!r}")
    if status not in STATUSES:
        raise XepCheckError(f"unknown status {status!r}")
    if xtype not in TYPES:
        raise XepCheckError(f"unknown type {xtype!r}")
    if approver not in APPROVERS:
        raise XepCheckError(f"unknown approver {approver!r}")
    if approver == "Board" and xtype == "Standards Track":
        raise XepCheckError("the Board does not approve Standards Track documents")
    if approver == "Editor" and xtype != "Humorous":
        raise XepCheckError("the Editor approves only Humorous documents")
    versions = [v.text or "" for v in doc.iterfind("header/revision/version")]
    if not versions:
        raise XepCheckError("no <revision/> in the header")
    if [_version_key(v) for v in versions] != sorted(map(_version_key, versions), reverse=True):
        raise XepCheckError(f"revisions are not in descending order: {', '.join(versions)}")
