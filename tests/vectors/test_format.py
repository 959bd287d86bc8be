"""The vector file format, its JSON Schema and the copyable loader."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import jsonschema
import pytest

from otrv4_xepgen.vectors import (
    TestCase,
    TestGroup,
    VectorFile,
    dump_vectors,
    load_vectors,
    source_tree_id,
)

SCHEMA = json.loads((Path(__file__).parents[2] / "schemas" / "vectors.schema.json").read_text())


def _file() -> VectorFile:
    return VectorFile(
        "demo", [TestGroup("demo", [
            TestCase("ok", "valid", inputs={"x": b"\x01\x02", "n": 2**64}, outputs={"y": 3},
                     random_draws=[b"\xff"], flags=["F"]),
            TestCase("bad", "invalid", inputs={"x": b""}, expected_error="DecodeError"),
        ])], header=["h"], notes={"F": "a flag"})


def test_dump_is_canonical_and_valid(tmp_path: Path) -> None:
    text = dump_vectors(_file(), "0" * 40)
    data = json.loads(text)
    jsonschema.validate(data, SCHEMA)
    assert data["numberOfTests"] == 2
    t1, t2 = data["testGroups"][0]["tests"]
    assert (t1["tcId"], t1["inputs"], t1["randomDraws"]) == (
        1, {"x": "0102", "n": str(2**64)}, ["ff"])
    assert (t2["tcId"], t2["result"], t2["expectedError"]) == (2, "invalid", "DecodeError")
    path = tmp_path / "v.json"
    path.write_text(text)
    assert [t["comment"] for _, t in load_vectors(path)] == ["ok", "bad"]
    assert dump_vectors(_file(), "0" * 40) == text


def test_rules_of_the_format() -> None:
    with pytest.raises(ValueError):
        TestCase("x", "invalid")
    with pytest.raises(ValueError):
        TestCase("x", "valid", expected_error="E")
    vf = _file()
    vf.notes = {}
    with pytest.raises(ValueError, match="flags without a note"):
        dump_vectors(vf, "0" * 40)
    bad = json.loads(dump_vectors(_file(), "0" * 40))
    bad["testGroups"][0]["tests"][1]["expectedError"] = None
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, SCHEMA)


def test_source_tree_is_gits_tree_id(project_root: Path, tmp_path: Path) -> None:
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    repo = tmp_path / "repo"
    (repo / "spec_impl" / "pkg").mkdir(parents=True)
    (repo / "spec_impl" / "pkg" / "a.py").write_text("x = 1\n")
    (repo / "spec_impl" / "b.txt").write_text("b\n")
    tool = repo / "spec_impl" / "tool.sh"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    subprocess.run([git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([git, "add", "."], cwd=repo, check=True)
    tree = subprocess.run([git, "write-tree"], cwd=repo, check=True, capture_output=True,
                          text=True).stdout.strip()
    expected = subprocess.run([git, "rev-parse", f"{tree}:spec_impl"], cwd=repo, check=True,
                              capture_output=True, text=True).stdout.strip()
    assert source_tree_id(repo) == expected
    shutil.rmtree(repo / ".git")
    assert source_tree_id(repo) == expected  # without git, by walking the folder
