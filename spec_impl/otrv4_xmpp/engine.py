"""One device's OTRv4 conversations with other devices, on the session state machine.

An XMPP account may run several devices; each device is an OTRv4 *instance*
with its own long-term key, forging key, Client Profile and instance tag
(``otrv4.md`` §Instance Tags, §Client Profile).  A conversation is always
between two instances, and each is one :class:`otrv4.session.Session` (the
protocol state machine: DAKE, data messages, SMP, heartbeats, expiry, error
messages).  This module only keeps those sessions apart:

* established and in-progress sessions are keyed by the peer's bare JID and
  instance tag;
* a DAKE this device starts before it knows the peer device's instance tag
  (an Identity message to a full JID, receiver tag 0) is kept *pending* under
  that full JID until the DAKE tells the tag.

It is transport-free: every call returns an :class:`Outcome` (binary OTRv4
messages and OTR text messages to send to that device, text to show,
notices) and the slixmpp plugin (:mod:`otrv4_xmpp.slixmpp_plugin.plugin`) moves them
in stanzas.  A call that
raises changes nothing: a session is replaced only by the value
:func:`otrv4.session.step` returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from otrv4 import dake
from otrv4.clock import Clock
from otrv4.data_message import DataMessage
from otrv4.encoding import (
    MessageType,
    decode_encoded_message,
    peek_message_type,
    read_instance_tags,
)
from otrv4.errors import OTRError, ValidationError
from otrv4.instance_tag import generate_instance_tag
from otrv4.keys import ForgingKey, fingerprint, format_fingerprint
from otrv4.modes import Mode
from otrv4.prekeys import LocalPrekeys, PrekeyEnsemble, PrekeySecret, generate_prekey_message
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.rng import Rng
from otrv4.profiles import DEFAULT_PROFILE_LIFETIME, ClientProfile, PrekeyProfile
from otrv4.session import (
    ApplicationTLVs,
    Display,
    Event,
    Notice,
    NoticeKind,
    OfflineStart,
    ProtocolState,
    Send,
    Session,
    SessionConfig,
    SmpRequest,
    SmpUpdate,
    UserMessage,
    new_session,
    step,
)
from otrv4.smp import SmpOutcome
from prekey_server.dake import PublisherIdentity
from prekey_server.publication import SharedPrekey

from .sce import SCE_TLV_TYPE
from .trust import DeviceInfo, Trust, TrustLevel, profile_fingerprint

__all__ = [
    "DeviceEngine",
    "DeviceIdentity",
    "NoSessionError",
    "NotAConversationMessageError",
    "Outcome",
    "PairSession",
    "bare_of",
]


class NoSessionError(OTRError):
    """No session with that device (bare JID and instance tag)."""


class NotAConversationMessageError(ValidationError):
    """A message type that is not exchanged between two devices (a Prekey message)."""


def bare_of(jid: str) -> str:
    """The bare JID of ``jid`` (``local@domain``), lower-cased as XMPP compares them."""
    return jid.partition("/")[0].lower()


@dataclass(frozen=True)
class DeviceIdentity:
    """A device's long-term OTRv4 material (§Public keys…, §Client Profile).

    The instance tag is the Client Profile's owner tag.  :meth:`generate`
    makes everything from ``rng`` (instance tag, identity key, forging key,
    shared prekey) and signs a Client Profile and a Prekey Profile that expire
    ``lifetime`` seconds after ``clock.now()`` (§Creating a Client Profile,
    §Creating a Prekey Profile).
    """

    keypair: EdDSAKeyPair = field(repr=False)
    forging_key: ForgingKey = field(repr=False)
    client_profile: ClientProfile = field(repr=False)
    shared_prekey: EdDSAKeyPair = field(repr=False)
    prekey_profile: PrekeyProfile = field(repr=False)
    mode: Mode = Mode.STANDALONE

    @classmethod
    def generate(cls, rng: Rng, clock: Clock, *, instance_tag: int | None = None,
                 lifetime: int = DEFAULT_PROFILE_LIFETIME,
                 mode: Mode = Mode.STANDALONE) -> DeviceIdentity:
        """New keys and profiles (draws: tag unless given, identity key, forging key,
        shared prekey).

        Raises :class:`otrv4.profiles.InvalidProfileOwnerTagError` for a tag below 0x100.
        """
        tag = generate_instance_tag(rng) if instance_tag is None else instance_tag
        keypair = EdDSAKeyPair.generate(rng)
        forging = ForgingKey.generate(rng)
        expires = clock.now() + lifetime
        profile = ClientProfile.create(keypair, forging, tag, expires)
        shared = EdDSAKeyPair.generate(rng)
        prekey_profile = PrekeyProfile.create(keypair, shared, tag, expires)
        return cls(keypair, forging, profile, shared, prekey_profile, mode)

    def local_prekeys(self) -> LocalPrekeys:
        """The prekey owner's local material, with no one-time prekey yet."""
        return LocalPrekeys((self.client_profile,), ((self.prekey_profile, self.shared_prekey),))

    @property
    def instance_tag(self) -> int:
        """This device's instance tag."""
        return self.client_profile.owner_tag

    @property
    def expires(self) -> int:
        """When the Client Profile expires (seconds since the epoch)."""
        return self.client_profile.expiration

    @property
    def fingerprint(self) -> str:
        """The fingerprint people compare (§Public keys…), formatted."""
        return format_fingerprint(fingerprint(self.keypair.public, self.forging_key.public))

    def participant(self) -> dake.Participant:
        """What :mod:`otrv4.dake` needs of us."""
        return dake.Participant(self.keypair, self.forging_key.public, self.client_profile)

    def publisher(self, account: str) -> PublisherIdentity:
        """What the prekey-server client needs of us to publish for ``account`` (a bare JID)."""
        return PublisherIdentity(bare_of(account), self.instance_tag, self.keypair,
                                 self.client_profile)

    def shared(self) -> SharedPrekey:
        """The Prekey Profile with its shared prekey pair (published with the proofs)."""
        return SharedPrekey(self.prekey_profile, self.shared_prekey)


