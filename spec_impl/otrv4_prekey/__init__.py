"""The OTRv4 prekey-server protocol (otrv4-prekey-server.md), transport-free, with its storage.

Modules, one concept each:

* :mod:`~otrv4_prekey.messages` — every message as a frozen dataclass (``encode``,
  ``decode``), the ``base64 || "."`` text encoding;
* :mod:`~otrv4_prekey.dake` — the DAKE between a publisher and the server, the
  composite identity, ``phi``, the server's fingerprint;
* :mod:`~otrv4_prekey.proofs` — the batch Schnorr proofs for ``D``, ``Y_i``, ``B_i``;
* :mod:`~otrv4_prekey.publication` — the Prekey MAC and the MAC'd answers, building and
  checking a publication;
* :mod:`~otrv4_prekey.retrieval` — the server's answer to a query and the retriever's checks;
* :mod:`~otrv4_prekey.storage` — the :class:`~otrv4_prekey.storage.Storage` interface,
  :class:`~otrv4_prekey.storage.SqliteStorage` (default) and
  :class:`~otrv4_prekey.storage.InMemoryStorage`;
* :mod:`~otrv4_prekey.server` — :class:`~otrv4_prekey.server.PrekeyServer`: bytes in,
  reply out, per sender's bare JID, with the state machine and the service policy;
* :mod:`~otrv4_prekey.client` — the publisher's state machine, whole flows over any
  transport, the replenishment policy and the exhaustion fallback.

The XMPP transport (IQs of ``urn:xmpp:otr4:prekey:0``, discovery, the XEP-0114
component) is in :mod:`otrv4_xmpp.prekey` and :mod:`otrv4_xmpp.component`.
"""
