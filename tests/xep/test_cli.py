"""The command-line tool, end to end, in a scratch copy of the project."""

from __future__ import annotations

from pathlib import Path

from .conftest import Project

BAD_SCENARIO = '''
from lxml import etree
from otrv4_xepgen.scenarios import Step

def broken(ctx):
    msg = etree.Element("{jabber:client}message", {"to": "juliet@capulet.lit"})
    otr = etree.SubElement(msg, "{urn:xmpp:otr4:0}otr", {"sender": "0000abcd"})
    etree.SubElement(otr, "{urn:xmpp:otr4:0}payload", {"receiver": "00001234"}).text = "not base64!"
    return [Step("bad-payload", "A broken example", msg, "test", "test", lambda e: None)]

SCENARIOS = {"zz-broken": broken}
'''


def test_build_twice_is_byte_identical(project_copy: Project) -> None:
    first = project_copy.run("build", "--out", "out1", "--quiet")
    assert first.returncode == 0, first.stderr
    second = project_copy.run("build", "--out", "out2", "--quiet")
    assert second.returncode == 0, second.stderr
    for name in ("otrv4-over-xmpp.xml", "otrv4-over-xmpp.html"):
        a = (project_copy.root / "out1" / name).read_bytes()
        b = (project_copy.root / "out2" / name).read_bytes()
        assert a == b and len(a) > 1000
    assert "Traceback" not in first.stderr + second.stderr


def test_check_passes_then_fails_naming_an_edited_example(project_copy: Project) -> None:
    assert project_copy.run("build", "--quiet").returncode == 0
    ok = project_copy.run("check")
    assert ok.returncode == 0, ok.stderr
    example = sorted((project_copy.root / "examples/stanzas/valid").rglob("*.xml"))[0]
    text = example.read_text()
    example.write_text(text.replace("'>", "' >", 1))  # a hand edit of one character
    assert example.read_text() != text
    stale = project_copy.run("check")
    assert stale.returncode == 1
    rel = example.relative_to(project_copy.root).as_posix()
    assert f"stale: {rel}: differs" in stale.stderr


def test_check_reports_extra_generated_files(project_copy: Project) -> None:
    assert project_copy.run("build", "--quiet").returncode == 0
    extra = project_copy.root / "examples/stanzas/valid/old.xml"
    extra.write_text("<message/>")
    result = project_copy.run("check")
    assert result.returncode == 1
    assert "examples/stanzas/valid/old.xml: no longer produced" in result.stderr


def test_invalid_example_fails_the_build_with_name_and_rule(project_copy: Project) -> None:
    (project_copy.root / "spec_impl/otrv4_xepgen/scenarios/zz_broken.py").write_text(BAD_SCENARIO)
    result = project_copy.run("build", "--out", "out")
    assert result.returncode == 1
    assert "zz-broken/bad-payload" in result.stderr
    assert "{urn:xmpp:otr4:0}payload" in result.stderr
    assert "pattern" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project_copy.root / "out").exists()


def test_validate_valid_files_and_folders(project_copy: Project) -> None:
    result = project_copy.run("validate", "examples/stanzas/valid", "--engine", "both")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_validate_invalid_examples_fail(project_copy: Project) -> None:
    result = project_copy.run("validate", "examples/stanzas/invalid")
    assert result.returncode == 1
    assert "/iq/{http://jabber.org/protocol/disco#info}query" in result.stdout


def test_validate_malformed_file(project_copy: Project, tmp_path: Path) -> None:
    bad = tmp_path / "bad.xml"
    bad.write_text("<message to='a@b.c'>\n  <body>unclosed\n</message>\n")
    result = project_copy.run("validate", str(bad))
    assert result.returncode == 1
    assert result.stdout.startswith(f"{bad}:3:")
    assert "not well-formed XML" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_validate_schema_invalid_stanza_from_stdin(project_copy: Project) -> None:
    stanza = ("<message to='juliet@capulet.lit'>\n"
              "  <otr xmlns='urn:xmpp:otr4:0' sender='0000abcd'>\n"
              "    <payload receiver='1'>AAAA</payload>\n"
              "  </otr>\n</message>\n")
    result = project_copy.run("validate", "-", stdin=stanza)
    assert result.returncode == 1
    assert result.stdout.startswith(
        "<stdin>:3: /message/{urn:xmpp:otr4:0}otr/{urn:xmpp:otr4:0}payload/@receiver:")
    assert "Traceback" not in result.stderr


def test_validate_missing_file_is_a_usage_error(project_copy: Project) -> None:
    result = project_copy.run("validate", "no/such/file.xml")
    assert result.returncode == 2
    assert "no such file" in result.stderr


def test_help_explains_every_command(project_copy: Project) -> None:
    for cmd in ("build", "validate", "check"):
        result = project_copy.run(cmd, "--help")
        assert result.returncode == 0
        assert "exit codes" in result.stdout
