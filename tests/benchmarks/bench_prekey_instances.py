"""Benchmark: the prekey service for a real domain (a script, not collected by pytest).

    PYTHONPATH=spec_impl .venv/bin/python tests/benchmarks/bench_prekey_instances.py

Retrievals per second through the protocol API (``PrekeyServer.handle`` on a Prekey
Ensemble Query, rate limit included) on SQLite and on PostgreSQL, one instance (one
process) against two instances sharing the store, with 100,000 and 1,000,000 Prekey
messages stored, and each instance's peak memory (``ru_maxrss``); the verdict lines
check the targets: PostgreSQL with two instances at least 1.5x one instance, memory
flat in the number stored.  PostgreSQL is started here as the tests start it, with the
server settings the operations guide recommends (``commit_delay``, ``commit_siblings``:
:data:`tests.prekey_server.pgserver.RECOMMENDED_SETTINGS`) and ``fsync`` on.

**Concurrency.**  The component (:mod:`otrv4_xmpp.component.service`) hands every request
to ``PrekeyServer.handle`` in asyncio's default executor, a thread pool of
``min(32, cores + 4)`` threads; under load every worker of that pool is busy.  So each
instance here runs that many worker threads (6 on 2 cores), each sending queries back to
back; ``BENCH_PREKEY_THREADS`` overrides it (1 gives the latency-bound figure of one
request at a time).

**The store stays at its size.**  Before every run the Prekey messages served by the
previous runs are put back (from a copy made after the fill), so each run retrieves from
100,000 or 1,000,000 stored, and answers that found a device exhausted are counted.

**Diagnosis.**  A shared 2-core machine cannot show scaling that needs spare cores, so
each row is followed by the figures that say what bound it, which hold under load: CPU
time per retrieval of the instances (their process time) and of the database (every
PostgreSQL process, from ``/proc``), commits per second and WAL flushes per commit
(``pg_stat_database``, ``pg_stat_wal``), the share of time the WAL device was busy
flushing (``wal_sync_time``), the time one 8 kB write and ``fdatasync`` took just before
the run (SQLite's commits take turns, one flush each: about one retrieval per flush at
most, however many instances), and how busy the machine's cores were (``/proc/stat``,
other users' work included).  The last word says whether the run was CPU-bound (the
cores were saturated, mostly by the run itself), CPU-starved (saturated by other users'
work), flush-bound (the WAL device was flushing all the time), bound by the instances
(each process close to one core: Python's GIL) or by latency; and the line gives the
ceiling the CPU puts on the ratio: the cores divided by those one instance kept busy.

``BENCH_PREKEY_SIZES=100000`` limits the sizes; ``BENCH_PREKEY_SECONDS`` (5) is the
length of each run, ``BENCH_PREKEY_ROUNDS`` (3) how many times the one-instance and
two-instance runs alternate (the best rate of each is kept and the median of the CPU
figures: the machine is shared); ``BENCH_PREKEY_PG_SETTINGS=commit_delay=0,…`` changes
PostgreSQL settings (to compare with the recommended ones).  The per-operation rows
(proofs, publication, one retrieval, the scaling figure) are in ``bench_prekey.py``.
"""

from __future__ import annotations

import os
import statistics
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from otrv4.primitives.rng import DeterministicRng
from otrv4_prekey.storage import SqliteStorage

NOW = 1_000_000
DEVICES_PER_IDENTITY = 2
PER_DEVICE = 500


def component_workers() -> int:
    """How many requests one component handles at once: the size of asyncio's default
    executor, in which the component runs ``PrekeyServer.handle``."""
    with ThreadPoolExecutor() as pool:
        return int(pool._max_workers)


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


# --------------------------------------------------------------------------- the stores


class _Store:
    """One filled store: its URL, and how to put back what the runs retrieved."""

    url: str

    def restore(self) -> None:
        """Put back every Prekey message served since the fill; tidy up after the runs."""

    def close(self) -> None:
        """Remove the store."""