@dataclass
class PairSession:
    """The conversation with one device of one account: its state machine and the full
    JID it was last seen at (where live answers go)."""

    peer: str
    """The peer's bare JID."""
    full_jid: str
    session: Session = field(repr=False)

    @property
    def their_tag(self) -> int:
        """The peer device's instance tag (0 until the DAKE tells it)."""
        return self.session.their_tag

    @property
    def encrypted(self) -> bool:
        """Whether the session is in ENCRYPTED_MESSAGES."""
        return self.session.state is ProtocolState.ENCRYPTED_MESSAGES

    @property
    def state(self) -> ProtocolState:
        return self.session.state

    @property
    def ssid(self) -> bytes:
        """The Secure Session ID of the last DAKE (empty before one completed)."""
        return self.session.ssid or b""

    @property
    def fingerprint(self) -> str:
        """The peer device's fingerprint, formatted for people ("" before a DAKE)."""
        fp = self.session.their_fingerprint
        return format_fingerprint(fp) if fp else ""


@dataclass(frozen=True)
class Outcome:
    """What one step produced for one device.

    ``payloads``: binary OTRv4 messages to send to it; ``texts``: OTR text
    messages (error messages) to send to it; ``displays``: decrypted text for
    the user; ``notices``: the state machine's notices; ``established``: the
    session, when this step completed a DAKE; ``ended``: the peer (or we) ended
    the conversation (TLV 1 or expiry); ``envelopes``: the SCE envelopes (XEP-0420)
    the data message carried, each marked by the binding's TLV
    (:data:`otrv4_xmpp.sce.SCE_TLV_TYPE`), as UTF-8 XML not yet parsed;
    ``smp``: the SMP progress of this step (a question to answer, success, failure,
    abort; a success marked the device verified); ``trust``: the peer device's trust
    level after this step (``None`` before its fingerprint is known).
    """

    pair: PairSession | None
    payloads: tuple[bytes, ...] = ()
    texts: tuple[str, ...] = ()
    displays: tuple[str, ...] = ()
    notices: tuple[Notice, ...] = ()
    established: bool = False
    ended: bool = False
    envelopes: tuple[bytes, ...] = ()
    smp: tuple[SmpUpdate, ...] = ()
    trust: TrustLevel | None = None


