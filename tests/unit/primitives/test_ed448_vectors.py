"""Replay the Ed448 vector files (ed448-points, eddsa-ed448, ecdh-ed448, pubkey-encoding).

Each committed file is read as JSON and every case is recomputed from its
inputs alone: valid cases must give the listed outputs, invalid ones must fail
with exactly the named error class.
"""

from __future__ import annotations

from typing import Any

import pytest

from otrv4.errors import OTRError, all_error_classes
from otrv4.primitives import ecdh as ecdh_module
from otrv4.primitives import ed448, eddsa, keytypes
from otrv4.primitives.ed448 import Point, base_mul, hash_and_prune, prune

from ...helpers.vectors import cases_of, vector_cases

MODULES = (ed448, eddsa, ecdh_module, keytypes)
STEMS = ("ecdh-ed448", "ed448-points", "eddsa-ed448", "pubkey-encoding")


def error_class(name: str) -> type[OTRError]:
    """The error class ``name`` among those of the Ed448 modules."""
    found = [c for c in all_error_classes() if c.__name__ == name and
             any(c.__module__ == m.__name__ for m in MODULES)]
    assert len(found) == 1, name
    return found[0]


def b(value: str) -> bytes:
    return bytes.fromhex(value)


def i(value: int | str) -> int:
    return int(value)


def le(value: str) -> int:
    return int.from_bytes(b(value), "little")


def run_case(group: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """Recompute a case's outputs (hex / int values as in the file) from its inputs."""
    if group == "Ed448BaseMultiplication":
        p = base_mul(i(inputs["k"]))
        return {"encoded": p.encode().hex(), "x": p.x, "y": p.y}
    if group == "Ed448Addition":
        a, c = Point.decode(b(inputs["a"])), Point.decode(b(inputs["b"]))
        return {"sum": (a + c).encode().hex(), "difference": (a - c).encode().hex()}
    if group == "Ed448PointValidation":
        p = Point.decode(b(inputs["encoded"]))
        assert p.encode() == b(inputs["encoded"])
        return {"x": p.x, "y": p.y}
    if group == "EddsaSign":
        secret, message, context = b(inputs["secret"]), b(inputs["message"]), b(inputs["context"])
        signature = eddsa.sign(secret, message, context)
        eddsa.verify(b(eddsa.public_key_from_secret(secret).encode().hex()), message, signature,
                     context)
        return {"public": eddsa.public_key_from_secret(secret).encode().hex(),
                "signature": signature.hex()}
    if group == "EddsaVerify":
        eddsa.verify(b(inputs["public"]), b(inputs["message"]), b(inputs["signature"]),
                     b(inputs["context"]))
        return {}
    if group == "GenerateEcdh":
        pair = ecdh_module.ECDHKeyPair.from_seed(b(inputs["r"]))
        return {"public": pair.public.encode().hex()}
    if group == "EcdhSharedSecret":
        return {"kEcdh": ecdh_module.ecdh(le(inputs["secret"]), b(inputs["public"])).hex()}
    if group == "TypedKeyEncoding":
        point = Point.decode(b(inputs["point"]))
        return {"encoded": keytypes.encode_typed_key(point, keytypes.KeyType(inputs["keyType"]))
                .hex()}
    if group == "TypedKeyDecoding":
        point = keytypes.decode_typed_key(b(inputs["encoded"]), keytypes.KeyType(inputs["keyType"]))
        return {"point": point.encode().hex()}
    raise AssertionError(f"unknown group type {group}")


def normalize(outputs: dict[str, Any]) -> dict[str, Any]:
    return {k: int(v) if k in ("x", "y") else v for k, v in outputs.items()}


@pytest.mark.parametrize("stem", STEMS)
def test_vector_file_replays(stem: str, ed448_backend: str) -> None:
    seen = {"valid": 0, "invalid": 0}
    for group, test in vector_cases(stem):
        seen[test["result"]] += 1
        if test["result"] == "valid":
            assert normalize(run_case(group["type"], test["inputs"])) == normalize(
                test["outputs"]), test["comment"]
        else:
            error = error_class(test["expectedError"])
            with pytest.raises(error) as info:
                run_case(group["type"], test["inputs"])
            assert type(info.value) is error, test["comment"]
    assert seen["valid"] > 0 and seen["invalid"] > 0


def test_random_draws_explain_the_intermediates() -> None:
    """The listed draws and intermediates are enough to redo each random case."""
    randomized = 0
    for test in cases_of("ed448-points", "Ed448BaseMultiplication"):
        if test["randomDraws"]:
            (draw,) = test["randomDraws"]
            pruned = hash_and_prune(b(draw))
            assert i(test["intermediates"]["prunedValue"]) == pruned
            assert i(test["inputs"]["k"]) == pruned % ed448.Q
            randomized += 1
    assert randomized > 0
    for test in cases_of("ecdh-ed448", "GenerateEcdh"):
        (draw,) = test["randomDraws"]
        assert test["inputs"]["r"] == draw
        assert b(test["intermediates"]["prunedH"]) == prune(b(test["intermediates"]["h"]))


def test_every_file_is_committed_and_names_its_cases() -> None:
    for stem in STEMS:
        cases = vector_cases(stem)
        assert cases and len({t["tcId"] for _, t in cases}) == len(cases)
        assert all(t["comment"] for _, t in cases)


def test_every_invalid_case_is_flagged() -> None:
    for stem in STEMS:
        for _group, test in vector_cases(stem):
            if test["result"] == "invalid":
                assert test["flags"] and test["expectedError"]
