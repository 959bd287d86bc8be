"""The prekey component stays up against a real Prosody: it reconnects when the server
restarts under it and answers the next query; refused (name taken, wrong secret) it exits
with status 3 and the reason in one log line; SIGTERM stops it with status 0."""

from __future__ import annotations

import asyncio
from pathlib import Path

from otrv4_xmpp.component.errors import EXIT_OK, EXIT_REFUSED
from otrv4_xmpp.prekey import NS_DISCO_ITEMS, find_fingerprint, parse_disco_items

from .component_process import ComponentProcess, client, connect, lxml_of
from .conftest import ProsodyServer


def _component(prosody: ProsodyServer, tmp_path: Path, name: str, *,
               secret: str | None = None) -> ComponentProcess:
    return ComponentProcess(
        tmp_path / "components", name, jid=prosody.component_jid,
        secret=secret or prosody.component_secret, port=prosody.component_port,
        storage=f"sqlite://{tmp_path / 'prekeys.sqlite'}", key_file=tmp_path / "service.key")


def _fingerprint(prosody: ProsodyServer) -> bytes:
    """Romeo asks the component for its fingerprint (retrying while it is not connected)."""

    async def ask() -> bytes:
        romeo = client(prosody, "romeo", "probe")
        try:
            await connect(romeo, "127.0.0.1", prosody.c2s_port)
            for _ in range(100):
                iq = romeo.make_iq_get(queryxmlns=NS_DISCO_ITEMS, ito=prosody.component_jid)
                try:
                    items = lxml_of(await iq.send(timeout=5))  # type: ignore[no-untyped-call]
                    return find_fingerprint(parse_disco_items(items), prosody.component_jid)
                except Exception:
                    await asyncio.sleep(0.1)
            raise AssertionError("the component never answered")
        finally:
            romeo.disconnect()
            await asyncio.sleep(0.1)

    return asyncio.run(asyncio.wait_for(ask(), 60))


def test_the_component_reconnects_after_the_server_restarts(prosody: ProsodyServer,
                                                            tmp_path: Path) -> None:
    comp = _component(prosody, tmp_path, "main")
    comp.start()
    try:
        comp.wait_for("connected to 127.0.0.1")
        before = _fingerprint(prosody)
        prosody.stop()
        comp.wait_for("reconnecting in")
        prosody.start()
        comp.wait_for("connected to 127.0.0.1", count=2)
        assert _fingerprint(prosody) == before  # the next query is answered
        assert comp.process is not None and comp.process.poll() is None
    finally:
        status = comp.stop()
    assert status == EXIT_OK
    log = comp.text()
    assert "stopped" in log
    assert "Task was destroyed" not in log and "Traceback" not in log


def test_a_refused_component_exits_non_zero_with_the_reason(prosody: ProsodyServer,
                                                           tmp_path: Path) -> None:
    first = _component(prosody, tmp_path, "first")
    first.start()
    try:
        first.wait_for("connected to 127.0.0.1")
        second = _component(prosody, tmp_path, "second")  # the same name: taken
        second.start()
        assert second.wait(timeout=30) == EXIT_REFUSED
        lines = [line for line in second.text().splitlines() if "ComponentRefusedError" in line]
        assert len(lines) == 1 and "conflict" in lines[0], second.text()
        wrong = _component(prosody, tmp_path, "wrong", secret="not-the-secret")
        wrong.start()
        assert wrong.wait(timeout=30) == EXIT_REFUSED
        assert "ComponentRefusedError: not-authorized" in wrong.text()
        _fingerprint(prosody)  # the first one still serves
    finally:
        assert first.stop() == EXIT_OK
