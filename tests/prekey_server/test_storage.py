"""Storage: the rules of §Publishing/§Retrieving and the retrieval rate limit, one contract
suite run against every implementation (in memory, SQLite file and in memory, and a real
PostgreSQL the tests start), and the served-at-most-once guarantee under concurrent
retrievals (threads and processes)."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otrv4_prekey.storage import (
    InMemoryStorage,
    SqliteStorage,
    Storage,
    StorageFullError,
    StoredEnsemble,
    StoredProfile,
)
from otrv4_prekey.storage_url import open_storage

from .pgserver import PostgresServer

NOW = 1_000_000
ID = "juliet@capulet.lit"
CP = StoredProfile(b"client-profile", NOW + 100)
PP = StoredProfile(b"prekey-profile", NOW + 100)


def _messages(tag: int, n: int, start: int = 0) -> list[tuple[int, bytes]]:
    return [(i, f"pm-{tag:x}-{i}".encode()) for i in range(start, start + n)]


BACKENDS = ["memory", "sqlite-file", "sqlite-memory", "postgresql"]
SHARED_BACKENDS = ["sqlite-file", "postgresql"]  # what several processes can share


def _url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """A storage URL of a fresh, empty store of ``backend``."""
    if backend == "memory":
        return "memory:"
    if backend == "sqlite-file":
        return f"sqlite://{tmp_path / 'prekeys.sqlite'}"
    if backend == "sqlite-memory":
        return "sqlite::memory:"
    server: PostgresServer = request.getfixturevalue("postgres_server")
    return server.create_database()


@pytest.fixture(params=BACKENDS)
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Storage]:
    s = open_storage(_url(request, request.param, tmp_path))
    yield s
    s.close()


@pytest.fixture(params=SHARED_BACKENDS)
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh store that several processes can open."""
    return _url(request, request.param, tmp_path)


def test_each_backend_is_the_class_its_url_names(storage: Storage) -> None:
    assert type(storage).__name__ in {"InMemoryStorage", "SqliteStorage", "PostgresStorage"}


def test_publish_count_and_take(storage: Storage) -> None:
    assert storage.publish(ID, 0x100, client_profile=CP, prekey_profile=PP,
                           prekey_messages=_messages(0x100, 3)) == 3
    assert storage.count(ID, 0x100) == 3
    assert storage.count(ID, 0x101) == 0
    assert storage.count("romeo@montague.lit", 0x100) == 0
    first = storage.take_ensembles(ID, NOW)
    assert first == [StoredEnsemble(0x100, b"client-profile", b"prekey-profile", b"pm-100-0")]
    assert storage.count(ID, 0x100) == 2
    assert [e.prekey_message for e in storage.take_ensembles(ID, NOW)] == [b"pm-100-1"]
    assert [e.prekey_message for e in storage.take_ensembles(ID, NOW)] == [b"pm-100-2"]
    assert storage.take_ensembles(ID, NOW) == []  # exhausted; profiles are still there
    storage.publish(ID, 0x100, client_profile=None, prekey_profile=None,
                    prekey_messages=_messages(0x100, 1, 10))
    assert [e.prekey_message for e in storage.take_ensembles(ID, NOW)] == [b"pm-100-10"]


def test_one_ensemble_per_device(storage: Storage) -> None:
    """ADR 012 scenarios 1 and 2: one ensemble per instance tag, sorted by tag."""
    storage.publish(ID, 0x200, client_profile=CP, prekey_profile=PP,
                    prekey_messages=_messages(0x200, 2))
    storage.publish(ID, 0x100, client_profile=CP, prekey_profile=PP,
                    prekey_messages=_messages(0x100, 2))
    storage.publish(ID, 0x300, client_profile=CP, prekey_profile=None,  # incomplete device
                    prekey_messages=_messages(0x300, 2))
    storage.publish(ID, 0x400, client_profile=CP, prekey_profile=PP,  # no prekeys
                    prekey_messages=[])
    got = storage.take_ensembles(ID, NOW)
    assert [(e.instance_tag, e.prekey_message) for e in got] == [
        (0x100, b"pm-100-0"), (0x200, b"pm-200-0")]


def test_new_profiles_replace_old_ones_and_duplicates_are_ignored(storage: Storage) -> None:
    storage.publish(ID, 0x100, client_profile=CP, prekey_profile=PP,
                    prekey_messages=_messages(0x100, 2))
    assert storage.publish(ID, 0x100, client_profile=StoredProfile(b"cp2", NOW + 200),
                           prekey_profile=None,
                           prekey_messages=_messages(0x100, 3)) == 3  # ids 0, 1 known
    (e,) = storage.take_ensembles(ID, NOW)
    assert (e.client_profile, e.prekey_profile) == (b"cp2", b"prekey-profile")


