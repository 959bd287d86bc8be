"""The prekey server, transport-free: ``(sender's bare JID, message bytes) -> reply``.

Implements otrv4-prekey-server.md §State Machine, §Key Exchange (the server's
steps), §Publishing Prekey Values, §Retrieving Prekey Ensembles and §Query the
Prekey Server for its Storage Status, plus the service policy this XEP adds
(who may publish, how much, how often one may retrieve).

:meth:`PrekeyServer.handle` takes the binary message and the sender's bare
JID as the transport authenticated it, and either returns a :class:`Reply`
(the protocol message to send back) or raises one of the errors below when
the specification says to send nothing (the XMPP component turns those into
IQ errors, see :mod:`otrv4_xmpp.prekey`):

==========================  =============================================================
message                     answer
==========================  =============================================================
DAKE-1                      DAKE-2; the device (JID, instance tag) enters ``IN_DAKE``
DAKE-3 (in ``IN_DAKE``)     Success, Failure or Storage Status; back to ``NOT_IN_DAKE``
DAKE-3 (``NOT_IN_DAKE``)    :class:`NotInDakeError` (the spec: ignore it)
Ensemble Query              Ensemble Retrieval, or No Prekey Ensembles in Storage
anything else               :class:`UnexpectedMessageError`
==========================  =============================================================

A DAKE-3 whose ring signature fails raises and leaves the device in
``IN_DAKE`` (a genuine DAKE-3 may still follow).  Once DAKE-3 verifies, every
problem with the attached message (it does not decode, its MAC, tags,
profiles or proofs are wrong, the device's storage is full) is answered with
the MAC'd Failure message; :attr:`Reply.failure` then says why.

Exhaustion policy (:data:`DEFAULT_POLICY`): the server keeps at most 500
Prekey messages per device and refuses a publication beyond that (Failure);
a retrieval of an identity with no complete ensemble is answered "No Prekey
Ensembles in Storage" (the spec forbids a reusable last-resort ensemble), and
retrievals are rate limited per requester (60 a minute) because an
unauthenticated retriever can otherwise drain another user's prekeys.

Several instances of one domain's service (decision in the XEP's "Several
Instances"): each instance is a :class:`PrekeyServer` with its own JID over
one shared :class:`~otrv4_prekey.storage.Storage`.  The DAKE states stay in
the memory of the instance that sent DAKE-2 (``phi`` binds a DAKE to that
instance's JID, so no other instance could complete it, and ``SK`` never
reaches the shared database); the rate limit and the stored values live in
the storage, so they hold across instances.
"""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from typing import Final

from otrv4.clock import Clock
from otrv4.errors import OTRError, ValidationError
from otrv4.primitives.rng import Rng

from . import publication as pub
from .dake import ServerDake, ServerIdentity, respond, verify_dake3
from .messages import (
    Dake1,
    Dake3,
    EnsembleQuery,
    NoPrekeyEnsembles,
    PrekeyPublication,
    PrekeyServerMessage,
    PrekeyServerMessageType,
    peek_type,
)
from .retrieval import ProfileCache, answer_from_storage, asks_supported_version, check_query
from .storage import DEFAULT_MAX_STORED_PER_DEVICE, Storage, StoredProfile

__all__ = [
    "CLEANUP_INTERVAL",
    "DEFAULT_POLICY",
    "DakeState",
    "ForeignPublisherError",
    "MessageTooLargeError",
    "NotInDakeError",
    "PrekeyServer",
    "RateLimitedError",
    "Reply",
    "ServerPolicy",
    "UnexpectedMessageError",
]


class NotInDakeError(OTRError):
    """A DAKE-3 from a device that is not in ``IN_DAKE`` with this server (§State Machine)."""


class UnexpectedMessageError(OTRError):
    """A message type a client never sends to the server (e.g. DAKE-2 or Success)."""


class ForeignPublisherError(ValidationError):
    """A DAKE from a JID whose domain this service does not serve (only its users publish)."""


class RateLimitedError(OTRError):
    """Too many retrievals from one requester within a minute."""


class MessageTooLargeError(OTRError):
    """A message longer than the service accepts."""


