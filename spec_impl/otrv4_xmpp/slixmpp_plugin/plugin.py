"""The slixmpp plugin ``xep_otr4``: OTRv4 over XMPP for client authors.

What it does, by section of the binding:

* **Discovery**: advertises ``urn:xmpp:otr4:0`` (disco#info, hence caps) and
  ``urn:xmpp:otr4:devices:0+notify`` (PEP notifications of device lists); checks
  the feature of a peer's full JID before an interactive DAKE with it.
* **Devices**: on every session start, reads its own account's list, joins it
  (:func:`otrv4_xmpp.devices.join`: prune expired entries, add or refresh its
  own entry, refuse at the limit) and republishes when that changed; fetches a
  peer's list before sending; a device-list notification that lacks this device
  makes it join again.
* **Conversation start** (:meth:`XEP_OTR4.start_sessions`): an interactive DAKE
  with every online full JID of the peer (and of its own account) that has the
  feature and no session yet; Identity, Auth-R and Auth-I travel as *live*
  stanzas to one full JID (:mod:`otrv4_xmpp.carriage`).
* **Sending** (:meth:`XEP_OTR4.send_message`): one stanza to the peer's bare JID
  with one payload per device that has a session (the peer's devices and the
  sender's own other devices), stored delivery (offline storage and MAM keep it,
  carbons copy it to the sender's own online devices).
* **Receiving**: the stanza is parsed and checked by
  :func:`otrv4_xmpp.carriage.parse_message` and the schemas
  (:class:`otrv4_xmpp.validation.StanzaValidator`); a stanza that fails is
  dropped with a logged reason (event ``otr4_error``); the device takes only
  the payload addressed to its instance tag; each payload is processed once
  whatever path brought it (live, carbon, offline storage, MAM); DAKE messages
  are taken only live and addressed to this full JID, never from a carbon, an
  archive or offline storage.
* **Catch-up** (:meth:`XEP_OTR4.catch_up`): reads the account's archive (MAM)
  after the last archive id this device saw, for the messages sent while it
  was offline and another device of the account was online.

Events (``xmpp.add_event_handler(name, handler)``):

* ``otr4_message`` (:class:`Otr4Message`): a decrypted data message;
* ``otr4_session_started`` (:class:`Otr4Session`): a DAKE completed;
* ``otr4_error`` (:class:`Otr4Error`): a stanza was dropped or a message could not
  be decrypted (with the reason);
* ``otr4_devices`` (:class:`Otr4Devices`): a device list was read or changed;
* ``otr4_ready``: the device list is published and the catch-up is done.

Randomness (``rng``) and time (``clock``) are plugin configuration values
with production defaults (:class:`otrv4.primitives.rng.SystemRng`,
:class:`otrv4.clock.SystemClock`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import OrderedDict
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any, ClassVar, cast
from xml.etree import ElementTree as ET

from lxml import etree
from slixmpp import JID
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.plugins import BasePlugin
from slixmpp.stanza import Iq, Message
from slixmpp.xmlstream import StanzaBase
from slixmpp.xmlstream.handler import CoroutineCallback
from slixmpp.xmlstream.matcher import StanzaPath

from otrv4.clock import Clock, SystemClock
from otrv4.encoding import MessageType, decode_encoded_message, read_instance_tags
from otrv4.errors import OTRError
from otrv4.fragment import Reassembler
from otrv4.modes import Mode
from otrv4.prekeys import generate_prekey_message
from otrv4.primitives.rng import Rng, SystemRng
from otrv4.session import NoticeKind
from prekey_server import client as pc
from prekey_server.dake import PublisherIdentity
from prekey_server.messages import Success
from prekey_server.publication import SharedPrekey
from prekey_server.retrieval import Ensembles, Exhausted, read_answer

from .. import carriage, compat, devices, policy
from .. import prekey as prekey_iq
from ..discovery import parse_disco_info_result
from ..engine import DeviceEngine, DeviceIdentity, Outcome, PairSession, bare_of
from ..namespaces import NS_DEVICES, NS_OTR4, NS_PUBSUB
from ..send_plan import SendPlan, plan_send
from ..validation import StanzaValidator
from .stanza import NS_DELAY, NS_SID, Devices, register_stanzas, to_lxml

__all__ = [
    "XEP_OTR4",
    "NoPrekeyServiceError",
    "NoRecipientsError",
    "Otr4Devices",
    "Otr4Error",
    "Otr4Message",
    "Otr4Session",
    "OutgoingStanzaInvalidError",
    "PublicationRefusedError",
    "SendReport",
]

log = logging.getLogger(__name__)

#: How many processed payload digests a device remembers (duplicates across live,
#: carbon, offline and archive paths are dropped within this window).
SEEN_WINDOW = 4096
#: At most this many full JIDs have fragments being reassembled at once (each
#: reassembler has its own limits, otrv4.fragment.FragmentLimits); the least
#: recently used is dropped beyond it, so a flood of senders is bounded too.
MAX_REASSEMBLERS = 64


class NoRecipientsError(OTRError):
    """No device of the peer (or of our own account) has a session, or the ones that have
    are not trusted: nothing to send."""


class OutgoingStanzaInvalidError(OTRError):
    """A stanza this plugin built fails the schemas (a bug; it is not sent)."""


class NoPrekeyServiceError(OTRError):
    """The domain has no prekey service (disco finds no ``auth``/``otr-prekey`` item)."""


class PublicationRefusedError(OTRError):
    """The prekey service did not confirm a publication with a Success message."""


@dataclass(frozen=True)
class Otr4Message:
    """A decrypted data message.

    ``sender`` is the full JID that sent it, ``sender_tag`` its instance tag;
    ``to`` the stanza's addressee (for a copy of our own account's outgoing
    message: the peer); ``outgoing`` is true when another device of our own
    account sent it; ``via`` is ``live``, ``carbon``, ``offline`` or ``mam``.
    """

    sender: str
    sender_tag: int
    to: str
    text: str
    via: str
    outgoing: bool
    stanza_id: str | None

    @property
    def account(self) -> str:
        """The sender's bare JID."""
        return bare_of(self.sender)


@dataclass(frozen=True)
class Otr4Session:
    """A completed DAKE: the peer device, its fingerprint and the SSID (hex)."""

    peer: str
    full_jid: str
    tag: int
    fingerprint: str
    ssid: str