def test_expired_profiles_are_not_served(storage: Storage) -> None:
    storage.publish(ID, 0x100, client_profile=StoredProfile(b"cp", NOW - 1), prekey_profile=PP,
                    prekey_messages=_messages(0x100, 1))
    storage.publish(ID, 0x200, client_profile=CP, prekey_profile=StoredProfile(b"pp", NOW - 1),
                    prekey_messages=_messages(0x200, 1))
    assert storage.take_ensembles(ID, NOW) == []
    assert storage.count(ID, 0x100) == 1  # nothing consumed
    assert storage.delete_expired(NOW) == 2
    assert storage.delete_expired(NOW) == 0


def test_the_per_device_limit_is_all_or_nothing(storage: Storage) -> None:
    storage.publish(ID, 0x100, client_profile=CP, prekey_profile=PP,
                    prekey_messages=_messages(0x100, 4), max_stored=5)
    with pytest.raises(StorageFullError):
        storage.publish(ID, 0x100, client_profile=StoredProfile(b"new", NOW + 9),
                        prekey_profile=None, prekey_messages=_messages(0x100, 2, 100),
                        max_stored=5)
    assert storage.count(ID, 0x100) == 4
    (e,) = storage.take_ensembles(ID, NOW)
    assert e.client_profile == b"client-profile"  # the refused publication changed nothing


def test_the_rate_limit_is_a_sliding_minute_per_requester(storage: Storage) -> None:
    assert [storage.admit_retrieval("romeo@montague.lit", NOW, 3) for _ in range(4)] == [
        True, True, True, False]
    assert storage.admit_retrieval("nurse@capulet.lit", NOW, 3)  # another requester
    assert not storage.admit_retrieval("romeo@montague.lit", NOW + 59, 3)
    assert storage.admit_retrieval("romeo@montague.lit", NOW + 60, 3)  # the first three left
    assert storage.admit_retrieval("romeo@montague.lit", NOW + 61, 3)
    assert storage.admit_retrieval("romeo@montague.lit", NOW + 62, 3)
    assert not storage.admit_retrieval("romeo@montague.lit", NOW + 63, 3)
    assert storage.delete_expired(NOW + 200) == 0  # purges the log, counts only profiles
    assert storage.admit_retrieval("romeo@montague.lit", NOW + 200, 3)


def test_a_retrieval_is_admitted_and_taken_in_one_step(storage: Storage) -> None:
    storage.publish(ID, 0x200, client_profile=CP, prekey_profile=PP,
                    prekey_messages=_messages(0x200, 1))
    storage.publish(ID, 0x100, client_profile=CP, prekey_profile=PP,
                    prekey_messages=_messages(0x100, 3))
    assert storage.retrieve("romeo@montague.lit", ID, NOW, 3) == [
        StoredEnsemble(0x100, b"client-profile", b"prekey-profile", b"pm-100-0"),
        StoredEnsemble(0x200, b"client-profile", b"prekey-profile", b"pm-200-0")]
    assert storage.retrieve("romeo@montague.lit", ID, NOW + 1, 3) == [
        StoredEnsemble(0x100, b"client-profile", b"prekey-profile", b"pm-100-1")]
    assert storage.retrieve("romeo@montague.lit", "nobody@capulet.lit", NOW + 2, 3) == []
    # three admitted (the last found nothing): refused, and nothing is taken
    assert storage.retrieve("romeo@montague.lit", ID, NOW + 3, 3) is None
    assert storage.count(ID, 0x100) == 1
    assert not storage.admit_retrieval("romeo@montague.lit", NOW + 59, 3)  # one limit
    assert storage.retrieve("nurse@capulet.lit", ID, NOW + 3, 3) == [
        StoredEnsemble(0x100, b"client-profile", b"prekey-profile", b"pm-100-2")]
    assert storage.retrieve("romeo@montague.lit", ID, NOW + 60, 3) == []  # the first left
    assert storage.retrieve("tybalt@capulet.lit", ID, NOW, 0) is None  # a limit of 0


