"""The prekey service as an XEP-0114 external component (slixmpp).

:class:`~otrv4_xmpp.component.service.PrekeyComponent` connects to the XMPP
server's component port, answers disco#info and disco#items for its JID and
the prekey IQs of ``urn:xmpp:otr4:prekey:0`` by calling the transport-free
:class:`~otrv4_prekey.server.PrekeyServer` with the requester's bare JID.
:func:`~otrv4_xmpp.component.runner.run` keeps it connected (reconnection with
backoff, refusal, graceful shutdown), :mod:`~otrv4_xmpp.component.config`
reads its TOML configuration and :mod:`~otrv4_xmpp.component.keyfile` its
long-term key.  Run it with ``python -m otrv4_xmpp.component --help``.
"""

from __future__ import annotations

from .config import ComponentConfig, load_config
from .errors import ComponentError, ComponentRefusedError, ConfigError, KeyFileError
from .keyfile import load_or_create_key
from .runner import Backoff, run
from .service import PrekeyComponent, build_server, open_storage

__all__ = ["Backoff", "ComponentConfig", "ComponentError", "ComponentRefusedError",
           "ConfigError", "KeyFileError", "PrekeyComponent", "build_server", "load_config",
           "load_or_create_key", "open_storage", "run"]
