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
* **the rate limit is in the database**, so that it holds across instances:
  one row per requester, in an ``UNLOGGED`` table (a database crash merely
  forgets the last minute's counts), with the number of retrievals admitted
  in each second of the window; an admission is one upsert that locks the
  requester's row, so two instances admitting one requester decide one after
  the other on the latest counts;
* **a retrieval under the rate limit is one statement**
  (:meth:`PostgresStorage.retrieve`): the admission and the take above, in
  one transaction, one round trip and one commit; an admission is recorded
  exactly when its retrieval is;
* a retrieval's delete is committed durably (``synchronous_commit`` as the
  server has it, ``on`` by default) before its answer leaves: a Prekey message
  that was served must not come back after a crash.  Commits of concurrent
  retrievals share a WAL flush (PostgreSQL's group commit); the operations
  guide gives the server settings that help it (``commit_delay``);
* statements are prepared on their first execution on a connection and
  results come in binary (no hex text for the ``bytea`` values);
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
CREATE UNLOGGED TABLE IF NOT EXISTS retrieval_windows (
    requester TEXT PRIMARY KEY, secs BIGINT[] NOT NULL, counts BIGINT[] NOT NULL);
"""

# The rate limit, one statement: a requester's row holds how many retrievals were
# admitted in each second of the window (at most 60 buckets); the upsert locks that row,
# so concurrent admissions of one requester, from any instance, are decided one after
# the other on the latest counts.  Admitted: the row is written and returned; refused:
# no row is returned and nothing changes.
_ADMIT: Final = """
INSERT INTO retrieval_windows AS w (requester, secs, counts)
SELECT %(requester)s, ARRAY[%(now)s::bigint], ARRAY[1::bigint] WHERE %(limit)s > 0
ON CONFLICT (requester) DO UPDATE SET (secs, counts) = (
    SELECT array_agg(s ORDER BY s), array_agg(n ORDER BY s)
    FROM (SELECT s, sum(n)::bigint AS n
          FROM (SELECT s, n FROM unnest(w.secs, w.counts) AS u(s, n)
                WHERE s > %(now)s - %(window)s
                UNION ALL SELECT %(now)s, 1) AS b
          GROUP BY s) AS g)
WHERE (SELECT coalesce(sum(n), 0) FROM unnest(w.secs, w.counts) AS u(s, n)
       WHERE s > %(now)s - %(window)s) < %(limit)s
RETURNING 1
"""

# Lock and delete the oldest free Prekey message of every device that has both
# profiles unexpired, and return it with the profiles.  ``{gate}`` is empty for a
# retrieval without the rate limit, or makes the devices depend on the admission.
_TAKE_CTES: Final = """
devices AS (
    SELECT c.tag, c.data AS cp, p.data AS pp
    FROM client_profiles AS c
    JOIN prekey_profiles AS p ON p.identity = c.identity AND p.tag = c.tag
    WHERE c.identity = %(identity)s AND c.expiration >= %(now)s AND p.expiration >= %(now)s
    {gate}
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
)"""

_TAKE: Final = ("WITH" + _TAKE_CTES.format(gate="") + """
SELECT d.tag, d.cp, d.pp, taken.data
FROM taken JOIN devices AS d ON d.tag = taken.tag
ORDER BY d.tag
""")

# A retrieval under the rate limit, one statement and one transaction: the admission
# (as in _ADMIT) and, only when it admits, the take (as in _TAKE).  The first column
# says whether the requester was admitted; an admitted retrieval that found nothing
# gives one row of NULLs after it.
_RETRIEVE: Final = ("WITH admitted AS (" + _ADMIT + ")," + _TAKE_CTES.format(
    gate="AND EXISTS (SELECT FROM admitted)") + """
SELECT a.ok, t.tag, t.cp, t.pp, t.data
FROM (SELECT EXISTS (SELECT FROM admitted) AS ok) AS a
LEFT JOIN (SELECT d.tag, d.cp, d.pp, taken.data
           FROM taken JOIN devices AS d ON d.tag = taken.tag) AS t ON true
ORDER BY t.tag
""")


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
            rows = conn.execute(_TAKE, {"identity": identity, "now": now},
                                prepare=True, binary=True).fetchall()
        return [StoredEnsemble(*row) for row in rows]  # type: ignore[arg-type]

    def retrieve(self, requester: str, identity: str, now: int,
                 per_minute: int) -> list[StoredEnsemble] | None:
        """The admission and the take in one statement (one round trip, one transaction)."""
        with self._connection() as conn:
            rows = conn.execute(_RETRIEVE, {"requester": requester, "identity": identity,
                                            "now": now, "limit": per_minute,
                                            "window": RATE_WINDOW},
                                prepare=True, binary=True).fetchall()
        if not rows[0][0]:
            return None
        return [StoredEnsemble(*row[1:]) for row in rows  # type: ignore[arg-type]
                if row[1] is not None]

    def delete_expired(self, now: int) -> int:
        with self._connection() as conn, conn.transaction():
            a = conn.execute("DELETE FROM client_profiles WHERE expiration < %s", (now,)).rowcount
            b = conn.execute("DELETE FROM prekey_profiles WHERE expiration < %s", (now,)).rowcount
            conn.execute("DELETE FROM retrieval_windows WHERE "
                         "(SELECT max(s) FROM unnest(secs) AS s) <= %s", (now - RATE_WINDOW,))
            return a + b

    def admit_retrieval(self, requester: str, now: int, per_minute: int) -> bool:
        with self._connection() as conn:
            row = conn.execute(_ADMIT, {"requester": requester, "now": now,
                                        "limit": per_minute, "window": RATE_WINDOW},
                               prepare=True).fetchone()
            return row is not None

    def close(self) -> None:
        """Close every connection this storage opened (in any thread)."""
        with self._all_lock:
            conns, self._all = self._all, []
        for conn in conns:
            with suppress(psycopg.Error):
                conn.close()
        self._local = threading.local()
