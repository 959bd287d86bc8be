"""The default store: one SQLite file per account (stdlib :mod:`sqlite3`).

The file is created with mode 0600 and holds one table, ``records(name TEXT
PRIMARY KEY, data BLOB)``; ``PRAGMA user_version`` is the schema version
(:data:`SCHEMA_VERSION`).  It runs in WAL mode.  Every commit survives a crash
of the process.  With ``durability="full"`` (the default) a commit made with
``sync=True`` (the engine's, whenever the step sends something: the ratchet
state that protects against message-key reuse) is also synced to disk before
it returns (``synchronous=FULL``), and the others are synced with the next
such commit (``synchronous=NORMAL``); ``"normal"`` never waits for the disk
(a power failure may lose the last commits).

A second :class:`SQLiteStore` on the same file, in this process or another,
raises :class:`~otrv4_xmpp.state.errors.StoreLockedError` (an exclusive
``flock`` on ``<file>.lock``, held until :meth:`SQLiteStore.close` or the end of
the process).  An existing file is checked read-only before anything is
written: a file that is not an SQLite database of this format, is truncated
or fails SQLite's ``quick_check`` raises
:class:`~otrv4_xmpp.state.errors.StoreCorruptError`, a newer schema
:class:`~otrv4_xmpp.state.errors.StoreVersionError`; the file is left unchanged.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Literal

from .errors import StoreClosedError, StoreCorruptError, StoreLockedError, StoreVersionError
from .store import DeviceStore

__all__ = ["SCHEMA_VERSION", "SQLiteStore"]

#: The schema version this release writes (``PRAGMA user_version``).
SCHEMA_VERSION = 1

_HEADER = b"SQLite format 3\x00"


def _check_existing(path: Path) -> None:
    """Raise unless ``path`` is a readable store of a schema this release knows."""
    with path.open("rb") as f:
        head = f.read(100)
    size = path.stat().st_size
    if len(head) < 100 or not head.startswith(_HEADER):
        raise StoreCorruptError(f"{path}: not an SQLite database (truncated or another file)")
    page_size = int.from_bytes(head[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(head[28:32], "big")
    valid_count = head[24:28] == head[92:96]
    if valid_count and pages and page_size * pages > size:
        raise StoreCorruptError(f"{path}: truncated ({size} bytes, the header says "
                                f"{pages} pages of {page_size})")
    try:
        con = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            check = con.execute("PRAGMA quick_check").fetchone()
            version = con.execute("PRAGMA user_version").fetchone()[0]
            tables = {r[0] for r in con.execute(
                "SELECT name FROM sqlite_master WHERE type='table'")}
        finally:
            con.close()
    except sqlite3.DatabaseError as exc:
        raise StoreCorruptError(f"{path}: unreadable ({exc})") from exc
    if check is None or check[0] != "ok":
        raise StoreCorruptError(f"{path}: damaged ({check[0] if check else 'no answer'})")
    if version > SCHEMA_VERSION:
        raise StoreVersionError(f"{path}: schema version {version} was written by a newer "
                                f"release (this one knows up to {SCHEMA_VERSION})")
    if version == SCHEMA_VERSION and "records" not in tables:
        raise StoreCorruptError(f"{path}: no records table")
    if version == 0 and tables:
        raise StoreCorruptError(f"{path}: an SQLite database of another program")


class SQLiteStore(DeviceStore):
    """The records of one account in the SQLite file ``path`` (created when missing).

    Raises :class:`StoreLockedError`, :class:`StoreCorruptError`,
    :class:`StoreVersionError`.
    """

    def __init__(self, path: str | os.PathLike[str], *,
                 durability: Literal["full", "normal"] = "full") -> None:
        self.path = Path(path)
        self._lock_fd = os.open(f"{self.path}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(self._lock_fd)
            raise StoreLockedError(f"{self.path} is open in another process (or store)"
                                   ) from None
        try:
            self._con: sqlite3.Connection | None = self._connect(durability)
        except BaseException:
            os.close(self._lock_fd)
            raise

    def _connect(self, durability: str) -> sqlite3.Connection:
        if self.path.exists():
            _check_existing(self.path)
        else:
            self._create()
        con = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._full = durability == "full"
        self._synchronous = "NORMAL"
        con.execute("PRAGMA synchronous=NORMAL")
        return con

    def _create(self) -> None:
        """A new, empty store, made under a temporary name and renamed into place, so that
        a crash never leaves a half-made file at :attr:`path`."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.new")
        tmp.unlink(missing_ok=True)
        os.close(os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
        con = sqlite3.connect(tmp, isolation_level=None)
        try:
            con.execute("PRAGMA journal_mode=WAL")
            con.execute("BEGIN IMMEDIATE")
            con.execute("CREATE TABLE records "
                        "(name TEXT PRIMARY KEY, data BLOB NOT NULL) WITHOUT ROWID")
            con.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            con.execute("COMMIT")
        finally:
            con.close()
        os.replace(tmp, self.path)

    def _open(self) -> sqlite3.Connection:
        if self._con is None:
            raise StoreClosedError(f"{self.path}: the store was closed")
        return self._con

    def get(self, name: str) -> bytes | None:
        row = self._open().execute("SELECT data FROM records WHERE name=?", (name,)).fetchone()
        return None if row is None else bytes(row[0])

    def names(self, prefix: str = "") -> list[str]:
        rows = self._open().execute(
            "SELECT name FROM records WHERE substr(name, 1, ?)=? ORDER BY name",
            (len(prefix), prefix)).fetchall()
        return [r[0] for r in rows]

    def commit(self, puts: Mapping[str, bytes], deletes: Iterable[str] = (), *,
               sync: bool = True) -> None:
        con = self._open()
        wanted = "FULL" if sync and self._full else "NORMAL"
        if wanted != self._synchronous:
            con.execute(f"PRAGMA synchronous={wanted}")
            self._synchronous = wanted
        con.execute("BEGIN IMMEDIATE")
        try:
            con.executemany("DELETE FROM records WHERE name=?", [(n,) for n in deletes])
            con.executemany("INSERT OR REPLACE INTO records(name, data) VALUES (?, ?)",
                            [(k, bytes(v)) for k, v in puts.items()])
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
            os.close(self._lock_fd)
