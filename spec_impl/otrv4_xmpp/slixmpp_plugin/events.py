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

from dataclasses import dataclass

from otrv4.smp import SmpOutcome

from .. import devices
from ..engine import bare_of
from ..trust import TrustLevel

__all__ = ["Otr4ChatState", "Otr4Devices", "Otr4Error", "Otr4Message", "Otr4Session",
           "Otr4Smp", "SendReport"]


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
    trust: TrustLevel | None = None

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
    """Something was dropped or could not be decrypted: ``reason`` says what and why."""

    sender: str
    reason: str
    error: BaseException | None = None


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
