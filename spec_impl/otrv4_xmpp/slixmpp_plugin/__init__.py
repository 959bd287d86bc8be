"""The slixmpp plugin ``xep_otr4``: OTRv4 over XMPP for slixmpp clients.

Usage::

    import otrv4_xmpp.slixmpp_plugin  # registers "xep_otr4" with slixmpp
    xmpp = slixmpp.ClientXMPP(jid, password)
    xmpp.register_plugin("xep_otr4", pconfig={"label": "Laptop"})
    otr = xmpp.plugin["xep_otr4"]

See :mod:`.plugin` for the API and events, and ``docs/plugin.rst`` for a how-to.
"""

from __future__ import annotations

from slixmpp.plugins.base import register_plugin

from ..engine import DeviceEngine, DeviceIdentity, NoSessionError, PairSession
from .plugin import (
    XEP_OTR4,
    NoRecipientsError,
    Otr4Devices,
    Otr4Error,
    Otr4Message,
    Otr4Session,
    OutgoingStanzaInvalidError,
    SendReport,
)

__all__ = [
    "XEP_OTR4",
    "DeviceEngine",
    "DeviceIdentity",
    "NoRecipientsError",
    "NoSessionError",
    "Otr4Devices",
    "Otr4Error",
    "Otr4Message",
    "Otr4Session",
    "OutgoingStanzaInvalidError",
    "PairSession",
    "SendReport",
]

register_plugin(XEP_OTR4)
