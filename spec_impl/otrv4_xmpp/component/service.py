"""The XEP-0114 component that hosts the prekey service.

It moves stanzas only: every decision is in :mod:`otrv4_xmpp.prekey`
(:func:`~otrv4_xmpp.prekey.handle_prekey_iq` and the disco builders) and in
:mod:`otrv4_prekey`.  Incoming stanzas arrive in the component stream's
namespace (``jabber:component:accept``); they are converted to the
``jabber:client`` form the binding's builders and schemas use, and answers are
converted back.  The server's work (a publication of 100 Prekey messages
takes a few hundred milliseconds of CPU) runs in a worker thread so the
stream keeps flowing; :class:`~otrv4_prekey.server.PrekeyServer` and
:class:`~otrv4_prekey.storage.SqliteStorage` are thread-safe.
"""

from __future__ import annotations

import asyncio
import logging
import os
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from lxml import etree
from slixmpp.componentxmpp import ComponentXMPP
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import MatchXPath

from otrv4.clock import Clock, SystemClock
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.rng import Rng, SystemRng
from otrv4_prekey.dake import ServerIdentity
from otrv4_prekey.server import PrekeyServer, ServerPolicy
from otrv4_prekey.storage import SqliteStorage, Storage

from ..namespaces import NS_CLIENT, NS_DISCO_INFO, NS_STANZAS
from ..prekey import (
    NS_DISCO_ITEMS,
    NS_PREKEY,
    build_fingerprint_items,
    build_service_disco_info,
    handle_prekey_iq,
)

__all__ = ["COMPONENT_NS", "PrekeyComponent", "build_server", "load_or_create_key"]

log = logging.getLogger(__name__)

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


def load_or_create_key(path: Path, rng: Rng) -> EdDSAKeyPair:
    """The service's long-term key pair, kept as 114 hex digits (the 57-byte ``sym_key``)
    in ``path``; created (mode 0600) on first use."""
    if path.exists():
        return EdDSAKeyPair.from_secret(bytes.fromhex(path.read_text().strip()))
    pair = EdDSAKeyPair.generate(rng)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(pair.sym_key.hex() + "\n")
    return pair


def build_server(jid: str, keypair: EdDSAKeyPair, storage: Storage, *,
                 publisher_domains: frozenset[str] | None = None,
                 rng: Rng | None = None, clock: Clock | None = None) -> PrekeyServer:
    """A :class:`~otrv4_prekey.server.PrekeyServer` for the component ``jid``.

    By default only users of the component's parent domain publish
    (``prekeys.capulet.lit`` serves ``capulet.lit``).
    """
    if publisher_domains is None:
        parent = jid.split(".", 1)[1] if "." in jid else jid
        publisher_domains = frozenset({parent})
    return PrekeyServer(ServerIdentity(jid, keypair), storage, rng or SystemRng(),
                        clock or SystemClock(), ServerPolicy(publisher_domains=publisher_domains))


class PrekeyComponent(ComponentXMPP):
    """The prekey service on an XEP-0114 stream."""

    def __init__(self, jid: str, secret: str, server: PrekeyServer) -> None:
        super().__init__(jid, secret)  # type: ignore[no-untyped-call]  # slixmpp
        self.prekey_server = server
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

    async def _on_prekey(self, iq: Any) -> None:
        if self._not_for_us(iq, "set"):
            return
        request = from_stream(iq.xml)
        sender = str(iq["from"].bare)
        loop = asyncio.get_running_loop()
        try:
            answer = await loop.run_in_executor(
                None, handle_prekey_iq, self.prekey_server, request, sender)
        except Exception:  # the storage or a bug: never leave an IQ unanswered
            log.exception("prekey request from %s failed", sender)
            answer = _error(iq, "internal-server-error")
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


def _error(iq: Any, condition: str) -> etree._Element:
    out = etree.Element(f"{{{NS_CLIENT}}}iq", {
        "from": str(iq["to"]), "to": str(iq["from"]), "id": str(iq["id"]), "type": "error"},
        nsmap={None: NS_CLIENT})  # type: ignore[dict-item]
    err = etree.SubElement(out, f"{{{NS_CLIENT}}}error", {"type": "cancel"})
    etree.SubElement(err, f"{{{NS_STANZAS}}}{condition}",
                     nsmap={None: NS_STANZAS})  # type: ignore[dict-item]
    return out


def open_storage(path: str) -> SqliteStorage:
    """The default storage: a SQLite file (created if missing)."""
    return SqliteStorage(path)
