"""Benchmark: the double ratchet per message, and its memory over a long conversation.

Run: ``PYTHONPATH=spec_impl .venv/bin/python tests/benchmarks/bench_ratchet.py``

Rows: encrypt + decrypt of one data message (1) within a chain, (2) when the
message starts a new chain with an ECDH ratchet step only, (3) when the new
chain also agrees on a 3072-bit DH key (chains 1, 4, 7, ...).  The peer,
measured in the same run, is ``cryptography``'s ChaCha20Poly1305 encrypting
and decrypting the same plaintext.  Then the traced memory of both ratchets
during a 10,000-message conversation (tracemalloc), which must not grow once
keys are consumed.  Targets: <= 0.2 ms within a chain, <= 2 ms with an ECDH step.
"""

from __future__ import annotations

import gc
import os
import statistics
import time
import tracemalloc
from array import array

from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

from otrv4.primitives.dh3072 import generate_dh
from otrv4.primitives.ecdh import generate_ecdh
from otrv4.primitives.rng import DeterministicRng, SystemRng
from otrv4.ratchet import DoubleRatchet, RatchetInit, chain_uses_dh

PLAINTEXT = b"The quick brown fox jumps over the lazy dog. " * 3


def pair() -> tuple[DoubleRatchet, DoubleRatchet]:
    rng = DeterministicRng("bench-ratchet")
    k = rng.random_bytes(64)
    ae, be, ad, bd = generate_ecdh(rng), generate_ecdh(rng), generate_dh(rng), generate_dh(rng)
    a = DoubleRatchet(RatchetInit.interactive(k, sends_first=True, our_ecdh=ae,
                                              their_ecdh=be.public, our_dh=ad, their_dh=bd.public,
                                              our_tag=0x100, their_tag=0x200))
    b = DoubleRatchet(RatchetInit.interactive(k, sends_first=False, our_ecdh=be,
                                              their_ecdh=ae.public, our_dh=bd, their_dh=ad.public,
                                              our_tag=0x200, their_tag=0x100))
    return a, b


def within_chain(n: int) -> float:
    a, b = pair()
    rng = SystemRng()
    t = time.perf_counter()
    for _ in range(n):
        b.decrypt(a.encrypt(PLAINTEXT, rng).message)
    return (time.perf_counter() - t) / n


def ratchet_steps(n: int) -> tuple[float, float]:
    """Median cost of a message that starts a chain: (ECDH only, ECDH + DH)."""
    a, b = pair()
    rng = SystemRng()
    ecdh_only: list[float] = []
    with_dh: list[float] = []
    sender, receiver = a, b
    for _ in range(n):
        t = time.perf_counter()
        m = sender.encrypt(PLAINTEXT, rng).message
        receiver.decrypt(m)
        dt = time.perf_counter() - t
        if m.ratchet_id:
            (with_dh if chain_uses_dh(m.ratchet_id) else ecdh_only).append(dt)
        sender, receiver = receiver, sender
    return statistics.median(ecdh_only), statistics.median(with_dh)


def peer(n: int) -> float:
    key = os.urandom(32)
    aead = ChaCha20Poly1305(key)
    nonce = bytes(12)
    t = time.perf_counter()
    for _ in range(n):
        aead.decrypt(nonce, aead.encrypt(nonce, PLAINTEXT, b""), b"")
    return (time.perf_counter() - t) / n


def memory(total: int, per_chain: int) -> list[tuple[int, int]]:
    """Traced bytes held after every 1,000 messages (both ratchets, keys consumed in order)."""
    a, b = pair()
    rng = SystemRng()
    used = array("q", bytes(8 * (total // 1000)))  # allocated before tracing starts
    gc.collect()
    tracemalloc.start()
    sender, receiver = a, b
    for i in range(1, total + 1):
        receiver.decrypt(sender.encrypt(PLAINTEXT, rng).message)
        if i % per_chain == 0:
            sender, receiver = receiver, sender
        if i % 1000 == 0:
            gc.collect()
            used[i // 1000 - 1] = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    return [(1000 * (n + 1), used[n]) for n in range(len(used))]


def main() -> None:
    n = 2000
    chain = within_chain(n)
    ecdh_step, dh_step = ratchet_steps(300)
    base = peer(20000)
    rows = [
        ("encrypt+decrypt, within a chain", chain, 0.2e-3),
        ("encrypt+decrypt, new chain (ECDH step)", ecdh_step, 2e-3),
        ("encrypt+decrypt, new chain (ECDH + 3072-bit DH)", dh_step, None),
        ("peer: ChaCha20Poly1305 encrypt+decrypt", base, None),
    ]
    print(f"{'operation':52} {'ms/msg':>9} {'x peer':>9} {'target':>8}")
    for name, t, target in rows:
        tgt = f"{target * 1e3:.1f}" if target else "-"
        print(f"{name:52} {t * 1e3:9.4f} {t / base:9.1f} {tgt:>8}")
    samples = memory(10_000, per_chain=20)
    print()
    print("10,000-message conversation (chains of 20 messages), traced memory:")
    for i, used in samples:
        print(f"  after {i:6,} messages: {used / 1024:8.1f} KiB")
    growth = samples[-1][1] - samples[0][1]
    print(f"  growth from 1,000 to 10,000 messages: {growth / 1024:.1f} KiB")


if __name__ == "__main__":
    main()
