"""Benchmark: the xep_otr4 plugin on a real Prosody, against plaintext messages.

Run: ``PYTHONPATH=spec_impl:tests/benchmarks .venv/bin/python tests/benchmarks/bench_plugin.py``

For N = 1, 2, 4 receiving devices of Romeo (plus Juliet's sender), on a
throw-away Prosody on loopback, in the same run and on the same connections:

* ours: ``send_message`` until every device raised ``otr4_message`` with the text;
* the peer: a plaintext ``<body/>`` message to the bare JID, from send until
  every device raised ``message`` with it.

Each round sends ``PER_ROUND`` messages of each kind back to back, the order of
the two kinds alternating from round to round (as :func:`harness.compare`
does), and keeps the ratio of the per-message times; the figure is the median
of the per-round ratios with its spread, and a VERDICT line for the targets of
issue 15 (<= 2x plaintext for one device, <= 3x for four).  Completion is
signalled by the event handlers (no polling).  The DAKE times and stanza sizes
go into the JSON (``build/bench/plugin.json``) as a series.

Where the time goes: for each kind, the CPU time per message of the clients'
process and of Prosody (from ``/proc``, Linux only) over the measured rounds is
printed under each figure and kept in the series.  Every client runs in this one
process and event loop, so the devices' receiving work adds up in the latency;
the CPU split tells that apart from the server's work and from waiting on a
loaded machine.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import harness
from slixmpp import JID

from otrv4.primitives.rng import DeterministicRng
from otrv4_devtools.prosody import ProsodyServer, make_server, prosody_available
from otrv4_xmpp.slixmpp_plugin.client import Otr4Client

PER_ROUND = 5
WARMUP = 5
OPTIONS = {"prekeys_on_start": False, "timer_seconds": 0}
TARGETS = {1: 2.0, 4: 3.0}
PEER = "plaintext <body/> to the bare JID, same server and run"


class Arrivals:
    """Futures that complete when every one of ``count`` devices saw a given text."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.pending: dict[str, tuple[set[int], asyncio.Future[None]]] = {}

    def expect(self, text: str) -> asyncio.Future[None]:
        fut = asyncio.get_running_loop().create_future()
        self.pending[text] = (set(), fut)
        return fut

    def seen(self, device: int, text: str) -> None:
        entry = self.pending.get(text)
        if entry is None:
            return
        got, fut = entry
        got.add(device)
        if len(got) == self.count and not fut.done():
            del self.pending[text]
            fut.set_result(None)


class CpuClock:
    """CPU seconds used so far by this process and by the server's process (``None``
    where ``/proc`` cannot tell)."""

    def __init__(self, server_pid: int | None) -> None:
        self.stat = Path(f"/proc/{server_pid}/stat") if server_pid else None
        self.tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100

    def server(self) -> float | None:
        try:
            fields = self.stat.read_text().rsplit(")", 1)[1].split() if self.stat else None
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / self.tick if fields else None

    def now(self) -> tuple[float, float | None]:
        return time.process_time(), self.server()


class CpuUse:
    """CPU seconds and messages of one kind over the measured rounds."""

    def __init__(self) -> None:
        self.client = 0.0
        self.server: float | None = 0.0
        self.messages = 0

    def add(self, before: tuple[float, float | None], after: tuple[float, float | None],
            count: int) -> None:
        self.client += after[0] - before[0]
        if self.server is not None and before[1] is not None and after[1] is not None:
            self.server += after[1] - before[1]
        else:
            self.server = None
        self.messages += count

    def per_message_ms(self) -> dict[str, float | None]:
        n = max(self.messages, 1)
        return {"client_cpu_ms": self.client * 1e3 / n,
                "server_cpu_ms": None if self.server is None else self.server * 1e3 / n}


async def timed(send: Callable[[str], Awaitable[Any]], arrivals: Arrivals,
                label: str, count: int, cpu: tuple[CpuClock, CpuUse] | None = None) -> float:
    """Milliseconds per message over ``count`` messages sent one after the other (and
    the CPU they took added to ``cpu``)."""
    before = cpu[0].now() if cpu else None
    start = time.perf_counter()
    for i in range(count):
        text = f"{label} {i}"
        done = arrivals.expect(text)
        await send(text)
        await asyncio.wait_for(done, 10)
    elapsed = (time.perf_counter() - start) * 1e3 / count
    if cpu and before:
        cpu[1].add(before, cpu[0].now(), count)
    return elapsed


