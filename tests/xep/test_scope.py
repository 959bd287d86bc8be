"""The XEP is the binding; OTRv4's decisions and the implementation live in the companion.

Checks on the committed, rendered files: the XEP has no section about the reference
implementation or OTRv4's wire format, names no file of this repository, carries no
reStructuredText markup, links every decision it cites to the companion, and lists
in the Registrar section every feature and identity its examples advertise; the
companion holds every registered decision with its vector and anchor.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
from lxml import etree

from otrv4.decisions import all_decisions
from otrv4_xepgen.notes import NOTES_RST, notes_html, render_notes
from otrv4_xepgen.submission import SubmissionError, load_submission
from otrv4_xmpp.namespaces import DEFINED

ROOT = Path(__file__).resolve().parents[2]
XEP = ROOT / "xep" / "otrv4-over-xmpp.xml"
NOTES = ROOT / NOTES_RST


@pytest.fixture(scope="module")
def xep_text() -> str:
    return XEP.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def xep_doc(xep_text: str) -> etree._Element:
    return etree.fromstring(xep_text.encode(), etree.XMLParser(resolve_entities=False))


def _prose(doc: etree._Element) -> str:
    """The XEP's text outside examples, code blocks and comments."""
    clone = copy.deepcopy(doc)
    for el in list(clone.iter("example", "code", etree.Comment)):
        el.getparent().remove(el)  # type: ignore[union-attr]
    return " ".join(clone.itertext())


def test_no_section_about_the_implementation_or_otrv4_itself(xep_doc: etree._Element) -> None:
    topics = [s.get("topic", "") for s in xep_doc.iter("section1", "section2", "section3")]
    banned = ("reference implementation", "implementation notes", "wire format",
              "decisions on", "error classes")
    assert [t for t in topics if any(b in t.lower() for b in banned)] == []


def test_no_repository_paths_and_no_rest_markup(xep_doc: etree._Element) -> None:
    prose = _prose(xep_doc)
    paths = re.findall(r"\b(?:examples|spec_impl|schemas|tests|docs|xep|src)/[\w./*-]+|\w+\.py\b"
                       r"|otrv4-brief\.md", prose)
    assert paths == []
    assert "``" not in prose and not re.search(r":[a-z]+:`", prose)
    assert "reference implementation" not in prose


def test_decisions_are_linked_to_the_companion(xep_text: str, xep_doc: etree._Element) -> None:
    prose = _prose(xep_doc)
    cited = {int(n) for n in re.findall(r"decision (\d+)", prose)}
    assert cited, "the XEP cites decisions of the companion"
    links = {int(m) for m in re.findall(r"url='[^']*#decision-(\d+)'", xep_text)}
    assert cited <= links
    assert "<!ENTITY notes " in xep_text and "&notes;" in xep_text


def test_the_companion_holds_every_decision_with_its_vector() -> None:
    text = NOTES.read_text(encoding="utf-8")
    for d in all_decisions(("otrv4", "otrv4_prekey")):
        assert f".. _decision-{d.number}:" in text
        assert f"Decision {d.number}: {d.title}" in text
        assert f"examples/vectors/{d.vector}.json" in text
        assert (ROOT / "examples" / "vectors" / f"{d.vector}.json").is_file()
    html = notes_html(text)
    assert all(f'id="decision-{d.number}"' in html for d in all_decisions(("otrv4",)))


def test_the_companion_is_what_the_code_renders() -> None:
    assert NOTES.read_text(encoding="utf-8") == render_notes(ROOT / "xep")


def test_registrar_lists_every_feature_and_identity_the_examples_advertise(
        xep_doc: etree._Element) -> None:
    registrar = next(s for s in xep_doc.iter("section1") if s.get("anchor") == "registrar")
    listed = "".join(registrar.itertext())
    advertised: set[str] = set()
    identities: set[tuple[str, str]] = set()
    for example in xep_doc.iter("example"):
        stanza = etree.fromstring(f"<w xmlns='jabber:client'>{example.text}</w>".encode())
        for f in stanza.iter("{http://jabber.org/protocol/disco#info}feature"):
            var = f.get("var", "")
            if var.endswith("+notify"):  # XEP-0163's convention on a registered namespace
                assert f"'{var.removesuffix('+notify')}'" in listed
            elif var.startswith("urn:xmpp:otr4") or "otrv4" in var:
                advertised.add(var)
        for i in stanza.iter("{http://jabber.org/protocol/disco#info}identity"):
            if i.get("type") == "otr-prekey":
                identities.add((i.get("category", ""), i.get("type", "")))
    assert advertised and identities
    for var in advertised:
        assert f"<name>{var}</name>" in listed
    for category, kind in identities:
        assert f"<name>{category}</name>" in listed and f"<name>{kind}</name>" in listed
    for ns in DEFINED:
        assert f"'{ns}'" in listed
    assert "8.3.2" not in _prose(xep_doc) and "8.3.3.1" not in _prose(xep_doc)


def test_new_topics_are_in_the_xep(xep_doc: etree._Element) -> None:
    anchors = {s.get("anchor") for s in xep_doc.iter("section1", "section2")}
    assert {"start-invisible", "groupchat", "versioning", "security-threats",
            "registrar-features", "registrar-identities"} <= anchors
    prose = _prose(xep_doc)
    assert "MUST enable Message Carbons" in prose
    specs = [s.text for s in xep_doc.iter("spec")]
    assert "XEP-0186" in specs and "XEP-0280" in specs and "XEP-0313" in specs


def test_the_author_block_is_configuration(tmp_path: Path) -> None:
    shipped = load_submission(ROOT / "xep" / "submission.toml")
    assert shipped.warnings() and "placeholder" in shipped.warnings()[0]
    real = tmp_path / "submission.toml"
    real.write_text("[[author]]\nfirstname='Ada'\nsurname='Lovelace'\nemail='ada@example.com'\n"
                    "jid='ada@example.com'\n")
    assert load_submission(real).warnings() == []
    assert load_submission(real).notes_url == "otrv4-implementation-notes.html"
    real.write_text("[[author]]\nfirstname='Ada'\nsurname='Lovelace'\n")
    with pytest.raises(SubmissionError, match="email, jid"):
        load_submission(real)
    real.write_text("notes_url = 'x'\n")
    with pytest.raises(SubmissionError, match="at least one"):
        load_submission(real)
