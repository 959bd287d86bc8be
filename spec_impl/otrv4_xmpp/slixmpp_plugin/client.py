"""A ready-made slixmpp client with the ``xep_otr4`` plugin (examples, demo, tests).

:class:`Otr4Client` is an ordinary :class:`slixmpp.ClientXMPP` that loads the
plugin and the XEPs it needs, announces presence and fetches the roster at
session start, and collects the plugin's events in lists and a queue so that
a script can ``await`` them.  Real clients wire the events into their UI
instead; see ``docs/plugin.rst``.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from slixmpp import ClientXMPP

from otrv4.clock import Clock
from otrv4.modes import Mode
from otrv4.primitives.rng import Rng

from ..validation import StanzaValidator
from .events import Otr4Error, Otr4Message, Otr4Session, Otr4Smp
from .plugin import XEP_OTR4

__all__ = ["Otr4Client"]


class Otr4Client(ClientXMPP):
    """One device: a client connection with the plugin.

    ``plaintext``: allow SCRAM over an unencrypted loopback connection (test
    servers only).  ``rng``, ``clock``, ``label``, ``mode``, ``validator`` and any
    other plugin setting in ``options`` go to the plugin.
    """

    def __init__(self, jid: str, password: str, *, rng: Rng | None = None,
                 clock: Clock | None = None, label: str | None = None,
                 mode: Mode = Mode.STANDALONE, validator: StanzaValidator | None = None,
                 plaintext: bool = False, options: dict[str, Any] | None = None) -> None:
        mechanisms = {"unencrypted_scram": plaintext, "unencrypted_plain": plaintext}
        super().__init__(jid, password, plugin_config={"feature_mechanisms": mechanisms})
        if plaintext:
            self.enable_starttls = False
            self.enable_direct_tls = False
            self.enable_plaintext = True
        self.messages: asyncio.Queue[Otr4Message] = asyncio.Queue()
        self.received: list[Otr4Message] = []
        self.sessions: list[Otr4Session] = []
        self.errors: list[Otr4Error] = []
        self.smp: list[Otr4Smp] = []
        self.register_plugin("xep_otr4", pconfig={
            **(options or {}),
            "rng": rng, "clock": clock, "label": label, "mode": mode, "validator": validator,
        })
        self.add_event_handler("session_start", self._on_start)
        self.add_event_handler("otr4_message", self._on_message)
        self.add_event_handler("otr4_session_started", self.sessions.append)
        self.add_event_handler("otr4_error", self.errors.append)
        self.add_event_handler("otr4_smp", self.smp.append)

    @property
    def otr(self) -> XEP_OTR4:
        """The plugin instance."""
        return cast(XEP_OTR4, self.plugin["xep_otr4"])  # type: ignore[typeddict-item]

    async def _on_start(self, _event: Any) -> None:
        self.send_presence()
        await self.get_roster()

    def _on_message(self, msg: Otr4Message) -> None:
        self.received.append(msg)
        self.messages.put_nowait(msg)

    async def go_online(self, host: str, port: int, timeout: float = 20.0) -> None:
        """Connect to ``host:port`` and wait until the plugin is ready (device list
        published, archive caught up).  Raises :class:`TimeoutError`."""
        ready = asyncio.get_running_loop().create_future()

        def _ready(_: Any) -> None:
            if not ready.done():
                ready.set_result(None)

        self.add_event_handler("otr4_ready", _ready, disposable=True)
        self.connect(host, port)
        await asyncio.wait_for(ready, timeout)

    async def go_offline(self, timeout: float = 10.0) -> None:
        """Send unavailable presence, close the stream and wait for the disconnection."""
        done = asyncio.get_running_loop().create_future()

        def _gone(_: Any) -> None:
            if not done.done():
                done.set_result(None)

        self.add_event_handler("disconnected", _gone, disposable=True)
        self.send_presence(ptype="unavailable")
        await self.disconnect()
        await asyncio.wait_for(done, timeout)

    async def next_message(self, timeout: float = 10.0) -> Otr4Message:
        """The next decrypted message.  Raises :class:`TimeoutError`."""
        return await asyncio.wait_for(self.messages.get(), timeout)
