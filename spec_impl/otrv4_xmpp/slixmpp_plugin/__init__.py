"""The slixmpp plugin ``xep_otr4``: OTRv4 over XMPP for slixmpp clients.

Usage::

    import otrv4_xmpp.slixmpp_plugin  # registers "xep_otr4" with slixmpp
    xmpp = slixmpp.ClientXMPP(jid, password)
    xmpp.register_plugin("xep_otr4", pconfig={"label": "Laptop"})
    otr = xmpp.plugin["xep_otr4"]

See :mod:`.plugin` for the API, :mod:`.events` for the events, and
``docs/plugin.rst`` for a how-to.

The plugin's parts, each over the stanza I/O (:mod:`.stanza_io`), this device
(:mod:`.device`), the events (:mod:`.events`) and errors (:mod:`.errors`), and
none importing another or the facade (:class:`.plugin.XEP_OTR4`, which composes
them):

* :mod:`.directory`: device lists (PEP), presence and features (binding
  §Devices, §Discovery);
* :mod:`.prekey_agent`: the prekey service: find, publish, replenish, fetch
  ensembles, offline starts;
* :mod:`.inbound`: live, carbon, offline and archived stanzas and OTR text
  bodies, admitted by :mod:`otrv4_xmpp.admission`; duplicates, the archive
  cursor, fragment reassembly;
* :mod:`.lifecycle`: the store setting, plaintexts a previous process did not
  hand over, profile renewal and retirement;
* :mod:`.delivery` (used by the facade and by inbound handling): what the engine
  produced goes out and the events are raised; messages follow a plan of
  :func:`otrv4_xmpp.send_plan.plan_send`.
"""

from __future__ import annotations

from slixmpp.plugins.base import register_plugin

from ..engine import DeviceEngine, DeviceIdentity, NoSessionError, PairSession
from .errors import NoRecipientsError, OutgoingStanzaInvalidError
from .events import Otr4Devices, Otr4Error, Otr4Message, Otr4Session, SendReport
from .plugin import XEP_OTR4

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
