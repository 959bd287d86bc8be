"""Replaying the vector files through an adapter.

For every test of every operation of a level (:mod:`otrv4_conformance.levels`)
the runner sends the test's inputs and compares the reply with the recorded
outcome: the outputs for a ``valid`` test, the error class for an ``invalid``
one (``acceptable`` tests pass either way).  The vector files are read with
the standard library only, in the format of ``docs/vectors.rst``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .levels import Level
from .protocol import AdapterError, Call, Reply
from .report import CheckResult, first_difference

__all__ = ["VectorTest", "check_level_vectors", "judge", "load_op_tests", "quick_subset"]

VectorTest = tuple[str, dict[str, Any]]
"""``(operation, test)`` as read from a vector file."""


def load_op_tests(vectors: Path, op: str) -> list[dict[str, Any]]:
    """The tests of operation ``op`` (``<file>.<group type>``) in directory ``vectors``.
    Raises :class:`FileNotFoundError` when the file is missing, :class:`KeyError` when no
    group has that type."""
    stem, _, kind = op.partition(".")
    data = json.loads((vectors / f"{stem}.json").read_text(encoding="utf-8"))
    tests = [t for g in data["testGroups"] if g["type"] == kind for t in g["tests"]]
    if not tests:
        raise KeyError(f"no test group {kind!r} in {stem}.json")
    return tests


def quick_subset(tests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """For ``--quick``: the first two valid tests and the first test of each expected error,
    so that every rule a file exercises is still exercised once."""
    out, seen, valid = [], set(), 0
    for t in tests:
        if t["result"] == "valid":
            if valid < 2:
                out.append(t)
            valid += 1
        elif t.get("expectedError") not in seen:
            seen.add(t.get("expectedError"))
            out.append(t)
    return out


def _canonical(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        if value.isdigit() and len(value) > 15:  # a big integer written as a decimal string
            return int(value)
        return value.lower()
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return value


def _rule(test: dict[str, Any], kind: str) -> str:
    if test["result"] == "invalid":
        return str(test["expectedError"])
    flags = test.get("flags") or []
    return f"{kind} outputs" + (f" ({', '.join(flags)})" if flags else "")


def judge(test: dict[str, Any], reply: Reply) -> tuple[bool, str]:
    """Whether ``reply`` is the recorded outcome of ``test``, and if not, what differs."""
    if test["result"] == "invalid":
        if reply.error == test["expectedError"]:
            return True, ""
        if reply.error:
            return False, f"rejected with {reply.error}, expected {test['expectedError']}"
        return False, f"accepted the input; expected the error {test['expectedError']}"
    if test["result"] == "acceptable":
        return True, ""
    if reply.error:
        msg = f" ({reply.message})" if reply.message else ""
        return False, f"rejected a valid input with {reply.error}{msg}"
    assert reply.result is not None  # decode_reply guarantees one of the three
    for key, expected in test["outputs"].items():
        if key not in reply.result:
            return False, f"output {key!r} missing"
        want, got = _canonical(expected), _canonical(reply.result[key])
        if want != got:
            return False, f"output {key!r}: {first_difference(want, got)}"
    return True, ""


def check_level_vectors(level: Level, vectors: Path, call: Call, *, quick: bool = False
                        ) -> Iterator[CheckResult]:
    """Run every vector operation of ``level``; one result per test (one per operation
    when the adapter does not support it).  Once the adapter hangs, crashes or answers
    garbage on a test, the operation's other tests fail without being sent, so that a
    broken operation costs one deadline, not one per test."""
    for op in level.vector_ops:
        tests = load_op_tests(vectors, op)
        if quick:
            tests = quick_subset(tests)
        kind = op.partition(".")[2]
        died_on = ""
        for i, test in enumerate(tests):
            name = f"{op} #{test['tcId']}"
            if died_on:  # one hang or crash per operation is enough to report it
                yield CheckResult(level.number, name, "failed", _rule(test, kind),
                                  f"not run: the adapter failed on {died_on}")
                continue
            args = dict(test["inputs"])
            if test.get("randomDraws"):
                args["randomDraws"] = test["randomDraws"]
            try:
                reply = call(op, args)
            except AdapterError as e:
                died_on = name
                yield CheckResult(level.number, name, "failed", _rule(test, kind),
                                  f"{type(e).__name__}: {e}")
                continue
            if reply.unsupported:
                yield CheckResult(level.number, f"{op} ({len(tests) - i} tests)",
                                  "unsupported", kind)
                break
            ok, why = judge(test, reply)
            yield CheckResult(level.number, name, "passed" if ok else "failed",
                              _rule(test, kind), why)
