"""Fragmentation and bounded reassembly (spec §Fragmentation)."""

from __future__ import annotations

import gc
import random
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otrv4.clock import FixedClock
from otrv4.fragment import (
    FRAGMENT_OVERHEAD,
    DuplicateFragment,
    Fragment,
    FragmentForOtherInstance,
    FragmentIndexError,
    FragmentLimits,
    FragmentMessageTooLarge,
    FragmentTooSmall,
    FragmentTotalMismatch,
    FragmentTotalTooLarge,
    MalformedFragment,
    NotFragmentable,
    OTRv3Fragment,
    Reassembler,
    fragment_message,
    parse_fragment,
)
from otrv4.primitives.rng import DeterministicRng, ReplayRng

from ..helpers.vectors import raises_exactly, vector_cases

OURS = 0x27E31597
THEIRS = 0x5A73A599
MESSAGE = "?OTR:AAQD" + "A" * 300 + "."


def test_exact_format_and_parse() -> None:
    frag = Fragment(0x3C5B5F03, THEIRS, OURS, 1, 3, "?OTR:AAQD")
    assert frag.encode() == "?OTR|3c5b5f03|5a73a599|27e31597,00001,00003,?OTR:AAQD,"
    assert len(Fragment(1, 2, 3, 1, 1, "").encode()) == FRAGMENT_OVERHEAD
    assert parse_fragment(frag.encode()) == frag
    assert parse_fragment("?OTR|1|A|0,1,2,x,") == Fragment(1, 10, 0, 1, 2, "x")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("?OTR|1|2|3,0,2,x,", FragmentIndexError),
        ("?OTR|1|2|3,1,0,x,", FragmentIndexError),
        ("?OTR|1|2|3,3,2,x,", FragmentIndexError),
        ("?OTR|1|2|3,1,65536,x,", FragmentIndexError),
        ("?OTR|1|2|3,1,2,,", MalformedFragment),
        ("?OTR|1|2|3,1,2,x", MalformedFragment),
        ("?OTR|1|2|3,1,2,x,y,", MalformedFragment),
        ("?OTR|1g|2|3,1,2,x,", MalformedFragment),
        ("?OTR|100000000|2|3,1,2,x,", MalformedFragment),
        ("?OTR|2|3,1,2,x,", OTRv3Fragment),
    ],
)
def test_illegal_fragments(text: str, error: type[Exception]) -> None:
    with pytest.raises(error):
        parse_fragment(text)


