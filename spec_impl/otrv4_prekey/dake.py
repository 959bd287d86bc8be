"""The DAKE between a publisher and the prekey server (DAKEZ with three messages).

Implements otrv4-prekey-server.md §Key Exchange, §DAKE-1 Message, §DAKE-2
Message, §DAKE-3 Message, §Shared Session State, §Prekey Server Composite
Identity, §Public keys and Fingerprints, §Shared Secrets and §Generating
Shared Secrets.

The publisher ("Alice") and the server each keep a small immutable state:

* :func:`start` makes Alice's DAKE-1 and her :class:`PublisherDake` (state
  ``IN_DAKE``);
* :func:`respond` is the server's answer to a DAKE-1: it validates the
  message, returns DAKE-2 and the server's :class:`ServerDake`;
* :func:`receive_dake2` checks DAKE-2 on Alice's side and returns the
  :class:`PublisherSession` (shared secret ``SK``, ``prekey_mac_k``) from
  which she builds DAKE-3 around a Prekey Publication or a Storage
  Information Request (:meth:`PublisherSession.dake3`);
* :func:`verify_dake3` checks DAKE-3 on the server's side and returns the
  server's :class:`ServerSession`.

Every check raises its own error class and leaves the caller's state as it
was (a rejected DAKE-2 or DAKE-3 can be followed by a genuine one).

Decisions registered here:

* **101** — ``phi`` over XMPP is ``DATA(publisher's bare JID) ||
  DATA(service's bare JID)``, in that role order, not sorted;
* **104** — the server's fingerprint hashes the typed ``ED448-PUBKEY``
  encoding of ``H_s`` (59 bytes), with the OTRv4 KDF;
* **105** — ``ECDH(a, B)`` is OTRv4's ``a * B``: the received point is not
  multiplied by the cofactor first.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import Final

from otrv4.clock import Clock
from otrv4.decisions import Decision, register
from otrv4.encoding import encode_data
from otrv4.errors import ValidationError
from otrv4.instance_tag import check_receiver_tag, check_sender_tag
from otrv4.keys import KeyType, encode_typed_key
from otrv4.primitives.ecdh import ECDHKeyPair, ecdh, generate_ecdh
from otrv4.primitives.ed448 import Point
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.kdf import PrekeyUsageID, UsageID, kdf, prekey_server_kdf
from otrv4.primitives.ring_signature import PREKEY_SERVER_AUTH, ring_sign, ring_verify
from otrv4.primitives.rng import Rng
from otrv4.profiles import ClientProfile

from .messages import CompositeIdentity, Dake1, Dake2, Dake3

__all__ = [
    "SERVER_FINGERPRINT_BYTES",
    "DakeSenderTagMismatchError",
    "PublisherDake",
    "PublisherIdentity",
    "PublisherSession",
    "ServerDake",
    "ServerFingerprintMismatchError",
    "ServerIdentity",
    "ServerIdentityMismatchError",
    "ServerSession",
    "dake2_t",
    "dake3_t",
    "format_server_fingerprint",
    "prekey_mac_key",
    "receive_dake2",
    "respond",
    "server_fingerprint",
    "shared_secret",
    "shared_session_state",
    "start",
    "verify_dake3",
]

#: A fingerprint is 56 bytes, shown as 112 hexadecimal digits.
SERVER_FINGERPRINT_BYTES: Final = 56


class ServerIdentityMismatchError(ValidationError):
    """DAKE-2's composite identity names another service than the one the publisher contacted."""


class ServerFingerprintMismatchError(ValidationError):
    """DAKE-2's server key does not have the fingerprint the publisher expected (from disco)."""


class DakeSenderTagMismatchError(ValidationError):
    """DAKE-3's sender instance tag is not the one DAKE-1 announced."""


# --------------------------------------------------------------------------- shared values


