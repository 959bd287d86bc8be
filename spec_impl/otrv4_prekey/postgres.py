"""The prekey server's storage in PostgreSQL, shared by several instances of one service.

Implements the same :class:`~otrv4_prekey.storage.Storage` contract as
:class:`~otrv4_prekey.storage.SqliteStorage` (otrv4-prekey-server.md
§Publishing Prekey Values, §Retrieving Prekey Ensembles, §Storage of Prekeys
Ensembles for XMPP), for a domain that runs several instances of its prekey
service on one database, from several processes or hosts:

* **a retrieval is one statement**: for each device of the identity with
  unexpired profiles, the oldest Prekey message that no concurrent
  transaction holds is locked (``FOR UPDATE SKIP LOCKED``) and deleted
  (``DELETE … RETURNING``); a row can be deleted by one transaction only, so
  each Prekey message is handed out at most once, and concurrent retrievals
  of one device take different rows instead of waiting for each other;
* **a publication is one transaction**, under a per-device advisory lock
  (so that two publications of one device cannot both pass the
  ``max_stored`` check); a process killed in the middle leaves nothing, the
  server rolls the transaction back when the connection drops;
* **the rate limit is in the database** (:meth:`PostgresStorage.admit_retrieval`,
  one call of a PL/pgSQL function under a per-requester advisory lock), so
  it holds across instances; its table is ``UNLOGGED``: recording a retrieval
  waits for no disk flush, and a database crash merely forgets the last
  minute's counts;
* a retrieval's delete is committed durably (``synchronous_commit`` as the
  server has it, ``on`` by default) before its answer leaves: a Prekey message
  that was served must not come back after a crash;
* the schema is created on first use, under an advisory lock (instances that
  start together do not race on ``CREATE TABLE``).

Each thread uses its own connection (autocommit; explicit transactions for
publications).  A connection that broke (the database restarted) is replaced
on the next call; the call that met the failure raises
:class:`StorageUnavailableError` and the component answers that request with
an IQ error.  Nothing is retried behind the caller's back: a retrieval whose
outcome is unknown may have consumed its Prekey messages (lost, never served
twice).

``conninfo`` is a libpq connection string or URL
(``postgresql://user@host:5432/dbname``).  Requires psycopg 3
(``pip install 'otrv4-xmpp[postgresql]'``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Final

import psycopg

from .storage import (
    DEFAULT_MAX_STORED_PER_DEVICE,
    RATE_WINDOW,
    Storage,
    StorageFullError,
    StorageUnavailableError,
    StoredEnsemble,
    StoredProfile,
)

__all__ = ["SCHEMA_LOCK", "PostgresStorage", "StorageUnavailableError"]

#: The advisory lock key that serializes schema creation (an arbitrary 64-bit constant).
SCHEMA_LOCK: Final = 0x0774_4B45_5953_0001


_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS client_profiles (
    identity TEXT NOT NULL, tag BIGINT NOT NULL, data BYTEA NOT NULL, expiration BIGINT NOT NULL,
    PRIMARY KEY (identity, tag));
CREATE TABLE IF NOT EXISTS prekey_profiles (
    identity TEXT NOT NULL, tag BIGINT NOT NULL, data BYTEA NOT NULL, expiration BIGINT NOT NULL,
    PRIMARY KEY (identity, tag));
CREATE TABLE IF NOT EXISTS prekey_messages (
    seq BIGINT GENERATED ALWAYS AS IDENTITY,
    identity TEXT NOT NULL, tag BIGINT NOT NULL, identifier BIGINT NOT NULL, data BYTEA NOT NULL,
    PRIMARY KEY (identity, tag, seq),
    UNIQUE (identity, tag, identifier));
CREATE UNLOGGED TABLE IF NOT EXISTS retrievals (requester TEXT NOT NULL, at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS retrievals_requester ON retrievals (requester, at);
CREATE OR REPLACE FUNCTION otr4_admit_retrieval(p_requester TEXT, p_now BIGINT,
                                                p_limit INTEGER, p_window BIGINT)
RETURNS BOOLEAN LANGUAGE plpgsql AS $$
DECLARE seen INTEGER;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('otr4-rate:' || p_requester, 0));
    DELETE FROM retrievals WHERE requester = p_requester AND at <= p_now - p_window;
    SELECT count(*) INTO seen FROM retrievals WHERE requester = p_requester;
    IF seen >= p_limit THEN
        RETURN FALSE;
    END IF;
    INSERT INTO retrievals (requester, at) VALUES (p_requester, p_now);
    RETURN TRUE;
END $$;
"""

# One statement: lock and delete the oldest free Prekey message of every device
# that has both profiles unexpired, and return it with the profiles.
_TAKE: Final = """
WITH devices AS (
    SELECT c.tag, c.data AS cp, p.data AS pp
    FROM client_profiles AS c
    JOIN prekey_profiles AS p ON p.identity = c.identity AND p.tag = c.tag
    WHERE c.identity = %(identity)s AND c.expiration >= %(now)s AND p.expiration >= %(now)s
), chosen AS (
    SELECT d.tag, m.seq
    FROM devices AS d
    CROSS JOIN LATERAL (
        SELECT seq FROM prekey_messages
        WHERE identity = %(identity)s AND tag = d.tag
        ORDER BY seq LIMIT 1
        FOR UPDATE SKIP LOCKED
    ) AS m
), taken AS (
    DELETE FROM prekey_messages AS pm
    USING chosen
    WHERE pm.identity = %(identity)s AND pm.tag = chosen.tag AND pm.seq = chosen.seq
    RETURNING pm.tag, pm.data
)
SELECT d.tag, d.cp, d.pp, taken.data
FROM taken JOIN devices AS d ON d.tag = taken.tag
ORDER BY d.tag
"""


