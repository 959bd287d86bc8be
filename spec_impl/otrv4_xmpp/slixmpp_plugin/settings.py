"""The settings of the ``xep_otr4`` plugin and their defaults.

Give them when registering the plugin:
``xmpp.register_plugin('xep_otr4', pconfig={'store': 'juliet.sqlite', ...})``.

Device and randomness
    ``rng``, ``clock``: where randomness and time come from (default: the system's).
    ``identity``: a :class:`~otrv4_xmpp.engine.DeviceIdentity` (default: generated, and
    replaced when its instance tag is taken). ``mode``: the
    :class:`otrv4.modes.Mode` of a generated identity. ``label``: the device's label
    in its device list. ``store``: a :class:`~otrv4_xmpp.state.store.DeviceStore` or
    the path of an :class:`~otrv4_xmpp.state.sqlite.SQLiteStore` (default: nothing is
    kept across restarts). ``session_config``: a :class:`otrv4.session.SessionConfig`.
Validation
    ``validator``: a :class:`~otrv4_xmpp.validation.StanzaValidator` (default: this
    binding's schemas, and the XSF's when found).
Sending
    ``policy``: the :class:`~otrv4_xmpp.policy.InstanceTagPolicy` (default SYNCHRONIZE).
    ``offline_start``: start non-interactive DAKEs when sending (default on).
    ``dake_timeout``: seconds ``start_sessions`` waits for DAKEs (15).
Devices and archive
    ``replace_earliest``: at the device limit, replace the entry that expires first
    instead of refusing to join. ``catch_up_on_start``: read the archive at start.
    ``archive_after``: where the catch-up resumes (default: the position kept in the
    store). ``timer_seconds``: how often ``tick`` runs (30; 0: never).
Prekeys
    ``prekey_service``: the own domain's service (default: found by service
    discovery). ``prekeys_on_start``, ``prekey_target``, ``prekey_low_water``: the
    replenishment policy.
Trust
    ``trust``, ``trust_policy``, ``trust_store``: see
    :func:`otrv4_xmpp.slixmpp_plugin.verification.make_trust`; the SMP and trust
    calls are :class:`otrv4_xmpp.slixmpp_plugin.verification.TrustCommands`.
"""

from __future__ import annotations

from typing import Any

from otrv4.modes import Mode
from otrv4_prekey import client as pc

from .. import policy

__all__ = ["DEFAULT_CONFIG"]

#: Every setting with its default.
DEFAULT_CONFIG: dict[str, Any] = {
    "rng": None, "clock": None, "identity": None, "mode": Mode.STANDALONE,
    "label": None, "validator": None, "dake_timeout": 15.0, "catch_up_on_start": True,
    "replace_earliest": False, "policy": policy.InstanceTagPolicy.SYNCHRONIZE,
    "session_config": None, "timer_seconds": 30, "prekey_service": None,
    "prekeys_on_start": True, "prekey_target": pc.REFILL_TARGET,
    "prekey_low_water": pc.LOW_WATER_MARK, "offline_start": True, "trust": None,
    "trust_policy": None, "trust_store": None, "archive_after": None, "store": None,
}
