"""The device's life across restarts and weeks: its store, plaintexts a previous
process did not hand over, profile renewal and retirement.

:func:`open_store` turns the plugin's ``store`` setting into a
:class:`~otrv4_xmpp.state.store.DeviceStore`; :class:`Lifecycle` does the rest
over the :class:`~.device.LocalDevice` and callables of the other parts (it
imports none of them).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from ..engine import Outcome
from ..state.sqlite import SQLiteStore
from ..state.store import DeviceStore
from .device import LocalDevice
from .events import Otr4Message
from .stanza_io import StanzaIO

__all__ = ["Lifecycle", "open_store"]


def open_store(setting: Any) -> tuple[DeviceStore | None, bool]:
    """The store of the plugin's ``store`` setting (a :class:`DeviceStore`, a path for an
    :class:`SQLiteStore`, or ``None``) and whether the plugin opened it (then it closes
    it).  Raises the errors of :class:`SQLiteStore`."""
    if setting is None or isinstance(setting, DeviceStore):
        return setting, False
    return SQLiteStore(str(setting)), True


class Lifecycle:
    """Restart, renewal and retirement of ``device``.

    ``deliver`` sends what an engine step produced; ``rejoin`` republishes the device
    list entry; ``republish`` publishes the profiles (and prekeys) on the prekey
    service; ``leave`` removes the device from its list.
    """

    def __init__(self, io: StanzaIO, device: LocalDevice, *,
                 deliver: Callable[[Outcome], None],
                 rejoin: Callable[[], Awaitable[None]],
                 republish: Callable[[], Awaitable[None]],
                 leave: Callable[[], Awaitable[None]]) -> None:
        self.io = io
        self.device = device
        self._deliver = deliver
        self._rejoin = rejoin
        self._republish = republish
        self._leave = leave
        self._renewal: asyncio.Future[bool] | None = None

    def deliver_undelivered(self) -> None:
        """Plaintexts the store kept because the previous process stopped before the
        application had them: ``otr4_message`` (``via`` ``"undelivered"``), then forgotten."""
        engine = self.device.engine
        pending = engine.undelivered()
        for u in pending:
            self.io.event("otr4_message", Otr4Message(
                u.peer, u.tag, self.io.bare, u.text, "undelivered", u.peer == self.io.bare,
                None, delivery_id=u.delivery_id))
        if pending:
            engine.acknowledge(u.delivery_id for u in pending)

    def on_start(self) -> bool:
        """At session start: hand over the undelivered plaintexts and renew due profiles
        before anything is published.  Returns ``False`` for a retired device (reported:
        it does not join its list again)."""
        self.deliver_undelivered()
        if self.retired:
            self.io.error(self.io.bare, "this device was retired: it stays out of its list")
            return False
        self.device.engine.renew_profiles()
        return True

    @property
    def retired(self) -> bool:
        """Whether :meth:`retire` ran for this device (kept in the store)."""
        return bool(self.device.engine.note("retired"))

    async def retire(self) -> None:
        """End every conversation (TLV 1 to each peer device), mark the store retired and
        remove the device from its account's list.  Raises IQ errors."""
        engine = self.device.engine
        for (account, tag), pair in list(engine.sessions.items()):
            if pair.encrypted:
                self._deliver(engine.end(account, tag))
        engine.set_note("retired", True)
        await self._leave()

    async def renew(self, *, force: bool = False, published: bool = True) -> bool:
        """Renew the profiles when due (or ``force``) and, when ``published`` (the device
        is in its list), republish the list entry and the profiles.  Returns whether
        they were renewed."""
        if not self.device.engine.renew_profiles(force=force):
            return False
        if published:
            await self._rejoin()
            await self._republish()
        return True

    def renew_soon(self) -> None:
        """From the timer: start :meth:`renew` when the profiles are due (once at a time)."""
        if self.device.engine.profiles_due() and (self._renewal is None
                                                  or self._renewal.done()):
            self._renewal = asyncio.ensure_future(self.renew())
