"""Policies: which instances a message goes to, how a conversation starts, and what a
device does with a stanza depending on how it arrived.

Implements the binding's sections "Instance Tag Policies" and "Starting a
Conversation" and the arrival rules of "Message Carriage":

* :func:`select_receivers`: OTRv3's instance-tag policies (BEST, RECENT,
  RECENT_RECEIVED, RECENT_SENT) and SYNCHRONIZE, the one this binding
  recommends (every device of both users, at most 8 each);
* :func:`start_method`: interactive DAKE to an online device's full JID,
  non-interactive DAKE otherwise, or wait (interactive-only devices);
* :func:`accepts` / :func:`may_answer`: live DAKE messages are never taken
  from a carbon or an archive; errors are never sent about archived stanzas.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from otrv4.clock import Clock
from otrv4.encoding import MessageType
from otrv4.errors import ValidationError
from otrv4.prekeys import PrekeyEnsemble, select_ensembles

from .carriage import DELIVERY_OF, Delivery
from .devices import MAX_DEVICES, DeviceEntry, DeviceList, DeviceMode, active

__all__ = [
    "Arrival",
    "InstanceInfo",
    "InstanceTagPolicy",
    "NoInstanceError",
    "PeerPresence",
    "StartMethod",
    "UndecryptableReaction",
    "accepts",
    "ensembles_for_devices",
    "is_online",
    "may_answer",
    "on_undecryptable",
    "select_receivers",
    "start_method",
]


class NoInstanceError(ValidationError):
    """The policy found no instance to send to."""


class InstanceTagPolicy(enum.Enum):
    """Which of a peer's instances a message goes to (OTRv3's policies, plus SYNCHRONIZE)."""

    BEST = "best"
    """The instance with the best conversation state (encrypted first), then a trusted
    fingerprint, then the most recent activity (one-second resolution)."""
    RECENT = "recent"
    """The instance with the most recent activity, received or sent."""
    RECENT_RECEIVED = "recent-received"
    """The instance we last received from."""
    RECENT_SENT = "recent-sent"
    """The instance we last sent to."""
    SYNCHRONIZE = "synchronize"
    """Every instance of the peer and every other instance of ours (recommended)."""


@dataclass(frozen=True)
class InstanceInfo:
    """What a device knows of one other instance, for choosing receivers."""

    tag: int
    encrypted: bool = False
    trusted: bool = False
    last_received: int | None = None
    last_sent: int | None = None

    @property
    def last_activity(self) -> int:
        """The later of the last receive and the last send (-1 when neither happened)."""
        return max(self.last_received or -1, self.last_sent or -1)


def select_receivers(policy: InstanceTagPolicy, peer: Iterable[InstanceInfo],
                     own_others: Iterable[InstanceInfo] = ()) -> tuple[int, ...]:
    """The instance tags one outgoing message is encrypted for, in ascending order.

    SYNCHRONIZE takes every peer instance and every other instance of ours (at
    most :data:`~otrv4_xmpp.devices.MAX_DEVICES` per account: the first ones by
    tag).  The other policies take exactly one peer instance and none of ours.
    Raises :class:`NoInstanceError` when the peer has no instance.
    """
    peers = sorted(peer, key=lambda i: i.tag)
    if not peers:
        raise NoInstanceError("the peer has no known instance")
    if policy is InstanceTagPolicy.SYNCHRONIZE:
        ours = sorted(own_others, key=lambda i: i.tag)[:MAX_DEVICES - 1]
        return tuple(sorted({i.tag for i in peers[:MAX_DEVICES]} | {i.tag for i in ours}))
    if policy is InstanceTagPolicy.BEST:
        def best_key(i: InstanceInfo) -> tuple[bool, bool, int, int]:
            return (i.encrypted, i.trusted, i.last_activity, -i.tag)
        return (max(peers, key=best_key).tag,)
    if policy is InstanceTagPolicy.RECENT:
        return (max(peers, key=lambda i: (i.last_activity, -i.tag)).tag,)
    if policy is InstanceTagPolicy.RECENT_RECEIVED:
        return (max(peers, key=lambda i: (i.last_received or -1, -i.tag)).tag,)
    return (max(peers, key=lambda i: (i.last_sent or -1, -i.tag)).tag,)


# --------------------------------------------------------------------------- starting


@dataclass(frozen=True)
class PeerPresence:
    """What the sender knows from presence about the peer's resources: for each available
    full JID, whether its capabilities list ``urn:xmpp:otr4:0``, and the instance tag
    each resource announced (the tag an OTRv4 message from it carried, or none yet)."""

    available: Mapping[str, bool]
    tags: Mapping[str, int]


class StartMethod(enum.Enum):
    """How to start a conversation with one device."""

    INTERACTIVE = "interactive DAKE to the device's full JID"
    NON_INTERACTIVE = "non-interactive DAKE from a prekey ensemble"
    WAIT = "wait until the device is online (interactive-only device)"


def is_online(entry: DeviceEntry, presence: PeerPresence) -> str | None:
    """The full JID at which ``entry``'s device is online, or ``None``.

    Online means: available presence (not unavailable, not invisible: invisible
    resources send none) from a full JID whose capabilities include
    ``urn:xmpp:otr4:0`` and whose instance tag is the entry's.
    """
    for jid, otr4 in sorted(presence.available.items()):
        if otr4 and presence.tags.get(jid) == entry.tag:
            return jid
    return None


def start_method(entry: DeviceEntry, presence: PeerPresence, *,
                 we_allow_offline: bool = True) -> tuple[StartMethod, str | None]:
    """How to start with the device of ``entry`` (section "Starting a Conversation").

    Returns the method and, for INTERACTIVE, the full JID to send the Identity
    message to.  Offline, unavailable, invisible and unknown devices get a
    non-interactive DAKE, unless the device (or we: ``we_allow_offline``
    False) is interactive-only: then WAIT.
    """
    jid = is_online(entry, presence)
    if jid is not None:
        return StartMethod.INTERACTIVE, jid
    if entry.mode is DeviceMode.STANDALONE and we_allow_offline:
        return StartMethod.NON_INTERACTIVE, None
    return StartMethod.WAIT, None


def ensembles_for_devices(devices: DeviceList, ensembles: Iterable[PrekeyEnsemble],
                          clock: Clock) -> dict[int, PrekeyEnsemble]:
    """The ensemble to use for each listed, unexpired, standalone device (section
    "Starting a Conversation"): one valid ensemble per instance tag
    (:func:`otrv4.prekeys.select_ensembles`), keeping only tags of such entries; an
    ensemble for an unlisted or expired device, or for an interactive-only one, is
    ignored.  Raises nothing."""
    wanted = {e.tag for e in active(devices, clock.now()) if e.mode.accepts_offline}
    return {tag: ens for tag, ens in select_ensembles(ensembles, clock).items()
            if tag in wanted}


# --------------------------------------------------------------------------- receiving


class Arrival(enum.Enum):
    """How a stanza reached the device."""

    LIVE = "live"
    """Routed to this device now (to its full JID, or to the bare JID while online)."""
    CARBON = "carbon"
    """A XEP-0280 copy (sent by or to another resource of the account)."""
    ARCHIVE = "archive"
    """From offline storage (with a XEP-0203 delay) or a XEP-0313 archive query."""


def accepts(kind: MessageType, arrival: Arrival, mode: DeviceMode) -> bool:
    """Whether a device processes a payload of ``kind`` that arrived so.

    Live-delivery messages (Identity, Auth-R, Auth-I) only when LIVE: a copy
    or an archived one is ignored (a replayed Identity message must not start
    a DAKE).  Stored-delivery messages whatever the arrival.  An
    interactive-only device discards Non-Interactive-Auth messages.
    """
    if kind is MessageType.NON_INTERACTIVE_AUTH and not mode.accepts_offline:
        return False
    if DELIVERY_OF.get(kind) is Delivery.LIVE:
        return arrival is Arrival.LIVE
    return kind in DELIVERY_OF


def may_answer(arrival: Arrival) -> bool:
    """Whether a device may send a stanza error or an OTR Error message about a stanza:
    only about live ones (never about archived stanzas or carbons)."""
    return arrival is Arrival.LIVE


@dataclass(frozen=True)
class UndecryptableReaction:
    """What to do with a data message for a session that no longer exists."""

    tell_user: bool
    send_otr_error: bool


def on_undecryptable(arrival: Arrival, sender_online: bool) -> UndecryptableReaction:
    """A data message without a session (e.g. from an archive after a restart): always
    tell the user that a message could not be decrypted; send an OTR Error message
    (ERROR_2, not in private state) to that instance only when the stanza is live and the
    sending device is online."""
    return UndecryptableReaction(True, may_answer(arrival) and sender_online)
