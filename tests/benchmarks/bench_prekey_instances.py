"""Benchmark: the prekey service for a real domain (a script, not collected by pytest).

    PYTHONPATH=spec_impl .venv/bin/python tests/benchmarks/bench_prekey_instances.py

Retrievals per second through the protocol API (``PrekeyServer.handle`` on a Prekey
Ensemble Query, rate limit included) on SQLite and on PostgreSQL, one instance (one
process) against two instances sharing the store, with 100,000 and 1,000,000 Prekey
messages stored, and each instance's peak memory (``ru_maxrss``); the verdict lines
check the targets: PostgreSQL with two instances at least 1.5x one instance, memory
flat in the number stored.  PostgreSQL is started here (as the tests do) when its
binaries are installed.  ``BENCH_PREKEY_SIZES=100000`` limits the sizes;
``BENCH_PREKEY_SECONDS`` (5) is the length of each run, ``BENCH_PREKEY_ROUNDS`` (3) how
many times the one-instance and two-instance runs alternate (the best of each is kept:
the machine is shared), ``BENCH_PREKEY_THREADS`` (1) the worker threads of one instance.
The per-operation rows (proofs, publication, one retrieval, the scaling figure) are in
``bench_prekey.py``.
"""

from __future__ import annotations

import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from otrv4.primitives.rng import DeterministicRng
from otrv4_prekey.storage import SqliteStorage

N = 100
NOW = 1_000_000


NOW = 1_000_000
DEVICES_PER_IDENTITY = 2
PER_DEVICE = 500


def _sample_ensembles(count: int) -> list[tuple[bytes, bytes, bytes]]:
    """``count`` real (Client Profile, Prekey Profile, Prekey message) triples."""
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.prekey_server.helpers import make_device

    rng = DeterministicRng("bench:instances")
    out = []
    for i in range(count):
        d = make_device(rng, f"sample{i}@example.org", expiration=NOW + 10**8)
        out.append((d.identity.client_profile.encode(), d.shared.profile.encode(),
                    d.prekeys(rng, 1)[0].message.encode()))
    return out


def _rows(stored: int) -> Iterator[tuple[str, int, bytes, bytes, list[tuple[int, bytes]]]]:
    """Identities of 2 devices with 500 Prekey messages each, ``stored`` in all."""
    samples = _sample_ensembles(16)
    for n in range(stored // (DEVICES_PER_IDENTITY * PER_DEVICE)):
        for dev in range(DEVICES_PER_IDENTITY):
            cp, pp, pm = samples[(n * DEVICES_PER_IDENTITY + dev) % len(samples)]
            yield (f"user{n}@example.org", 0x100 + dev, cp, pp,
                   [(i + 1, pm[:3] + (i + 1).to_bytes(4, "big") + pm[7:])
                    for i in range(PER_DEVICE)])


def _fill_sqlite(path: Path, stored: int) -> None:
    import sqlite3
    SqliteStorage(path).close()  # the schema
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    for ident, tag, cp, pp, pms in _rows(stored):
        conn.execute("INSERT INTO client_profiles VALUES (?, ?, ?, ?)", (ident, tag, cp, 2**40))
        conn.execute("INSERT INTO prekey_profiles VALUES (?, ?, ?, ?)", (ident, tag, pp, 2**40))
        conn.executemany("INSERT INTO prekey_messages (identity, tag, identifier, data) "
                         "VALUES (?, ?, ?, ?)", [(ident, tag, i, m) for i, m in pms])
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # no checkpoint of the fill during the runs
    conn.close()


def _fill_postgres(url: str, stored: int) -> None:
    import psycopg

    from otrv4_prekey.postgres import PostgresStorage
    PostgresStorage(url).close()  # the schema
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        profiles = []
        with cur.copy("COPY prekey_messages (identity, tag, identifier, data) FROM STDIN") as cp:
            for ident, tag, c, p, pms in _rows(stored):
                profiles.append((ident, tag, c, p))
                for i, m in pms:
                    cp.write_row((ident, tag, i, m))
        for table, col in (("client_profiles", 2), ("prekey_profiles", 3)):
            cur.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s, %s)",
                            [(r[0], r[1], r[col], 2**40) for r in profiles])
        conn.commit()
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        conn.execute("CHECKPOINT")  # no checkpoint of the fill during the runs


def _instance(url: str, identities: int, seconds: float, threads: int, seed: int,
              start: Any, out: Any) -> None:
    """One instance (a process): ``threads`` workers send queries to ``PrekeyServer.handle``
    for ``seconds``; reports (retrievals, seconds, ru_maxrss in kB)."""
    import random
    import resource

    from otrv4.clock import SystemClock
    from otrv4.primitives.eddsa import EdDSAKeyPair
    from otrv4_prekey.dake import ServerIdentity
    from otrv4_prekey.messages import EnsembleQuery
    from otrv4_prekey.server import PrekeyServer
    from otrv4_prekey.storage_url import open_storage

    rng = DeterministicRng(f"bench:instance:{seed}")
    storage = open_storage(url)
    server = PrekeyServer(ServerIdentity(f"prekeys{seed}.example.org",
                                         EdDSAKeyPair.generate(rng)),
                          storage, rng, SystemClock())
    counts = [0] * threads
    start.wait()
    end = time.perf_counter() + seconds

    def work(k: int) -> None:
        pick = random.Random(seed * 100 + k)
        n = 0
        while time.perf_counter() < end:
            ident = f"user{pick.randrange(identities)}@example.org"
            query = EnsembleQuery(0x0A0B, ident).encode()
            server.handle(f"r{seed}-{k}-{n % 5000}@bench.example", query).encode()
            n += 1
        counts[k] = n

    t = time.perf_counter()
    cpu = time.process_time()
    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t
    cpu = time.process_time() - cpu
    storage.close()
    out.put((sum(counts), elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, cpu))