def server_fingerprint(public_key: Point) -> bytes:
    """§Public keys and Fingerprints: ``KDF_1(usage_fingerprint, byte(H_s), 56)``.

    ``KDF_1`` is the OTRv4 KDF (prefix ``"OTRv4"``, usage 0x00) and
    ``byte(H_s)`` the 59-byte ``ED448-PUBKEY`` encoding (decision 104).
    """
    return kdf(UsageID.FINGERPRINT, encode_typed_key(public_key, KeyType.ED448_PUBKEY),
               SERVER_FINGERPRINT_BYTES)


def format_server_fingerprint(fp: bytes) -> str:
    """The 112 upper-case hexadecimal digits the disco#items ``name`` carries."""
    return fp.hex().upper()


def shared_session_state(publisher: str, server: str) -> bytes:
    """§Shared Session State for XMPP: ``DATA(publisher bare JID) || DATA(server bare JID)``.

    Strings are UTF-8 (decision 101: role order, not sorted).
    """
    return encode_data(publisher.encode("utf-8")) + encode_data(server.encode("utf-8"))


def _t(flag: int, profile: bytes, composite: bytes, i: Point, s: Point, phi: bytes) -> bytes:
    if flag == 0:
        u_cp = PrekeyUsageID.INITIATOR_CLIENT_PROFILE
        u_id = PrekeyUsageID.INITIATOR_PREKEY_COMPOSITE_IDENTITY
        u_phi = PrekeyUsageID.INITIATOR_PREKEY_COMPOSITE_PHI
    else:
        u_cp = PrekeyUsageID.RECEIVER_CLIENT_PROFILE
        u_id = PrekeyUsageID.RECEIVER_PREKEY_COMPOSITE_IDENTITY
        u_phi = PrekeyUsageID.RECEIVER_PREKEY_COMPOSITE_PHI
    return b"".join((
        bytes([flag]),
        prekey_server_kdf(u_cp, profile, 64),
        prekey_server_kdf(u_id, composite, 64),
        i.encode(), s.encode(),
        prekey_server_kdf(u_phi, phi, 64),
    ))


def dake2_t(profile: ClientProfile, composite: CompositeIdentity, i: Point, s: Point,
            phi: bytes) -> bytes:
    """§DAKE-2 Message: ``t = 0x00 || KDF(0x02, Alice's Client Profile, 64) ||
    KDF(0x03, composite identity, 64) || I || S || KDF(0x04, phi, 64)``."""
    return _t(0, profile.encode(), composite.encode(), i, s, phi)


def dake3_t(profile: ClientProfile, composite: CompositeIdentity, i: Point, s: Point,
            phi: bytes) -> bytes:
    """§DAKE-3 Message: ``t = 0x01 || KDF(0x05, …) || KDF(0x06, …) || I || S || KDF(0x07, phi)``."""
    return _t(1, profile.encode(), composite.encode(), i, s, phi)


def shared_secret(secret: int, public: Point) -> bytes:
    """§Shared Secrets: ``SK = KDF(usage_SK, ECDH(secret, public), 64)``.

    ``ECDH`` is OTRv4's ``POINT(secret * public)``, without the cofactor
    multiplication of §Generating Shared Secrets (decision 105).

    Raises :class:`~otrv4.primitives.ecdh.ZeroSharedSecretError`.
    """
    return prekey_server_kdf(PrekeyUsageID.SK, ecdh(secret, public), 64)


def prekey_mac_key(sk: bytes) -> bytes:
    """``prekey_mac_k = KDF(usage_preMAC_key, SK, 64)`` (§Key Exchange)."""
    return prekey_server_kdf(PrekeyUsageID.PRE_MAC_KEY, sk, 64)


# --------------------------------------------------------------------------- identities


@dataclass(frozen=True)
class ServerIdentity:
    """The service: its bare JID and its long-term Ed448 key pair ``(sk_s, H_s)``."""

    jid: str
    keypair: EdDSAKeyPair = field(repr=False)

    @property
    def composite(self) -> CompositeIdentity:
        """§Prekey Server Composite Identity: ``DATA(jid) || ED448-PUBKEY(H_s)``."""
        return CompositeIdentity(self.jid, self.keypair.public)

    @property
    def fingerprint(self) -> bytes:
        """:func:`server_fingerprint` of ``H_s``."""
        return server_fingerprint(self.keypair.public)


