"""The prekey agent: this device's side of the prekey service (otrv4-prekey-server.md
over the binding's XMPP transport, :mod:`otrv4_xmpp.prekey`).

Finds a domain's service (binding §Discovery), publishes and replenishes this
device's Prekey messages and profiles, fetches other accounts' Prekey
Ensembles, and starts non-interactive DAKEs from them for the devices a
:class:`~otrv4_xmpp.send_plan.SendPlan` reaches offline.

A domain may run several instances of its service (binding §Several Instances of
the Service).  Every exchange runs on one instance; when that instance does not
answer (a timeout, or an IQ error such as ``<remote-server-timeout/>`` or
``<service-unavailable/>`` without a prekey condition), the agent starts again
from DAKE-1 (or asks again) at the next instance, and a publication whose
answer was lost is never sent again: its secrets stay kept and new Prekey
messages are drawn.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from slixmpp import JID
from slixmpp.exceptions import IqError, IqTimeout

from otrv4.encoding import MessageType
from otrv4.errors import OTRError
from otrv4.modes import Mode
from otrv4.session import UserMessage
from otrv4_prekey import client as pc
from otrv4_prekey.dake import PublisherIdentity
from otrv4_prekey.messages import Success
from otrv4_prekey.retrieval import Ensembles, Exhausted, read_answer

from .. import carriage, devices
from .. import prekey as prekey_iq
from ..discovery import parse_disco_info_result
from ..engine import bare_of
from ..send_plan import OfflineStart, Recipient, SendPlan
from ..trust import UntrustedDeviceError
from .device import LocalDevice
from .errors import NoPrekeyServiceError, PublicationRefusedError
from .stanza import to_lxml
from .stanza_io import StanzaIO

__all__ = ["InstanceUnavailableError", "PrekeyAgent"]

log = logging.getLogger(__name__)

_T = TypeVar("_T")

#: The device-store notes that pin each domain's prekey-service fingerprint.
PIN_NOTE = "prekey-fingerprint"

#: Stanza error conditions that mean "this instance is not there": try another.
UNAVAILABLE_CONDITIONS = frozenset({"remote-server-timeout", "remote-server-not-found",
                                    "service-unavailable", "recipient-unavailable"})


class InstanceUnavailableError(OTRError):
    """One instance of a prekey service did not answer (timeout or an unavailable
    condition without a prekey condition); another instance may."""


class PrekeyAgent:
    """The prekey-service client of ``device``.  ``config`` is the plugin's
    configuration (``prekey_service``, ``prekey_target``, ``prekey_low_water``)."""

    def __init__(self, io: StanzaIO, device: LocalDevice, config: Mapping[str, Any]) -> None:
        self.io = io
        self.device = device
        self.config = config
        self._services: dict[str, list[tuple[str, bytes]]] = {}
        self._profiles_published = False

    async def republish(self) -> None:
        """The profiles were renewed: publish them (with Prekey messages if needed) as
        :meth:`replenish` does; nothing in interactive-only mode."""
        self._profiles_published = False
        if self.device.identity.mode is Mode.STANDALONE:
            await self.replenish()

    def forget_services(self) -> None:
        """The stream is gone: find the services again next time."""
        self._services.clear()

    async def find_service(self, domain: str | None = None) -> tuple[str, bytes]:
        """The first instance of :meth:`find_services`.  Raises
        :class:`~.errors.NoPrekeyServiceError`."""
        return (await self.find_services(domain))[0]

    async def on_service(self, domain: str | None,
                         op: Callable[[str, bytes], Awaitable[_T]]) -> _T:
        """Run ``op(service JID, fingerprint)`` on an instance of ``domain``'s prekey
        service (default: our own), trying the next instance when one is unavailable
        (binding §Several Instances of the Service).  Raises
        :class:`~.errors.NoPrekeyServiceError` when no instance answers, and what
        ``op`` raises otherwise."""
        domain = (domain or self.io.domain).lower()
        instances = list(await self.find_services(domain))
        failures: list[str] = []
        for jid, fingerprint in instances:
            try:
                return await op(jid, fingerprint)
            except (IqTimeout, InstanceUnavailableError) as exc:
                failures.append(f"{jid}: {exc or 'timeout'}")
                log.info("prekey service instance %s unavailable (%s); trying another",
                         jid, exc or "timeout")
                # the instance that failed goes last for the next exchanges
                known = self._services.get(domain, [])
                if (jid, fingerprint) in known:
                    known.remove((jid, fingerprint))
                    known.append((jid, fingerprint))
        raise NoPrekeyServiceError(f"no instance of {domain}'s prekey service answered: "
                                   + "; ".join(failures))

    async def find_services(self, domain: str | None = None) -> list[tuple[str, bytes]]:
        """Every instance of the prekey service of ``domain`` (default: our own) with
        the fingerprint it publishes (otrv4-prekey-server.md §Discovering a Prekey
        Server): disco#items of the domain, disco#info of each item (identity
        ``auth``/``otr-prekey``), disco#items of the service (the ``fingerprint``
        item).  Raises :class:`~.errors.NoPrekeyServiceError`."""
        domain = (domain or self.io.domain).lower()
        if self._services.get(domain):
            return self._services[domain]
        disco = self.io.xmpp.plugin["xep_0030"]
        configured = self.config.get("prekey_service")
        candidates: list[str] = []
        if configured and domain == self.io.domain:
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
            if not self._pinned(domain, jid, fingerprint):
                continue
            self._services.setdefault(domain, []).append((jid, fingerprint))
        if not self._services.get(domain):
            raise NoPrekeyServiceError(f"{domain} has no prekey service")
        return self._services[domain]

    def _pinned(self, domain: str, jid: str, fingerprint: bytes) -> bool:
        """Trust on first use of a domain's prekey-service fingerprint, kept in the device
        store (every instance of one domain has the same key: binding §Several Instances
        of the Service).  A different fingerprint later is reported and that instance is
        not used until :meth:`forget_pinned` is called."""
        engine = self.device.engine
        name = f"{PIN_NOTE}/{domain}"
        pinned = engine.note(name)
        if pinned is None:
            engine.set_note(name, fingerprint.hex())
            return True
        if pinned == fingerprint.hex():
            return True
        self.io.error(jid, f"the prekey service {jid} announces fingerprint "
                           f"{fingerprint.hex()[:16]}…, not the one pinned for {domain} "
                           f"({str(pinned)[:16]}…): not used (forget_pinned_prekey_service "
                           "accepts the new key)")
        return False

    def forget_pinned(self, domain: str) -> None:
        """Accept a new key for ``domain``'s prekey service at the next discovery."""
        domain = domain.lower()
        self.device.engine.set_note(f"{PIN_NOTE}/{domain}", None)
        self._services.pop(domain, None)

    async def _exchange(self, service: str, message: bytes) -> bytes:
        el = prekey_iq.build_prekey_iq(sender=None, to=service, stanza_id=self.io.new_id(),
                                       message=message)
        try:
            result = await self.io.send_iq(el)
        except IqError as exc:
            raise _iq_failure(exc) from None
        return prekey_iq.parse_prekey_iq(result).message

    def _publisher(self, service: str, fingerprint: bytes) -> pc.PublisherClient:
        ident = self.device.identity
        return pc.PublisherClient(
            PublisherIdentity(self.io.bare, ident.instance_tag, ident.keypair,
                              ident.client_profile), service, self.device.rng, fingerprint)

    async def status(self) -> int:
        """How many of this device's Prekey messages the own service holds
        (otrv4-prekey-server.md §Query the Prekey Server for its Storage Status).
        Raises :class:`~.errors.NoPrekeyServiceError`,
        :class:`~.errors.PublicationRefusedError` and the errors of the
        prekey-server client."""
        async def ask(service: str, fingerprint: bytes) -> object:
            client = self._publisher(service, fingerprint)
            dake2 = await self._exchange(service, client.start())
            return client.finish(await self._exchange(service, client.request_status(dake2)))

        reply = await self.on_service(None, ask)
        stored = getattr(reply, "stored", None)
        if stored is None:
            raise PublicationRefusedError("the service did not answer with a storage status")
        return int(stored)

    async def publish(self, count: int | None = None) -> int:
        """Publish ``count`` Prekey messages (and the Client and Prekey Profiles) to the
        own service (otrv4-prekey-server.md §Publishing Prekey Values); ``None``
        applies the replenishment policy.  The secrets join the engine's local
        prekeys once the service confirmed.  Returns how many were published.
        Raises :class:`~.errors.NoPrekeyServiceError`,
        :class:`~.errors.PublicationRefusedError`,
        :class:`otrv4_xmpp.prekey.PrekeyIqError` and the errors of the prekey-server
        client."""
        await self.find_service()
        if count is None:
            stored = await self.status()
            count = min(pc.prekeys_to_publish(
                stored, low=int(self.config.get("prekey_low_water", pc.LOW_WATER_MARK)),
                target=int(self.config.get("prekey_target", pc.REFILL_TARGET))),
                pc.MAX_PREKEYS_PER_PUBLICATION)
            if count == 0 and self._profiles_published:
                return 0
        ident = self.device.identity
        published: list[Any] = []

        async def send(service: str, fingerprint: bytes) -> object:
            # the secrets are kept (committed to the store) before the service can serve
            # them; after a lost answer they stay kept and new ones are drawn (never
            # publish the same Prekey message twice)
            new = list(self.device.engine.new_prekeys(count))
            published[:] = new
            client = self._publisher(service, fingerprint)
            dake2 = await self._exchange(service, client.start())
            request = client.publish(dake2, list(new), client_profile=ident.client_profile,
                                     prekey_profile=ident.shared())
            return client.finish(await self._exchange(service, request))

        reply = await self.on_service(None, send)
        new = published
        if not isinstance(reply, Success):
            raise PublicationRefusedError("the service did not confirm the publication")
        self.device.engine.prekeys_published(new)
        self._profiles_published = True
        return len(new)

    async def replenish(self) -> None:
        """:meth:`publish` with the replenishment policy, as at session start: a domain
        without a prekey service is logged (offline conversations cannot start with
        this device), other failures are reported (``otr4_error``)."""
        try:
            await self.publish()
        except NoPrekeyServiceError:
            log.info("no prekey service on %s: offline conversations cannot start "
                     "with this device", self.io.domain)
        except (IqError, IqTimeout, OTRError) as exc:
            self.io.error(self.io.domain, f"prekeys not published: {exc}", exc)

    async def fetch_ensembles(self, account: str) -> Ensembles | Exhausted:
        """Ask ``account``'s prekey service for its devices' Prekey Ensembles
        (otrv4-prekey-server.md §Retrieving Prekey Ensembles); each answer consumes
        one Prekey message per device.  Raises :class:`~.errors.NoPrekeyServiceError`
        and the validation errors of :func:`otrv4_prekey.retrieval.read_answer`."""
        account = bare_of(account)
        tag = self.device.instance_tag

        async def ask(service: str, _fingerprint: bytes) -> bytes:
            return await self._exchange(service, pc.query(tag, account))

        answer = await self.on_service(account.partition("@")[2] or account, ask)
        return read_answer(answer, tag, account, self.device.clock)

    async def start_offline(self, plan: SendPlan, text: str | UserMessage,
                            device_lists: Mapping[str, devices.DeviceList]
                            ) -> tuple[list[OfflineStart], list[Recipient]]:
        """Non-interactive DAKEs (§Sending a Data Message to an offline participant) with
        the devices of ``plan.prekey`` that have an ensemble on their account's prekey
        service, the first data message carrying ``text``.  The engine asks the trust
        setting about the device each ensemble describes: the refused devices are
        returned second.  Failures are reported (``otr4_error``) and leave the
        device out."""
        out: list[OfflineStart] = []
        refused: list[Recipient] = []
        for account, tags in plan.prekey_accounts().items():
            try:
                answer = await self.fetch_ensembles(account)
            except NoPrekeyServiceError:
                continue
            except (IqError, IqTimeout, OTRError) as exc:
                self.io.error(account, f"prekey ensembles of {account} unavailable: {exc}", exc)
                continue
            dl = device_lists.get(account) or devices.DeviceList()
            usable = pc.offline_start_plan(
                answer, known_devices=tags,
                interactive_only=[e.tag for e in dl.entries
                                  if e.mode is devices.DeviceMode.INTERACTIVE_ONLY])
            if usable.wait_for_online:
                log.info("%s: no usable prekey ensemble for %s: waiting until online",
                         account, ", ".join(f"{t:08x}" for t in usable.wait_for_online))
            for tag in tags:
                ensemble = usable.non_interactive.get(tag)
                if ensemble is None:
                    continue
                try:
                    step = self.device.engine.send_offline(account, ensemble, text)
                except UntrustedDeviceError as exc:
                    log.info("%s", exc)
                    refused.append((account, tag))
                    continue
                except OTRError as exc:
                    self.io.error(account, f"non-interactive DAKE with {tag:08x} failed: {exc}",
                                  exc)
                    continue
                kinds = [carriage.OtrPayload(0, p).message_type for p in step.payloads]
                if kinds[:2] != [MessageType.NON_INTERACTIVE_AUTH, MessageType.DATA]:
                    self.io.error(account, f"non-interactive DAKE with {tag:08x} refused: "
                                  + "; ".join(n.detail for n in step.notices))
                    continue
                out.append(OfflineStart((account, tag), step.payloads[0], step.payloads[1]))
        return out, refused


def _iq_failure(exc: IqError) -> OTRError:
    """What an IQ error from a prekey service means: the service's own answer
    (:class:`otrv4_xmpp.prekey.PrekeyIqError`), or an instance that is not there
    (:class:`InstanceUnavailableError`)."""
    error = prekey_iq.parse_prekey_error(to_lxml(exc.iq.xml))
    if error.condition is None and error.stanza_condition in UNAVAILABLE_CONDITIONS:
        return InstanceUnavailableError(str(error))
    return error