def _run_instances(url: str, identities: int, count: int, seconds: float,
                   threads: int) -> tuple[float, list[int], float]:
    """Retrievals per second of ``count`` instances together, each one's ru_maxrss, and
    the instances' CPU time per retrieval (ms; the database's own CPU is not in it)."""
    import multiprocessing
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Event()
    out: Any = ctx.Queue()
    procs = [ctx.Process(target=_instance,
                         args=(url, identities, seconds, threads, i + 1, start, out))
             for i in range(count)]
    for p in procs:
        p.start()
    time.sleep(1.5)  # let every process import and connect before the clock starts
    start.set()
    results = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    total = sum(r[0] for r in results)
    elapsed = max(r[1] for r in results)
    return total / elapsed, [r[2] for r in results], sum(r[3] for r in results) * 1000 / total


def bench_instances(tmp: Path) -> None:
    import os
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sizes = [int(x) for x in os.environ.get("BENCH_PREKEY_SIZES", "100000,1000000").split(",")]
    seconds = float(os.environ.get("BENCH_PREKEY_SECONDS", "5"))
    rounds = int(os.environ.get("BENCH_PREKEY_ROUNDS", "3"))
    threads = int(os.environ.get("BENCH_PREKEY_THREADS", "1"))
    from tests.prekey_server.pgserver import PostgresServer, find_pg_bin

    pg_bin = find_pg_bin()
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pg_bin = None
    pg: PostgresServer | None = None
    if pg_bin is None:
        print("PostgreSQL: not installed (apt-get install postgresql; pip install psycopg): "
              "measured on SQLite only")
    else:
        pg = PostgresServer(pg_bin, fsync=True)
        pg.start()
    print(f"\nretrievals through PrekeyServer.handle (query -> retrieval of "
          f"{DEVICES_PER_IDENTITY} ensembles, rate limit in the storage), {threads} worker "
          f"thread(s) per instance, {seconds:.0f} s per run, best of {rounds} rounds")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(the machine may be shared: the ratios need spare cores to mean anything)")
    print(f"{'backend':<11} {'stored':>9} {'fill s':>7} {'1 inst r/s':>11} "
          f"{'2 inst r/s':>11} {'2/1':>6} {'RSS MB (1 | 2)':>18} {'CPU ms/r':>9}")
    results: dict[tuple[str, int], tuple[float, float, float]] = {}
    try:
        for backend in ("sqlite", "postgresql"):
            if backend == "postgresql" and pg is None:
                continue
            for stored in sizes:
                t = time.perf_counter()
                if backend == "sqlite":
                    path = tmp / f"inst{stored}.sqlite"
                    _fill_sqlite(path, stored)
                    url = f"sqlite://{path}"
                else:
                    assert pg is not None
                    url = pg.create_database()
                    _fill_postgres(url, stored)
                fill = time.perf_counter() - t
                identities = stored // (DEVICES_PER_IDENTITY * PER_DEVICE)
                one, two, mem1, mem2, cpu = 0.0, 0.0, 0, 0, float("inf")
                for _ in range(rounds):  # alternate, keep the best: the machine is shared
                    r1, m1, c1 = _run_instances(url, identities, 1, seconds, threads)
                    r2, m2, _ = _run_instances(url, identities, 2, seconds, threads)
                    one, two, cpu = max(one, r1), max(two, r2), min(cpu, c1)
                    mem1, mem2 = max(mem1, *m1), max(mem2, *m2)
                results[(backend, stored)] = (two / one, mem1 / 1024, mem2 / 1024)
                print(f"{backend:<11} {stored:>9,} {fill:7.1f} {one:11.0f} {two:11.0f} "
                      f"{two / one:5.2f}x {mem1 / 1024:8.1f} | {mem2 / 1024:6.1f} {cpu:9.2f}",
                      flush=True)
                if backend == "sqlite":
                    path.unlink()
    finally:
        if pg is not None:
            pg.stop(remove=True)
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if pg is not None:
        ratios = [results[("postgresql", s)][0] for s in sizes]
        verdict = "MET" if min(ratios) >= 1.5 else "NOT MET"
        print(f"verdict: PostgreSQL, two instances / one instance: "
              f"{', '.join(f'{r:.2f}x at {s:,}' for r, s in zip(ratios, sizes, strict=True))}"
              f"; target 1.5x: {verdict}")
    if len(sizes) > 1:
        for backend in ("sqlite", "postgresql"):
            if (backend, sizes[0]) not in results:
                continue
            small, large = results[(backend, sizes[0])], results[(backend, sizes[-1])]
            growth = max(large[1] - small[1], large[2] - small[2])
            flat = "flat" if growth < 10 else "NOT flat"
            print(f"verdict: {backend} memory per instance, {sizes[0]:,} -> {sizes[-1]:,} "
                  f"stored: {small[1]:.1f} -> {large[1]:.1f} MB (1 instance), "
                  f"{small[2]:.1f} -> {large[2]:.1f} MB (2 instances): {flat} "
                  f"(target: growth under 10 MB)")


def main() -> None:
    with tempfile.TemporaryDirectory() as d:
        bench_instances(Path(d))


if __name__ == "__main__":
    main()
