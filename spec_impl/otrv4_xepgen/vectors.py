"""Test-vector files: the format, the writer, and a loader short enough to copy.

The format follows Wycheproof's habits.  A file is one JSON object::

    {
      "algorithm": "OTRv4 Ed448 point encoding",
      "generator": {"name": "xepgen", "version": "0.1.0", "sourceTree": "<git tree id>"},
      "schema": "vectors.schema.json",
      "numberOfTests": 3,
      "header": ["free text, one line per item"],
      "notes": {"FLAG": "what the flag means"},
      "testGroups": [
        {"type": "...", "comment": "...", "tests": [
          {"tcId": 1, "comment": "...", "flags": ["FLAG"],
           "randomDraws": ["hex", ...],
           "inputs": {...}, "intermediates": {...}, "outputs": {...},
           "expectedError": null, "result": "valid"}
        ]}
      ]
    }

* byte strings are lowercase hex; integers are JSON numbers when they fit in
  53 bits and decimal strings otherwise;
* ``randomDraws`` lists, in order, every random byte string the test drew, so
  another implementation can replay the test without our generator;
* ``result`` is ``valid`` (outputs must match), ``invalid`` (processing must
  fail with ``expectedError``, the name of the error class) or ``acceptable``;
* ``generator.sourceTree`` is the git tree id of ``spec_impl/`` (the same id
  ``git rev-parse HEAD:spec_impl`` prints when the tree is committed), computed
  without git.  A commit id cannot be embedded: committing the file would make
  it stale.  ``git log --find-object=<id>`` finds the commits that hold the tree.

The JSON Schema is ``schemas/vectors.schema.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from . import __version__

__all__ = [
    "TestCase",
    "TestGroup",
    "VectorFile",
    "dump_vectors",
    "load_vectors",
    "source_tree_id",
]

Result = Literal["valid", "invalid", "acceptable"]
JSONValue = Any


def load_vectors(path: str | os.PathLike[str]) -> Iterable[tuple[dict[str, Any], dict[str, Any]]]:
    """Yield ``(group, test)`` for every test of a vector file.  Copy freely."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    for group in data["testGroups"]:
        for test in group["tests"]:
            yield group, test


@dataclass
class TestCase:
    """One test of a vector file (see the module docstring for the fields)."""

    __test__ = False  # not a pytest class

    comment: str
    result: Result
    inputs: Mapping[str, JSONValue] = field(default_factory=dict)
    outputs: Mapping[str, JSONValue] = field(default_factory=dict)
    intermediates: Mapping[str, JSONValue] = field(default_factory=dict)
    random_draws: Sequence[bytes] = ()
    flags: Sequence[str] = ()
    expected_error: str | None = None

    def __post_init__(self) -> None:
        if self.result == "invalid" and not self.expected_error:
            raise ValueError(f"invalid test {self.comment!r} needs an expected error class")
        if self.result == "valid" and self.expected_error:
            raise ValueError(f"valid test {self.comment!r} cannot expect an error")


@dataclass
class TestGroup:
    """Tests that share a type (and optionally common parameters)."""

    __test__ = False

    type: str
    tests: list[TestCase]
    comment: str = ""
    parameters: Mapping[str, JSONValue] = field(default_factory=dict)


@dataclass
class VectorFile:
    """A whole vector file before serialization."""

    algorithm: str
    groups: list[TestGroup]
    header: Sequence[str] = ()
    notes: Mapping[str, str] = field(default_factory=dict)


def _jsonable(value: JSONValue) -> JSONValue:
    if isinstance(value, bytes | bytearray):
        return bytes(value).hex()
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return value if -(2**53) < value < 2**53 else str(value)
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    raise TypeError(f"cannot put {type(value).__name__} into a vector file")


def _git_blob_id(data: bytes) -> bytes:
    return hashlib.sha1(b"blob %d\x00" % len(data) + data).digest()


def _tree_id(root: Path, files: list[Path]) -> bytes:
    """The git tree object id of ``files`` (paths relative to ``root``)."""
    entries: dict[str, tuple[bytes, bytes]] = {}
    subtrees: dict[str, list[Path]] = {}
    for rel in files:
        head, *rest = rel.parts
        if rest:
            subtrees.setdefault(head, []).append(Path(*rest))
        else:
            path = root / head
            mode = b"100755" if os.access(path, os.X_OK) else b"100644"
            entries[head] = (mode, _git_blob_id(path.read_bytes()))
    for name, sub in subtrees.items():
        entries[name] = (b"40000", _tree_id(root / name, sub))

    def sort_key(name: str) -> str:
        return name + "/" if entries[name][0] == b"40000" else name

    body = b"".join(
        entries[n][0] + b" " + n.encode() + b"\x00" + entries[n][1]
        for n in sorted(entries, key=sort_key)
    )
    return hashlib.sha1(b"tree %d\x00" % len(body) + body).digest()


def source_tree_id(project_root: Path) -> str:
    """The git tree id of ``spec_impl/`` as it is on disk (tracked and untracked files).

    Uses ``git ls-files`` for the file list when the project is a git work
    tree, so ignored files (caches, build metadata) do not count; otherwise
    every file except ``__pycache__`` and ``*.egg-info`` content.
    """
    src = project_root / "spec_impl"
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "."],
            cwd=src, capture_output=True, check=True,
        ).stdout
        names = [Path(n) for n in out.decode().split("\x00") if n and (src / n).is_file()]
    except (OSError, subprocess.CalledProcessError):
        names = [
            p.relative_to(src) for p in src.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts
            and not any(part.endswith(".egg-info") for part in p.parts)
        ]
    return _tree_id(src, sorted(names)).hex()


def dump_vectors(vf: VectorFile, source_tree: str) -> str:
    """Serialize ``vf`` as the canonical JSON text (sorted keys, 2-space indent, final newline)."""
    groups = []
    tc_id = 0
    for g in vf.groups:
        tests = []
        for t in g.tests:
            tc_id += 1
            tests.append({
                "tcId": tc_id,
                "comment": t.comment,
                "flags": list(t.flags),
                "randomDraws": [d.hex() for d in t.random_draws],
                "inputs": _jsonable(t.inputs),
                "intermediates": _jsonable(t.intermediates),
                "outputs": _jsonable(t.outputs),
                "expectedError": t.expected_error,
                "result": t.result,
            })
        group: dict[str, JSONValue] = {"type": g.type, "tests": tests}
        if g.comment:
            group["comment"] = g.comment
        if g.parameters:
            group["parameters"] = _jsonable(g.parameters)
        groups.append(group)
    used = {f for g in vf.groups for t in g.tests for f in t.flags}
    missing = used - set(vf.notes)
    if missing:
        raise ValueError(f"flags without a note in {vf.algorithm!r}: {sorted(missing)}")
    doc = {
        "algorithm": vf.algorithm,
        "generator": {"name": "xepgen", "version": __version__, "sourceTree": source_tree},
        "schema": "vectors.schema.json",
        "numberOfTests": tc_id,
        "header": list(vf.header),
        "notes": dict(vf.notes),
        "testGroups": groups,
    }
    return json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
