"""One OTRv4 device as the XMPP binding sees it: an instance with its own keys and
one OTRv4 conversation per peer instance.

The binding's multi-device rule (section "Multiple Devices") is that a
conversation is always between two instances: a device keeps one DAKE state
or double ratchet per peer instance tag, whatever account that instance
belongs to (the peer's devices and its own user's other devices alike).  This
module is that bookkeeping over the OTRv4 engine's public API
(:mod:`otrv4.dake`, :mod:`otrv4.xzdh`, :mod:`otrv4.ratchet`); it knows nothing
of stanzas beyond :class:`~otrv4_xmpp.carriage.OtrElement`.

It drives the DAKEs and the double ratchet directly, so that the examples and
measurements built on it show each step's bytes; a client runs the session
state machine instead (:class:`otrv4_xmpp.engine.DeviceEngine`, which
the slixmpp plugin uses).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from otrv4 import dake
from otrv4.clock import Clock
from otrv4.data_message import DataMessage
from otrv4.encoding import MessageType
from otrv4.instance_tag import generate_instance_tag
from otrv4.keys import ForgingKey
from otrv4.modes import Capability, Mode, require
from otrv4.prekeys import LocalPrekeys, PrekeyEnsemble, generate_prekey_message
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.rng import Rng
from otrv4.profiles import DEFAULT_PROFILE_LIFETIME, ClientProfile, PrekeyProfile
from otrv4.ratchet import DoubleRatchet, RatchetStart
from otrv4.tlv import TLV, Payload, TLVType, decode_payload, encode_payload
from otrv4.xzdh import receive_non_interactive_auth, send_non_interactive_auth

from .carriage import OtrElement, OtrPayload
from .engine import NoSessionError, bare_of

__all__ = ["Endpoint", "NoSessionError", "bare_of"]


@dataclass
class Endpoint:
    """A device: full JID, instance tag, mode, long-term keys, and its sessions.

    Build one with :meth:`create`.  ``sessions`` maps a peer instance tag to the
    double ratchet of that pair; ``pending`` to an unfinished interactive DAKE.
    """

    jid: str
    participant: dake.Participant
    clock: Clock
    mode: Mode = Mode.STANDALONE
    label: str | None = None
    sessions: dict[int, DoubleRatchet] = field(default_factory=dict)
    pending: dict[int, dake.DakeState] = field(default_factory=dict)
    peer_accounts: dict[int, str] = field(default_factory=dict)
    local_prekeys: LocalPrekeys | None = None

    @classmethod
    def create(cls, jid: str, rng: Rng, clock: Clock, *, mode: Mode = Mode.STANDALONE,
               tag: int | None = None, label: str | None = None,
               lifetime: int = DEFAULT_PROFILE_LIFETIME) -> Endpoint:
        """A new device: instance tag (drawn unless given), identity key pair, forging key
        and a Client Profile valid for ``lifetime`` seconds (otrv4.md §Client Profile).

        Raises :class:`~otrv4.profiles.InvalidProfileOwnerTagError` for a given tag below 0x100.
        """
        our_tag = generate_instance_tag(rng) if tag is None else tag
        keypair = EdDSAKeyPair.generate(rng)
        forging = ForgingKey.generate(rng)
        profile = ClientProfile.create(keypair, forging, our_tag, clock.now() + lifetime)
        return cls(jid, dake.Participant(keypair, forging.public, profile), clock, mode, label)

    @property
    def tag(self) -> int:
        """This device's instance tag."""
        return self.participant.instance_tag

    @property
    def account(self) -> str:
        """This device's bare JID."""
        return bare_of(self.jid)

    @property
    def expires(self) -> int:
        """When this device's Client Profile expires (seconds since the epoch)."""
        return self.participant.client_profile.expiration

    def _ctx(self, peer_account: str) -> dake.DakeContext:
        return dake.DakeContext(self.participant, self.account, peer_account, self.clock,
                                self.mode)

    # -- prekeys ------------------------------------------------------------------------------

    def make_prekeys(self, rng: Rng, count: int) -> list[PrekeyEnsemble]:
        """Create a shared prekey, a Prekey Profile and ``count`` Prekey messages, keep the
        secrets, and return the ensembles to publish (otrv4.md §Publishing Prekey Values).

        Raises :class:`~otrv4.modes.PrekeyPublicationRefusedError` in interactive-only mode.
        """
        messages = []
        existing: set[int] = set()
        for _ in range(count):
            secret = generate_prekey_message(rng, self.tag, existing=existing, mode=self.mode)
            existing.add(secret.identifier)
            messages.append(secret)
        shared = EdDSAKeyPair.generate(rng)
        profile = PrekeyProfile.create(self.participant.keypair, shared, self.tag, self.expires)
        self.local_prekeys = LocalPrekeys((self.participant.client_profile,),
                                          ((profile, shared),), tuple(messages))
        return [PrekeyEnsemble(self.participant.client_profile, profile, m.message)
                for m in messages]

    # -- interactive DAKE ----------------------------------------------------------------------

    def start_dake(self, peer_account: str, peer_tag: int, rng: Rng) -> OtrElement:
        """Start an interactive DAKE with ``peer_tag``: the Identity message (otrv4.md
        §Identity Message) in an ``<otr/>`` element.  Raises
        :class:`~otrv4.modes.ModeRefusalError` when the mode forbids it."""
        step = dake.start(self._ctx(peer_account), rng, peer_tag)
        assert step.send is not None  # start() always sends
        self.pending[peer_tag] = step.state
        self.peer_accounts[peer_tag] = peer_account
        return OtrElement.of(self.tag, [(peer_tag, step.send.encode())])

    def receive_dake(self, peer_account: str, payload: OtrPayload, sender: int,
                     rng: Rng) -> OtrElement | None:
        """Process an Identity, Auth-R or Auth-I message from instance ``sender``; returns the
        answer to send (if any).  A completed DAKE creates the pair's double ratchet.

        Raises what :func:`otrv4.dake.receive` raises; on error nothing changes.
        """
        state = self.pending.get(sender, dake.START)
        step = dake.receive(self._ctx(peer_account), state, payload.data, rng)
        if step.result is not None:
            self.sessions[sender] = DoubleRatchet(RatchetStart.from_dake(step.result))
            self.pending.pop(sender, None)
        else:
            self.pending[sender] = step.state
        self.peer_accounts[sender] = peer_account
        if step.send is None:
            return None
        return OtrElement.of(self.tag, [(sender, step.send.encode())])

    # -- non-interactive DAKE ------------------------------------------------------------------

    def send_non_interactive(self, peer_account: str, ensemble: PrekeyEnsemble,
                             rng: Rng) -> bytes:
        """The Non-Interactive-Auth message for ``ensemble``'s device (otrv4.md
        §Non-Interactive DAKE Overview); the pair's ratchet starts.  Raises what
        :func:`otrv4.xzdh.send_non_interactive_auth` raises."""
        msg, result = send_non_interactive_auth(self._ctx(peer_account), ensemble, rng)
        self.sessions[ensemble.instance_tag] = DoubleRatchet(RatchetStart.from_dake(result.result))
        self.peer_accounts[ensemble.instance_tag] = peer_account
        return msg.encode()

    def receive_non_interactive(self, peer_account: str, data: bytes) -> int:
        """Process a Non-Interactive-Auth message; returns the sender's instance tag.

        Raises :class:`~otrv4.modes.NonInteractiveDakeRefusedError` in interactive-only
        mode, :class:`NoSessionError` without published prekeys, and what
        :func:`otrv4.xzdh.receive_non_interactive_auth` raises.
        """
        if self.local_prekeys is None:
            require(self.mode, Capability.NON_INTERACTIVE_DAKE)
            raise NoSessionError("no prekeys were published by this device")
        local, result = receive_non_interactive_auth(self._ctx(peer_account),
                                                     self.local_prekeys, data)
        sender = result.result.their_instance_tag
        self.local_prekeys = local
        self.sessions[sender] = DoubleRatchet(RatchetStart.from_dake(result.result))
        self.peer_accounts[sender] = peer_account
        return sender

    # -- data messages -------------------------------------------------------------------------

    def encrypt(self, peer_tag: int, text: str, rng: Rng,
                tlvs: Iterable[TLV] = ()) -> bytes:
        """One data message for ``peer_tag`` (otrv4.md §When you send a Data Message).

        Raises :class:`NoSessionError` without a session, and what
        :meth:`otrv4.ratchet.DoubleRatchet.encrypt` raises.
        """
        ratchet = self.sessions.get(peer_tag)
        if ratchet is None:
            raise NoSessionError(f"no session with instance {peer_tag:08x}")
        return ratchet.encrypt(encode_payload(text, tuple(tlvs)), rng).message.encode()

    def encrypt_bytes(self, peer_tag: int, plaintext: bytes, rng: Rng) -> bytes:
        """As :meth:`encrypt`, for a plaintext already encoded (text and TLVs, or an
        SCE envelope)."""
        ratchet = self.sessions.get(peer_tag)
        if ratchet is None:
            raise NoSessionError(f"no session with instance {peer_tag:08x}")
        return ratchet.encrypt(plaintext, rng).message.encode()

    def fan_out(self, peer_tags: Iterable[int], text: str, rng: Rng) -> OtrElement:
        """One ``<otr/>`` with a data message for each of ``peer_tags`` (every device of
        the peer and every other device of ours): candidate (a) of "Multiple Devices"."""
        return OtrElement.of(self.tag, [(t, self.encrypt(t, text, rng)) for t in peer_tags])

    def decrypt_raw(self, payload: OtrPayload) -> bytes:
        """Verify and decrypt a data message payload; returns its plaintext.

        Raises :class:`NoSessionError` when there is no session with its sender, and
        what :meth:`otrv4.ratchet.DoubleRatchet.decrypt` raises.
        """
        message = DataMessage.decode(payload.data)
        ratchet = self.sessions.get(message.sender_tag)
        if ratchet is None:
            raise NoSessionError(f"no session with instance {message.sender_tag:08x}")
        return ratchet.decrypt(message).plaintext

    def decrypt(self, payload: OtrPayload) -> Payload:
        """As :meth:`decrypt_raw`, split into text and TLVs (:func:`otrv4.tlv.decode_payload`).

        A Disconnected TLV (type 1) ends the session with the sending instance only
        (section "Multiple Devices": the sessions with other devices continue).
        """
        message = DataMessage.decode(payload.data)
        out = decode_payload(self.decrypt_raw(payload))
        if out.find(TLVType.DISCONNECTED) is not None:
            self.end_session(message.sender_tag)
        return out

    def end_session(self, peer_tag: int) -> None:
        """Forget the session (and any unfinished DAKE) with ``peer_tag``; the ratchet's
        keys are wiped (:meth:`otrv4.ratchet.DoubleRatchet.expire`)."""
        ratchet = self.sessions.pop(peer_tag, None)
        if ratchet is not None:
            ratchet.expire()
        self.pending.pop(peer_tag, None)

    def receive(self, peer_account: str, sender: int, payload: OtrPayload,
                rng: Rng) -> OtrElement | Payload | None:
        """Dispatch one payload by its message type: an answer to a DAKE message, the
        decrypted payload of a data message, or ``None`` (a Non-Interactive-Auth or the
        last DAKE message).  Raises what the handlers raise."""
        kind = payload.message_type
        if kind is MessageType.DATA:
            return self.decrypt(payload)
        if kind is MessageType.NON_INTERACTIVE_AUTH:
            self.receive_non_interactive(peer_account, payload.data)
            return None
        return self.receive_dake(peer_account, payload, sender, rng)
