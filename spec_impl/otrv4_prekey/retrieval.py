"""Retrieving Prekey Ensembles: the server's answer and the retriever's checks.

Implements otrv4-prekey-server.md §Retrieving Prekey Ensembles, §Prekey
Ensemble Query Retrieval Message, §Prekey Ensemble Retrieval Message and §No
Prekey Ensembles in Storage Message, with ADR 012's scenarios (one ensemble
per instance tag; more devices, more ensembles).

* :func:`answer_query` is the server's side: one ensemble per device that has
  everything, the served Prekey messages deleted by the storage in the same
  step; "No Prekey Ensembles in Storage" when no device has a complete
  ensemble (or the query asks for no version this server has).  A device's
  profiles are the same bytes in every answer until it publishes new ones, so
  a :class:`ProfileCache` keeps them decoded (decoding validates every point:
  about 1 ms for the two profiles here), and the stored Prekey message is
  re-read without the subgroup checks the server already applied when it
  accepted the publication (:func:`read_stored_prekey_message`, 0.1 ms against
  0.5 ms); the retriever applies every check (§Validating Prekey Ensembles).
* :func:`read_answer` is the retriever's side: it checks the receiver tag and
  the identity, validates every ensemble (§Validating Prekey Ensembles of
  OTRv4) and keeps one per instance tag; a "No Prekey Ensembles" answer
  becomes :class:`Exhausted`, on which the retriever falls back to waiting
  for the peer to come online (interactive DAKE).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, Generic, TypeVar

from otrv4.clock import Clock
from otrv4.encoding import PROTOCOL_VERSION, MessageType, Reader, encode_short
from otrv4.errors import OTRError, ValidationError
from otrv4.instance_tag import check_receiver_tag, check_sender_tag
from otrv4.messages import PrekeyMessage
from otrv4.prekeys import PrekeyEnsemble, select_ensembles
from otrv4.primitives.ed448 import Point
from otrv4.profiles import ClientProfile, PrekeyProfile

from .messages import (
    EnsembleQuery,
    EnsembleRetrieval,
    NoPrekeyEnsembles,
    PrekeyServerMessageType,
    WrongPrekeyServerMessageTypeError,
    peek_type,
)
from .storage import Storage, StoredEnsemble

__all__ = [
    "SUPPORTED_VERSIONS",
    "Ensembles",
    "Exhausted",
    "NoUsableEnsembleError",
    "ProfileCache",
    "RetrievalIdentityMismatchError",
    "answer_from_storage",
    "answer_query",
    "asks_supported_version",
    "check_query",
    "read_answer",
    "read_stored_prekey_message",
]

_T = TypeVar("_T")

#: The versions this server stores ensembles for (§Prekey Ensemble Query Retrieval Message).
SUPPORTED_VERSIONS = b"4"


class RetrievalIdentityMismatchError(ValidationError):
    """An answer about another identity than the one the retriever asked for."""


class NoUsableEnsembleError(ValidationError):
    """A Prekey Ensemble Retrieval message none of whose ensembles is valid."""


@dataclass(frozen=True)
class Ensembles:
    """A usable answer: one validated ensemble per instance tag, in ascending tag order."""

    identity: str
    by_tag: dict[int, PrekeyEnsemble]
    received: int


@dataclass(frozen=True)
class Exhausted:
    """The server has no complete ensemble for the identity: fall back to the interactive DAKE."""

    identity: str
    text: str


class _Lru(Generic[_T]):
    def __init__(self, size: int, decode: Callable[[bytes], _T]) -> None:
        self._size = size
        self._decode = decode
        self._lock = threading.Lock()
        self._items: OrderedDict[bytes, _T] = OrderedDict()

    def get(self, data: bytes) -> _T:
        with self._lock:
            found = self._items.get(data)
            if found is not None:
                self._items.move_to_end(data)
                return found
        decoded = self._decode(data)
        with self._lock:
            self._items[data] = decoded
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return decoded


class ProfileCache:
    """Decoded Client and Prekey Profiles by their exact bytes (at most ``size`` of each,
    the least recently used go first).  Thread-safe.  A profile is immutable, so its bytes
    decide the result; decoding errors are not cached (they raise each time)."""

    DEFAULT_SIZE: Final = 20_000

    def __init__(self, size: int = DEFAULT_SIZE) -> None:
        self._client = _Lru(size, ClientProfile.decode)
        self._prekey = _Lru(size, PrekeyProfile.decode)

    def client_profile(self, data: bytes) -> ClientProfile:
        """``ClientProfile.decode(data)``, cached; raises what it raises."""
        return self._client.get(data)

    def prekey_profile(self, data: bytes) -> PrekeyProfile:
        """``PrekeyProfile.decode(data)``, cached; raises what it raises."""
        return self._prekey.get(data)


_PREKEY_HEADER: Final = encode_short(PROTOCOL_VERSION) + bytes([MessageType.PREKEY])


def read_stored_prekey_message(data: bytes) -> PrekeyMessage:
    """Re-read a Prekey message this server stored after verifying its publication.

    The server decoded and validated it then (every point on the curve and in the
    prime-order subgroup, ``B`` in the DH group, the proofs), so this reads the
    fields and decodes ``Y`` as RFC 8032 does, without the subgroup check
    (a scalar multiplication); the result encodes to the same bytes.  A
    stored value with another header, or whose fields do not parse, is decoded
    in full with :meth:`otrv4.messages.PrekeyMessage.decode`, whose errors it raises.
    """
    if not data.startswith(_PREKEY_HEADER):
        return PrekeyMessage.decode(data)
    reader = Reader(data[len(_PREKEY_HEADER):], "stored Prekey message")
    try:
        identifier = reader.read_int("identifier")
        owner_tag = reader.read_int("owner tag")
        y = Point.decode_rfc8032(reader.read_point("Y"))
        b = reader.read_mpi("B")
        reader.finish()
    except OTRError:
        return PrekeyMessage.decode(data)
    return PrekeyMessage(identifier, owner_tag, y, b)


def answer_query(
    data: bytes | EnsembleQuery, storage: Storage, clock: Clock,
    profiles: ProfileCache | None = None,
) -> EnsembleRetrieval | NoPrekeyEnsembles:
    """The server answers a Prekey Ensemble Query Retrieval message (no rate limit).

    Raises :class:`~otrv4.instance_tag.InvalidSenderTagError` for a sender tag
    below 0x100 and the decoding errors of
    :class:`~otrv4_prekey.messages.EnsembleQuery`.  Unrecognized versions are
    ignored; when "4" is not asked for, the answer is "No Prekey Ensembles".
    Stored values that no longer decode are skipped (their Prekey message is
    consumed all the same).  The server itself retrieves through
    :meth:`~otrv4_prekey.storage.Storage.retrieve` (the rate limit in the same
    transaction) and builds the answer with :func:`answer_from_storage`.
    """
    query = check_query(data)
    if not asks_supported_version(query):
        return NoPrekeyEnsembles(query.sender_tag, query.identity)
    return answer_from_storage(query, storage.take_ensembles(query.identity, clock.now()),
                               profiles)


def check_query(data: bytes | EnsembleQuery) -> EnsembleQuery:
    """Decode a Prekey Ensemble Query Retrieval message and check its sender tag.

    Raises :class:`~otrv4.instance_tag.InvalidSenderTagError` for a sender tag
    below 0x100 and the decoding errors of :class:`~otrv4_prekey.messages.EnsembleQuery`.
    """
    query = data if isinstance(data, EnsembleQuery) else EnsembleQuery.decode(data)
    check_sender_tag(query.sender_tag)
    return query


def asks_supported_version(query: EnsembleQuery) -> bool:
    """Whether the query asks for a version this server stores (unrecognized ones are
    ignored); if not, the answer is "No Prekey Ensembles" and nothing is taken."""
    return any(v in query.versions for v in SUPPORTED_VERSIONS)


def answer_from_storage(
    query: EnsembleQuery, stored: list[StoredEnsemble], profiles: ProfileCache | None = None,
) -> EnsembleRetrieval | NoPrekeyEnsembles:
    """The answer to ``query`` from the ensembles the storage handed out for it: a Prekey
    Ensemble Retrieval message, or "No Prekey Ensembles" when none is left.

    Stored values that no longer decode are skipped.  Raises nothing.
    """
    cache = profiles if profiles is not None else ProfileCache(8)
    ensembles: list[PrekeyEnsemble] = []
    for item in stored:
        try:
            ensembles.append(PrekeyEnsemble(
                cache.client_profile(item.client_profile),
                cache.prekey_profile(item.prekey_profile),
                read_stored_prekey_message(item.prekey_message),
            ))
        except OTRError:  # a stored value that no longer decodes is skipped
            continue
    if not ensembles:
        return NoPrekeyEnsembles(query.sender_tag, query.identity)
    return EnsembleRetrieval(query.sender_tag, query.identity, tuple(ensembles))


def read_answer(data: bytes, our_tag: int, identity: str, clock: Clock) -> Ensembles | Exhausted:
    """The retriever reads the server's answer to its query for ``identity``.

    For a Prekey Ensemble Retrieval message: the receiver tag is ours
    (:class:`~otrv4.instance_tag.ReceiverTagMismatchError`,
    :class:`~otrv4.instance_tag.InvalidReceiverTagError`), the identity is the
    one asked for (:class:`RetrievalIdentityMismatchError`), then invalid and
    duplicate ensembles are dropped and one per instance tag is kept
    (:func:`otrv4.prekeys.select_ensembles`); if none is left,
    :class:`NoUsableEnsembleError`.  For a No Prekey Ensembles message the same
    tag and identity checks, then :class:`Exhausted`.  Any other message type:
    :class:`~otrv4_prekey.messages.WrongPrekeyServerMessageTypeError`.  Also
    raises the decoding errors of the two message classes.
    """
    mtype = peek_type(data)
    if mtype is PrekeyServerMessageType.NO_PREKEY_ENSEMBLES:
        none = NoPrekeyEnsembles.decode(data)
        check_receiver_tag(none.receiver_tag, our_tag)
        if none.identity != identity:
            raise RetrievalIdentityMismatchError(
                f"the answer is about {none.identity!r}, we asked for {identity!r}")
        return Exhausted(none.identity, none.text)
    if mtype is not PrekeyServerMessageType.ENSEMBLE_RETRIEVAL:
        raise WrongPrekeyServerMessageTypeError(
            f"a query is answered by a retrieval or a no-ensembles message, not a "
            f"{mtype.spec_name}")
    msg = EnsembleRetrieval.decode(data)
    check_receiver_tag(msg.receiver_tag, our_tag)
    if msg.identity != identity:
        raise RetrievalIdentityMismatchError(
            f"the answer is about {msg.identity!r}, we asked for {identity!r}")
    chosen = select_ensembles(msg.ensembles, clock)
    if not chosen:
        raise NoUsableEnsembleError(f"none of the {len(msg.ensembles)} ensembles is valid")
    return Ensembles(msg.identity, chosen, len(msg.ensembles))