class DakeState(enum.Enum):
    """§State Machine: the two states, per device (bare JID and instance tag)."""

    IN_DAKE = "IN_DAKE"
    NOT_IN_DAKE = "NOT_IN_DAKE"


@dataclass(frozen=True)
class ServerPolicy:
    """Limits of the service.

    ``publisher_domains``: the domains whose users may publish (``None``: any);
    over XMPP, the domain the component belongs to.  ``max_stored_per_device``:
    Prekey messages kept per device.  ``dake_timeout``: seconds a device may
    stay ``IN_DAKE``.  ``max_pending_dakes``: how many unfinished DAKEs the
    server keeps (the oldest are forgotten first).  ``retrievals_per_minute``:
    per requesting bare JID.  ``max_message_bytes``: the largest message
    accepted (a publication of 255 Prekey messages is about 120 kB).
    """

    publisher_domains: frozenset[str] | None = None
    max_stored_per_device: int = DEFAULT_MAX_STORED_PER_DEVICE
    dake_timeout: int = 120
    max_pending_dakes: int = 10_000
    retrievals_per_minute: int = 60
    max_message_bytes: int = 256 * 1024


DEFAULT_POLICY: Final = ServerPolicy()

#: Seconds between two deletions of expired profiles by :meth:`PrekeyServer.handle`.
CLEANUP_INTERVAL: Final = 3600


@dataclass(frozen=True)
class Reply:
    """What the server sends back; ``failure`` is the reason behind a Failure message."""

    message: PrekeyServerMessage
    failure: OTRError | None = None

    def encode(self) -> bytes:
        """The binary reply."""
        return self.message.encode()


def _domain(jid: str) -> str:
    return jid.partition("@")[2] if "@" in jid else jid


