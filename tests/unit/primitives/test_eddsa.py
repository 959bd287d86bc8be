"""Tests of otrv4.primitives.eddsa: RFC 8032 §7.4, OpenSSL agreement, and every refusal."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey, Ed448PublicKey
from hypothesis import given, settings
from hypothesis import strategies as st

from otrv4.errors import DecodeError
from otrv4.primitives.ed448 import IdentityPointError, Point, Q, base_mul
from otrv4.primitives.eddsa import (
    EdDSAKeyPair,
    InvalidSignatureError,
    SecretKeyLengthError,
    SignatureLengthError,
    SignatureMismatchError,
    SignaturePointError,
    SignatureScalarError,
    expand_secret,
    public_key_from_secret,
    sign,
    verify,
)
from otrv4.primitives.rng import DeterministicRng

from ...helpers.vectors import cases_of

RFC_PREFIX = "RFC 8032 §7.4 -----TEST "


class RFC8032Vector:
    """One Ed448 test vector of RFC 8032 §7.4 (all fields hex), read from a vector test."""

    def __init__(self, test: dict[str, Any]) -> None:
        self.name = test["comment"].removeprefix(RFC_PREFIX)
        self.secret, self.message, self.context = (
            test["inputs"][key] for key in ("secret", "message", "context"))
        self.public, self.signature = test["outputs"]["public"], test["outputs"]["signature"]


#: RFC 8032's Ed448 vectors, as the committed eddsa-ed448 vector file lists them.
RFC8032_ED448_VECTORS = [RFC8032Vector(t) for t in cases_of("eddsa-ed448", "EddsaSign")
                         if "Rfc8032" in t["flags"]]
RFC_IDS = [v.name for v in RFC8032_ED448_VECTORS]


def test_all_rfc_8032_ed448_vectors_are_present() -> None:
    assert RFC_IDS == [
        "blank", "1 octet", "1 octet (with context)", "11 octets", "12 octets",
        "13 octets", "64 octets", "256 octets", "1023 octets",
    ]
    lengths = [len(bytes.fromhex(v.message)) for v in RFC8032_ED448_VECTORS]
    assert lengths == [0, 1, 1, 11, 12, 13, 64, 256, 1023]


@pytest.mark.parametrize("vector", RFC8032_ED448_VECTORS, ids=RFC_IDS)
def test_rfc_8032_vectors(ed448_backend: str, vector: RFC8032Vector) -> None:
    secret, message = bytes.fromhex(vector.secret), bytes.fromhex(vector.message)
    context, signature = bytes.fromhex(vector.context), bytes.fromhex(vector.signature)
    public = bytes.fromhex(vector.public)
    assert public_key_from_secret(secret).encode() == public
    assert sign(secret, message, context) == signature
    verify(public, message, signature, context)
    verify(Point.decode(public), message, signature, context)


NO_CONTEXT = [v for v in RFC8032_ED448_VECTORS if not v.context]


@pytest.mark.parametrize("vector", NO_CONTEXT, ids=[v.name for v in NO_CONTEXT])
def test_rfc_8032_vectors_hold_for_openssl_too(vector: RFC8032Vector) -> None:
    """The data itself is right: OpenSSL (through cryptography, which has no context
    parameter, hence only the empty-context vectors) agrees with it."""
    key = Ed448PrivateKey.from_private_bytes(bytes.fromhex(vector.secret))
    message, signature = bytes.fromhex(vector.message), bytes.fromhex(vector.signature)
    assert key.public_key().public_bytes_raw() == bytes.fromhex(vector.public)
    assert key.sign(message) == signature


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=57, max_size=57), st.binary(max_size=300))
def test_signatures_are_byte_identical_to_cryptography(secret: bytes, message: bytes) -> None:
    key = Ed448PrivateKey.from_private_bytes(secret)
    signature = sign(secret, message)
    assert signature == key.sign(message)
    key.public_key().verify(signature, message)
    verify(public_key_from_secret(secret), message, signature)


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=57, max_size=57), st.binary(max_size=100), st.binary(max_size=114))
def test_we_refuse_what_openssl_refuses(secret: bytes, message: bytes, junk: bytes) -> None:
    public = public_key_from_secret(secret)
    openssl = Ed448PublicKey.from_public_bytes(public.encode())
    for candidate in (junk, sign(secret, message)[:57] + junk[:57].ljust(57, b"\x00")):
        try:
            openssl.verify(candidate, message)
            openssl_ok = True
        except InvalidSignature:
            openssl_ok = False
        try:
            verify(public, message, candidate)
            ours_ok = True
        except InvalidSignatureError:
            ours_ok = False
        assert ours_ok == openssl_ok


def test_expand_secret_and_key_pair() -> None:
    rng = DeterministicRng("test_eddsa key pair")
    pair = EdDSAKeyPair.generate(rng)
    scalar, prefix = expand_secret(pair.sym_key)
    assert pair.scalar == scalar and len(prefix) == 57
    assert 2**447 <= scalar < 2**448 and scalar % 4 == 0
    assert pair.public == base_mul(scalar) == public_key_from_secret(pair.sym_key)
    assert pair.sign(b"m") == sign(pair.sym_key, b"m")
    assert EdDSAKeyPair.from_secret(pair.sym_key) == pair
    assert pair.sym_key.hex() not in repr(pair) and str(pair.scalar) not in repr(pair)
    for bad in (bytes(56), bytes(58), b""):
        with pytest.raises(SecretKeyLengthError):
            public_key_from_secret(bad)
        with pytest.raises(SecretKeyLengthError):
            sign(bad, b"m")


SECRET = bytes(range(57))
MESSAGE = b"a Client Profile"


def good_signature() -> bytes:
    return sign(SECRET, MESSAGE)


def flip(data: bytes, index: int, mask: int = 1) -> bytes:
    b = bytearray(data)
    b[index] ^= mask
    return bytes(b)


def refusals() -> list[tuple[str, bytes, bytes, bytes, type[Exception]]]:
    sig = good_signature()
    pub = public_key_from_secret(SECRET).encode()
    s = int.from_bytes(sig[57:], "little")
    return [
        ("113 bytes", pub, MESSAGE, sig[:113], SignatureLengthError),
        ("115 bytes", pub, MESSAGE, sig + b"\x00", SignatureLengthError),
        ("empty", pub, MESSAGE, b"", SignatureLengthError),
        ("S + q", pub, MESSAGE, sig[:57] + (s + Q).to_bytes(57, "little"), SignatureScalarError),
        ("S = 2^456 - 1", pub, MESSAGE, sig[:57] + b"\xff" * 57, SignatureScalarError),
        ("R with y = p", pub, MESSAGE, (2**448 - 2**224 - 1).to_bytes(57, "little") + sig[57:],
         SignaturePointError),
        ("R with y = 2", pub, MESSAGE, (2).to_bytes(57, "little") + sig[57:],
         SignaturePointError),
        ("R another point", pub, MESSAGE, base_mul(7).encode() + sig[57:],
         SignatureMismatchError),
        ("R negated", pub, MESSAGE, flip(sig, 56, 0x80), SignatureMismatchError),
        ("S bit flipped", pub, MESSAGE, flip(sig, 60), SignatureMismatchError),
        ("other message", pub, MESSAGE + b"!", sig, SignatureMismatchError),
        ("other key", base_mul(3).encode(), MESSAGE, sig, SignatureMismatchError),
        ("identity key", b"\x01" + bytes(56), MESSAGE, sig, IdentityPointError),
    ]


@pytest.mark.parametrize(("name", "public", "message", "signature", "error"), refusals(),
                         ids=[r[0] for r in refusals()])
def test_each_refusal_has_its_class(
    ed448_backend: str, name: str, public: bytes, message: bytes, signature: bytes,
    error: type[Exception],
) -> None:
    with pytest.raises(error) as info:
        verify(public, message, signature)
    assert type(info.value) is error


def test_good_signature_and_context(ed448_backend: str) -> None:
    pub = public_key_from_secret(SECRET)
    verify(pub, MESSAGE, good_signature())
    with pytest.raises(SignatureMismatchError):
        verify(pub, MESSAGE, good_signature(), b"foo")
    signed = sign(SECRET, MESSAGE, b"foo")
    assert signed != good_signature()
    verify(pub, MESSAGE, signed, b"foo")
    with pytest.raises(ValueError):
        sign(SECRET, MESSAGE, bytes(256))
    with pytest.raises(ValueError):
        verify(pub, MESSAGE, signed, bytes(256))


def test_error_hierarchy() -> None:
    for error in (SignatureLengthError, SignaturePointError, SignatureScalarError,
                  SignatureMismatchError):
        assert issubclass(error, InvalidSignatureError)
    assert issubclass(SignatureLengthError, DecodeError)
