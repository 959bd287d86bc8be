"""Issue 15: the validator's three breaks, its messages, and engine agreement.

* invalid UTF-8 on standard input gave a traceback, and ``validate_text`` raised
  for text that has no UTF-8 encoding although it promises never to raise;
* the base64 pattern meant more to libxml2 than to xmlschema (``AAAANA=``), so
  ``--engine both`` disagreed;
* without the XSF schemas, finding the elements to validate was quadratic in
  the number of sibling elements.

Messages speak of the user's input only: no internal wrapper element, no lxml
warning line, a long pattern named by its type, a long value shortened.
"""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lxml import etree

from otrv4_xmpp.validation import StanzaValidator, decode_utf8, split_stanzas

ENGINES = ["lxml", "xmlschema"]
ROOT = Path(__file__).resolve().parents[2]


def _payload_stanza(payload: str) -> str:
    return ("<message to='juliet@capulet.lit' type='chat'>"
            "<otr xmlns='urn:xmpp:otr4:0' sender='0000abcd'>"
            f"<payload receiver='00001234'>{payload}</payload></otr></message>")


def _xepgen(*args: str, stdin: bytes = b"") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "otrv4_xepgen", *args], input=stdin,
                          capture_output=True, cwd=ROOT, timeout=120, check=False)


# -- break 1: undecodable input -----------------------------------------------------------------


def test_invalid_utf8_on_stdin_is_reported_not_a_traceback() -> None:
    data = b"<message to='a@b.c'>\n<body>\xff\xfe</body></message>"
    result = _xepgen("validate", "-", stdin=data)
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 1
    assert "Traceback" not in out + err
    assert out.startswith("<stdin>: error: not UTF-8: line 2, column 7: byte 0xff")


def test_invalid_utf8_in_a_file_is_reported(tmp_path: Path) -> None:
    bad = tmp_path / "latin1.xml"
    bad.write_bytes("<message to='a@b.c'><body>caf\u00e9</body></message>".encode("latin-1"))
    result = _xepgen("validate", str(bad))
    assert result.returncode == 1
    assert result.stdout.decode().startswith(f"{bad}: error: not UTF-8: line 1, column 30")
    assert "Traceback" not in result.stderr.decode()


@pytest.mark.parametrize("engine", ENGINES)
def test_validate_text_never_raises_on_surrogates(validator: StanzaValidator,
                                                  engine: str) -> None:
    text = b"<message>\xff</message>".decode("utf-8", "surrogateescape")
    report = validator.validate_text(text, "s.xml", engine)  # type: ignore[arg-type]
    assert not report.ok and report.stanzas == 0
    (violation,) = report.violations
    assert (violation.line, violation.column) == (1, 10)
    assert violation.rule.startswith("not UTF-8 text")


def test_validate_bytes_and_decode_utf8(validator: StanzaValidator) -> None:
    assert decode_utf8(b"\xef\xbb\xbf<a/>") == ("<a/>", "")
    text, why = decode_utf8(b"ab\ncd\xc3(")
    assert text is None and why.startswith("line 2, column 3: byte 0xc3")
    report = validator.validate_bytes(b"<message>\n\x80</message>", "b.xml")
    assert [v.rule for v in report.violations] == [
        "not UTF-8: line 2, column 1: byte 0x80 is not valid UTF-8 "
        "(XMPP streams are UTF-8, RFC 6120 section 11.6)"]
    assert validator.validate_bytes(_payload_stanza("AAECAw==").encode()).ok


# -- break 2: base64 means the same to both engines ---------------------------------------------

_B64 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def _padding_variants() -> list[str]:
    """Every padding layout of 4 to 9 characters ({A, =}), every string of 4 to 6 characters
    over {A, N, =}, plus alphabet and length edges."""
    out = ["".join(p) for n in range(4, 10) for p in itertools.product("A=", repeat=n)]
    out += ["".join(p) for n in range(4, 7) for p in itertools.product("AN=", repeat=n)]
    out += ["AAAANA=", "AAAAN==", "AAAAAAAANA=", "A+/9", "AB==", "ABC=", "AB=C", "A===",
            "AAA!", "AAAA AAAA", "AAAA\nAAAA", "AAAA====", "=AAA", "AAAAAAAA", "AA-_"]
    return out


def test_base64_pattern_means_the_same_to_both_engines(validator: StanzaValidator) -> None:
    lxml_schema = validator._lxml_schema()
    xs_schema = validator._xmlschema_schema()
    disagreements = []
    for value in _padding_variants():
        root = etree.fromstring(_payload_stanza(value).replace(
            "<message ", "<message xmlns='jabber:client' ", 1))
        by_lxml = lxml_schema.validate(root)
        by_xmlschema = xs_schema.is_valid(root)
        expected = _B64.fullmatch(value) is not None and len(value) >= 4
        if not by_lxml == by_xmlschema == expected:
            disagreements.append((value, by_lxml, by_xmlschema, expected))
    assert disagreements == []


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("value", ["AAAANA=", "AAAAN==", "AAAAAAAANA="])
def test_the_reported_disagreements_are_rejected_by_both(validator: StanzaValidator,
                                                        engine: str, value: str) -> None:
    report = validator.validate_text(_payload_stanza(value), "p.xml", engine)  # type: ignore[arg-type]
    assert not report.ok


