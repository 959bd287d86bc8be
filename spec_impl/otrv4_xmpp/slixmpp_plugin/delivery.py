"""Outgoing delivery: what a step of the engine produced goes out as stanzas, and the
plugin's events are raised for it.

* :meth:`Delivery.deliver` sends an :class:`~otrv4_xmpp.engine.Outcome`'s payloads
  (live DAKE messages to the peer's full JID, stored ones to its bare JID; as a
  ``<body/>`` to a client that knows only otrv4.md), its OTR Error texts, and
  raises ``otr4_message``, ``otr4_session_started``, ``otr4_session_ended`` and
  ``otr4_error``;
* :meth:`Delivery.run_dakes` starts interactive DAKEs and waits for them;
* :meth:`Delivery.send_planned` carries out a :class:`~otrv4_xmpp.send_plan.SendPlan`
  (binding §Sending a Message): encrypts for each device with a session and sends
  one stanza to the peer's bare JID, after the stanza of Non-Interactive-Auth
  messages of the offline starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from slixmpp.stanza import Message

from otrv4.encoding import read_instance_tags
from otrv4.errors import OTRError
from otrv4.session import NoticeKind, UserMessage

from .. import carriage, compat, policy, sce
from ..admission import Path
from ..engine import Outcome, PairSession
from ..send_plan import OfflineStart, Recipient, SendPlan, SkipReason
from ..trust import UntrustedDeviceError
from .device import LocalDevice
from .errors import NoRecipientsError
from .events import Otr4ChatState, Otr4Message, Otr4Session, Otr4Smp, SendReport, cause_of
from .stanza_io import StanzaIO

__all__ = ["Delivery"]

log = logging.getLogger(__name__)


class Delivery:
    """Sends for ``device`` through ``io``, and remembers what the instance-tag
    policies need: when each device last sent to us or got from us."""

    def __init__(self, io: StanzaIO, device: LocalDevice) -> None:
        self.io = io
        self.device = device
        self.compat_jids: set[str] = set()
        """Full JIDs that talk OTR in bodies (otrv4.md only): they get bodies back."""
        self.last_received: dict[Recipient, int] = {}
        self.last_sent: dict[Recipient, int] = {}
        self._waiters: dict[str, asyncio.Future[PairSession]] = {}

    def compat_devices(self) -> set[Recipient]:
        """The devices with a session that talk in bodies (no device-list entry)."""
        return {(p.peer, tag) for (_, tag), p in self.device.engine.sessions.items()
                if p.full_jid in self.compat_jids}

    def waiter(self, full_jid: str) -> asyncio.Future[PairSession]:
        """A future that completes when a DAKE with ``full_jid`` does."""
        fut = self._waiters.get(full_jid)
        if fut is None or fut.done():
            fut = asyncio.get_running_loop().create_future()
            self._waiters[full_jid] = fut
        return fut

    async def run_dakes(self, targets: Sequence[str], timeout: float) -> list[PairSession]:
        """Interactive DAKEs with the full JIDs ``targets`` that have no session yet (an
        Identity message to each, unless a DAKE with it is under way); waits for them
        at most ``timeout`` seconds.  Returns the sessions at ``targets``; a DAKE that
        did not complete in time is reported (``otr4_error``) and left out."""
        engine = self.device.engine
        waits: list[asyncio.Future[PairSession]] = []
        for full in targets:
            if engine.at_full_jid(full) is not None:
                continue
            waits.append(self.waiter(full))
            if not engine.dake_in_progress(full):
                self.deliver(engine.start_dake(full))
        if waits:
            await asyncio.wait(waits, timeout=timeout)
        out: list[PairSession] = []
        for full in targets:
            s = self.device.engine.at_full_jid(full)
            if s is None:
                self.io.error(full, f"DAKE with {full} did not complete in {timeout} s")
            else:
                out.append(s)
        return out

    def send_otr(self, payloads: Sequence[tuple[int, bytes]], to: str) -> tuple[str, int]:
        """One stanza with ``<otr/>`` holding ``(receiver tag, message)`` pairs, to ``to``;
        its id and size.  Raises :class:`~.errors.OutgoingStanzaInvalidError` and the
        errors of :func:`otrv4_xmpp.carriage.build_message`."""
        stanza_id = self.io.new_id()
        el = carriage.build_message(carriage.OtrElement.of(self.device.instance_tag, payloads),
                                    sender=self.io.full, to=to, stanza_id=stanza_id)
        self.io.check_outgoing(el)
        return stanza_id, self.io.send(el)

    def send_compat(self, full_jid: str, data: bytes) -> None:
        """``data`` as an encoded message in a ``<body/>`` (binding §Compatibility)."""
        delivery = carriage.DELIVERY_OF[carriage.OtrPayload(0, data).message_type]
        self.io.send(compat.build_body_message(
            compat.encoded_body(data), sender=self.io.full, to=full_jid,
            stanza_id=self.io.new_id(), delivery=delivery))

    def deliver(self, out: Outcome, path: Path = Path.LIVE,
                stanza: Message | None = None, *, sender: str | None = None,
                to: str | None = None) -> None:
        """Send what a step produced and raise the plugin's events for it; ``stanza`` is
        the received stanza the step processed (arrived by ``path``), if any, and
        ``sender`` and ``to`` its addresses when the caller read them already."""
        pair = out.pair
        if pair is None:
            return
        for data in out.payloads:
            if pair.full_jid in self.compat_jids:
                self.send_compat(pair.full_jid, data)
                continue
            _, receiver = read_instance_tags(data)
            kind = carriage.OtrPayload(0, data).message_type
            live = carriage.DELIVERY_OF[kind] is carriage.Delivery.LIVE
            self.send_otr([(receiver, data)], pair.full_jid if live else pair.peer)
        if out.texts and policy.may_answer(path.arrival) and "/" in pair.full_jid:
            for text in out.texts:
                self.io.send(compat.build_body_message(
                    text, sender=self.io.full, to=pair.full_jid, stanza_id=self.io.new_id()))
        if sender is None:
            sender = str(stanza["from"]) if stanza is not None else pair.full_jid
        for n in out.notices:
            if n.kind is NoticeKind.UNREADABLE:
                self.io.error(sender, f"a message could not be decrypted: {n.detail}",
                              n.error, cause_of(n.error, unreadable=True))
            elif n.kind is NoticeKind.ERROR_RECEIVED:
                self.io.error(sender, f"the peer device reported: {n.detail}")
            elif n.kind is NoticeKind.IGNORED and n.error is not None:
                # a DAKE message that could not be used (e.g. no unused prekey message)
                self.io.error(sender, f"a message could not be decrypted: {n.detail}",
                              n.error, cause_of(n.error))
            elif n.kind in (NoticeKind.IGNORED, NoticeKind.REFUSED):
                log.info("%s: %s (%s)", sender, n.kind.value, n.detail)
        if out.displays:
            self.last_received[(pair.peer, pair.their_tag)] = self.device.clock.now()
        if to is None:
            to = str(stanza["to"]) if stanza is not None else ""
        stanza_id = (stanza.xml.get("id") or None) if stanza is not None else None
        outgoing = pair.peer == self.io.bare
        ids = out.delivery_ids or (None,) * len(out.displays)
        for text, delivery_id in zip(out.displays, ids, strict=True):
            self.io.event("otr4_message", Otr4Message(
                sender, pair.their_tag, to, text, path.value, outgoing, stanza_id,
                delivery_id=delivery_id, trust=out.trust))
        for raw in out.envelopes:
            self._envelope(raw, pair, sender, to, path, stanza_id, out)
        for update in out.smp:
            self.io.event("otr4_smp", Otr4Smp(
                pair.peer, pair.full_jid, pair.their_tag, update.outcome,
                (update.question or b"").decode("utf-8", "replace"), out.trust))
        if out.delivery_ids:  # the application has the plaintexts: the store may forget them
            self.device.engine.acknowledge(out.delivery_ids)
        if out.established:
            waiter = self._waiters.pop(pair.full_jid, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(pair)
            self.io.event("otr4_session_started", Otr4Session(
                pair.peer, pair.full_jid, pair.their_tag, pair.fingerprint, pair.ssid.hex()))
        if out.ended:
            self.io.event("otr4_session_ended", pair)

    def _envelope(self, raw: bytes, pair: PairSession, sender: str, to: str, path: Path,
                  stanza_id: str | None, out: Outcome) -> None:
        """An SCE envelope from the session with ``pair``: its body as a message, or its
        chat state alone; a bad envelope is an ``otr4_error``."""
        # the envelope of a copy of our own message names our own account
        try:
            content = sce.read_content(sce.parse_envelope(raw, peer=pair.peer))
        except OTRError as exc:
            self.io.error(sender, f"an encrypted envelope was dropped: {exc}", exc)
            return
        self.last_received[(pair.peer, pair.their_tag)] = self.device.clock.now()
        outgoing = pair.peer == self.io.bare
        if content.body is not None:
            self.io.event("otr4_message", Otr4Message(
                sender, pair.their_tag, to, content.body, path.value, outgoing, stanza_id,
                content.chat_state, content.receipt_request, True, trust=out.trust))
        elif content.chat_state is not None:
            self.io.event("otr4_chat_state", Otr4ChatState(
                sender, pair.their_tag, content.chat_state, outgoing))

    def send_planned(self, plan: SendPlan, text: str | UserMessage,
                     started: Sequence[OfflineStart] = (),
                     refused: Sequence[Recipient] = ()) -> SendReport:
        """Carry out ``plan`` for ``text``: the offline starts already made (``started``)
        and a data message for each device of :attr:`SendPlan.session`, in one stanza
        to the peer's bare JID.  The report's ``untrusted`` lists the plan's untrusted
        devices, the offline devices the trust setting ``refused`` and any device the
        engine refused when encrypting.  Raises :class:`~.errors.NoRecipientsError`,
        :class:`~.errors.OutgoingStanzaInvalidError` and the errors of
        :func:`otrv4_xmpp.carriage.build_message`."""
        now = self.device.clock.now()
        engine = self.device.engine
        pairs: list[tuple[int, bytes]] = []
        sent: list[Recipient] = []
        extra: list[Outcome] = []
        for s in started:
            pairs.append((s.device[1], s.data))
            sent.append(s.device)
            self.last_sent[s.device] = now
        untrusted = [*plan.untrusted, *refused]
        for account, tag in plan.session:
            try:
                out = engine.send(account, tag, text)
            except UntrustedDeviceError:
                untrusted.append((account, tag))
                continue
            if not out.payloads:
                continue
            if out.pair is not None and out.pair.full_jid in self.compat_jids:
                extra.append(out)  # an otrv4.md-only client: a body to its full JID
                sent.append((account, tag))
                continue
            pairs.append((tag, out.payloads[0]))
            sent.append((account, tag))
            self.last_sent[(account, tag)] = now
            if len(out.payloads) > 1 or out.texts:
                extra.append(Outcome(out.pair, out.payloads[1:], out.texts))
        missing = tuple(d for d in plan.chosen if d not in sent and d not in untrusted)
        offline = tuple(s.device for s in started)
        skipped = tuple((s.device, s.reason.value) for s in plan.skipped
                        if s.reason not in (SkipReason.OWN_DEVICE, SkipReason.UNTRUSTED))
        if not pairs and extra and all(o.pair is not None and o.pair.full_jid in
                                       self.compat_jids for o in extra):
            for out in extra:
                self.deliver(out)
            return SendReport("", 0, tuple(sent), missing, offline, tuple(untrusted), skipped)
        if not pairs:
            raise NoRecipientsError(
                f"no device to send to: {len(missing)} without a session, "
                f"{len(untrusted)} not trusted")
        if started:  # the Non-Interactive-Auth messages go first, in a stanza of their own
            self.send_otr([(s.device[1], s.auth) for s in started], plan.peer)
        stanza_id, size = self.send_otr(pairs, plan.peer)
        for out in extra:
            self.deliver(out)
        return SendReport(stanza_id, size, tuple(sent), missing, offline, tuple(untrusted),
                          skipped)
