"""Storage URLs: which :class:`~otrv4_prekey.storage.Storage` a prekey service uses.

The service's configuration names its storage with one string:

==============================  ==========================================================
URL                             storage
==============================  ==========================================================
``sqlite:///var/lib/p.sqlite``  :class:`~otrv4_prekey.storage.SqliteStorage`, absolute path
``sqlite:p.sqlite``             the same, path relative to the working directory
``sqlite::memory:``             SQLite in memory (one process; for trials)
``memory:``                     :class:`~otrv4_prekey.storage.InMemoryStorage` (tests)
``postgresql://…``              :class:`~otrv4_prekey.postgres.PostgresStorage`; the URL
                                is handed to libpq as it is (``postgres://`` too)
a path without a scheme         a SQLite file (the embedded default)
==============================  ==========================================================

SQLite is the embedded default: one process, or several on one host sharing
the file.  PostgreSQL is for several instances on several hosts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from otrv4.errors import OTRError

from .storage import InMemoryStorage, SqliteStorage, Storage

__all__ = ["InvalidStorageUrlError", "StorageUrl", "open_storage", "parse_storage_url"]

Backend = Literal["sqlite", "memory", "postgresql"]

_POSTGRES_SCHEMES: Final = ("postgresql://", "postgres://")


class InvalidStorageUrlError(OTRError):
    """A storage URL this service cannot use (unknown scheme, a SQLite URL with a host)."""


@dataclass(frozen=True)
class StorageUrl:
    """A parsed storage URL: the backend and what it opens (a path or a libpq URL)."""

    backend: Backend
    target: str

    def redacted(self) -> str:
        """The URL for a log line: a PostgreSQL password is replaced by ``***``."""
        if self.backend != "postgresql":
            return f"{self.backend}:{self.target}"
        scheme, _, rest = self.target.partition("://")
        authority, slash, tail = rest.partition("/")
        if "@" in authority:
            userinfo, _, host = authority.rpartition("@")
            if ":" in userinfo:
                userinfo = userinfo.split(":", 1)[0] + ":***"
            authority = f"{userinfo}@{host}"
        return f"{scheme}://{authority}{slash}{tail}"


def parse_storage_url(url: str) -> StorageUrl:
    """Read a storage URL (table in the module docstring).

    Raises :class:`InvalidStorageUrlError` for an empty URL, an unknown
    scheme, or a ``sqlite://host/…`` URL (SQLite has no host).
    """
    if not url:
        raise InvalidStorageUrlError("the storage URL is empty")
    if url.startswith(_POSTGRES_SCHEMES):
        return StorageUrl("postgresql", url)
    if url == "memory:":
        return StorageUrl("memory", "")
    if url.startswith("sqlite:"):
        rest = url[len("sqlite:"):]
        if rest.startswith("//"):
            host, slash, path = rest[2:].partition("/")
            if host or not slash:
                raise InvalidStorageUrlError(
                    f"{url!r}: a SQLite URL has no host; write sqlite:///absolute/path or "
                    "sqlite:relative/path")
            rest = "/" + path
        if not rest:
            raise InvalidStorageUrlError(f"{url!r} names no file")
        return StorageUrl("sqlite", rest)
    scheme, sep, _ = url.partition(":")
    if sep and scheme.isalpha() and len(scheme) > 1:
        raise InvalidStorageUrlError(
            f"{url!r}: unknown storage scheme {scheme!r} (sqlite:, postgresql:, memory:)")
    return StorageUrl("sqlite", url)


def open_storage(url: str) -> Storage:
    """Open the storage a URL names (creating the SQLite file or the PostgreSQL tables
    if missing).  Raises :class:`InvalidStorageUrlError`, and for PostgreSQL
    :class:`~otrv4_prekey.postgres.StorageUnavailableError` or :class:`ImportError`
    when psycopg is not installed."""
    parsed = parse_storage_url(url)
    if parsed.backend == "memory":
        return InMemoryStorage()
    if parsed.backend == "sqlite":
        return SqliteStorage(parsed.target)
    from .postgres import PostgresStorage  # psycopg is needed only for this backend

    return PostgresStorage(parsed.target)
