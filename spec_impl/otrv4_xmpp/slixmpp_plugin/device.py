"""This device, as the plugin's parts share it: identity, engine, randomness and time.

The parts of the plugin (device directory, prekey agent, inbound handling,
delivery) hold the one :class:`LocalDevice` and read its ``identity`` and
``engine`` when they need them, because both are replaced together when a new
device has to draw another instance tag (binding §Devices, instance-tag
collisions).
"""

from __future__ import annotations

from otrv4.clock import Clock
from otrv4.primitives.rng import Rng
from otrv4.session import SessionConfig

from ..engine import DeviceEngine, DeviceIdentity
from ..trust import Trust

__all__ = ["LocalDevice"]


class LocalDevice:
    """One device: its :class:`~otrv4_xmpp.engine.DeviceIdentity` and the
    :class:`~otrv4_xmpp.engine.DeviceEngine` that holds its conversations.

    ``new``: the identity was generated here and never published, so it may
    still be replaced (:meth:`regenerate`).  ``trust``: the device's
    :class:`~otrv4_xmpp.trust.Trust` (kept when the identity is replaced).
    """

    def __init__(self, identity: DeviceIdentity, own_jid: str, *, rng: Rng, clock: Clock,
                 config: SessionConfig | None = None, new: bool = False,
                 trust: Trust | None = None) -> None:
        self.rng = rng
        self.clock = clock
        self.session_config = config
        self.new = new
        self.identity = identity
        self.trust = trust if trust is not None else Trust(clock=clock)
        self.engine = DeviceEngine(identity, own_jid, rng=rng, clock=clock, config=config,
                                   trust=self.trust)

    @property
    def instance_tag(self) -> int:
        """This device's instance tag."""
        return self.identity.instance_tag

    def regenerate(self, own_jid: str) -> None:
        """A new identity and instance tag (same mode) and a new, empty engine, for a
        device that has no conversation yet."""
        self.identity = DeviceIdentity.generate(self.rng, self.clock, mode=self.identity.mode)
        self.engine = DeviceEngine(self.identity, own_jid, rng=self.rng, clock=self.clock,
                                   config=self.session_config, trust=self.trust)
