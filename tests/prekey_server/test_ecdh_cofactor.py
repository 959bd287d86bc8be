"""Decision 105: the prekey server's ``ECDH(a, B)`` is ``a * B``, without the cofactor.

Checks ``examples/vectors/prekey-server-ecdh.json`` by an independent
computation, without the project's Ed448 code:

* the public keys with ``cryptography``'s Ed448 (``generateECDH()`` is RFC 8032
  key derivation, so the public key of the seed ``r`` is ``G * s``);
* the secret scalars with :func:`hashlib.shake_256` and the pruning rule;
* ``a * B`` and ``a * (4 * B)`` with the tiny affine Edwards448 arithmetic
  below, written from RFC 8032 §5.2 (curve ``x^2 + y^2 = 1 + d x^2 y^2``,
  ``d = -39081``; the projective addition and doubling formulas of §5.2.4,
  double-and-add; decoding per §5.2.3, encoding per §5.2.2);
* ``SK = SHAKE-256("OTR-Prekey-Server" || 0x01 || SK_ecdh, 64)`` with hashlib.

Then the production path (:func:`otrv4_prekey.dake.shared_secret`) must give
the value without the cofactor.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey

from otrv4.primitives.ed448 import Point
from otrv4_prekey.dake import shared_secret

from ..helpers.vectors import cases_of, unhex

CASES = cases_of("prekey-server-ecdh", "PrekeyServerEcdh")

# ---------------------------------------------------------------- RFC 8032 §5.2
P = 2**448 - 2**224 - 1
D = -39081 % P
Affine = tuple[int, int]


Projective = tuple[int, int, int]


def _add(a: Projective, b: Projective) -> Projective:
    """RFC 8032 §5.2.4, point addition (projective)."""
    (x1, y1, z1), (x2, y2, z2) = a, b
    aa = z1 * z2 % P
    bb = aa * aa % P
    c, d = x1 * x2 % P, y1 * y2 % P
    e = D * c * d % P
    f, g = (bb - e) % P, (bb + e) % P
    h = (x1 + y1) * (x2 + y2) % P
    return aa * f * (h - c - d) % P, aa * g * (d - c) % P, f * g % P


def _double(a: Projective) -> Projective:
    """RFC 8032 §5.2.4, point doubling (projective)."""
    x1, y1, z1 = a
    b = (x1 + y1) * (x1 + y1) % P
    c, d = x1 * x1 % P, y1 * y1 % P
    e = (c + d) % P
    j = (e - 2 * z1 * z1) % P
    return (b - e) * j % P, e * (c - d) % P, e * j % P


def _mul(k: int, point: Affine) -> Affine:
    """``k * point`` by double-and-add, back in affine coordinates."""
    base: Projective = (*point, 1)
    result: Projective = (0, 1, 1)
    for bit in bin(k)[2:]:
        result = _double(result)
        if bit == "1":
            result = _add(result, base)
    x, y, z = result
    inverse = pow(z, P - 2, P)
    return x * inverse % P, y * inverse % P


def _decode(data: bytes) -> Affine:
    """RFC 8032 §5.2.3 (the inputs are valid points: no rejection paths needed)."""
    y = int.from_bytes(data, "little") & ((1 << 455) - 1)
    sign = data[56] >> 7
    u, v = (y * y - 1) % P, (D * y * y - 1) % P
    x = pow(u, 3, P) * v * pow(pow(u, 5, P) * pow(v, 3, P) % P, (P - 3) // 4, P) % P
    assert v * x * x % P == u
    if x & 1 != sign:
        x = P - x
    return x, y


def _encode(point: Affine) -> bytes:
    x, y = point
    return (y | (x & 1) << 455).to_bytes(57, "little")


def _secret(r: bytes) -> int:
    h = bytearray(hashlib.shake_256(r).digest(114)[:57])
    h[0] &= 0xFC
    h[56] = 0
    h[55] |= 0x80
    return int.from_bytes(h, "little")


def _sk(sk_ecdh: bytes) -> bytes:
    return hashlib.shake_256(b"OTR-Prekey-Server" + b"\x01" + sk_ecdh).digest(64)


@pytest.mark.parametrize("test", CASES, ids=[t["comment"][-6:] for t in CASES])
def test_both_readings_recomputed_independently(test: dict[str, Any]) -> None:
    inputs, mid, out = test["inputs"], test["intermediates"], test["outputs"]
    keys = {}
    for who in ("publisher", "server"):
        r = unhex(inputs[f"{who}R"])
        public = Ed448PrivateKey.from_private_bytes(r).public_key().public_bytes_raw()
        assert public.hex() == mid[f"{who}Public"]
        secret = _secret(r)
        assert secret.to_bytes(57, "little").hex() == mid[f"{who}Secret"]
        keys[who] = (secret, _decode(public))
    (a, a_pub), (s, s_pub) = keys["publisher"], keys["server"]
    plain = _encode(_mul(a, s_pub))
    assert plain == _encode(_mul(s, a_pub))  # both parties agree
    with_cofactor = _encode(_mul(a, _mul(4, s_pub)))
    assert plain != with_cofactor
    assert (plain.hex(), with_cofactor.hex()) == (out["skEcdh"], out["skEcdhWithCofactor"])
    assert (_sk(plain).hex(), _sk(with_cofactor).hex()) == (out["sk"], out["skWithCofactor"])


@pytest.mark.parametrize("test", CASES, ids=[t["comment"][-6:] for t in CASES])
def test_the_server_dake_uses_the_value_without_cofactor(test: dict[str, Any]) -> None:
    mid, out = test["intermediates"], test["outputs"]
    secret = int.from_bytes(unhex(mid["publisherSecret"]), "little")
    server = Point.decode(unhex(mid["serverPublic"]))
    assert shared_secret(secret, server).hex() == out["sk"] != out["skWithCofactor"]
    server_secret = int.from_bytes(unhex(mid["serverSecret"]), "little")
    publisher = Point.decode(unhex(mid["publisherPublic"]))
    assert shared_secret(server_secret, publisher).hex() == out["sk"]
