"""Storage URLs: which storage a service configuration names, and the URLs it refuses."""

from __future__ import annotations

from pathlib import Path

import pytest

from otrv4_prekey.storage import InMemoryStorage, SqliteStorage
from otrv4_prekey.storage_url import (
    InvalidStorageUrlError,
    StorageUrl,
    open_storage,
    parse_storage_url,
)


@pytest.mark.parametrize(("url", "parsed"), [
    ("sqlite:///var/lib/p.sqlite", StorageUrl("sqlite", "/var/lib/p.sqlite")),
    ("sqlite:p.sqlite", StorageUrl("sqlite", "p.sqlite")),
    ("sqlite:data/p.sqlite", StorageUrl("sqlite", "data/p.sqlite")),
    ("sqlite::memory:", StorageUrl("sqlite", ":memory:")),
    ("prekeys.sqlite", StorageUrl("sqlite", "prekeys.sqlite")),
    ("/abs/prekeys.sqlite", StorageUrl("sqlite", "/abs/prekeys.sqlite")),
    ("memory:", StorageUrl("memory", "")),
    ("postgresql://u:pw@db.example.org:5432/p", StorageUrl("postgresql",
                                                           "postgresql://u:pw@db.example.org:5432/p")),
    ("postgres:///p?host=/run/postgresql", StorageUrl("postgresql",
                                                      "postgres:///p?host=/run/postgresql")),
])
def test_parse(url: str, parsed: StorageUrl) -> None:
    assert parse_storage_url(url) == parsed


@pytest.mark.parametrize(("url", "message"), [
    ("", "empty"),
    ("sqlite://host/p.sqlite", "has no host"),
    ("sqlite:", "names no file"),
    ("mysql://db/p", "unknown storage scheme 'mysql'"),
])
def test_refused(url: str, message: str) -> None:
    with pytest.raises(InvalidStorageUrlError, match=message):
        parse_storage_url(url)


def test_a_password_never_reaches_a_log_line() -> None:
    assert parse_storage_url("postgresql://otr4:s3cret@db:5432/p").redacted() == \
        "postgresql://otr4:***@db:5432/p"
    assert parse_storage_url("postgresql://otr4@db/p").redacted() == "postgresql://otr4@db/p"
    assert parse_storage_url("sqlite:///v/p.sqlite").redacted() == "sqlite:/v/p.sqlite"


def test_open(tmp_path: Path) -> None:
    assert isinstance(open_storage("memory:"), InMemoryStorage)
    s = open_storage(f"sqlite://{tmp_path / 'x.sqlite'}")
    assert isinstance(s, SqliteStorage) and s.path == str(tmp_path / "x.sqlite")
    s.close()
    assert (tmp_path / "x.sqlite").exists()
