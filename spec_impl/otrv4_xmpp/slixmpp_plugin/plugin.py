"""The slixmpp plugin ``xep_otr4``: OTRv4 over XMPP for client authors.

:class:`XEP_OTR4` is the API a client uses; it composes the parts listed in
:mod:`otrv4_xmpp.slixmpp_plugin` and delegates to them.  Events and their values
are in :mod:`.events`, errors in :mod:`.errors`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection
from typing import Any, ClassVar

from slixmpp import JID
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.plugins import BasePlugin
from slixmpp.xmlstream.handler import Callback
from slixmpp.xmlstream.matcher import StanzaPath

from otrv4.clock import Clock, SystemClock
from otrv4.modes import Mode
from otrv4.primitives.rng import Rng, SystemRng
from otrv4_prekey.retrieval import Ensembles, Exhausted

from .. import devices, policy, sce
from ..engine import DeviceEngine, DeviceIdentity, PairSession, bare_of
from ..namespaces import NS_OTR4
from ..send_plan import plan_send
from ..validation import StanzaValidator
from .delivery import Delivery
from .device import LocalDevice
from .directory import DeviceDirectory
from .errors import (
    NoPrekeyServiceError,
    NoRecipientsError,
    OutgoingStanzaInvalidError,
    PublicationRefusedError,
)
from .events import Otr4Devices, Otr4Error, Otr4Message, Otr4Session, SendReport
from .inbound import Inbound
from .lifecycle import Lifecycle, open_store
from .prekey_agent import PrekeyAgent
from .settings import DEFAULT_CONFIG
from .stanza import Devices, register_stanzas
from .stanza_io import StanzaIO
from .verification import TrustCommands, make_trust

__all__ = [  # the errors and events are re-exported for existing imports
    "XEP_OTR4", "NoPrekeyServiceError", "NoRecipientsError", "Otr4Devices", "Otr4Error",
    "Otr4Message", "Otr4Session", "OutgoingStanzaInvalidError", "PublicationRefusedError",
    "SendReport",
]

_EVENTS = ("carbon_received", "carbon_sent", "presence_available", "presence_unavailable",
           "session_start", "disconnected", "otr4_devices_publish")


class XEP_OTR4(TrustCommands, BasePlugin):
    """OTRv4 over XMPP (``urn:xmpp:otr4:0``) for one device.

    Configuration (``xmpp.register_plugin('xep_otr4', pconfig={...})``): the
    settings and their defaults are listed in :mod:`.settings`.
    """

    name = "xep_otr4"
    description = "OTRv4 over XMPP (urn:xmpp:otr4:0)"
    dependencies: ClassVar[set[str]] = {
        "xep_0030", "xep_0060", "xep_0163", "xep_0280", "xep_0297", "xep_0313",
        "xep_0059", "xep_0004", "xep_0115",
    }
    default_config: ClassVar[dict[str, Any]] = DEFAULT_CONFIG

    def plugin_init(self) -> None:
        self.rng: Rng = self.config.get("rng") or SystemRng()
        self.clock: Clock = self.config.get("clock") or SystemClock()
        identity = self.config.get("identity")
        self.store, self._own_store = open_store(self.config.get("store"))
        self._device = LocalDevice(
            identity, self.xmpp.boundjid.bare, rng=self.rng, clock=self.clock,
            config=self.config.get("session_config"), new=identity is None, store=self.store,
            mode=self.config.get("mode", Mode.STANDALONE),
            trust=make_trust(self.config, self.clock, self.store))
        self.validator: StanzaValidator = self.config.get("validator") or StanzaValidator()
        self._io = StanzaIO(self.xmpp, self.validator)
        self._io.attach()
        self._directory = DeviceDirectory(self._io, self._device, self.config)
        self._prekeys = PrekeyAgent(self._io, self._device, self.config)
        self._delivery = Delivery(self._io, self._device)
        self._inbound = Inbound(
            self._io, self._device, self._delivery,
            lambda full: full in self._directory.online_devices(bare_of(full)),
            self.config.get("archive_after") or self.engine.note("archive-position"))
        self._life = Lifecycle(self._io, self._device, deliver=self._delivery.deliver,
                               rejoin=lambda: self._directory.join_or_report(
                                   "renewed profiles not published"),
                               republish=self._prekeys.republish, leave=self._directory.leave)
        self._ready = asyncio.Event()
        self._features_added = getattr(self, "_features_added", False)
        register_stanzas()
        self.xmpp.register_handler(Callback(
            "OTRv4 message", StanzaPath("message/otr4"), self._inbound.on_otr_message))
        self.xmpp.register_handler(Callback(
            "OTRv4 text body", StanzaPath("message/body"), self._inbound.on_body))
        for event, handler in zip(_EVENTS, self._handlers(), strict=True):
            self.xmpp.add_event_handler(event, handler)

    def _handlers(self) -> tuple[Any, ...]:
        d, i = self._directory, self._inbound
        return (i.on_carbon_received, i.on_carbon_sent, d.on_available, d.on_unavailable,
                self.start, self._on_disconnected, d.on_devices_event)

    def plugin_end(self) -> None:
        self._io.detach()
        self.xmpp.remove_handler("OTRv4 message")
        self.xmpp.remove_handler("OTRv4 text body")
        for event, handler in zip(_EVENTS, self._handlers(), strict=True):
            self.xmpp.del_event_handler(event, handler)
        self.xmpp.plugin["xep_0030"].del_feature(feature=NS_OTR4)
        if self._own_store and self.store is not None:
            self.store.close()

    def session_bind(self, jid: JID) -> None:
        # Features go in once the dependencies are loaded (post_init may run before
        # xep_0163); slixmpp calls this before plugin_init when the stream is already bound.
        if not getattr(self, "_features_added", False):
            self.xmpp.plugin["xep_0030"].add_feature(NS_OTR4)
            self.xmpp.plugin["xep_0163"].register_pep(  # type: ignore[no-untyped-call]
                "otr4_devices", Devices)
            self._features_added = True

    # -- this device --------------------------------------------------------------------------

    @property
    def identity(self) -> DeviceIdentity:
        """This device's identity (replaced when a new device's tag was taken)."""
        return self._device.identity

    @property
    def engine(self) -> DeviceEngine:
        """The engine that holds this device's conversations (in memory)."""
        return self._device.engine

    @property
    def instance_tag(self) -> int:
        """This device's instance tag."""
        return self._device.instance_tag

    @property
    def fingerprint(self) -> str:
        """This device's fingerprint (for people to compare)."""
        return self._device.identity.fingerprint

    @property
    def archive_position(self) -> str | None:
        """The last archive (XEP-0313) id this device processed; store it and pass it as
        ``archive_after`` on the next start."""
        return self._inbound.archive_position

    async def ready(self, timeout: float | None = None) -> None:
        """Wait until the device list is published and the catch-up done (``otr4_ready``)."""
        await asyncio.wait_for(self._ready.wait(), timeout)

    # -- devices (see .directory.DeviceDirectory) ---------------------------------------------

    @property
    def device_lists(self) -> dict[str, devices.DeviceList]:
        """The device lists last read, by bare JID."""
        return self._directory.device_lists

    @property
    def online(self) -> dict[str, set[str]]:
        """The full JIDs with available presence, by bare JID."""
        return self._directory.online

    async def fetch_devices(self, account: str) -> devices.DeviceList:
        """Read ``account``'s device list (empty when there is none).  Raises
        :class:`slixmpp.exceptions.IqTimeout` and
        :class:`~otrv4_xmpp.devices.NotADeviceListError`."""
        return await self._directory.fetch(account)

    async def publish_devices(self) -> devices.DeviceList:
        """Join the own account's device list and republish it when it changed; a
        generated identity whose tag another device lists is replaced.  Raises
        :class:`otrv4_xmpp.devices.DeviceLimitError` (its ``candidates`` are the
        entries the user may remove) and IQ errors."""
        return await self._directory.join()

    async def publish_device_list(self, device_list: devices.DeviceList) -> None:
        """Publish ``device_list`` as the own account's list, as it is (for list
        management screens).  Raises :class:`OutgoingStanzaInvalidError`, IQ errors."""
        await self._directory.publish(device_list)

    async def leave_devices(self) -> None:
        """Remove this device from its account's list (it stops using OTRv4 here)."""
        await self._directory.leave()

    async def retire(self) -> None:
        """Retire this device for good (:meth:`.lifecycle.Lifecycle.retire`)."""
        await self._life.retire()

    def online_devices(self, account: str) -> list[str]:
        """The full JIDs of ``account`` with available presence, sorted (without ours)."""
        return self._directory.online_devices(account)

    async def supports_otr4(self, full_jid: str) -> bool:
        """Whether ``full_jid`` lists ``urn:xmpp:otr4:0`` in disco#info (cached per presence)."""
        return await self._directory.supports_otr4(full_jid)

    def session_devices(self, account: str) -> list[int]:
        """Instance tags of ``account`` this device has sessions with."""
        return self.engine.tags_with_sessions(account)

    # -- prekeys (see .prekey_agent.PrekeyAgent) ----------------------------------------------

    async def find_prekey_service(self, domain: str | None = None) -> tuple[str, bytes]:
        """The prekey service of ``domain`` (default: our own) and its fingerprint.
        Raises :class:`NoPrekeyServiceError`."""
        return await self._prekeys.find_service(domain)

    def forget_pinned_prekey_service(self, domain: str) -> None:
        """Accept a new key for ``domain``'s prekey service (the pinned one is forgotten)."""
        self._prekeys.forget_pinned(domain)

    async def prekey_status(self) -> int:
        """How many of this device's Prekey messages the own service holds.  Raises
        :class:`NoPrekeyServiceError`, :class:`PublicationRefusedError` and the errors
        of the prekey-server client."""
        return await self._prekeys.status()

    async def publish_prekeys(self, count: int | None = None) -> int:
        """Publish ``count`` Prekey messages and the profiles (``None``: replenish up to
        ``prekey_target`` when fewer than ``prekey_low_water`` remain); how many were
        published.  Raises as :meth:`.prekey_agent.PrekeyAgent.publish`."""
        return await self._prekeys.publish(count)

    async def fetch_ensembles(self, account: str) -> Ensembles | Exhausted:
        """``account``'s Prekey Ensembles (uses one Prekey message per device).  Raises
        :class:`NoPrekeyServiceError` and the errors of
        :func:`otrv4_prekey.retrieval.read_answer`."""
        return await self._prekeys.fetch_ensembles(account)

    # -- conversations ------------------------------------------------------------------------

    async def start_sessions(self, peer: str, timeout: float | None = None) -> list[PairSession]:
        """Conversation start (binding §Conversation start policy), interactive part: an
        Identity message to every online full JID of ``peer`` and of our own account
        that supports the feature and has no session yet
        (:meth:`.directory.DeviceDirectory.dake_targets`); waits for the DAKEs at most
        ``timeout`` seconds (default ``dake_timeout``) and returns the sessions with
        the online devices.  A DAKE that did not complete is reported (``otr4_error``)."""
        limit = self.config.get("dake_timeout", 15.0) if timeout is None else timeout
        return await self._delivery.run_dakes(await self._directory.dake_targets(peer), limit)

    async def send_message(self, peer: str, text: str,
                           only: Collection[tuple[str, int]] | None = None, *,
                           chat_state: str | None = None,
                           request_receipt: bool = False) -> SendReport:
        """Send ``text`` to every device of ``peer`` and to our own other devices, in one
        stanza to the peer's bare JID (binding §Message carriage, stored delivery).

        The recipients are planned by :func:`otrv4_xmpp.send_plan.plan_send` (live list
        entries and devices with a session, the ``policy``, the ``trust`` setting);
        devices without a session get a non-interactive DAKE when ``offline_start``
        allows and their service has an ensemble.  ``only`` restricts the message to
        those ``(bare JID, instance tag)`` (e.g. a previous :attr:`SendReport.missing`).
        Raises :class:`NoRecipientsError`, :class:`OutgoingStanzaInvalidError` and the
        errors of :func:`otrv4_xmpp.carriage.build_message`.
        """
        peer, own = bare_of(peer), self._io.bare
        compat = self._delivery.compat_devices()
        await self._directory.ensure(dict.fromkeys((peer, own)), compat)
        plan = plan_send(
            peer, own=own, own_tag=self.instance_tag, device_lists=self.device_lists,
            sessions={(a, t) for a in (peer, own) for t in self.engine.tags_with_sessions(a)},
            now=self.clock.now(),
            policy=self.config.get("policy", policy.InstanceTagPolicy.SYNCHRONIZE),
            last_received=self._delivery.last_received, last_sent=self._delivery.last_sent,
            offline_start=bool(self.config.get("offline_start", True))
            and self.identity.mode is Mode.STANDALONE,
            trusted=self.engine.may_encrypt, only=only, unlisted=compat)
        content = sce.message_content(sce.StanzaContent(text, chat_state, request_receipt),
                                      from_jid=own, time=self.clock.now())
        started, refused = (await self._prekeys.start_offline(plan, content, self.device_lists)
                            if plan.prekey else ([], []))
        return self._delivery.send_planned(plan, content, started, refused)

    async def end_session(self, peer: str, tag: int) -> None:
        """End the conversation with one device (TLV 1, disconnected); other devices'
        sessions stay.  Raises :class:`~otrv4_xmpp.engine.NoSessionError`."""
        self._delivery.deliver(self.engine.end(peer, tag))

    def tick(self) -> None:
        """Run the state machine's timer on every session (heartbeats, session expiry,
        stored early messages) and renew the profiles when they are due (then they are
        republished); the plugin schedules it every ``timer_seconds``."""
        for out in self.engine.tick():
            self._delivery.deliver(out)
        if self._ready.is_set():
            self._life.renew_soon()

    async def renew_profiles(self, *, force: bool = False) -> bool:
        """Renew due profiles and republish them (:meth:`.lifecycle.Lifecycle.renew`)."""
        return await self._life.renew(force=force, published=self._directory.joined)

    async def catch_up(self, page: int = 50) -> int:
        """Read our account's archive (XEP-0313) after :attr:`archive_position` and
        process what it holds for this device; how many stanzas were read.  IQ errors
        are reported through ``otr4_error`` and end the catch-up."""
        return await self._inbound.catch_up(page)

    # -- stream events ------------------------------------------------------------------------

    async def start(self, _event: Any = None) -> None:
        """What runs at ``session_start``; call it when loaded into a running session."""
        self._ready.clear()
        self.engine.own_jid = bare_of(self._io.bare)
        try:
            await self.xmpp.plugin["xep_0280"].enable()
        except (IqError, IqTimeout) as exc:
            self._io.error(self._io.domain, f"carbons not enabled: {exc}", exc)
        if not self._life.on_start():  # undelivered plaintexts; renewal; a retired device
            return
        await self._directory.join_or_report("device list not published")
        if self.config.get("prekeys_on_start", True) and self.identity.mode is Mode.STANDALONE:
            await self._prekeys.replenish()
        if self.config.get("catch_up_on_start", True):
            await self.catch_up()
        every = int(self.config.get("timer_seconds") or 0)
        if every > 0:
            self.xmpp.schedule("otr4 timer", every, self.tick, repeat=True)
        self._ready.set()
        self.xmpp.event("otr4_ready", self)

    def _on_disconnected(self, _event: Any) -> None:
        self._ready.clear()
        self._prekeys.forget_services()
        self.xmpp.cancel_schedule("otr4 timer")
        self._directory.forget_presence()
