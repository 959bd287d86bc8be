"""Tests of otrv4.encoding: the wire data types, the header and encoded messages."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otrv4.encoding import (
    Header,
    InvalidBase64Error,
    MessageType,
    NonMinimalMPIError,
    NotAnEncodedMessageError,
    OutOfRangeError,
    Reader,
    TrailingDataError,
    TruncatedError,
    UnknownMessageTypeError,
    UnsupportedVersionError,
    WireType,
    Writer,
    WrongMessageTypeError,
    decode_encoded_message,
    encode_byte,
    encode_data,
    encode_int,
    encode_long,
    encode_message,
    encode_mpi,
    encode_short,
    expect_type,
    peek_message_type,
    read_instance_tags,
)


def test_fixed_width_integers_are_big_endian() -> None:
    assert encode_byte(0xAB) == b"\xab"
    assert encode_short(0x0004) == b"\x00\x04"
    assert encode_int(0x01020304) == b"\x01\x02\x03\x04"
    assert encode_long(-1) == b"\xff" * 8
    assert encode_long(0x0102030405060708) == bytes(range(1, 9))


@pytest.mark.parametrize(
    ("fn", "value"),
    [(encode_byte, 256), (encode_byte, -1), (encode_short, 0x10000), (encode_int, 2**32),
     (encode_long, 2**63), (encode_long, -(2**63) - 1), (encode_mpi, -1)],
)
def test_out_of_range_values_are_refused(fn: object, value: int) -> None:
    with pytest.raises(OutOfRangeError):
        fn(value)  # type: ignore[operator]


def test_mpi_is_minimal() -> None:
    assert encode_mpi(0) == b"\x00\x00\x00\x00"
    assert encode_mpi(1) == b"\x00\x00\x00\x01\x01"
    assert encode_mpi(0x100) == b"\x00\x00\x00\x02\x01\x00"
    assert Reader(b"\x00\x00\x00\x02\x01\x00").read_mpi() == 0x100
    r = Reader(b"\x00\x00\x00\x02\x00\x01")
    with pytest.raises(NonMinimalMPIError):
        r.read_mpi()
    assert r.offset == 0


def test_data() -> None:
    assert encode_data(b"ab") == b"\x00\x00\x00\x02ab"
    assert Reader(b"\x00\x00\x00\x00").read_data() == b""


def test_truncation_raises_and_leaves_cursor() -> None:
    r = Reader(b"\x00\x00\x00\x05abc", "t")
    with pytest.raises(TruncatedError):
        r.read_data()
    assert r.offset == 0
    with pytest.raises(TruncatedError):
        Reader(b"\x00").read_short()
    with pytest.raises(TruncatedError):
        Reader(b"\x00" * 56).read_point()


def test_finish_rejects_trailing_bytes() -> None:
    r = Reader(b"\x00\x01\x02")
    r.read_short()
    with pytest.raises(TrailingDataError):
        r.finish()
    r.read_byte()
    r.finish()


@settings(max_examples=50, deadline=None)
@given(st.integers(0, 2**3072), st.binary(max_size=64), st.integers(-(2**63), 2**63 - 1))
def test_round_trip(mpi: int, data: bytes, long: int) -> None:
    blob = Writer().put_mpi(mpi).put_data(data).put_long(long).put_raw(b"x" * 57, 57).value()
    r = Reader(blob)
    assert r.read_mpi() == mpi
    assert r.read_data() == data
    assert r.read_long() == long
    assert r.read_point() == b"x" * 57
    r.finish()


def test_writer_raw_checks_size() -> None:
    with pytest.raises(OutOfRangeError):
        Writer().put_raw(b"abc", 4)


def test_message_types_and_prefixes() -> None:
    assert {m.name: (m.value, m.base64_prefix) for m in MessageType} == {
        "DATA": (0x03, "AAQD"),
        "NON_INTERACTIVE_AUTH": (0x0D, "AAQN"),
        "PREKEY": (0x0F, "AAQP"),
        "IDENTITY": (0x35, "AAQ1"),
        "AUTH_R": (0x36, "AAQ2"),
        "AUTH_I": (0x37, "AAQ3"),
    }


def test_header_round_trip_and_errors() -> None:
    h = Header(MessageType.IDENTITY, 0x1234_5678, 0)
    raw = h.encode()
    assert raw == bytes.fromhex("0004351234567800000000")
    r = Reader(raw)
    assert Header.read(r, MessageType.IDENTITY) == h
    r.finish()
    r = Reader(raw)
    with pytest.raises(WrongMessageTypeError):
        Header.read(r, MessageType.AUTH_R)
    assert r.offset == 0
    with pytest.raises(UnsupportedVersionError):
        Header.read(Reader(bytes.fromhex("0003351234567800000000")))
    with pytest.raises(UnknownMessageTypeError):
        Header.read(Reader(bytes.fromhex("0004991234567800000000")))
    with pytest.raises(TruncatedError):
        Header.read(Reader(raw[:-1]))
    with pytest.raises(WrongMessageTypeError):
        Header.read(Reader(bytes.fromhex("00040f1234567800000000")))
    assert peek_message_type(raw) is MessageType.IDENTITY
    expect_type(Reader(b"\x00\x04\x0f"), MessageType.PREKEY)
    with pytest.raises(WrongMessageTypeError):
        expect_type(Reader(b"\x00\x04\x35"), MessageType.PREKEY)


def test_read_instance_tags_reads_the_header_pair_only() -> None:
    data = bytes.fromhex("0004031234567800c0ffee") + b"rest of a data message"
    assert read_instance_tags(data) == (0x1234_5678, 0x00C0_FFEE)
    assert read_instance_tags(bytes.fromhex("0004351234567800000000")) == (0x1234_5678, 0)
    with pytest.raises(TruncatedError):
        read_instance_tags(data[:10])
    with pytest.raises(UnsupportedVersionError):
        read_instance_tags(bytes.fromhex("0003031234567800c0ffee"))
    with pytest.raises(UnknownMessageTypeError):
        read_instance_tags(bytes.fromhex("0004991234567800c0ffee"))
    with pytest.raises(WrongMessageTypeError):  # a Prekey message has no receiver tag
        read_instance_tags(bytes.fromhex("00040f1234567800c0ffee"))


def test_encoded_messages() -> None:
    assert encode_message(b"\x00\x04\x35") == "?OTR:AAQ1."
    assert decode_encoded_message("?OTR:AAQ1.") == b"\x00\x04\x35"
    for bad in ["AAQ1.", "?OTR:AAQ1", "?OTR:.", "hello"]:
        with pytest.raises(NotAnEncodedMessageError):
            decode_encoded_message(bad)
    for bad in ["?OTR:AAQ.", "?OTR:AA Q1.", "?OTR:AAQ*.", "?OTR:AAR=.", "?OTR:AAQ1====."]:
        with pytest.raises(InvalidBase64Error):
            decode_encoded_message(bad)


def test_wire_type_sizes() -> None:
    assert WireType.RING_SIG.size == 342
    assert WireType.ED448_PUBKEY.size == 59
    assert WireType.MPI.size is None
