"""The XEP-0114 component that hosts the prekey service.

It moves stanzas only: every decision is in :mod:`otrv4_xmpp.prekey`
(:func:`~otrv4_xmpp.prekey.handle_prekey_iq` and the disco builders) and in
:mod:`otrv4_prekey`.  Incoming stanzas arrive in the component stream's
namespace (``jabber:component:accept``); they are converted to the
``jabber:client`` form the binding's builders and schemas use, and answers are
converted back.  The server's work (a publication of 100 Prekey messages
takes a few hundred milliseconds of CPU) runs in a worker thread so the
stream keeps flowing; :class:`~otrv4_prekey.server.PrekeyServer` and the
storages are thread-safe.

Every request gives one log line (logger ``otrv4_xmpp.component``, INFO):
who asked, what, the outcome, and how long it took, e.g.
``romeo@montague.lit Prekey Ensemble Query -> Prekey Ensemble Retrieval (2.1 ms)``
or ``… DAKE-3 -> error not-in-dake (0.4 ms)``.  A storage that is down is
answered with ``<internal-server-error/>`` of type ``wait`` (the client may
retry, here or at another instance); once :meth:`PrekeyComponent.stop_accepting`
was called (shutdown), new requests get ``<service-unavailable/>`` while the
requests in progress finish (:meth:`PrekeyComponent.drain`).
"""

from __future__ import annotations

import asyncio
import logging
import time
import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import Any

from lxml import etree
from slixmpp.componentxmpp import ComponentXMPP
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import MatchXPath

from otrv4.clock import Clock, SystemClock
from otrv4.errors import OTRError
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.rng import Rng, SystemRng
from otrv4_prekey.dake import ServerIdentity
from otrv4_prekey.messages import peek_type
from otrv4_prekey.server import DEFAULT_POLICY, PrekeyServer, ServerPolicy
from otrv4_prekey.storage import Storage, StorageUnavailableError
from otrv4_prekey.storage_url import open_storage as open_storage_url

from ..namespaces import NS_CLIENT, NS_DISCO_INFO, NS_STANZAS
from ..prekey import (
    NS_DISCO_ITEMS,
    NS_PREKEY,
    build_fingerprint_items,
    build_service_disco_info,
    handle_prekey_iq,
    parse_prekey_error,
    parse_prekey_iq,
)
from .keyfile import load_or_create_key

__all__ = ["COMPONENT_NS", "PrekeyComponent", "build_server", "load_or_create_key",
           "open_storage"]

log = logging.getLogger("otrv4_xmpp.component")

#: The namespace of stanzas on an XEP-0114 stream.
COMPONENT_NS = "jabber:component:accept"


def _rename(elem: etree._Element, old: str, new: str) -> etree._Element:
    """A copy of ``elem`` with every element of namespace ``old`` moved to ``new``."""
    text = etree.tostring(elem).decode("utf-8")
    parsed = etree.fromstring(text)
    for el in parsed.iter():
        if isinstance(el.tag, str) and el.tag.startswith("{" + old + "}"):
            el.tag = "{" + new + "}" + el.tag[len(old) + 2:]
    etree.cleanup_namespaces(parsed)
    return parsed


def from_stream(xml: ET.Element) -> etree._Element:
    """A received stanza (stdlib ElementTree, component namespace) as a ``jabber:client``
    lxml element."""
    return _rename(etree.fromstring(ET.tostring(xml)), COMPONENT_NS, NS_CLIENT)


def to_stream(elem: etree._Element) -> str:
    """An answer built in ``jabber:client`` as text for the component stream."""
    out = _rename(elem, NS_CLIENT, COMPONENT_NS)
    return etree.tostring(out).decode("utf-8")


def build_server(jid: str, keypair: EdDSAKeyPair, storage: Storage, *,
                 publisher_domains: frozenset[str] | None = None,
                 rng: Rng | None = None, clock: Clock | None = None,
                 policy: ServerPolicy = DEFAULT_POLICY) -> PrekeyServer:
    """A :class:`~otrv4_prekey.server.PrekeyServer` for the component ``jid``.

    By default only users of the component's parent domain publish
    (``prekeys.capulet.lit`` serves ``capulet.lit``); ``policy`` gives the
    other limits (its ``publisher_domains`` is replaced by that choice).
    """
    if publisher_domains is None:
        parent = jid.split(".", 1)[1] if "." in jid else jid
        publisher_domains = frozenset({parent})
    return PrekeyServer(ServerIdentity(jid, keypair), storage, rng or SystemRng(),
                        clock or SystemClock(),
                        replace(policy, publisher_domains=publisher_domains))


