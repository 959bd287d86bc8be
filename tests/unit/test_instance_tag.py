"""Instance tags (otrv4.md §Instance Tags)."""

from __future__ import annotations

import pytest

from otrv4.instance_tag import (
    InvalidReceiverTagError,
    InvalidSenderTagError,
    ReceiverTagMismatchError,
    check_receiver_tag,
    check_sender_tag,
    format_instance_tag,
    generate_instance_tag,
    is_valid_instance_tag,
)
from otrv4.primitives.rng import DeterministicRng, ReplayRng


def test_bounds() -> None:
    assert not is_valid_instance_tag(0)
    assert not is_valid_instance_tag(0xFF)
    assert is_valid_instance_tag(0x100)
    assert is_valid_instance_tag(0xFFFF_FFFF)
    assert not is_valid_instance_tag(2**32)


def test_generate_redraws_small_values() -> None:
    rng = ReplayRng([b"\x00\x00\x00\xff", b"\x00\x00\x00\x01", b"\x00\x00\x01\x00"])
    assert generate_instance_tag(rng) == 0x100
    assert rng.remaining == 0
    tag = generate_instance_tag(DeterministicRng("tag"))
    assert is_valid_instance_tag(tag)


def test_sender_tag() -> None:
    check_sender_tag(0x100)
    for bad in (0, 1, 0xFF):
        with pytest.raises(InvalidSenderTagError):
            check_sender_tag(bad)


def test_receiver_tag() -> None:
    ours = 0x1234
    check_receiver_tag(ours, ours)
    check_receiver_tag(0, ours, allow_unknown=True)
    with pytest.raises(InvalidReceiverTagError):
        check_receiver_tag(0, ours)
    with pytest.raises(InvalidReceiverTagError):
        check_receiver_tag(0xFF, ours, allow_unknown=True)
    with pytest.raises(ReceiverTagMismatchError):
        check_receiver_tag(0x1235, ours)


def test_format() -> None:
    assert format_instance_tag(0x100) == "0x00000100"