class _SqliteStore(_Store):
    def __init__(self, path: Path, stored: int) -> None:
        import sqlite3
        self.path = path
        self.url = f"sqlite://{path}"
        SqliteStorage(path).close()  # the schema
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("BEGIN")
        for ident, tag, cp, pp, pms in _rows(stored):
            conn.execute("INSERT INTO client_profiles VALUES (?, ?, ?, ?)",
                         (ident, tag, cp, 2**40))
            conn.execute("INSERT INTO prekey_profiles VALUES (?, ?, ?, ?)",
                         (ident, tag, pp, 2**40))
            conn.executemany("INSERT INTO prekey_messages (identity, tag, identifier, data) "
                             "VALUES (?, ?, ?, ?)", [(ident, tag, i, m) for i, m in pms])
        conn.execute("CREATE TABLE full_copy AS SELECT identity, tag, identifier, data "
                     "FROM prekey_messages")
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # no checkpoint of the fill in a run
        conn.close()

    def restore(self) -> None:
        import sqlite3
        conn = sqlite3.connect(self.path, isolation_level=None, timeout=60)
        conn.execute("BEGIN IMMEDIATE")
        conn.execute("INSERT OR IGNORE INTO prekey_messages (identity, tag, identifier, data) "
                     "SELECT identity, tag, identifier, data FROM full_copy")
        conn.execute("DELETE FROM retrievals")
        conn.execute("COMMIT")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.close()

    def close(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path}{suffix}").unlink(missing_ok=True)


class _PostgresStore(_Store):
    def __init__(self, url: str, stored: int) -> None:
        import psycopg

        from otrv4_prekey.postgres import PostgresStorage
        self.url = url
        PostgresStorage(url).close()  # the schema
        with psycopg.connect(url) as conn, conn.cursor() as cur:
            profiles = []
            with cur.copy("COPY prekey_messages (identity, tag, identifier, data) "
                          "FROM STDIN") as cp:
                for ident, tag, c, p, pms in _rows(stored):
                    profiles.append((ident, tag, c, p))
                    for i, m in pms:
                        cp.write_row((ident, tag, i, m))
            for table, col in (("client_profiles", 2), ("prekey_profiles", 3)):
                cur.executemany(f"INSERT INTO {table} VALUES (%s, %s, %s, %s)",
                                [(r[0], r[1], r[col], 2**40) for r in profiles])
            cur.execute("CREATE TABLE full_copy AS SELECT identity, tag, identifier, data "
                        "FROM prekey_messages")
            conn.commit()
        self._tidy()

    def restore(self) -> None:
        import psycopg
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("INSERT INTO prekey_messages (identity, tag, identifier, data) "
                         "SELECT identity, tag, identifier, data FROM full_copy "
                         "ON CONFLICT (identity, tag, identifier) DO NOTHING")
            conn.execute("TRUNCATE retrieval_windows")
        self._tidy()

    def _tidy(self) -> None:
        import psycopg
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE")
            conn.execute("CHECKPOINT")  # no checkpoint of the fill during the runs


# --------------------------------------------------------------------------- one instance


def _instance(url: str, identities: int, seconds: float, threads: int, seed: int,
              ready: Any, start: Any, close: Any, out: Any) -> None:
    """One instance (a process): ``threads`` workers send queries to ``PrekeyServer.handle``
    for ``seconds``; reports (retrievals, answers short of an ensemble, seconds, ru_maxrss
    in kB, process CPU seconds), then waits for ``close`` before closing its storage (so
    that the database processes serving it are still there to be measured)."""
    import random
    import resource

    from otrv4.clock import SystemClock
    from otrv4.primitives.eddsa import EdDSAKeyPair
    from otrv4_prekey.dake import ServerIdentity
    from otrv4_prekey.messages import EnsembleQuery, EnsembleRetrieval
    from otrv4_prekey.server import PrekeyServer
    from otrv4_prekey.storage_url import open_storage

    rng = DeterministicRng(f"bench:instance:{seed}")
    storage = open_storage(url)
    server = PrekeyServer(ServerIdentity(f"prekeys{seed}.example.org",
                                         EdDSAKeyPair.generate(rng)),
                          storage, rng, SystemClock())
    counts = [0] * threads
    shorts = [0] * threads
    connected = threading.Barrier(threads + 1)
    go = threading.Event()
    end = [0.0]

    def work(k: int) -> None:
        pick = random.Random(seed * 100 + k)
        storage.count("warm-up@example.org", 0)  # this thread's connection, before the clock
        connected.wait()
        go.wait()
        n = short = 0
        while time.perf_counter() < end[0]:
            ident = f"user{pick.randrange(identities)}@example.org"
            query = EnsembleQuery(0x0A0B, ident).encode()
            reply = server.handle(f"r{seed}-{k}-{n % 5000}@bench.example", query)
            reply.encode()
            if not (isinstance(reply.message, EnsembleRetrieval)
                    and len(reply.message.ensembles) == DEVICES_PER_IDENTITY):
                short += 1
            n += 1
        counts[k], shorts[k] = n, short

    workers = [threading.Thread(target=work, args=(k,)) for k in range(threads)]
    for w in workers:
        w.start()
    connected.wait()
    ready.set()
    start.wait()
    t = time.perf_counter()
    cpu = time.process_time()
    end[0] = t + seconds
    go.set()
    for w in workers:
        w.join()
    elapsed = time.perf_counter() - t
    cpu = time.process_time() - cpu
    out.put((sum(counts), sum(shorts), elapsed,
             resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, cpu))
    close.wait()
    storage.close()


