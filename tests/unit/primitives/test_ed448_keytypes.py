"""Tests of otrv4.primitives.keytypes: typed Ed448 keys, big-endian type (ambiguity 5)."""

from __future__ import annotations

import pytest

from otrv4.decisions import DECISIONS
from otrv4.primitives.ed448 import IdentityPointError, NonCanonicalPointError, base_mul
from otrv4.primitives.keytypes import (
    DECISION_5,
    TYPED_KEY_BYTES,
    KeyType,
    PublicKeyLengthError,
    PublicKeyTypeError,
    decode_typed_key,
    encode_typed_key,
)


def test_type_codes() -> None:
    assert [(k.name, int(k)) for k in KeyType] == [
        ("ED448_PUBKEY", 0x0010), ("ED448_SHARED_PREKEY", 0x0011), ("ED448_FORGING_KEY", 0x0012),
    ]


def test_encoding_is_big_endian_type_then_point() -> None:
    point = base_mul(42)
    assert encode_typed_key(point, KeyType.ED448_PUBKEY) == b"\x00\x10" + point.encode()
    assert encode_typed_key(point, KeyType.ED448_SHARED_PREKEY) == b"\x00\x11" + point.encode()
    assert encode_typed_key(point, KeyType.ED448_FORGING_KEY) == b"\x00\x12" + point.encode()
    assert TYPED_KEY_BYTES == 59
    for key_type in KeyType:
        assert decode_typed_key(encode_typed_key(point, key_type), key_type) == point


def test_refusals() -> None:
    point = base_mul(42).encode()
    cases: list[tuple[bytes, KeyType, type[Exception]]] = [
        (b"\x10\x00" + point, KeyType.ED448_PUBKEY, PublicKeyTypeError),  # little-endian
        (b"\x00\x10" + point, KeyType.ED448_FORGING_KEY, PublicKeyTypeError),
        (b"\x00\x12" + point, KeyType.ED448_SHARED_PREKEY, PublicKeyTypeError),
        (b"\x00\x10" + point[:56], KeyType.ED448_PUBKEY, PublicKeyLengthError),
        (b"\x00\x10" + point + b"\x00", KeyType.ED448_PUBKEY, PublicKeyLengthError),
        (b"\x00\x10" + b"\x01" + bytes(56), KeyType.ED448_PUBKEY, IdentityPointError),
        (b"\x00\x10" + b"\xff" * 57, KeyType.ED448_PUBKEY, NonCanonicalPointError),
    ]
    for data, key_type, error in cases:
        with pytest.raises(error) as info:
            decode_typed_key(data, key_type)
        assert type(info.value) is error


def test_decision_5_is_registered() -> None:
    assert DECISIONS[5] is DECISION_5
    assert DECISION_5.vector == "pubkey-encoding"
    assert "big-endian" in DECISION_5.decision
