"""Benchmark of the prekey service (a script, not collected by pytest).

    make bench

No external peer exists for an OTRv4 prekey server, so nothing here gets a
verdict: every row compares the project with itself and is labelled a
self-comparison (what a design choice saves, not a win over anyone).
Printed, with the alternative measured in the same run:

* batch proofs of otrv4-prekey-server.md §Proofs for N = 100 values against
  100 single-value proofs (what the batch saves the server);
* the server's handling of a whole publication of 100 Prekey messages (decode,
  MAC, profiles, proofs, store) on SQLite against the in-memory storage;
* one retrieval (select and delete, in one transaction) on SQLite against the
  in-memory storage, and 4 threads retrieving at once against one thread;
* the scaling figure: retrievals per second on SQLite against the number of
  stored Prekey messages (1,000 to 100,000), written to
  ``build/bench/prekey.json`` for the docs' plot.
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import harness

from otrv4.clock import FixedClock
from otrv4.primitives.dh3072 import generate_dh
from otrv4.primitives.ecdh import generate_ecdh
from otrv4.primitives.kdf import PrekeyUsageID
from otrv4.primitives.rng import DeterministicRng
from otrv4_prekey.proofs import proof_context, prove_dh, prove_ecdh, verify_dh, verify_ecdh
from otrv4_prekey.storage import InMemoryStorage, SqliteStorage, Storage, StoredProfile

N = 100
NOW = 1_000_000


def timed(fn: Callable[[], object], repeat: int = 5) -> float:
    """Median wall time of ``fn`` in milliseconds."""
    samples = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t) * 1000)
    return statistics.median(samples)


def bench_proofs(rows: list[tuple[str, float, str, float]]) -> None:
    rng = DeterministicRng("bench:proofs")
    m = proof_context(b"\x01" * 64)
    usage = PrekeyUsageID.PROOF_MESSAGE_ECDH
    ecdh = [generate_ecdh(rng) for _ in range(N)]
    secrets, publics = [k.secret for k in ecdh], [k.public for k in ecdh]
    batch = prove_ecdh(secrets, publics, m, usage, rng)
    singles = [prove_ecdh([s], [p], m, usage, rng) for s, p in zip(secrets, publics, strict=True)]
    def batch_ecdh() -> None:
        verify_ecdh(batch, publics, m, usage)

    t_batch = timed(batch_ecdh, 3)
    def single_ecdh() -> None:
        for pr, p in zip(singles, publics, strict=True):
            verify_ecdh(pr, [p], m, usage)

    t_single = timed(single_ecdh, 3)
    rows.append((f"verify one Ed448 proof of {N} Y_i", t_batch,
                 f"{N} single-value proofs", t_single))
    dh = [generate_dh(rng) for _ in range(N)]
    dsec, dpub = [k.secret for k in dh], [k.public for k in dh]
    dbatch = prove_dh(dsec, dpub, m, rng)
    dsingles = [prove_dh([s], [p], m, rng) for s, p in zip(dsec, dpub, strict=True)]

    def batch_dh() -> None:
        verify_dh(dbatch, dpub, m)

    t_dbatch = timed(batch_dh, 3)
    def single_dh() -> None:
        for pr, p in zip(dsingles, dpub, strict=True):
            verify_dh(pr, [p], m)

    t_dsingle = timed(single_dh, 3)
    rows.append((f"verify one DH proof of {N} B_i", t_dbatch,
                 f"{N} single-value proofs", t_dsingle))


def bench_publication(rows: list[tuple[str, float, str, float]], tmp: Path) -> None:
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.prekey_server.helpers import client_for, exchange_for, make_device, make_server

    def one(storage_factory: Callable[[], Storage], label: str) -> float:
        samples = []
        for i in range(3):
            rng = DeterministicRng(f"bench:pub:{label}:{i}")
            server = make_server(rng, FixedClock(1_776_945_600), storage=storage_factory())
            device = make_device(rng, "juliet@capulet.lit")
            client = client_for(device, server, rng)
            send = exchange_for(server, "juliet@capulet.lit")
            dake2 = send(client.start())
            dake3 = client.publish(dake2, device.prekeys(rng, N),
                                   client_profile=device.identity.client_profile,
                                   prekey_profile=device.shared)
            t = time.perf_counter()
            server.handle("juliet@capulet.lit", dake3)
            samples.append((time.perf_counter() - t) * 1000)
        return statistics.median(samples)

    counter = iter(range(1000))
    t_sql = one(lambda: SqliteStorage(tmp / f"pub{next(counter)}.sqlite"), "sql")
    t_mem = one(InMemoryStorage, "mem")
    rows.append((f"server: DAKE-3 with {N} Prekey messages (SQLite)", t_sql,
                 "same, in-memory storage", t_mem))


def _fill(storage: Storage, n: int) -> None:
    storage.publish("j@c", 0x100, client_profile=StoredProfile(b"c" * 300, NOW + 10),
                    prekey_profile=StoredProfile(b"p" * 185, NOW + 10),
                    prekey_messages=[(i, b"m" * 456) for i in range(n)], max_stored=n)


def bench_retrieval(rows: list[tuple[str, float, str, float]], tmp: Path) -> None:
    count = 400
    sql = SqliteStorage(tmp / "ret.sqlite")
    mem = InMemoryStorage()
    _fill(sql, count)
    _fill(mem, count)
    t = time.perf_counter()
    for _ in range(count // 2):
        sql.take_ensembles("j@c", NOW)
    t_sql = (time.perf_counter() - t) * 1000 / (count // 2)
    t = time.perf_counter()
    for _ in range(count // 2):
        mem.take_ensembles("j@c", NOW)
    t_mem = (time.perf_counter() - t) * 1000 / (count // 2)
    rows.append(("one retrieval (select + delete), SQLite", t_sql, "in-memory storage", t_mem))

    conc = SqliteStorage(tmp / "conc.sqlite")
    _fill(conc, count)

    def drain(k: int) -> None:
        for _ in range(k):
            conc.take_ensembles("j@c", NOW)

    t = time.perf_counter()
    threads = [threading.Thread(target=drain, args=(count // 4,)) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    t_four = (time.perf_counter() - t) * 1000 / count
    single = SqliteStorage(tmp / "single.sqlite")
    _fill(single, count)
    t = time.perf_counter()
    for _ in range(count):
        single.take_ensembles("j@c", NOW)
    t_one = (time.perf_counter() - t) * 1000 / count
    rows.append(("retrieval, 4 threads on one SQLite file (per retrieval)", t_four,
                 "1 thread", t_one))


STORED = (1_000, 10_000, 100_000)


def bench_scaling(tmp: Path) -> list[dict[str, float]]:
    """Retrievals per second (SQLite, one thread) against the number of stored prekeys:
    every size filled first, then rounds of 60 retrievals that visit the sizes in turn
    (so a busy moment of the machine falls on all of them); the median round counts."""
    stores = {}
    for count in STORED:
        storage = SqliteStorage(tmp / f"scale{count}.sqlite")
        _fill(storage, count)
        stores[count] = storage
    rounds: dict[int, list[float]] = {count: [] for count in STORED}
    k = 60
    for r in range(7):
        for count in (STORED if r % 2 == 0 else tuple(reversed(STORED))):
            storage = stores[count]
            t = time.perf_counter()
            for _ in range(k):
                storage.take_ensembles("j@c", NOW)
            rounds[count].append((time.perf_counter() - t) / k)
    out = []
    for count in STORED:
        per = statistics.median(rounds[count])
        out.append({"stored": count, "retrieval_ms": per * 1e3, "per_second": 1 / per,
                    "rounds_ms": [x * 1e3 for x in rounds[count]]})
        print(f"INFO    retrieval with {count:>7,} prekeys stored (SQLite): {per * 1e3:.3f} ms, "
              f"{1 / per:,.0f} per second (median of 7 rounds)")
    return out


def main() -> None:
    rows: list[tuple[str, float, str, float]] = []
    report = harness.Report("prekey")
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        bench_proofs(rows)
        bench_publication(rows, tmp)
        bench_retrieval(rows, tmp)
        report.series["retrieval_scaling"] = bench_scaling(tmp)
    width = max(len(r[0]) for r in rows)
    pwidth = max(len(r[2]) for r in rows)
    print(f"SELF    {'operation':<{width}}  {'ms':>9}  {'alternative':<{pwidth}}  {'ms':>9}  ratio")
    for name, t, peer, tp in rows:
        print(f"SELF    {name:<{width}}  {t:9.3f}  {peer:<{pwidth}}  {tp:9.3f}  {tp / t:5.2f}x")
    print("SELF rows compare the project with itself (no verdict); "
          "ratio = alternative time / operation time")
    report.series["self_comparisons"] = [
        {"operation": n, "ms": t, "alternative": p, "alternative_ms": tp} for n, t, p, tp in rows]
    report.write()


if __name__ == "__main__":
    main()
