"""One device's OTRv4 conversations with other devices (the plugin's session engine).

An XMPP account may run several devices; each device is an OTRv4 *instance*
with its own long-term key, forging key, Client Profile and instance tag
(``otrv4.md`` §Instance Tags, §Client Profile).  A conversation is always
between two instances: this module keeps, for one device, the interactive
DAKEs in progress (keyed by the full JID they run with, because the peer's
instance tag may still be unknown when the Identity message is sent) and the
established double ratchets (keyed by the peer's bare JID and instance tag).

It is transport-free: the plugin (:mod:`.plugin`) moves the bytes it returns
in stanzas.  It composes the protocol modules: :mod:`otrv4.dake` (Identity,
Auth-R, Auth-I and the tie-break), :mod:`otrv4.ratchet` (§Data Exchange),
:mod:`otrv4.tlv` (§TLV Record Types: text, padding, disconnect).

Every failing call raises and changes nothing: a DAKE state or ratchet is
replaced only after the protocol function returned.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from otrv4 import dake
from otrv4.clock import Clock
from otrv4.data_message import DataMessage
from otrv4.encoding import MessageType, peek_message_type
from otrv4.errors import OTRError, ValidationError
from otrv4.instance_tag import UNKNOWN_RECEIVER, generate_instance_tag
from otrv4.keys import ForgingKey, fingerprint, format_fingerprint
from otrv4.modes import Mode
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.rng import Rng
from otrv4.profiles import DEFAULT_PROFILE_LIFETIME, ClientProfile
from otrv4.ratchet import DoubleRatchet, RatchetInit, RatchetLimits
from otrv4.tlv import TLV, TLVType, decode_payload, disconnected, encode_payload

__all__ = [
    "Conversations",
    "DakeOutcome",
    "DeviceIdentity",
    "NoSessionError",
    "NotADakeMessageError",
    "PairSession",
    "Received",
    "bare_of",
]


class NoSessionError(OTRError):
    """No established session with that device (bare JID and instance tag)."""


class NotADakeMessageError(ValidationError):
    """An interactive-DAKE entry point received a message of another type."""


def bare_of(jid: str) -> str:
    """The bare JID of ``jid`` (``local@domain``), lower-cased as XMPP compares them."""
    return jid.partition("/")[0].lower()


@dataclass(frozen=True)
class DeviceIdentity:
    """A device's long-term OTRv4 material (§Public keys…, §Client Profile).

    The instance tag is the Client Profile's owner tag.  :meth:`generate`
    makes everything from ``rng`` (instance tag, identity key, forging key)
    and signs a profile that expires ``lifetime`` seconds after ``clock.now()``.
    """

    keypair: EdDSAKeyPair = field(repr=False)
    forging_key: ForgingKey = field(repr=False)
    client_profile: ClientProfile = field(repr=False)
    mode: Mode = Mode.STANDALONE

    @classmethod
    def generate(cls, rng: Rng, clock: Clock, *, instance_tag: int | None = None,
                 lifetime: int = DEFAULT_PROFILE_LIFETIME,
                 mode: Mode = Mode.STANDALONE) -> DeviceIdentity:
        """New keys and profile (draws: tag unless given, identity key, forging key).

        Raises :class:`otrv4.profiles.InvalidProfileOwnerTagError` for a tag below 0x100.
        """
        tag = generate_instance_tag(rng) if instance_tag is None else instance_tag
        keypair = EdDSAKeyPair.generate(rng)
        forging = ForgingKey.generate(rng)
        profile = ClientProfile.create(keypair, forging, tag, clock.now() + lifetime)
        return cls(keypair, forging, profile, mode)

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


@dataclass
class PairSession:
    """An established conversation with one device of one account."""

    peer: str
    """The peer's bare JID."""
    their_tag: int
    full_jid: str
    """The full JID the DAKE ran with (where an online reply goes)."""
    ratchet: DoubleRatchet = field(repr=False)
    their_profile: ClientProfile = field(repr=False)
    ssid: bytes

    @property
    def fingerprint(self) -> str:
        """The peer device's fingerprint, formatted for people."""
        p = self.their_profile
        return format_fingerprint(fingerprint(p.public_key, p.forging_key))


@dataclass(frozen=True)
class DakeOutcome:
    """What an interactive DAKE message led to: bytes to send back (to the same full
    JID), and the session when the DAKE completed."""

    send: bytes | None
    established: PairSession | None


@dataclass(frozen=True)
class Received:
    """A decrypted data message."""

    peer: str
    sender_tag: int
    text: str
    tlvs: tuple[TLV, ...]
    ended: bool
    """The peer sent TLV 1 (disconnected): this pair's session is gone."""


