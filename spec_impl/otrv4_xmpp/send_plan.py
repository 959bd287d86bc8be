"""Who gets an outgoing message, and how: the send planner.

Implements the recipient choice of the binding's sections "Sending a Message"
(one stanza for every device of the peer and of the sender's own account),
"Instance Tag Policies" (:func:`otrv4_xmpp.policy.select_receivers`) and
"Conversation start policy" (a device without a session is reached by a
non-interactive DAKE from a prekey ensemble, or waits for an interactive DAKE).

:func:`plan_send` is pure: it reads the device lists, the sessions the device
has and what the caller knows of each device, and returns a frozen
:class:`SendPlan`; fetching lists and ensembles, encrypting and sending are the
caller's (the slixmpp plugin's) business.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

from .devices import DeviceList, DeviceMode, active
from .policy import InstanceInfo, InstanceTagPolicy, select_receivers

__all__ = [
    "OfflineStart",
    "Recipient",
    "SendPlan",
    "SkipReason",
    "Skipped",
    "plan_send",
]

Recipient = tuple[str, int]
"""A device: ``(bare JID, instance tag)``."""


class SkipReason(enum.Enum):
    """Why a known device gets nothing from this message."""

    OWN_DEVICE = "the sending device itself"
    EXPIRED = "its device-list entry expired (its profiles were not renewed)"
    LEFT_LIST = "it is no longer in its account's device list (retired or removed)"
    NOT_SELECTED = "the instance-tag policy left it out"
    NOT_REQUESTED = "not among the devices the caller asked for"
    UNTRUSTED = "the trust setting refused it"


@dataclass(frozen=True)
class Skipped:
    """A device left out of the message, and why."""

    device: Recipient
    reason: SkipReason


@dataclass(frozen=True)
class SendPlan:
    """What one outgoing message does, device by device.

    ``chosen`` are the devices the message is meant for (the peer's by tag, then
    the own account's); each of them is in exactly one of
    ``session`` (a data message on the existing session), ``prekey`` (no
    session: fetch its account's prekey ensembles and start a non-interactive
    DAKE), ``interactive`` (no session and no offline start possible: it is
    reached once an interactive DAKE ran) or, with the reason
    :attr:`SkipReason.UNTRUSTED`, ``skipped``.  ``skipped`` also lists the known
    devices that were not chosen, each with its reason.
    """

    peer: str
    chosen: tuple[Recipient, ...] = ()
    session: tuple[Recipient, ...] = ()
    prekey: tuple[Recipient, ...] = ()
    interactive: tuple[Recipient, ...] = ()
    skipped: tuple[Skipped, ...] = ()

    def skipped_for(self, reason: SkipReason) -> tuple[Recipient, ...]:
        """The devices skipped for ``reason``, in plan order."""
        return tuple(s.device for s in self.skipped if s.reason is reason)

    @property
    def untrusted(self) -> tuple[Recipient, ...]:
        """Chosen devices with a session that the trust setting refused."""
        return self.skipped_for(SkipReason.UNTRUSTED)

    def prekey_accounts(self) -> dict[str, tuple[int, ...]]:
        """The devices of :attr:`prekey` by account (accounts in plan order): one
        ensemble query per account."""
        out: dict[str, tuple[int, ...]] = {}
        for account, tag in self.prekey:
            out[account] = (*out.get(account, ()), tag)
        return out


@dataclass(frozen=True)
class OfflineStart:
    """A non-interactive DAKE started for one device of :attr:`SendPlan.prekey`: the
    Non-Interactive-Auth message (``auth``) and the first data message (``data``)
    for ``device``."""

    device: Recipient
    auth: bytes
    data: bytes


def _trust_all(_account: str, _tag: int) -> bool:
    return True


def plan_send(peer: str, *, own: str, own_tag: int,
              device_lists: Mapping[str, DeviceList],
              sessions: Collection[Recipient], now: int,
              policy: InstanceTagPolicy = InstanceTagPolicy.SYNCHRONIZE,
              last_received: Mapping[Recipient, int] | None = None,
              last_sent: Mapping[Recipient, int] | None = None,
              offline_start: bool = True,
              trusted: Callable[[str, int], bool] = _trust_all,
              only: Collection[Recipient] | None = None,
              unlisted: Collection[Recipient] = ()) -> SendPlan:
    """Plan one message from device ``own_tag`` of ``own`` to ``peer`` (bare JIDs).

    Candidates, per account (the peer's, then the own one): the live (not
    expired) entries of its device list in ``device_lists``, and the devices with
    an encrypted session (``sessions``) when that account's list is not known (a
    missing list is empty).  A device with a session whose entry expired is
    skipped (:attr:`SkipReason.EXPIRED`), one missing from a known list too
    (:attr:`SkipReason.LEFT_LIST`): senders stop encrypting to devices that left
    or stopped renewing; ``unlisted`` are devices that never have an entry
    (otrv4.md-only clients talking in bodies), candidates while they have a
    session.  The sending device is never a candidate.
    When the peer has candidates, ``policy`` picks among them
    (:func:`otrv4_xmpp.policy.select_receivers`, with ``last_received`` and
    ``last_sent`` times) and the chosen devices are sorted by tag, the peer's
    first; when it has none, every other own device is chosen.  ``only``
    restricts the choice to the devices it lists.

    A chosen device with a session is asked to ``trusted(account, tag)``; one
    without goes to :attr:`SendPlan.prekey` when ``offline_start`` is set and its
    list entry does not say ``interactive-only``, else to
    :attr:`SendPlan.interactive`.  Raises nothing.
    """
    received = last_received or {}
    sent = last_sent or {}
    accounts = list(dict.fromkeys((peer, own)))
    candidates: dict[str, dict[int, None]] = {a: {} for a in accounts}
    skipped: list[Skipped] = []
    interactive_only: set[Recipient] = set()
    for account in accounts:
        known = account in device_lists
        dl = device_lists.get(account) or DeviceList()
        live = {e.tag for e in active(dl, now)}
        for e in dl.entries:
            if e.mode is DeviceMode.INTERACTIVE_ONLY:
                interactive_only.add((account, e.tag))
            if e.tag in live:
                candidates[account][e.tag] = None
        for a, tag in sorted(sessions):
            if a != account or tag in candidates[account]:
                continue
            if not known or (account, tag) in unlisted:
                candidates[account][tag] = None
            elif dl.find(tag) is None and (account, tag) != (own, own_tag):
                skipped.append(Skipped((account, tag), SkipReason.LEFT_LIST))
        for e in dl.entries:
            if e.tag not in candidates[account] and (account, e.tag) != (own, own_tag):
                skipped.append(Skipped((account, e.tag), SkipReason.EXPIRED))
    listed_self = any(e.tag == own_tag for e in (device_lists.get(own) or DeviceList()).entries)
    if candidates[own].pop(own_tag, None) is not None or listed_self:
        skipped.append(Skipped((own, own_tag), SkipReason.OWN_DEVICE))

    def info(account: str, tag: int) -> InstanceInfo:
        return InstanceInfo(tag, encrypted=(account, tag) in sessions,
                            last_received=received.get((account, tag)),
                            last_sent=sent.get((account, tag)))

    peer_tags, own_tags = list(candidates[peer]), list(candidates[own])
    chosen: list[Recipient]
    if not peer_tags:
        chosen = [(own, t) for t in own_tags]
    else:
        picked = set(select_receivers(policy, [info(peer, t) for t in peer_tags],
                                      [info(own, t) for t in own_tags]))
        chosen = [(peer, t) for t in sorted(peer_tags) if t in picked]
        if peer != own:
            chosen += [(own, t) for t in sorted(own_tags) if t in picked]
    for account in accounts:
        for tag in candidates[account]:
            if (account, tag) not in chosen:
                skipped.append(Skipped((account, tag), SkipReason.NOT_SELECTED))
    if only is not None:
        requested = set(only)
        skipped += [Skipped(d, SkipReason.NOT_REQUESTED) for d in chosen if d not in requested]
        chosen = [d for d in chosen if d in requested]
    with_session: list[Recipient] = []
    prekey: list[Recipient] = []
    interactive: list[Recipient] = []
    for device in chosen:
        if device in sessions:
            if trusted(*device):
                with_session.append(device)
            else:
                skipped.append(Skipped(device, SkipReason.UNTRUSTED))
        elif offline_start and device not in interactive_only:
            prekey.append(device)
        else:
            interactive.append(device)
    return SendPlan(peer, tuple(chosen), tuple(with_session), tuple(prekey),
                    tuple(interactive), tuple(skipped))
