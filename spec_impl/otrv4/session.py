"""The protocol state machine of one OTRv4 conversation (spec §The Protocol State Machine).

The machine is data: :data:`TRANSITIONS` lists every ``(state, event)`` pair
the implementation handles, the handler that runs (named after the spec
section it implements), the states it may lead to, and a one-line
description; the XEP renders it as a table.  A pair that is not listed is
ignored (:class:`Notice` ``IGNORED``), which is what the spec says for every
unlisted case (for instance an Auth-R message outside WAITING_AUTH_R).

A :class:`Session` is an immutable value.  :func:`step` takes a session, an
event, its input, an ``rng`` and a ``clock`` and returns ``(new_session,
outputs)``; it never changes the session it was given, whether it succeeds or
raises, so on any exception the caller keeps its old session exactly as it
was.  This holds by construction: the double ratchet is the one mutable part
of a session, and every ratchet operation here runs on a private copy
(:meth:`otrv4.ratchet.DoubleRatchet.copy`) that only the new session holds
(copy on write).  Outputs are :class:`Send` (a text to put on the wire),
:class:`Display` (text for the user), :class:`Notice`, :class:`SmpUpdate` and
:class:`ExtraKey`.

Each event has one input type, which its handlers take (see
:data:`TRANSITIONS` and :func:`step`): the received text (``str``) for
plaintext, query and error messages; the decoded message bytes for the DAKE
messages; a :class:`~otrv4.data_message.DataMessage` for a data message; the
text for USER_SEND and USER_SMP_ANSWER; an :class:`OfflineStart` for the
offline starts; an :class:`SmpRequest` for USER_SMP_START; ``None`` for the
others.

Modes: both implemented modes (standalone, interactive-only) refuse
plaintext, query messages and whitespace tags (:mod:`otrv4.modes`), so those
events produce a ``REFUSED`` notice and nothing else; interactive-only refuses
the non-interactive DAKE.

Decisions taken here where the spec is loose: data messages that arrive in
WAITING_AUTH_I for chains 0 or 1 (the first ratchet after the DAKE) are kept
for ``store_seconds`` and tried once the DAKE completes, then dropped; a
heartbeat (empty data message, IGNORE_UNREADABLE) is sent after receiving a
data message or on a timer tick when nothing was sent for
``heartbeat_seconds``; the session expires (TLV 1 carrying the MAC keys still
to reveal, then FINISHED) on a timer tick when no new ECDH key was made or
received for ``expiry_seconds``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Generic, TypeVar

from . import dake, smp, xzdh
from .clock import Clock
from .data_message import FLAG_IGNORE_UNREADABLE, DataMessage
from .encoding import MessageType, decode_encoded_message, encode_message, peek_message_type
from .errors import DecodeError, OTRError
from .keys import fingerprint
from .modes import Capability, ModeRefusalError, require
from .plaintext import ErrorCode, MessageKind, classify, encode_error, parse_error
from .prekeys import LocalPrekeys, PrekeyEnsemble
from .primitives.rng import Rng
from .ratchet import DoubleRatchet, RatchetLimits, RatchetStart, derive_extra_keys
from .shared_state import DakeResult
from .tlv import TLV, TLVType, decode_payload, disconnected, encode_payload

__all__ = [
    "TRANSITIONS",
    "ApplicationTLVs",
    "Display",
    "Event",
    "ExtraKey",
    "Notice",
    "NoticeKind",
    "OfflineStart",
    "ProtocolState",
    "Send",
    "Session",
    "SessionConfig",
    "SmpRequest",
    "SmpUpdate",
    "Transition",
    "UnhandledTransition",
    "UserMessage",
    "new_session",
    "receive",
    "step",
]


class ProtocolState(enum.Enum):
    """The protocol states (spec §Protocol States)."""

    START = "START"
    WAITING_AUTH_R = "WAITING_AUTH_R"
    WAITING_AUTH_I = "WAITING_AUTH_I"
    ENCRYPTED_MESSAGES = "ENCRYPTED_MESSAGES"
    FINISHED = "FINISHED"


class Event(enum.Enum):
    """The events (spec §Protocol Events), plus SMP requests and the timer."""

    PLAINTEXT = "Receiving plaintext without the whitespace tag"
    TAGGED_PLAINTEXT = "Receiving plaintext with the whitespace tag"
    QUERY = "Receiving a Query Message"
    ERROR = "Receiving an Error Message"
    IDENTITY = "Receiving an Identity Message"
    AUTH_R = "Receiving an Auth-R Message"
    AUTH_I = "Receiving an Auth-I Message"
    NON_INTERACTIVE_AUTH = "Receiving a Non-Interactive-Auth Message"
    DATA = "Receiving a Data Message"
    USER_START = "User requests to start an OTR Conversation"
    USER_START_INTERACTIVE = "Starting a conversation interactively"
    USER_SEND_OFFLINE = "Sending a Data Message to an offline participant"
    USER_ONLINE_AFTER_OFFLINE = "Starting an online conversation after an offline one"
    USER_OFFLINE_AFTER_ONLINE = "Starting an offline conversation after an online one"
    USER_SEND = "Sending a Data Message"
    USER_END = "User requests to end an OTRv4 Conversation"
    USER_SMP_START = "User requests to begin SMP"
    USER_SMP_ANSWER = "User answers an SMP question"
    USER_SMP_ABORT = "User requests to abort SMP"
    TIMER = "Timer tick (heartbeat, session expiration, stored messages)"


# --------------------------------------------------------------------------- outputs


class NoticeKind(enum.Enum):
    """What a :class:`Notice` tells the application."""

    IGNORED = "the message or request was ignored"
    REFUSED = "the mode does not allow this"
    UNREADABLE = "an encrypted message could not be read"
    NOT_FOR_US = "the message was for another instance"
    STORED = "a data message was stored until the DAKE completes"
    QUEUED = "the message will be sent once the conversation is encrypted"
    CANNOT_SEND = "the conversation is finished: start a new one to send"
    ENCRYPTED = "the conversation is now encrypted"
    DISCONNECTED = "the peer ended the conversation"
    EXPIRED = "the session expired"
    ERROR_RECEIVED = "the peer sent an OTR error message"


@dataclass(frozen=True)
class Send:
    """A message to put on the wire (an encoded ``?OTR:`` message or an error message)."""

    text: str


@dataclass(frozen=True)
class Display:
    """Text for the user; ``encrypted`` says whether it arrived encrypted."""

    text: str
    encrypted: bool = True


@dataclass(frozen=True)
class Notice:
    """Something the application may show or log."""

    kind: NoticeKind
    detail: str = ""
    error: OTRError | None = field(default=None, compare=False)
    """The error that made a message ignored or unreadable, when there was one (so that
    an application can say what to do about it)."""


@dataclass(frozen=True)
class SmpUpdate:
    """Progress of SMP: a question to answer, success, failure or abort."""

    outcome: smp.SmpOutcome
    question: bytes | None = None


@dataclass(frozen=True)
class ExtraKey:
    """A key derived from the extra symmetric key for a received TLV 7."""

    context: bytes
    key: bytes = field(repr=False)
    data: bytes = b""


@dataclass(frozen=True)
class ApplicationTLVs:
    """TLVs of a received data message whose types OTRv4 does not define (otrv4.md
    §TLV Types: receivers ignore unknown types), handed to the application: a binding
    may define types of its own (the XMPP binding's SCE envelope)."""

    tlvs: tuple[TLV, ...]


Output = Send | Display | Notice | SmpUpdate | ExtraKey | ApplicationTLVs


# --------------------------------------------------------------------------- session


@dataclass(frozen=True)
class SessionConfig:
    """Local, per-implementation choices (all in seconds)."""

    expiry_seconds: int = 2 * 3600
    heartbeat_seconds: int = 60
    store_seconds: int = 600
    limits: RatchetLimits = field(default_factory=RatchetLimits)


@dataclass(frozen=True)
class Session:
    """One conversation between our instance and one peer instance."""

    ctx: dake.DakeContext
    config: SessionConfig = field(default_factory=SessionConfig)
    state: ProtocolState = ProtocolState.START
    dake_state: dake.DakeState = dake.START
    ratchet: DoubleRatchet | None = None
    ssid: bytes | None = None
    their_fingerprint: bytes | None = None
    their_tag: int = 0
    smp_state: smp.State = field(default_factory=smp.Expect1)
    smp_we_started: bool = False
    queued: tuple[UserMessage, ...] = ()
    stored: tuple[tuple[int, DataMessage], ...] = ()
    last_sent: int = 0
    last_ratchet: int = 0
    local_prekeys: LocalPrekeys | None = None

    @property
    def our_fingerprint(self) -> bytes:
        """Our fingerprint (long-term key and forging key)."""
        return fingerprint(self.ctx.us.keypair.public, self.ctx.us.forging_key)


def new_session(ctx: dake.DakeContext, config: SessionConfig | None = None,
                local_prekeys: LocalPrekeys | None = None) -> Session:
    """A session in START."""
    return Session(ctx, config or SessionConfig(), local_prekeys=local_prekeys)


Result = tuple[Session, tuple[Output, ...]]


# --------------------------------------------------------------------------- event inputs


@dataclass(frozen=True)
class UserMessage:
    """What the user sends in one data message: the text, then TLVs (otrv4.md §Data
    Message: the plaintext is ``message || 0x00 || TLVs``).  USER_SEND takes one, or a
    plain ``str`` for text without TLVs."""

    text: str
    tlvs: tuple[TLV, ...] = ()

    @classmethod
    def of(cls, value: str | UserMessage) -> UserMessage:
        """``value`` as a :class:`UserMessage`."""
        return value if isinstance(value, UserMessage) else cls(value)


@dataclass(frozen=True)
class OfflineStart:
    """Input of USER_SEND_OFFLINE and USER_OFFLINE_AFTER_ONLINE: the peer's prekey
    ensemble and the first message, queued until the Non-Interactive-Auth is sent."""

    ensemble: PrekeyEnsemble
    text: str | UserMessage


@dataclass(frozen=True)
class SmpRequest:
    """Input of USER_SMP_START: the shared secret and the (possibly empty) question."""

    secret: str
    question: str = ""


def _wrong_input(kind: str, inp: object) -> TypeError:
    return TypeError(f"this event takes {kind}, not {type(inp).__name__}")


def text_input(inp: object) -> str:
    """The input of the text events (received text, USER_SEND, USER_SMP_ANSWER)."""
    if not isinstance(inp, str):
        raise _wrong_input("a str", inp)
    return inp


def message_input(inp: object) -> bytes:
    """The input of the DAKE message events: the decoded message bytes."""
    if not isinstance(inp, bytes):
        raise _wrong_input("the decoded message bytes", inp)
    return inp


def data_message_input(inp: object) -> DataMessage:
    """The input of DATA: a data message, or its bytes (decoded here; raises
    :class:`otrv4.errors.DecodeError`)."""
    if isinstance(inp, DataMessage):
        return inp
    if isinstance(inp, bytes):
        return DataMessage.decode(inp)
    raise _wrong_input("a DataMessage", inp)


def offline_start_input(inp: object) -> OfflineStart:
    """The input of the offline starts: an :class:`OfflineStart`, or ``(ensemble, text)``."""
    if isinstance(inp, tuple) and len(inp) == 2:
        inp = OfflineStart(*inp)
    if not (isinstance(inp, OfflineStart) and isinstance(inp.ensemble, PrekeyEnsemble)
            and isinstance(inp.text, str | UserMessage)):
        raise _wrong_input("an OfflineStart(PrekeyEnsemble, str | UserMessage)", inp)
    return inp


def user_message_input(inp: object) -> UserMessage:
    """The input of USER_SEND: a :class:`UserMessage`, or a ``str`` (text, no TLVs)."""
    if isinstance(inp, str):
        return UserMessage(inp)
    if not isinstance(inp, UserMessage):
        raise _wrong_input("a str or a UserMessage", inp)
    return inp


def smp_request_input(inp: object) -> SmpRequest:
    """The input of USER_SMP_START: an :class:`SmpRequest`, or ``(secret, question)``."""
    if isinstance(inp, tuple) and len(inp) == 2:
        inp = SmpRequest(*inp)
    if not (isinstance(inp, SmpRequest) and isinstance(inp.secret, str)
            and isinstance(inp.question, str)):
        raise _wrong_input("an SmpRequest(str, str)", inp)
    return inp


def no_input(inp: object) -> None:
    """The input of the events that take none: ``None``."""
    if inp is not None:
        raise _wrong_input("no input (None)", inp)


I = TypeVar("I")  # noqa: E741  (the input type of one event)


@dataclass(frozen=True)
class Transition(Generic[I]):
    """One row of the state machine: ``handler`` runs for ``event`` in ``state``.

    ``takes`` checks the step's input and gives it the event's type ``I``,
    which ``handler`` takes; ``next_states`` lists the states it may lead to.
    """

    state: ProtocolState
    event: Event
    handler: Callable[[Session, I, Rng, Clock], Result]
    takes: Callable[[object], I]
    next_states: tuple[ProtocolState, ...]
    description: str

    @property
    def handler_name(self) -> str:
        """The handler's name (the spec section it implements); the XEP's table shows it."""
        return self.handler.__name__

    def run(self, s: Session, inp: object, rng: Rng, clock: Clock) -> Result:
        """Check ``inp`` (raises ``TypeError``) and run the handler."""
        return self.handler(s, self.takes(inp), rng, clock)


# --------------------------------------------------------------------------- helpers


def _send_data(s: Session, text: str, tlvs: tuple[TLV, ...], rng: Rng, clock: Clock,
               flags: int = 0) -> tuple[Session, Send]:
    """Encrypt on a copy of the ratchet (copy on write): ``s`` is never changed."""
    assert s.ratchet is not None  # every caller is in ENCRYPTED_MESSAGES
    ratchet = s.ratchet.copy()
    enc = ratchet.encrypt(encode_payload(text, tlvs), rng, flags=flags)
    now = clock.now()
    last_ratchet = now if ratchet.latest_chain != s.ratchet.latest_chain else s.last_ratchet
    return (replace(s, ratchet=ratchet, last_sent=now, last_ratchet=last_ratchet),
            Send(encode_message(enc.message.encode())))


def _encrypted(s: Session, result: DakeResult, clock: Clock) -> Session:
    fp = fingerprint(result.their_client_profile.public_key,
                     result.their_client_profile.forging_key)
    return replace(
        s, state=ProtocolState.ENCRYPTED_MESSAGES,
        ratchet=DoubleRatchet(RatchetStart.from_dake(result), s.config.limits),
        ssid=result.ssid, their_fingerprint=fp, their_tag=result.their_instance_tag,
        smp_state=smp.Expect1(), last_ratchet=clock.now(), last_sent=clock.now(),
    )


def _after_dake(s: Session, rng: Rng, clock: Clock) -> Result:
    """Send the queued messages, then try the stored data messages once."""
    outputs: list[Output] = [Notice(NoticeKind.ENCRYPTED)]
    queued, s = s.queued, replace(s, queued=())
    for waiting in queued:
        s, sent = _send_data(s, waiting.text, waiting.tlvs, rng, clock)
        outputs.append(sent)
    stored, s = s.stored, replace(s, stored=())
    for _, message in stored:
        try:
            s, more = receiving_a_data_message(s, message, rng, clock)
        except OTRError as e:  # s is unchanged: the message is dropped, and said so
            more = (Notice(NoticeKind.UNREADABLE, f"stored data message: {e}"),)
        outputs.extend(more)
    return s, tuple(outputs)


def _reset_smp(s: Session) -> Session:
    return replace(s, smp_state=smp.Expect1(), smp_we_started=False)


def _forget(s: Session, state: ProtocolState) -> Session:
    """Forget state and key variables (spec §Resetting State Variables and Key Variables).

    The new session drops its reference to the ratchet; the old session value
    (which the caller still holds until it adopts the new one) is not touched.
    """
    return _reset_smp(replace(s, state=state, dake_state=dake.START, ratchet=None, ssid=None))


# --------------------------------------------------------------------------- handlers


def refused(s: Session, inp: object, rng: Rng, clock: Clock) -> Result:
    """Plaintext, query messages and whitespace tags: refused by both implemented modes."""
    try:
        require(s.ctx.mode, Capability.PLAINTEXT)
    except ModeRefusalError as e:
        return s, (Notice(NoticeKind.REFUSED, str(e)),)
    return s, (Notice(NoticeKind.IGNORED, "plaintext handling is not implemented"),)


def receiving_an_error_message(s: Session, inp: str, rng: Rng, clock: Clock) -> Result:
    """§Receiving an Error Message: show known codes, ignore the rest."""
    err = parse_error(inp)
    if err is None or err.code is None:
        return s, (Notice(NoticeKind.IGNORED, "error message without a known code"),)
    return s, (Notice(NoticeKind.ERROR_RECEIVED, f"ERROR_{int(err.code)}: {err.text}"),)


def starting_a_conversation_interactively(s: Session, inp: None, rng: Rng, clock: Clock
                                          ) -> Result:
    """§Starting a conversation interactively: send an Identity message, WAITING_AUTH_R."""
    started = dake.start(s.ctx, rng, s.their_tag)
    assert started.send is not None
    return (replace(_forget(s, ProtocolState.WAITING_AUTH_R), dake_state=started.state),
            (Send(encode_message(started.send.encode())),))


def receiving_an_identity_message(s: Session, inp: bytes, rng: Rng, clock: Clock) -> Result:
    """§Receiving an Identity Message (every state but FINISHED's DAKE state is START)."""
    dake_state = s.dake_state if s.state in (ProtocolState.WAITING_AUTH_R,
                                             ProtocolState.WAITING_AUTH_I) else dake.START
    try:
        out = dake.receive_identity(s.ctx, dake_state, inp, rng)
    except OTRError as e:
        return s, (Notice(NoticeKind.IGNORED, f"Identity message: {e}"),)
    assert out.send is not None
    if isinstance(out.state, dake.WaitingAuthR):  # we won the tie-break: resend ours
        return replace(s, dake_state=out.state), (Send(encode_message(out.send.encode())),)
    base = s if s.state in (ProtocolState.WAITING_AUTH_R, ProtocolState.WAITING_AUTH_I) \
        else _forget(s, ProtocolState.WAITING_AUTH_I)
    tag = int(getattr(out.send, "receiver_tag", 0))
    return (replace(base, state=ProtocolState.WAITING_AUTH_I, dake_state=out.state,
                    their_tag=tag),
            (Send(encode_message(out.send.encode())),))


def receiving_an_auth_r_message(s: Session, inp: bytes, rng: Rng, clock: Clock) -> Result:
    """§Receiving an Auth-R Message: reply Auth-I, initialise the ratchet, ENCRYPTED_MESSAGES."""
    try:
        out = dake.receive_auth_r(s.ctx, s.dake_state, inp, rng)
    except OTRError as e:
        return s, (Notice(NoticeKind.IGNORED, f"Auth-R message: {e}"),)
    assert out.send is not None and out.result is not None
    s2 = replace(_encrypted(s, out.result, clock), dake_state=out.state)
    s3, outputs = _after_dake(s2, rng, clock)
    return s3, (Send(encode_message(out.send.encode())), *outputs)


def receiving_an_auth_i_message(s: Session, inp: bytes, rng: Rng, clock: Clock) -> Result:
    """§Receiving an Auth-I Message: initialise the ratchet, ENCRYPTED_MESSAGES."""
    try:
        out = dake.receive_auth_i(s.ctx, s.dake_state, inp, rng)
    except OTRError as e:
        return s, (Notice(NoticeKind.IGNORED, f"Auth-I message: {e}"),)
    assert out.result is not None
    return _after_dake(replace(_encrypted(s, out.result, clock), dake_state=out.state),
                       rng, clock)


def receiving_a_non_interactive_auth_message(s: Session, inp: bytes, rng: Rng, clock: Clock
                                             ) -> Result:
    """§Receiving a Non-Interactive-Auth Message: any state but FINISHED; resets the session."""
    if s.local_prekeys is None:
        return s, (Notice(NoticeKind.IGNORED, "no local prekeys for a Non-Interactive-Auth"),)
    try:
        local, res = xzdh.receive_non_interactive_auth(s.ctx, s.local_prekeys, inp)
    except ModeRefusalError as e:
        return s, (Notice(NoticeKind.REFUSED, str(e)),)
    except OTRError as e:
        return s, (Notice(NoticeKind.IGNORED, f"Non-Interactive-Auth message: {e}", e),)
    fresh = _forget(s, ProtocolState.START)
    return _after_dake(replace(_encrypted(fresh, res.result, clock), local_prekeys=local),
                       rng, clock)


def sending_a_data_message_to_an_offline_participant(s: Session, inp: OfflineStart, rng: Rng,
                                                     clock: Clock) -> Result:
    """§Sending a Data Message to an offline participant: a Non-Interactive-Auth message.

    ``inp.text`` is queued and sent right after.
    """
    try:
        msg, res = xzdh.send_non_interactive_auth(s.ctx, inp.ensemble, rng)
    except ModeRefusalError as e:
        return s, (Notice(NoticeKind.REFUSED, str(e)),)
    fresh = replace(_forget(s, ProtocolState.START),
                    queued=(*s.queued, UserMessage.of(inp.text)))
    s2, outputs = _after_dake(_encrypted(fresh, res.result, clock), rng, clock)
    return s2, (Send(encode_message(msg.encode())), *outputs)


def receiving_a_data_message(s: Session, inp: DataMessage, rng: Rng, clock: Clock) -> Result:
    """§Receiving a Data Message in ENCRYPTED_MESSAGES.

    Unreadable messages are answered with ERROR_1 unless IGNORE_UNREADABLE is
    set; readable ones are shown, their SMP TLVs run the SMP state machine,
    TLV 7 yields extra keys, TLV 1 ends in FINISHED.  A heartbeat follows
    when nothing was sent for ``heartbeat_seconds``.
    """
    assert s.ratchet is not None  # ENCRYPTED_MESSAGES always has one
    message = inp
    if message.receiver_tag != s.ctx.us.instance_tag:
        return s, (Notice(NoticeKind.NOT_FOR_US, f"receiver tag {message.receiver_tag:08x}"),)
    ratchet = s.ratchet.copy()  # copy on write: s keeps its own ratchet
    try:
        got = ratchet.decrypt(message)
    except OTRError as e:
        if message.ignore_unreadable:  # the spec: no error message, nothing to show
            return s, (Notice(NoticeKind.IGNORED, f"unreadable (IGNORE_UNREADABLE): {e}"),)
        return s, (Notice(NoticeKind.UNREADABLE, str(e)),
                   Send(encode_error(ErrorCode.UNREADABLE_MESSAGE)))
    now = clock.now()
    s = replace(s, ratchet=ratchet, last_ratchet=(
        now if ratchet.latest_chain != s.ratchet.latest_chain else s.last_ratchet))
    outputs: list[Output] = []
    try:
        payload = decode_payload(got.plaintext)
    except DecodeError as e:
        return s, (Notice(NoticeKind.UNREADABLE, str(e)),)
    if payload.text:
        outputs.append(Display(payload.text))
    if payload.unknown:
        outputs.append(ApplicationTLVs(tuple(payload.unknown)))
    replies: list[TLV] = []
    for record in payload.tlvs:
        if TLVType.SMP_MESSAGE_1 <= record.type <= TLVType.SMP_ABORT:
            try:
                smp_step = smp.handle(s.smp_state, record, rng)
            except OTRError as e:
                outputs.append(Notice(NoticeKind.IGNORED, f"SMP message: {e}"))
                smp_step = smp.abort()
            s = replace(s, smp_state=smp_step.state)
            replies.extend(smp_step.send)
            if smp_step.outcome is not smp.SmpOutcome.NONE:
                outputs.append(SmpUpdate(smp_step.outcome, smp_step.question))
    try:
        for (context, key), record in zip(
                derive_extra_keys(got.extra_key, payload),
                [t for t in payload.tlvs if t.type == TLVType.EXTRA_SYMMETRIC_KEY], strict=False):
            outputs.append(ExtraKey(context, key, record.value[4:]))
    except OTRError as e:  # raised before any key is derived: none was output
        outputs.append(Notice(NoticeKind.IGNORED, f"extra symmetric keys: {e}"))
    if payload.find(TLVType.DISCONNECTED) is not None:
        outputs.append(Notice(NoticeKind.DISCONNECTED))
        return _forget(s, ProtocolState.FINISHED), tuple(outputs)
    if replies:
        s, sent = _send_data(s, "", tuple(replies), rng, clock, FLAG_IGNORE_UNREADABLE)
        outputs.append(sent)
    elif now - s.last_sent >= s.config.heartbeat_seconds:
        s, sent = _send_data(s, "", (), rng, clock, FLAG_IGNORE_UNREADABLE)
        outputs.append(sent)
    return s, tuple(outputs)


def storing_an_early_data_message(s: Session, inp: DataMessage, rng: Rng, clock: Clock) -> Result:
    """§Receiving a Data Message outside ENCRYPTED_MESSAGES.

    The first ratchet after a DAKE (chains 0 and 1) is stored in WAITING_AUTH_I
    for ``store_seconds``; anything else is answered with ERROR_2.
    """
    message = inp
    if s.state is ProtocolState.WAITING_AUTH_I and message.ratchet_id <= 1:
        return (replace(s, stored=(*s.stored, (clock.now(), message))),
                (Notice(NoticeKind.STORED),))
    if message.ignore_unreadable:
        return s, ()
    return s, (Notice(NoticeKind.UNREADABLE, "not in ENCRYPTED_MESSAGES"),
               Send(encode_error(ErrorCode.NOT_IN_PRIVATE_STATE)))


def sending_a_data_message(s: Session, inp: UserMessage, rng: Rng, clock: Clock) -> Result:
    """§Sending a Data Message: encrypt in ENCRYPTED_MESSAGES, queue otherwise."""
    if s.state is ProtocolState.ENCRYPTED_MESSAGES:
        s2, sent = _send_data(s, inp.text, inp.tlvs, rng, clock)
        return s2, (sent,)
    if s.state is ProtocolState.FINISHED:
        return replace(s, queued=(*s.queued, inp)), (Notice(NoticeKind.CANNOT_SEND),)
    return replace(s, queued=(*s.queued, inp)), (Notice(NoticeKind.QUEUED),)


def user_requests_to_end(s: Session, inp: None, rng: Rng, clock: Clock) -> Result:
    """§User requests to end an OTRv4 Conversation: TLV 1 when encrypted, then START."""
    outputs: tuple[Output, ...] = ()
    if s.state is ProtocolState.ENCRYPTED_MESSAGES:
        s, sent = _send_data(s, "", (disconnected(),), rng, clock, FLAG_IGNORE_UNREADABLE)
        outputs = (sent,)
    return _forget(s, ProtocolState.START), outputs


def online_after_offline(s: Session, inp: None, rng: Rng, clock: Clock) -> Result:
    """§Starting an online conversation after an offline one: TLV 1, then an Identity message."""
    _, ended = user_requests_to_end(s, None, rng, clock)
    s2, started = starting_a_conversation_interactively(
        _forget(s, ProtocolState.START), None, rng, clock)
    return s2, (*ended, *started)


def offline_after_online(s: Session, inp: OfflineStart, rng: Rng, clock: Clock) -> Result:
    """§Starting an offline conversation after an online one: TLV 1, then Non-Interactive-Auth."""
    _, ended = user_requests_to_end(s, None, rng, clock)
    s2, started = sending_a_data_message_to_an_offline_participant(
        _forget(s, ProtocolState.START), inp, rng, clock)
    return s2, (*ended, *started)


def user_requests_to_begin_smp(s: Session, inp: SmpRequest, rng: Rng, clock: Clock) -> Result:
    """§User requests to begin SMP (``inp.secret``, ``inp.question``); restarts if underway."""
    assert s.ssid is not None and s.their_fingerprint is not None
    tlvs: list[TLV] = []
    if not (isinstance(s.smp_state, smp.Expect1) and s.smp_state.pending is None):
        tlvs.extend(smp.abort().send)
    x = smp.smp_secret(s.our_fingerprint, s.their_fingerprint, s.ssid, inp.secret)
    state, m1 = smp.start(x, rng, inp.question.encode("utf-8"))
    tlvs.append(m1.to_tlv())
    s2, sent = _send_data(replace(s, smp_state=state, smp_we_started=True), "", tuple(tlvs),
                          rng, clock, FLAG_IGNORE_UNREADABLE)
    return s2, (sent,)


def user_answers_smp(s: Session, inp: str, rng: Rng, clock: Clock) -> Result:
    """Answer a received SMP question with the user's secret ``inp`` (SMP message 2)."""
    assert s.ssid is not None and s.their_fingerprint is not None
    y = smp.smp_secret(s.their_fingerprint, s.our_fingerprint, s.ssid, inp)
    state, m2 = smp.respond(s.smp_state, y, rng)
    s2, sent = _send_data(replace(s, smp_state=state, smp_we_started=False), "",
                          (m2.to_tlv(),), rng, clock, FLAG_IGNORE_UNREADABLE)
    return s2, (sent,)


def user_requests_to_abort_smp(s: Session, inp: None, rng: Rng, clock: Clock) -> Result:
    """§User requests to abort SMP: send TLV 6, SMPSTATE_EXPECT1."""
    aborted = smp.abort()
    s2, sent = _send_data(_reset_smp(s), "", aborted.send, rng, clock, FLAG_IGNORE_UNREADABLE)
    return s2, (sent, SmpUpdate(smp.SmpOutcome.ABORTED))


def timer_in_encrypted_messages(s: Session, inp: None, rng: Rng, clock: Clock) -> Result:
    """§Session Expiration and heartbeats, on a clock tick."""
    now = clock.now()
    assert s.ratchet is not None
    if now - s.last_ratchet >= s.config.expiry_seconds:
        keys = s.ratchet.unrevealed_mac_keys()
        s2, sent = _send_data(s, "", (disconnected(keys),), rng, clock, FLAG_IGNORE_UNREADABLE)
        assert s2.ratchet is not None
        s2.ratchet.expire()  # the live copy, which only s2 holds; s keeps its own
        return _forget(s2, ProtocolState.FINISHED), (sent, Notice(NoticeKind.EXPIRED))
    if now - s.last_sent >= s.config.heartbeat_seconds:
        s2, sent = _send_data(s, "", (), rng, clock, FLAG_IGNORE_UNREADABLE)
        return s2, (sent,)
    return s, ()


def timer_while_waiting(s: Session, inp: None, rng: Rng, clock: Clock) -> Result:
    """Drop stored early data messages older than ``store_seconds``."""
    now = clock.now()
    kept = tuple(x for x in s.stored if now - x[0] < s.config.store_seconds)
    return replace(s, stored=kept), ()


def finished_to_start(s: Session, inp: None, rng: Rng, clock: Clock) -> Result:
    """§User requests to end an OTRv4 Conversation, in FINISHED: go to START."""
    return _forget(s, ProtocolState.START), ()




# --------------------------------------------------------------------------- the table


S = ProtocolState
E = Event
_ALL = tuple(ProtocolState)
_NOT_FINISHED = (S.START, S.WAITING_AUTH_R, S.WAITING_AUTH_I, S.ENCRYPTED_MESSAGES)
_DAKE_PENDING = (S.START, S.WAITING_AUTH_R, S.WAITING_AUTH_I)


def _rows() -> tuple[Transition[object], ...]:
    rows: list[Transition[object]] = []

    def add(states: tuple[ProtocolState, ...], event: Event,
            handler: Callable[[Session, I, Rng, Clock], Result], takes: Callable[[object], I],
            nexts: tuple[ProtocolState, ...] | None, description: str,
            may_stay: bool = True) -> None:
        for st in states:
            targets = (*(nexts or ()), st) if may_stay else (nexts or (st,))
            row = Transition(st, event, handler, takes, tuple(dict.fromkeys(targets)),
                             description)
            rows.append(row)  # type: ignore[arg-type]  # the row keeps its I

    add(_ALL, E.PLAINTEXT, refused, text_input, None,
        "Refused by the standalone and interactive-only modes.")
    add(_ALL, E.TAGGED_PLAINTEXT, refused, text_input, None, "Refused by both implemented modes.")
    add(_ALL, E.QUERY, refused, text_input, None, "Refused by both implemented modes.")
    add(_ALL, E.USER_START, refused, no_input, None,
        "Query messages are not sent in these modes.")
    add(_ALL, E.ERROR, receiving_an_error_message, text_input, None,
        "Show the error if its code is ERROR_1, ERROR_2 or ERROR_3; ignore it otherwise.")
    add(_ALL, E.USER_START_INTERACTIVE, starting_a_conversation_interactively, no_input,
        (S.WAITING_AUTH_R,), "Send an Identity message.", may_stay=False)
    for st in (S.START, S.ENCRYPTED_MESSAGES, S.FINISHED, S.WAITING_AUTH_R, S.WAITING_AUTH_I):
        nexts = (S.WAITING_AUTH_I,) if st is not S.WAITING_AUTH_R else \
            (S.WAITING_AUTH_R, S.WAITING_AUTH_I)
        desc = {
            S.WAITING_AUTH_R: "Both sent Identity: the higher hash of B resends its Identity "
                              "message, the other answers with Auth-R.",
            S.WAITING_AUTH_I: "Answer the new Identity message with a new Auth-R message.",
        }.get(st, "Validate; reply with an Auth-R message.")
        add((st,), E.IDENTITY, receiving_an_identity_message, message_input, nexts, desc)
    add((S.WAITING_AUTH_R,), E.AUTH_R, receiving_an_auth_r_message, message_input,
        (S.ENCRYPTED_MESSAGES, S.WAITING_AUTH_R),
        "Validate; reply with Auth-I, initialise the double ratchet, send queued messages.")
    add((S.WAITING_AUTH_I,), E.AUTH_I, receiving_an_auth_i_message, message_input,
        (S.ENCRYPTED_MESSAGES, S.WAITING_AUTH_I),
        "Validate; initialise the double ratchet, send queued messages, try stored ones.")
    add(_NOT_FINISHED, E.NON_INTERACTIVE_AUTH, receiving_a_non_interactive_auth_message,
        message_input, (S.ENCRYPTED_MESSAGES,),
        "Forget the current state; validate; initialise the double ratchet.")
    add(_ALL, E.USER_SEND_OFFLINE, sending_a_data_message_to_an_offline_participant,
        offline_start_input, (S.ENCRYPTED_MESSAGES,),
        "Send a Non-Interactive-Auth message, then the message as a data message.")
    add((S.ENCRYPTED_MESSAGES,), E.DATA, receiving_a_data_message, data_message_input,
        (S.ENCRYPTED_MESSAGES, S.FINISHED),
        "Decrypt and show; run SMP; TLV 1 leads to FINISHED; ERROR_1 if unreadable.")
    add((S.START, S.WAITING_AUTH_R, S.WAITING_AUTH_I, S.FINISHED), E.DATA,
        storing_an_early_data_message, data_message_input, None,
        "Store the first ratchet after a DAKE while in WAITING_AUTH_I; otherwise ERROR_2.")
    add(_ALL, E.USER_SEND, sending_a_data_message, user_message_input, None,
        "Encrypt in ENCRYPTED_MESSAGES; queue in the other states (FINISHED: tell the user).")
    add((S.START, S.WAITING_AUTH_R, S.WAITING_AUTH_I, S.ENCRYPTED_MESSAGES), E.USER_END,
        user_requests_to_end, no_input, (S.START,),
        "In ENCRYPTED_MESSAGES send TLV 1 (Disconnected); forget all keys.", may_stay=False)
    add((S.FINISHED,), E.USER_END, finished_to_start, no_input, (S.START,), "Go back to START.",
        may_stay=False)
    add(_ALL, E.USER_ONLINE_AFTER_OFFLINE, online_after_offline, no_input, (S.WAITING_AUTH_R,),
        "Send TLV 1 if encrypted, then an Identity message.", may_stay=False)
    add(_ALL, E.USER_OFFLINE_AFTER_ONLINE, offline_after_online, offline_start_input,
        (S.ENCRYPTED_MESSAGES,), "Send TLV 1 if encrypted, then a Non-Interactive-Auth message.")
    add((S.ENCRYPTED_MESSAGES,), E.USER_SMP_START, user_requests_to_begin_smp,
        smp_request_input, None, "Send SMP message 1 (after an abort if an SMP was underway).")
    add((S.ENCRYPTED_MESSAGES,), E.USER_SMP_ANSWER, user_answers_smp, text_input, None,
        "Answer the pending SMP question with SMP message 2.")
    add((S.ENCRYPTED_MESSAGES,), E.USER_SMP_ABORT, user_requests_to_abort_smp, no_input, None,
        "Send TLV 6 (SMP abort); SMP goes back to SMPSTATE_EXPECT1.")
    add((S.ENCRYPTED_MESSAGES,), E.TIMER, timer_in_encrypted_messages, no_input,
        (S.ENCRYPTED_MESSAGES, S.FINISHED),
        "Expire the session (TLV 1 data, FINISHED) or send a heartbeat when due.")
    add((*_DAKE_PENDING, S.FINISHED), E.TIMER, timer_while_waiting, no_input, None,
        "Drop stored early data messages older than the storage time.")
    return tuple(rows)


TRANSITIONS: tuple[Transition[object], ...] = _rows()
"""Every handled ``(state, event)`` pair; the XEP renders this table."""

_TABLE: dict[tuple[ProtocolState, Event], Transition[object]] = {
    (t.state, t.event): t for t in TRANSITIONS
}


class UnhandledTransition(OTRError):
    """A handler left the session in a state its table row does not list (a bug)."""


def step(s: Session, event: Event, inp: object, rng: Rng, clock: Clock) -> Result:
    """Run the handler the table names for ``(s.state, event)``.

    ``inp`` is the event's input (module docstring); the row checks its type
    and raises ``TypeError`` for another (the offline starts and
    USER_SMP_START also take the pairs ``(ensemble, text)`` and ``(secret,
    question)``).  Unlisted pairs are ignored.  Raises what the handler raises
    and :class:`UnhandledTransition` if the result breaks the table; ``s`` is
    unchanged in every case (module docstring).
    """
    row = _TABLE.get((s.state, event))
    if row is None:
        return s, (Notice(NoticeKind.IGNORED, f"{event.value} in {s.state.value}"),)
    new, outputs = row.run(s, inp, rng, clock)
    if new.state not in row.next_states:
        raise UnhandledTransition(f"{row.handler_name} went to {new.state.value}")
    return new, outputs


_MESSAGE_EVENTS = {
    MessageType.IDENTITY: Event.IDENTITY,
    MessageType.AUTH_R: Event.AUTH_R,
    MessageType.AUTH_I: Event.AUTH_I,
    MessageType.NON_INTERACTIVE_AUTH: Event.NON_INTERACTIVE_AUTH,
    MessageType.DATA: Event.DATA,
}


def receive(s: Session, text: str, rng: Rng, clock: Clock) -> Result:
    """Classify a received (already reassembled) text and run its event.

    Raises the decoding errors of :mod:`otrv4.encoding` for a malformed
    ``?OTR:`` message (a data message that fails to decode is answered with
    ERROR_1 instead), and what :func:`step` raises.
    """
    kind = classify(text)
    if kind is MessageKind.ENCODED:
        data = decode_encoded_message(text)
        mtype = peek_message_type(data)
        if mtype is MessageType.PREKEY:
            return s, (Notice(NoticeKind.IGNORED, "a Prekey message is not sent to a peer"),)
        event = _MESSAGE_EVENTS[mtype]
        if event is Event.DATA:
            try:
                message = DataMessage.decode(data)
            except DecodeError as e:
                return s, (Notice(NoticeKind.UNREADABLE, str(e)),
                           Send(encode_error(ErrorCode.UNREADABLE_MESSAGE)))
            return step(s, event, message, rng, clock)
        return step(s, event, data, rng, clock)
    if kind is MessageKind.FRAGMENT:
        return s, (Notice(NoticeKind.IGNORED, "fragments must be reassembled first"),)
    event = {
        MessageKind.ERROR: Event.ERROR, MessageKind.QUERY: Event.QUERY,
        MessageKind.WHITESPACE_TAGGED: Event.TAGGED_PLAINTEXT,
        MessageKind.PLAINTEXT: Event.PLAINTEXT,
    }[kind]
    return step(s, event, text, rng, clock)