class PrekeyServer:
    """The prekey server's logic for one service identity, over any :class:`Storage`.

    ``rng`` and ``clock`` are injected (DAKE-2 draws from ``rng``; expiry,
    DAKE timeouts and rate limits read ``clock``).  Thread-safe: one lock
    guards the DAKE states (kept in this instance's memory); the storage does
    its own locking and keeps the rate limit.
    """

    def __init__(self, identity: ServerIdentity, storage: Storage, rng: Rng, clock: Clock,
                 policy: ServerPolicy = DEFAULT_POLICY) -> None:
        self.identity = identity
        self.storage = storage
        self.rng = rng
        self.clock = clock
        self.policy = policy
        self._dakes: dict[tuple[str, int], ServerDake] = {}
        self._lock = threading.Lock()
        self._last_cleanup: int | None = None
        self._profiles = ProfileCache()

    def state_of(self, jid: str, instance_tag: int) -> DakeState:
        """The §State Machine state of a device."""
        with self._lock:
            self._expire()
            return DakeState.IN_DAKE if (jid, instance_tag) in self._dakes \
                else DakeState.NOT_IN_DAKE

    def _expire(self) -> None:
        limit = self.clock.now() - self.policy.dake_timeout
        for key in [k for k, s in self._dakes.items() if s.started_at < limit]:
            del self._dakes[key]

    def cleanup(self) -> int:
        """Delete expired profiles from the storage (a device without them is not served);
        :meth:`handle` calls it at most once every :data:`CLEANUP_INTERVAL` seconds.
        Returns how many profiles were deleted."""
        with self._lock:
            self._last_cleanup = self.clock.now()
        return self.storage.delete_expired(self.clock.now())

    def _maybe_cleanup(self) -> None:
        now = self.clock.now()
        with self._lock:
            due = self._last_cleanup is None or now - self._last_cleanup >= CLEANUP_INTERVAL
        if due:
            self.cleanup()

    def handle(self, sender: str, data: bytes) -> Reply:
        """Process one message from ``sender`` (a bare JID) and return the reply.

        Raises :class:`MessageTooLargeError`; the decoding errors of
        :mod:`otrv4_prekey.messages`; :class:`UnexpectedMessageError`;
        for DAKE-1: :class:`ForeignPublisherError` and the errors of
        :func:`otrv4_prekey.dake.respond`; for DAKE-3:
        :class:`NotInDakeError` and the errors of
        :func:`otrv4_prekey.dake.verify_dake3`; for a query:
        :class:`RateLimitedError` and the errors of
        :func:`otrv4_prekey.retrieval.check_query`.  The rate limit and the retrieval
        are one call of :meth:`~otrv4_prekey.storage.Storage.retrieve`.
        """
        if len(data) > self.policy.max_message_bytes:
            raise MessageTooLargeError(
                f"{len(data)} bytes; the limit is {self.policy.max_message_bytes}")
        mtype = peek_type(data)
        self._maybe_cleanup()
        if mtype is PrekeyServerMessageType.DAKE_1:
            return self._dake1(sender, Dake1.decode(data))
        if mtype is PrekeyServerMessageType.DAKE_3:
            return self._dake3(sender, Dake3.decode(data))
        if mtype is PrekeyServerMessageType.ENSEMBLE_QUERY:
            return self._retrieve(sender, EnsembleQuery.decode(data))
        raise UnexpectedMessageError(f"a client does not send a {mtype.spec_name} message")

    def _retrieve(self, sender: str, query: EnsembleQuery) -> Reply:
        query = check_query(query)
        now, limit = self.clock.now(), self.policy.retrievals_per_minute
        if not asks_supported_version(query):  # counted all the same, nothing taken
            if not self.storage.admit_retrieval(sender, now, limit):
                raise RateLimitedError(f"{sender} asked too often")
            return Reply(NoPrekeyEnsembles(query.sender_tag, query.identity))
        stored = self.storage.retrieve(sender, query.identity, now, limit)
        if stored is None:
            raise RateLimitedError(f"{sender} asked too often")
        return Reply(answer_from_storage(query, stored, self._profiles))

    def _dake1(self, sender: str, msg: Dake1) -> Reply:
        domains = self.policy.publisher_domains
        if domains is not None and _domain(sender) not in domains:
            raise ForeignPublisherError(f"{sender} is not a user of {sorted(domains)}")
        state, dake2 = respond(self.identity, sender, msg, self.rng, self.clock)
        with self._lock:
            self._expire()
            self._dakes.pop((sender, msg.sender_tag), None)
            while len(self._dakes) >= self.policy.max_pending_dakes:
                del self._dakes[next(iter(self._dakes))]
            self._dakes[(sender, msg.sender_tag)] = state
        return Reply(dake2)

    def _dake3(self, sender: str, msg: Dake3) -> Reply:
        key = (sender, msg.sender_tag)
        with self._lock:
            self._expire()
            state = self._dakes.get(key)
        if state is None:
            raise NotInDakeError(f"{sender}/{msg.sender_tag:#010x} has not started a DAKE")
        session = verify_dake3(self.identity, state, msg)
        with self._lock:  # exactly one verified DAKE-3 ends this DAKE (a racing replay loses)
            if self._dakes.get(key) is not state:
                raise NotInDakeError(f"{sender}/{msg.sender_tag:#010x}: the DAKE already ended")
            del self._dakes[key]
        mac_k = session.prekey_mac_k
        tag = session.sender_tag
        try:
            inner = msg.decode_inner()
            if isinstance(inner, PrekeyPublication):
                pub.verify_publication(inner, session.sk, session.client_profile, tag, self.clock)
                self._store(sender, tag, inner)
                return Reply(pub.success(mac_k, tag))
            pub.verify_storage_request(inner, mac_k)
            return Reply(pub.storage_status(mac_k, tag, self.storage.count(sender, tag)))
        except OTRError as exc:
            return Reply(pub.failure(mac_k, tag), exc)

    def _store(self, sender: str, tag: int, publication: PrekeyPublication) -> None:
        cp, pp = publication.client_profile, publication.prekey_profile
        self.storage.publish(
            sender, tag,
            client_profile=None if cp is None else StoredProfile(cp.encode(), cp.expiration),
            prekey_profile=None if pp is None else StoredProfile(pp.encode(), pp.expiration),
            prekey_messages=[(m.identifier, m.encode()) for m in publication.prekey_messages],
            max_stored=self.policy.max_stored_per_device,
        )
