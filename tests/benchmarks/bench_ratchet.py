"""Benchmark: the double ratchet per message, and its memory over a long conversation.

Run: ``PYTHONPATH=spec_impl .venv/bin/python tests/benchmarks/bench_ratchet.py``

Rows: encrypt + decrypt of one data message (1) within a chain, (2) when the
message starts a new chain with an ECDH ratchet step only, (3) when the new
chain also agrees on a 3072-bit DH key (chains 1, 4, 7, ...), and (4) the
same as (1) through :func:`otrv4.session.step` and :func:`otrv4.session.receive`
(encoding, payload, copy-on-write of the ratchet included).  The peer,
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

from otrv4 import dake
from otrv4.clock import FixedClock
from otrv4.keys import ForgingKey
from otrv4.primitives.dh3072 import generate_dh
from otrv4.primitives.ecdh import generate_ecdh
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.rng import DeterministicRng, SystemRng
from otrv4.profiles import ClientProfile
from otrv4.ratchet import DoubleRatchet, RatchetStart, chain_uses_dh
from otrv4.session import Event, Send, Session, new_session, receive, step

PLAINTEXT = b"The quick brown fox jumps over the lazy dog. " * 3


def pair() -> tuple[DoubleRatchet, DoubleRatchet]:
    rng = DeterministicRng("bench-ratchet")
    k = rng.random_bytes(64)
    ae, be, ad, bd = generate_ecdh(rng), generate_ecdh(rng), generate_dh(rng), generate_dh(rng)
    a = DoubleRatchet(RatchetStart.interactive(k, sends_first=True, our_ecdh=ae,
                                              their_ecdh=be.public, our_dh=ad, their_dh=bd.public,
                                              our_tag=0x100, their_tag=0x200))
    b = DoubleRatchet(RatchetStart.interactive(k, sends_first=False, our_ecdh=be,
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


def session_pair() -> tuple[Session, Session, FixedClock]:
    """Two sessions in ENCRYPTED_MESSAGES after an interactive DAKE."""
    clock = FixedClock(1_700_000_000)
    rng = DeterministicRng("bench-ratchet-session")

    def context(tag: int, us: str, them: str) -> dake.DakeContext:
        kp, fk = EdDSAKeyPair.generate(rng), ForgingKey.generate(rng)
        profile = ClientProfile.create(kp, fk, tag, clock.now() + 86400)
        return dake.DakeContext(dake.Participant(kp, fk.public, profile), us, them, clock)

    a = new_session(context(0x100, "a@example.org", "b@example.org"))
    b = new_session(context(0x200, "b@example.org", "a@example.org"))
    b, out = step(b, Event.USER_START_INTERACTIVE, None, rng, clock)
    for_a = [o.text for o in out if isinstance(o, Send)]
    while for_a:
        for_b: list[str] = []
        for text in for_a:
            a, got = receive(a, text, rng, clock)
            for_b += [o.text for o in got if isinstance(o, Send)]
        for_a = []
        for text in for_b:
            b, got = receive(b, text, rng, clock)
            for_a += [o.text for o in got if isinstance(o, Send)]
    return a, b, clock


def within_chain_session(n: int) -> float:
    a, b, clock = session_pair()
    rng = SystemRng()
    text = PLAINTEXT.decode()
    t = time.perf_counter()
    for _ in range(n):
        a, out = step(a, Event.USER_SEND, text, rng, clock)
        b, _ = receive(b, out[0].text, rng, clock)  # type: ignore[union-attr]
    return (time.perf_counter() - t) / n


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
    through_session = within_chain_session(n)
    base = peer(20000)
    rows = [
        ("encrypt+decrypt, within a chain", chain, 0.2e-3),
        ("encrypt+decrypt, new chain (ECDH step)", ecdh_step, 2e-3),
        ("encrypt+decrypt, new chain (ECDH + 3072-bit DH)", dh_step, None),
        ("the same through session.step/receive", through_session, None),
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