def test_the_rate_limit_counts_each_second_of_the_window(storage: Storage) -> None:
    """Several retrievals in one second, and seconds out of order (instances whose clocks
    differ a little): the window is ``(now - 60, now]`` whatever the order."""
    assert all(storage.admit_retrieval("romeo@montague.lit", NOW + 10, 5) for _ in range(2))
    assert storage.admit_retrieval("romeo@montague.lit", NOW + 5, 5)
    assert storage.admit_retrieval("romeo@montague.lit", NOW + 12, 5)
    assert storage.admit_retrieval("romeo@montague.lit", NOW + 10, 5)
    assert not storage.admit_retrieval("romeo@montague.lit", NOW + 12, 5)
    assert storage.admit_retrieval("romeo@montague.lit", NOW + 65, 5)  # NOW + 5 left
    assert not storage.admit_retrieval("romeo@montague.lit", NOW + 69, 5)
    assert all(storage.admit_retrieval("romeo@montague.lit", NOW + 70, 5) for _ in range(3))
    assert not storage.admit_retrieval("romeo@montague.lit", NOW + 71, 5)


def test_sqlite_is_durable(tmp_path: Path) -> None:
    path = tmp_path / "durable.sqlite"
    s = SqliteStorage(path)
    s.publish(ID, 0x100, client_profile=CP, prekey_profile=PP, prekey_messages=_messages(0x100, 2))
    s.take_ensembles(ID, NOW)
    s.close()
    again = SqliteStorage(path)
    assert again.count(ID, 0x100) == 1
    assert [e.prekey_message for e in again.take_ensembles(ID, NOW)] == [b"pm-100-1"]
    again.close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


# --------------------------------------------------------------------------- concurrency

DEVICES = (0x100, 0x200, 0x300)
PER_DEVICE = 60


def _fill(storage: Storage) -> None:
    for tag in DEVICES:
        storage.publish(ID, tag, client_profile=CP, prekey_profile=PP,
                        prekey_messages=_messages(tag, PER_DEVICE))


def _drain(storage: Storage, rounds: int, requester: str | None = None) -> list[bytes]:
    """``rounds`` retrievals: ``take_ensembles``, or ``retrieve`` by ``requester``."""
    got: list[bytes] = []
    for _ in range(rounds):
        taken = (storage.take_ensembles(ID, NOW) if requester is None
                 else storage.retrieve(requester, ID, NOW, 10**6))
        assert taken is not None
        got.extend(e.prekey_message for e in taken)
    return got


def _check_served_once(results: list[list[bytes]]) -> None:
    served = [m for r in results for m in r]
    assert len(served) == len(set(served)), "a one-time prekey was handed out twice"
    expected = {m for tag in DEVICES for _, m in _messages(tag, PER_DEVICE)}
    assert set(served) == expected  # and every one was handed out


@pytest.mark.parametrize("through", ["take_ensembles", "retrieve"])
def test_threads_never_get_the_same_prekey(shared_url: str, through: str) -> None:
    storage = open_storage(shared_url)
    _fill(storage)
    results: list[list[bytes]] = [[] for _ in range(8)]
    barrier = threading.Barrier(8)

    def worker(i: int) -> None:
        barrier.wait()
        requester = None if through == "take_ensembles" else f"r{i % 2}@montague.lit"
        results[i] = _drain(storage, PER_DEVICE, requester)  # 8 x 60 rounds for 60 per device

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _check_served_once(results)
    assert storage.take_ensembles(ID, NOW) == []
    storage.close()


def test_threads_on_the_in_memory_storage() -> None:
    storage = InMemoryStorage()
    _fill(storage)
    results: list[list[bytes]] = [[] for _ in range(6)]

    def worker(i: int) -> None:
        results[i] = _drain(storage, PER_DEVICE)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    _check_served_once(results)


def _process_worker(url: str, rounds: int, requester: str | None,
                    start: multiprocessing.synchronize.Event,
                    out: multiprocessing.Queue[list[bytes]]) -> None:
    storage = open_storage(url)
    start.wait()
    out.put(_drain(storage, rounds, requester))
    storage.close()


def _process_admitter(url: str, start: multiprocessing.synchronize.Event,
                      out: multiprocessing.Queue[int]) -> None:
    storage = open_storage(url)
    start.wait()
    out.put(sum(storage.admit_retrieval("romeo@montague.lit", NOW, 25) for _ in range(10))
            + sum(storage.retrieve("romeo@montague.lit", ID, NOW, 25) is not None
                  for _ in range(10)))
    storage.close()


