"""What the ``xep_otr4`` plugin tells a client: its events and the send report.

Events (``xmpp.add_event_handler(name, handler)``):

* ``otr4_message`` (:class:`Otr4Message`): a decrypted data message (plain text, or
  the body of an SCE envelope with its chat state and receipt request);
* ``otr4_chat_state`` (:class:`Otr4ChatState`): an encrypted chat state without a body;
* ``otr4_session_started`` (:class:`Otr4Session`): a DAKE completed;
* ``otr4_session_ended`` (:class:`otrv4_xmpp.engine.PairSession`): a conversation
  with one device ended;
* ``otr4_smp`` (:class:`Otr4Smp`): SMP progress with one device (a question to
  answer, success, failure, abort);
* ``otr4_error`` (:class:`Otr4Error`): a stanza was dropped or a message could not
  be decrypted (with the reason);
* ``otr4_devices`` (:class:`Otr4Devices`): a device list was read or changed;
* ``otr4_ready``: the device list is published and the catch-up is done.

:meth:`XEP_OTR4.send_message <otrv4_xmpp.slixmpp_plugin.plugin.XEP_OTR4.send_message>`
returns a :class:`SendReport`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from otrv4.prekeys import UnknownPrekeyError
from otrv4.profiles import ProfileExpiredError
from otrv4.ratchet import InstanceTagMismatch, SessionExpired
from otrv4.smp import SmpOutcome

from .. import devices
from ..engine import NoSessionError, bare_of
from ..trust import TrustLevel

__all__ = [
    "Cause",
    "DeviceResult",
    "Otr4ChatState",
    "Otr4Devices",
    "Otr4Error",
    "Otr4Message",
    "Otr4Session",
    "Otr4Smp",
    "Reach",
    "SendReport",
    "cause_of",
]


class Cause(enum.Enum):
    """Why a message could not be decrypted, and what to do about it (the value)."""

    NO_UNUSED_PREKEY = ("the Prekey message it was built from is not held by this device "
                        "(used before, or published by a lost state): the sender must fetch "
                        "new prekey ensembles or start an interactive DAKE")
    EXPIRED_PROFILE = ("a Client or Prekey Profile in it has expired: the owner must renew "
                       "and republish its profiles")
    UNKNOWN_INSTANCE_TAG = ("it is for an instance tag this device does not have (an old tag "
                            "or another device's): the sender must refetch the device list")
    NO_SESSION = ("this device has no session with the sender's device (lost, ended or "
                  "never started): the sender must start a new DAKE")
    SESSION_EXPIRED = "the session expired: the sender must start a new DAKE"
    UNREADABLE = ("the data message does not decrypt in the session (keys already used or "
                  "dropped): the sender should start a new DAKE")
    INVALID = "the message is malformed or failed validation: nothing to do but drop it"

    @property
    def action(self) -> str:
        """What the sender or the user can do (the second half of the value)."""
        return self.value.partition(": ")[2]


def cause_of(error: BaseException | None, unreadable: bool = False) -> Cause:
    """The :class:`Cause` of a failure: ``error`` (an exception raised or carried by a
    notice), ``unreadable`` (the state machine's UNREADABLE notice).  Raises nothing."""
    if isinstance(error, UnknownPrekeyError):
        return Cause.NO_UNUSED_PREKEY
    if isinstance(error, ProfileExpiredError):
        return Cause.EXPIRED_PROFILE
    if isinstance(error, InstanceTagMismatch):
        return Cause.UNKNOWN_INSTANCE_TAG
    if isinstance(error, NoSessionError):
        return Cause.NO_SESSION
    if isinstance(error, SessionExpired):
        return Cause.SESSION_EXPIRED
    return Cause.UNREADABLE if unreadable else Cause.INVALID


@dataclass(frozen=True)
class Otr4Message:
    """A decrypted data message.

    ``sender`` is the full JID that sent it, ``sender_tag`` its instance tag;
    ``to`` the stanza's addressee (for a copy of our own account's outgoing
    message: the peer); ``outgoing`` is true when another device of our own
    account sent it; ``via`` is ``live``, ``carbon``, ``offline`` or ``mam``.  When the
    message came in an SCE envelope (binding §Encrypting More Than Bodies), ``text`` is
    its body, ``chat_state`` its chat state (XEP-0085) and ``receipt_request`` whether
    it asks for a delivery receipt (XEP-0184); ``encrypted_content`` says it came in an
    envelope; ``trust`` is the sending device's trust level
    (:class:`~otrv4_xmpp.trust.TrustLevel`).
    """

    sender: str
    sender_tag: int
    to: str
    text: str
    via: str
    outgoing: bool
    stanza_id: str | None
    chat_state: str | None = None
    receipt_request: bool = False
    encrypted_content: bool = False
    delivery_id: str | None = None
    """With a store: the id the plaintext was kept under until handed over.  A message
    handed over again after a crash (``via`` ``undelivered``) has the same id, so an
    application that keeps its own message log can show each once."""
    trust: TrustLevel | None = None
    """The sending device's trust level (:class:`~otrv4_xmpp.trust.TrustLevel`)."""

    @property
    def account(self) -> str:
        """The sender's bare JID."""
        return bare_of(self.sender)


@dataclass(frozen=True)
class Otr4ChatState:
    """An encrypted chat state (XEP-0085) without a body, from device ``sender_tag``."""

    sender: str
    sender_tag: int
    state: str
    outgoing: bool


@dataclass(frozen=True)
class Otr4Session:
    """A completed DAKE: the peer device, its fingerprint and the SSID (hex)."""

    peer: str
    full_jid: str
    tag: int
    fingerprint: str
    ssid: str


@dataclass(frozen=True)
class Otr4Smp:
    """SMP progress with device ``tag`` of ``peer`` (last seen at ``full_jid``):
    ``outcome`` is a question to answer (``question``, may be empty), success (the
    device is now verified: ``trust``), failure or abort."""

    peer: str
    full_jid: str
    tag: int
    outcome: SmpOutcome
    question: str = ""
    trust: TrustLevel | None = None


@dataclass(frozen=True)
class Otr4Error:
    """Something was dropped or could not be decrypted: ``reason`` says what and why;
    for a message that could not be decrypted, ``cause`` says why in a way a program
    can act on (:class:`Cause`; ``None`` for other failures)."""

    sender: str
    reason: str
    error: BaseException | None = None
    cause: Cause | None = None


@dataclass(frozen=True)
class Otr4Devices:
    """An account's device list as last read."""

    account: str
    devices: devices.DeviceList


@dataclass(frozen=True)
class SendReport:
    """What :meth:`XEP_OTR4.send_message
    <otrv4_xmpp.slixmpp_plugin.plugin.XEP_OTR4.send_message>` sent: the stanza id and
    size, the devices that got a payload (``recipients``), those among them reached
    by a non-interactive DAKE started for this message (``non_interactive``), and the
    listed devices that got nothing (``missing``: no session, no usable prekey
    ensemble; the message reaches them once they are online and a DAKE ran), and
    those the ``trust`` setting refused (``untrusted``)."""

    stanza_id: str
    stanza_bytes: int
    recipients: tuple[tuple[str, int], ...]
    missing: tuple[tuple[str, int], ...]
    non_interactive: tuple[tuple[str, int], ...] = ()
    untrusted: tuple[tuple[str, int], ...] = ()
    """Devices the trust setting refused (not sent to): with a session, or reached
    through a Prekey Ensemble whose device is distrusted or undecided under the policy."""
    skipped: tuple[tuple[tuple[str, int], str], ...] = ()
    """Known devices left out, each with the reason (e.g. its device-list entry expired,
    it left the list, the instance-tag policy or ``only`` left it out)."""

    @property
    def devices(self) -> tuple[DeviceResult, ...]:
        """One line per device: reached through its session, started offline (a
        non-interactive DAKE for this message), or not reached, with the reason."""
        out = [DeviceResult(d, Reach.STARTED_OFFLINE if d in self.non_interactive
                            else Reach.SESSION, "") for d in self.recipients]
        out += [DeviceResult(d, Reach.SKIPPED, "no session and no usable prekey ensemble: "
                             "reached after an interactive DAKE") for d in self.missing]
        out += [DeviceResult(d, Reach.SKIPPED, "the trust setting refused it")
                for d in self.untrusted]
        out += [DeviceResult(d, Reach.SKIPPED, why) for d, why in self.skipped]
        return tuple(out)


class Reach(enum.Enum):
    """How a message reached one device."""

    SESSION = "delivered to a session"
    STARTED_OFFLINE = "a non-interactive DAKE was started for it (offline start)"
    SKIPPED = "not sent to it"


@dataclass(frozen=True)
class DeviceResult:
    """What a send did for one device (bare JID, instance tag)."""

    device: tuple[str, int]
    reach: Reach
    reason: str
