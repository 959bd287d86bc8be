"""The runner end to end: the reference passes every level, each broken adapter fails
exactly the checks it breaks (named by rule), and misbehaving adapters give a clear line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from otrv4_conformance.levels import LEVELS
from otrv4_conformance.report import Report
from otrv4_conformance.runner import main, run
from otrv4_conformance.vectorcheck import load_op_tests

from ._adapters import REFERENCE, ROOT, broken, misbehaving

VECTORS = ROOT / "examples" / "vectors"


def not_passed(report: Report) -> dict[str, tuple[str, str]]:
    return {r.name: (r.status, r.rule) for r in report.results if r.status != "passed"}


def vector_names(op: str, error: str) -> set[str]:
    return {f"{op} #{t['tcId']}" for t in load_op_tests(VECTORS, op)
            if t.get("expectedError") == error}


@pytest.fixture(scope="module")
def reference_report() -> Report:
    return run(REFERENCE, root=ROOT, timeout=60)


def test_reference_adapter_passes_every_level(reference_report: Report) -> None:
    assert reference_report.claimed == (1, 2, 3, 4)
    assert not_passed(reference_report) == {} or all(
        status == "skipped" for status, _ in not_passed(reference_report).values())
    assert reference_report.exit_code == 0
    for level in LEVELS:
        assert reference_report.level_passed(level.number)
    names = {r.name for r in reference_report.results}
    # every vector of every claimed operation ran, and every live session
    for level in LEVELS:
        for op in level.vector_ops:
            assert {f"{op} #{t['tcId']}" for t in load_op_tests(VECTORS, op)} <= names
        assert set(level.live) <= names
    assert "read valid/interactive-dake/02-auth-r.xml" in names
    assert "read invalid/interactive-dake/05-payload-bad-base64.xml" in names


def test_reference_report_text_and_json(reference_report: Report) -> None:
    text = reference_report.text()
    assert "Level 1 (primitives and encodings): PASS" in text
    assert text.rstrip().endswith("Result: PASS")
    data = json.loads(reference_report.json())
    assert data["passed"] is True and data["claimed"] == [1, 2, 3, 4]
    assert data["levels"]["3"]["failed"] == 0 and data["levels"]["3"]["passed"] is True


def test_no_dh_subgroup_check_fails_exactly_those_vectors() -> None:
    report = run(broken("no-dh-subgroup-check"), root=ROOT, timeout=60)
    expected = vector_names("dh3072.PublicValueValidation", "DHValueNotInSubgroupError")
    assert len(expected) >= 2
    assert not_passed(report) == {n: ("failed", "DHValueNotInSubgroupError") for n in expected}
    assert [n.number for n in LEVELS if not report.level_passed(n.number)] == [1]
    assert ("[DHValueNotInSubgroupError]: accepted the input; expected the error "
            "DHValueNotInSubgroupError") in report.text()
    assert report.exit_code == 1


def test_small_order_points_fails_exactly_those_vectors() -> None:
    report = run(broken("small-order-points"), root=ROOT, timeout=60, levels=[1])
    expected = vector_names("ed448-points.Ed448PointValidation", "SmallOrderPointError")
    assert len(expected) == 3
    assert not_passed(report) == {n: ("failed", "SmallOrderPointError") for n in expected}


def test_phi_order_fails_every_dake_with_the_rule_and_blocks_conversations() -> None:
    report = run(broken("phi-order"), root=ROOT, timeout=60, levels=[2, 3], quick=True)
    level2, level3 = LEVELS[1], LEVELS[2]
    dake, *conversations = level3.live
    assert not_passed(report) == {
        **{name: ("failed", "InvalidRingSignatureError") for name in (*level2.live, dake)},
        **{name: ("blocked", "DAKE") for name in conversations}}
    assert ("the reference rejected the adapter's Auth-R message (ignored: Auth-R message: "
            "the ring signature does not verify)") in report.text()


def test_a_hanging_adapter_is_reported_within_its_timeout() -> None:
    report = run(misbehaving("hang", "kdf.HashToScalar"), root=ROOT, timeout=1.0, levels=[1],
                 quick=True)
    failed = [(r.name, r.detail) for r in report.results if r.status == "failed"]
    first = failed[0][0]
    assert failed == [(first, "AdapterTimeout: no reply to 'kdf.HashToScalar' within 1 s; "
                              "adapter killed")] + [
        (name, f"not run: the adapter failed on {first}") for name, _ in failed[1:]]
    assert {name.partition(" ")[0] for name, _ in failed} == {"kdf.HashToScalar"}
    assert report.counts(1)["passed"] > 10  # the adapter was restarted for the rest
    assert any("adapter restarted" in n for n in report.notes)
    assert report.exit_code == 1


def test_a_crashing_adapter_is_reported_with_its_stderr() -> None:
    report = run(misbehaving("crash", "tlv.TlvEncoding"), root=ROOT, timeout=60, levels=[1],
                 quick=True)
    failed = [r for r in report.results if r.status == "failed"]
    assert failed and all(r.name.startswith("tlv.TlvEncoding") for r in failed)
    assert failed[0].detail == ("AdapterExited: adapter exit status 3 during "
                                "'tlv.TlvEncoding'; stderr: segmentation fault in "
                                "tlv.TlvEncoding (simulated)")


def test_garbage_is_reported_and_the_run_goes_on() -> None:
    report = run(misbehaving("garbage", "eddsa-ed448.EddsaVerify"), root=ROOT, timeout=60,
                 levels=[1], quick=True)
    failed = [r for r in report.results if r.status == "failed"]
    assert failed and all(r.name.startswith("eddsa-ed448.EddsaVerify") for r in failed)
    assert failed[0].detail == "GarbageReply: not JSON: '<<this is not JSON>>'"
    assert report.counts(1)["passed"] > 10


def test_no_hello_no_run() -> None:
    report = run(misbehaving("hang", "hello"), root=ROOT, timeout=0.5, start_timeout=0.5)
    assert [(r.name, r.status) for r in report.results] == [("hello", "failed")]
    assert "AdapterTimeout: no reply to 'hello' within 0.5 s" in report.results[0].detail
    assert report.exit_code == 1
    report = run("/nonexistent/adapter", root=ROOT)
    assert report.results[0].detail.startswith("FileNotFoundError")


def test_command_line_writes_the_json_report(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "report.json"
    code = main(["--adapter", REFERENCE, "--levels", "1", "--quick", "--root", str(ROOT),
                 "--json", str(out)])
    assert code == 0
    assert "Level 1 (primitives and encodings): PASS" in capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["claimed"] == [1] and data["passed"] is True
    assert main(["--adapter", broken("small-order-points"), "--levels", "1", "--quick",
                 "--root", str(ROOT)]) == 1
