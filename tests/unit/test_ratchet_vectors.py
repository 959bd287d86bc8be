"""The key-schedule group of the committed ratchet vectors, every case and every output
(decision 2; otrv4.md §Deriving Double Ratchet Keys, §Extra Symmetric Key).

The scripted conversation of the same file is replayed by ``test_ratchet``.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from otrv4.ratchet import (
    derive_extra_keys,
    derive_ratchet_keys,
    extra_symmetric_key,
    message_keys,
    next_brace_key,
    next_chain_key,
)
from otrv4.tlv import decode_payload, encode_payload
from otrv4.tlv import extra_symmetric_key as tlv7

from ..helpers.vectors import cases_of, unhex

SCHEDULE = cases_of("ratchet", "KeySchedule")


def _outputs(inputs: dict[str, Any]) -> dict[str, Any]:
    """Recompute a key-schedule case's outputs (hex) from its inputs alone."""
    if "previousRootKey" in inputs:
        root, chain = derive_ratchet_keys(unhex(inputs["previousRootKey"]),
                                          unhex(inputs["mixedSecret"]))
        return {"rootKey": root.hex(), "chainKey": chain.hex()}
    if "chainKey" in inputs:
        ck = unhex(inputs["chainKey"])
        mk_enc, mk_mac = message_keys(ck)
        return {"nextChainKey": next_chain_key(ck).hex(), "mkEnc": mk_enc.hex(),
                "mkMac": mk_mac.hex(), "extraSymmetricKey": extra_symmetric_key(ck).hex()}
    if "braceKey" in inputs:
        return {"nextBraceKey": next_brace_key(unhex(inputs["braceKey"])).hex()}
    payload = decode_payload(encode_payload("", [tlv7(unhex(c)) for c in inputs["contexts"]]))
    derived = derive_extra_keys(unhex(inputs["extraSymmetricKey"]), payload)
    assert [context.hex() for context, _ in derived] == inputs["contexts"]
    return {"derivedKeys": [key.hex() for _, key in derived]}


@pytest.mark.parametrize("test", SCHEDULE, ids=[t["comment"][:40] for t in SCHEDULE])
def test_key_schedule_vector(test: dict[str, Any]) -> None:
    assert test["result"] == "valid"
    assert _outputs(test["inputs"]) == test["outputs"]


def test_key_schedule_group_has_every_function() -> None:
    assert len(SCHEDULE) == 4
    assert {key for t in SCHEDULE for key in t["outputs"]} == {
        "rootKey", "chainKey", "nextChainKey", "mkEnc", "mkMac", "extraSymmetricKey",
        "nextBraceKey", "derivedKeys"}


def test_extra_keys_chain_each_from_the_previous_one() -> None:
    """Decision 16, with hashlib: tc14 follows the spec's example (each key from the previous
    one), not its formula (each from the base key); the two agree only on the first key."""
    (test,) = [t for t in SCHEDULE if "contexts" in t["inputs"]]
    base = unhex(test["inputs"]["extraSymmetricKey"])

    def kdf(index: int, context: str, key: bytes) -> bytes:
        return hashlib.shake_256(b"OTRv4" + bytes([index]) + unhex(context) + key).digest(64)

    chained, previous = [], base
    for index, context in enumerate(test["inputs"]["contexts"]):
        previous = kdf(index, context, previous)
        chained.append(previous.hex())
    from_base = [kdf(i, c, base).hex() for i, c in enumerate(test["inputs"]["contexts"])]
    assert test["outputs"]["derivedKeys"] == chained
    assert chained[0] == from_base[0] and chained[1:] != from_base[1:]