def test_fragment_message_sizes() -> None:
    rng = DeterministicRng("test-fragment")
    parts = fragment_message(MESSAGE, 100, OURS, THEIRS, rng)
    assert all(len(p) <= 100 for p in parts)
    assert len(parts) == -(-len(MESSAGE) // (100 - FRAGMENT_OVERHEAD))
    assert {parse_fragment(p).identifier for p in parts} == {parse_fragment(parts[0]).identifier}
    assert fragment_message("?OTR:short.", 100, OURS, THEIRS, rng) == ["?OTR:short."]
    with pytest.raises(NotFragmentable):
        fragment_message(parts[0], 50, OURS, THEIRS, rng)
    with pytest.raises(NotFragmentable):
        fragment_message("", 50, OURS, THEIRS, rng)
    with pytest.raises(FragmentTooSmall):
        fragment_message(MESSAGE, FRAGMENT_OVERHEAD, OURS, THEIRS, rng)
    with pytest.raises(FragmentTooSmall):
        fragment_message("x" * 70000, FRAGMENT_OVERHEAD + 1, OURS, THEIRS, rng)


@settings(max_examples=50, deadline=None)
@given(st.integers(FRAGMENT_OVERHEAD + 1, 200), st.randoms(use_true_random=False))
def test_any_order_reassembles(max_size: int, shuffle: random.Random) -> None:
    parts = fragment_message(MESSAGE, max_size, THEIRS, OURS, DeterministicRng("order"))
    other = fragment_message(MESSAGE[::-1], max_size, THEIRS, 0, DeterministicRng("other"))
    mixed = parts + other
    shuffle.shuffle(mixed)
    r = Reassembler(OURS, FixedClock(0))
    done = [m for m in (r.receive(p) for p in mixed) if m is not None]
    assert sorted(done) == sorted([MESSAGE, MESSAGE[::-1]])
    assert r.open_messages == 0 and r.stored_chars == 0 and r.stored_pieces == 0


def test_rejections_change_nothing() -> None:
    r = Reassembler(OURS, FixedClock(0))
    parts = fragment_message(MESSAGE, 80, THEIRS, OURS, DeterministicRng("rej"))
    assert r.receive(parts[0]) is None
    with pytest.raises(DuplicateFragment):
        r.receive(parts[0])
    with pytest.raises(FragmentForOtherInstance):
        r.receive(fragment_message(MESSAGE, 80, THEIRS, 0x1234, DeterministicRng("rej"))[1])
    assert (r.open_messages, r.stored_pieces) == (1, 1)
    out = [r.receive(p) for p in parts[1:]]
    assert out[-1] == MESSAGE


def test_total_mismatch_drops_buffer() -> None:
    r = Reassembler(OURS, FixedClock(0))
    r.receive(Fragment(7, THEIRS, OURS, 1, 3, "a").encode())
    with pytest.raises(FragmentTotalMismatch):
        r.receive(Fragment(7, THEIRS, OURS, 2, 4, "b").encode())
    assert r.open_messages == 0


def test_timeout_discards() -> None:
    clock = FixedClock(100)
    r = Reassembler(OURS, clock, FragmentLimits(ttl_seconds=10))
    r.receive(Fragment(7, THEIRS, OURS, 1, 2, "a").encode())
    clock.advance(10)
    assert r.receive(Fragment(7, THEIRS, OURS, 2, 2, "b").encode()) is None
    assert r.stored_chars == 1


def test_floods_stay_within_bound() -> None:
    limits = FragmentLimits(max_open=8, max_pieces=64, max_chars=4096)
    r = Reassembler(OURS, FixedClock(0), limits)
    with pytest.raises(FragmentTotalTooLarge):
        r.receive(Fragment(1, THEIRS, OURS, 1, 65535, "x").encode())
    with pytest.raises(FragmentMessageTooLarge):
        r.receive(Fragment(1, THEIRS, OURS, 1, 2, "x" * 4097).encode())
    tracemalloc.start()
    peak_state = 0
    base = 0
    for ident in range(3000):
        if ident == 500:
            gc.collect()
            base = tracemalloc.get_traced_memory()[0]
        for index in (1, 2):
            assert r.receive(Fragment(ident, THEIRS, OURS, index, 64, "y" * 400).encode()) is None
            peak_state = max(peak_state, r.stored_chars)
            assert r.open_messages <= 8 and r.stored_pieces <= 64 and r.stored_chars <= 4096
        try:  # overlapping piece: always refused (no pytest.raises: it keeps tracebacks)
            r.receive(Fragment(ident, THEIRS, OURS, 1, 64, "y" * 400).encode())
            raise AssertionError("duplicate piece accepted")
        except DuplicateFragment:
            pass
    gc.collect()
    used = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    assert peak_state == 4000
    assert r.evicted > 2900
    assert used < 16 * 1024  # 2,500 more flooding messages did not grow the heap
    # a single message that grows past the character bound is dropped
    big = Reassembler(OURS, FixedClock(0), limits)
    for i in range(1, 5):
        big.receive(Fragment(2, THEIRS, OURS, i, 20, "z" * 1000).encode())
    with pytest.raises(FragmentMessageTooLarge):
        big.receive(Fragment(2, THEIRS, OURS, 5, 20, "z" * 1000).encode())
    assert big.open_messages == 0
    # legitimate traffic still reassembles after a flood
    parts = fragment_message(MESSAGE, 80, THEIRS, OURS, DeterministicRng("after-flood"))
    assert [r.receive(p) for p in parts][-1] == MESSAGE


def test_vectors_reproduce() -> None:
    kinds = set()
    for group, test in vector_cases("fragment"):
        kind, inp, out = group["type"], test["inputs"], test["outputs"]
        kinds.add(kind)
        if kind == "Fragmentation":
            rng = ReplayRng([bytes.fromhex(d) for d in test["randomDraws"]])
            got = fragment_message(inp["message"], inp["maxSize"], inp["senderTag"],
                                   inp["receiverTag"], rng)
            assert got == out["fragments"]
        elif kind == "Reassembly":
            r = Reassembler(inp["ourTag"], FixedClock(0))
            results = [r.receive(f) for f in inp["fragments"]]
            assert results[-1] == out["message"] and set(results[:-1]) == {None}
        elif kind == "FragmentParsing":
            with raises_exactly(test["expectedError"], test["comment"]):
                parse_fragment(inp["fragment"])
        else:
            r = Reassembler(inp["ourTag"], FixedClock(0))
            for f in inp["fragments"][:-1]:
                r.receive(f)
            with raises_exactly(test["expectedError"], test["comment"]):
                r.receive(inp["fragments"][-1])
    assert kinds == {"Fragmentation", "Reassembly", "FragmentParsing", "ReassemblyFailure"}