class Conversations:
    """All OTRv4 conversations of one device (one instance tag).

    ``own_jid``: the account's bare JID (``phi'`` uses the bare JIDs, decision 8).
    Randomness and time come from ``rng`` and ``clock``.
    """

    def __init__(self, identity: DeviceIdentity, own_jid: str, *, rng: Rng, clock: Clock,
                 limits: RatchetLimits | None = None) -> None:
        self.identity = identity
        self.own_jid = bare_of(own_jid)
        self.rng = rng
        self.clock = clock
        self.limits = limits
        self.dakes: dict[str, dake.DakeState] = {}
        self.sessions: dict[tuple[str, int], PairSession] = {}

    @property
    def instance_tag(self) -> int:
        """This device's instance tag."""
        return self.identity.instance_tag

    def _ctx(self, peer: str) -> dake.DakeContext:
        return dake.DakeContext(self.identity.participant(), self.own_jid, bare_of(peer),
                                self.clock, self.identity.mode)

    # -- interactive DAKE -------------------------------------------------------------------

    def start_dake(self, full_jid: str, receiver_tag: int = UNKNOWN_RECEIVER) -> bytes:
        """§Identity Message: begin a DAKE with the device at ``full_jid``; the encoded
        Identity message to send there.  Replaces a DAKE in progress with it.

        Raises :class:`otrv4.modes.ModeRefusalError` subclasses only for modes that
        forbid the interactive DAKE (none do).
        """
        step = dake.start(self._ctx(full_jid), self.rng, receiver_tag)
        assert step.send is not None  # start always sends
        self.dakes[full_jid] = step.state
        return step.send.encode()

    def dake_in_progress(self, full_jid: str) -> bool:
        """Whether we sent an Identity or Auth-R to ``full_jid`` and wait for the answer."""
        return not isinstance(self.dakes.get(full_jid, dake.START), dake.DakeStart)

    def receive_dake(self, full_jid: str, data: bytes) -> DakeOutcome:
        """§Receiving an Identity / Auth-R / Auth-I Message from the device at ``full_jid``.

        Returns the answer to send back and, when the DAKE completed, the new
        :class:`PairSession` (which replaces an older one with the same tag).
        Raises what :func:`otrv4.dake.receive` raises and
        :class:`NotADakeMessageError`; nothing changes then.
        """
        mtype = peek_message_type(data)
        if mtype not in (MessageType.IDENTITY, MessageType.AUTH_R, MessageType.AUTH_I):
            raise NotADakeMessageError(f"{mtype.spec_name} is not an interactive DAKE message")
        state = self.dakes.get(full_jid, dake.START)
        step = dake.receive(self._ctx(full_jid), state, data, self.rng)
        established = None
        if step.result is not None:
            result = step.result
            established = PairSession(
                bare_of(full_jid), result.their_instance_tag, full_jid,
                DoubleRatchet(RatchetInit.from_dake(result), self.limits),
                result.their_client_profile, result.ssid)
            self.sessions[(established.peer, established.their_tag)] = established
            self.dakes.pop(full_jid, None)
        else:
            self.dakes[full_jid] = step.state
        return DakeOutcome(None if step.send is None else step.send.encode(), established)

    # -- data messages ----------------------------------------------------------------------

    def session(self, peer: str, tag: int) -> PairSession:
        """The session with device ``tag`` of ``peer``.  Raises :class:`NoSessionError`."""
        found = self.sessions.get((bare_of(peer), tag))
        if found is None:
            raise NoSessionError(f"no OTRv4 session with {bare_of(peer)} instance {tag:08x}")
        return found

    def has_session(self, peer: str, tag: int) -> bool:
        """Whether a session with device ``tag`` of ``peer`` is established."""
        return (bare_of(peer), tag) in self.sessions

    def tags_with_sessions(self, peer: str) -> list[int]:
        """The instance tags of ``peer`` we have sessions with, sorted."""
        b = bare_of(peer)
        return sorted(tag for (p, tag) in self.sessions if p == b)

    def encrypt(self, peer: str, tag: int, text: str, tlvs: tuple[TLV, ...] = ()) -> bytes:
        """§When you send a Data Message: the encoded data message for device ``tag``.

        Raises :class:`NoSessionError`, the errors of
        :meth:`otrv4.ratchet.DoubleRatchet.encrypt` and of
        :func:`otrv4.tlv.encode_payload`.
        """
        s = self.session(peer, tag)
        return s.ratchet.encrypt(encode_payload(text, tlvs), self.rng).message.encode()

    def decrypt(self, peer: str, data: bytes) -> Received:
        """§When you receive a Data Message from an account: pick the session by the
        message's sender tag, verify, decrypt and split text and TLVs.

        A TLV 1 (disconnected) ends this pair's session only.  Raises the
        decoding errors of :meth:`otrv4.data_message.DataMessage.decode`,
        :class:`NoSessionError`, the errors of
        :meth:`otrv4.ratchet.DoubleRatchet.decrypt` (the ratchet is unchanged
        then), :class:`otrv4.tlv.InvalidPayloadText`.
        """
        msg = DataMessage.decode(data)
        s = self.session(peer, msg.sender_tag)
        out = s.ratchet.decrypt(msg)
        payload = decode_payload(out.plaintext)
        ended = payload.find(TLVType.DISCONNECTED) is not None
        if ended:
            s.ratchet.expire()
            del self.sessions[(s.peer, s.their_tag)]
        return Received(s.peer, msg.sender_tag, payload.text, payload.tlvs, ended)

    def end(self, peer: str, tag: int) -> bytes:
        """End the session with one device (§Session Expiration / TLV 1): the data
        message carrying TLV 1 with the MAC keys to reveal; the session is gone.

        Raises :class:`NoSessionError` and the ratchet's encryption errors.
        """
        s = self.session(peer, tag)
        message = s.ratchet.encrypt(encode_payload("", (disconnected(),)), self.rng)
        s.ratchet.expire()
        del self.sessions[(s.peer, s.their_tag)]
        return message.message.encode()
