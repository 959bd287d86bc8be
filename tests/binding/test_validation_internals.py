"""The validator's fast-path internals agree with the plain constructions they replace."""

from __future__ import annotations

from dataclasses import asdict

from lxml import etree

from otrv4_xmpp.validation import (
    ValidationReport,
    Violation,
    _element_path,
    _invalid_stanza_report,
    _lxml_path,
)

V = Violation(source="s.xml", line=3, column=None, path="/message/{urn:xmpp:otr4:0}otr",
              rule="Missing child element(s).")


def test_hand_built_invalid_report_equals_the_constructor() -> None:
    fast = _invalid_stanza_report("s.xml", True, (V,))
    slow = ValidationReport("s.xml", 1, (V,), True, verdict=False)
    assert fast == slow and repr(fast) == repr(slow) and asdict(fast) == asdict(slow)
    assert fast.ok is False and slow.ok is False
    assert ValidationReport("s.xml", 1, (), True).ok is True


# Prefixed and default namespaces, comments and text between elements, siblings that
# libxml2 counts by name, by prefix and name, or all together (``*``).
DOC = b"""<message xmlns='jabber:client' xmlns:p='urn:p' to='a@b'>
  <!-- c --><body>x</body><body>y</body>
  <p:x><p:y/><p:y/><q xmlns='urn:q'><r/><r/><!-- c --><s/></q></p:x>
  <p:x/><plain xmlns=''><a/><a/><b/></plain><plain xmlns=''/>
  <otr xmlns='urn:xmpp:otr4:0'><payload/><payload/></otr>
</message>"""


def test_libxml2_paths_resolve_to_every_element() -> None:
    root = etree.fromstring(DOC)
    tree = root.getroottree()
    children: dict[etree._Element, list[etree._Element]] = {}
    elements = [e for e in root.iter() if isinstance(e.tag, str)]
    assert len(elements) == 19
    for elem in elements:
        libxml_path = tree.getpath(elem)  # libxml2's xmlGetNodePath, as its error log has it
        assert _lxml_path(root, libxml_path, children) == _element_path(elem), libxml_path


def test_unresolvable_paths_are_returned_as_given() -> None:
    root = etree.fromstring(DOC)
    assert _lxml_path(root, "/*/body[7]") == "/*/body[7]"
    assert _lxml_path(root, "/*/no such step") == "/*/no such step"
    assert _lxml_path(root, None) == "/message"
