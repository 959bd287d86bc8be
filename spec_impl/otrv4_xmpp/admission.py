"""Inbound admission: whether a received payload reaches the device engine.

Implements the receiving rules of the binding's sections "Message Carriage"
(a device takes only the payload addressed to its instance tag; each payload
is processed once whatever path brought it; Identity, Auth-R and Auth-I are
taken only live and addressed to the device's full JID), "Carbons" (a carbon
is trusted only from the own account, XEP-0280 §11) and "Compatibility"
(OTR text in a ``<body/>`` is taken only live, from a full JID, addressed by
the instance tags inside).

Pure: the caller parses and validates the stanza, then asks
:func:`admit_payload` (``<otr/>``) or :func:`admit_body` (OTR text); the answer
is :class:`Admitted` (hand ``data`` to the engine, remember ``key``) or
:class:`Dropped` with a :class:`DropReason`.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Container
from dataclasses import dataclass

from otrv4.encoding import MessageType, peek_message_type, read_instance_tags
from otrv4.errors import OTRError

from .carriage import DELIVERY_OF, Delivery, NoPayloadForDeviceError, ReceivedOtr, payload_for
from .devices import DeviceMode
from .engine import bare_of
from .policy import Arrival, accepts

__all__ = [
    "Admitted",
    "DropReason",
    "Dropped",
    "Path",
    "admit_body",
    "admit_body_source",
    "admit_carbon",
    "admit_payload",
    "admit_stanza_type",
    "payload_key",
]


class Path(enum.Enum):
    """How a stanza reached the device."""

    LIVE = "live"
    CARBON = "carbon"
    OFFLINE = "offline"
    """From offline storage (a stanza with a ``<delay/>``)."""
    MAM = "mam"
    """From the account's message archive (catch-up)."""

    @property
    def arrival(self) -> Arrival:
        """The arrival class the policies use (offline storage and MAM are archives)."""
        return _ARRIVAL[self]


_ARRIVAL = {Path.LIVE: Arrival.LIVE, Path.CARBON: Arrival.CARBON,
            Path.OFFLINE: Arrival.ARCHIVE, Path.MAM: Arrival.ARCHIVE}


class DropReason(enum.Enum):
    """Why a received payload does not reach the engine."""

    FORGED_CARBON = "a carbon copy that does not come from the own account"
    NOT_FOR_THIS_DEVICE = "no payload for this device's instance tag"
    DUPLICATE = "this payload was already processed (another path brought it)"
    NOT_ACCEPTED_ON_PATH = "this message type is not taken on this path in this mode"
    NOT_TO_OUR_FULL_JID = "a live-delivery message not addressed to this full JID"
    BODY_NOT_LIVE = "OTR text in a body is taken only live and from a full JID"
    UNREADABLE_HEADER = "the instance tags of the message cannot be read"
    GROUPCHAT = "OTRv4 is not used in group chats: a groupchat message is ignored, unanswered"

    @property
    def expected(self) -> bool:
        """Whether this is normal traffic (a stanza for another device, a copy already
        seen) rather than something worth telling the user about."""
        return self in (DropReason.NOT_FOR_THIS_DEVICE, DropReason.DUPLICATE)


@dataclass(frozen=True)
class Admitted:
    """A payload for the engine: its bytes, its type and the key to remember it by."""

    data: bytes
    kind: MessageType
    key: bytes


@dataclass(frozen=True)
class Dropped:
    """A payload (or stanza) that stops here, why, and the decoding error if any."""

    reason: DropReason
    detail: str = ""
    error: OTRError | None = None


def payload_key(account: str, data: bytes) -> bytes:
    """The duplicate-detection key of ``data`` from ``account`` (a bare JID): the same
    payload brought live, as a carbon, from offline storage or from the archive
    has the same key."""
    return hashlib.sha256(account.encode() + b"\x00" + data).digest()


def admit_stanza_type(stanza_type: str) -> Dropped | None:
    """Binding §Group Chat: a message of type ``groupchat`` that carries OTRv4 is ignored
    and never answered (an answer to a room reaches every occupant).  ``None``: go on."""
    if stanza_type == "groupchat":
        return Dropped(DropReason.GROUPCHAT, "message of type 'groupchat'")
    return None


def admit_carbon(forwarder: str, own_bare: str) -> Dropped | None:
    """A carbon (sent or received) is trusted only when its outer stanza comes from
    the own bare JID, or carries no ``from`` (XEP-0280 §11).  ``None``: admitted."""
    if forwarder in ("", own_bare):
        return None
    return Dropped(DropReason.FORGED_CARBON, f"carbon from {forwarder}")


def admit_payload(received: ReceivedOtr, path: Path, *, own_full: str, own_tag: int,
                  mode: DeviceMode, seen: Container[bytes]) -> Admitted | Dropped:
    """Admit the payload of a parsed, valid ``<otr/>`` stanza for device ``own_tag`` at
    ``own_full``, in ``mode``, that arrived by ``path``; ``seen`` holds the keys of
    the payloads already processed.  Checks, in order: a payload for this device
    (:func:`otrv4_xmpp.carriage.payload_for`), not a duplicate, a type taken on this
    path (:func:`otrv4_xmpp.policy.accepts`), and live-delivery types addressed to
    ``own_full``.  Raises nothing."""
    try:
        payload = payload_for(received, own_tag)
    except NoPayloadForDeviceError as exc:
        return Dropped(DropReason.NOT_FOR_THIS_DEVICE, str(exc))
    key = payload_key(bare_of(received.sender_jid), payload.data)
    if key in seen:
        return Dropped(DropReason.DUPLICATE, f"via {path.value}")
    kind = payload.message_type
    if not accepts(kind, path.arrival, mode):
        return Dropped(DropReason.NOT_ACCEPTED_ON_PATH,
                       f"{kind.spec_name} via {path.value} (mode {mode.value})")
    if DELIVERY_OF[kind] is Delivery.LIVE and received.to != own_full:
        return Dropped(DropReason.NOT_TO_OUR_FULL_JID,
                       f"{kind.spec_name} to {received.to}")
    return Admitted(payload.data, kind, key)


def admit_body_source(sender: str, *, delayed: bool) -> Dropped | None:
    """OTR text in a ``<body/>`` is read only when it came live (no ``<delay/>``) from a
    full JID.  ``None``: go on and parse it."""
    if "/" not in sender or delayed:
        return Dropped(DropReason.BODY_NOT_LIVE, f"from {sender}")
    return None


def admit_body(sender: str, data: bytes, *, own_tag: int,
               seen: Container[bytes]) -> Admitted | Dropped:
    """Admit an encoded OTRv4 message (decoded from a body, or reassembled from
    fragments) from the full JID ``sender``: its receiver tag must be ``own_tag`` or
    0 (:func:`otrv4.encoding.read_instance_tags`) and it must not be a duplicate.
    Raises nothing."""
    try:
        _, receiver = read_instance_tags(data)
    except OTRError as exc:
        return Dropped(DropReason.UNREADABLE_HEADER, str(exc), exc)
    if receiver not in (0, own_tag):
        return Dropped(DropReason.NOT_FOR_THIS_DEVICE, f"for instance {receiver:08x}")
    key = payload_key(bare_of(sender), data)
    if key in seen:
        return Dropped(DropReason.DUPLICATE, "via a body")
    return Admitted(data, peek_message_type(data), key)
