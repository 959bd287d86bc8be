"""Helpers for the end-to-end tests: several devices per account on the test Prosody."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from otrv4.modes import Mode
from otrv4.primitives.rng import DeterministicRng
from otrv4_xmpp.slixmpp_plugin.client import Otr4Client
from otrv4_xmpp.slixmpp_plugin.plugin import Otr4Message

from .conftest import ProsodyServer

T = TypeVar("T")

#: Upper bound of one end-to-end test (each step has its own, smaller bound).
TEST_TIMEOUT = 60.0


def run(coro_factory: Callable[[], Awaitable[T]], timeout: float = TEST_TIMEOUT) -> T:
    """Run one test coroutine with a hard time limit."""
    async def bounded() -> T:
        return await asyncio.wait_for(coro_factory(), timeout)
    return asyncio.run(bounded())


class Cast:
    """The devices of one test, by name (``'juliet/balcony'``)."""

    def __init__(self, server: ProsodyServer, label: str,
                 options: dict[str, Any] | None = None) -> None:
        self.server = server
        self.label = label
        self.options = options or {}
        self.devices: dict[str, Otr4Client] = {}

    def device(self, name: str, mode: Mode = Mode.STANDALONE, **options: Any) -> Otr4Client:
        """Create (not connect) the device ``user/resource`` (plugin ``options`` on top of
        the cast's)."""
        user, resource = name.split("/")
        client = Otr4Client(self.server.jid(user, resource), self.server.password(user),
                            rng=DeterministicRng(f"{self.label}/{name}"), label=resource,
                            mode=mode, plaintext=True, options={**self.options, **options})
        self.devices[name] = client
        return client

    def __getitem__(self, name: str) -> Otr4Client:
        return self.devices[name]

    async def online(self, *names: str) -> None:
        """Connect the devices one after the other (each joins its device list)."""
        for name in names:
            client = self.devices.get(name) or self.device(name)
            await client.go_online("127.0.0.1", self.server.c2s_port)

    async def offline(self, *names: str) -> None:
        for name in names:
            await self.devices[name].go_offline()

    async def close(self) -> None:
        for client in self.devices.values():
            if client.is_connected():
                try:
                    await client.go_offline(timeout=5)
                except (TimeoutError, OSError):
                    client.abort()

    async def befriend(self, a: str, b: str, timeout: float = 10.0) -> None:
        """Mutual presence subscription between the accounts of devices ``a`` and ``b``."""
        ca, cb = self.devices[a], self.devices[b]
        ca.send_presence_subscription(pto=cb.boundjid.bare)
        cb.send_presence_subscription(pto=ca.boundjid.bare)

        async def both() -> None:
            while True:
                ra = ca.client_roster[cb.boundjid.bare]["subscription"]
                rb = cb.client_roster[ca.boundjid.bare]["subscription"]
                if ra == "both" and rb == "both":
                    return
                await asyncio.sleep(0.05)
        await asyncio.wait_for(both(), timeout)

    async def see_online(self, watcher: str, account: str, count: int,
                         timeout: float = 10.0) -> None:
        """Wait until ``watcher`` has available presence from ``count`` devices of ``account``."""
        otr = self.devices[watcher].otr

        async def wait() -> None:
            while len(otr.online_devices(account)) < count:
                await asyncio.sleep(0.05)
        await asyncio.wait_for(wait(), timeout)


async def collect(clients: Iterable[Otr4Client], text: str,
                  timeout: float = 10.0) -> dict[str, list[Otr4Message]]:
    """Wait until each client decrypted ``text`` at least once; then wait a little more
    for duplicates and return every copy each client decrypted."""
    clients = list(clients)

    async def wait() -> None:
        while not all(any(m.text == text for m in c.received) for c in clients):
            await asyncio.sleep(0.05)
    await asyncio.wait_for(wait(), timeout)
    await asyncio.sleep(0.3)
    return {c.boundjid.full: [m for m in c.received if m.text == text] for c in clients}
