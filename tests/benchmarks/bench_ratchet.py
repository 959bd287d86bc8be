"""Benchmark: the double ratchet per message against python-omemo's, same run.

Run: ``make bench``.

Ours: :class:`otrv4.ratchet.DoubleRatchet`, a data message encrypted by one
side and decrypted (decoded, authenticated, decrypted) by the other, as wire
bytes.  The peer: one message of python-omemo 2.1's OMEMO:2 backend
(:class:`peers.OmemoMessages`: the content encrypted, its key material encrypted
with twomemo's Double Ratchet and serialized, then parsed and decrypted on the
other side), in a session built by the backend's own X3DH, same plaintext.
Also an INFO row against the bare Double Ratchet (``peers.OmemoRatchet``: no
content encryption, no serialization), the peer's floor.

Rows:

* within a chain (target <= 0.1x the peer's within-chain message);
* a direction change, i.e. the first message of a new chain (a new ECDH key
  pair and agreement on both sides), for ours separately without and with the
  3072-bit DH step (every third chain, the brace key), against the peer's
  direction change (a new X25519 ratchet step).  Reported, no target;
* the traced memory of both of our ratchets during a 10,000-message
  conversation (tracemalloc), which must not grow once keys are consumed.
"""

from __future__ import annotations

import gc
import statistics
import sys
import time
import tracemalloc
from array import array
from collections.abc import Callable

import harness
import peers

from otrv4.primitives import cipher
from otrv4.primitives.dh3072 import generate_dh
from otrv4.primitives.ecdh import generate_ecdh
from otrv4.primitives.rng import DeterministicRng, SystemRng
from otrv4.ratchet import DataMessage, DoubleRatchet, RatchetStart, chain_uses_dh

PLAINTEXT = b"The quick brown fox jumps over the lazy dog. " * 3
WITHIN_CHAIN_TARGET = 0.1


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


def direction_changes(rounds: int, per_round: int) -> harness.Report:
    """Per round: ``per_round`` direction changes of ours (classified by the DH step) and of
    the peer, interleaved; the per-round medians make the comparisons."""
    a, b = pair()
    rng = SystemRng()
    peer = peers.OmemoMessages()
    ours_state = [a, b]
    ecdh_ms: list[float] = []
    dh_ms: list[float] = []
    peer_ms: list[float] = []
    gc.disable()
    try:
        for r in range(rounds):
            ecdh_only: list[float] = []
            with_dh: list[float] = []
            theirs: list[float] = []
            for half in ((0, 1) if r % 2 == 0 else (1, 0)):
                for _ in range(per_round):
                    if half == 0:
                        sender, receiver = ours_state
                        t = time.perf_counter()
                        wire = sender.encrypt(PLAINTEXT, rng).message.encode()
                        message = DataMessage.decode(wire)
                        receiver.decrypt(message)
                        dt = (time.perf_counter() - t) * 1e3
                        (with_dh if chain_uses_dh(message.ratchet_id) else ecdh_only).append(dt)
                        ours_state.reverse()
                    else:
                        t = time.perf_counter()
                        peer.send(PLAINTEXT, swap=True)
                        theirs.append((time.perf_counter() - t) * 1e3)
            ecdh_ms.append(statistics.median(ecdh_only))
            dh_ms.append(statistics.median(with_dh))
            peer_ms.append(statistics.median(theirs))
    finally:
        gc.enable()
    report = harness.Report("ratchet-direction")
    for name, ours in (("direction change, ECDH step only", ecdh_ms),
                       ("direction change with the DH-3072 step", dh_ms)):
        c = harness.Comparison(name, "python-omemo message with a direction change", ours,
                               peer_ms)
        print(c.line())
        report.add(c)
    return report


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


def main() -> int:
    if not peers.available():
        print("VERDICT message within a chain: no peer (python-omemo not installed; "
              "pip install -e '.[bench]'): UNMEASURED")
        return 1
    report = harness.Report("ratchet")
    print(f"ChaCha20 backend: {cipher.get_backend()}; rounds: {harness.ROUNDS}")
    a, b = pair()
    rng = SystemRng()

    def ours() -> None:
        b.decrypt(DataMessage.decode(a.encrypt(PLAINTEXT, rng).message.encode()))

    peer = peers.OmemoMessages()
    bare = peers.OmemoRatchet(PLAINTEXT)

    def theirs() -> None:
        peer.send(PLAINTEXT)

    def bare_ratchet() -> None:
        bare.send(bare.alice, bare.bob, PLAINTEXT)

    report.add(harness.compare("message encrypt+decrypt within a chain", ours, theirs,
                               "python-omemo message within a chain",
                               target=WITHIN_CHAIN_TARGET))
    report.add(harness.compare("message encrypt+decrypt within a chain", ours, bare_ratchet,
                               "python-omemo bare Double Ratchet (its floor)", rounds=7))
    if "libsodium" in cipher.available_backends():
        def on(name: cipher.CipherBackend) -> Callable[[], None]:
            def run() -> None:
                with cipher.using_backend(name):
                    ours()
            return run

        report.add(harness.compare(
            "message encrypt+decrypt, ChaCha20 on libsodium", on("libsodium"),
            on("cryptography"), "the same on cryptography's ChaCha20", rounds=7,
            note="the project against itself: what the optional libsodium backend saves"))
    else:
        print("INFO    ChaCha20 on cryptography: libsodium is not installed "
              "(apt-get install libsodium23)")
    direction = direction_changes(rounds=harness.ROUNDS, per_round=9)
    report.comparisons.extend(direction.comparisons)

    samples = memory(10_000, per_chain=20)
    print("10,000-message conversation (chains of 20 messages), traced memory:")
    for i, used in samples[::3]:
        print(f"  after {i:6,} messages: {used / 1024:8.1f} KiB")
    growth = samples[-1][1] - samples[0][1]
    print(f"INFO    memory growth from 1,000 to 10,000 messages: {growth / 1024:.1f} KiB")
    report.series["memory_bytes"] = samples
    report.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
