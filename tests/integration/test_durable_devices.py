"""Devices that survive restarts, on a real Prosody, one OS process per Romeo device.

Romeo's devices run :mod:`otrv4_devtools.device_process` (their state in an
SQLite store, their "screen" a file); Juliet's phone and the prekey service run
in the test process.  Covers: a restart continues the conversation without a new
DAKE; an offline start reaches a device whose process starts for the first time
since it published its prekeys; SIGKILL at random points of a burst of 200 sends
and receives never reuses a message key and never loses or repeats a message;
an identity 8 days old renews its profiles and is reachable online and offline.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
from pathlib import Path
from typing import Any

import pytest

from otrv4.clock import FixedClock, SystemClock
from otrv4.data_message import DataMessage
from otrv4.encoding import MessageType
from otrv4.primitives.rng import DeterministicRng
from otrv4_xmpp import carriage
from otrv4_xmpp.engine import DeviceEngine
from otrv4_xmpp.slixmpp_plugin.client import Otr4Client
from otrv4_xmpp.slixmpp_plugin.stanza import to_lxml
from otrv4_xmpp.state.sqlite import SQLiteStore

from .cast import Cast, run
from .conftest import ProsodyServer
from .test_plugin_prekeys import prekey_service

pytestmark = pytest.mark.integration

ROMEO = "romeo@localhost"
JULIET = "juliet@localhost"
SPEC_IMPL = Path(__file__).resolve().parents[2] / "spec_impl"


class DeviceProcess:
    """One device in its own process (:mod:`otrv4_devtools.device_process`)."""

    def __init__(self, prosody: ProsodyServer, name: str, folder: Path) -> None:
        self.prosody = prosody
        self.user, self.resource = name.split("/")
        self.store = folder / f"{self.user}-{self.resource}.db"
        self.shown = folder / f"{self.user}-{self.resource}.shown.jsonl"
        self.proc: asyncio.subprocess.Process | None = None
        self.events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.log: list[dict[str, Any]] = []
        self.starts = 0
        self._reader: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 30.0) -> dict[str, Any]:
        """Start the process and wait for its ``ready`` event."""
        env = dict(os.environ, PYTHONPATH=str(SPEC_IMPL))
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "otrv4_devtools.device_process",
            "--jid", self.prosody.jid(self.user, self.resource),
            "--password", self.prosody.password(self.user),
            "--port", str(self.prosody.c2s_port), "--store", str(self.store),
            "--shown", str(self.shown), "--label", self.resource,
            "--option", "prekey_target=3", "--option", "prekey_low_water=2",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env)
        self.starts += 1
        self.events = asyncio.Queue()
        self._reader = asyncio.create_task(self._read(self.proc))
        return await self.wait("ready", timeout=timeout)

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            event = json.loads(line)
            event["start"] = self.starts
            self.log.append(event)
            await self.events.put(event)

    async def wait(self, name: str, timeout: float = 20.0, **match: Any) -> dict[str, Any]:
        async def find() -> dict[str, Any]:
            while True:
                event = await self.events.get()
                if event["event"] == name and all(event.get(k) == v for k, v in match.items()):
                    return event
        return await asyncio.wait_for(find(), timeout)

    def command(self, **cmd: Any) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())

    async def quit(self) -> None:
        self.command(op="quit")
        await self.wait("done")
        await self._finish()

    async def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        await self._finish()

    async def _finish(self) -> None:
        assert self.proc is not None
        await asyncio.wait_for(self.proc.wait(), 20)
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 20)

    def shown_texts(self) -> list[str]:
        if not self.shown.exists():
            return []
        return [json.loads(line)["text"] for line in self.shown.read_text().splitlines()]

    def events_named(self, name: str) -> list[dict[str, Any]]:
        return [e for e in self.log if e["event"] == name]


async def wait_for_text(client: Otr4Client, text: str, timeout: float = 20.0) -> None:
    async def find() -> None:
        while not any(m.text == text for m in client.received):
            await asyncio.sleep(0.05)
    await asyncio.wait_for(find(), timeout)


async def wait_shown(device: DeviceProcess, text: str, timeout: float = 30.0) -> None:
    async def find() -> None:
        while text not in device.shown_texts():
            await asyncio.sleep(0.05)
    await asyncio.wait_for(find(), timeout)


def test_a_restarted_device_continues_without_a_new_dake(prosody: ProsodyServer,
                                                         tmp_path: Path) -> None:
    async def scenario() -> None:
        async with prekey_service(prosody, tmp_path):
            cast = Cast(prosody, "durable-restart")
            desktop = DeviceProcess(prosody, "romeo/desktop", tmp_path)
            try:
                ready = await desktop.start()
                await cast.online("juliet/phone")
                phone = cast["juliet/phone"]
                report = await phone.otr.send_message(ROMEO, "wherefore art thou")
                assert (ROMEO, ready["tag"]) in report.non_interactive
                await wait_shown(desktop, "wherefore art thou")
                desktop.command(op="send", to=JULIET, text="here")
                await wait_for_text(phone, "here")
                ssid = phone.otr.engine.session(ROMEO, ready["tag"]).ssid
                await desktop.quit()
                # the desktop process is gone; Juliet writes; a new process starts
                await phone.otr.send_message(ROMEO, "while you were away")
                again = await desktop.start()
                assert again["tag"] == ready["tag"]
                await wait_shown(desktop, "while you were away")
                desktop.command(op="send", to=JULIET, text="back again")
                sent = await desktop.wait("sent", text="back again")
                assert [d[2] for d in sent["devices"] if d[1] == phone.otr.instance_tag] == \
                    ["SESSION"]
                await wait_for_text(phone, "back again")
                await phone.otr.send_message(ROMEO, "and on")
                await wait_shown(desktop, "and on")
                # one DAKE in all: no session event on either side after the restart
                assert phone.otr.engine.session(ROMEO, ready["tag"]).ssid == ssid
                assert phone.sessions == []  # the offline start was the only DAKE
                assert [e["start"] for e in desktop.events_named("session")] == [1]
                assert desktop.shown_texts() == ["wherefore art thou", "while you were away",
                                                 "and on"]
                assert desktop.events_named("error") == []
                await desktop.quit()
            finally:
                if desktop.proc is not None and desktop.proc.returncode is None:
                    await desktop.kill()
                await cast.close()
    run(scenario, 120)


def test_offline_start_reaches_a_device_process_started_afresh(prosody: ProsodyServer,
                                                              tmp_path: Path) -> None:
    async def scenario() -> None:
        async with prekey_service(prosody, tmp_path):
            cast = Cast(prosody, "durable-offline")
            tablet = DeviceProcess(prosody, "romeo/tablet", tmp_path)
            try:
                ready = await tablet.start()  # publishes its prekeys
                await tablet.quit()
                await cast.online("juliet/phone")
                phone = cast["juliet/phone"]
                report = await phone.otr.send_message(ROMEO, "through the prekey service")
                assert report.non_interactive == ((ROMEO, ready["tag"]),)
                await phone.otr.send_message(ROMEO, "and a second")
                await tablet.start()  # first start since the prekeys were published
                await wait_shown(tablet, "and a second")
                assert tablet.shown_texts() == ["through the prekey service", "and a second"]
                assert tablet.events_named("error") == []
                await tablet.quit()
            finally:
                if tablet.proc is not None and tablet.proc.returncode is None:
                    await tablet.kill()
                await cast.close()
    run(scenario, 120)


def _data_ids(stanza: Any, sender_tag: int) -> list[tuple[int, int]]:
    """(ratchet id, message id) of the data messages in ``stanza`` from ``sender_tag``."""
    try:
        received = carriage.parse_message(to_lxml(stanza.xml))
    except Exception:
        return []
    if received.otr.sender != sender_tag:
        return []
    out = []
    for p in received.otr.payloads:
        if p.message_type is MessageType.DATA:
            m = DataMessage.decode(p.data)
            out.append((m.ratchet_id, m.message_id))
    return out


def test_sigkill_during_a_burst_never_reuses_a_key_or_loses_a_message(
        prosody: ProsodyServer, tmp_path: Path) -> None:
    rnd = random.Random(14)

    async def scenario() -> None:
        async with prekey_service(prosody, tmp_path):
            cast = Cast(prosody, "durable-kill")
            desktop = DeviceProcess(prosody, "romeo/desktop", tmp_path)
            try:
                ready = await desktop.start()
                await cast.online("juliet/phone")
                phone = cast["juliet/phone"]
                wire: list[tuple[int, int]] = []
                phone.add_event_handler(
                    "message", lambda m: wire.extend(_data_ids(m, ready["tag"])))
                await phone.otr.send_message(ROMEO, "j-start")
                await wait_shown(desktop, "j-start")
                to_romeo = ["j-start"]
                kills = 0
                alive = True
                for n in range(200):
                    if not alive:
                        await desktop.start(timeout=60)
                        alive = True
                    if rnd.random() < 0.5:
                        text = f"j-{n}"
                        await phone.otr.send_message(ROMEO, text)
                        to_romeo.append(text)
                    else:
                        desktop.command(op="send", to=JULIET, text=f"r-{n}")
                    if n % 9 == 4 or rnd.random() < 0.03:
                        await asyncio.sleep(rnd.random() * 0.15)
                        await desktop.kill()
                        kills += 1
                        alive = False
                    else:
                        await asyncio.sleep(rnd.random() * 0.02)
                if not alive:
                    await desktop.start(timeout=60)
                assert kills >= 20
                desktop.command(op="send", to=JULIET, text="r-final")
                await wait_for_text(phone, "r-final", 30)
                await phone.otr.send_message(ROMEO, "j-final")
                to_romeo.append("j-final")
                await wait_shown(desktop, "j-final", 60)
                await desktop.quit()
                vias = [json.loads(x)["via"] for x in desktop.shown.read_text().splitlines()]
                print(f"kills {kills}, starts {desktop.starts}, data messages seen on the "
                      f"wire {len(wire)}, shown {len(vias)} by way of "
                      f"{ {v: vias.count(v) for v in set(vias)} }, Juliet got "
                      f"{len(phone.received)}")
                # no (ratchet id, message id) pair sent twice by the desktop
                assert len(wire) == len(set(wire)), sorted(
                    x for x in set(wire) if wire.count(x) > 1)
                # every message to Romeo shown exactly once, none invented
                shown = desktop.shown_texts()
                assert sorted(shown) == sorted(to_romeo)
                # Juliet never sees a message of Romeo's twice
                texts = [m.text for m in phone.received]
                assert len(texts) == len(set(texts))
            finally:
                if desktop.proc is not None and desktop.proc.returncode is None:
                    await desktop.kill()
                await cast.close()
    run(scenario, 900)


def test_an_eight_day_old_identity_renews_and_is_reachable(prosody: ProsodyServer,
                                                          tmp_path: Path) -> None:
    # the tablet's identity was made 8 days ago: its profiles expired a day ago
    eight_days_ago = SystemClock().now() - 8 * 24 * 3600
    with SQLiteStore(tmp_path / "romeo-tablet.db") as store:
        DeviceEngine.open(store, ROMEO, rng=DeterministicRng("old-tablet"),
                          clock=FixedClock(eight_days_ago))

    async def scenario() -> None:
        async with prekey_service(prosody, tmp_path):
            cast = Cast(prosody, "durable-renewal")
            tablet = DeviceProcess(prosody, "romeo/tablet", tmp_path)
            try:
                ready = await tablet.start()
                assert ready["expires"] > SystemClock().now() + 6 * 24 * 3600
                await tablet.quit()
                await cast.online("juliet/phone")
                phone = cast["juliet/phone"]
                report = await phone.otr.send_message(ROMEO, "offline, a week later")
                assert report.non_interactive == ((ROMEO, ready["tag"]),)
                await tablet.start()
                await wait_shown(tablet, "offline, a week later")
                tablet.command(op="send", to=JULIET, text="renewed and here")
                await wait_for_text(phone, "renewed and here")
                await phone.otr.send_message(ROMEO, "online too")
                await wait_shown(tablet, "online too")
                assert tablet.events_named("error") == []
                await tablet.quit()
            finally:
                if tablet.proc is not None and tablet.proc.returncode is None:
                    await tablet.kill()
                await cast.close()
    run(scenario, 120)
