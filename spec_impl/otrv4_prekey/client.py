"""The client side of the prekey-server protocol: publish, ask for the status, retrieve.

Implements otrv4-prekey-server.md §Key Exchange (Alice's steps), §State
Machine (the client's two states), §Publishing Prekey Values, §Query the
Prekey Server for its Storage Status and §Retrieving Prekey Ensembles, and
the replenishment policy this XEP adds.

:class:`PublisherClient` is a small state machine per device and service:
:meth:`~PublisherClient.start` (DAKE-1, ``IN_DAKE``), then
:meth:`~PublisherClient.publish` or :meth:`~PublisherClient.request_status`
on the DAKE-2 (DAKE-3, ``NOT_IN_DAKE``), then :meth:`~PublisherClient.finish`
on the server's answer, whose MAC it checks.  Nothing here sends anything:
the functions taking an ``exchange`` (a callable that sends one message and
returns the answer) run whole flows over any transport.

Replenishment policy (:func:`prekeys_to_publish`): a device asks for its
storage status when it comes online; when fewer than
:data:`LOW_WATER_MARK` (20) Prekey messages remain it publishes enough to
have :data:`REFILL_TARGET` (100) again, at most
:data:`MAX_PREKEYS_PER_PUBLICATION` (100) per publication.  These are
libotr-ng's numbers (its issue #129); 100 Prekey messages make a publication
of about 46 kB, 62 kB in base64, which keeps the IQ under the binding's
64 KiB stanza size rule, and 20 left leaves room for a burst of offline
conversation starts between two logins.

Retrieval: :func:`fetch_ensembles` returns
:class:`~otrv4_prekey.retrieval.Ensembles` (one validated ensemble per
device) or :class:`~otrv4_prekey.retrieval.Exhausted`.  On ``Exhausted`` (or
for a device whose ensemble is missing from the answer) the sender does not
start a non-interactive DAKE: it keeps the message, tells the user that it
will be sent when the peer's device is online, and starts an interactive
DAKE then (:func:`offline_start_plan`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from typing import Final

from otrv4.clock import Clock
from otrv4.errors import OTRError
from otrv4.prekeys import LocalPrekeys, PrekeyEnsemble, PrekeySecret, generate_prekey_message
from otrv4.primitives.rng import Rng
from otrv4.profiles import ClientProfile

from .dake import PublisherDake, PublisherIdentity, PublisherSession, receive_dake2, start
from .messages import (
    EnsembleQuery,
    Failure,
    PrekeyServerMessageType,
    StorageStatus,
    Success,
    WrongPrekeyServerMessageTypeError,
    peek_type,
)
from .publication import SharedPrekey, build_publication, build_storage_request, verify_reply_mac
from .retrieval import Ensembles, Exhausted, read_answer
from .server import DakeState

__all__ = [
    "LOW_WATER_MARK",
    "MAX_PREKEYS_PER_PUBLICATION",
    "REFILL_TARGET",
    "ClientNotInDakeError",
    "Exchange",
    "OfflineStartPlan",
    "PublicationFailedError",
    "PublisherClient",
    "fetch_ensembles",
    "offline_start_plan",
    "prekeys_to_publish",
    "publish",
    "query",
    "replenish",
    "storage_status",
]

#: Publish more when fewer than this many Prekey messages remain on the server.
LOW_WATER_MARK: Final = 20
#: How many Prekey messages a device keeps on the server after replenishing.
REFILL_TARGET: Final = 100
#: The most Prekey messages a client puts in one publication.
MAX_PREKEYS_PER_PUBLICATION: Final = 100

Exchange = Callable[[bytes], bytes]
"""Send one prekey-server message to the service and return its answer."""


class PublicationFailedError(OTRError):
    """The server answered a publication or status request with a (valid) Failure message."""


class ClientNotInDakeError(OTRError):
    """A DAKE-2 or a reply arrived while the client is not waiting for one (§State Machine)."""


def prekeys_to_publish(stored: int, *, low: int = LOW_WATER_MARK,
                       target: int = REFILL_TARGET) -> int:
    """How many Prekey messages to publish when the server holds ``stored`` of ours."""
    return max(0, target - stored) if stored < low else 0


class PublisherClient:
    """One device's DAKE with one prekey service (§State Machine, client side).

    Failed steps raise and leave the state as it was.
    """

    def __init__(self, publisher: PublisherIdentity, server_jid: str, rng: Rng,
                 expected_fingerprint: bytes | None = None) -> None:
        self.publisher = publisher
        self.server_jid = server_jid
        self.rng = rng
        self.expected_fingerprint = expected_fingerprint
        self._dake: PublisherDake | None = None
        self._session: PublisherSession | None = None

    @property
    def state(self) -> DakeState:
        """``IN_DAKE`` between DAKE-1 and DAKE-3, ``NOT_IN_DAKE`` otherwise."""
        return DakeState.IN_DAKE if self._dake is not None else DakeState.NOT_IN_DAKE

    @property
    def pending_dake(self) -> PublisherDake | None:
        """The DAKE-1 state while ``IN_DAKE`` (immutable; for checking a DAKE-2 elsewhere)."""
        return self._dake

    @property
    def session(self) -> PublisherSession | None:
        """The session between DAKE-3 and the server's answer (holds ``prekey_mac_k``)."""
        return self._session

    def start(self) -> bytes:
        """Starting the DAKE: a fresh DAKE-1 (any DAKE in progress is abandoned)."""
        self._dake = start(self.publisher, self.server_jid, self.rng, self.expected_fingerprint)
        self._session = None
        return self._dake.dake1.encode()

    def _session_for(self, dake2: bytes) -> PublisherSession:
        if self._dake is None:
            raise ClientNotInDakeError("no DAKE-1 was sent")
        return receive_dake2(self._dake, dake2)

    def publish(self, dake2: bytes, prekeys: Sequence[PrekeySecret], *,
                client_profile: ClientProfile | None = None,
                prekey_profile: SharedPrekey | None = None) -> bytes:
        """Receiving DAKE-2: check it and answer DAKE-3 with a Prekey Publication.

        Raises :class:`ClientNotInDakeError` and the errors of
        :func:`otrv4_prekey.dake.receive_dake2`.
        """
        session = self._session_for(dake2)
        inner = build_publication(session.sk, prekeys, self.rng, client_profile=client_profile,
                                  prekey_profile=prekey_profile)
        dake3 = session.dake3(inner.encode(), self.rng)
        self._dake, self._session = None, session
        return dake3.encode()

    def request_status(self, dake2: bytes) -> bytes:
        """Receiving DAKE-2: check it and answer DAKE-3 with a Storage Information Request.

        Raises what :meth:`publish` raises.
        """
        session = self._session_for(dake2)
        dake3 = session.dake3(build_storage_request(session.prekey_mac_k).encode(), self.rng)
        self._dake, self._session = None, session
        return dake3.encode()

    def finish(self, data: bytes) -> StorageStatus | Success:
        """The server's answer to DAKE-3 (§Key Exchange, Alice's last step).

        Returns the Storage Status or Success message once its MAC verifies.
        Raises :class:`PublicationFailedError` for a verified Failure message,
        :class:`~otrv4_prekey.publication.ReplyMacMismatchError` for a MAC
        that does not verify (ignore that message),
        :class:`~otrv4_prekey.messages.WrongPrekeyServerMessageTypeError` for
        another type, :class:`ClientNotInDakeError` without a DAKE-3 sent, and
        the decoding errors.  ``prekey_mac_k`` is forgotten after a verified answer.
        """
        if self._session is None:
            raise ClientNotInDakeError("no DAKE-3 was sent")
        mtype = peek_type(data)
        reply: StorageStatus | Success | Failure
        if mtype is PrekeyServerMessageType.STORAGE_STATUS:
            reply = StorageStatus.decode(data)
        elif mtype is PrekeyServerMessageType.SUCCESS:
            reply = Success.decode(data)
        elif mtype is PrekeyServerMessageType.FAILURE:
            reply = Failure.decode(data)
        else:
            raise WrongPrekeyServerMessageTypeError(
                f"DAKE-3 is answered by Success, Failure or Storage Status, not {mtype.spec_name}")
        verify_reply_mac(self._session.prekey_mac_k, reply)
        self._session = None
        if isinstance(reply, Failure):
            raise PublicationFailedError("the prekey server refused the request")
        return reply


