"""Where the prekey server keeps what publishers sent: the interface, in-memory and SQLite.

Implements the storage rules of otrv4-prekey-server.md §Publishing Prekey
Values, §Retrieving Prekey Ensembles and §Storage of Prekeys Ensembles for
XMPP:

* everything is stored by **identity** (the publisher's bare JID) and
  **instance tag** (the device);
* a newly published Client Profile or Prekey Profile replaces the stored one
  of that device; Prekey messages accumulate, duplicates (same identifier)
  are discarded;
* a retrieval builds one ensemble per device that has an unexpired Client
  Profile, an unexpired Prekey Profile and at least one Prekey message,
  and **deletes the Prekey message it hands out**, in the same atomic step:
  a one-time prekey is served at most once, also when several retrievals run
  at the same time (in threads, processes, or components sharing the file);
* profiles are kept after a retrieval, until they expire.

The storage keeps bytes: profiles and Prekey messages exactly as they
arrived (so they are handed out byte for byte), plus the profiles'
expiration times.  Deciding what is valid is the server's job
(:mod:`otrv4_prekey.server`).

:class:`SqliteStorage` is the default: one file, durable (WAL journal,
``synchronous=FULL``), safe across threads and processes; a retrieval is one
``BEGIN IMMEDIATE`` transaction whose deletes use ``DELETE … RETURNING``.
SQLite has one writer at a time and each commit flushes the WAL while it
holds the write lock, so retrievals are serial however many processes share
the file: about one per flush of the disk.
:class:`InMemoryStorage` is for tests and examples.  Several instances of
the service (distinct components of one domain, see the XEP's "Several
Instances") share one PostgreSQL database through
:class:`otrv4_prekey.postgres.PostgresStorage`;
:func:`otrv4_prekey.storage_url.open_storage` picks the implementation from
a storage URL.

The storage also keeps the retrieval rate limit (:meth:`Storage.admit_retrieval`),
so that a limit holds across every instance sharing the store; the server
retrieves with :meth:`Storage.retrieve`, the admission and the retrieval in
one step (one transaction, one commit to flush, on SQLite and PostgreSQL).
"""

from __future__ import annotations

import sqlite3
import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from otrv4.errors import OTRError

__all__ = [
    "DEFAULT_MAX_STORED_PER_DEVICE",
    "RATE_WINDOW",
    "InMemoryStorage",
    "SqliteStorage",
    "Storage",
    "StorageFullError",
    "StorageUnavailableError",
    "StoredEnsemble",
    "StoredProfile",
]

#: How many Prekey messages the server keeps for one device at most (decision in
#: :mod:`otrv4_prekey.server`: five publications of 100).
DEFAULT_MAX_STORED_PER_DEVICE: Final = 500


class StorageFullError(OTRError):
    """Storing a publication would exceed the per-device limit; nothing was stored."""


class StorageUnavailableError(RuntimeError):
    """The storage cannot be reached, or the connection to it broke during the call.

    Not a protocol error (no fault of the requester, so not an
    :class:`~otrv4.errors.OTRError`): the XMPP component answers the request
    with an IQ error of type ``wait``.  Raised by
    :class:`~otrv4_prekey.postgres.PostgresStorage`; the next call reconnects.
    """


@dataclass(frozen=True)
class StoredProfile:
    """A profile as it arrived, with its expiration time (seconds since the epoch)."""

    data: bytes
    expiration: int


@dataclass(frozen=True)
class StoredEnsemble:
    """One device's ensemble as handed out: tag, Client Profile, Prekey Profile, Prekey message."""

    instance_tag: int
    client_profile: bytes
    prekey_profile: bytes
    prekey_message: bytes


