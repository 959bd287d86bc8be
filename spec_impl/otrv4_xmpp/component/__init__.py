"""The prekey service as an XEP-0114 external component (slixmpp).

:class:`~otrv4_xmpp.component.service.PrekeyComponent` connects to the XMPP
server's component port, answers disco#info and disco#items for its JID and
the prekey IQs of ``urn:xmpp:otr4:prekey:0`` by calling the transport-free
:class:`~otrv4_prekey.server.PrekeyServer` with the requester's bare JID.
Run it with ``python -m otrv4_xmpp.component --help``.
"""

from __future__ import annotations

from .service import PrekeyComponent, build_server, load_or_create_key

__all__ = ["PrekeyComponent", "build_server", "load_or_create_key"]
