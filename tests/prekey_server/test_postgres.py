"""What only PostgreSQL shows: a publisher killed mid-transaction leaves all or nothing, and
a restarted database costs the calls that met it, never a Prekey message served twice."""

from __future__ import annotations

import multiprocessing
import os
import signal
import time

import psycopg
import pytest

from otrv4_prekey.postgres import PostgresStorage, StorageUnavailableError
from otrv4_prekey.storage import StoredProfile

from .pgserver import PostgresServer

NOW = 1_000_000
ID = "juliet@capulet.lit"
CP = StoredProfile(b"client-profile", NOW + 100)
PP = StoredProfile(b"prekey-profile", NOW + 100)
BIG = 20_000


def _publisher(url: str) -> None:
    storage = PostgresStorage(url)
    storage.publish(ID, 0x100, client_profile=StoredProfile(b"new-profile", NOW + 100),
                    prekey_profile=PP, max_stored=BIG + 10,
                    prekey_messages=[(i, b"m%06d" % i + b"x" * 400) for i in range(BIG)])
    storage.close()


def _in_transaction(url: str) -> bool:
    """Whether another backend is inside a write transaction (only the publisher writes)."""
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE client_port IS NOT NULL "
            "AND backend_xid IS NOT NULL AND pid <> pg_backend_pid()").fetchone()
    return bool(row and row[0])


def test_a_publisher_killed_mid_transaction_leaves_all_or_nothing(
        postgres_server: PostgresServer) -> None:
    url = postgres_server.create_database()
    storage = PostgresStorage(url)
    storage.publish(ID, 0x100, client_profile=CP, prekey_profile=PP,
                    prekey_messages=[(i, b"old") for i in range(1_000_000, 1_000_005)])
    outcomes = []
    ctx = multiprocessing.get_context("fork")
    for _ in range(2):
        before = storage.count(ID, 0x100)
        proc = ctx.Process(target=_publisher, args=(url,))
        proc.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not _in_transaction(url):
            time.sleep(0.002)
        assert proc.pid is not None
        os.kill(proc.pid, signal.SIGKILL)
        proc.join(timeout=30)
        assert proc.exitcode == -signal.SIGKILL
        time.sleep(0.2)  # the server notices the dropped connection and rolls back
        after = storage.count(ID, 0x100)
        (e,) = storage.take_ensembles(ID, NOW) or [None]
        assert e is not None
        if after == before:  # nothing: the old profile, the old prekeys
            assert e.client_profile == b"client-profile"
            outcomes.append("nothing")
        else:  # all: every one of them and the new profile
            assert after == before + BIG
            assert e.client_profile == b"new-profile"
            outcomes.append("all")
        storage.publish(ID, 0x100, client_profile=None, prekey_profile=None,
                        prekey_messages=[(1_000_000, b"old")])  # put back the one taken
    assert "nothing" in outcomes  # the kill did land inside a transaction
    storage.close()


def test_a_restarted_database_fails_one_call_and_the_next_works(
        postgres_server: PostgresServer) -> None:
    server = postgres_server
    try:
        url = server.create_database()
        storage = PostgresStorage(url)
        storage.publish(ID, 0x100, client_profile=CP, prekey_profile=PP,
                        prekey_messages=[(i, b"pm%d" % i) for i in range(5)])
        assert storage.take_ensembles(ID, NOW)[0].prekey_message == b"pm0"
        server.restart()
        with pytest.raises(StorageUnavailableError):
            storage.take_ensembles(ID, NOW)  # this connection died with the old server
        assert [e.prekey_message for e in storage.take_ensembles(ID, NOW)] == [b"pm1"]
        server.stop()
        with pytest.raises(StorageUnavailableError):
            storage.count(ID, 0x100)
        with pytest.raises(StorageUnavailableError):
            storage.count(ID, 0x100)  # no server: reconnecting fails too
        server.start()
        assert storage.count(ID, 0x100) == 3
        storage.close()
    finally:
        if server.pid is None:
            server.start()