# --------------------------------------------------------------------------- measuring


def _machine_busy() -> tuple[int, int]:
    """(busy, total) jiffies of every core since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    return sum(fields[:8]) - idle, sum(fields[:8])


def _cpu_of(pids: set[int]) -> dict[int, float]:
    """CPU seconds (user + system) of each living process of ``pids``."""
    tick = os.sysconf("SC_CLK_TCK")
    out = {}
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        out[pid] = (int(stat[11]) + int(stat[12])) / tick
    return out


def _children(parent: int) -> set[int]:
    pids = {parent}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(stat[1]) == parent:
                pids.add(int(entry.name))
    return pids


class _Database:
    """What the PostgreSQL server did during a run: CPU, commits, WAL flushes."""

    def __init__(self, url: str, postmaster: int) -> None:
        self.url = url
        self.postmaster = postmaster

    def counters(self) -> tuple[int, int, float]:
        """(commits in this database, WAL flushes, milliseconds spent flushing) so far."""
        import psycopg
        with psycopg.connect(self.url, autocommit=True) as conn:
            row = conn.execute(
                "SELECT (SELECT xact_commit FROM pg_stat_database "
                "        WHERE datname = current_database()), "
                "wal_sync, wal_sync_time FROM pg_stat_wal").fetchone()
        assert row is not None
        return int(row[0]), int(row[1]), float(row[2])

    def cpu(self) -> dict[int, float]:
        return _cpu_of(_children(self.postmaster))


@dataclass
class Run:
    """One run of ``instances`` instances."""

    instances: int
    rate: float
    short: int
    rss_kb: list[int]
    instance_cpu_ms: float  # per retrieval, all instances together
    database_cpu_ms: float | None  # per retrieval, every PostgreSQL process
    instance_cores: float  # CPU seconds per second of one instance (1.0 = one core)
    commits_per_s: float | None
    flushes_per_commit: float | None
    flush_busy: float | None  # share of the run the WAL device spent flushing
    machine_busy: float  # share of every core's time busy (anyone's work)
    flush_ms: float | None = None  # one 8 kB write + fdatasync just before the run


def _run_instances(url: str, identities: int, count: int, seconds: float, threads: int,
                   db: _Database | None) -> Run:
    import multiprocessing
    ctx = multiprocessing.get_context("spawn")
    ready = [ctx.Event() for _ in range(count)]
    start, close = ctx.Event(), ctx.Event()
    out: Any = ctx.Queue()
    procs = [ctx.Process(target=_instance,
                         args=(url, identities, seconds, threads, i + 1, ready[i], start,
                               close, out))
             for i in range(count)]
    for p in procs:
        p.start()
    for e in ready:  # every process imported, connected, its workers waiting
        e.wait(timeout=120)
    counters0 = db.counters() if db else None
    db_cpu0 = db.cpu() if db else {}
    busy0, total0 = _machine_busy()
    start.set()
    t0 = time.perf_counter()
    results = [out.get(timeout=600) for _ in procs]
    wall = time.perf_counter() - t0
    busy1, total1 = _machine_busy()
    db_cpu1 = db.cpu() if db else {}
    close.set()
    for p in procs:
        p.join(timeout=60)
    retrievals = sum(r[0] for r in results)
    elapsed = max(r[2] for r in results)
    cpu = sum(r[4] for r in results)
    run = Run(count, retrievals / elapsed, sum(r[1] for r in results), [r[3] for r in results],
              cpu * 1000 / retrievals, None, cpu / elapsed / count, None, None, None,
              (busy1 - busy0) / max(1, total1 - total0))
    if db is not None and counters0 is not None:
        commits1, syncs1, sync_ms1 = db.counters()  # after the backends exited: stats flushed
        commits, syncs = commits1 - counters0[0], syncs1 - counters0[1]
        db_cpu = sum(v - db_cpu0.get(pid, 0.0) for pid, v in db_cpu1.items())
        run.database_cpu_ms = db_cpu * 1000 / retrievals
        run.commits_per_s = commits / elapsed
        run.flushes_per_commit = syncs / max(1, commits)
        run.flush_busy = (sync_ms1 - counters0[2]) / 1000 / wall
    return run


def flush_ms(folder: Path, count: int = 40) -> float:
    """Milliseconds one 8 kB write and ``fdatasync`` take in ``folder`` now (the median of
    ``count``): what a commit waits for, as ``pg_test_fsync`` measures it."""
    path = folder / "flush-probe"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
    try:
        times = []
        for _ in range(count):
            t = time.perf_counter()
            os.pwrite(fd, b"\0" * 8192, 0)
            os.fdatasync(fd)
            times.append(time.perf_counter() - t)
    finally:
        os.close(fd)
        path.unlink()
    return statistics.median(times) * 1000


def cores_used(run: Run) -> float:
    """How many cores the run's own processes (instances and database) kept busy."""
    return run.rate * (run.instance_cpu_ms + (run.database_cpu_ms or 0.0)) / 1000


