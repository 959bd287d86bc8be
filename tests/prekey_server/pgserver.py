"""A throw-away PostgreSQL on 127.0.0.1 for the tests and the benchmark.

:class:`PostgresServer` runs ``initdb`` into a short temporary folder and
starts the server with ``pg_ctl`` on a free port, listening on 127.0.0.1
and on a unix socket inside that folder only.  PostgreSQL refuses to run as
root: as root, the folder is given to the ``postgres`` user (or ``nobody``)
and the server tools run as that user.  :meth:`PostgresServer.stop` ends the
postmaster by its PID (SIGINT: PostgreSQL's "fast" shutdown, which rolls back
open transactions) and removes the folder.

Where the binaries are missing the tests skip with the reason (they fail in
CI, like those needing Prosody): :func:`find_pg_bin` and :func:`require_postgres`.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import pytest

from otrv4_devtools.prosody import free_port

__all__ = ["RECOMMENDED_SETTINGS", "PostgresServer", "find_pg_bin", "postgres_server",
           "require_postgres"]

#: The server settings the operations guide (docs/prekey-service.rst, "PostgreSQL server
#: settings") recommends for the prekey service; the tests and the benchmark run with them.
#: Group commit: the backend about to flush the WAL waits 500 microseconds when at least 3
#: other transactions are open, so that their commits share its flush.
RECOMMENDED_SETTINGS: Final = {"commit_delay": "500", "commit_siblings": "3"}


def find_pg_bin() -> Path | None:
    """The folder holding ``initdb``, ``pg_ctl`` and ``postgres``: ``$PG_BIN``, the newest
    ``/usr/lib/postgresql/*/bin`` (Debian), or the folder of ``pg_ctl`` on the PATH."""
    candidates: list[Path] = []
    if os.environ.get("PG_BIN"):
        candidates.append(Path(os.environ["PG_BIN"]))
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"),
                    key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                    reverse=True)
    candidates.extend(debian)
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(Path(on_path).resolve().parent)
    for folder in candidates:
        if all((folder / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return folder
    return None


def require_postgres() -> Path:
    """The PostgreSQL binaries, or skip (fail in CI) saying what is missing."""
    from tests.conftest import require

    try:
        import psycopg  # noqa: F401
    except ImportError:
        require(False, "psycopg is not installed (pip install 'psycopg[binary]')")
    folder = find_pg_bin()
    require(folder is not None,
            "PostgreSQL is not installed (apt-get install postgresql; no initdb/pg_ctl found)")
    assert folder is not None
    return folder


def _server_user() -> tuple[str, str] | None:
    """Who runs the server tools when we are root: ``postgres`` if it exists, else nobody."""
    if os.geteuid() != 0:
        return None
    for user in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            continue
        import grp

        return user, grp.getgrgid(entry.pw_gid).gr_name
    raise RuntimeError("running as root and neither 'postgres' nor 'nobody' exists")


class PostgresServer:
    """One PostgreSQL cluster in a temporary folder, on 127.0.0.1:``port``."""

    def __init__(self, bin_dir: Path, *, fsync: bool = False,
                 settings: dict[str, str] | None = None) -> None:
        self.bin_dir = bin_dir
        self.folder = Path(tempfile.mkdtemp(prefix="otr4pg-", dir="/tmp"))
        self.data = self.folder / "data"
        self.log = self.folder / "server.log"
        self.port = free_port()
        self.fsync = fsync
        self.settings = {**RECOMMENDED_SETTINGS, **(settings or {})}
        self.user = _server_user()
        self._databases = itertools.count(1)
        if self.user is not None:
            shutil.chown(self.folder, *self.user)

    def _run(self, *args: str, timeout: float = 60) -> None:
        kwargs: dict[str, Any] = {}
        if self.user is not None:
            kwargs = {"user": self.user[0], "group": self.user[1], "extra_groups": []}
        subprocess.run([str(self.bin_dir / args[0]), *args[1:]], check=True, cwd=self.folder,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, **kwargs)

    def start(self) -> None:
        """``initdb`` (first time) and ``pg_ctl start``; returns when the server accepts
        connections."""
        if not self.data.exists():
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "-A", "trust",
                      "-E", "UTF8", "--no-locale", "--no-sync")
        options = (f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.folder} "
                   f"-c max_connections=200 -c fsync={'on' if self.fsync else 'off'} "
                   + " ".join(f"-c {k}={v}" for k, v in self.settings.items()))
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                  "-o", options, "start", timeout=90)

    def server_settings_text(self) -> str:
        """The settings this server runs with beyond PostgreSQL's defaults, for a report."""
        return ", ".join(f"{k}={v}" for k, v in
                         {"fsync": "on" if self.fsync else "off", **self.settings}.items())

    @property
    def pid(self) -> int | None:
        """The postmaster's PID (from ``postmaster.pid``), None when it is not running."""
        try:
            first = (self.data / "postmaster.pid").read_text().split("\n", 1)[0]
        except FileNotFoundError:
            return None
        return int(first) if first.strip().isdigit() else None

    def stop(self, *, remove: bool = False) -> None:
        """Stop the postmaster by its PID: "fast" shutdown (SIGINT: open transactions are
        rolled back, a checkpoint is written); with ``remove``, "immediate" (SIGQUIT) and
        the folder is deleted."""
        pid = self.pid
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGQUIT if remove else signal.SIGINT)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and _alive(pid):
                time.sleep(0.01)
            if _alive(pid):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            while (self.data / "postmaster.pid").exists() and time.monotonic() < deadline + 5:
                time.sleep(0.01)
        if remove:
            shutil.rmtree(self.folder, ignore_errors=True)

    def restart(self) -> None:
        """Stop (fast: open transactions are rolled back, connections dropped) and start."""
        self.stop()
        self.start()

    def url(self, database: str = "postgres") -> str:
        """A libpq URL for ``database`` over TCP on 127.0.0.1."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        """A new, empty database; returns its URL."""
        import psycopg

        name = f"t{next(self._databases)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
        return self.url(name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie child would still answer; the postmaster is not our child (pg_ctl forks it)
    return True


@contextlib.contextmanager
def running_postgres(*, fsync: bool = False) -> Iterator[PostgresServer]:
    """Start a server (skip or fail when PostgreSQL is missing); stop and remove it after."""
    server = PostgresServer(require_postgres(), fsync=fsync)
    try:
        server.start()
        yield server
    finally:
        server.stop(remove=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL for the test session (each test takes its own database)."""
    with running_postgres() as server:
        yield server
