"""Benchmark: the xep_otr4 plugin on a real Prosody, against plaintext messages.

Run: ``PYTHONPATH=spec_impl .venv/bin/python tests/benchmarks/bench_plugin.py``

For N = 1, 2, 4 receiving devices of Romeo (plus Juliet's sender), measures on
a throw-away Prosody on loopback:

* the interactive DAKEs (``start_sessions``) of the sender with all devices;
* the latency from ``send_message`` until every device decrypted the message
  (median of the rounds), and the stanza size;
* the peer in the same run: a plaintext ``<body/>`` message to the bare JID,
  from send until every device received it.

Times depend on the machine and its load; nothing here is asserted.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from slixmpp import JID

from otrv4.primitives.rng import DeterministicRng
from otrv4_devtools.prosody import ProsodyServer, make_server, prosody_available
from otrv4_xmpp.slixmpp_plugin.client import Otr4Client

ROUNDS = 15
OPTIONS = {"prekeys_on_start": False, "timer_seconds": 0}


async def measure(server: ProsodyServer, n: int) -> dict[str, float]:
    def client(user: str, resource: str) -> Otr4Client:
        return Otr4Client(server.jid(user, resource), server.password(user),
                          rng=DeterministicRng(f"bench/{n}/{user}/{resource}"), plaintext=True,
                          options=OPTIONS)

    juliet = client("juliet", "balcony")
    romeos = [client("romeo", f"r{i}") for i in range(n)]
    plain: dict[str, list[str]] = {r.boundjid.full: [] for r in romeos}
    for r in romeos:
        r.add_event_handler("message", lambda m, r=r: plain[r.boundjid.full].append(m["body"])
                            if m["body"].startswith("plain ") else None)
    for c in (juliet, *romeos):
        await c.go_online("127.0.0.1", server.c2s_port)
    juliet.send_presence_subscription(pto="romeo@localhost")
    romeos[0].send_presence_subscription(pto="juliet@localhost")
    while len(juliet.otr.online_devices("romeo@localhost")) < n:
        await asyncio.sleep(0.02)
    t = time.perf_counter()
    sessions = await juliet.otr.start_sessions("romeo@localhost", timeout=30)
    dake = time.perf_counter() - t
    assert len(sessions) == n + 0, sessions
    otr_lat: list[float] = []
    plain_lat: list[float] = []
    size = 0
    for i in range(ROUNDS):
        text = f"otr {i}"
        t = time.perf_counter()
        report = await juliet.otr.send_message("romeo@localhost", text)
        while not all(any(m.text == text for m in r.received) for r in romeos):
            await asyncio.sleep(0.0005)
        otr_lat.append(time.perf_counter() - t)
        size = report.stanza_bytes
        body = f"plain {i}"
        t = time.perf_counter()
        juliet.send_message(mto=JID("romeo@localhost"), mbody=body, mtype="chat")
        while not all(body in got for got in plain.values()):
            await asyncio.sleep(0.0005)
        plain_lat.append(time.perf_counter() - t)
    for c in (juliet, *romeos):
        await c.go_offline()
    return {"dake": dake, "otr": statistics.median(otr_lat),
            "plain": statistics.median(plain_lat), "size": float(size)}


async def main(folder: Path) -> None:
    print(f"xep_otr4 on Prosody (loopback), {ROUNDS} rounds per row, medians")
    print(f"{'devices':>7} {'DAKEs (ms)':>11} {'OTRv4 msg (ms)':>15} {'plain msg (ms)':>15} "
          f"{'ratio':>6} {'stanza (B)':>11}")
    for n in (1, 2, 4):
        server = make_server(folder / f"p{n}")
        server.start()
        try:
            r = await asyncio.wait_for(measure(server, n), 120)
        finally:
            server.stop()
        print(f"{n:>7} {r['dake'] * 1e3:>11.1f} {r['otr'] * 1e3:>15.2f} "
              f"{r['plain'] * 1e3:>15.2f} {r['otr'] / r['plain']:>6.1f} {int(r['size']):>11}")


if __name__ == "__main__":
    if not prosody_available():
        print("prosody is not installed")
        sys.exit(2)
    with tempfile.TemporaryDirectory(prefix="otr4-bench-") as tmp:
        asyncio.run(main(Path(tmp)))