@pytest.mark.parametrize("through", ["take_ensembles", "retrieve"])
def test_processes_never_get_the_same_prekey(shared_url: str, through: str) -> None:
    """Several server processes (e.g. components of one domain) on one shared store; with
    ``retrieve``, all of them for one requester (its rate-limit row is shared too)."""
    storage = open_storage(shared_url)
    _fill(storage)
    storage.close()
    ctx = multiprocessing.get_context("fork")  # cheap; no connection is open here
    start = ctx.Event()
    out: multiprocessing.Queue[list[bytes]] = ctx.Queue()
    requester = None if through == "take_ensembles" else "romeo@montague.lit"
    procs = [ctx.Process(target=_process_worker,
                         args=(shared_url, PER_DEVICE, requester, start, out))
             for _ in range(4)]
    for p in procs:
        p.start()
    start.set()
    results = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    _check_served_once(results)


def test_the_rate_limit_holds_across_processes(shared_url: str) -> None:
    """Four processes ask 20 times each for one requester (10 admissions alone, 10
    retrievals), limit 25: exactly 25 admitted in all."""
    open_storage(shared_url).close()
    ctx = multiprocessing.get_context("fork")  # cheap; no connection is open here
    start = ctx.Event()
    out: multiprocessing.Queue[int] = ctx.Queue()
    procs = [ctx.Process(target=_process_admitter, args=(shared_url, start, out))
             for _ in range(4)]
    for p in procs:
        p.start()
    start.set()
    admitted = [out.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    assert sum(admitted) == 25


# --------------------------------------------------------------------------- both agree

_OPS = st.lists(st.one_of(
    st.tuples(st.just("publish"), st.sampled_from([0x100, 0x200]), st.booleans(),
              st.booleans(), st.lists(st.integers(0, 6), max_size=4), st.integers(-5, 5)),
    st.tuples(st.just("take"), st.integers(-5, 5)),
    st.tuples(st.just("retrieve"), st.integers(-5, 5)),
    st.tuples(st.just("count"), st.sampled_from([0x100, 0x200])),
    st.tuples(st.just("expire"), st.integers(-5, 5)),
), max_size=25)


def _apply(storage: Storage, ops: list[tuple[object, ...]]) -> list[object]:
    out: list[object] = []
    for op in ops:
        if op[0] == "publish":
            _, tag, cp, pp, ids, exp = op
            assert isinstance(tag, int) and isinstance(exp, int) and isinstance(ids, list)
            try:
                out.append(storage.publish(
                    ID, tag, client_profile=StoredProfile(b"cp%d" % exp, NOW + exp) if cp else None,
                    prekey_profile=StoredProfile(b"pp%d" % exp, NOW + exp) if pp else None,
                    prekey_messages=[(i, b"pm%d-%d-%d" % (tag, i, n)) for n, i in enumerate(ids)],
                    max_stored=5))
            except StorageFullError:
                out.append("full")
        elif op[0] == "take":
            assert isinstance(op[1], int)
            out.append(storage.take_ensembles(ID, NOW + op[1]))
        elif op[0] == "retrieve":
            assert isinstance(op[1], int)
            out.append(storage.retrieve("romeo@montague.lit", ID, NOW + op[1], 4))
        elif op[0] == "count":
            assert isinstance(op[1], int)
            out.append(storage.count(ID, op[1]))
        else:
            assert isinstance(op[1], int)
            out.append(storage.delete_expired(NOW + op[1]))
    return out


@settings(max_examples=40, deadline=None)
@given(_OPS)
def test_sqlite_and_memory_storage_agree(ops: list[tuple[object, ...]]) -> None:
    """Any sequence of operations gives the same answers on both implementations."""
    sql = SqliteStorage(":memory:")
    try:
        assert _apply(sql, ops) == _apply(InMemoryStorage(), ops)
    finally:
        sql.close()


def test_postgresql_and_memory_storage_agree(postgres_server: PostgresServer) -> None:
    """The same property against PostgreSQL (one database, emptied between examples)."""
    from otrv4_prekey.postgres import PostgresStorage

    pg = PostgresStorage(postgres_server.create_database())

    @settings(max_examples=25, deadline=None)
    @given(_OPS)
    def agree(ops: list[tuple[object, ...]]) -> None:
        with pg._connection() as conn:
            conn.execute("TRUNCATE client_profiles, prekey_profiles, prekey_messages, "
                         "retrieval_windows")
        assert _apply(pg, ops) == _apply(InMemoryStorage(), ops)

    try:
        agree()
    finally:
        pg.close()
