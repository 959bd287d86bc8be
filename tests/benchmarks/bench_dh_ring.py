"""Benchmark: 3072-bit DH and the ring signature, against alternatives in the same run.

Run: ``make bench``.

These rows are floors and self-comparisons, not peers: no verdict is given here
(the DAKE benchmark compares the protocol with python-omemo).  They show what
each implementation choice saves.  Rows and their alternatives:

* ``generateDH`` (a 640-bit exponent of 2) and ``DH(a, B)`` (a 640-bit exponent of a
  3072-bit value) with ``gmpy2``; peer: the same with Python's ``pow``;
* the subgroup check of a received DH value by the Legendre symbol (``gmpy2.jacobi``
  and the pure-Python :func:`~otrv4.primitives.dh3072.jacobi_symbol`); peer: the
  specification's ``x ^ q mod p`` (gmpy2);
* ``RSig`` and ``RVrf`` (and both together) with the default Ed448 backend (libdecaf
  where installed); peer: OpenSSL Ed448 sign and verify through ``cryptography``
  (one signature of one key, where the ring signature proves knowledge of one of
  three keys).

Prints milliseconds per operation (best of 5 rounds) and the ratio to the
alternative, every line marked FLOOR.
"""

from __future__ import annotations

import timeit
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey

from otrv4.primitives import dh3072, ed448
from otrv4.primitives.dh3072 import P, Q, dh_shared_secret, generate_dh, jacobi_symbol
from otrv4.primitives.ring_signature import ring_sign, ring_verify
from otrv4.primitives.rng import DeterministicRng


def per_op_ms(fn: Callable[[], Any], budget: float = 0.3) -> float:
    """Best time per call of ``fn``, in milliseconds, over 5 rounds of about ``budget`` s each."""
    timer = timeit.Timer(fn)
    number, elapsed = timer.autorange()
    number = max(1, int(number * budget / max(elapsed, 1e-9)))
    return min(timer.repeat(repeat=5, number=number)) / number * 1e3


def with_backend(name: dh3072.Backend, fn: Callable[[], Any]) -> Callable[[], Any]:
    def run() -> Any:
        previous = dh3072.set_backend(name)
        try:
            return fn()
        finally:
            dh3072.set_backend(previous)
    return run


def main() -> None:
    rng = DeterministicRng("bench_dh_ring")
    alice, bob = generate_dh(rng), generate_dh(rng)
    received = bob.public
    rows: list[tuple[str, float, str, float]] = []

    backends = dh3072.available_backends()
    if "gmpy2" in backends:
        import gmpy2

        def gmp_exp_check() -> bool:
            return bool(gmpy2.powmod(received, Q, P) == 1)

        rows.append((
            "generateDH (gmpy2)", per_op_ms(with_backend("gmpy2", lambda: generate_dh(rng))),
            "generateDH (pow)", per_op_ms(with_backend("pow", lambda: generate_dh(rng))),
        ))
        rows.append((
            "DH(a, B) incl. check (gmpy2)",
            per_op_ms(with_backend("gmpy2", lambda: dh_shared_secret(alice.secret, received))),
            "DH(a, B) incl. check (pow)",
            per_op_ms(with_backend("pow", lambda: dh_shared_secret(alice.secret, received))),
        ))
        exp_ms = per_op_ms(gmp_exp_check)
        rows.append(("subgroup: gmpy2.jacobi", per_op_ms(lambda: gmpy2.jacobi(received, P)),
                     "x^q mod p (gmpy2)", exp_ms))
        rows.append(("subgroup: jacobi_symbol (Python)",
                     per_op_ms(lambda: jacobi_symbol(received, P)), "x^q mod p (gmpy2)", exp_ms))
    else:  # pragma: no cover - depends on the environment
        print("gmpy2 is not importable: only the pow backend is measured")
        rows.append(("generateDH (pow)", per_op_ms(lambda: generate_dh(rng)),
                     "generateDH (pow)", per_op_ms(lambda: generate_dh(rng))))
        rows.append(("subgroup: jacobi_symbol (Python)",
                     per_op_ms(lambda: jacobi_symbol(received, P)), "x^q mod p (pow)",
                     per_op_ms(lambda: pow(received, Q, P))))

    secrets = [ed448.random_scalar(rng) for _ in range(3)]
    ring = (ed448.base_mul(secrets[0]), ed448.base_mul(secrets[1]), ed448.base_mul(secrets[2]))
    message = rng.random_bytes(200)
    sigma = ring_sign(secrets[1], ring, message, rng)
    openssl_key = Ed448PrivateKey.from_private_bytes(rng.random_bytes(57))
    openssl_pub = openssl_key.public_key()
    openssl_sig = openssl_key.sign(message)

    def rsig() -> Any:
        return ring_sign(secrets[1], ring, message, rng)

    def rvrf() -> None:
        ring_verify(ring, sigma, message)

    def both() -> None:
        ring_verify(ring, ring_sign(secrets[1], ring, message, rng), message)

    def ossl_both() -> None:
        openssl_pub.verify(openssl_key.sign(message), message)

    backend = ed448.DEFAULT_BACKEND  # libdecaf where it loads, else pycryptodome ("fast")
    with ed448.using_backend(backend):
        rows.append((f"RSig ({backend})", per_op_ms(rsig),
                     "OpenSSL Ed448 sign", per_op_ms(lambda: openssl_key.sign(message))))
        rows.append((f"RVrf ({backend})", per_op_ms(rvrf),
                     "OpenSSL Ed448 verify",
                     per_op_ms(lambda: openssl_pub.verify(openssl_sig, message))))
        rows.append((f"RSig + RVrf ({backend})", per_op_ms(both),
                     "OpenSSL Ed448 sign + verify", per_op_ms(ossl_both)))

    if dh3072.openssl_available():
        def gmpy2_shared() -> int:
            previous = dh3072.set_openssl(False)
            try:
                return dh_shared_secret(alice.secret, received)
            finally:
                dh3072.set_openssl(previous)

        rows.append(("DH(a, B), OpenSSL constant-time (default)",
                     per_op_ms(lambda: dh_shared_secret(alice.secret, received)),
                     "DH(a, B), gmpy2.powmod_sec", per_op_ms(gmpy2_shared)))

    width = max(len(r[0]) for r in rows)
    peer_width = max(len(r[2]) for r in rows)
    print(f"FLOOR   {'operation':<{width}}  {'ms/op':>8}  {'alternative':<{peer_width}}  "
          f"{'ms/op':>8}  ratio")
    for name, ms, peer, peer_ms in rows:
        print(f"FLOOR   {name:<{width}}  {ms:8.3f}  {peer:<{peer_width}}  {peer_ms:8.3f}  "
              f"{ms / peer_ms:7.3g}x")
    print("FLOOR rows are self-comparisons and primitive floors (OpenSSL's one-key Ed448 is "
          "not a ring signature): no verdict")


if __name__ == "__main__":
    main()
