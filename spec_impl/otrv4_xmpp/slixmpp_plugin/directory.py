"""The device directory: device lists (binding §Devices), who is online, and who
supports the binding (binding §Discovery).

* the own account's list: join it (:func:`otrv4_xmpp.devices.join`), drawing a
  new instance tag when a new device's tag is taken, leave it, and join again
  when a notification shows this device missing;
* other accounts' lists: fetch them from PEP, follow notifications;
* presence: the online full JIDs of each account, and their disco#info feature.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from lxml import etree
from slixmpp import JID
from slixmpp.exceptions import IqError, IqTimeout
from slixmpp.stanza import Message

from otrv4.errors import OTRError

from .. import devices
from ..engine import bare_of
from ..namespaces import NS_DEVICES, NS_OTR4, NS_PUBSUB
from .device import LocalDevice
from .events import Otr4Devices
from .stanza import to_lxml
from .stanza_io import StanzaIO

__all__ = ["DeviceDirectory"]

log = logging.getLogger(__name__)


class DeviceDirectory:
    """What ``device`` knows of the devices of its own and other accounts.

    ``config`` is the plugin's configuration (``label``, ``replace_earliest``).
    """

    def __init__(self, io: StanzaIO, device: LocalDevice, config: Mapping[str, Any]) -> None:
        self.io = io
        self.device = device
        self.config = config
        self.device_lists: dict[str, devices.DeviceList] = _load_lists(
            device.engine.note(LISTS_NOTE))
        self.online: dict[str, set[str]] = {}
        self.joined = False
        self._features: dict[str, bool] = {}

    # -- device lists -------------------------------------------------------------------------

    async def fetch(self, account: str) -> devices.DeviceList:
        """Read ``account``'s device list from its PEP node (empty when there is none).
        Raises :class:`slixmpp.exceptions.IqTimeout` and the decoding errors of
        :meth:`otrv4_xmpp.devices.DeviceList.from_element` (a malformed list)."""
        account = bare_of(account)
        el = devices.build_items_request(sender=self.io.full, owner=account,
                                         stanza_id=self.io.new_id())
        try:
            result = await self.io.send_iq(el)
        except IqError as exc:
            if exc.condition in ("item-not-found", "service-unavailable"):
                return self._set(account, devices.DeviceList())
            raise
        item = result.find(f"{{{NS_PUBSUB}}}pubsub/{{{NS_PUBSUB}}}items/{{{NS_PUBSUB}}}item")
        payload = None if item is None else item.find(f"{{{NS_DEVICES}}}devices")
        if payload is None:
            return self._set(account, devices.DeviceList())
        wrong = self.io.violations(payload, "devices")
        if wrong:
            raise devices.NotADeviceListError(wrong)
        return self._set(account, devices.DeviceList.from_element(payload))

    async def ensure(self, accounts: Iterable[str],
                     unlisted: Collection[tuple[str, int]] = ()) -> None:
        """Fetch the lists of ``accounts`` not read yet, or read before a device this one
        has a session with joined (so that a device missing from a fresh list is one
        that left it); a list that cannot be read is reported (``otr4_error``) and left
        out.  ``unlisted`` devices never have an entry (otrv4.md-only clients)."""
        engine = self.device.engine
        for account in accounts:
            cached = self.device_lists.get(account)
            stale = cached is not None and any(
                cached.find(tag) is None for tag in engine.tags_with_sessions(account)
                if (account, tag) != (self.io.bare, self.device.instance_tag)
                and (account, tag) not in unlisted)
            if cached is None or stale:
                try:
                    await self.fetch(account)
                except (IqError, IqTimeout, OTRError) as exc:
                    self.io.error(account, f"device list of {account} unreadable: {exc}", exc)

    async def join(self) -> devices.DeviceList:
        """Join the own account's list (read-modify-write) and republish it when it
        changed; a new device whose tag another device of the account lists draws a
        new identity and tag (:meth:`LocalDevice.regenerate`) and tries again.
        Raises :class:`otrv4_xmpp.devices.DeviceLimitError` and IQ errors."""
        own = self.io.bare
        current = await self.fetch(own)
        for _ in range(3):
            ident = self.device.identity
            me = devices.DeviceEntry(ident.instance_tag, devices.DeviceMode.of(ident.mode),
                                     ident.expires, self.config.get("label"))
            try:
                wanted = devices.join(current, me, self.device.clock.now(),
                                      new_device=self.device.new,
                                      replace_earliest=bool(self.config.get("replace_earliest")))
                break
            except devices.InstanceTagCollisionError:
                old = self.device.instance_tag
                self.device.regenerate(own)
                log.warning("instance tag %08x is taken by another device of %s: this "
                            "device now uses %08x", old, own, self.device.instance_tag)
        else:  # pragma: no cover - three collisions of random 32-bit tags
            raise devices.InstanceTagCollisionError("no free instance tag after three draws")
        self.device.new = False
        if wanted != current:
            await self.publish(wanted)
        self.joined = True
        return wanted

    async def join_or_report(self, failure: str) -> None:
        """:meth:`join`, reporting a failure as ``otr4_error`` (``failure: reason``)."""
        try:
            await self.join()
        except (IqError, IqTimeout, OTRError) as exc:
            self.io.error(self.io.bare, f"{failure}: {exc}", exc)

    async def publish(self, device_list: devices.DeviceList) -> None:
        """Publish ``device_list`` as the own account's list, as it is.  Raises
        :class:`~.errors.OutgoingStanzaInvalidError` and IQ errors."""
        el = devices.build_publish(device_list, sender=self.io.full, stanza_id=self.io.new_id())
        self.io.check_outgoing(el)
        await self.io.send_iq(el)
        self._set(self.io.bare, device_list)

    async def leave(self) -> None:
        """Remove this device from its account's list."""
        current = await self.fetch(self.io.bare)
        wanted = devices.leave(current, self.device.instance_tag)
        self.joined = False
        if wanted != current:
            await self.publish(wanted)

    async def on_devices_event(self, msg: Message) -> None:
        """A PEP notification of a device list: cache it; join again when it is the own
        list and this device is missing from it."""
        try:
            owner, dl = devices.parse_event(to_lxml(msg.xml))
            wrong = self.io.violations(dl.to_element(), "devices")
            if wrong:
                raise devices.NotADeviceListError(wrong)
        except (OTRError, etree.LxmlError) as exc:
            self.io.error(str(msg["from"]), f"device-list notification dropped: {exc}", exc)
            return
        owner = bare_of(owner or self.io.bare)
        self._set(owner, dl)
        tag = self.device.instance_tag
        if owner == self.io.bare and self.joined and dl.find(tag) is None:
            log.info("device %08x missing from its own list: joining again", tag)
            await self.join_or_report("could not re-join the device list")

    def _set(self, account: str, dl: devices.DeviceList) -> devices.DeviceList:
        self.device_lists[account] = dl
        # kept in the device store: the lists last seen survive a restart (a notification
        # or a fetch replaces them); losing the newest in a power failure is harmless
        self.device.engine.set_note(LISTS_NOTE, _dump_lists(self.device_lists), sync=False)
        self.io.event("otr4_devices", Otr4Devices(account, dl))
        return dl

    # -- presence and features ----------------------------------------------------------------

    def online_devices(self, account: str) -> list[str]:
        """The full JIDs of ``account`` with available presence, sorted (without ours)."""
        return sorted(j for j in self.online.get(bare_of(account), set()) if j != self.io.full)

    def on_available(self, pres: Any) -> None:
        """Available presence from a full JID: it is online."""
        full = str(pres["from"])
        if "/" in full:
            self.online.setdefault(bare_of(full), set()).add(full)

    def on_unavailable(self, pres: Any) -> None:
        """Unavailable presence: offline, and its features are asked again next time."""
        full = str(pres["from"])
        self.online.get(bare_of(full), set()).discard(full)
        self._features.pop(full, None)

    def forget_presence(self) -> None:
        """The stream is gone: nobody is known to be online."""
        self.online.clear()
        self._features.clear()

    async def supports_otr4(self, full_jid: str) -> bool:
        """Whether ``full_jid`` lists ``urn:xmpp:otr4:0`` in disco#info (cached per presence)."""
        if full_jid not in self._features:
            try:
                info = await self.io.xmpp.plugin["xep_0030"].get_info(
                    jid=JID(full_jid), timeout=10)
                self._features[full_jid] = NS_OTR4 in info["disco_info"]["features"]
            except (IqError, IqTimeout):
                self._features[full_jid] = False
        return self._features[full_jid]

    async def dake_targets(self, peer: str) -> list[str]:
        """The online full JIDs of ``peer`` and of the own account that support the
        binding, for an interactive start (binding §Conversation start policy).

        A full JID whose session is not known yet is left out when every listed
        device of that account already has a session (for instance one started
        non-interactively): the device there is one of them."""
        engine = self.device.engine
        now = self.device.clock.now()
        targets: list[str] = []
        for account in dict.fromkeys((bare_of(peer), self.io.bare)):
            listed = self.device_lists.get(account)
            all_covered = listed is not None and all(
                engine.has_session(account, e.tag)
                for e in devices.active(listed, now) if e.tag != self.device.instance_tag)
            for full in self.online_devices(account):
                if all_covered and engine.at_full_jid(full) is None:
                    continue
                if await self.supports_otr4(full):
                    targets.append(full)
        return targets


#: The device-store note that keeps the device lists last seen, by account.
LISTS_NOTE = "device-lists"


def _dump_lists(lists: Mapping[str, devices.DeviceList]) -> dict[str, list[list[Any]]]:
    return {account: [[e.tag, e.mode.value, e.expires, e.label] for e in dl.entries]
            for account, dl in sorted(lists.items())}


def _load_lists(kept: object) -> dict[str, devices.DeviceList]:
    """The lists kept under :data:`LISTS_NOTE`; a malformed entry is skipped (the list is
    read again from the account's node when needed)."""
    out: dict[str, devices.DeviceList] = {}
    if not isinstance(kept, dict):
        return out
    for account, rows in kept.items():
        try:
            out[str(account)] = devices.DeviceList.of(
                devices.DeviceEntry(int(tag), devices.DeviceMode(mode), int(expires), label)
                for tag, mode, expires, label in rows)
        except (TypeError, ValueError, OTRError) as exc:
            log.info("kept device list of %s ignored: %s", account, exc)
    return out
