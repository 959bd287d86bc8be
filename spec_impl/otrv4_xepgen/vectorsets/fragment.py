"""Vectors for fragmentation and reassembly (``examples/vectors/fragment.json``).

Groups: splitting an encoded message (the identifier is the random draw);
reassembly from fragments given in a scrambled order; single fragments that
must be refused, and fragment sequences whose last fragment must be refused.
"""

from __future__ import annotations

from collections.abc import Callable

from otrv4.clock import FixedClock
from otrv4.errors import OTRError
from otrv4.fragment import Fragment, Reassembler, fragment_message, parse_fragment
from otrv4.primitives.rng import DeterministicRng, RecordingRng

from ..vectors import TestCase, TestGroup, VectorFile

__all__ = ["VECTOR_FILES", "fragment_vectors"]

SENDER = 0x5A73A599
RECEIVER = 0x27E31597
MESSAGE = "?OTR:AAQDWnOlmSfjFZcBAAAAAAAAAAAAAAAB" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY" * 4 + "."


def _splitting(rng: DeterministicRng) -> list[TestCase]:
    cases = []
    for max_size in (80, 140):
        rec = RecordingRng(rng)
        parts = fragment_message(MESSAGE, max_size, SENDER, RECEIVER, rec)
        cases.append(TestCase(
            comment=f"split into fragments of at most {max_size} characters",
            result="valid", random_draws=[d.value for d in rec.draws],
            inputs={"message": MESSAGE, "maxSize": max_size, "senderTag": SENDER,
                    "receiverTag": RECEIVER},
            outputs={"fragments": parts},
        ))
    return cases


def _reassembly(rng: DeterministicRng) -> list[TestCase]:
    parts = fragment_message(MESSAGE, 80, SENDER, RECEIVER, rng)
    orders = {
        "in order": list(range(len(parts))),
        "reversed": list(reversed(range(len(parts)))),
        "last first, then the rest in order": [len(parts) - 1, *range(len(parts) - 1)],
    }
    cases = []
    for name, order in orders.items():
        r = Reassembler(RECEIVER, FixedClock(0))
        results = [r.receive(parts[i]) for i in order]
        if results[-1] != MESSAGE or any(x is not None for x in results[:-1]):
            raise RuntimeError("reassembly vector does not reassemble")
        cases.append(TestCase(
            comment=f"reassemble, {name}", result="valid",
            inputs={"ourTag": RECEIVER, "fragments": [parts[i] for i in order]},
            outputs={"message": MESSAGE},
        ))
    leading = "?OTR|0003c5b5f|5a73a599|0,001,02,?OTR:AA,"
    second = "?OTR|3c5b5f|5a73a599|0,2,2,QD.,"
    cases.append(TestCase(
        comment="leading zeros, receiver tag 0 (any instance)", result="valid",
        flags=["LeadingZeros"], inputs={"ourTag": RECEIVER, "fragments": [second, leading]},
        outputs={"message": "?OTR:AAQD."},
    ))
    return cases


def _bad_fragments() -> list[TestCase]:
    samples = [
        ("index 0", "?OTR|1|2|3,0,2,x,", "FragmentIndexError"),
        ("total 0", "?OTR|1|2|3,1,0,x,", "FragmentIndexError"),
        ("index above total", "?OTR|1|2|3,3,2,x,", "FragmentIndexError"),
        ("total above 65535", "?OTR|1|2|3,1,65536,x,", "FragmentIndexError"),
        ("empty piece", "?OTR|1|2|3,1,2,,", "MalformedFragment"),
        ("missing final comma", "?OTR|1|2|3,1,2,x", "MalformedFragment"),
        ("identifier over 32 bits", "?OTR|100000000|2|3,1,2,x,", "MalformedFragment"),
        ("OTRv3 fragment (no identifier)", "?OTR|2|3,1,2,x,", "OTRv3Fragment"),
    ]
    cases = []
    for comment, text, error in samples:
        try:
            parse_fragment(text)
            raised = None
        except OTRError as e:
            raised = type(e).__name__
        if raised != error:
            raise RuntimeError(f"{comment}: expected {error}, got {raised}")
        cases.append(TestCase(comment=comment, result="invalid", inputs={"fragment": text},
                              expected_error=error))
    return cases


def _bad_sequences() -> list[TestCase]:
    def frag(index: int, total: int, piece: str, receiver: int = RECEIVER) -> str:
        return Fragment(0x3C5B5F03, SENDER, receiver, index, total, piece).encode()

    samples = [
        ("the same index twice", [frag(1, 3, "a"), frag(1, 3, "a")], "DuplicateFragment"),
        ("total changes within one identifier", [frag(1, 3, "a"), frag(2, 4, "b")],
         "FragmentTotalMismatch"),
        ("receiver tag of another instance", [frag(1, 2, "a", receiver=0x12345678)],
         "FragmentForOtherInstance"),
        ("total above the receiver's limit of 4096 pieces", [frag(1, 65535, "a")],
         "FragmentTotalTooLarge"),
    ]
    cases = []
    for comment, texts, error in samples:
        r = Reassembler(RECEIVER, FixedClock(0))
        for t in texts[:-1]:
            r.receive(t)
        try:
            r.receive(texts[-1])
            raised = None
        except OTRError as e:
            raised = type(e).__name__
        if raised != error:
            raise RuntimeError(f"{comment}: expected {error}, got {raised}")
        cases.append(TestCase(comment=comment, result="invalid", flags=["ReceiverPolicy"]
                              if "limit" in comment else [],
                              inputs={"ourTag": RECEIVER, "fragments": texts},
                              expected_error=error))
    return cases


def fragment_vectors() -> VectorFile:
    """The ``fragment`` vector file."""
    rng = DeterministicRng("fragment")
    return VectorFile(
        algorithm="OTRv4 fragmentation",
        header=[
            "A fragment is ?OTR|identifier|sender tag|receiver tag,index,total,piece, with",
            "the identifier and tags in hex and index/total in decimal (1 <= index <= total).",
            "We emit 8 hex digits and 5 decimal digits; receivers accept any leading zeros.",
            "The identifier is the 4-byte random draw, read big-endian.",
            "Receivers reassemble out of order; the last fragment of an invalid sequence fails.",
        ],
        notes={
            "LeadingZeros": "Fields with fewer or more digits than we emit.",
            "ReceiverPolicy": "A limit of our receiver (FragmentLimits), not of the protocol.",
        },
        groups=[
            TestGroup(type="Fragmentation", tests=_splitting(rng),
                      comment="split an encoded message"),
            TestGroup(type="Reassembly", tests=_reassembly(rng),
                      comment="fragments in the order given reassemble to the message"),
            TestGroup(type="FragmentParsing", tests=_bad_fragments(),
                      comment="single fragments that are refused"),
            TestGroup(type="ReassemblyFailure", tests=_bad_sequences(),
                      comment="the last fragment of each sequence is refused"),
        ],
    )


VECTOR_FILES: dict[str, Callable[[], VectorFile]] = {"fragment": fragment_vectors}
