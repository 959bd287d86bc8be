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

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

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
from otrv4.prekeys import LocalPrekeys, PrekeyEnsemble, PrekeySecret, generate_prekey_message
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.rng import Rng
from otrv4.profiles import (
    DEFAULT_EXTRA_VALIDITY,
    DEFAULT_PROFILE_LIFETIME,
    ClientProfile,
    PrekeyProfile,
)
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

from .device import RECEIVED_KEPT, DeviceIdentity, PairSession, bare_of
from .sce import SCE_TLV_TYPE
from .state.codec import (
    decode_identity,
    decode_note,
    decode_pair,
    decode_prekeys,
    encode_identity,
    encode_note,
    encode_pair,
    encode_prekeys,
)
from .state.errors import CorruptRecordError
from .state.store import DeviceStore
from .trust import DeviceInfo, RecordTrustStore, Trust, TrustLevel, profile_fingerprint

__all__ = [
    "RENEWAL_MARGIN",
    "DeviceEngine",
    "DeviceIdentity",
    "NoSessionError",
    "NotAConversationMessageError",
    "Outcome",
    "PairSession",
    "Undelivered",
    "bare_of",
]


class NoSessionError(OTRError):
    """No session with that device (bare JID and instance tag)."""


class NotAConversationMessageError(ValidationError):
    """A message type that is not exchanged between two devices (a Prekey message)."""


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
    delivery_ids: tuple[str, ...] = ()
    """One id per entry of ``displays`` (with a store: the id under which the plaintext
    waits in the store until acknowledged, see :meth:`DeviceEngine.acknowledge`)."""
    duplicate: bool = False
    """The message was received and handled before (a redelivery after a crash): nothing
    is shown again."""

    smp: tuple[SmpUpdate, ...] = ()
    trust: TrustLevel | None = None


@dataclass(frozen=True)
class Undelivered:
    """A plaintext committed to the store but not acknowledged by the application before
    the process stopped (:meth:`DeviceEngine.undelivered`)."""

    delivery_id: str
    peer: str
    tag: int
    text: str


#: Profiles are renewed when they expire within this many seconds (2 days of the
#: recommended week, so a device that runs at least every few days never lets them lapse).
RENEWAL_MARGIN = 2 * 24 * 3600

IDENTITY_RECORD = "identity"
PREKEYS_RECORD = "prekeys"
_INBOX = "note/inbox/"


