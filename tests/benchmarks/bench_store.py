"""Benchmark: the cost of persisting device state per message.

Run: ``PYTHONPATH=spec_impl .venv/bin/python tests/benchmarks/bench_store.py``

Two devices (engines) exchange messages; each message is one ``send`` on one
engine and one ``receive`` on the other, so one message commits twice (the
sender's ratchet before the stanza leaves, the receiver's ratchet and the
plaintext before it is shown).  Rows, all in this process: no store (the
in-memory engine, the reference), :class:`~otrv4_xmpp.state.store.MemoryStore`
(serialization only), :class:`~otrv4_xmpp.state.sqlite.SQLiteStore` with the
default durability (``full``: WAL, ``synchronous=FULL``) and with ``normal``
(survives a process crash, not a power failure).  Half of the messages are
answers, so chains turn over as in a conversation.  Target: SQLite with the
default durability at most 3x the in-memory cost per message.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from otrv4.clock import FixedClock
from otrv4.primitives.rng import DeterministicRng
from otrv4_xmpp.device import DeviceIdentity
from otrv4_xmpp.engine import DeviceEngine
from otrv4_xmpp.state.sqlite import SQLiteStore
from otrv4_xmpp.state.store import DeviceStore, MemoryStore

NOW = 1776945600
A, B = "juliet@capulet.lit/phone", "romeo@montague.lit/desktop"
TEXT = "The quick brown fox jumps over the lazy dog. " * 3
MESSAGES = 300
ROUNDS = 5


def conversation(make_store: Callable[[str], DeviceStore | None]) -> float:
    """Seconds per message (send + receive) over :data:`MESSAGES` messages."""
    rng, clock = DeterministicRng("bench-store"), FixedClock(NOW)
    a = DeviceEngine(DeviceIdentity.generate(rng, clock, instance_tag=0x1001), A, rng=rng,
                     clock=clock, store=make_store("a"))
    b = DeviceEngine(DeviceIdentity.generate(rng, clock, instance_tag=0x2002), B, rng=rng,
                     clock=clock, store=make_store("b"))
    queue = [(b, A, d) for d in a.start_dake(B).payloads]
    while queue:
        dst, src, data = queue.pop(0)
        back, back_src = (a, B) if dst is b else (b, A)
        queue.extend((back, back_src, d) for d in dst.receive(src, data).payloads)
    t = time.perf_counter()
    for n in range(MESSAGES):
        sender, receiver, src, peer, tag = (a, b, A, "romeo@montague.lit", 0x2002) \
            if (n // 3) % 2 == 0 else (b, a, B, "juliet@capulet.lit", 0x1001)
        for data in sender.send(peer, tag, TEXT).payloads:
            receiver.receive(src, data)
    elapsed = (time.perf_counter() - t) / MESSAGES
    for e in (a, b):
        if e.store is not None:
            e.store.close()
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        counter = iter(range(10_000))

        def sqlite(durability: str) -> Callable[[str], DeviceStore | None]:
            return lambda name: SQLiteStore(Path(tmp) / f"{name}-{next(counter)}.db",
                                            durability=durability)  # type: ignore[arg-type]
        rows: list[tuple[str, Callable[[str], DeviceStore | None]]] = [
            ("no store (in memory)", lambda _: None),
            ("MemoryStore (serialization)", lambda _: MemoryStore()),
            ("SQLiteStore durability=full (default)", sqlite("full")),
            ("SQLiteStore durability=normal", sqlite("normal")),
        ]
        samples: dict[str, list[float]] = {name: [] for name, _ in rows}
        for _ in range(ROUNDS):  # interleaved rounds, median per row
            for name, make in rows:
                samples[name].append(conversation(make))
        base = statistics.median(samples[rows[0][0]])
        print(f"per message (send + receive, {MESSAGES} messages, median of {ROUNDS} rounds)")
        for name, _ in rows:
            m = statistics.median(samples[name])
            print(f"  {name:40s} {m * 1e3:7.3f} ms   {m / base:5.2f}x the in-memory cost")


if __name__ == "__main__":
    main()
