"""Inbound handling: the stanzas that reach this device, whatever the path (binding
§Message Carriage, §Carbons, §Compatibility, §Catch-up).

Live messages, messages from offline storage (with ``<delay/>``), carbon copies
and the archive (MAM, read from :meth:`Inbound.catch_up`'s cursor) are parsed
and checked against the schemas here, admitted or dropped by
:mod:`otrv4_xmpp.admission`, and what is admitted goes to the engine once; OTR
text in ``<body/>`` from clients that know only otrv4.md is reassembled from
fragments and admitted the same way.  What the engine produced goes out through
:class:`~.delivery.Delivery`.

The handlers are synchronous: nothing in them waits, so slixmpp runs them as
the stanza is parsed instead of scheduling a task for each stanza (every
message with a ``<body/>`` reaches :meth:`Inbound.on_body`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, cast

from lxml import etree
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.stanza import Message
from slixmpp.xmlstream import StanzaBase

from otrv4.encoding import decode_encoded_message
from otrv4.errors import OTRError
from otrv4.fragment import Reassembler

from .. import carriage, compat, devices, policy
from ..admission import (
    Admitted,
    Dropped,
    Path,
    admit_body,
    admit_body_source,
    admit_carbon,
    admit_payload,
    admit_stanza_type,
)
from ..namespaces import NS_OTR4
from .delivery import Delivery
from .device import LocalDevice
from .events import cause_of
from .stanza import NS_DELAY, NS_SID, to_lxml
from .stanza_io import StanzaIO

__all__ = ["MAX_REASSEMBLERS", "POSITION_EVERY", "SEEN_WINDOW", "Inbound"]

log = logging.getLogger(__name__)

#: How many processed payload digests a device remembers (duplicates across live,
#: carbon, offline and archive paths are dropped within this window).
SEEN_WINDOW = 4096
#: The archive position is kept in the store every this many live stanzas processed (and
#: after each page of a catch-up), so a restart re-reads at most about this many.
POSITION_EVERY = 32
#: At most this many full JIDs have fragments being reassembled at once (each
#: reassembler has its own limits, otrv4.fragment.FragmentLimits); the least
#: recently used is dropped beyond it, so a flood of senders is bounded too.
MAX_REASSEMBLERS = 64


class Inbound:
    """The receiving side of ``device``.  ``is_online(full_jid)`` says whether a
    sender is online (an undecryptable message from it is then reported as such);
    ``archive_after`` is the archive id to resume the catch-up after."""

    def __init__(self, io: StanzaIO, device: LocalDevice, delivery: Delivery,
                 is_online: Callable[[str], bool], archive_after: str | None = None) -> None:
        self.io = io
        self.device = device
        self.delivery = delivery
        self.is_online = is_online
        self.archive_position = archive_after
        """The last archive (XEP-0313) id this device processed."""
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._processed = 0
        self._reassemblers: OrderedDict[str, Reassembler] = OrderedDict()

    # -- handlers -----------------------------------------------------------------------------

    def on_otr_message(self, stanza: StanzaBase) -> None:
        """A message with ``<otr/>``: live, or from offline storage when delayed."""
        msg = cast(Message, stanza)
        if self._groupchat(msg):
            return
        delayed = msg.xml.find(f"{{{NS_DELAY}}}delay") is not None
        self.process(msg, Path.OFFLINE if delayed else Path.LIVE)

    def _groupchat(self, msg: Message) -> bool:
        """Binding §Group Chat: tell the user an encrypted message went to a room; never
        process or answer it."""
        dropped = admit_stanza_type(msg.xml.get("type", "normal"))  # as msg["type"] reads it
        if dropped is None:
            return False
        self.io.error(str(msg["from"]), f"an OTRv4 message in a group chat was ignored "
                                        f"({dropped.reason.value})")
        return True

    def on_carbon_received(self, msg: Message) -> None:
        """A carbon of a message another device of the account received."""
        self._carbon(msg, msg["carbon_received"])

    def on_carbon_sent(self, msg: Message) -> None:
        """A carbon of a message another device of the account sent."""
        self._carbon(msg, msg["carbon_sent"])

    def _carbon(self, outer: Message, inner: Message) -> None:
        if inner.xml.find(f"{{{NS_OTR4}}}otr") is None:
            return
        dropped = admit_carbon(str(outer["from"]), self.io.bare)
        if dropped is not None:
            self._log_drop(str(outer["from"]), Path.CARBON, dropped)
            return
        self.process(inner, Path.CARBON)

    def on_body(self, stanza: StanzaBase) -> None:
        """Compatibility (binding §Compatibility): a message without ``<otr/>`` whose body
        is OTR text, from a client that knows only otrv4.md.  Encoded messages are
        processed between this device and that full JID only, live only, addressed
        by the instance tags inside; replies to that device go back as bodies."""
        msg = cast(Message, stanza)
        if msg.xml.find(f"{{{NS_OTR4}}}otr") is not None:
            return
        body = msg["body"]
        if not isinstance(body, str) or not body.startswith("?OTR") or self._groupchat(msg):
            return
        sender = str(msg["from"])
        dropped = admit_body_source(
            sender, delayed=msg.xml.find(f"{{{NS_DELAY}}}delay") is not None)
        if dropped is not None:
            self._log_drop(sender, Path.LIVE, dropped)
            return
        try:
            parsed = compat.parse_body_message(to_lxml(msg.xml))
        except (OTRError, etree.LxmlError) as exc:
            self.io.error(sender, f"OTR text body dropped: {exc}", exc)
            return
        engine = self.device.engine
        if parsed.kind is compat.BodyKind.ERROR:
            try:
                self.delivery.deliver(engine.receive_error(sender, parsed.text), stanza=msg)
            except OTRError as exc:
                log.info("OTR error message from %s without a session: %s", sender, exc)
            return
        if parsed.kind is compat.BodyKind.FRAGMENT:
            data = self._reassemble(sender, body)
            if data is None:
                return
        elif parsed.kind is not compat.BodyKind.ENCODED or parsed.message is None:
            log.info("%s from %s ignored: this device runs %s (no query messages or "
                     "whitespace tags)", parsed.kind.value, sender,
                     self.device.identity.mode.value)
            return
        else:
            data = parsed.message
        verdict = admit_body(sender, data, own_tag=self.device.instance_tag, seen=self._seen)
        if isinstance(verdict, Dropped):
            if verdict.error is not None:
                self.io.error(sender, f"OTR text body dropped: {verdict.detail}", verdict.error)
            else:
                self._log_drop(sender, Path.LIVE, verdict)
            return
        self._remember(verdict)
        self.delivery.compat_jids.add(sender)
        try:
            out = engine.receive(sender, data)
        except OTRError as exc:
            self.io.error(sender, f"a message could not be decrypted: {exc}", exc,
                          cause_of(exc))
            return
        self.delivery.deliver(out, stanza=msg)

    # -- receiving ----------------------------------------------------------------------------

    def process(self, msg: Message, path: Path) -> None:
        """One stanza with ``<otr/>`` that arrived by ``path``: parse, check against the
        schemas, admit, and hand the payload for this device to the engine.  Every
        failure is reported (``otr4_error``) or logged; nothing is raised."""
        sender, to = str(msg["from"]), str(msg["to"])
        self._note_archive_id(msg)
        try:
            # read where slixmpp parsed it (parse_message holds <otr/> to the rules of its
            # schema and of the carriage); only <otr/> is copied, for the schema check that
            # the design requires of everything received (design.md §Validation)
            received = carriage.parse_message(msg.xml, sender_jid=sender, to=to)
            otr_el = msg.xml.find(f"{{{NS_OTR4}}}otr")  # exactly one: parse_message checked
            wrong = (self.io.violations(to_lxml(otr_el, subtree=True), sender)
                     if otr_el is not None else None)
            if wrong:
                raise carriage.MalformedOtrElementError(wrong)
        except (OTRError, etree.LxmlError) as exc:
            self.io.error(sender, f"invalid OTRv4 stanza dropped: {exc}", exc)
            return
        verdict = admit_payload(
            received, path, own_full=self.io.full, own_tag=self.device.instance_tag,
            mode=devices.DeviceMode.of(self.device.identity.mode), seen=self._seen)
        if isinstance(verdict, Dropped):
            self._log_drop(sender, path, verdict)
            return
        self._remember(verdict)
        try:
            out = self.device.engine.receive(sender, verdict.data)
        except OTRError as exc:
            reaction = policy.on_undecryptable(path.arrival, self.is_online(sender))
            self.io.error(sender, f"a message could not be decrypted: {exc}"
                          + (" (the sender is online: it should start a new DAKE)"
                             if reaction.send_otr_error else ""), exc, cause_of(exc))
            return
        self.delivery.deliver(out, path, stanza=msg, sender=sender, to=to)
        self._processed += 1
        if path is not Path.MAM and self._processed % POSITION_EVERY == 0 \
                and self.archive_position is not None:
            # processed and committed: a restart's catch-up may resume after it
            self.device.engine.set_note("archive-position", self.archive_position, sync=False)

    async def catch_up(self, page: int = 50) -> int:
        """Read the own account's archive (XEP-0313) after :attr:`archive_position` and
        process what it holds for this device.  Returns how many stanzas were read.
        IQ errors are reported through ``otr4_error`` and end the catch-up."""
        mam = self.io.xmpp.plugin["xep_0313"]
        count = 0
        after = self.archive_position
        while True:
            rsm: dict[str, Any] = {"max": page}
            if after is not None:
                rsm["after"] = after
            try:
                iq = await mam.retrieve(rsm=rsm, timeout=20)
            except (IqError, IqTimeout) as exc:
                self.io.error(self.io.bare, f"archive query failed: {exc}", exc)
                break
            results = list(iq["mam"]["results"])
            for result in results:
                after = result["mam_result"]["id"] or after
                inner = result["mam_result"]["forwarded"]["stanza"]
                if inner.xml.find(f"{{{NS_OTR4}}}otr") is not None:
                    self.process(inner, Path.MAM)
                count += 1
            if after is not None:  # a page done: a restart resumes after it
                self.device.engine.set_note("archive-position", after, sync=False)
            complete = str(iq["mam_fin"]["complete"]).lower() in ("true", "1")
            if complete or not results:
                break
        if after is not None:
            self.archive_position = after
            self.device.engine.set_note("archive-position", after, sync=False)
        return count

    # -- helpers ------------------------------------------------------------------------------

    def _reassemble(self, sender: str, fragment: str) -> bytes | None:
        """Feed one ``?OTR|`` fragment from ``sender`` (otrv4.md §Fragmentation); the
        whole encoded message once the last piece is in, else ``None``.  Errors are
        reported (``otr4_error``) and the fragment is dropped."""
        assembler = self._reassemblers.pop(sender, None) or Reassembler(
            self.device.instance_tag, self.device.clock)
        self._reassemblers[sender] = assembler  # most recently used last
        while len(self._reassemblers) > MAX_REASSEMBLERS:
            self._reassemblers.popitem(last=False)
        try:
            whole = assembler.receive(fragment)
            return None if whole is None else decode_encoded_message(whole)
        except OTRError as exc:
            self.io.error(sender, f"OTR fragment dropped: {exc}", exc)
            return None

    def _remember(self, admitted: Admitted) -> None:
        self._seen[admitted.key] = None
        while len(self._seen) > SEEN_WINDOW:
            self._seen.popitem(last=False)

    def _note_archive_id(self, msg: Message) -> None:
        for sid in msg.xml.findall(f"{{{NS_SID}}}stanza-id"):
            if sid.get("by") == self.io.bare and sid.get("id"):
                self.archive_position = sid.get("id")

    @staticmethod
    def _log_drop(sender: str, path: Path, dropped: Dropped) -> None:
        level = logging.DEBUG if dropped.reason.expected else logging.INFO
        log.log(level, "%s via %s dropped: %s (%s)", sender, path.value,
                dropped.reason.value, dropped.detail)
