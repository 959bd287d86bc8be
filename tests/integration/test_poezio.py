"""OTRv4 in a real client: two Poezio 0.18 processes, each in its own tmux session with
its own config and data folder, against a Prosody (with STARTTLS: Poezio will not log
in without TLS) started by the test on loopback; and a Poezio user talking to a client
on the plain ``xep_otr4`` plugin.

The screens are read with ``tmux capture-pane``.  The capture of Juliet's screen after
SMP succeeded is written to ``build/poezio-smp-capture.txt`` on every run; with
``OTR4_UPDATE_DOCS=1`` also to ``docs/poezio-smp-capture.txt``, which the docs page
includes.  The committed capture is checked against the fresh one (its OTRv4 lines,
with instance tags and fingerprints masked), so it cannot drift from what the plugin
shows.  Outside CI the tests skip when tmux, setpriv or root are missing; CI installs
tmux and the test installs Poezio into a virtual environment of its own.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from otrv4_devtools.prosody import ProsodyServer, make_certificate, make_server
from otrv4_xepgen.paths import PROJECT_ROOT
from otrv4_xmpp.slixmpp_plugin.client import Otr4Client
from tests.conftest import require, require_program

from .cast import run
from .poezio_driver import PoezioInstance, poezio_venv

pytestmark = pytest.mark.integration

CAPTURE = PROJECT_ROOT / "docs" / "poezio-smp-capture.txt"
FRESH = PROJECT_ROOT / "build" / "poezio-smp-capture.txt"
HEADER = ("Juliet's Poezio after SMP succeeded (captured by "
          "tests/integration/test_poezio.py with tmux capture-pane)\n\n")


@pytest.fixture
def tls_prosody() -> Iterator[tuple[ProsodyServer, Path]]:
    """A Prosody offering STARTTLS, in a folder ``nobody`` can enter; and that folder."""
    require(os.geteuid() == 0, "Poezio runs as nobody through setpriv, which needs root")
    for program in ("tmux", "setpriv", "openssl", "prosody"):
        require_program(program)
    base = Path(tempfile.mkdtemp(prefix="otr4-poezio-", dir="/tmp"))
    base.chmod(0o755)
    server = make_server(base / "prosody", tls=make_certificate(base))
    server.start()
    try:
        yield server, base
    finally:
        server.stop()
        if not os.environ.get("OTR4_KEEP_POEZIO"):
            shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def venv() -> Path:
    try:
        return poezio_venv()
    except subprocess.CalledProcessError as exc:
        require(False, f"Poezio could not be installed: {exc.stderr!r}")
        raise


def _befriend(a: PoezioInstance, b: PoezioInstance) -> None:
    a.command(f"add {b.jid}")
    b.command(f"add {a.jid}")
    b.wait_for(f"{a.jid} was added to the roster")
    a.command(f"accept {b.jid}")
    b.command(f"accept {a.jid}")
    a.wait_for(f"{b.jid} is now authorized")
    b.wait_for(f"{a.jid} is now authorized")


def _mask(text: str) -> set[str]:
    """The OTRv4 lines of a screen, with instance tags and fingerprints masked."""
    out = set()
    for line in text.splitlines():
        line = line.rpartition("x")[2] if "x" in line[:20] else line
        if "OTRv4" in line:
            line = re.sub(r"\b[0-9a-f]{8}\b", "TAG", line.strip())
            out.add(re.sub(r"poezio-\S+", "RESOURCE", line))
    return out


def test_two_poezio_clients_talk_verify_with_smp_and_survive_a_restart(
        tls_prosody: tuple[ProsodyServer, Path], venv: Path) -> None:
    server, base = tls_prosody
    j = PoezioInstance("otr4-juliet", base / "juliet", venv, "juliet@localhost",
                       server.password("juliet"), server.c2s_port)
    r = PoezioInstance("otr4-romeo", base / "romeo", venv, "romeo@localhost",
                       server.password("romeo"), server.c2s_port)
    try:
        j.start()
        r.start()
        j.wait_for("Authentication success")
        r.wait_for("Authentication success")
        for p in (j, r):
            p.command("load otr4")
            p.wait_for("Plugin otr4 loaded")
        _befriend(j, r)
        # Juliet opens the conversation and switches OTRv4 on: the status bar says so.
        j.command("message romeo@localhost")
        j.command("otr4")
        j.wait_for("OTRv4 encryption enabled for romeo@localhost")
        j.type("Good morrow, Romeo")
        j.wait_for("OTRv4: session with romeo@localhost device")
        j.wait_for("OTRv4: unverified")
        # Romeo's Poezio decrypted it (not the fallback body) in a new tab.
        r.command("win 1")
        screen = r.wait_for("Good morrow, Romeo")
        assert "encrypted with OTRv4" not in screen
        r.command("otr4")
        r.wait_for("OTRv4: unverified")
        r.type("Good morrow, Juliet")
        j.wait_for("Good morrow, Juliet")
        # SMP with the right secret: both see "verified".
        j.command("otr4_smp balcony Where did we first speak?")
        r.wait_for('asks: "Where did we first speak?"')
        r.command("otr4_answer balcony")
        r.wait_for("SMP succeeded")
        r.wait_for("OTRv4: verified")
        j.wait_for("SMP succeeded")
        capture = j.wait_for("OTRv4: verified")
        FRESH.parent.mkdir(exist_ok=True)
        FRESH.write_text(HEADER + capture.rstrip() + "\n", encoding="utf-8")
        if os.environ.get("OTR4_UPDATE_DOCS") == "1":
            CAPTURE.write_text(FRESH.read_text(encoding="utf-8"), encoding="utf-8")
        assert _mask(CAPTURE.read_text(encoding="utf-8")) == _mask(capture), (
            "docs/poezio-smp-capture.txt is stale: rerun with OTR4_UPDATE_DOCS=1")
        # Romeo quits; his Poezio starts again with the same identity and trust, and the
        # conversation goes on (OTRv4 stays on for Juliet's tab, a new DAKE runs).
        r.stop()
        r.start()
        r.wait_for("Authentication success")
        r.command("load otr4")
        r.wait_for("Plugin otr4 loaded")
        r.command("message juliet@localhost")
        r.type("I am back, fair Juliet")
        j.wait_for("I am back, fair Juliet")
        r.wait_for("OTRv4: verified")  # the trust decision survived the restart
        j.type("Welcome back")
        r.wait_for("Welcome back")
    finally:
        j.stop()
        r.stop()


def test_poezio_user_and_plain_plugin_client_talk(
        tls_prosody: tuple[ProsodyServer, Path], venv: Path) -> None:
    server, base = tls_prosody
    j = PoezioInstance("otr4-juliet-interop", base / "juliet", venv, "juliet@localhost",
                       server.password("juliet"), server.c2s_port)

    async def scenario() -> None:
        romeo = Otr4Client("romeo@localhost/garden", server.password("romeo"), label="garden")
        romeo.ca_certs = base / "localhost.crt"  # STARTTLS with the test's certificate
        romeo.enable_direct_tls = False
        await romeo.go_online("127.0.0.1", server.c2s_port)
        try:
            await asyncio.to_thread(j.start)
            await asyncio.to_thread(j.wait_for, "Authentication success")
            await asyncio.to_thread(j.command, "load otr4")
            await asyncio.to_thread(j.wait_for, "Plugin otr4 loaded")
            await asyncio.to_thread(j.command, "add romeo@localhost")
            await asyncio.to_thread(j.wait_for, "romeo@localhost was added to the roster")
            await asyncio.to_thread(j.command, "accept romeo@localhost")
            await asyncio.to_thread(j.wait_for, "romeo@localhost is now authorized")
            await asyncio.to_thread(j.command, "message romeo@localhost")
            await asyncio.to_thread(j.command, "otr4")
            await asyncio.to_thread(j.type, "From Poezio")
            m = await romeo.next_message(timeout=20)
            assert (m.text, m.account) == ("From Poezio", "juliet@localhost")
            report = await romeo.otr.send_message("juliet@localhost", "From xep_otr4")
            assert report.recipients
            await asyncio.to_thread(j.wait_for, "From xep_otr4")
            # Failures are one line each, never a traceback: a contact without OTRv4,
            # SMP without a session, an unknown device.
            await asyncio.to_thread(j.command, "message nurse@localhost")
            await asyncio.to_thread(j.command, "otr4")
            await asyncio.to_thread(j.type, "Anybody there?")
            await asyncio.to_thread(j.wait_for, "nurse@localhost does not use OTRv4")
            await asyncio.to_thread(j.command, "otr4_smp secret")
            await asyncio.to_thread(j.wait_for, "no encrypted session with nurse@localhost")
            await asyncio.to_thread(j.command, "otr4_trusted DEADBEEF")
            screen = await asyncio.to_thread(j.wait_for, "unknown device 'DEADBEEF'")
            assert "Traceback" not in screen
        finally:
            await asyncio.to_thread(j.stop)
            await romeo.go_offline()
    run(scenario, timeout=120)