async def measure(server: ProsodyServer, n: int) -> dict[str, Any]:
    def client(user: str, resource: str) -> Otr4Client:
        return Otr4Client(server.jid(user, resource), server.password(user),
                          rng=DeterministicRng(f"bench/{n}/{user}/{resource}"), plaintext=True,
                          options=OPTIONS)

    juliet = client("juliet", "balcony")
    romeos = [client("romeo", f"r{i}") for i in range(n)]
    otr, plain = Arrivals(n), Arrivals(n)
    for i, r in enumerate(romeos):
        r.add_event_handler("otr4_message", lambda m, i=i: otr.seen(i, m.text))
        r.add_event_handler("message", lambda m, i=i: plain.seen(i, str(m["body"])))
    for c in (juliet, *romeos):
        await c.go_online("127.0.0.1", server.c2s_port)
    juliet.send_presence_subscription(pto="romeo@localhost")
    romeos[0].send_presence_subscription(pto="juliet@localhost")
    while len(juliet.otr.online_devices("romeo@localhost")) < n:
        await asyncio.sleep(0.02)
    t = time.perf_counter()
    sessions = await juliet.otr.start_sessions("romeo@localhost", timeout=30)
    dake = (time.perf_counter() - t) * 1e3
    assert len(sessions) == n, sessions
    size = 0

    async def send_otr(text: str) -> None:
        nonlocal size
        size = (await juliet.otr.send_message("romeo@localhost", text)).stanza_bytes

    async def send_plain(text: str) -> None:
        juliet.send_message(mto=JID("romeo@localhost"), mbody=text, mtype="chat")

    await timed(send_otr, otr, "otr warm-up", WARMUP)
    await timed(send_plain, plain, "plain warm-up", WARMUP)
    ours: list[float] = []
    peer: list[float] = []
    clock = CpuClock(server.process.pid if server.process else None)
    ours_cpu, peer_cpu = (clock, CpuUse()), (clock, CpuUse())
    for r in range(harness.ROUNDS):
        if r % 2:
            peer.append(await timed(send_plain, plain, f"plain {r}", PER_ROUND, peer_cpu))
            ours.append(await timed(send_otr, otr, f"otr {r}", PER_ROUND, ours_cpu))
        else:
            ours.append(await timed(send_otr, otr, f"otr {r}", PER_ROUND, ours_cpu))
            peer.append(await timed(send_plain, plain, f"plain {r}", PER_ROUND, peer_cpu))
    errors = sum(len(c.errors) for c in (juliet, *romeos))
    for c in (juliet, *romeos):
        await c.go_offline()
    return {"dake_ms": dake, "ours": ours, "peer": peer, "stanza_bytes": size,
            "otr4_errors": errors, "ours_cpu": ours_cpu[1].per_message_ms(),
            "peer_cpu": peer_cpu[1].per_message_ms()}


def cpu_line(ours: dict[str, float | None], peer: dict[str, float | None]) -> str:
    """Where the time went, per message: the clients' and the server's CPU."""
    def ms(v: float | None) -> str:
        return "n/a" if v is None else f"{v:.2f} ms"
    return (f"        CPU per message, ours vs plaintext: clients {ms(ours['client_cpu_ms'])} vs "
            f"{ms(peer['client_cpu_ms'])}; Prosody {ms(ours['server_cpu_ms'])} vs "
            f"{ms(peer['server_cpu_ms'])}")


async def main(folder: Path) -> None:
    print(f"xep_otr4 on Prosody (loopback): {harness.ROUNDS} rounds of {PER_ROUND} messages "
          f"of each kind, interleaved; median per-round ratio (spread)")
    report = harness.Report("plugin")
    rows = []
    for n in (1, 2, 4):
        server = make_server(folder / f"p{n}")
        server.start()
        try:
            r = await asyncio.wait_for(measure(server, n), 300)
        finally:
            server.stop()
        c = harness.Comparison(
            f"plugin on Prosody, one message to {n} device(s)", PEER, r["ours"], r["peer"],
            target=TARGETS.get(n),
            note=f"send_message until every device decrypted it; stanza {r['stanza_bytes']} B; "
                 f"{n} interactive DAKEs took {r['dake_ms']:.0f} ms")
        print(c.line(), flush=True)
        print(cpu_line(r["ours_cpu"], r["peer_cpu"]), flush=True)
        report.add(c)
        rows.append({"devices": n, "dake_ms": r["dake_ms"], "stanza_bytes": r["stanza_bytes"],
                     "otr_ms": statistics.median(r["ours"]),
                     "plain_ms": statistics.median(r["peer"]), "otr4_errors": r["otr4_errors"],
                     "otr_cpu": r["ours_cpu"], "plain_cpu": r["peer_cpu"]})
    report.series["plugin"] = rows
    report.notes.append("Latency on one machine: the clients share one event loop and "
                        "process; Prosody runs alongside. Times depend on the load.")
    report.write()


if __name__ == "__main__":
    if not prosody_available():
        print("prosody is not installed")
        sys.exit(2)
    with tempfile.TemporaryDirectory(prefix="otr4-bench-") as tmp:
        asyncio.run(main(Path(tmp)))
