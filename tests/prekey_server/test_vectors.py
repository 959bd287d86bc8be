"""Replay the prekey-server vector files from their JSON form, as another implementation would."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from otrv4.primitives.rng import ReplayError
from xepgen.vectors import dump_vectors, load_vectors
from xepgen.vectorsets.prekey_server import VECTOR_FILES, process


def _hexify(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, list):
        return [_hexify(v) for v in value]
    if isinstance(value, dict):
        return {k: _hexify(v) for k, v in value.items()}
    return value


@pytest.mark.parametrize("stem", sorted(VECTOR_FILES))
def test_vectors_replay(stem: str, tmp_path: Path) -> None:
    path = tmp_path / f"{stem}.json"
    path.write_text(dump_vectors(VECTOR_FILES[stem](), "0" * 40), encoding="utf-8")
    valid = invalid = 0
    for group, test in load_vectors(path):
        if test["result"] == "valid":
            outputs = process(group["type"], test["inputs"], test["randomDraws"])
            assert _hexify(outputs) == test["outputs"], test["comment"]
            valid += 1
        else:
            with pytest.raises(Exception) as caught:
                process(group["type"], test["inputs"], test["randomDraws"])
            assert type(caught.value).__name__ == test["expectedError"], test["comment"]
            invalid += 1
    assert valid >= 1 and invalid >= 1


@pytest.mark.parametrize("stem", sorted(VECTOR_FILES))
def test_vectors_are_deterministic(stem: str) -> None:
    assert dump_vectors(VECTOR_FILES[stem](), "t") == dump_vectors(VECTOR_FILES[stem](), "t")


def test_replay_needs_the_listed_draws() -> None:
    proofs = VECTOR_FILES["prekey-server-proofs"]()
    case = proofs.groups[0].tests[0]
    process("EcdhProofGeneration", case.inputs, case.random_draws)
    with pytest.raises(ReplayError, match="after the 0 listed"):
        process("EcdhProofGeneration", case.inputs, [])
    with pytest.raises(ReplayError, match="asked for 56 bytes"):
        process("EcdhProofGeneration", case.inputs, [b"\x00" * 57])
