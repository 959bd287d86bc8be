"""The validation API: both engines, exact rules, element paths, line numbers."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from otrv4_xmpp.validation import SchemaLocations, StanzaValidator

OTR_OK = ("<message to='juliet@capulet.lit' type='chat'>"
          "<otr xmlns='urn:xmpp:otr4:0' sender='0000abcd'>"
          "<payload receiver='00001234'>AAECAw==</payload></otr></message>")

ENGINES = ["lxml", "xmlschema"]


@pytest.mark.parametrize("engine", ENGINES)
def test_valid_stanza_passes(validator: StanzaValidator, engine: str) -> None:
    report = validator.validate_text(OTR_OK, "ok.xml", engine)  # type: ignore[arg-type]
    assert report.ok, report.violations
    assert report.stanzas == 1 and report.complete


OTR = "/message/{urn:xmpp:otr4:0}otr"
PAYLOAD = OTR + "/{urn:xmpp:otr4:0}payload"


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(("mutation", "path"), [
    (OTR_OK.replace("AAECAw==", "AAE!Aw=="), PAYLOAD),
    (OTR_OK.replace("0000abcd", "000000ff"), OTR),
    (OTR_OK.replace(" receiver='00001234'", ""), PAYLOAD),
    (OTR_OK.replace("<payload receiver='00001234'>AAECAw==</payload>", ""), OTR),
])
def test_schema_violations_name_the_element(validator: StanzaValidator, engine: str,
                                            mutation: str, path: str) -> None:
    report = validator.validate_text(mutation, "bad.xml", engine)  # type: ignore[arg-type]
    assert not report.ok
    assert any(v.path.startswith(path) for v in report.violations), report.violations
    assert all(v.source == "bad.xml" and v.line == 1 for v in report.violations)


def test_unknown_namespace_is_reported(validator: StanzaValidator) -> None:
    text = "<message to='a@b.c'><body>hi</body><x xmlns='urn:example:unchecked'/></message>"
    report = validator.validate_text(text, "lax.xml")
    assert [v.path for v in report.violations] == ["/message/{urn:example:unchecked}x"]
    assert "no schema is loaded" in report.violations[0].rule


def test_stanza_envelope_checked(validator: StanzaValidator) -> None:
    # the XSF stanza schema requires 'type' on an iq
    report = validator.validate_text("<iq id='x'/>", "iq.xml")
    assert not report.ok
    assert "type" in report.violations[0].rule


def test_malformed_xml_reports_line_and_column(validator: StanzaValidator) -> None:
    report = validator.validate_text("<message>\n  <body>x</bod>\n</message>", "m.xml")
    (v,) = report.violations
    assert (v.line, v.source) == (2, "m.xml")
    assert v.column is not None
    assert v.rule.startswith("not well-formed XML")


def test_line_numbers_follow_the_file(validator: StanzaValidator) -> None:
    text = ("<?xml version='1.0'?>\n<!-- two stanzas -->\n" + OTR_OK + "\n"
            + OTR_OK.replace("AAECAw==", "%%%%"))
    report = validator.validate_text(text, "two.xml")
    assert report.stanzas == 2
    assert {v.line for v in report.violations} == {4}


def test_without_xsf_only_own_elements_are_checked(own_validator: StanzaValidator) -> None:
    assert not own_validator.complete
    assert own_validator.validate_text(OTR_OK).ok
    # an envelope error goes unnoticed, an error in our element does not
    assert own_validator.validate_text("<iq id='x'/>").ok
    bad = own_validator.validate_text(OTR_OK.replace("AAECAw==", "A"))
    assert {v.path for v in bad.violations} == {
        "/message/{urn:xmpp:otr4:0}otr/{urn:xmpp:otr4:0}payload"}


def test_no_schemas_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        StanzaValidator(SchemaLocations(own=tmp_path))


def test_engines_agree_on_every_committed_example(validator: StanzaValidator,
                                                  project_root: Path) -> None:
    files = sorted((project_root / "examples" / "stanzas").rglob("*.xml"))
    assert files, "no committed examples"
    for f in files:
        text = f.read_text(encoding="utf-8")
        verdicts = {e: validator.validate_text(text, str(f), e).ok for e in ENGINES}  # type: ignore[arg-type]
        expected = "/valid/" in f.as_posix()
        assert verdicts == {"lxml": expected, "xmlschema": expected}, f


def test_known_namespace_without_its_schema_is_unchecked_not_wrong(xsf: object,
                                                                    project_root: Path) -> None:
    from otrv4_xepgen.paths import XsfFiles
    assert isinstance(xsf, XsfFiles)
    no_xep = StanzaValidator(SchemaLocations(own=project_root / "schemas", xsf=xsf.schemas))
    text = ("<message to='a@b.c'><body>x</body>"
            "<encryption xmlns='urn:xmpp:eme:0' namespace='urn:xmpp:otr4:0'/></message>")
    report = no_xep.validate_text(text)
    assert report.ok and not report.complete
    assert "urn:xmpp:eme:0" in no_xep.missing
    full = StanzaValidator(xsf.schema_locations(project_root / "schemas"))
    assert full.validate_text(text).complete


def test_carbons_schema_is_fixed_at_load_time(validator: StanzaValidator) -> None:
    assert "urn:xmpp:carbons:2" in validator.namespaces
    text = ("<message to='a@b.c'><private xmlns='urn:xmpp:carbons:2'/></message>")
    assert validator.validate_text(text).ok
    bad = validator.validate_text("<message to='a@b.c'><private xmlns='urn:xmpp:carbons:2'>"
                                  "x</private></message>")
    assert not bad.ok


def test_sce_content_holds_several_elements_each_checked(validator: StanzaValidator) -> None:
    envelope = ("<envelope xmlns='urn:xmpp:sce:1'><content>"
                "<body xmlns='jabber:client'>hi</body>"
                "<active xmlns='http://jabber.org/protocol/chatstates'/>"
                "<request xmlns='urn:xmpp:receipts'/></content>"
                "<from jid='juliet@capulet.lit'/></envelope>")
    assert validator.validate_text(envelope).ok
    wrong = envelope.replace("<active ", "<sleepy ")
    assert not validator.validate_text(wrong).ok


def test_each_namespace_is_imported_once_with_fallbacks_last(
        validator: StanzaValidator) -> None:
    from otrv4_xmpp.validation import FALLBACK_SCHEMAS
    imported = re.findall(r"namespace='([^']*)'", validator.driver)
    assert len(imported) == len(set(imported))
    for ns in FALLBACK_SCHEMAS:
        assert ns in validator.namespaces
