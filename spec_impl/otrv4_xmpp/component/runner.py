"""Keeping the prekey component connected: reconnection, refusal, graceful shutdown.

:func:`run` drives one :class:`~otrv4_xmpp.component.service.PrekeyComponent`
until it is told to stop:

* it connects to the XMPP server's component port and waits for the
  handshake; when the stream is lost (the server restarted, the network
  broke) or the connection fails, it connects again after a delay that
  starts at ``initial`` seconds and doubles up to ``maximum``
  (:class:`Backoff`), and starts again at ``initial`` once a handshake
  succeeds;
* when the server closes the stream with an error that reconnecting will
  not cure (:data:`PERMANENT_CONDITIONS`: a wrong secret is
  ``not-authorized``, a name already connected is ``conflict``) it raises
  :class:`~otrv4_xmpp.component.errors.ComponentRefusedError`, which the
  command line turns into one log line and exit status 3;
* when ``stop`` is set (SIGTERM, SIGINT) it stops taking requests (new ones
  get ``<service-unavailable/>``, so clients try another instance), waits up
  to ``drain_timeout`` seconds for the requests in progress, so that a
  publication being stored is committed, not cut (a process killed anyway
  leaves the storage transaction to be rolled back), closes the stream and
  returns.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from .errors import ComponentRefusedError
from .service import PrekeyComponent

__all__ = ["PERMANENT_CONDITIONS", "Backoff", "run"]

log = logging.getLogger("otrv4_xmpp.component")

#: Stream error conditions (RFC 6120 §4.9.3) after which the component does not reconnect.
PERMANENT_CONDITIONS: Final = frozenset({
    "not-authorized", "conflict", "host-unknown", "improper-addressing", "invalid-namespace",
    "invalid-from", "bad-namespace-prefix", "unsupported-version",
})


@dataclass(frozen=True)
class Backoff:
    """Delays between connection attempts: ``initial``, doubled each time, at most ``maximum``."""

    initial: float = 1.0
    maximum: float = 60.0

    def delays(self) -> Iterator[float]:
        """The delay before each next attempt, without end."""
        delay = self.initial
        while True:
            yield delay
            delay = min(self.maximum, delay * 2)


class _Attempt:
    """The events of one connection attempt of the component."""

    def __init__(self, component: PrekeyComponent) -> None:
        loop = asyncio.get_running_loop()
        self.component = component
        self.started: asyncio.Future[None] = loop.create_future()
        self.ended: asyncio.Future[str] = loop.create_future()
        self.refusal: tuple[str, str | None] | None = None
        self._handlers: list[tuple[str, Any]] = [
            ("session_start", self._on_start), ("stream_error", self._on_stream_error),
            ("disconnected", self._on_end), ("connection_failed", self._on_failed)]
        for name, handler in self._handlers:
            component.add_event_handler(name, handler)

    def close(self) -> None:
        for name, handler in self._handlers:
            self.component.del_event_handler(name, handler)

    def _on_start(self, _: object) -> None:
        if not self.started.done():
            self.started.set_result(None)

    def _on_stream_error(self, error: Any) -> None:
        condition = str(error["condition"] or "undefined-condition")
        text = str(error["text"]) if error["text"] else None
        if condition in PERMANENT_CONDITIONS:
            self.refusal = (condition, text)
        else:
            log.warning("the server closes the stream: %s%s", condition,
                        f" ({text})" if text else "")

    def _on_end(self, reason: object) -> None:
        if not self.ended.done():
            self.ended.set_result(str(reason) if reason else "connection closed")

    def _on_failed(self, reason: object) -> None:
        if not self.ended.done():
            self.ended.set_result(f"cannot connect: {reason}")


async def _first(stop: asyncio.Event, *futures: asyncio.Future[Any]) -> None:
    stopper = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([stopper, *futures], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopper.cancel()


async def _shutdown(component: PrekeyComponent, attempt: _Attempt, drain_timeout: float) -> None:
    component.stop_accepting()
    waiting = component.in_progress
    if waiting:
        log.info("stopping: finishing %d request(s) in progress", waiting)
    if not await component.drain(drain_timeout):
        log.warning("stopping with %d request(s) unfinished after %.0f s",
                    component.in_progress, drain_timeout)
    component.cancel_connection_attempt()
    if component.is_connected():
        component.disconnect(wait=2.0, reason="shutting down")
        await asyncio.wait([attempt.ended], timeout=5)
    log.info("stopped")


async def run(component: PrekeyComponent, host: str, port: int, stop: asyncio.Event, *,
              backoff: Backoff = Backoff(), drain_timeout: float = 30.0) -> None:
    """Keep ``component`` connected to ``host:port`` until ``stop`` is set (see the module).

    Raises :class:`~otrv4_xmpp.component.errors.ComponentRefusedError` when the server
    refuses the component for good.
    """
    delays = backoff.delays()
    while True:
        attempt = _Attempt(component)
        try:
            component.connect(host, port)
            await _first(stop, attempt.started, attempt.ended)
            if attempt.started.done() and not stop.is_set():
                log.info("connected to %s:%d as %s", host, port, component.service_jid)
                delays = backoff.delays()
                await _first(stop, attempt.ended)
            if stop.is_set():
                await _shutdown(component, attempt, drain_timeout)
                return
            component.cancel_connection_attempt()  # ours to retry, not slixmpp's
            if attempt.refusal is not None:
                raise ComponentRefusedError(*attempt.refusal)
            reason = attempt.ended.result()
        finally:
            attempt.close()
        delay = next(delays)
        log.warning("stream to %s:%d lost (%s); reconnecting in %.1f s", host, port, reason,
                    delay)
        try:
            await asyncio.wait_for(stop.wait(), delay)
        except TimeoutError:
            continue
        log.info("stopped")
        return
