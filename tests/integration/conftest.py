"""A real Prosody for the integration tests (``otrv4_devtools.prosody``).

The ``prosody`` fixture gives each test a fresh server: its own folder under
the test's ``tmp_path``, its own free ports on 127.0.0.1, the accounts of
:data:`~otrv4_devtools.prosody.ACCOUNTS`, and the component
``prekeys.localhost`` for the prekey service; the server is stopped (by PID)
at teardown.  Where ``prosody`` is not installed the tests skip, saying so;
in CI (``CI`` set) they fail (``tests/conftest.py``'s ``require_program``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from otrv4_devtools.prosody import (
    ACCOUNTS,
    PREKEY_COMPONENT,
    PREKEY_SECRET,
    ProsodyServer,
    make_server,
)
from tests.conftest import require_program

__all__ = ["ACCOUNTS", "PREKEY_COMPONENT", "PREKEY_SECRET", "ProsodyServer"]


@pytest.fixture
def prosody(tmp_path: Path) -> Iterator[ProsodyServer]:
    """A fresh Prosody (own data, own ports) for one test; stopped afterwards."""
    require_program("prosody")
    require_program("prosodyctl")
    server = make_server(tmp_path / "prosody")
    server.start()
    try:
        yield server
    finally:
        server.stop()
        if os.environ.get("OTR4_KEEP_PROSODY_LOG"):
            print(server.log.read_text(errors="replace")[-20000:])