def _digest(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


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

    ``store``: where the state is kept (:mod:`otrv4_xmpp.state`); the identity and
    prekeys are written to it at once.  Every call that changes the state commits
    the change to the store before it returns, so before the caller sends what it
    returned or shows what it decrypted; a call whose commit fails raises and
    changes nothing.  :meth:`open` resumes a device from its store.
    """

    def __init__(self, identity: DeviceIdentity, own_jid: str, *, rng: Rng, clock: Clock,
                 config: SessionConfig | None = None,
                 local_prekeys: LocalPrekeys | None = None,
                 store: DeviceStore | None = None,
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
        self.store = store
        self.trust = trust if trust is not None else Trust(
            RecordTrustStore(store) if store is not None else None, clock=clock)
        self._unacked: tuple[str, ...] = ()
        self._notes: dict[str, Any] = {}
        if store is not None:
            store.commit({IDENTITY_RECORD: encode_identity(identity),
                          PREKEYS_RECORD: encode_prekeys(self.local_prekeys)})

    @classmethod
    def open(cls, store: DeviceStore, own_jid: str, *, rng: Rng, clock: Clock,
             config: SessionConfig | None = None,
             identity: DeviceIdentity | None = None,
             trust: Trust | None = None) -> DeviceEngine:
        """The device kept in ``store``, as it was after its last committed call; an
        empty store gets ``identity`` (default: a new one, :meth:`DeviceIdentity.generate`).

        Plaintexts committed but not acknowledged are listed by :meth:`undelivered`.
        Raises :class:`~otrv4_xmpp.state.errors.CorruptRecordError`,
        :class:`~otrv4_xmpp.state.errors.NewerRecordVersionError` (naming the record;
        the store is not written) and the store's errors.
        """
        raw = store.get(IDENTITY_RECORD)
        if raw is None:
            if identity is None:
                identity = DeviceIdentity.generate(rng, clock)
            return cls(identity, own_jid, rng=rng, clock=clock, config=config, store=store,
                       trust=trust)
        stored_identity = decode_identity(raw, IDENTITY_RECORD)
        raw_prekeys = store.get(PREKEYS_RECORD)
        if raw_prekeys is None:
            raise CorruptRecordError(f"{PREKEYS_RECORD}: missing beside an identity")
        engine = cls.__new__(cls)
        engine.identity = stored_identity
        engine.own_jid = bare_of(own_jid)
        engine.rng, engine.clock = rng, clock
        engine.config = config or SessionConfig()
        engine.local_prekeys = decode_prekeys(raw_prekeys, PREKEYS_RECORD)
        engine.sessions, engine.pending = {}, {}
        engine.store = store
        engine.trust = trust if trust is not None else Trust(RecordTrustStore(store),
                                                             clock=clock)
        engine._unacked = ()
        engine._notes = {}
        for name in store.names("pair/") + store.names("pending/"):
            data = store.get(name)
            if data is None:
                continue
            pair = decode_pair(data, identity=stored_identity, own_jid=engine.own_jid,
                               clock=clock, config=engine.config,
                               local_prekeys=engine.local_prekeys, name=name)
            if name.startswith("pending/"):
                engine.pending[name.removeprefix("pending/")] = pair
            else:
                peer, _, tag = name.removeprefix("pair/").rpartition("/")
                try:
                    engine.sessions[(peer, int(tag, 16))] = pair
                except ValueError:
                    raise CorruptRecordError(f"{name}: not a record name of a pair") from None
        return engine

    # -- delivery ---------------------------------------------------------------------------

    def undelivered(self) -> list[Undelivered]:
        """The plaintexts committed but not yet acknowledged (after a crash: those the
        application may not have shown), oldest first.  Without a store: none.
        Raises :class:`~otrv4_xmpp.state.errors.CorruptRecordError`."""
        if self.store is None:
            return []
        out = []
        for name in self.store.names(_INBOX):
            data = self.store.get(name)
            if data is None:
                continue
            value = decode_note(data, name)
            try:
                out.append(Undelivered(name, str(value["peer"]), int(value["tag"]),
                                       str(value["text"])))
            except (KeyError, TypeError, ValueError):
                raise CorruptRecordError(f"{name}: malformed record") from None
        return out

    def acknowledge(self, delivery_ids: Iterable[str] | None = None) -> None:
        """The application has shown these plaintexts (default: every one returned and
        not acknowledged yet, including those of :meth:`undelivered`): forget them.  The
        next call that changes the state acknowledges those the call before returned.
        Raises the store's errors."""
        if delivery_ids is None:
            ids = self._unacked + tuple(u.delivery_id for u in self.undelivered())
        else:
            ids = tuple(delivery_ids)
        if self.store is not None and ids:
            self.store.commit({}, ids, sync=False)  # shown again at worst, same id
        self._unacked = tuple(i for i in self._unacked if i not in ids)

    # -- persistence ------------------------------------------------------------------------

    def _name_of(self, pair: PairSession) -> str | None:
        for (peer, tag), p in self.sessions.items():
            if p is pair:
                return f"pair/{peer}/{tag:08x}"
        for full, p in self.pending.items():
            if p is pair:
                return f"pending/{full}"
        return None

    def note(self, name: str) -> Any:
        """The value last given to :meth:`set_note` under ``name`` (``None`` if none).
        Raises :class:`~otrv4_xmpp.state.errors.CorruptRecordError`."""
        if self.store is None:
            return self._notes.get(name)
        data = self.store.get(f"note/{name}")
        return None if data is None else decode_note(data, f"note/{name}")

    def set_note(self, name: str, value: Any, *, sync: bool = True) -> None:
        """Keep a small JSON value of the binding under ``name`` (device lists last seen,
        trust decisions, pinned prekey-service fingerprints, the archive position, …);
        ``None`` removes it; ``sync=False`` for a value whose loss in a power failure is
        harmless (see :meth:`DeviceStore.commit`).  Raises :class:`TypeError` for a value
        JSON cannot hold and the store's errors."""
        if self.store is None:
            self._notes[name] = value
        elif value is None:
            self.store.commit({}, [f"note/{name}"], sync=sync)
        else:
            self.store.commit({f"note/{name}": encode_note(value)}, sync=sync)

    def commit_prekeys(self) -> None:
        """Write :attr:`local_prekeys` to the store (after changing it directly).  Raises
        the store's errors."""
        if self.store is not None:
            self.store.commit({PREKEYS_RECORD: encode_prekeys(self.local_prekeys)})

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

    def _run(self, pair: PairSession, event: Event, inp: object, *,
             received: tuple[int, int] | None = None, started_by: bytes = b"",
             transient: bool = False) -> Outcome:
        session = pair.session
        if session.local_prekeys is not self.local_prekeys:
            session = _with_prekeys(session, self.local_prekeys)
        was_encrypted = pair.encrypted
        new, outputs = step(session, event, inp, self.rng, self.clock)
        local = self.local_prekeys
        if event is Event.NON_INTERACTIVE_AUTH and new.local_prekeys is not None:
            local = new.local_prekeys
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
        got = pair.received
        if received is not None and new.ratchet is not session.ratchet \
                and not any(n.kind is NoticeKind.UNREADABLE for n in notices):
            got = (*got, received)[-RECEIVED_KEPT:]
        renewed = established or new.ssid != pair.session.ssid
        origin = started_by if renewed else pair.started_by
        if transient and new.state is not ProtocolState.ENCRYPTED_MESSAGES:
            # a Non-Interactive-Auth message that did not start a session leaves no trace
            return Outcome(pair, tuple(payloads), tuple(texts), (), tuple(notices),
                           envelopes=tuple(envelopes))
        after = PairSession(pair.peer, pair.full_jid, new, got, pair.delivered + len(displays),
                            origin)
        delivery_ids = self._commit(pair, after, local, displays,
                                    sync=bool(payloads or texts))
        pair.session, pair.received, pair.started_by = new, got, origin
        pair.delivered = after.delivered
        self.local_prekeys = local
        self._file(pair)
        level = self._note_trust(pair, established or bool(displays or envelopes),
                                 smp_updates)
        return Outcome(pair, tuple(payloads), tuple(texts), tuple(displays), tuple(notices),
                       established, ended, tuple(envelopes), delivery_ids,
                       smp=tuple(smp_updates), trust=level)


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


    def _commit(self, pair: PairSession, after: PairSession, local: LocalPrekeys,
                displays: list[str], *, sync: bool) -> tuple[str, ...]:
        """Store ``after`` (the pair once this step is applied), the prekeys if they
        changed, and ``displays`` as undelivered plaintexts; acknowledge those of the
        call before.  Returns the delivery ids.  Nothing in memory changes before the
        commit succeeded."""
        tag = after.their_tag
        ids = tuple(f"{_INBOX}{after.peer}/{tag:08x}/{pair.delivered + n + 1:010d}"
                    for n in range(len(displays)))
        if self.store is None:
            return ids
        old_name = self._name_of(pair)
        new_name = f"pair/{after.peer}/{tag:08x}" if tag \
            else (old_name or f"pending/{pair.full_jid}")
        puts = {new_name: encode_pair(after)}
        deletes = list(self._unacked)
        if old_name is not None and old_name != new_name:
            deletes.append(old_name)
        if local is not self.local_prekeys:
            puts[PREKEYS_RECORD] = encode_prekeys(local)
        for i, text in zip(ids, displays, strict=True):
            puts[i] = encode_note({"peer": after.peer, "tag": tag, "text": text})
        self.store.commit(puts, deletes, sync=sync)
        self._unacked = ids
        return ids

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
            key = (message.ratchet_id, message.message_id)
            ratchet = known.session.ratchet
            if key in known.received or (ratchet is not None and not ratchet.expired
                                         and ratchet.key_gone(*key)):
                return _duplicate(known, f"data message {key} of {peer} "
                                         f"{message.sender_tag:08x}")
            return self._run(known, event, message, received=key)
        started_by = b""
        if event is Event.NON_INTERACTIVE_AUTH:
            started_by = _digest(data)
            known_pair = self.sessions.get((peer, sender_tag))
            if known_pair is not None and known_pair.started_by == started_by:
                return _duplicate(known_pair, f"Non-Interactive-Auth message of {peer} "
                                              f"{sender_tag:08x}")
        pair: PairSession | None = None
        if event in (Event.IDENTITY, Event.AUTH_R, Event.AUTH_I):
            pair = self.pending.get(full_jid)
        if pair is None:
            pair = self.sessions.get((peer, sender_tag))
        transient = False
        if pair is None:
            pair = self._new(full_jid)
            if event is Event.NON_INTERACTIVE_AUTH:
                transient = True  # kept only if the DAKE completes
            else:
                self.pending[full_jid] = pair
        elif "/" in full_jid:
            pair.full_jid = full_jid
        return self._run(pair, event, data, started_by=started_by, transient=transient)

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

    # -- key lifecycle ----------------------------------------------------------------------

    def profiles_due(self, margin: int = RENEWAL_MARGIN) -> bool:
        """Whether the Client Profile or the Prekey Profile expires within ``margin``
        seconds (or has expired).  Raises nothing."""
        now = self.clock.now()
        ident = self.identity
        return min(ident.client_profile.expiration, ident.prekey_profile.expiration) \
            - now <= margin

    def renew_profiles(self, *, lifetime: int = DEFAULT_PROFILE_LIFETIME,
                       margin: int = RENEWAL_MARGIN, force: bool = False) -> bool:
        """Renew this device's profiles when :meth:`profiles_due` (or ``force``):
        a new Client Profile (same keys and instance tag) and a new Prekey Profile
        with a new shared prekey, both expiring ``lifetime`` seconds from now
        (otrv4.md §Client Profile, §Prekey Profile: publish before expiry).  The
        previous profiles stay in :attr:`local_prekeys` while they are valid,
        including the spec's extra local validity (``DEFAULT_EXTRA_VALIDITY``), so
        that Non-Interactive-Auth messages built from an ensemble of the old ones
        still decrypt (overlapping validity); expired ones are dropped.  The
        identity and prekeys are committed together.  Returns whether it renewed;
        the caller republishes the device list entry and the profiles.  Raises the
        store's errors (then nothing changed)."""
        now = self.clock.now()
        local = self.local_prekeys
        keep_cp = tuple(p for p in local.client_profiles
                        if p.expiration + DEFAULT_EXTRA_VALIDITY > now)
        keep_pp = tuple((p, k) for p, k in local.prekey_profiles
                        if p.expiration + DEFAULT_EXTRA_VALIDITY > now)
        ident = self.identity
        if not force and not self.profiles_due(margin):
            if (keep_cp, keep_pp) != (local.client_profiles, local.prekey_profiles):
                self._set_prekeys(LocalPrekeys(keep_cp, keep_pp, local.prekeys))
            return False
        expires = now + lifetime
        shared = EdDSAKeyPair.generate(self.rng)
        client = ClientProfile.create(ident.keypair, ident.forging_key, ident.instance_tag,
                                      expires)
        prekey_profile = PrekeyProfile.create(ident.keypair, shared, ident.instance_tag,
                                              expires)
        renewed = replace(ident, client_profile=client, shared_prekey=shared,
                          prekey_profile=prekey_profile)
        new_local = LocalPrekeys((client, *keep_cp), ((prekey_profile, shared), *keep_pp),
                                 local.prekeys)
        if self.store is not None:
            self.store.commit({IDENTITY_RECORD: encode_identity(renewed),
                               PREKEYS_RECORD: encode_prekeys(new_local)})
        self.identity, self.local_prekeys = renewed, new_local
        return True

    # -- prekeys ----------------------------------------------------------------------------

    def new_prekeys(self, count: int) -> tuple[PrekeySecret, ...]:
        """``count`` new Prekey messages with identifiers unused by this device
        (otrv4.md §Prekey Message).  Their secrets are kept (and committed to the store) at
        once, before they can reach the service, so that no prekey a peer may draw is
        ever without its secret; :meth:`prekeys_published` is then a no-op for them.
        Raises :class:`~otrv4.modes.PrekeyPublicationRefusedError` in interactive-only
        mode and the store's errors."""
        existing = {p.identifier for p in self.local_prekeys.prekeys}
        out: list[PrekeySecret] = []
        for _ in range(count):
            secret = generate_prekey_message(self.rng, self.instance_tag, existing=existing,
                                             mode=self.identity.mode)
            existing.add(secret.identifier)
            out.append(secret)
        self._set_prekeys(self.local_prekeys.with_prekeys(out))
        return tuple(out)

    def prekeys_published(self, secrets: tuple[PrekeySecret, ...] | list[PrekeySecret]) -> None:
        """Keep the secrets of Prekey messages the service stored, for the
        Non-Interactive-Auth messages that will use them (those already kept, e.g.
        made by :meth:`new_prekeys`, are not added twice).  Raises the store's errors."""
        have = {p.identifier for p in self.local_prekeys.prekeys}
        new = [p for p in secrets if p.identifier not in have]
        if new:
            self._set_prekeys(self.local_prekeys.with_prekeys(new))

    def _set_prekeys(self, local: LocalPrekeys) -> None:
        if self.store is not None:
            self.store.commit({PREKEYS_RECORD: encode_prekeys(local)})
        self.local_prekeys = local

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


def _duplicate(pair: PairSession, what: str) -> Outcome:
    """The outcome of a message handled before: nothing to send or show."""
    return Outcome(pair, notices=(Notice(NoticeKind.IGNORED, f"duplicate: {what} was "
                                         "received before (or its key is no longer kept)"),),
                   duplicate=True)
