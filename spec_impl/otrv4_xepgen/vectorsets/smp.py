"""Vectors for SMP over Ed448 (``examples/vectors/smp.json``).

Groups: the secret derivation; two complete exchanges (equal secrets: both
sides succeed; different secrets: both fail), listing every random draw in
order (Alice's 4, Bob's 7, Alice's 4, Bob's 1) and the four TLV values; and
mutated messages, each delivered after replaying the valid exchange up to
its step, with the error class the receiver must raise.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from otrv4 import smp
from otrv4.errors import OTRError
from otrv4.primitives.ed448 import G, Point
from otrv4.primitives.ed448 import P as FIELD_P
from otrv4.primitives.rng import DeterministicRng, RecordingRng, ReplayRng, Rng
from otrv4.tlv import TLV, TLVType

from ..vectors import TestCase, TestGroup, VectorFile

__all__ = ["VECTOR_FILES", "Exchange", "replay_rng", "run_exchange", "smp_vectors", "state_before"]

INITIATOR_FP = bytes(range(56))
RESPONDER_FP = bytes(range(100, 156))
SSID = bytes.fromhex("0123456789abcdef")
QUESTION = b"Where did we meet?"


@dataclass
class Exchange:
    """The four TLV values and both outcomes of one run."""

    values: list[bytes]
    bob_outcome: smp.SmpOutcome
    alice_outcome: smp.SmpOutcome


def run_exchange(x: int, y: int, rng: Rng, upto: int = 4,
                 mutated: bytes | None = None) -> tuple[Exchange, Any]:
    """Run SMP; with ``mutated``, hand it in place of message ``upto`` to its receiver.

    Returns the exchange so far and, when ``mutated`` is given, the result of
    the receiver's step (raises what the receiver raises).
    """
    alice, m1 = smp.start(x, rng, QUESTION)
    values = [m1.encode()]
    types = [TLVType.SMP_MESSAGE_1, TLVType.SMP_MESSAGE_2, TLVType.SMP_MESSAGE_3,
             TLVType.SMP_MESSAGE_4]

    def deliver(step: int, state: Any, value: bytes) -> smp.SmpStep:
        return smp.handle(state, TLV(types[step - 1], value), rng)

    if upto == 1 and mutated is not None:
        return Exchange(values, smp.SmpOutcome.NONE, smp.SmpOutcome.NONE), \
            deliver(1, smp.Expect1(), mutated)
    bob = deliver(1, smp.Expect1(), values[0])
    bob3, m2 = smp.respond(bob.state, y, rng)
    values.append(m2.encode())
    if upto == 2 and mutated is not None:
        return Exchange(values, smp.SmpOutcome.NONE, smp.SmpOutcome.NONE), \
            deliver(2, alice, mutated)
    a = deliver(2, alice, values[1])
    values.append(a.send[0].value)
    if upto == 3 and mutated is not None:
        return Exchange(values, smp.SmpOutcome.NONE, smp.SmpOutcome.NONE), \
            deliver(3, bob3, mutated)
    b = deliver(3, bob3, values[2])
    values.append(b.send[0].value)
    if mutated is not None:
        return Exchange(values, b.outcome, smp.SmpOutcome.NONE), deliver(4, a.state, mutated)
    last = deliver(4, a.state, values[3])
    return Exchange(values, b.outcome, last.outcome), None


def state_before(step: int) -> str:
    """Who receives message ``step``."""
    return "bob" if step % 2 else "alice"


def _mutate_scalar(value: bytes, offset: int) -> bytes:
    raw = bytearray(value)
    raw[offset] ^= 0x01
    return bytes(raw)


def _replace_point(value: bytes, offset: int, point: bytes) -> bytes:
    return value[:offset] + point + value[offset + 57:]


#: (message, field, offset of the field in the value, error when the field is changed)
_LAYOUTS: dict[int, list[tuple[str, str]]] = {
    1: [("G2a", "SmpG2ProofError"), ("c2", "SmpG2ProofError"), ("d2", "SmpG2ProofError"),
        ("G3a", "SmpG3ProofError"), ("c3", "SmpG3ProofError"), ("d3", "SmpG3ProofError")],
    2: [("G2b", "SmpG2ProofError"), ("c2", "SmpG2ProofError"), ("d2", "SmpG2ProofError"),
        ("G3b", "SmpG3ProofError"), ("c3", "SmpG3ProofError"), ("d3", "SmpG3ProofError"),
        ("Pb", "SmpPQProofError"), ("Qb", "SmpPQProofError"), ("cp", "SmpPQProofError"),
        ("d5", "SmpPQProofError"), ("d6", "SmpPQProofError")],
    3: [("Pa", "SmpPQProofError"), ("Qa", "SmpPQProofError"), ("cp", "SmpPQProofError"),
        ("d5", "SmpPQProofError"), ("d6", "SmpPQProofError"), ("Ra", "SmpRProofError"),
        ("cr", "SmpRProofError"), ("d7", "SmpRProofError")],
    4: [("Rb", "SmpRProofError"), ("cr", "SmpRProofError"), ("d7", "SmpRProofError")],
}


def mutations(values: list[bytes]) -> list[tuple[int, str, bytes, str, list[str]]]:
    """(step, comment, mutated value, error, flags) for every field and some encodings."""
    other_point = (G * 7).encode()
    out = []
    for step, layout in _LAYOUTS.items():
        base = 4 + len(QUESTION) if step == 1 else 0
        for n, (name, error) in enumerate(layout):
            offset = base + 57 * n
            if name[0].isupper():
                mutated = _replace_point(values[step - 1], offset, other_point)
                out.append((step, f"message {step}: {name} replaced by G*7", mutated, error,
                            ["ProofFails"]))
            else:
                out.append((step, f"message {step}: {name} with its lowest bit flipped",
                            _mutate_scalar(values[step - 1], offset), error, ["ProofFails"]))
    identity = Point.from_affine(0, 1).encode()
    order4 = Point.from_affine(1, 0).encode()
    not_on_curve = (2).to_bytes(57, "little")
    noncanonical = (FIELD_P + 1).to_bytes(57, "little")
    out += [
        (1, "message 1: G2a is the identity", _replace_point(values[0], 4 + len(QUESTION),
                                                              identity),
         "IdentityPointError", ["InvalidPoint"]),
        (2, "message 2: Pb has order 4", _replace_point(values[1], 57 * 6, order4),
         "SmallOrderPointError", ["InvalidPoint"]),
        (3, "message 3: Ra is not on the curve", _replace_point(values[2], 57 * 5, not_on_curve),
         "PointNotOnCurveError", ["InvalidPoint"]),
        (4, "message 4: Rb with y >= p", _replace_point(values[3], 0, noncanonical),
         "NonCanonicalPointError", ["InvalidPoint"]),
        (4, "message 4: one byte short", values[3][:-1], "TruncatedError", ["Framing"]),
        (2, "message 2: one byte too many", values[1] + b"\x00", "TrailingDataError",
         ["Framing"]),
        (1, "message 1: question length beyond the value",
         (0xFFFF).to_bytes(4, "big") + values[0][4:], "TruncatedError", ["Framing"]),
    ]
    return out


def smp_vectors() -> VectorFile:
    """The ``smp`` vector file."""
    x = smp.smp_secret(INITIATOR_FP, RESPONDER_FP, SSID, "purple elephant")
    y_other = smp.smp_secret(INITIATOR_FP, RESPONDER_FP, SSID, "green elephant")
    secret_cases = [TestCase(
        comment=f"secret {s!r}", result="valid",
        inputs={"initiatorFingerprint": INITIATOR_FP, "responderFingerprint": RESPONDER_FP,
                "ssid": SSID, "secret": s},
        outputs={"secretValue": v.to_bytes(57, "little")},
    ) for s, v in (("purple elephant", x), ("green elephant", y_other))]
    runs = []
    valid_draws: list[bytes] = []
    valid_values: list[bytes] = []
    for label, y, outcome in (("smp-equal", x, "SUCCEEDED"), ("smp-different", y_other,
                                                               "FAILED")):
        rec = RecordingRng(DeterministicRng(label))
        ex, _ = run_exchange(x, y, rec)
        if ex.alice_outcome.name != outcome or ex.bob_outcome.name != outcome:
            raise RuntimeError(f"{label}: unexpected outcome")
        draws = [d.value for d in rec.draws]
        if label == "smp-equal":
            valid_draws, valid_values = draws, ex.values
        runs.append(TestCase(
            comment=f"complete exchange, {'equal' if y == x else 'different'} secrets",
            result="valid", random_draws=draws,
            inputs={"x": x.to_bytes(57, "little"), "y": y.to_bytes(57, "little"),
                    "question": QUESTION},
            outputs={"message1": ex.values[0], "message2": ex.values[1],
                     "message3": ex.values[2], "message4": ex.values[3],
                     "bobOutcome": outcome, "aliceOutcome": outcome},
        ))
    bad = []
    for step, comment, value, error, flags in mutations(valid_values):
        try:
            run_exchange(x, x, ReplayRng(valid_draws), upto=step, mutated=value)
            raised = None
        except OTRError as e:
            raised = type(e).__name__
        if raised != error:
            raise RuntimeError(f"{comment}: expected {error}, got {raised}")
        bad.append(TestCase(
            comment=comment, result="invalid", flags=flags, random_draws=valid_draws,
            inputs={"step": step, "receiver": state_before(step), "value": value},
            expected_error=error,
        ))
    return VectorFile(
        algorithm="OTRv4 Socialist Millionaires' Protocol (Ed448)",
        header=[
            "secret = prune(HWC(0x19 || 0x01 || initiator fp || responder fp || SSID ||",
            "DATA(UTF-8 secret), 57)), little-endian; shown as 57 bytes.",
            "Random scalars: 57-byte draw -> SHAKE-256(., 57) -> prune -> LE -> mod q.",
            "Draw order: Alice a2 a3 r2 r3; Bob b2 b3 r2 r3 r4 r5 r6; Alice r4 r5 r6 r7; Bob r7.",
            "HashToScalar(i || points) = LE(SHAKE-256('OTRv4' || i || points, 57)) mod q.",
            "Scalars are sent reduced mod q, little-endian; points as RFC 8032 encodings.",
            "Invalid tests: replay the 'equal secrets' exchange up to message 'step', then",
            "give 'value' to 'receiver' instead of the real message.",
        ],
        notes={
            "ProofFails": "A field covered by a zero-knowledge proof was changed.",
            "InvalidPoint": "A point fails decoding or validation.",
            "Framing": "The value is not exactly the message's fields.",
        },
        groups=[
            TestGroup(type="SmpSecret", tests=secret_cases, comment="secret derivation"),
            TestGroup(type="SmpExchange", tests=runs, comment="four messages, both outcomes"),
            TestGroup(type="SmpMutatedMessage", tests=bad,
                      comment="the receiver rejects the mutated message"),
        ],
    )




def replay_rng(draws: list[bytes]) -> Rng:
    """An rng returning ``draws`` in order."""
    return ReplayRng(draws)





VECTOR_FILES: dict[str, Callable[[], VectorFile]] = {"smp": smp_vectors}
