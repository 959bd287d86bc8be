"""Tests of otrv4.primitives.ecdh: generateECDH() and ECDH(a, B)."""

from __future__ import annotations

import hashlib

import pytest
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from otrv4.primitives.ecdh import (
    ECDHKeyPair,
    ECDHSeedLengthError,
    ZeroSharedSecretError,
    ecdh,
    generate_ecdh,
)
from otrv4.primitives.ed448 import (
    IdentityPointError,
    P,
    Point,
    PointNotInSubgroupError,
    PointNotOnCurveError,
    Q,
    SmallOrderPointError,
    base_mul,
)
from otrv4.primitives.rng import DeterministicRng, RecordingRng


def test_generate_ecdh_follows_the_spec(ed448_backend: str) -> None:
    rng = RecordingRng(DeterministicRng("test_ecdh generate"))
    pair = generate_ecdh(rng)
    assert len(rng.draws) == 1 and pair.seed == rng.draws[0].value and len(pair.seed) == 57
    h = bytearray(hashlib.shake_256(pair.seed).digest(114)[:57])
    h[0] &= 0b11111100
    h[56] = 0
    h[55] |= 0b10000000
    assert pair.secret == int.from_bytes(h, "little")  # kept as the spec's s, unreduced
    assert pair.secret > Q and pair.secret % 4 == 0
    assert pair.public == base_mul(pair.secret)
    assert ECDHKeyPair.from_seed(pair.seed) == pair
    assert pair.seed.hex() not in repr(pair) and str(pair.secret) not in repr(pair)


def test_ecdh_public_keys_are_rfc_8032_public_keys() -> None:
    rng = DeterministicRng("test_ecdh rfc 8032")
    for _ in range(10):
        pair = generate_ecdh(rng)
        openssl = Ed448PrivateKey.from_private_bytes(pair.seed).public_key()
        assert pair.public.encode() == openssl.public_bytes(Encoding.Raw, PublicFormat.Raw)


def test_seed_length() -> None:
    for bad in (b"", bytes(56), bytes(58)):
        with pytest.raises(ECDHSeedLengthError):
            ECDHKeyPair.from_seed(bad)


def test_shared_secret_is_symmetric(ed448_backend: str) -> None:
    rng = DeterministicRng("test_ecdh shared")
    alice, bob = generate_ecdh(rng), generate_ecdh(rng)
    k = ecdh(alice.secret, bob.public)
    assert k == ecdh(bob.secret, alice.public)
    assert k == ecdh(alice.secret, bob.public.encode())
    assert k == (bob.public * alice.secret).encode() == base_mul(alice.secret * bob.secret).encode()
    assert len(k) == 57


def test_zero_shared_secret_is_refused(ed448_backend: str) -> None:
    bob = generate_ecdh(DeterministicRng("test_ecdh zero"))
    for secret in (0, Q, 4 * Q, -Q):
        with pytest.raises(ZeroSharedSecretError):
            ecdh(secret, bob.public)
    # A small-order B given as a Point (skipping decode's validation) gives the identity
    # with a clamped secret: the spec's contributory-behaviour check catches it.
    for xy in [(0, P - 1), (1, 0), (P - 1, 0)]:
        with pytest.raises(ZeroSharedSecretError):
            ecdh(bob.secret, Point.from_affine(*xy))
    # With an unclamped odd secret, (-1, 0) stays (-1, 0): the literal all-zero encoding.
    with pytest.raises(ZeroSharedSecretError):
        ecdh(1, Point.from_affine(P - 1, 0))


def test_received_public_keys_are_validated(ed448_backend: str) -> None:
    a = generate_ecdh(DeterministicRng("test_ecdh validate")).secret
    cases: list[tuple[bytes, type[Exception]]] = [
        (b"\x01" + bytes(56), IdentityPointError),
        (bytes(57), SmallOrderPointError),
        ((base_mul(9) + Point.from_affine(1, 0)).encode(), PointNotInSubgroupError),
        ((2).to_bytes(57, "little"), PointNotOnCurveError),
    ]
    for data, error in cases:
        with pytest.raises(error) as info:
            ecdh(a, data)
        assert type(info.value) is error