def bound(run: Run) -> str:
    """What limited a run, from its figures (see the module docstring)."""
    if run.machine_busy >= 0.9:  # no core to spare: ours, or other users' work?
        ours = cores_used(run) / (os.cpu_count() or 1)
        return "CPU-bound" if ours >= run.machine_busy / 2 else "CPU-starved by other load"
    if run.flush_busy is not None and run.flush_busy >= 0.8:
        return "flush-bound"
    if run.flush_busy is None and run.flush_ms is not None \
            and run.rate * run.flush_ms / 1000 >= 0.7:  # SQLite: one flush per commit, in turn
        return "flush-bound"
    if run.instance_cores >= 0.85:
        return "instance-bound"
    return "latency-bound"


def diagnosis(one: Run, two: Run) -> str:
    """The line under a row: one instance | two instances."""
    def pair(f: str, a: float | None, b: float | None) -> str:
        return "-" if a is None or b is None else f"{a:{f}} | {b:{f}}"

    parts = [f"CPU ms/retrieval instances {pair('.2f', one.instance_cpu_ms, two.instance_cpu_ms)}"]
    if one.database_cpu_ms is not None:
        parts.append(f"database {pair('.2f', one.database_cpu_ms, two.database_cpu_ms)}")
        parts.append(f"commits/s {pair(',.0f', one.commits_per_s, two.commits_per_s)}")
        parts.append(f"WAL flushes/commit "
                     f"{pair('.2f', one.flushes_per_commit, two.flushes_per_commit)}")
        parts.append(f"flushing {pair('.0%', one.flush_busy, two.flush_busy)}")
    else:  # SQLite: every retrieval is one commit, and commits take turns
        parts.append(f"commits/s {one.rate:,.0f} | {two.rate:,.0f}")
    parts.append(f"one flush {pair('.2f', one.flush_ms, two.flush_ms)} ms")
    parts.append(f"cores per instance {pair('.2f', one.instance_cores, two.instance_cores)}")
    parts.append(f"machine busy {pair('.0%', one.machine_busy, two.machine_busy)}")
    cores = os.cpu_count() or 1
    used = cores_used(one)
    parts.append(f"one instance used {used:.1f} of {cores} cores, so the CPU allows 2/1 "
                 f"up to {min(2.0, cores / max(used, 1e-9)):.2f}x here")
    if one.short or two.short:
        parts.append(f"short answers {one.short} | {two.short}")
    return ("    diagnosis (1 inst | 2 inst): " + "; ".join(parts)
            + f" -> {bound(one)} | {bound(two)}")


