"""The adapter protocol's framing and the report's byte-level differences."""

from __future__ import annotations

import json

import pytest

from otrv4_conformance.protocol import (
    GarbageReply,
    Reply,
    WrongReplyId,
    decode_reply,
    encode_request,
)
from otrv4_conformance.report import CheckResult, Report, first_difference
from otrv4_conformance.vectorcheck import judge, quick_subset


def test_request_is_one_sorted_json_line() -> None:
    assert encode_request(3, "kdf.Otrv4Kdf", {"size": 8, "usageId": 4}) == (
        b'{"args":{"size":8,"usageId":4},"id":3,"op":"kdf.Otrv4Kdf"}\n')


def test_replies_of_each_kind() -> None:
    assert decode_reply('{"id":1,"result":{"a":"00"}}', 1) == Reply(1, result={"a": "00"})
    assert decode_reply('{"id":2,"error":"TruncatedError","message":"short"}', 2) == Reply(
        2, error="TruncatedError", message="short")
    assert decode_reply('{"id":3,"unsupported":true}', 3) == Reply(3, unsupported=True)


@pytest.mark.parametrize("line", [
    "not json", "[1, 2]", '{"id": 1}', '{"id": 1, "result": {}, "error": "X"}',
    '{"id": 1, "result": "00"}', '{"id": 1, "error": ""}', '{"id": 1, "unsupported": false}',
])
def test_garbage_is_refused(line: str) -> None:
    with pytest.raises(GarbageReply):
        decode_reply(line, 1)


def test_a_reply_to_another_request_is_refused() -> None:
    with pytest.raises(WrongReplyId, match="reply id 2, expected 1"):
        decode_reply('{"id":2,"result":{}}', 1)


def test_first_difference_names_the_byte() -> None:
    assert first_difference("00112233445566", "00112299445566") == (
        "first difference at byte 3 (expected 7 bytes, got 7): "
        "expected …00112233445566…, got …00112299445566…")
    assert first_difference("0011", "001122").startswith("first difference at byte 2 "
                                                         "(expected 2 bytes, got 3)")
    assert first_difference(["a"], ["b"]) == 'expected ["a"], got ["b"]'


def test_exit_code_needs_every_claimed_level() -> None:
    report = Report("x", "cmd", (1, 2))
    report.add([CheckResult(1, "a", "passed"), CheckResult(2, "b", "passed")])
    assert report.exit_code == 0
    report.add([CheckResult(2, "c", "unsupported")])
    assert report.exit_code == 1
    assert json.loads(report.json())["levels"]["2"] == {
        "blocked": 0, "claimed": True, "failed": 0, "passed": False, "skipped": 0,
        "unsupported": 1}
    assert Report("x", "cmd", ()).exit_code == 1  # claiming nothing is not a pass


def test_judge_compares_outputs_and_error_names() -> None:
    valid = {"tcId": 1, "result": "valid",
             "outputs": {"output": "00ff00", "x": "12345678901234567890"}}
    assert judge(valid, Reply(1, result={"output": "00FF00", "x": 12345678901234567890})) == (
        True, "")
    assert judge(valid, Reply(1, result={"output": "00fe00", "x": 1})) == (
        False, "output 'output': first difference at byte 1 (expected 3 bytes, got 3): "
               "expected …00ff00…, got …00fe00…")
    assert judge(valid, Reply(1, result={"x": 1})) == (False, "output 'output' missing")
    assert judge(valid, Reply(1, error="TruncatedError", message="short")) == (
        False, "rejected a valid input with TruncatedError (short)")
    invalid = {"tcId": 2, "result": "invalid", "outputs": {}, "expectedError": "X"}
    assert judge(invalid, Reply(2, error="X")) == (True, "")
    assert judge(invalid, Reply(2, error="Y")) == (False, "rejected with Y, expected X")
    assert judge(invalid, Reply(2, result={})) == (
        False, "accepted the input; expected the error X")


def test_quick_keeps_one_test_per_rule() -> None:
    tests = [{"tcId": i, "result": r, "expectedError": e} for i, (r, e) in enumerate([
        ("valid", None), ("valid", None), ("valid", None), ("invalid", "A"), ("invalid", "A"),
        ("invalid", "B")])]
    assert [t["tcId"] for t in quick_subset(tests)] == [0, 1, 3, 5]