@dataclass(frozen=True)
class PublisherIdentity:
    """A publishing device: bare JID, instance tag, long-term key pair and Client Profile."""

    jid: str
    instance_tag: int
    keypair: EdDSAKeyPair = field(repr=False)
    client_profile: ClientProfile


# --------------------------------------------------------------------------- publisher side


@dataclass(frozen=True)
class PublisherDake:
    """The publisher in state ``IN_DAKE``: it sent DAKE-1 and waits for DAKE-2."""

    publisher: PublisherIdentity
    server_jid: str
    i: ECDHKeyPair = field(repr=False)
    dake1: Dake1
    expected_fingerprint: bytes | None = None


@dataclass(frozen=True)
class PublisherSession:
    """The publisher after a valid DAKE-2: the shared secret and what DAKE-3 needs."""

    publisher: PublisherIdentity
    server_public_key: Point
    sk: bytes = field(repr=False)
    sigma_t: bytes = field(repr=False)
    ring: tuple[Point, Point, Point]

    @property
    def prekey_mac_k(self) -> bytes:
        """``KDF(usage_preMAC_key, SK, 64)``."""
        return prekey_mac_key(self.sk)

    def dake3(self, message: bytes, rng: Rng) -> Dake3:
        """§DAKE-3 Message around ``message`` (an encoded Prekey Publication or Storage
        Information Request): ``sigma = RSig(H_a, sk_a, {H_a, H_s, S}, t)``.  Draws five
        57-byte values."""
        sigma = ring_sign(self.publisher.keypair.scalar, self.ring, self.sigma_t, rng,
                          PREKEY_SERVER_AUTH, public=self.publisher.keypair.public)
        return Dake3(self.publisher.instance_tag, sigma, message)


def start(publisher: PublisherIdentity, server_jid: str, rng: Rng,
          expected_fingerprint: bytes | None = None) -> PublisherDake:
    """§Key Exchange, Alice's first step: DAKE-1 with a fresh ``(i, I)`` (one 57-byte draw).

    ``expected_fingerprint`` is the server's fingerprint as the publisher
    learnt it (disco#items, or a pinned value); when given, DAKE-2 must match
    it.  Raises :class:`~otrv4.instance_tag.InvalidSenderTagError` for an
    instance tag below 0x100.
    """
    check_sender_tag(publisher.instance_tag)
    i = generate_ecdh(rng)
    dake1 = Dake1(publisher.instance_tag, publisher.client_profile, i.public)
    return PublisherDake(publisher, server_jid, i, dake1, expected_fingerprint)


def receive_dake2(state: PublisherDake, data: bytes | Dake2) -> PublisherSession:
    """§Key Exchange, Alice receives DAKE-2 (§DAKE-2 Message, "To verify").

    Checks, in order: the receiver tag is ours
    (:class:`~otrv4.instance_tag.InvalidReceiverTagError`,
    :class:`~otrv4.instance_tag.ReceiverTagMismatchError`); the composite
    identity names the service we contacted (:class:`ServerIdentityMismatchError`)
    and, if we expect one, has the expected fingerprint
    (:class:`ServerFingerprintMismatchError`); ``S`` is valid (decoding);
    ``RVrf({H_a, H_s, I}, sigma, t)``
    (:class:`~otrv4.primitives.ring_signature.InvalidRingSignatureError`); the
    shared secret is not zero (:class:`~otrv4.primitives.ecdh.ZeroSharedSecretError`).
    Also raises the decoding errors of :class:`~otrv4_prekey.messages.Dake2`.
    """
    msg = data if isinstance(data, Dake2) else Dake2.decode(data)
    ours = state.publisher
    check_receiver_tag(msg.receiver_tag, ours.instance_tag)
    composite = msg.composite_identity
    if composite.identity != state.server_jid:
        raise ServerIdentityMismatchError(
            f"DAKE-2 comes from {composite.identity!r}, we contacted {state.server_jid!r}"
        )
    h_s = composite.public_key
    if state.expected_fingerprint is not None and not hmac.compare_digest(
        server_fingerprint(h_s), state.expected_fingerprint
    ):
        raise ServerFingerprintMismatchError("the server's key has another fingerprint")
    phi = shared_session_state(ours.jid, state.server_jid)
    h_a = ours.keypair.public
    t2 = dake2_t(ours.client_profile, composite, state.i.public, msg.s, phi)
    ring_verify((h_a, h_s, state.i.public), msg.sigma, t2, PREKEY_SERVER_AUTH)
    sk = shared_secret(state.i.secret, msg.s)
    t3 = dake3_t(ours.client_profile, composite, state.i.public, msg.s, phi)
    return PublisherSession(ours, h_s, sk, t3, (h_a, h_s, msg.s))


