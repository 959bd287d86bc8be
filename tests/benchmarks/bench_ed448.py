"""Benchmark: Ed448 points, EdDSA and ECDH, per backend, against OpenSSL in the same run.

Run: ``PYTHONPATH=spec_impl .venv/bin/python tests/benchmarks/bench_ed448.py``

Peers (measured here, through ``cryptography``):

* fixed-base multiplication: Ed448 key generation from a secret
  (``Ed448PrivateKey.from_private_bytes(...).public_key()``, SHAKE-256 + ``s * B``);
* variable-base multiplication: an X448 exchange (a Montgomery ladder);
* point decoding: ``Ed448PublicKey.from_public_bytes`` (decoding only; OpenSSL does
  not check subgroup membership, we do: the row "literal q*P == I check" shows
  what the spec's multiplication would cost, against the fast backend's
  square-root-and-Jacobi test inside "Point.decode (validated)");
* EdDSA sign and verify: ``Ed448PrivateKey.sign`` / ``Ed448PublicKey.verify``.

Prints milliseconds per operation (best of several rounds) and the ratio to the
peer.  These are primitive floors (OpenSSL's C against pycryptodome's C and the
pure-Python reference), not protocol peers: no verdict.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey, Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.x448 import X448PrivateKey

from otrv4.primitives import ed448
from otrv4.primitives.ecdh import ecdh, generate_ecdh
from otrv4.primitives.ed448 import Point, base_mul
from otrv4.primitives.eddsa import public_key_from_secret, sign, verify
from otrv4.primitives.rng import DeterministicRng


def per_op_ms(fn: Callable[[], Any], budget: float = 0.1) -> float:
    """Best time per call of ``fn``, in milliseconds, over 5 rounds of about ``budget`` s each."""
    timer = timeit.Timer(fn)
    number, _ = timer.autorange()
    number = max(1, int(number * budget / 0.2))
    return min(timer.repeat(repeat=5, number=number)) / number * 1e3


def main() -> None:
    rng = DeterministicRng("bench_ed448")
    secret = rng.random_bytes(57)
    message = rng.random_bytes(200)
    k = ed448.random_scalar(rng)
    point = base_mul(ed448.random_scalar(rng))
    encoded = point.encode()
    x448_a, x448_b = X448PrivateKey.generate(), X448PrivateKey.generate().public_key()
    openssl_key = Ed448PrivateKey.from_private_bytes(secret)
    openssl_sig = openssl_key.sign(message)
    openssl_pub = openssl_key.public_key()
    openssl_pub_bytes = openssl_pub.public_bytes_raw()
    pair, peer = generate_ecdh(rng), generate_ecdh(rng)

    def openssl_verify() -> None:
        openssl_pub.verify(openssl_sig, message)

    peers: dict[str, tuple[str, Callable[[], Any]]] = {
        "fixed-base mult G*k": (
            "OpenSSL Ed448 keygen",
            lambda: Ed448PrivateKey.from_private_bytes(secret).public_key(),
        ),
        "variable-base mult P*k": ("OpenSSL X448 exchange", lambda: x448_a.exchange(x448_b)),
        "Point.decode (validated)": (
            "OpenSSL Ed448 pubkey decode",
            lambda: Ed448PublicKey.from_public_bytes(openssl_pub_bytes),
        ),
        "Point.decode_rfc8032": (
            "OpenSSL Ed448 pubkey decode",
            lambda: Ed448PublicKey.from_public_bytes(openssl_pub_bytes),
        ),
        "literal q*P == I check": ("(no peer)", lambda: None),
        "P + Q": ("(no peer)", lambda: None),
        "encode": ("(no peer)", lambda: None),
        "EdDSA keygen": (
            "OpenSSL Ed448 keygen",
            lambda: Ed448PrivateKey.from_private_bytes(secret).public_key(),
        ),
        "EdDSA sign": ("OpenSSL Ed448 sign", lambda: openssl_key.sign(message)),
        "EdDSA verify": ("OpenSSL Ed448 verify", openssl_verify),
        "ECDH shared secret": ("OpenSSL X448 exchange", lambda: x448_a.exchange(x448_b)),
    }

    def ours() -> dict[str, Callable[[], Any]]:
        fresh = base_mul(12345)  # a point whose coordinates are not cached yet

        def add_and_keep() -> Point:
            return point + fresh

        return {
            "fixed-base mult G*k": lambda: base_mul(k),
            "variable-base mult P*k": lambda: point * k,
            "Point.decode (validated)": lambda: Point.decode(encoded),
            "Point.decode_rfc8032": lambda: Point.decode_rfc8032(encoded),
            "literal q*P == I check": lambda: (point * ed448.Q).is_identity(),
            "P + Q": add_and_keep,
            "encode": lambda: (point + fresh).encode(),
            "EdDSA keygen": lambda: public_key_from_secret(secret),
            "EdDSA sign": lambda: sign(secret, message),
            "EdDSA verify": lambda: verify(point_pub, message, openssl_sig),
            "ECDH shared secret": lambda: ecdh(pair.secret, peer.public),
        }

    point_pub = public_key_from_secret(secret)
    results: dict[str, dict[str, float]] = {}
    for backend in ("fast", "reference"):
        with ed448.using_backend(backend):
            for name, fn in ours().items():
                budget = 0.1 if backend == "fast" else 0.03
                results.setdefault(name, {})[backend] = per_op_ms(fn, budget)
    for name, (_, fn) in peers.items():
        no_peer = peers[name][0] == "(no peer)"
        results[name]["peer"] = float("nan") if no_peer else per_op_ms(fn)

    header = (f"{'operation':28} {'fast ms':>9} {'ref ms':>9} {'peer ms':>9} "
              f"{'fast/peer':>9} {'ref/fast':>9}  peer")
    print(header)
    print("-" * len(header))
    for name, row in results.items():
        peer_name = peers[name][0]
        fast, ref, peer_ms = row["fast"], row["reference"], row["peer"]
        ratio = f"{fast / peer_ms:9.2f}" if peer_ms == peer_ms else f"{'-':>9}"
        peer_col = f"{peer_ms:9.4f}" if peer_ms == peer_ms else f"{'-':>9}"
        print(f"{name:28} {fast:9.4f} {ref:9.3f} {peer_col} {ratio} {ref / fast:9.1f}  "
              f"{peer_name}")
    print()
    target = results["variable-base mult P*k"]["fast"]
    print(f"FLOOR   variable-base mult, fast backend: {target:.4f} ms (design budget 0.5 ms: "
          f"{'within' if target <= 0.5 else 'over'}; a primitive floor, no verdict)")


if __name__ == "__main__":
    main()