def _mutations(text: str) -> list[str]:
    """Schema-level mutations of one example: each attribute value broken or dropped, each
    text payload with a bad character and with a broken padding."""
    out = []
    for m in re.finditer(r" ([a-z]+)='([^']*)'", text):
        out.append(text[:m.start(2)] + m.group(2) + "!" + text[m.end(2):])
        out.append(text[:m.start()] + text[m.end():])
    for m in re.finditer(r">([A-Za-z0-9+/]{8,}={0,2})<", text):
        value = m.group(1)
        for bad in (value[:-1], value + "=", value[:-2] + "A=", "!" + value[1:]):
            out.append(text[:m.start(1)] + bad + text[m.end(1):])
    return out


def test_engines_agree_on_the_examples_and_their_mutations(validator: StanzaValidator) -> None:
    files = sorted((ROOT / "examples" / "stanzas").rglob("*.xml"))
    assert files
    disagreements = []
    checked = 0
    for f in files:
        text = f.read_text(encoding="utf-8")
        for variant in [text, *_mutations(text)][:40]:
            verdicts = {e: validator.validate_text(variant, f.name, e).ok  # type: ignore[arg-type]
                        for e in ENGINES}
            checked += 1
            if verdicts["lxml"] != verdicts["xmlschema"]:
                disagreements.append((f.name, variant[:200]))
    assert checked > 3 * len(files)
    assert disagreements == []


# -- break 3: linear without the XSF schemas ----------------------------------------------------


def test_roots_without_xsf_schemas_are_linear(own_validator: StanzaValidator) -> None:
    assert not own_validator.complete

    def seconds(n: int) -> float:
        otr = "<otr xmlns='urn:xmpp:otr4:0' sender='0000abcd'/>"
        text = f"<message to='a@b.c'>{otr * n}</message>"
        start = time.perf_counter()
        report = own_validator.validate_text(text, "many.xml")
        elapsed = time.perf_counter() - start
        assert report.stanzas == 1
        assert len(report.violations) == n  # every <otr/> lacks its payload: each checked
        return elapsed

    seconds(100)
    small, large = seconds(1000), seconds(8000)
    # 8x the elements: linear work takes about 8x; the quadratic walk took 64x (20 s at 8000).
    # A generous bound, so a busy machine does not fail it; the count above is the real check.
    assert large < max(30 * small, 2.0)


def test_roots_are_the_outermost_own_elements_in_document_order(
    own_validator: StanzaValidator,
) -> None:
    text = ("<message to='a@b.c'><body>x</body>"
            "<otr xmlns='urn:xmpp:otr4:0' sender='0000abcd'><payload receiver='0'>AAAA</payload>"
            "</otr><x xmlns='urn:example'><otr xmlns='urn:xmpp:otr4:0' sender='1'/></x>"
            "</message>")
    _, stanzas = split_stanzas(text)
    roots = own_validator._roots(stanzas[0])
    assert [r.get("sender") for r in roots] == ["0000abcd", "1"]


# -- messages speak of the user's input ---------------------------------------------------------


@pytest.mark.parametrize(("text", "position", "rule"), [
    ("<message to='a@b.c'>\n<body>x</body>", (2, 15),
     "not well-formed XML: the input ends before element 'message' (opened on line 1) is closed"),
    ("<message to='a@b.c'/></message>", (1, 32),
     "not well-formed XML: the input ends inside an unclosed element or closes one it never "
     "opened"),
])
def test_malformed_input_never_mentions_the_wrapper(validator: StanzaValidator, text: str,
                                                    position: tuple[int, int], rule: str) -> None:
    report = validator.validate_text(text, "m.xml")
    (violation,) = report.violations
    assert (violation.line, violation.column) == position
    assert violation.rule == rule
    assert "wrap" not in str(violation)


@pytest.mark.parametrize("engine", ENGINES)
def test_long_patterns_are_named_by_type_and_no_warning_line(validator: StanzaValidator,
                                                            engine: str) -> None:
    text = _payload_stanza("AAECAw==").replace("00001234", "0000ABCD")
    report = validator.validate_text(text, "t.xml", engine)  # type: ignore[arg-type]
    rules = [v.rule for v in report.violations]
    assert len(rules) == 1, rules
    assert "of type 'instanceTagOrZero'" in rules[0]
    assert "[1-9a-f]" not in rules[0]
    assert not any("precomputed" in r or "Warning" in r for r in rules)


@pytest.mark.parametrize("engine", ENGINES)
def test_long_values_are_shortened_and_reported_once(validator: StanzaValidator,
                                                    engine: str) -> None:
    text = _payload_stanza("A" * 400 + "%%%%")
    report = validator.validate_text(text, "t.xml", engine)  # type: ignore[arg-type]
    rules = [v.rule for v in report.violations]
    assert len(rules) == 1, rules
    assert "A" * 100 not in rules[0]
    assert "of type 'base64'" in rules[0]