# --------------------------------------------------------------------------- server side


@dataclass(frozen=True)
class ServerDake:
    """The server in state ``IN_DAKE`` for one publisher device: it sent DAKE-2."""

    publisher: str
    sender_tag: int
    client_profile: ClientProfile
    i: Point
    s: Point
    sk: bytes = field(repr=False)
    started_at: int = 0


@dataclass(frozen=True)
class ServerSession:
    """The server after a valid DAKE-3: who published, and the keys for the attached message."""

    publisher: str
    sender_tag: int
    client_profile: ClientProfile
    sk: bytes = field(repr=False)

    @property
    def prekey_mac_k(self) -> bytes:
        """``KDF(usage_preMAC_key, SK, 64)``."""
        return prekey_mac_key(self.sk)


def respond(server: ServerIdentity, publisher: str, data: bytes | Dake1, rng: Rng,
            clock: Clock) -> tuple[ServerDake, Dake2]:
    """§Key Exchange, the server receives DAKE-1 (§DAKE-1 Message, "To verify") and answers.

    ``publisher`` is the bare JID the transport authenticated.  Checks: the
    sender tag is at least 0x100 (:class:`~otrv4.instance_tag.InvalidSenderTagError`);
    the Client Profile is valid for that tag at ``clock.now()`` (the errors of
    :meth:`~otrv4.profiles.ClientProfile.validate`); ``I`` is valid (decoding).
    Then draws ``s`` (57 bytes) and the ring signature's five values.  Also
    raises the decoding errors of :class:`~otrv4_prekey.messages.Dake1`.
    """
    msg = data if isinstance(data, Dake1) else Dake1.decode(data)
    check_sender_tag(msg.sender_tag)
    msg.client_profile.validate(msg.sender_tag, clock)
    s = generate_ecdh(rng)
    composite = server.composite
    phi = shared_session_state(publisher, server.jid)
    h_a = msg.client_profile.public_key
    t = dake2_t(msg.client_profile, composite, msg.i, s.public, phi)
    sigma = ring_sign(server.keypair.scalar, (h_a, server.keypair.public, msg.i), t, rng,
                      PREKEY_SERVER_AUTH, public=server.keypair.public)
    sk = shared_secret(s.secret, msg.i)
    state = ServerDake(publisher, msg.sender_tag, msg.client_profile, msg.i, s.public, sk,
                       clock.now())
    return state, Dake2(msg.sender_tag, composite, s.public, sigma)


def verify_dake3(server: ServerIdentity, state: ServerDake, data: bytes | Dake3) -> ServerSession:
    """§Key Exchange, the server receives DAKE-3 (§DAKE-3 Message, "To verify").

    Checks: the sender tag is the one of DAKE-1 (:class:`DakeSenderTagMismatchError`);
    ``RVrf({H_a, H_s, S}, sigma, t)``
    (:class:`~otrv4.primitives.ring_signature.InvalidRingSignatureError`).  The
    attached message is not looked at.  Also raises the decoding errors of
    :class:`~otrv4_prekey.messages.Dake3`.
    """
    msg = data if isinstance(data, Dake3) else Dake3.decode(data)
    if msg.sender_tag != state.sender_tag:
        raise DakeSenderTagMismatchError(
            f"DAKE-3 from instance {msg.sender_tag:#010x}, DAKE-1 from {state.sender_tag:#010x}"
        )
    phi = shared_session_state(state.publisher, server.jid)
    t = dake3_t(state.client_profile, server.composite, state.i, state.s, phi)
    h_a = state.client_profile.public_key
    ring_verify((h_a, server.keypair.public, state.s), msg.sigma, t, PREKEY_SERVER_AUTH)
    return ServerSession(state.publisher, state.sender_tag, state.client_profile, state.sk)