class PrekeyComponent(ComponentXMPP):
    """The prekey service on an XEP-0114 stream."""

    def __init__(self, jid: str, secret: str, server: PrekeyServer) -> None:
        super().__init__(jid, secret)  # type: ignore[no-untyped-call]  # slixmpp
        self.prekey_server = server
        self.accepting = True
        self._inflight: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()
        ns = COMPONENT_NS
        self.register_handler(CoroutineCallback(
            "otr4 prekey", MatchXPath(f"{{{ns}}}iq/{{{NS_PREKEY}}}prekey"), self._on_prekey))
        self.register_handler(CoroutineCallback(
            "otr4 prekey disco#info", MatchXPath(f"{{{ns}}}iq/{{{NS_DISCO_INFO}}}query"),
            self._on_disco_info))
        self.register_handler(CoroutineCallback(
            "otr4 prekey disco#items", MatchXPath(f"{{{ns}}}iq/{{{NS_DISCO_ITEMS}}}query"),
            self._on_disco_items))

    @property
    def service_jid(self) -> str:
        """The component's JID."""
        return str(self.boundjid.bare)

    def _send(self, elem: etree._Element) -> None:
        self.send_raw(to_stream(elem))

    def _not_for_us(self, iq: Any, expected: str) -> bool:
        if iq["type"] == expected and str(iq["to"].bare) == self.service_jid:
            return False
        if iq["type"] in ("get", "set"):
            self._send(_error(iq, "feature-not-implemented" if iq["type"] != expected
                              else "item-not-found"))
        return True

    def stop_accepting(self) -> None:
        """From now on answer new prekey requests with ``<service-unavailable/>``."""
        self.accepting = False

    @property
    def in_progress(self) -> int:
        """How many prekey requests are being handled."""
        return len(self._inflight)

    async def drain(self, timeout: float) -> bool:
        """Wait until the requests in progress are answered (their storage transactions
        committed or rolled back); False if some are still running after ``timeout``."""
        try:
            await asyncio.wait_for(self._idle.wait(), timeout)
        except TimeoutError:
            return False
        return True

    async def _on_prekey(self, iq: Any) -> None:
        if self._not_for_us(iq, "set"):
            return
        sender = str(iq["from"].bare)
        if not self.accepting:
            log.info("%s request refused: shutting down", sender)
            self._send(_error(iq, "service-unavailable"))
            return
        task = asyncio.current_task()
        if task is not None:
            self._inflight.add(task)
            self._idle.clear()
        try:
            await self._answer(iq, sender)
        finally:
            if task is not None:
                self._inflight.discard(task)
            if not self._inflight:
                self._idle.set()

    async def _answer(self, iq: Any, sender: str) -> None:
        request = from_stream(iq.xml)
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        try:
            answer = await loop.run_in_executor(
                None, handle_prekey_iq, self.prekey_server, request, sender)
            outcome = _outcome(answer)
        except StorageUnavailableError as exc:
            answer = _error(iq, "internal-server-error", "wait")
            outcome = f"error storage unavailable: {exc}"
        except Exception:  # a bug: never leave an IQ unanswered
            log.exception("prekey request from %s failed", sender)
            answer = _error(iq, "internal-server-error")
            outcome = "error internal-server-error"
        ms = (time.perf_counter() - started) * 1000
        log.info("%s %s -> %s (%.1f ms)", sender, _request_kind(request), outcome, ms)
        if not self.is_connected():
            log.warning("the answer to %s is lost: the stream is down", sender)
            return
        self._send(answer)

    async def _on_disco_info(self, iq: Any) -> None:
        if self._not_for_us(iq, "get"):
            return
        if iq.xml.find(f"{{{NS_DISCO_INFO}}}query").get("node"):
            self._send(_error(iq, "item-not-found"))
            return
        self._send(build_service_disco_info(sender=self.service_jid, to=str(iq["from"]),
                                            stanza_id=str(iq["id"])))

    async def _on_disco_items(self, iq: Any) -> None:
        if self._not_for_us(iq, "get"):
            return
        if iq.xml.find(f"{{{NS_DISCO_ITEMS}}}query").get("node"):
            self._send(_error(iq, "item-not-found"))
            return
        self._send(build_fingerprint_items(
            sender=self.service_jid, to=str(iq["from"]), stanza_id=str(iq["id"]),
            fingerprint=self.prekey_server.identity.fingerprint))


def _request_kind(request: etree._Element) -> str:
    try:
        return peek_type(parse_prekey_iq(request).message).spec_name
    except OTRError:
        return "malformed request"


def _outcome(answer: etree._Element) -> str:
    try:
        if answer.get("type") == "result":
            return peek_type(parse_prekey_iq(answer).message).spec_name
        err = parse_prekey_error(answer)
    except OTRError:
        return "unreadable answer"
    return "error " + (err.condition.value if err.condition else err.stanza_condition)


def _error(iq: Any, condition: str, error_type: str = "cancel") -> etree._Element:
    out = etree.Element(f"{{{NS_CLIENT}}}iq", {
        "from": str(iq["to"]), "to": str(iq["from"]), "id": str(iq["id"]), "type": "error"},
        nsmap={None: NS_CLIENT})  # type: ignore[dict-item]
    err = etree.SubElement(out, f"{{{NS_CLIENT}}}error", {"type": error_type})
    etree.SubElement(err, f"{{{NS_STANZAS}}}{condition}",
                     nsmap={None: NS_STANZAS})  # type: ignore[dict-item]
    return out


def open_storage(url: str) -> Storage:
    """The storage a storage URL names (:func:`otrv4_prekey.storage_url.open_storage`); a
    plain path is a SQLite file, created if missing."""
    return open_storage_url(url)
