"""This device, as the plugin's parts share it: identity, engine, randomness and time.

The parts of the plugin (device directory, prekey agent, inbound handling,
delivery) hold the one :class:`LocalDevice` and read its ``identity`` and
``engine`` when they need them, because both are replaced together when a new
device has to draw another instance tag (binding §Devices, instance-tag
collisions).
"""

from __future__ import annotations

from otrv4.clock import Clock
from otrv4.modes import Mode
from otrv4.primitives.rng import Rng
from otrv4.session import SessionConfig

from ..engine import DeviceEngine, DeviceIdentity
from ..state.store import DeviceStore
from ..trust import Trust

__all__ = ["LocalDevice"]


class LocalDevice:
    """One device: its :class:`~otrv4_xmpp.engine.DeviceIdentity` and the
    :class:`~otrv4_xmpp.engine.DeviceEngine` that holds its conversations.

    ``new``: the identity was generated here and never published, so it may
    still be replaced (:meth:`regenerate`).  ``store``: where the engine keeps its
    state (:mod:`otrv4_xmpp.state`); a store that holds a device resumes it (and
    ``identity`` is not used), an empty one gets ``identity``.  ``trust``: the
    device's :class:`~otrv4_xmpp.trust.Trust` (default: decisions kept in ``store``,
    or in memory), kept when the identity is replaced.
    """

    def __init__(self, identity: DeviceIdentity | None, own_jid: str, *, rng: Rng,
                 clock: Clock, config: SessionConfig | None = None, new: bool = False,
                 store: DeviceStore | None = None, mode: Mode = Mode.STANDALONE,
                 trust: Trust | None = None) -> None:
        self.rng = rng
        self.clock = clock
        self.session_config = config
        self.store = store
        resumed = store is not None and store.get("identity") is not None
        self.new = new and not resumed
        if store is not None:
            if identity is None and not resumed:
                identity = DeviceIdentity.generate(rng, clock, mode=mode)
            self.engine = DeviceEngine.open(store, own_jid, rng=rng, clock=clock,
                                            config=config, identity=identity, trust=trust)
        else:
            self.engine = DeviceEngine(identity or DeviceIdentity.generate(rng, clock, mode=mode),
                                       own_jid, rng=rng, clock=clock, config=config,
                                       trust=trust)
        self.trust = self.engine.trust

    @property
    def identity(self) -> DeviceIdentity:
        """This device's identity (the engine's: renewed profiles show here at once)."""
        return self.engine.identity

    @property
    def instance_tag(self) -> int:
        """This device's instance tag."""
        return self.identity.instance_tag

    def regenerate(self, own_jid: str) -> None:
        """A new identity and instance tag (same mode) and a new, empty engine, for a
        device that has no conversation yet."""
        identity = DeviceIdentity.generate(self.rng, self.clock, mode=self.identity.mode)
        self.engine = DeviceEngine(identity, own_jid, rng=self.rng, clock=self.clock,
                                   config=self.session_config, store=self.store,
                                   trust=self.trust)
