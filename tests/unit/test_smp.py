"""SMP over Ed448 (spec §Socialist Millionaires Protocol)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otrv4 import smp
from otrv4.primitives.ed448 import G, Q, prune
from otrv4.primitives.rng import DeterministicRng, ReplayRng
from otrv4.tlv import TLV, TLVType, padding, smp_abort

from ..conftest import COMPILED_ED448_BACKENDS, ed448_backend_in_use
from ..helpers.smp import QUESTION, SmpRun, run_smp
from ..helpers.vectors import cases_of, draws, raises_exactly, unhex, vector_cases

_IDS = cases_of("smp", "SmpSecret")[0]["inputs"]
INITIATOR_FP, RESPONDER_FP, SSID = (unhex(_IDS[k]) for k in (
    "initiatorFingerprint", "responderFingerprint", "ssid"))
MUTATED = cases_of("smp", "SmpMutatedMessage")


@pytest.fixture(scope="module", autouse=True, params=COMPILED_ED448_BACKENDS)
def ed448_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test of this module runs on libdecaf and on pycryptodome (the reference backend
    runs these protocols through the pinned vectors)."""
    with ed448_backend_in_use(request.param) as name:
        yield name


def secret(s: str) -> int:
    return smp.smp_secret(INITIATOR_FP, RESPONDER_FP, SSID, s)


def test_secret_derivation() -> None:
    data = b"OTRv4\x19\x01" + INITIATOR_FP + RESPONDER_FP + SSID + b"\x00\x00\x00\x03abc"
    expected = int.from_bytes(prune(hashlib.shake_256(data).digest(57)), "little")
    assert secret("abc") == expected
    assert secret("abc") != secret("abd")
    with pytest.raises(ValueError):
        smp.smp_secret(b"x", RESPONDER_FP, SSID, "abc")


@pytest.mark.parametrize(("a", "b", "outcome"), [
    ("purple", "purple", smp.SmpOutcome.SUCCEEDED),
    ("purple", "Purple", smp.SmpOutcome.FAILED),
])
def test_both_sides_agree(a: str, b: str, outcome: smp.SmpOutcome) -> None:
    ex = run_smp(secret(a), secret(b), DeterministicRng(f"smp-{a}-{b}"))
    assert ex.bob_outcome is outcome and ex.alice_outcome is outcome
    assert [len(v) for v in ex.values] == [4 + 18 + 6 * 57, 11 * 57, 8 * 57, 3 * 57]


@settings(max_examples=8, deadline=None)
@given(st.text(max_size=12), st.text(max_size=12))
def test_outcome_is_equality(a: str, b: str) -> None:
    ex = run_smp(secret(a), secret(b), DeterministicRng("smp-prop"))
    expected = smp.SmpOutcome.SUCCEEDED if a == b else smp.SmpOutcome.FAILED
    assert ex.bob_outcome is expected and ex.alice_outcome is expected


def test_state_machine() -> None:
    rng = DeterministicRng("smp-states")
    alice, m1 = smp.start(secret("s"), rng, b"q")
    assert alice.name is smp.SmpState.EXPECT2
    # message 1 in EXPECT1: question to the user, nothing sent yet
    step = smp.handle(smp.Expect1(), m1.to_tlv(), rng)
    assert step.outcome is smp.SmpOutcome.QUESTION and step.question == b"q" and not step.send
    bob3, m2 = smp.respond(step.state, secret("s"), rng)
    assert bob3.name is smp.SmpState.EXPECT3
    with pytest.raises(smp.SmpAnswerMissing):
        smp.respond(smp.Expect1(), secret("s"), rng)
    with pytest.raises(smp.SmpAnswerMissing):
        smp.respond(alice, secret("s"), rng)
    # a message out of turn resets and answers with an abort
    out_of_turn: list[tuple[smp.Expect1 | smp.Expect2 | smp.Expect3 | smp.Expect4, TLV]] = [
        (smp.Expect1(), m2.to_tlv()), (alice, m1.to_tlv()), (bob3, m2.to_tlv())]
    for state, tlv in out_of_turn:
        out = smp.handle(state, tlv, rng)
        assert out.state == smp.Expect1() and out.send == (smp_abort(),)
        assert out.outcome is smp.SmpOutcome.ABORTED
    # a received abort resets silently
    out = smp.handle(alice, smp_abort(), rng)
    assert out.state == smp.Expect1() and out.send == ()
    assert smp.abort().send == (smp_abort(),)
    with pytest.raises(smp.SmpUnexpectedMessage):
        smp.handle(alice, padding(1), rng)