class PostgresStorage(Storage):
    """:class:`~otrv4_prekey.storage.Storage` in a PostgreSQL database (see the module).

    Raises :class:`StorageUnavailableError` when the database cannot be
    reached (also from the constructor, which creates the schema).
    """

    def __init__(self, conninfo: str, *, connect_timeout: int = 10) -> None:
        self.conninfo = conninfo
        self._connect_timeout = connect_timeout
        self._local = threading.local()
        self._all: list[psycopg.Connection[tuple[object, ...]]] = []
        self._all_lock = threading.Lock()
        with self._connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
            conn.execute(_SCHEMA)

    # ------------------------------------------------------------------ connections

    def _open(self) -> psycopg.Connection[tuple[object, ...]]:
        try:
            conn = psycopg.connect(self.conninfo, autocommit=True,
                                   connect_timeout=self._connect_timeout)
        except psycopg.OperationalError as exc:
            raise StorageUnavailableError(f"cannot connect to the database: {exc}") from exc
        with self._all_lock:
            self._all.append(conn)
        return conn

    @contextmanager
    def _connection(self) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
        """This thread's connection (opened, or reopened when it broke); a failure of the
        connection itself becomes :class:`StorageUnavailableError`."""
        conn: psycopg.Connection[tuple[object, ...]] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            if conn is not None:
                self._forget(conn)
            conn = self._open()
            self._local.conn = conn
        try:
            yield conn
        except psycopg.OperationalError as exc:
            if conn.broken or conn.closed:
                self._forget(conn)
                self._local.conn = None
            raise StorageUnavailableError(f"the database connection failed: {exc}") from exc

    def _forget(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        with self._all_lock:
            if conn in self._all:
                self._all.remove(conn)
        with suppress(psycopg.Error):  # already gone
            conn.close()

    # ------------------------------------------------------------------ the contract

    def publish(
        self,
        identity: str,
        instance_tag: int,
        *,
        client_profile: StoredProfile | None,
        prekey_profile: StoredProfile | None,
        prekey_messages: Sequence[tuple[int, bytes]],
        max_stored: int = DEFAULT_MAX_STORED_PER_DEVICE,
    ) -> int:
        with self._connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, %s))",
                         (identity, instance_tag))
            if prekey_messages:
                first: dict[int, bytes] = {}
                for identifier, data in prekey_messages:  # the first of a duplicated id wins
                    first.setdefault(identifier, data)
                ids, datas = list(first), list(first.values())
                conn.execute(
                    "INSERT INTO prekey_messages (identity, tag, identifier, data) "
                    "SELECT %s, %s, i, d FROM unnest(%s::bigint[], %s::bytea[]) "
                    "WITH ORDINALITY AS u(i, d, n) ORDER BY n "
                    "ON CONFLICT (identity, tag, identifier) DO NOTHING",
                    (identity, instance_tag, ids, datas))
            row = conn.execute(
                "SELECT count(*) FROM prekey_messages WHERE identity = %s AND tag = %s",
                (identity, instance_tag)).fetchone()
            stored = int(row[0]) if row is not None else 0  # type: ignore[call-overload]
            if stored > max_stored:
                raise StorageFullError(
                    f"{identity}/{instance_tag:#010x} would hold {stored} Prekey messages "
                    f"(limit {max_stored})")
            for table, profile in (("client_profiles", client_profile),
                                   ("prekey_profiles", prekey_profile)):
                if profile is not None:
                    conn.execute(
                        f"INSERT INTO {table} (identity, tag, data, expiration) "
                        "VALUES (%s, %s, %s, %s) ON CONFLICT (identity, tag) DO UPDATE "
                        "SET data = EXCLUDED.data, expiration = EXCLUDED.expiration",
                        (identity, instance_tag, profile.data, profile.expiration))
            return stored

    def count(self, identity: str, instance_tag: int) -> int:
        with self._connection() as conn:
            row = conn.execute(
                "SELECT count(*) FROM prekey_messages WHERE identity = %s AND tag = %s",
                (identity, instance_tag)).fetchone()
            return int(row[0]) if row is not None else 0  # type: ignore[call-overload]

    def take_ensembles(self, identity: str, now: int) -> list[StoredEnsemble]:
        with self._connection() as conn:
            rows = conn.execute(_TAKE, {"identity": identity, "now": now}).fetchall()
        return [StoredEnsemble(int(tag), bytes(cp), bytes(pp), bytes(pm))  # type: ignore[call-overload]
                for tag, cp, pp, pm in rows]

    def delete_expired(self, now: int) -> int:
        with self._connection() as conn, conn.transaction():
            a = conn.execute("DELETE FROM client_profiles WHERE expiration < %s", (now,)).rowcount
            b = conn.execute("DELETE FROM prekey_profiles WHERE expiration < %s", (now,)).rowcount
            conn.execute("DELETE FROM retrievals WHERE at <= %s", (now - RATE_WINDOW,))
            return a + b

    def admit_retrieval(self, requester: str, now: int, per_minute: int) -> bool:
        with self._connection() as conn:
            row = conn.execute("SELECT otr4_admit_retrieval(%s, %s, %s, %s)",
                               (requester, now, per_minute, RATE_WINDOW)).fetchone()
            return bool(row is not None and row[0])

    def close(self) -> None:
        """Close every connection this storage opened (in any thread)."""
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            with suppress(psycopg.Error):
                conn.close()
        self._local = threading.local()