class Storage(ABC):
    """What the prekey server needs from its storage.  Every method is atomic."""

    @abstractmethod
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
        """Store one publication of one device, all or nothing; return how many Prekey
        messages the device has afterwards.

        Profiles replace the stored ones; Prekey messages ``(identifier, bytes)``
        are added, those whose identifier is already stored for the device are
        ignored.  Raises :class:`StorageFullError` (storing nothing) when the
        device would hold more than ``max_stored`` Prekey messages.
        """

    @abstractmethod
    def count(self, identity: str, instance_tag: int) -> int:
        """How many Prekey messages are stored for this device."""

    @abstractmethod
    def take_ensembles(self, identity: str, now: int) -> list[StoredEnsemble]:
        """Atomically build one ensemble per device of ``identity`` that has a Client Profile
        and a Prekey Profile not expired at ``now`` and a Prekey message, and delete the
        Prekey messages used (the oldest of each device).  Sorted by instance tag."""

    @abstractmethod
    def delete_expired(self, now: int) -> int:
        """Delete profiles expired before ``now``; return how many were deleted."""

    @abstractmethod
    def admit_retrieval(self, requester: str, now: int, per_minute: int) -> bool:
        """The retrieval rate limit, one atomic step: when fewer than ``per_minute``
        retrievals by ``requester`` were admitted in the 60 seconds up to ``now``
        (``(now - 60, now]``), record one at ``now`` and return True; otherwise
        record nothing and return False.  Shared by every server using the storage."""

    def retrieve(self, requester: str, identity: str, now: int,
                 per_minute: int) -> list[StoredEnsemble] | None:
        """One retrieval under the rate limit: :meth:`admit_retrieval` and, when it admits,
        :meth:`take_ensembles`; ``None`` when the requester is refused (nothing taken).

        What the server calls for every Prekey Ensemble Query.  This default makes the two
        calls in turn; :class:`SqliteStorage` and
        :class:`~otrv4_prekey.postgres.PostgresStorage` do both in one transaction (one
        commit to flush, one round trip), so an admission is recorded exactly when its
        retrieval is.
        """
        if not self.admit_retrieval(requester, now, per_minute):
            return None
        return self.take_ensembles(identity, now)

    def close(self) -> None:  # noqa: B027  (optional hook)
        """Release resources (a no-op unless the storage holds some)."""


#: Seconds covered by the retrieval rate limit (``retrievals_per_minute``).
RATE_WINDOW: Final = 60


# --------------------------------------------------------------------------- in memory


@dataclass
class _Device:
    client_profile: StoredProfile | None = None
    prekey_profile: StoredProfile | None = None
    messages: dict[int, bytes] = field(default_factory=dict)  # insertion order = age


class InMemoryStorage(Storage):
    """A dictionary behind one lock; for tests, examples and single-process demos."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data: dict[str, dict[int, _Device]] = {}
        self._admitted: dict[str, list[int]] = {}

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
        with self._lock:
            device = self._data.get(identity, {}).get(instance_tag, _Device())
            new: dict[int, bytes] = {}
            for identifier, data in prekey_messages:  # the first of a duplicated id wins
                if identifier not in device.messages:
                    new.setdefault(identifier, data)
            if len(device.messages) + len(new) > max_stored:
                raise StorageFullError(
                    f"{identity}/{instance_tag:#010x} would hold "
                    f"{len(device.messages) + len(new)} Prekey messages (limit {max_stored})"
                )
            device.messages.update(new)
            if client_profile is not None:
                device.client_profile = client_profile
            if prekey_profile is not None:
                device.prekey_profile = prekey_profile
            self._data.setdefault(identity, {})[instance_tag] = device
            return len(device.messages)

    def count(self, identity: str, instance_tag: int) -> int:
        with self._lock:
            device = self._data.get(identity, {}).get(instance_tag)
            return 0 if device is None else len(device.messages)

    def take_ensembles(self, identity: str, now: int) -> list[StoredEnsemble]:
        out: list[StoredEnsemble] = []
        with self._lock:
            for tag, device in sorted(self._data.get(identity, {}).items()):
                cp, pp = device.client_profile, device.prekey_profile
                if cp is None or pp is None or cp.expiration < now or pp.expiration < now:
                    continue
                if not device.messages:
                    continue
                first = next(iter(device.messages))
                out.append(StoredEnsemble(tag, cp.data, pp.data, device.messages.pop(first)))
        return out

    def delete_expired(self, now: int) -> int:
        deleted = 0
        with self._lock:
            for devices in self._data.values():
                for device in devices.values():
                    if device.client_profile and device.client_profile.expiration < now:
                        device.client_profile = None
                        deleted += 1
                    if device.prekey_profile and device.prekey_profile.expiration < now:
                        device.prekey_profile = None
                        deleted += 1
            for who in [k for k, v in self._admitted.items()
                        if not v or max(v) <= now - RATE_WINDOW]:
                del self._admitted[who]
        return deleted

    def admit_retrieval(self, requester: str, now: int, per_minute: int) -> bool:
        with self._lock:
            # not popleft(): times may arrive out of order (threads, instances' clocks)
            window = [at for at in self._admitted.get(requester, ()) if at > now - RATE_WINDOW]
            self._admitted[requester] = window
            if len(window) >= per_minute:
                return False
            window.append(now)
            if len(self._admitted) > 100_000:  # forget idle requesters
                for who in [k for k, v in self._admitted.items()
                            if not v or max(v) <= now - RATE_WINDOW]:
                    del self._admitted[who]
            return True


# --------------------------------------------------------------------------- SQLite

_SCHEMA = """
CREATE TABLE IF NOT EXISTS client_profiles (
    identity TEXT NOT NULL, tag INTEGER NOT NULL, data BLOB NOT NULL, expiration INTEGER NOT NULL,
    PRIMARY KEY (identity, tag));
