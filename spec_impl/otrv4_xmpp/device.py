"""One device's long-term identity and its conversation with one other device.

:class:`DeviceIdentity` is what a device keeps for as long as it exists (its
instance tag, long-term key, forging key, shared prekey and the profiles that
bind them); :class:`PairSession` is one conversation of the device (the
protocol state machine's session and where the peer was last seen).  The
device engine (:mod:`otrv4_xmpp.engine`) holds them; the state store
(:mod:`otrv4_xmpp.state`) keeps them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from otrv4 import dake
from otrv4.clock import Clock
from otrv4.instance_tag import generate_instance_tag
from otrv4.keys import ForgingKey, fingerprint, format_fingerprint
from otrv4.modes import Mode
from otrv4.prekeys import LocalPrekeys
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.rng import Rng
from otrv4.profiles import DEFAULT_PROFILE_LIFETIME, ClientProfile, PrekeyProfile
from otrv4.session import ProtocolState, Session
from otrv4_prekey.dake import PublisherIdentity
from otrv4_prekey.publication import SharedPrekey

__all__ = ["RECEIVED_KEPT", "DeviceIdentity", "PairSession", "bare_of"]

#: How many received (ratchet id, message id) pairs a :class:`PairSession` remembers.
RECEIVED_KEPT = 64


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


#: format_fingerprint, remembered: a pair's fingerprint is read on every message it
#: sends or receives (trust checks and events).
_formatted = lru_cache(maxsize=1024)(format_fingerprint)


@dataclass
class PairSession:
    """The conversation with one device of one account: its state machine and the full
    JID it was last seen at (where live answers go)."""

    peer: str
    """The peer's bare JID."""
    full_jid: str
    session: Session = field(repr=False)
    received: tuple[tuple[int, int], ...] = ()
    """The (ratchet id, message id) of the data messages received last, newest last (at
    most :data:`RECEIVED_KEPT`).  With the ratchet's receiving position
    (:meth:`otrv4.ratchet.DoubleRatchet.key_gone`) a message delivered again after a
    crash is recognised, however old."""
    delivered: int = 0
    """How many plaintexts of this conversation were handed to the application (numbers
    their delivery ids)."""
    started_by: bytes = b""
    """SHA-256 of the Non-Interactive-Auth message that started the current session
    (empty otherwise): the same message delivered again is recognised."""

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
        return _formatted(fp) if fp else ""