@dataclass(frozen=True)
class Otr4Error:
    """Something was dropped or could not be decrypted: ``reason`` says what and why."""

    sender: str
    reason: str
    error: BaseException | None = None


@dataclass(frozen=True)
class Otr4Devices:
    """An account's device list as last read."""

    account: str
    devices: devices.DeviceList


@dataclass(frozen=True)
class SendReport:
    """What :meth:`XEP_OTR4.send_message` sent: the stanza id and size, the devices
    that got a payload (``recipients``), those among them reached by a
    non-interactive DAKE started for this message (``non_interactive``), and the
    listed devices that got nothing (``missing``: no session, no usable prekey
    ensemble; the message reaches them once they are online and a DAKE ran), and
    those the ``trust`` setting refused (``untrusted``)."""

    stanza_id: str
    stanza_bytes: int
    recipients: tuple[tuple[str, int], ...]
    missing: tuple[tuple[str, int], ...]
    non_interactive: tuple[tuple[str, int], ...] = ()
    untrusted: tuple[tuple[str, int], ...] = ()
    """Devices with a session that the ``trust`` setting refused (not sent to)."""


_ARRIVAL = {"live": policy.Arrival.LIVE, "carbon": policy.Arrival.CARBON,
            "offline": policy.Arrival.ARCHIVE, "mam": policy.Arrival.ARCHIVE}


def _digest(account: str, data: bytes) -> bytes:
    return hashlib.sha256(account.encode() + b"\x00" + data).digest()