CREATE TABLE IF NOT EXISTS prekey_profiles (
    identity TEXT NOT NULL, tag INTEGER NOT NULL, data BLOB NOT NULL, expiration INTEGER NOT NULL,
    PRIMARY KEY (identity, tag));
CREATE TABLE IF NOT EXISTS prekey_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    identity TEXT NOT NULL, tag INTEGER NOT NULL, identifier INTEGER NOT NULL, data BLOB NOT NULL,
    UNIQUE (identity, tag, identifier));
CREATE INDEX IF NOT EXISTS prekey_messages_device ON prekey_messages (identity, tag, seq);
CREATE TABLE IF NOT EXISTS retrievals (requester TEXT NOT NULL, at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS retrievals_requester ON retrievals (requester, at);
"""


class SqliteStorage(Storage):
    """The default storage: one SQLite file (or ``":memory:"``), durable and concurrency-safe.

    Each thread gets its own connection; every write is one ``BEGIN IMMEDIATE``
    transaction, so concurrent retrievals (threads, processes, several
    components on one file) serialize on SQLite's write lock and each Prekey
    message is deleted, and so handed out, by exactly one of them.
    ``busy_timeout`` is how long a writer waits for that lock (milliseconds).
    """

    def __init__(self, path: str | Path, *, busy_timeout: int = 30_000) -> None:
        self.path = str(path)
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._shared: sqlite3.Connection | None = None
        if self.path == ":memory:":
            # one in-memory database: share a single connection behind a lock
            self._shared = self._open()
            self._shared_lock = threading.Lock()
        conn = self._conn()
        conn.executescript(_SCHEMA)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=self._busy_timeout / 1000)
        conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout)}")
        if self.path != ":memory:":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        return conn

    def _conn(self) -> sqlite3.Connection:
        if self._shared is not None:
            return self._shared
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._open()
            self._local.conn = conn
        return conn

    def _transaction(self) -> _Transaction:
        return _Transaction(self._conn(), getattr(self, "_shared_lock", None))

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
        with self._transaction() as db:
            for identifier, data in prekey_messages:
                db.execute(
                    "INSERT OR IGNORE INTO prekey_messages (identity, tag, identifier, data) "
                    "VALUES (?, ?, ?, ?)", (identity, instance_tag, identifier, data))
            stored = db.execute(
                "SELECT count(*) FROM prekey_messages WHERE identity = ? AND tag = ?",
                (identity, instance_tag)).fetchone()[0]
            if stored > max_stored:
                raise StorageFullError(
                    f"{identity}/{instance_tag:#010x} would hold {stored} Prekey messages "
                    f"(limit {max_stored})"
                )
            for table, profile in (("client_profiles", client_profile),
                                   ("prekey_profiles", prekey_profile)):
                if profile is not None:
                    db.execute(
                        f"INSERT OR REPLACE INTO {table} (identity, tag, data, expiration) "
                        "VALUES (?, ?, ?, ?)",
                        (identity, instance_tag, profile.data, profile.expiration))
            return int(stored)

    def count(self, identity: str, instance_tag: int) -> int:
        with self._transaction() as db:
            row = db.execute(
                "SELECT count(*) FROM prekey_messages WHERE identity = ? AND tag = ?",
                (identity, instance_tag)).fetchone()
            return int(row[0])

    def take_ensembles(self, identity: str, now: int) -> list[StoredEnsemble]:
        with self._transaction() as db:
            return _take(db, identity, now)

    def retrieve(self, requester: str, identity: str, now: int,
                 per_minute: int) -> list[StoredEnsemble] | None:
        """The admission and the take in one ``BEGIN IMMEDIATE`` transaction (one commit)."""
        with self._transaction() as db:
            if not _admit(db, requester, now, per_minute):
                return None
            return _take(db, identity, now)

    def delete_expired(self, now: int) -> int:
        with self._transaction() as db:
            a = db.execute("DELETE FROM client_profiles WHERE expiration < ?", (now,)).rowcount
            b = db.execute("DELETE FROM prekey_profiles WHERE expiration < ?", (now,)).rowcount
            db.execute("DELETE FROM retrievals WHERE at <= ?", (now - RATE_WINDOW,))
            return int(a) + int(b)

    def admit_retrieval(self, requester: str, now: int, per_minute: int) -> bool:
        with self._transaction() as db:
            return _admit(db, requester, now, per_minute)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
        if self._shared is not None:
            self._shared.close()
            self._shared = None


def _take(db: sqlite3.Connection, identity: str, now: int) -> list[StoredEnsemble]:
    """:meth:`Storage.take_ensembles` inside a write transaction."""
    out: list[StoredEnsemble] = []
    rows = db.execute(
        "SELECT c.tag, c.data, p.data FROM client_profiles AS c "
        "JOIN prekey_profiles AS p ON p.identity = c.identity AND p.tag = c.tag "
        "WHERE c.identity = ? AND c.expiration >= ? AND p.expiration >= ? "
        "ORDER BY c.tag", (identity, now, now)).fetchall()
    for tag, cp, pp in rows:
        taken = db.execute(
            "DELETE FROM prekey_messages WHERE seq = (SELECT seq FROM prekey_messages "
            "WHERE identity = ? AND tag = ? ORDER BY seq LIMIT 1) RETURNING data",
            (identity, tag)).fetchone()
        if taken is not None:
            out.append(StoredEnsemble(int(tag), bytes(cp), bytes(pp), bytes(taken[0])))
    return out


def _admit(db: sqlite3.Connection, requester: str, now: int, per_minute: int) -> bool:
    """:meth:`Storage.admit_retrieval` inside a write transaction."""
    db.execute("DELETE FROM retrievals WHERE requester = ? AND at <= ?",
               (requester, now - RATE_WINDOW))
    (seen,) = db.execute("SELECT count(*) FROM retrievals WHERE requester = ?",
                         (requester,)).fetchone()
    if seen >= per_minute:
        return False
    db.execute("INSERT INTO retrievals (requester, at) VALUES (?, ?)", (requester, now))
    return True


class _Transaction:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (``ROLLBACK`` on any exception)."""

    def __init__(self, conn: sqlite3.Connection, lock: threading.Lock | None) -> None:
        self._conn = conn
        self._lock = lock

    def __enter__(self) -> sqlite3.Connection:
        if self._lock is not None:
            self._lock.acquire()
        try:
            self._conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            if self._lock is not None:
                self._lock.release()
            raise
        return self._conn

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            self._conn.execute("ROLLBACK" if exc_type is not None else "COMMIT")
        finally:
            if self._lock is not None:
                self._lock.release()