register(Decision(
    number=101,
    title="Prekey server: order of the strings in phi",
    question=(
        "otrv4-prekey-server.md §Shared Session State says to sort the strings passed to phi "
        "lexicographically, and then gives phi for XMPP as DATA(publisher's bare JID) || "
        "DATA(Prekey Server's bare JID) without sorting."
    ),
    decision=(
        "phi = DATA(publisher's bare JID) || DATA(prekey service's bare JID), UTF-8, in this "
        "role order, whatever their lexicographic order."
    ),
    reason=(
        "The two parties have fixed, different roles (publisher and server), so both already "
        "agree on the order; sorting only matters between peers with symmetric roles. The "
        "XMPP-specific text, which is the part this XEP profiles, gives the role order."
    ),
    others=(
        "libotr-ng and the Go prekey server (otrng-prekey-server) both put the publisher's "
        "identity first and the server's second."
    ),
    vector="prekey-server-dake",
))

register(Decision(
    number=104,
    title="Prekey server: bytes hashed into the server's fingerprint",
    question=(
        "otrv4-prekey-server.md §Public keys and Fingerprints computes the fingerprint as "
        "KDF_1(usage_fingerprint, byte(H), 56) without defining byte(H); the OTRv4 user "
        "fingerprint hashes H and F, the server has no forging key."
    ),
    decision=(
        "byte(H_s) is the 59-byte ED448-PUBKEY encoding (type 0x0010 then the POINT), hashed "
        "with the OTRv4 KDF: SHAKE-256(\"OTRv4\" || 0x00 || ED448-PUBKEY(H_s), 56). The disco "
        "item's name is its 112 upper-case hexadecimal digits."
    ),
    reason=(
        "It is the encoding this implementation's OTRv4 fingerprints use for H (otrv4.keys), "
        "so one rule covers both; upper case follows the example in the specification."
    ),
    others=(
        "The Go XMPP component (prekey-server-xmpp) announces the fingerprint as 112 "
        "hexadecimal digits in the disco#items name, as the specification's example does; "
        "the 2019 Go prekey server's fingerprint agrees with this one (decision 106)."
    ),
    vector="prekey-server-dake",
))

register(Decision(
    number=105,
    title="Prekey server: no cofactor multiplication in ECDH(a, B)",
    question=(
        "otrv4-prekey-server.md §Generating Shared Secrets computes ECDH(a, B) as "
        "'B = B * cofactor; SK_ecdh = a * B', while otrv4.md §Generating Shared Secrets "
        "computes a * B. With the cofactor 4 the two give different values of SK_ecdh, and so "
        "of SK = KDF(usage_SK, SK_ecdh, 64)."
    ),
    decision=(
        "SK_ecdh = POINT(a * B), as in otrv4.md: B is not multiplied by the cofactor. B is "
        "validated as every received point is (on the curve, not the identity, q * B = "
        "identity); a is the pruned secret scalar s of generateECDH(), not reduced mod q; "
        "an identity result is refused (decision 14)."
    ),
    reason=(
        "A validated B lies in the subgroup of prime order q, so the cofactor multiplication "
        "removes no small-order component; it only changes the value. The pruned secret is "
        "a multiple of 4 anyway, which is what clears such components in X448. One ECDH "
        "function then serves OTRv4 and the prekey server."
    ),
    others=(
        "The 2019 Go prekey server (otrng-prekey-server) also omits the cofactor; its value "
        "is (i * S) / 4 (fact E1 of decision 106)."
    ),
    vector="prekey-server-ecdh",
))