_EVENTS = {
    MessageType.IDENTITY: Event.IDENTITY,
    MessageType.AUTH_R: Event.AUTH_R,
    MessageType.AUTH_I: Event.AUTH_I,
    MessageType.NON_INTERACTIVE_AUTH: Event.NON_INTERACTIVE_AUTH,
    MessageType.DATA: Event.DATA,
}


class DeviceEngine:
    """All OTRv4 conversations of one device (one instance tag).

    ``own_jid``: the account's bare JID (``phi'`` uses the bare JIDs, decision 8).
    ``local_prekeys``: the secrets of this device's published prekeys (for
    Non-Interactive-Auth messages; default: the identity's profiles, no prekey).
    ``trust``: the :class:`~otrv4_xmpp.trust.Trust` asked before every encryption to
    a device (default: in memory, blind trust before verification).
    Randomness and time come from ``rng`` and ``clock``.
    """

    def __init__(self, identity: DeviceIdentity, own_jid: str, *, rng: Rng, clock: Clock,
                 config: SessionConfig | None = None,
                 local_prekeys: LocalPrekeys | None = None,
                 trust: Trust | None = None) -> None:
        self.local_prekeys: LocalPrekeys
        self.identity = identity
        self.own_jid = bare_of(own_jid)
        self.rng = rng
        self.clock = clock
        self.config = config or SessionConfig()
        self.local_prekeys = local_prekeys if local_prekeys is not None \
            else identity.local_prekeys()
        self.sessions: dict[tuple[str, int], PairSession] = {}
        self.pending: dict[str, PairSession] = {}
        self.trust = trust if trust is not None else Trust(clock=clock)

    @property
    def instance_tag(self) -> int:
        """This device's instance tag."""
        return self.identity.instance_tag

    def _ctx(self, peer: str) -> dake.DakeContext:
        return dake.DakeContext(self.identity.participant(), self.own_jid, bare_of(peer),
                                self.clock, self.identity.mode)

    def _new(self, full_jid: str) -> PairSession:
        return PairSession(bare_of(full_jid), full_jid,
                           new_session(self._ctx(full_jid), self.config, self.local_prekeys))

    # -- lookups ----------------------------------------------------------------------------

    def session(self, peer: str, tag: int) -> PairSession:
        """The session with device ``tag`` of ``peer``.  Raises :class:`NoSessionError`."""
        found = self.sessions.get((bare_of(peer), tag))
        if found is None:
            raise NoSessionError(f"no OTRv4 session with {bare_of(peer)} instance {tag:08x}")
        return found

    def has_session(self, peer: str, tag: int) -> bool:
        """Whether the conversation with device ``tag`` of ``peer`` is encrypted."""
        found = self.sessions.get((bare_of(peer), tag))
        return found is not None and found.encrypted

    def tags_with_sessions(self, peer: str) -> list[int]:
        """The instance tags of ``peer`` with an encrypted conversation, sorted."""
        b = bare_of(peer)
        return sorted(tag for (p, tag), s in self.sessions.items() if p == b and s.encrypted)

    def at_full_jid(self, full_jid: str) -> PairSession | None:
        """The encrypted session last seen at ``full_jid``, if any."""
        found = [s for s in self.sessions.values() if s.full_jid == full_jid and s.encrypted]
        return found[-1] if found else None

    def dake_in_progress(self, full_jid: str) -> bool:
        """Whether a DAKE with the device at ``full_jid`` waits for its next message."""
        waiting = (ProtocolState.WAITING_AUTH_R, ProtocolState.WAITING_AUTH_I)
        pending = self.pending.get(full_jid)
        if pending is not None and pending.state in waiting:
            return True
        return any(s.full_jid == full_jid and s.state in waiting
                   for s in self.sessions.values())

    # -- stepping ---------------------------------------------------------------------------

    def _run(self, pair: PairSession, event: Event, inp: object) -> Outcome:
        if pair.session.local_prekeys is not self.local_prekeys:
            pair.session = _with_prekeys(pair.session, self.local_prekeys)
        was_encrypted = pair.encrypted
        new, outputs = step(pair.session, event, inp, self.rng, self.clock)
        pair.session = new
        if event is Event.NON_INTERACTIVE_AUTH and new.local_prekeys is not None:
            self.local_prekeys = new.local_prekeys
        payloads: list[bytes] = []
        texts: list[str] = []
        displays: list[str] = []
        notices: list[Notice] = []
        envelopes: list[bytes] = []
        smp_updates: list[SmpUpdate] = []
        for out in outputs:
            if isinstance(out, Send):
                if out.text.startswith("?OTR:"):
                    payloads.append(decode_encoded_message(out.text))
                else:
                    texts.append(out.text)
            elif isinstance(out, Display):
                displays.append(out.text)
            elif isinstance(out, Notice):
                notices.append(out)
            elif isinstance(out, ApplicationTLVs):
                envelopes.extend(t.value for t in out.tlvs if t.type == SCE_TLV_TYPE)
            elif isinstance(out, SmpUpdate):
                smp_updates.append(out)
        established = any(n.kind is NoticeKind.ENCRYPTED for n in notices)
        ended = any(n.kind in (NoticeKind.DISCONNECTED, NoticeKind.EXPIRED) for n in notices) \
            or (was_encrypted and new.state in (ProtocolState.FINISHED, ProtocolState.START))
        self._file(pair)
        level = self._note_trust(pair, established or bool(displays or envelopes),
                                 smp_updates)
        return Outcome(pair, tuple(payloads), tuple(texts), tuple(displays), tuple(notices),
                       established, ended, tuple(envelopes), tuple(smp_updates), level)

    def _note_trust(self, pair: PairSession, seen: bool,
                    updates: list[SmpUpdate]) -> TrustLevel | None:
        """Record a device seen (a DAKE completed or a message came) and an SMP success
        (verified); the device's level, ``None`` while its fingerprint is unknown."""
        fp, tag = pair.fingerprint, pair.their_tag
        if not fp or not tag:
            return None
        if any(u.outcome is SmpOutcome.SUCCEEDED for u in updates):
            return self.trust.decide(pair.peer, tag, TrustLevel.VERIFIED, fp).level
        if seen:
            return self.trust.seen(pair.peer, tag, fp).level
        return self.trust.level(pair.peer, tag, fp)

    def _file(self, pair: PairSession) -> None:
        """Keep ``pair`` under (bare JID, tag) once its tag is known."""
        tag = pair.their_tag
        if tag:
            if self.pending.get(pair.full_jid) is pair:
                del self.pending[pair.full_jid]
            self.sessions[(pair.peer, tag)] = pair

    def start_dake(self, full_jid: str) -> Outcome:
        """§Starting a conversation interactively with the device at ``full_jid``: the
        Identity message (receiver tag 0 unless a session there tells the tag)."""
        pair = self.at_full_jid(full_jid) or self.pending.get(full_jid)
        if pair is None:
            pair = self._new(full_jid)
            self.pending[full_jid] = pair
        return self._run(pair, Event.USER_START_INTERACTIVE, None)

    def receive(self, full_jid: str, data: bytes) -> Outcome:
        """A binary OTRv4 message from the device at ``full_jid`` (any of Identity, Auth-R,
        Auth-I, Non-Interactive-Auth, Data), run through that pair's state machine.

        Identity/Auth-R/Auth-I go to a DAKE this device started with that full JID
        when there is one, else to the session with the sender's tag (a new one if
        none).  Data messages go only to the session with the sender's tag.
        Raises the header errors of :mod:`otrv4.encoding`,
        :class:`NotAConversationMessageError`, :class:`NoSessionError` (a data
        message from a device we have no session with) and the decoding errors of
        :meth:`otrv4.data_message.DataMessage.decode`.
        """
        mtype = peek_message_type(data)
        event = _EVENTS.get(mtype)
        if event is None:
            raise NotAConversationMessageError(f"a {mtype.spec_name} is not sent to a device")
        sender_tag, _ = read_instance_tags(data)
        peer = bare_of(full_jid)
        if event is Event.DATA:
            message = DataMessage.decode(data)
            known = self.session(peer, message.sender_tag)
            known.full_jid = full_jid if "/" in full_jid else known.full_jid
            return self._run(known, event, message)
        pair: PairSession | None = None
        if event in (Event.IDENTITY, Event.AUTH_R, Event.AUTH_I):
            pair = self.pending.get(full_jid)
        if pair is None:
            pair = self.sessions.get((peer, sender_tag))
        if pair is None:
            pair = self._new(full_jid)
            if event is Event.NON_INTERACTIVE_AUTH:
                self.sessions[(peer, sender_tag)] = pair
            else:
                self.pending[full_jid] = pair
        elif "/" in full_jid:
            pair.full_jid = full_jid
        return self._run(pair, event, data)

    def receive_error(self, full_jid: str, text: str) -> Outcome:
        """An OTR Error message (``?OTR Error:``) from ``full_jid``: shown through the
        session last seen there.  Raises :class:`NoSessionError`."""
        pair = self.at_full_jid(full_jid) or self.pending.get(full_jid)
        if pair is None:
            raise NoSessionError(f"no session at {full_jid}")
        return self._run(pair, Event.ERROR, text)

    def send(self, peer: str, tag: int, text: str | UserMessage) -> Outcome:
        """§Sending a Data Message to device ``tag`` of ``peer`` (queued by the state
        machine while not encrypted): ``text``, or a :class:`~otrv4.session.UserMessage`
        with TLVs (:func:`otrv4_xmpp.sce.sce_message` makes one that carries an SCE
        envelope).  The device's trust is checked first
        (:meth:`otrv4_xmpp.trust.Trust.check`; a session whose fingerprint is not known
        yet counts as an undecided device).  Raises :class:`NoSessionError`,
        :class:`~otrv4_xmpp.trust.UntrustedDeviceError` and the ratchet's encryption
        errors."""
        pair = self.session(peer, tag)
        self.trust.check(pair.peer, tag, pair.fingerprint)
        return self._run(pair, Event.USER_SEND, text)

    def send_offline(self, peer: str, ensemble: PrekeyEnsemble,
                     text: str | UserMessage) -> Outcome:
        """§Sending a Data Message to an offline participant: a Non-Interactive-Auth
        message from ``ensemble`` (validated by :mod:`otrv4.xzdh`), then ``text``.
        The session is filed under the ensemble's instance tag.  The trust in the
        device the ensemble's Client Profile describes is checked first.  Raises
        :class:`~otrv4_xmpp.trust.UntrustedDeviceError`."""
        tag = ensemble.instance_tag
        self.trust.check(bare_of(peer), tag, profile_fingerprint(ensemble.client_profile))
        pair = self.sessions.get((bare_of(peer), tag))
        if pair is None:
            pair = PairSession(bare_of(peer), bare_of(peer),
                               new_session(self._ctx(peer), self.config, self.local_prekeys))
            self.sessions[(bare_of(peer), tag)] = pair
        return self._run(pair, Event.USER_SEND_OFFLINE, OfflineStart(ensemble, text))

    def end(self, peer: str, tag: int) -> Outcome:
        """§User requests to end an OTRv4 Conversation with one device (TLV 1 when
        encrypted).  Raises :class:`NoSessionError`."""
        out = self._run(self.session(peer, tag), Event.USER_END, None)
        return replace(out, ended=True)

    def may_encrypt(self, peer: str, tag: int) -> bool:
        """Whether :meth:`send` to device ``tag`` of ``peer`` passes the trust check
        (:meth:`otrv4_xmpp.trust.Trust.check`).  Raises :class:`NoSessionError`."""
        pair = self.session(peer, tag)
        fp = pair.fingerprint
        return (self.trust.allows(pair.peer, tag, fp) if fp
                else self.trust.undecided_allowed(pair.peer, tag, fp))

    # -- SMP (otrv4.md §Socialist Millionaires Protocol) ------------------------------------

    def _encrypted(self, peer: str, tag: int) -> PairSession:
        pair = self.session(peer, tag)
        if not pair.encrypted:
            raise NoSessionError(f"no encrypted session with {pair.peer} instance {tag:08x}")
        return pair

    def smp_start(self, peer: str, tag: int, secret: str, question: str = "") -> Outcome:
        """§User requests to begin SMP with device ``tag`` of ``peer``, with the shared
        ``secret`` and an optional ``question`` (SMP message 1; restarts an SMP under
        way).  Raises :class:`NoSessionError` without an encrypted session."""
        return self._run(self._encrypted(peer, tag), Event.USER_SMP_START,
                         SmpRequest(secret, question))

    def smp_answer(self, peer: str, tag: int, secret: str) -> Outcome:
        """Answer the SMP question of device ``tag`` of ``peer`` with ``secret`` (SMP
        message 2).  Raises :class:`NoSessionError` without an encrypted session."""
        return self._run(self._encrypted(peer, tag), Event.USER_SMP_ANSWER, secret)

    def smp_abort(self, peer: str, tag: int) -> Outcome:
        """§User requests to abort SMP with device ``tag`` of ``peer`` (TLV 6); both
        sides may start again.  Raises :class:`NoSessionError` without an encrypted
        session."""
        return self._run(self._encrypted(peer, tag), Event.USER_SMP_ABORT, None)

    # -- devices and trust --------------------------------------------------------------------

    def devices(self, account: str | None = None) -> list[DeviceInfo]:
        """This device (first) and every device this one has seen (of ``account`` when
        given), each with its fingerprint as otrv4.md formats it, its trust level and
        when it was last seen."""
        out: list[DeviceInfo] = []
        if account is None or bare_of(account) == self.own_jid:
            out.append(DeviceInfo(self.own_jid, self.instance_tag, self.identity.fingerprint,
                                  TrustLevel.VERIFIED, self.clock.now(), own=True))
        out += [DeviceInfo(a, t, r.fingerprint, r.level, r.last_seen)
                for a, t, r in self.trust.records(None if account is None else bare_of(account))
                if (a, t) != (self.own_jid, self.instance_tag)]
        return out

    # -- prekeys ----------------------------------------------------------------------------

    def new_prekeys(self, count: int) -> tuple[PrekeySecret, ...]:
        """``count`` new Prekey messages with identifiers unused by this device
        (otrv4.md §Prekey Message).  They are not kept yet: call :meth:`prekeys_published`
        once the prekey service confirmed them.  Raises
        :class:`~otrv4.modes.PrekeyPublicationRefusedError` in interactive-only mode."""
        existing = {p.identifier for p in self.local_prekeys.prekeys}
        out: list[PrekeySecret] = []
        for _ in range(count):
            secret = generate_prekey_message(self.rng, self.instance_tag, existing=existing,
                                             mode=self.identity.mode)
            existing.add(secret.identifier)
            out.append(secret)
        return tuple(out)

    def prekeys_published(self, secrets: tuple[PrekeySecret, ...] | list[PrekeySecret]) -> None:
        """Keep the secrets of Prekey messages the service stored, for the
        Non-Interactive-Auth messages that will use them."""
        self.local_prekeys = self.local_prekeys.with_prekeys(secrets)

    def ensembles(self, secrets: tuple[PrekeySecret, ...] | list[PrekeySecret]
                  ) -> list[PrekeyEnsemble]:
        """The Prekey Ensembles a retriever gets for ``secrets`` (otrv4.md §Prekey Ensemble)."""
        return [PrekeyEnsemble(self.identity.client_profile, self.identity.prekey_profile,
                               s.message) for s in secrets]

    def tick(self) -> list[Outcome]:
        """The timer event for every session (heartbeats, expiry, stored messages)."""
        return [self._run(p, Event.TIMER, None) for p in list(self.sessions.values())]


def _with_prekeys(s: Session, local: LocalPrekeys) -> Session:
    return replace(s, local_prekeys=local)
