"""The DAKE wire types, driven by their FIELDS tables: random values of each field's wire
type round-trip through encode/decode, spans match the wire types' sizes, and every
truncation point raises TruncatedError."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otrv4.encoding import TruncatedError, WireType
from otrv4.messages import (
    DAKE_MESSAGE_TYPES,
    AuthIMessage,
    DakeMessage,
    NonDakeMessageError,
    decode_dake_message,
    wire_table,
)
from otrv4.primitives import dh3072
from otrv4.primitives.ed448 import Q, base_mul
from otrv4.primitives.ring_signature import RingSignature

from ..helpers.dake import interactive

_PROFILE = interactive("messages-test").bob.us.client_profile


def _value(wire: WireType, draw: st.DrawFn) -> Any:
    if wire is WireType.INT:
        return draw(st.integers(0, 2**32 - 1))
    if wire is WireType.POINT:
        return base_mul(draw(st.integers(1, Q - 1)))
    if wire is WireType.MPI:
        return dh3072.modexp(dh3072.G, draw(st.integers(1, 2**64)), dh3072.P)
    if wire is WireType.CLIENT_PROF:
        return _PROFILE
    if wire is WireType.RING_SIG:
        return RingSignature(*(draw(st.integers(0, Q - 1)) for _ in range(6)))
    if wire is WireType.MAC:
        return draw(st.binary(min_size=64, max_size=64))
    raise AssertionError(f"no strategy for {wire}")


@st.composite
def _message(draw: st.DrawFn, cls: type[DakeMessage]) -> DakeMessage:
    return cls(**{f.attr: _value(f.wire, draw) for f in cls.FIELDS})


@pytest.mark.parametrize("cls", list(DAKE_MESSAGE_TYPES.values()), ids=lambda c: c.__name__)
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_round_trip(cls: type[DakeMessage], data: st.DataObject) -> None:
    msg = data.draw(_message(cls))
    raw = msg.encode()
    assert cls.decode(raw) == msg
    assert decode_dake_message(raw) == msg
    for f in cls.FIELDS:
        start, end = msg.field_spans()[f.attr]
        if f.wire.size is not None:
            assert end - start == f.wire.size
    with pytest.raises(TruncatedError):
        cls.decode(raw[:data.draw(st.integers(0, len(raw) - 1))])


def test_tables() -> None:
    for cls in DAKE_MESSAGE_TYPES.values():
        rows = wire_table(cls)
        assert rows[1] == ("Message type", "BYTE", f"{int(cls.MESSAGE_TYPE):#04x}")
        assert [r[1] for r in rows[2:]] == [f.wire.value for f in cls.FIELDS]
    assert [f.attr for f in AuthIMessage.FIELDS] == ["sender_tag", "receiver_tag", "sigma"]


def test_data_message_is_not_a_dake_message() -> None:
    with pytest.raises(NonDakeMessageError):
        decode_dake_message(b"\x00\x04\x03" + bytes(20))
