"""The OTRv4 prekey-server protocol (otrv4-prekey-server.md), transport-free, with its storage.

Modules, one concept each:

* :mod:`~prekey_server.messages` — every message as a frozen dataclass (``encode``,
  ``decode``), the ``base64 || "."`` text encoding;
* :mod:`~prekey_server.dake` — the DAKE between a publisher and the server, the
  composite identity, ``phi``, the server's fingerprint;
* :mod:`~prekey_server.proofs` — the batch Schnorr proofs for ``D``, ``Y_i``, ``B_i``;
* :mod:`~prekey_server.publication` — the Prekey MAC and the MAC'd answers, building and
  checking a publication;
* :mod:`~prekey_server.retrieval` — the server's answer to a query and the retriever's checks;
* :mod:`~prekey_server.storage` — the :class:`~prekey_server.storage.Storage` interface,
  :class:`~prekey_server.storage.SqliteStorage` (default) and
  :class:`~prekey_server.storage.InMemoryStorage`;
* :mod:`~prekey_server.server` — :class:`~prekey_server.server.PrekeyServer`: bytes in,
  reply out, per sender's bare JID, with the state machine and the service policy;
* :mod:`~prekey_server.client` — the publisher's state machine, whole flows over any
  transport, the replenishment policy and the exhaustion fallback.

The XMPP transport (IQs of ``urn:xmpp:otr4:prekey:0``, discovery, the XEP-0114
component) is in :mod:`otrv4_xmpp.prekey` and :mod:`otrv4_xmpp.component`.
"""
