"""Offline conversation starts through the prekey service, end to end on a real Prosody.

The XEP-0114 prekey component (:mod:`otrv4_xmpp.component`) runs in the test
process; the plugin finds it by disco, publishes its devices' prekeys at
session start, and starts non-interactive DAKEs with devices that are offline
when a message is sent.  Each test has a hard time limit.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from otrv4.clock import SystemClock
from otrv4.modes import Mode
from otrv4.primitives.rng import DeterministicRng
from otrv4_prekey.retrieval import Exhausted
from otrv4_prekey.storage import SqliteStorage
from otrv4_xmpp.component import PrekeyComponent, build_server, load_or_create_key

from .cast import Cast, collect, run
from .conftest import ProsodyServer

pytestmark = pytest.mark.integration

ROMEO = "romeo@localhost"
JULIET = "juliet@localhost"
#: Few prekeys per device, so that exhaustion is reachable.
OPTIONS = {"prekey_target": 1, "prekey_low_water": 1}


@asynccontextmanager
async def prekey_service(prosody: ProsodyServer, tmp: Path) -> AsyncIterator[PrekeyComponent]:
    rng = DeterministicRng("plugin-prekeys/service")
    storage = SqliteStorage(tmp / "prekeys.sqlite")
    server = build_server(prosody.component_jid, load_or_create_key(tmp / "key", rng), storage,
                          rng=rng, clock=SystemClock())
    component = PrekeyComponent(prosody.component_jid, prosody.component_secret, server)
    started: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def on_start(_: object) -> None:
        if not started.done():
            started.set_result(None)

    component.add_event_handler("session_start", on_start)
    component.connect("127.0.0.1", prosody.component_port)
    await asyncio.wait_for(started, 10)
    try:
        yield component
    finally:
        await component.disconnect()
        storage.close()


def test_message_to_offline_devices_starts_non_interactive_dakes(
        prosody: ProsodyServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with prekey_service(prosody, tmp_path):
            cast = Cast(prosody, "nia", OPTIONS)
            try:
                cast.device("romeo/r3", mode=Mode.INTERACTIVE_ONLY)
                await cast.online("romeo/r1", "romeo/r2", "romeo/r3")
                r1, r2, r3 = cast["romeo/r1"], cast["romeo/r2"], cast["romeo/r3"]
                assert await r1.otr.prekey_status() == 1
                assert await r2.otr.prekey_status() == 1
                assert await r3.otr.prekey_status() == 0  # interactive-only: no prekeys
                await cast.offline("romeo/r1", "romeo/r2", "romeo/r3")
                # Juliet never talked to Romeo and sees no presence of his: offline start.
                await cast.online("juliet/j1")
                j1 = cast["juliet/j1"]
                report = await j1.otr.send_message(ROMEO, "meet me at the friar's")
                want = {(ROMEO, r1.otr.instance_tag), (ROMEO, r2.otr.instance_tag)}
                assert set(report.non_interactive) == want
                assert set(report.recipients) == want
                # The interactive-only device waits until it is online.
                assert report.missing == ((ROMEO, r3.otr.instance_tag),)
                # Both devices come back and read it, exactly once each.
                await cast.online("romeo/r1")
                got = await collect([r1], "meet me at the friar's")
                assert len(got[r1.boundjid.full]) == 1
                await cast.online("romeo/r2")
                got = await collect([r2], "meet me at the friar's")
                assert len(got[r2.boundjid.full]) == 1
                for r in (r1, r2):
                    assert [s.tag for s in r.sessions] == [j1.otr.instance_tag]
                    assert r.errors == [], [e.reason for e in r.errors]
                # The sessions are ordinary ones now: Romeo answers.
                await r1.otr.send_message(JULIET, "at noon")
                got = await collect([j1], "at noon")
                assert len(got[j1.boundjid.full]) == 1
            finally:
                await cast.close()
    run(scenario, 90)


def test_exhausted_prekeys_fall_back_to_the_interactive_dake(
        prosody: ProsodyServer, tmp_path: Path) -> None:
    async def scenario() -> None:
        async with prekey_service(prosody, tmp_path):
            cast = Cast(prosody, "exhausted", OPTIONS)
            try:
                await cast.online("romeo/r1")
                r1 = cast["romeo/r1"]
                await cast.offline("romeo/r1")
                await cast.online("juliet/j1", "juliet/j2")
                j1, j2 = cast["juliet/j1"], cast["juliet/j2"]
                # j1 takes Romeo's only prekey, and one of j2's: without a session,
                # its own other device is started non-interactively too (j2 reads the
                # copy the server makes of j1's stanza).
                report = await j1.otr.send_message(ROMEO, "first")
                assert set(report.non_interactive) == {(ROMEO, r1.otr.instance_tag),
                                                       (JULIET, j2.otr.instance_tag)}
                got = await collect([j2], "first")
                [copy] = got[j2.boundjid.full]
                assert copy.outgoing and copy.via == "carbon"
                # j2 finds no prekey left for r1: r1 is reported missing, j1 still gets it.
                assert isinstance(await j2.otr.fetch_ensembles(ROMEO), Exhausted)
                report = await j2.otr.send_message(ROMEO, "second")
                assert report.missing == ((ROMEO, r1.otr.instance_tag),)
                assert report.recipients == ((JULIET, j1.otr.instance_tag),)
                got = await collect([j1], "second")
                assert got[j1.boundjid.full][0].outgoing
                # r1 comes online: it reads "first"; "second" was never encrypted for it.
                await cast.online("romeo/r1")
                await collect([r1], "first")
                await asyncio.sleep(0.3)
                assert [m.text for m in r1.received] == ["first"]
                # Now online, j2 runs the interactive DAKE with r1 and reaches it.
                await cast.befriend("juliet/j2", "romeo/r1")
                await cast.see_online("juliet/j2", ROMEO, 1)
                sessions = await j2.otr.start_sessions(ROMEO, timeout=15)
                assert r1.boundjid.full in {s.full_jid for s in sessions}
                # "second" now goes to r1 alone: j1 has it already.
                late = await j2.otr.send_message(ROMEO, "second", only=report.missing)
                assert late.recipients == ((ROMEO, r1.otr.instance_tag),)
                await collect([r1], "second")
                report = await j2.otr.send_message(ROMEO, "third")
                assert report.missing == ()
                got = await collect([r1, j1], "third")
                assert all(len(v) == 1 for v in got.values()), got
                assert [m.text for m in j1.received if m.text == "second"] == ["second"]
            finally:
                await cast.close()
    run(scenario, 90)


def test_no_second_dake_with_a_device_reached_through_prekeys(
        prosody: ProsodyServer, tmp_path: Path) -> None:
    """After a non-interactive start, the peer's device comes online at a full JID whose
    instance tag Juliet has not seen yet; every listed device already has a session,
    so start_sessions runs no DAKE that would replace the working one."""
    async def scenario() -> None:
        async with prekey_service(prosody, tmp_path):
            cast = Cast(prosody, "no-redundant-dake", OPTIONS)
            try:
                await cast.online("romeo/r1")
                r1 = cast["romeo/r1"]
                assert await r1.otr.prekey_status() == 1
                await cast.offline("romeo/r1")
                await cast.online("juliet/j1")
                j1 = cast["juliet/j1"]
                report = await j1.otr.send_message(ROMEO, "by the prekey")
                assert report.non_interactive == ((ROMEO, r1.otr.instance_tag),)
                before = j1.otr.engine.session(ROMEO, r1.otr.instance_tag).ssid
                await cast.online("romeo/r1")
                await collect([r1], "by the prekey")
                await cast.befriend("juliet/j1", "romeo/r1")
                await cast.see_online("juliet/j1", ROMEO, 1)
                assert await j1.otr.start_sessions(ROMEO, timeout=5) == []
                after = j1.otr.engine.session(ROMEO, r1.otr.instance_tag).ssid
                assert after == before
                assert j1.errors == [], [e.reason for e in j1.errors]
                await j1.otr.send_message(ROMEO, "same session")
                got = await collect([r1], "same session")
                assert len(got[r1.boundjid.full]) == 1
            finally:
                await cast.close()
    run(scenario, 90)