def _equal_exchange() -> tuple[SmpRun, dict[str, Any]]:
    """The committed exchange with equal secrets, replayed from its draws."""
    (test,) = [t for t in cases_of("smp", "SmpExchange") if t["inputs"]["x"] == t["inputs"]["y"]]
    x = int.from_bytes(unhex(test["inputs"]["x"]), "little")
    return run_smp(x, x, ReplayRng(draws(test)), unhex(test["inputs"]["question"])), test


def test_every_mutation_rejected_with_its_class() -> None:
    ex, _ = _equal_exchange()
    assert len(MUTATED) == 6 + 11 + 8 + 3 + 7
    assert {t["inputs"]["receiver"] for t in MUTATED} == {"alice", "bob"}
    for test in MUTATED:
        step = test["inputs"]["step"]
        assert test["inputs"]["receiver"] == ("bob" if step % 2 else "alice")
        with raises_exactly(test["expectedError"], test["comment"]):
            ex.deliver(step, unhex(test["inputs"]["value"]))
    # the untouched message passes the same path
    assert ex.deliver(3, ex.values[2]).outcome is smp.SmpOutcome.SUCCEEDED


def test_scalars_reduced_and_points_checked() -> None:
    m1 = smp.SmpMessage1.decode(run_smp(secret("a"), secret("a"),
                                        DeterministicRng("smp-enc")).values[0])
    assert all(0 <= v < Q for v in (m1.c2, m1.d2, m1.c3, m1.d3))
    raw = m1.encode()
    big = bytearray(raw)
    # a scalar sent unreduced (d2 + q) is accepted: SCALAR decoding is mod q
    offset = 4 + len(m1.question) + 57 + 57
    big[offset:offset + 57] = (m1.d2 + Q).to_bytes(57, "little")
    assert smp.SmpMessage1.decode(bytes(big)) == m1
    assert smp.SmpMessage1.decode(raw).g2a == m1.g2a != G


def test_vectors_reproduce() -> None:
    kinds = set()
    for group, test in vector_cases("smp"):
        kind, inp, out = group["type"], test["inputs"], test["outputs"]
        kinds.add(kind)
        if kind == "SmpSecret":
            got = smp.smp_secret(unhex(inp["initiatorFingerprint"]),
                                 unhex(inp["responderFingerprint"]), unhex(inp["ssid"]),
                                 inp["secret"])
            assert got.to_bytes(57, "little").hex() == out["secretValue"]
        elif kind == "SmpExchange":
            x = int.from_bytes(unhex(inp["x"]), "little")
            y = int.from_bytes(unhex(inp["y"]), "little")
            assert unhex(inp["question"]) == QUESTION
            ex = run_smp(x, y, ReplayRng(draws(test)))
            assert [v.hex() for v in ex.values] == [out[f"message{i}"] for i in range(1, 5)]
            assert ex.bob_outcome.name == out["bobOutcome"] == ex.alice_outcome.name
        else:
            replay, _ = _equal_exchange()
            with raises_exactly(test["expectedError"], test["comment"]):
                replay.deliver(inp["step"], unhex(inp["value"]))
    assert kinds == {"SmpSecret", "SmpExchange", "SmpMutatedMessage"}


def test_tlv_types() -> None:
    m4 = smp.SmpMessage4(G, 1, 2)
    assert m4.to_tlv() == TLV(TLVType.SMP_MESSAGE_4, m4.encode())
    assert smp.SmpMessage4.decode(m4.encode()) == m4
