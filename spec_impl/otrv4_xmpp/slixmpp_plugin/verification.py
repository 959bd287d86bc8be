"""Trust and verification commands of the ``xep_otr4`` plugin: the Socialist
Millionaires' Protocol with one device (otrv4.md §Socialist Millionaires Protocol),
trust decisions and the device listing (:mod:`otrv4_xmpp.trust`).

:class:`TrustCommands` is mixed into the facade
(:class:`~otrv4_xmpp.slixmpp_plugin.plugin.XEP_OTR4`); it uses the facade's
:class:`~.device.LocalDevice` and :class:`~.delivery.Delivery` and imports neither
the facade nor the other parts.  SMP progress arrives as ``otr4_smp`` events
(:class:`~.events.Otr4Smp`); a success marks the device verified.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from otrv4.clock import Clock

from ..engine import bare_of
from ..state.store import DeviceStore
from ..trust import DeviceInfo, RecordTrustStore, Trust, TrustLevel, TrustPolicy
from .delivery import Delivery
from .device import LocalDevice

__all__ = ["TrustCommands", "make_trust"]


class TrustCommands:
    """SMP, trust decisions and the device listing, for one device."""

    _device: LocalDevice
    _delivery: Delivery

    def smp_start(self, peer: str, tag: int, secret: str, question: str = "") -> None:
        """Start SMP with device ``tag`` of ``peer`` (``question`` optional; an SMP under
        way restarts).  Raises :class:`~otrv4_xmpp.engine.NoSessionError` without an
        encrypted session."""
        self._delivery.deliver(self._device.engine.smp_start(peer, tag, secret, question))

    def smp_answer(self, peer: str, tag: int, secret: str) -> None:
        """Answer the SMP question of device ``tag`` of ``peer``.  Raises
        :class:`~otrv4_xmpp.engine.NoSessionError` without an encrypted session."""
        self._delivery.deliver(self._device.engine.smp_answer(peer, tag, secret))

    def smp_abort(self, peer: str, tag: int) -> None:
        """Abort SMP with device ``tag`` of ``peer``; both sides may start again.
        Raises :class:`~otrv4_xmpp.engine.NoSessionError` without an encrypted session."""
        self._delivery.deliver(self._device.engine.smp_abort(peer, tag))

    def set_trust(self, account: str, tag: int, level: TrustLevel) -> None:
        """Decide the trust in device ``tag`` of ``account`` (for the fingerprint last
        seen); ``VERIFIED`` means the user confirmed the fingerprint.  Raises
        :class:`~otrv4_xmpp.trust.UnknownDeviceError` for a device never seen."""
        self._device.trust.decide(bare_of(account), tag, level)

    def trust_level(self, account: str, tag: int) -> TrustLevel:
        """The trust level of device ``tag`` of ``account``."""
        return self._device.trust.level(bare_of(account), tag)

    def devices(self, account: str | None = None) -> list[DeviceInfo]:
        """This device and every device seen (of ``account`` when given), each with its
        fingerprint (as otrv4.md formats it), trust level and when last seen."""
        return self._device.engine.devices(account)


def make_trust(config: Mapping[str, Any], clock: Clock,
               store: DeviceStore | None = None) -> Trust:
    """The :class:`~otrv4_xmpp.trust.Trust` the plugin's configuration asks for:
    ``trust_store`` (default: records in the device ``store``, or in memory without
    one), ``trust_policy`` (default: blind trust
    before verification, or :attr:`~otrv4_xmpp.trust.TrustPolicy.ASK` when a ``trust``
    callback ``trust(account, tag, fingerprint) -> bool`` is given: it answers for
    undecided devices)."""
    hook = config.get("trust")
    policy = config.get("trust_policy") or (
        TrustPolicy.ASK if hook is not None else TrustPolicy.BLIND_UNTIL_VERIFIED)
    kept = config.get("trust_store") or (RecordTrustStore(store) if store is not None else None)
    return Trust(kept, policy=policy, ask=hook, clock=clock)