def _median_run(runs: list[Run]) -> Run:
    """The best rate of the rounds, the median of each other figure."""
    def med(xs: list[float | None]) -> float | None:
        values = [x for x in xs if x is not None]
        return statistics.median(values) if values else None

    def medf(xs: list[float]) -> float:
        return float(statistics.median(xs))

    return Run(
        runs[0].instances, max(r.rate for r in runs), max(r.short for r in runs),
        [max(r.rss_kb[i] for r in runs) for i in range(runs[0].instances)],
        medf([r.instance_cpu_ms for r in runs]), med([r.database_cpu_ms for r in runs]),
        medf([r.instance_cores for r in runs]), med([r.commits_per_s for r in runs]),
        med([r.flushes_per_commit for r in runs]), med([r.flush_busy for r in runs]),
        medf([r.machine_busy for r in runs]), med([r.flush_ms for r in runs]))


def bench_instances(tmp: Path) -> None:
    import sys
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    sizes = [int(x) for x in os.environ.get("BENCH_PREKEY_SIZES", "100000,1000000").split(",")]
    seconds = float(os.environ.get("BENCH_PREKEY_SECONDS", "5"))
    rounds = int(os.environ.get("BENCH_PREKEY_ROUNDS", "3"))
    threads = int(os.environ.get("BENCH_PREKEY_THREADS", str(component_workers())))
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
        extra = dict(kv.split("=", 1) for kv in
                     os.environ.get("BENCH_PREKEY_PG_SETTINGS", "").split(",") if kv)
        pg = PostgresServer(pg_bin, fsync=True,
                            settings={"track_wal_io_timing": "on", **extra})
        pg.start()
    print(f"\nretrievals through PrekeyServer.handle (query -> retrieval of "
          f"{DEVICES_PER_IDENTITY} ensembles, rate limit in the storage), {threads} worker "
          f"thread(s) per instance (the component's executor: {component_workers()}), "
          f"{seconds:.0f} s per run, best of {rounds} rounds")
    if pg is not None:
        print(f"PostgreSQL {pg.server_settings_text()}")
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(the machine may be shared: the ratios need spare cores to mean anything)")
    print(f"{'backend':<11} {'stored':>9} {'fill s':>7} {'1 inst r/s':>11} "
          f"{'2 inst r/s':>11} {'2/1':>6} {'RSS MB (1 | 2)':>18}")
    results: dict[tuple[str, int], tuple[float, float, float]] = {}
    try:
        for backend in ("sqlite", "postgresql"):
            if backend == "postgresql" and pg is None:
                continue
            for stored in sizes:
                t = time.perf_counter()
                store: _Store
                db: _Database | None = None
                if backend == "sqlite":
                    store = _SqliteStore(tmp / f"inst{stored}.sqlite", stored)
                else:
                    assert pg is not None and pg.pid is not None
                    store = _PostgresStore(pg.create_database(), stored)
                    db = _Database(store.url, pg.pid)
                fill = time.perf_counter() - t
                identities = stored // (DEVICES_PER_IDENTITY * PER_DEVICE)
                ones: list[Run] = []
                twos: list[Run] = []
                for _ in range(rounds):  # alternate: the machine is shared
                    for count, runs in ((1, ones), (2, twos)):
                        store.restore()
                        probe = flush_ms(tmp)
                        runs.append(_run_instances(store.url, identities, count, seconds,
                                                   threads, db))
                        runs[-1].flush_ms = probe
                one, two = _median_run(ones), _median_run(twos)
                mem1, mem2 = max(one.rss_kb) / 1024, max(two.rss_kb) / 1024
                results[(backend, stored)] = (two.rate / one.rate, mem1, mem2)
                print(f"{backend:<11} {stored:>9,} {fill:7.1f} {one.rate:11.0f} "
                      f"{two.rate:11.0f} {two.rate / one.rate:5.2f}x {mem1:8.1f} | {mem2:6.1f}")
                print(diagnosis(one, two), flush=True)
                store.close()
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
