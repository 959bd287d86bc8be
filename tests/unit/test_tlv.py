"""TLV records and data-message plaintext (spec §TLV Record Types, §Data Message)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otrv4.tlv import (
    TLV,
    InvalidPayloadText,
    MalformedTLVValue,
    TextContainsNul,
    TLVTooLong,
    TLVType,
    TruncatedTLV,
    decode_payload,
    decode_tlvs,
    disconnected,
    encode_payload,
    encode_tlvs,
    extra_symmetric_key,
    padding,
    smp_abort,
)

from ..helpers.vectors import raises_exactly, vector_cases


def test_type_numbers_are_the_specs() -> None:
    assert [(t.name, int(t)) for t in TLVType] == [
        ("PADDING", 0), ("DISCONNECTED", 1), ("SMP_MESSAGE_1", 2), ("SMP_MESSAGE_2", 3),
        ("SMP_MESSAGE_3", 4), ("SMP_MESSAGE_4", 5), ("SMP_ABORT", 6),
        ("EXTRA_SYMMETRIC_KEY", 7),
    ]


def test_exact_bytes() -> None:
    assert padding(3).encode() == bytes.fromhex("0000 0003 000000")
    assert smp_abort().encode() == bytes.fromhex("0006 0000")
    assert disconnected(b"\xaa" * 2).encode() == bytes.fromhex("0001 0002 aaaa")
    assert extra_symmetric_key(b"\x00\x00\x00\x42", b"f").encode() == bytes.fromhex(
        "0007 0005 00000042 66")
    assert encode_payload("hi", [smp_abort()]) == b"hi\x00\x00\x06\x00\x00"
    assert encode_payload("hi") == b"hi"


def test_too_long_and_bad_inputs() -> None:
    with pytest.raises(TLVTooLong):
        TLV(0, bytes(65536)).encode()
    assert len(TLV(0, bytes(65535)).encode()) == 65539
    with pytest.raises(TextContainsNul):
        encode_payload("a\x00b")
    with pytest.raises(MalformedTLVValue):
        extra_symmetric_key(b"\x00\x00\x00")


def test_strict_decode_rejects_truncation() -> None:
    with pytest.raises(TruncatedTLV):
        decode_tlvs(b"\x00\x01\x00")
    with pytest.raises(TruncatedTLV):
        decode_tlvs(b"\x00\x01\x00\x05abcd")
    with pytest.raises(MalformedTLVValue):
        decode_tlvs(b"\x00\x07\x00\x02ab")


def test_receiver_ignores_unknown_and_stops_at_corruption() -> None:
    body = encode_payload("hello", [TLV(99, b"x"), smp_abort(), padding(1)])
    p = decode_payload(body + b"\x00\x01\x00\x09short")
    assert p.text == "hello"
    assert p.tlvs == (smp_abort(), padding(1))
    assert p.positions == (1, 2)
    assert p.unknown == (TLV(99, b"x"),)
    assert p.corrupted
    assert not decode_payload(body).corrupted
    assert p.find(TLVType.SMP_ABORT) == smp_abort()
    assert p.find(TLVType.DISCONNECTED) is None


def test_heartbeat_and_utf8() -> None:
    assert decode_payload(b"").is_heartbeat
    assert decode_payload(b"\x00\x00\x01\x00\x00").is_heartbeat
    assert not decode_payload("é".encode()).is_heartbeat
    with pytest.raises(InvalidPayloadText):
        decode_payload(b"\xff\xfe")


tlvs = st.lists(st.builds(TLV, st.integers(0, 6), st.binary(max_size=40)), max_size=6)


@settings(max_examples=50, deadline=None)
@given(st.text().filter(lambda s: "\x00" not in s), tlvs)
def test_round_trip(text: str, records: list[TLV]) -> None:
    p = decode_payload(encode_payload(text, records))
    assert p.text == text
    assert p.tlvs == tuple(records)
    assert decode_tlvs(encode_tlvs(records)) == tuple(records)


def test_vectors_reproduce() -> None:
    seen = set()
    for group, test in vector_cases("tlv"):
        kind, inp, out = group["type"], test["inputs"], test["outputs"]
        seen.add(kind)
        if kind == "TlvEncoding":
            assert TLV(inp["type"], bytes.fromhex(inp["value"])).encode().hex() == out["encoded"]
        elif kind == "PlaintextEncoding":
            records = [decode_tlvs(bytes.fromhex(t))[0] for t in inp["tlvs"]]
            assert encode_payload(inp["text"], records).hex() == out["plaintext"]
        elif kind == "PlaintextReceiving":
            p = decode_payload(bytes.fromhex(inp["plaintext"]))
            assert p.text == out["text"] and p.corrupted == out["corrupted"]
            assert [t.encode().hex() for t in p.tlvs] == out["tlvs"]
            assert [t.encode().hex() for t in p.unknown] == out["unknown"]
            assert list(p.positions) == out["positions"]
        else:
            assert test["result"] == "invalid"
            with raises_exactly(test["expectedError"], test["comment"]):
                if "tlvs" in inp:
                    decode_tlvs(bytes.fromhex(inp["tlvs"]))
                else:
                    decode_payload(bytes.fromhex(inp["plaintext"]))
    assert seen == {"TlvEncoding", "PlaintextEncoding", "PlaintextReceiving", "StrictDecoding"}
