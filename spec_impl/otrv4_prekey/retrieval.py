"""Retrieving Prekey Ensembles: the server's answer and the retriever's checks.

Implements otrv4-prekey-server.md §Retrieving Prekey Ensembles, §Prekey
Ensemble Query Retrieval Message, §Prekey Ensemble Retrieval Message and §No
Prekey Ensembles in Storage Message, with ADR 012's scenarios (one ensemble
per instance tag; more devices, more ensembles).

* :func:`answer_query` is the server's side: one ensemble per device that has
  everything, the served Prekey messages deleted by the storage in the same
  step; "No Prekey Ensembles in Storage" when no device has a complete
  ensemble (or the query asks for no version this server has).
* :func:`read_answer` is the retriever's side: it checks the receiver tag and
  the identity, validates every ensemble (§Validating Prekey Ensembles of
  OTRv4) and keeps one per instance tag; a "No Prekey Ensembles" answer
  becomes :class:`Exhausted`, on which the retriever falls back to waiting
  for the peer to come online (interactive DAKE).
"""

from __future__ import annotations

from dataclasses import dataclass

from otrv4.clock import Clock
from otrv4.errors import OTRError, ValidationError
from otrv4.instance_tag import check_receiver_tag, check_sender_tag
from otrv4.messages import PrekeyMessage
from otrv4.prekeys import PrekeyEnsemble, select_ensembles
from otrv4.profiles import ClientProfile, PrekeyProfile

from .messages import (
    EnsembleQuery,
    EnsembleRetrieval,
    NoPrekeyEnsembles,
    PrekeyServerMessageType,
    WrongPrekeyServerMessageTypeError,
    peek_type,
)
from .storage import Storage

__all__ = [
    "SUPPORTED_VERSIONS",
    "Ensembles",
    "Exhausted",
    "NoUsableEnsembleError",
    "RetrievalIdentityMismatchError",
    "answer_query",
    "read_answer",
]

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


def answer_query(
    data: bytes | EnsembleQuery, storage: Storage, clock: Clock
) -> EnsembleRetrieval | NoPrekeyEnsembles:
    """The server answers a Prekey Ensemble Query Retrieval message.

    Raises :class:`~otrv4.instance_tag.InvalidSenderTagError` for a sender tag
    below 0x100 and the decoding errors of
    :class:`~otrv4_prekey.messages.EnsembleQuery`.  Unrecognized versions are
    ignored; when "4" is not asked for, the answer is "No Prekey Ensembles".
    Stored values that no longer decode are skipped (their Prekey message is
    consumed all the same).
    """
    query = data if isinstance(data, EnsembleQuery) else EnsembleQuery.decode(data)
    check_sender_tag(query.sender_tag)
    if not any(v in query.versions for v in SUPPORTED_VERSIONS):
        return NoPrekeyEnsembles(query.sender_tag, query.identity)
    ensembles: list[PrekeyEnsemble] = []
    for stored in storage.take_ensembles(query.identity, clock.now()):
        try:
            ensembles.append(PrekeyEnsemble(
                ClientProfile.decode(stored.client_profile),
                PrekeyProfile.decode(stored.prekey_profile),
                PrekeyMessage.decode(stored.prekey_message),
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