class XEP_OTR4(BasePlugin):
    """OTRv4 over XMPP (``urn:xmpp:otr4:0``) for one device.

    Configuration (``xmpp.register_plugin('xep_otr4', pconfig={...})``):

    ``rng``, ``clock``: randomness and time (defaults: system);
    ``identity``: a :class:`~.engine.DeviceIdentity` (default: generated from ``rng``);
    ``mode``: :class:`otrv4.modes.Mode` of a generated identity;
    ``label``: the device's label in the device list;
    ``validator``: a :class:`~otrv4_xmpp.validation.StanzaValidator` (default: this
    binding's schemas only);
    ``dake_timeout``: seconds :meth:`start_sessions` waits for DAKEs;
    ``catch_up_on_start``: read the archive at session start (default true);
    ``replace_earliest``: at the device limit, replace the entry that expires first
    instead of refusing to join;
    ``policy``: the :class:`otrv4_xmpp.policy.InstanceTagPolicy` that picks the
    receiving devices (default SYNCHRONIZE, the binding's recommendation);
    ``session_config``: the :class:`otrv4.session.SessionConfig` of every conversation
    (heartbeat, expiry, storage times);
    ``timer_seconds``: how often :meth:`tick` runs while connected (0: never);
    ``prekey_service``: the JID of the own domain's prekey service (default: found by
    disco); ``prekeys_on_start``: replenish the published prekeys at session start;
    ``prekey_target``, ``prekey_low_water``: the replenishment policy (publish up to
    the target when fewer than the low-water mark remain);
    ``offline_start``: start non-interactive DAKEs from prekey ensembles for devices
    without a session when sending;
    ``trust``: ``trust(account, instance_tag, fingerprint) -> bool``, asked before a
    message is encrypted for a device with a session (default: every device, trust on
    first use; a client that wants the user to confirm new devices answers False
    until they did);
    ``archive_after``: the archive id to resume the catch-up after (a client that
    stores :attr:`archive_position` across restarts passes it back here; without
    it the first catch-up reads the whole archive).
    """

    name = "xep_otr4"
    description = "OTRv4 over XMPP (urn:xmpp:otr4:0)"
    dependencies: ClassVar[set[str]] = {
        "xep_0030", "xep_0060", "xep_0163", "xep_0280", "xep_0297", "xep_0313",
        "xep_0059", "xep_0004", "xep_0115",
    }
    default_config: ClassVar[dict[str, Any]] = {
        "rng": None,
        "clock": None,
        "identity": None,
        "mode": Mode.STANDALONE,
        "label": None,
        "validator": None,
        "dake_timeout": 15.0,
        "catch_up_on_start": True,
        "replace_earliest": False,
        "policy": policy.InstanceTagPolicy.SYNCHRONIZE,
        "session_config": None,
        "timer_seconds": 30,
        "prekey_service": None,
        "prekeys_on_start": True,
        "prekey_target": pc.REFILL_TARGET,
        "prekey_low_water": pc.LOW_WATER_MARK,
        "offline_start": True,
        "trust": None,
        "archive_after": None,
    }

    # -- set-up -------------------------------------------------------------------------------

    def plugin_init(self) -> None:
        self.rng: Rng = self.config.get("rng") or SystemRng()
        self.clock: Clock = self.config.get("clock") or SystemClock()
        identity = self.config.get("identity")
        # A device whose identity is generated here has never been published.
        self._new_device = identity is None
        if identity is None:
            identity = DeviceIdentity.generate(self.rng, self.clock,
                                               mode=self.config.get("mode", Mode.STANDALONE))
        self.identity: DeviceIdentity = identity
        self.validator: StanzaValidator = self.config.get("validator") or StanzaValidator()
        self.engine = DeviceEngine(self.identity, self.xmpp.boundjid.bare,
                                           rng=self.rng, clock=self.clock,
                                           config=self.config.get("session_config"))
        self.device_lists: dict[str, devices.DeviceList] = {}
        self.online: dict[str, set[str]] = {}
        self._features: dict[str, bool] = {}
        self._waiters: dict[str, asyncio.Future[PairSession]] = {}
        self._seen: OrderedDict[bytes, None] = OrderedDict()
        self._last_archive_id: str | None = self.config.get("archive_after")
        self._last_received: dict[tuple[str, int], int] = {}
        self._last_sent: dict[tuple[str, int], int] = {}
        self._services: dict[str, tuple[str, bytes]] = {}
        self._compat_jids: set[str] = set()
        self._reassemblers: OrderedDict[str, Reassembler] = OrderedDict()
        self._profiles_published = False
        self._ready = asyncio.Event()
        self._joined = False
        self._features_added = getattr(self, "_features_added", False)
        register_stanzas()
        self.xmpp.register_handler(CoroutineCallback(
            "OTRv4 message", StanzaPath("message/otr4"), self._on_live_message))
        self.xmpp.register_handler(CoroutineCallback(
            "OTRv4 text body", StanzaPath("message/body"), self._on_body))
        self.xmpp.add_event_handler("carbon_received", self._on_carbon_received)
        self.xmpp.add_event_handler("carbon_sent", self._on_carbon_sent)
        self.xmpp.add_event_handler("presence_available", self._on_available)
        self.xmpp.add_event_handler("presence_unavailable", self._on_unavailable)
        self.xmpp.add_event_handler("session_start", self._on_session_start)
        self.xmpp.add_event_handler("disconnected", self._on_disconnected)
        self.xmpp.add_event_handler("otr4_devices_publish", self._on_devices_event)

    def plugin_end(self) -> None:
        self.xmpp.remove_handler("OTRv4 message")
        self.xmpp.remove_handler("OTRv4 text body")
        for event, handler in (
            ("carbon_received", self._on_carbon_received), ("carbon_sent", self._on_carbon_sent),
            ("presence_available", self._on_available),
            ("presence_unavailable", self._on_unavailable),
            ("session_start", self._on_session_start), ("disconnected", self._on_disconnected),
            ("otr4_devices_publish", self._on_devices_event),
        ):
            self.xmpp.del_event_handler(event, handler)
        self.xmpp.plugin["xep_0030"].del_feature(feature=NS_OTR4)

    def session_bind(self, jid: JID) -> None:
        # Features go in once the dependencies are loaded (post_init may run before
        # xep_0163); slixmpp calls this before plugin_init when the stream is already bound.
        if not getattr(self, "_features_added", False):
            self.xmpp.plugin["xep_0030"].add_feature(NS_OTR4)
            self.xmpp.plugin["xep_0163"].register_pep(  # type: ignore[no-untyped-call]
                "otr4_devices", Devices)
            self._features_added = True

    # -- public API ---------------------------------------------------------------------------

    @property
    def instance_tag(self) -> int:
        """This device's instance tag."""
        return self.identity.instance_tag

    @property
    def fingerprint(self) -> str:
        """This device's fingerprint (for people to compare)."""
        return self.identity.fingerprint

    @property
    def archive_position(self) -> str | None:
        """The last archive (XEP-0313) id this device processed; store it and pass it as
        ``archive_after`` on the next start."""
        return self._last_archive_id

    async def ready(self, timeout: float | None = None) -> None:
        """Wait until the device list is published and the catch-up done (``otr4_ready``)."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    async def fetch_devices(self, account: str) -> devices.DeviceList:
        """Read ``account``'s device list from its PEP node (empty when there is none).

        Raises :class:`slixmpp.exceptions.IqTimeout` and the decoding errors of
        :meth:`otrv4_xmpp.devices.DeviceList.from_element` (a malformed list).
        """
        account = bare_of(account)
        el = devices.build_items_request(sender=self.xmpp.boundjid.full, owner=account,
                                         stanza_id=self.xmpp.new_id())
        try:
            result = await self._send_iq(el)
        except IqError as exc:
            if exc.condition in ("item-not-found", "service-unavailable"):
                found = devices.DeviceList()
                self._set_devices(account, found)
                return found
            raise
        item = result.find(f"{{{NS_PUBSUB}}}pubsub/{{{NS_PUBSUB}}}items/{{{NS_PUBSUB}}}item")
        payload = None if item is None else item.find(f"{{{NS_DEVICES}}}devices")
        found = devices.DeviceList() if payload is None else self._read_devices(payload)
        self._set_devices(account, found)
        return found

    async def publish_devices(self) -> devices.DeviceList:
        """Join the own account's device list (read-modify-write) and republish it
        when it changed.

        A device whose identity the plugin generated (none was configured) joins as
        a *new* device: when its instance tag is already listed by another device of
        the account (binding §Devices, instance-tag collisions), it draws a new
        identity and tag and tries again.  Raises
        :class:`otrv4_xmpp.devices.DeviceLimitError` (the list is full; its
        ``candidates`` are the entries the user may remove) and IQ errors."""
        own = self.xmpp.boundjid.bare
        current = await self.fetch_devices(own)
        for _ in range(3):
            me = devices.DeviceEntry(self.instance_tag,
                                     devices.DeviceMode.of(self.identity.mode),
                                     self.identity.expires, self.config.get("label"))
            try:
                wanted = devices.join(current, me, self.clock.now(), new_device=self._new_device,
                                      replace_earliest=bool(self.config.get("replace_earliest")))
                break
            except devices.InstanceTagCollisionError:
                old = self.instance_tag
                self._regenerate_identity()
                log.warning("instance tag %08x is taken by another device of %s: this "
                            "device now uses %08x", old, own, self.instance_tag)
        else:  # pragma: no cover - three collisions of random 32-bit tags
            raise devices.InstanceTagCollisionError("no free instance tag after three draws")
        self._new_device = False
        if wanted != current:
            await self.publish_device_list(wanted)
        self._joined = True
        return wanted

    async def publish_device_list(self, device_list: devices.DeviceList) -> None:
        """Publish ``device_list`` as the own account's list, as it is (item ``current``,
        access model ``open``).  :meth:`publish_devices` is the normal way; this is
        for list management screens.  Raises :class:`OutgoingStanzaInvalidError`
        and IQ errors."""
        el = devices.build_publish(device_list, sender=self.xmpp.boundjid.full,
                                   stanza_id=self.xmpp.new_id())
        self._check_outgoing(el)
        await self._send_iq(el)
        self._set_devices(self.xmpp.boundjid.bare, device_list)

    async def leave_devices(self) -> None:
        """Remove this device from its account's list (it stops using OTRv4 here)."""
        own = self.xmpp.boundjid.bare
        current = await self.fetch_devices(own)
        wanted = devices.leave(current, self.instance_tag)
        self._joined = False
        if wanted != current:
            await self.publish_device_list(wanted)

    def online_devices(self, account: str) -> list[str]:
        """The full JIDs of ``account`` with available presence, sorted (without ours)."""
        return sorted(j for j in self.online.get(bare_of(account), set())
                      if j != self.xmpp.boundjid.full)

    async def supports_otr4(self, full_jid: str) -> bool:
        """Whether ``full_jid`` lists ``urn:xmpp:otr4:0`` in disco#info (cached per presence)."""
        if full_jid not in self._features:
            try:
                info = await self.xmpp.plugin["xep_0030"].get_info(jid=JID(full_jid), timeout=10)
                feats = info["disco_info"]["features"]
                self._features[full_jid] = NS_OTR4 in feats
            except (IqError, IqTimeout):
                self._features[full_jid] = False
        return self._features[full_jid]

    async def start_sessions(self, peer: str, timeout: float | None = None) -> list[PairSession]:
        """Conversation start (binding §Conversation start policy), interactive part.

        For every online full JID of ``peer`` and of our own account that
        supports the feature and has no session yet, send an Identity message
        (to that full JID) and wait for the DAKE to complete, at most
        ``timeout`` seconds (default: the ``dake_timeout`` setting).  Returns
        the sessions with the online devices.  A DAKE that did not complete in
        time is reported through ``otr4_error`` and left out.

        A full JID whose instance tag is not known yet is skipped when every
        listed device of that account already has a session (for instance one
        started non-interactively): the device there is one of them, and a DAKE
        would only replace a working session.
        """
        peer = bare_of(peer)
        targets: list[str] = []
        now = self.clock.now()
        for account in dict.fromkeys((peer, self.xmpp.boundjid.bare)):
            listed = self.device_lists.get(account)
            all_covered = listed is not None and all(
                self.engine.has_session(account, e.tag)
                for e in devices.active(listed, now) if e.tag != self.instance_tag)
            for full in self.online_devices(account):
                if all_covered and self.engine.at_full_jid(full) is None:
                    continue
                if await self.supports_otr4(full):
                    targets.append(full)
        waits: dict[str, asyncio.Future[PairSession]] = {}
        for full in targets:
            if self.engine.at_full_jid(full) is not None:
                continue
            waits[full] = self._waiter(full)
            if not self.engine.dake_in_progress(full):
                self._deliver(self.engine.start_dake(full), "live")
        limit = self.config.get("dake_timeout", 15.0) if timeout is None else timeout
        if waits:
            await asyncio.wait(list(waits.values()), timeout=limit)
        out: list[PairSession] = []
        for full in targets:
            s = self.engine.at_full_jid(full)
            if s is None:
                self._error(full, f"DAKE with {full} did not complete in {limit} s")
            else:
                out.append(s)
        return out

    def session_devices(self, account: str) -> list[int]:
        """Instance tags of ``account`` this device has sessions with."""
        return self.engine.tags_with_sessions(account)

    async def send_message(self, peer: str, text: str,
                           only: Collection[tuple[str, int]] | None = None) -> SendReport:
        """Send ``text`` to every device of ``peer`` and to our own other devices, in one
        stanza to the peer's bare JID (binding §Message carriage, stored delivery).

        Recipients: the live (not expired) devices of both device lists, and any device
        with an established session (a device whose list entry has not arrived yet);
        with ``only``, just those of them listed there as ``(bare JID, instance tag)``
        (e.g. a previous report's :attr:`SendReport.missing`, to deliver a message
        later to the devices that could not be reached, without repeating it to the
        others).  Listed devices without a session are reported in
        :attr:`SendReport.missing`.
        Raises :class:`NoRecipientsError`, :class:`OutgoingStanzaInvalidError` and
        the errors of :func:`otrv4_xmpp.carriage.build_message`.
        """
        peer = bare_of(peer)
        own = self.xmpp.boundjid.bare
        now = self.clock.now()
        for account in dict.fromkeys((peer, own)):
            if account not in self.device_lists:
                try:
                    await self.fetch_devices(account)
                except (IqError, IqTimeout, OTRError) as exc:
                    self._error(account, f"device list of {account} unreadable: {exc}", exc)
        plan = plan_send(
            peer, own=own, own_tag=self.instance_tag, device_lists=self.device_lists,
            sessions={(a, t) for a in (peer, own) for t in self.engine.tags_with_sessions(a)},
            now=now, policy=self.config.get("policy", policy.InstanceTagPolicy.SYNCHRONIZE),
            last_received=self._last_received, last_sent=self._last_sent,
            offline_start=bool(self.config.get("offline_start", True))
            and self.identity.mode is Mode.STANDALONE,
            trusted=self._trusted, only=only)
        pairs: list[tuple[int, bytes]] = []
        sent: list[tuple[str, int]] = []
        extra: list[Outcome] = []
        nia: list[tuple[int, bytes]] = []
        offline: list[tuple[str, int]] = []
        if plan.prekey:
            for account, tag, first, data in await self._start_offline(plan, text):
                nia.append((tag, first))
                pairs.append((tag, data))
                offline.append((account, tag))
                sent.append((account, tag))
                self._last_sent[(account, tag)] = now
        for account, tag in plan.session:
            out = self.engine.send(account, tag, text)
            if not out.payloads:
                continue
            if out.pair is not None and out.pair.full_jid in self._compat_jids:
                extra.append(out)  # an otrv4.md-only client: a body to its full JID
                sent.append((account, tag))
                continue
            pairs.append((tag, out.payloads[0]))
            sent.append((account, tag))
            self._last_sent[(account, tag)] = now
            if len(out.payloads) > 1 or out.texts:
                extra.append(Outcome(out.pair, out.payloads[1:], out.texts))
        untrusted = plan.untrusted
        missing = [d for d in plan.chosen if d not in sent and d not in untrusted]
        if not pairs and extra and all(o.pair is not None and o.pair.full_jid in
                                       self._compat_jids for o in extra):
            for out in extra:
                self._deliver(out, "live")
            return SendReport("", 0, tuple(sent), tuple(missing), tuple(offline),
                              tuple(untrusted))
        if not pairs:
            raise NoRecipientsError(
                f"no device to send to: {len(missing)} without a session, "
                f"{len(untrusted)} not trusted")
        if nia:  # the Non-Interactive-Auth messages go first, in a stanza of their own
            nia_stanza = carriage.build_message(
                carriage.OtrElement.of(self.instance_tag, nia),
                sender=self.xmpp.boundjid.full, to=peer, stanza_id=self.xmpp.new_id())
            self._check_outgoing(nia_stanza)
            self._send_element(nia_stanza)
        otr = carriage.OtrElement.of(self.instance_tag, pairs)
        stanza_id = self.xmpp.new_id()
        el = carriage.build_message(otr, sender=self.xmpp.boundjid.full, to=peer,
                                    stanza_id=stanza_id)
        self._check_outgoing(el)
        raw = etree.tostring(el)
        self._send_element(el)
        for out in extra:
            self._deliver(out, "live")
        return SendReport(stanza_id, len(raw), tuple(sent), tuple(missing), tuple(offline),
                          tuple(untrusted))

    async def _start_offline(self, plan: SendPlan,
                             text: str) -> list[tuple[str, int, bytes, bytes]]:
        """Non-interactive DAKEs (§Sending a Data Message to an offline participant) with
        the devices of ``plan.prekey`` that have an ensemble on their account's prekey
        service: ``(account, tag, Non-Interactive-Auth, data message)`` for each."""
        out: list[tuple[str, int, bytes, bytes]] = []
        for account, tags in plan.prekey_accounts().items():
            try:
                answer = await self.fetch_ensembles(account)
            except NoPrekeyServiceError:
                continue
            except (IqError, IqTimeout, OTRError) as exc:
                self._error(account, f"prekey ensembles of {account} unavailable: {exc}", exc)
                continue
            dl = self.device_lists.get(account) or devices.DeviceList()
            offline_plan = pc.offline_start_plan(
                answer, known_devices=tags,
                interactive_only=[e.tag for e in dl.entries
                                  if e.mode is devices.DeviceMode.INTERACTIVE_ONLY])
            if offline_plan.wait_for_online:
                log.info("%s: no usable prekey ensemble for %s: waiting until online",
                         account, ", ".join(f"{t:08x}" for t in offline_plan.wait_for_online))
            for tag in tags:
                ensemble = offline_plan.non_interactive.get(tag)
                if ensemble is None:
                    continue
                try:
                    step = self.engine.send_offline(account, ensemble, text)
                except OTRError as exc:
                    self._error(account, f"non-interactive DAKE with {tag:08x} failed: {exc}",
                                exc)
                    continue
                kinds = [carriage.OtrPayload(0, p).message_type for p in step.payloads]
                if kinds[:2] != [MessageType.NON_INTERACTIVE_AUTH, MessageType.DATA]:
                    self._error(account, f"non-interactive DAKE with {tag:08x} refused: "
                                + "; ".join(n.detail for n in step.notices))
                    continue
                out.append((account, tag, step.payloads[0], step.payloads[1]))
        return out

    # -- prekey service -----------------------------------------------------------------------

    async def find_prekey_service(self, domain: str | None = None) -> tuple[str, bytes]:
        """The prekey service of ``domain`` (default: our own) and the fingerprint it
        publishes (binding §Discovery; otrv4-prekey-server.md §Discovering a Prekey
        Server): disco#items of the domain, disco#info of each item (identity
        ``auth``/``otr-prekey``), disco#items of the service (the ``fingerprint``
        item).  Raises :class:`NoPrekeyServiceError`."""
        domain = (domain or self.xmpp.boundjid.domain).lower()
        if domain in self._services:
            return self._services[domain]
        disco = self.xmpp.plugin["xep_0030"]
        configured = self.config.get("prekey_service")
        candidates: list[str] = []
        if configured and domain == self.xmpp.boundjid.domain:
            candidates.append(str(configured))
        else:
            try:
                items = await disco.get_items(jid=JID(domain), timeout=10)
                candidates = [str(i[0]) for i in items["disco_items"]["items"]]
            except (IqError, IqTimeout) as exc:
                raise NoPrekeyServiceError(f"disco#items of {domain} failed: {exc}") from None
        for jid in candidates:
            try:
                info = await disco.get_info(jid=JID(jid), timeout=10)
                if not prekey_iq.is_prekey_service(parse_disco_info_result(to_lxml(info.xml))):
                    continue
                fp_items = await disco.get_items(jid=JID(jid), timeout=10)
                fingerprint = prekey_iq.find_fingerprint(
                    prekey_iq.parse_disco_items(to_lxml(fp_items.xml)), jid)
            except (IqError, IqTimeout, OTRError, ValueError) as exc:
                log.debug("%s is not a usable prekey service: %s", jid, exc)
                continue
            self._services[domain] = (jid, fingerprint)
            return jid, fingerprint
        raise NoPrekeyServiceError(f"{domain} has no prekey service")

    async def _prekey_exchange(self, service: str, message: bytes) -> bytes:
        el = prekey_iq.build_prekey_iq(sender=None, to=service, stanza_id=self.xmpp.new_id(),
                                       message=message)
        try:
            result = await self._send_iq(el)
        except IqError as exc:
            raise prekey_iq.parse_prekey_error(to_lxml(exc.iq.xml)) from None
        return prekey_iq.parse_prekey_iq(result).message

    async def prekey_status(self) -> int:
        """How many of this device's Prekey messages the own service holds
        (otrv4-prekey-server.md §Query the Prekey Server for its Storage Status).
        Raises :class:`NoPrekeyServiceError` and the errors of the prekey-server client."""
        service, fingerprint = await self.find_prekey_service()
        client = self._publisher(service, fingerprint)
        dake2 = await self._prekey_exchange(service, client.start())
        reply = client.finish(await self._prekey_exchange(service, client.request_status(dake2)))
        stored = getattr(reply, "stored", None)
        if stored is None:
            raise PublicationRefusedError("the service did not answer with a storage status")
        return int(stored)

    async def publish_prekeys(self, count: int | None = None) -> int:
        """Publish Prekey messages (and the Client and Prekey Profiles) to the own
        domain's prekey service (otrv4-prekey-server.md §Publishing Prekey Values).

        ``count`` None applies the replenishment policy (ask for the storage status,
        publish up to ``prekey_target`` when fewer than ``prekey_low_water`` remain).
        The secrets join the local prekeys once the service confirmed.  Returns how
        many were published.  Raises :class:`NoPrekeyServiceError`,
        :class:`PublicationRefusedError`, :class:`otrv4_xmpp.prekey.PrekeyIqError` and
        the errors of the prekey-server client."""
        service, fingerprint = await self.find_prekey_service()
        if count is None:
            stored = await self.prekey_status()
            count = min(pc.prekeys_to_publish(
                stored, low=int(self.config.get("prekey_low_water", pc.LOW_WATER_MARK)),
                target=int(self.config.get("prekey_target", pc.REFILL_TARGET))),
                pc.MAX_PREKEYS_PER_PUBLICATION)
            if count == 0 and self._profiles_published:
                return 0
        local = self.engine.local_prekeys
        existing = {p.identifier for p in local.prekeys}
        new = []
        for _ in range(count):
            secret = generate_prekey_message(self.rng, self.instance_tag, existing=existing)
            existing.add(secret.identifier)
            new.append(secret)
        client = self._publisher(service, fingerprint)
        dake2 = await self._prekey_exchange(service, client.start())
        ident = self.identity
        request = client.publish(dake2, new, client_profile=ident.client_profile,
                                 prekey_profile=SharedPrekey(ident.prekey_profile,
                                                             ident.shared_prekey))
        reply = client.finish(await self._prekey_exchange(service, request))
        if not isinstance(reply, Success):
            raise PublicationRefusedError("the service did not confirm the publication")
        self.engine.local_prekeys = self.engine.local_prekeys.with_prekeys(new)
        self._profiles_published = True
        return len(new)

    def _regenerate_identity(self) -> None:
        """A new identity and instance tag for a device that has no conversation yet."""
        self.identity = DeviceIdentity.generate(self.rng, self.clock, mode=self.identity.mode)
        self.engine = DeviceEngine(self.identity, self.xmpp.boundjid.bare,
                                           rng=self.rng, clock=self.clock,
                                           config=self.config.get("session_config"))

    def _publisher(self, service: str, fingerprint: bytes) -> pc.PublisherClient:
        ident = self.identity
        return pc.PublisherClient(
            PublisherIdentity(self.xmpp.boundjid.bare, ident.instance_tag, ident.keypair,
                              ident.client_profile), service, self.rng, fingerprint)

    async def fetch_ensembles(self, account: str) -> Ensembles | Exhausted:
        """Ask ``account``'s prekey service for its devices' Prekey Ensembles
        (otrv4-prekey-server.md §Retrieving Prekey Ensembles); each answer consumes
        one Prekey message per device.  Raises :class:`NoPrekeyServiceError` and the
        validation errors of :func:`prekey_server.retrieval.read_answer`."""
        account = bare_of(account)
        service, _ = await self.find_prekey_service(account.partition("@")[2] or account)
        answer = await self._prekey_exchange(service, pc.query(self.instance_tag, account))
        return read_answer(answer, self.instance_tag, account, self.clock)

    def _trusted(self, account: str, tag: int) -> bool:
        hook = self.config.get("trust")
        if hook is None:
            return True
        pair = self.engine.session(account, tag)
        return bool(hook(account, tag, pair.fingerprint))

    async def end_session(self, peer: str, tag: int) -> None:
        """End the conversation with one device (TLV 1, disconnected); other devices'
        sessions stay.  Raises :class:`~.engine.NoSessionError`."""
        self._deliver(self.engine.end(peer, tag), "live")

    def tick(self) -> None:
        """Run the state machine's timer on every session (heartbeats, session expiry,
        stored early messages); the plugin schedules it every ``timer_seconds``."""
        for out in self.engine.tick():
            self._deliver(out, "live")

    async def catch_up(self, page: int = 50) -> int:
        """Read our account's archive (XEP-0313) after the last archive id this device
        saw and process what it holds for this device.  Returns how many stanzas were
        read.  IQ errors are reported through ``otr4_error`` and end the catch-up."""
        mam = self.xmpp.plugin["xep_0313"]
        count = 0
        after = self._last_archive_id
        while True:
            rsm: dict[str, Any] = {"max": page}
            if after is not None:
                rsm["after"] = after
            try:
                iq = await mam.retrieve(rsm=rsm, timeout=20)
            except (IqError, IqTimeout) as exc:
                self._error(self.xmpp.boundjid.bare, f"archive query failed: {exc}", exc)
                break
            results = list(iq["mam"]["results"])
            for result in results:
                after = result["mam_result"]["id"] or after
                inner = result["mam_result"]["forwarded"]["stanza"]
                if inner.xml.find(f"{{{NS_OTR4}}}otr") is not None:
                    await self._process(inner, "mam")
                count += 1
            complete = str(iq["mam_fin"]["complete"]).lower() in ("true", "1")
            if complete or not results:
                break
        if after is not None:
            self._last_archive_id = after
        return count

    # -- events -------------------------------------------------------------------------------

    async def _on_session_start(self, _event: Any) -> None:
        self._ready.clear()
        self.engine.own_jid = bare_of(self.xmpp.boundjid.bare)
        try:
            await self.xmpp.plugin["xep_0280"].enable()
        except (IqError, IqTimeout) as exc:
            self._error(self.xmpp.boundjid.domain, f"carbons not enabled: {exc}", exc)
        try:
            await self.publish_devices()
        except (IqError, IqTimeout, OTRError) as exc:
            self._error(self.xmpp.boundjid.bare, f"device list not published: {exc}", exc)
        if self.config.get("prekeys_on_start", True) and self.identity.mode is Mode.STANDALONE:
            try:
                await self.publish_prekeys()
            except NoPrekeyServiceError:
                log.info("no prekey service on %s: offline conversations cannot start "
                         "with this device", self.xmpp.boundjid.domain)
            except (IqError, IqTimeout, OTRError) as exc:
                self._error(self.xmpp.boundjid.domain, f"prekeys not published: {exc}", exc)
        if self.config.get("catch_up_on_start", True):
            await self.catch_up()
        every = int(self.config.get("timer_seconds") or 0)
        if every > 0:
            self.xmpp.schedule("otr4 timer", every, self.tick, repeat=True)
        self._ready.set()
        self.xmpp.event("otr4_ready", self)

    def _on_disconnected(self, _event: Any) -> None:
        self._ready.clear()
        self._services.clear()
        self.xmpp.cancel_schedule("otr4 timer")
        self.online.clear()
        self._features.clear()

    def _on_available(self, pres: Any) -> None:
        full = str(pres["from"])
        if "/" not in full:
            return
        self.online.setdefault(bare_of(full), set()).add(full)

    def _on_unavailable(self, pres: Any) -> None:
        full = str(pres["from"])
        self.online.get(bare_of(full), set()).discard(full)
        self._features.pop(full, None)

    async def _on_devices_event(self, msg: Message) -> None:
        try:
            owner, dl = devices.parse_event(to_lxml(msg.xml))
            self._check_devices(dl)
        except (OTRError, etree.LxmlError) as exc:
            self._error(str(msg["from"]), f"device-list notification dropped: {exc}", exc)
            return
        owner = bare_of(owner or self.xmpp.boundjid.bare)
        self._set_devices(owner, dl)
        if owner == self.xmpp.boundjid.bare and self._joined \
                and dl.find(self.instance_tag) is None:
            log.info("device %08x missing from its own list: joining again", self.instance_tag)
            try:
                await self.publish_devices()
            except (IqError, IqTimeout, OTRError) as exc:
                self._error(owner, f"could not re-join the device list: {exc}", exc)

    async def _on_live_message(self, stanza: StanzaBase) -> None:
        msg = cast(Message, stanza)
        if msg.xml.find(f"{{{NS_DELAY}}}delay") is not None:
            await self._process(msg, "offline")
        else:
            await self._process(msg, "live")

    async def _on_body(self, stanza: StanzaBase) -> None:
        """Compatibility (binding §Compatibility): a message without ``<otr/>`` whose body
        is OTR text, from a client that knows only otrv4.md.  Encoded messages are
        processed between this device and that full JID only, live only, addressed
        by the instance tags inside; replies to that device go back as bodies."""
        msg = cast(Message, stanza)
        if msg.xml.find(f"{{{NS_OTR4}}}otr") is not None:
            return
        body = msg["body"]
        if not isinstance(body, str) or not body.startswith("?OTR"):
            return
        sender = str(msg["from"])
        if "/" not in sender or msg.xml.find(f"{{{NS_DELAY}}}delay") is not None:
            log.info("OTR text from %s ignored: only live bodies from a full JID", sender)
            return
        try:
            parsed = compat.parse_body_message(to_lxml(msg.xml))
        except (OTRError, etree.LxmlError) as exc:
            self._error(sender, f"OTR text body dropped: {exc}", exc)
            return
        if parsed.kind is compat.BodyKind.ERROR:
            try:
                self._deliver(self.engine.receive_error(sender, parsed.text), "live",
                              stanza=msg)
            except OTRError as exc:
                log.info("OTR error message from %s without a session: %s", sender, exc)
            return
        if parsed.kind is compat.BodyKind.FRAGMENT:
            data = self._reassemble(sender, body)
            if data is None:
                return
        elif parsed.kind is not compat.BodyKind.ENCODED or parsed.message is None:
            log.info("%s from %s ignored: this device runs %s (no query messages or "
                     "whitespace tags)", parsed.kind.value, sender, self.identity.mode.value)
            return
        else:
            data = parsed.message
        try:
            _, receiver = read_instance_tags(data)
        except OTRError as exc:
            self._error(sender, f"OTR text body dropped: {exc}", exc)
            return
        if receiver not in (0, self.instance_tag):
            log.debug("OTR text from %s is for instance %08x", sender, receiver)
            return
        key = _digest(bare_of(sender), data)
        if key in self._seen:
            return
        self._remember(key)
        self._compat_jids.add(sender)
        try:
            out = self.engine.receive(sender, data)
        except OTRError as exc:
            self._error(sender, f"a message could not be decrypted: {exc}", exc)
            return
        self._deliver(out, "live", stanza=msg)

    def _reassemble(self, sender: str, fragment: str) -> bytes | None:
        """Feed one ``?OTR|`` fragment from ``sender`` (otrv4.md §Fragmentation); the
        whole encoded message once the last piece is in, else ``None``.  Errors are
        reported (``otr4_error``) and the fragment is dropped."""
        assembler = self._reassemblers.pop(sender, None) or Reassembler(
            self.instance_tag, self.clock)
        self._reassemblers[sender] = assembler  # most recently used last
        while len(self._reassemblers) > MAX_REASSEMBLERS:
            self._reassemblers.popitem(last=False)
        try:
            whole = assembler.receive(fragment)
            return None if whole is None else decode_encoded_message(whole)
        except OTRError as exc:
            self._error(sender, f"OTR fragment dropped: {exc}", exc)
            return None

    def _send_compat(self, full_jid: str, data: bytes) -> None:
        kind = carriage.OtrPayload(0, data).message_type
        delivery = carriage.DELIVERY_OF[kind]
        self._send_element(compat.build_body_message(
            compat.encoded_body(data), sender=self.xmpp.boundjid.full, to=full_jid,
            stanza_id=self.xmpp.new_id(), delivery=delivery))

    async def _on_carbon_received(self, msg: Message) -> None:
        inner = msg["carbon_received"]
        if inner.xml.find(f"{{{NS_OTR4}}}otr") is not None and self._from_own_server(msg):
            await self._process(inner, "carbon")

    async def _on_carbon_sent(self, msg: Message) -> None:
        inner = msg["carbon_sent"]
        if inner.xml.find(f"{{{NS_OTR4}}}otr") is not None and self._from_own_server(msg):
            await self._process(inner, "carbon")

    def _from_own_server(self, msg: Message) -> bool:
        # A carbon is only trusted from our own bare JID (XEP-0280 §11).
        return str(msg["from"]) in ("", self.xmpp.boundjid.bare)

    # -- receiving ----------------------------------------------------------------------------

    async def _process(self, msg: Message, via: str) -> None:
        sender = str(msg["from"])
        self._note_archive_id(msg)
        try:
            el = to_lxml(msg.xml)
            received = carriage.parse_message(el)
            otr_el = el.find(f"{{{NS_OTR4}}}otr")
            assert otr_el is not None  # parse_message found exactly one
            violations = self.validator.validate_elements([otr_el], source=sender)
            if violations:
                raise carriage.MalformedOtrElementError("; ".join(map(str, violations)))
        except (OTRError, etree.LxmlError) as exc:
            self._error(sender, f"invalid OTRv4 stanza dropped: {exc}", exc)
            return
        try:
            payload = carriage.payload_for(received, self.instance_tag)
        except carriage.NoPayloadForDeviceError:
            log.debug("stanza from %s has no payload for %08x", sender, self.instance_tag)
            return
        key = _digest(bare_of(sender), payload.data)
        if key in self._seen:
            log.debug("duplicate payload from %s via %s ignored", sender, via)
            return
        kind = payload.message_type
        arrival = _ARRIVAL[via]
        if not policy.accepts(kind, arrival, devices.DeviceMode.of(self.identity.mode)):
            log.info("%s from %s via %s ignored (binding: live DAKE messages only, "
                     "mode %s)", kind.spec_name, sender, via, self.identity.mode.value)
            return
        if carriage.DELIVERY_OF[kind] is carriage.Delivery.LIVE \
                and str(msg["to"]) != self.xmpp.boundjid.full:
            log.info("DAKE message from %s to %s ignored (not our full JID)", sender, msg["to"])
            return
        self._remember(key)
        try:
            out = self.engine.receive(sender, payload.data)
        except OTRError as exc:
            reaction = policy.on_undecryptable(arrival, sender in self.online_devices(
                bare_of(sender)))
            self._error(sender, f"a message could not be decrypted: {exc}"
                        + (" (the sender is online: it should start a new DAKE)"
                           if reaction.send_otr_error else ""), exc)
            return
        self._deliver(out, via, stanza=msg)

    def _deliver(self, out: Outcome, via: str, stanza: Message | None = None) -> None:
        """Send what a step produced and raise the plugin's events for it."""
        pair = out.pair
        for data in out.payloads:
            if pair is None:
                break
            if pair.full_jid in self._compat_jids:
                self._send_compat(pair.full_jid, data)
                continue
            kind = carriage.OtrPayload(0, data).message_type
            _, receiver = read_instance_tags(data)
            otr = carriage.OtrElement.of(self.instance_tag, [(receiver, data)])
            live = carriage.DELIVERY_OF[kind] is carriage.Delivery.LIVE
            to = pair.full_jid if live else pair.peer
            el = carriage.build_message(otr, sender=self.xmpp.boundjid.full, to=to,
                                        stanza_id=self.xmpp.new_id())
            self._check_outgoing(el)
            self._send_element(el)
        if out.texts and pair is not None and policy.may_answer(_ARRIVAL[via]) \
                and "/" in pair.full_jid:
            for text in out.texts:
                self._send_element(compat.build_body_message(
                    text, sender=self.xmpp.boundjid.full, to=pair.full_jid,
                    stanza_id=self.xmpp.new_id()))
        if pair is None:
            return
        sender = str(stanza["from"]) if stanza is not None else pair.full_jid
        for n in out.notices:
            if n.kind is NoticeKind.UNREADABLE:
                self._error(sender, f"a message could not be decrypted: {n.detail}")
            elif n.kind is NoticeKind.ERROR_RECEIVED:
                self._error(sender, f"the peer device reported: {n.detail}")
            elif n.kind in (NoticeKind.IGNORED, NoticeKind.REFUSED):
                log.info("%s: %s (%s)", sender, n.kind.value, n.detail)
        if out.displays:
            self._last_received[(pair.peer, pair.their_tag)] = self.clock.now()
        own = self.xmpp.boundjid.bare
        for text in out.displays:
            self.xmpp.event("otr4_message", Otr4Message(
                sender, pair.their_tag, str(stanza["to"]) if stanza is not None else "",
                text, via, pair.peer == own,
                (stanza["id"] or None) if stanza is not None else None))
        if out.established:
            waiter = self._waiters.pop(pair.full_jid, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(pair)
            self.xmpp.event("otr4_session_started", Otr4Session(
                pair.peer, pair.full_jid, pair.their_tag, pair.fingerprint, pair.ssid.hex()))
        if out.ended:
            self.xmpp.event("otr4_session_ended", pair)

    def _remember(self, key: bytes) -> None:
        self._seen[key] = None
        while len(self._seen) > SEEN_WINDOW:
            self._seen.popitem(last=False)

    def _note_archive_id(self, msg: Message) -> None:
        for sid in msg.xml.findall(f"{{{NS_SID}}}stanza-id"):
            if sid.get("by") == self.xmpp.boundjid.bare and sid.get("id"):
                self._last_archive_id = sid.get("id")

    # -- helpers ------------------------------------------------------------------------------

    def _waiter(self, full: str) -> asyncio.Future[PairSession]:
        fut = self._waiters.get(full)
        if fut is None or fut.done():
            fut = asyncio.get_running_loop().create_future()
            self._waiters[full] = fut
        return fut

    def _check_outgoing(self, el: etree._Element) -> None:
        roots = [e for e in el.iter() if isinstance(e.tag, str)
                 and e.tag in (f"{{{NS_OTR4}}}otr", f"{{{NS_DEVICES}}}devices")]
        violations = self.validator.validate_elements(roots or [el], source="outgoing")
        if violations:
            raise OutgoingStanzaInvalidError("; ".join(map(str, violations)))

    def _check_devices(self, dl: devices.DeviceList) -> None:
        violations = self.validator.validate_elements([dl.to_element()], source="devices")
        if violations:
            raise devices.NotADeviceListError("; ".join(map(str, violations)))

    def _read_devices(self, payload: etree._Element) -> devices.DeviceList:
        violations = self.validator.validate_elements([payload], source="devices")
        if violations:
            raise devices.NotADeviceListError("; ".join(map(str, violations)))
        return devices.DeviceList.from_element(payload)

    def _set_devices(self, account: str, dl: devices.DeviceList) -> None:
        self.device_lists[account] = dl
        self.xmpp.event("otr4_devices", Otr4Devices(account, dl))

    def _send_element(self, el: etree._Element) -> None:
        xml = ET.fromstring(etree.tostring(el))
        stanza = self.xmpp.Message(xml=xml)
        stanza.send()

    async def _send_iq(self, el: etree._Element) -> etree._Element:
        xml = ET.fromstring(etree.tostring(el))
        iq = Iq(self.xmpp, xml=xml)  # type: ignore[no-untyped-call]
        result = await iq.send(timeout=20)  # type: ignore[no-untyped-call]
        return to_lxml(result.xml)

    def _error(self, sender: str | JID, reason: str, exc: BaseException | None = None) -> None:
        log.warning("%s: %s", sender, reason)
        self.xmpp.event("otr4_error", Otr4Error(str(sender), reason, exc))