# --------------------------------------------------------------------------- flows


def publish(client: PublisherClient, exchange: Exchange, prekeys: Sequence[PrekeySecret], *,
            client_profile: ClientProfile | None = None,
            prekey_profile: SharedPrekey | None = None) -> Success:
    """One whole publication: DAKE-1, DAKE-3 with the publication, the Success message.

    Raises what the :class:`PublisherClient` steps raise, and
    :class:`~otrv4_prekey.messages.WrongPrekeyServerMessageTypeError` if a
    Storage Status comes back.
    """
    dake2 = exchange(client.start())
    reply = client.finish(exchange(client.publish(dake2, prekeys, client_profile=client_profile,
                                                  prekey_profile=prekey_profile)))
    if not isinstance(reply, Success):
        raise WrongPrekeyServerMessageTypeError("a publication is answered by Success")
    return reply


def storage_status(client: PublisherClient, exchange: Exchange) -> int:
    """How many of our Prekey messages the server holds (§Query the Prekey Server…)."""
    dake2 = exchange(client.start())
    reply = client.finish(exchange(client.request_status(dake2)))
    if not isinstance(reply, StorageStatus):
        raise WrongPrekeyServerMessageTypeError("a status request is answered by Storage Status")
    return reply.stored


def replenish(client: PublisherClient, exchange: Exchange, local: LocalPrekeys, rng: Rng, *,
              publish_profiles: bool = False) -> tuple[LocalPrekeys, int]:
    """The replenishment policy: ask for the status, publish up to :data:`REFILL_TARGET`.

    Generates the new Prekey messages (their secrets go into the returned
    :class:`~otrv4.prekeys.LocalPrekeys` only after the server confirmed the
    publication) and returns ``(local, how many were published)``.  With
    ``publish_profiles`` the current Client and Prekey Profiles are
    published too.
    """
    stored = storage_status(client, exchange)
    wanted = min(prekeys_to_publish(stored), MAX_PREKEYS_PER_PUBLICATION)
    if wanted == 0 and not publish_profiles:
        return local, 0
    tag = client.publisher.instance_tag
    existing = {p.identifier for p in local.prekeys}
    new: list[PrekeySecret] = []
    for _ in range(wanted):
        secret = generate_prekey_message(rng, tag, existing=existing)
        existing.add(secret.identifier)
        new.append(secret)
    cp = local.client_profiles[0] if publish_profiles and local.client_profiles else None
    pp = None
    if publish_profiles and local.prekey_profiles:
        profile, pair = local.prekey_profiles[0]
        pp = SharedPrekey(profile, pair)
    publish(client, exchange, new, client_profile=cp, prekey_profile=pp)
    return local.with_prekeys(new), len(new)


