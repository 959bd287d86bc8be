"""Running ``python -m otrv4_xmpp.component`` as a child process against a test Prosody,
and slixmpp clients that ask it things (for the integration tests of the component)."""

from __future__ import annotations

import asyncio
import base64
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from lxml import etree
from slixmpp import ClientXMPP

from otrv4_devtools.prosody import ProsodyServer
from otrv4_xmpp.prekey import NS_PREKEY

ROOT = Path(__file__).resolve().parents[2]
STEP = 20.0


def add_component(server: ProsodyServer, jid: str, secret: str) -> None:
    """Declare one more component in a Prosody configuration (before it starts)."""
    with server.config.open("a") as f:
        f.write(f'\nComponent "{jid}"\n  component_secret = "{secret}"\n')


class ComponentProcess:
    """One component process: its configuration file, its log, its exit status."""

    def __init__(self, folder: Path, name: str, *, jid: str, secret: str, port: int,
                 storage: str, key_file: Path, extra: str = "") -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.config = folder / f"{name}.toml"
        self.log = folder / f"{name}.log"
        self.config.write_text(f"""
[component]
jid = "{jid}"
secret = "{secret}"
key_file = "{key_file}"
publisher_domains = ["localhost"]

[server]
host = "127.0.0.1"
port = {port}

[storage]
url = "{storage}"

[reconnect]
initial_delay = 0.2
max_delay = 1.0
{extra}
""")
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT / "spec_impl"), os.environ.get("PYTHONPATH", "")])}
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "otrv4_xmpp.component", "--config", str(self.config)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_for(self, needle: str, timeout: float = 30, count: int = 1) -> None:
        """Until ``needle`` is in the log ``count`` times (fails if the process exits)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.text().count(needle) >= count:
                return
            if self.process is not None and self.process.poll() is not None:
                raise AssertionError(f"the component exited ({self.process.returncode}) "
                                     f"before logging {needle!r}:\n{self.text()[-3000:]}")
            time.sleep(0.05)
        raise AssertionError(f"{needle!r} not logged within {timeout} s:\n{self.text()[-3000:]}")

    def wait(self, timeout: float = 30) -> int:
        assert self.process is not None
        return self.process.wait(timeout=timeout)

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL if it does not stop; the exit status."""
        proc = self.process
        if proc is None or proc.poll() is not None:
            return None if proc is None else proc.returncode
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
            return None

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=10)


def client(server: ProsodyServer, user: str, resource: str) -> ClientXMPP:
    c = ClientXMPP(server.jid(user, resource), server.password(user),
                   plugin_config={"feature_mechanisms": {"unencrypted_plain": True,
                                                         "unencrypted_scram": True}})
    c.enable_starttls = False
    c.enable_direct_tls = False
    c.enable_plaintext = True
    return c


async def connect(xmpp: Any, host: str, port: int) -> None:
    started: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def on_start(_: object) -> None:
        if not started.done():
            started.set_result(True)

    xmpp.add_event_handler("session_start", on_start)
    xmpp.connect(host, port)
    await asyncio.wait_for(started, STEP)


def lxml_of(stanza: Any) -> etree._Element:
    return etree.fromstring(ET.tostring(stanza.xml))


async def prekey_iq(c: ClientXMPP, to: str, data: bytes, timeout: float = STEP) -> etree._Element:
    """Send one prekey-server message; the IQ result (raises IqError, IqTimeout)."""
    iq = c.make_iq_set(ito=to)
    el = ET.SubElement(iq.xml, f"{{{NS_PREKEY}}}prekey")
    el.text = base64.b64encode(data).decode()
    return lxml_of(await iq.send(timeout=timeout))  # type: ignore[no-untyped-call]
