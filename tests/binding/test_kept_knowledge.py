"""What a device knows about others survives a restart: the device lists last seen and
the pinned fingerprint of each domain's prekey service are kept in the device store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from otrv4.clock import FixedClock
from otrv4.primitives.rng import DeterministicRng
from otrv4_xmpp import devices
from otrv4_xmpp.slixmpp_plugin.device import LocalDevice
from otrv4_xmpp.slixmpp_plugin.directory import DeviceDirectory
from otrv4_xmpp.slixmpp_plugin.prekey_agent import PrekeyAgent
from otrv4_xmpp.state.sqlite import SQLiteStore

NOW = 1776945600


class _IO:
    """Only what these two parts touch without a stream."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.errors: list[str] = []

    def event(self, name: str, value: Any) -> None:
        self.events.append((name, value))

    def error(self, sender: str, reason: str, exc: BaseException | None = None) -> None:
        self.errors.append(reason)


def _device(store: SQLiteStore, label: str) -> LocalDevice:
    rng, clock = DeterministicRng(f"kept/{label}"), FixedClock(NOW)
    return LocalDevice(None, "juliet@capulet.lit", rng=rng, clock=clock, new=True,
                       store=store)


def test_device_lists_last_seen_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "juliet.sqlite"
    romeo = devices.DeviceList.of([
        devices.DeviceEntry(0x1234, devices.DeviceMode.STANDALONE, NOW + 3600, "Orchard"),
        devices.DeviceEntry(0x5678, devices.DeviceMode.INTERACTIVE_ONLY, NOW + 7200)])
    store = SQLiteStore(path)
    directory = DeviceDirectory(_IO(), _device(store, "a"), {})  # type: ignore[arg-type]
    directory._set("romeo@montague.lit", romeo)
    store.close()
    again = SQLiteStore(path)
    restarted = DeviceDirectory(_IO(), _device(again, "b"), {})  # type: ignore[arg-type]
    assert restarted.device_lists == {"romeo@montague.lit": romeo}
    again.close()


def test_a_pinned_prekey_service_key_survives_a_restart_and_a_new_one_is_refused(
        tmp_path: Path) -> None:
    path = tmp_path / "juliet.sqlite"
    store = SQLiteStore(path)
    agent = PrekeyAgent(_IO(), _device(store, "a"), {})  # type: ignore[arg-type]
    assert agent._pinned("capulet.lit", "prekeys.capulet.lit", b"\x01" * 56)
    assert agent._pinned("capulet.lit", "prekeys2.capulet.lit", b"\x01" * 56)
    store.close()
    again = SQLiteStore(path)
    io = _IO()
    restarted = PrekeyAgent(io, _device(again, "b"), {})  # type: ignore[arg-type]
    assert not restarted._pinned("capulet.lit", "prekeys.capulet.lit", b"\x02" * 56)
    assert len(io.errors) == 1 and "pinned" in io.errors[0]
    restarted.forget_pinned("capulet.lit")
    assert restarted._pinned("capulet.lit", "prekeys.capulet.lit", b"\x02" * 56)
    again.close()