def query(our_tag: int, identity: str, versions: bytes = b"4") -> bytes:
    """A Prekey Ensemble Query Retrieval message for ``identity`` (a bare JID)."""
    return EnsembleQuery(our_tag, identity, versions).encode()


def fetch_ensembles(exchange: Exchange, our_tag: int, identity: str,
                    clock: Clock) -> Ensembles | Exhausted:
    """Ask for ``identity``'s ensembles and check the answer
    (:func:`otrv4_prekey.retrieval.read_answer`, whose errors it raises)."""
    return read_answer(exchange(query(our_tag, identity)), our_tag, identity, clock)


@dataclass(frozen=True)
class OfflineStartPlan:
    """What a sender does for each device of an offline peer.

    ``non_interactive``: devices with a usable ensemble (send a
    Non-Interactive-Auth message built from it); ``wait_for_online``: devices
    to reach with an interactive DAKE once they are online (no ensemble left,
    or interactive-only devices).
    """

    non_interactive: dict[int, PrekeyEnsemble] = field(default_factory=dict)
    wait_for_online: tuple[int, ...] = ()


def offline_start_plan(answer: Ensembles | Exhausted, known_devices: Collection[int] = (),
                       interactive_only: Collection[int] = ()) -> OfflineStartPlan:
    """Decide per device how to start with an offline peer (the exhaustion fallback).

    ``known_devices`` are the peer's instance tags from its device list;
    ``interactive_only`` those whose mode forbids the non-interactive DAKE.
    """
    usable = {} if isinstance(answer, Exhausted) else {
        tag: e for tag, e in answer.by_tag.items() if tag not in interactive_only}
    waiting = sorted(set(known_devices) - set(usable))
    return OfflineStartPlan(usable, tuple(waiting))
