"""The double ratchet with the brace key (spec §Key Management, §Data Exchange).

Key schedule (usage IDs from :class:`otrv4.primitives.kdf.UsageID`)::

    K          = KDF(usage_shared_secret || K_ecdh || brace_key, 64)
    root       = KDF(usage_root_key || prev_root || K, 64)
    ck[0]      = KDF(usage_chain_key || prev_root || K, 64)
    ck[n+1]    = KDF(usage_next_chain_key || ck[n], 64)
    MKenc      = KDF(usage_message_key || ck[n], 64);  MKmac = KDF(usage_MAC_key || MKenc, 64)
    extra key  = KDF(usage_extra_symm_key || 0xFF || ck[n], 64)
    brace_key  = KDF(usage_third_brace_key || k_dh, 32)  on a DH chain, else
                 KDF(usage_brace_key || brace_key, 32)

Ratchet bookkeeping (ambiguities 1 and 2, decided and registered below, with
decisions 16 on extra symmetric keys, 20 on the previous chain message number
and 21 on revealed MAC keys).  The
chains of a conversation are numbered 0, 1, 2, ... in the order they are
created; the two parties create them alternately (the first sender after the
DAKE owns chain 0, the other party chain 1, and so on), so both agree on every
number.  A data message's *ratchet id* is the number of the chain it was
encrypted in; its *message id* is its position in that chain.  Chain 0 comes
from the DAKE's first ECDH and DH keys; chain ``n >= 1`` agrees on a fresh
3072-bit DH key when ``n % 3 == 1`` (chains 1, 4, 7, ...: the first ratchet
after the DAKE and every third one after it) and re-hashes the brace key
otherwise.  Every message of a DH chain carries the sender's DH public key,
so losing the first one does not stall the ratchet; every other message
carries an empty DH key, and a message that breaks this rule is rejected.

A receiver accepts: a message whose key it stored (skipped earlier); a message
of its current receiving chain with an id not yet reached; or the first message
seen of the next chain, whose number must be one more than its own latest
sending chain.  Anything else is a duplicate or out of sequence.  Every failure
leaves the ratchet exactly as it was: the receive path computes into locals and
commits only after the authenticator verified and the message decrypted.

Skipped message keys are stored under ``(ratchet id, message id)`` with the
chain's ECDH key (the spec indexes them by ECDH key and message id; the ratchet
id names the same chain and is covered by the authenticator).

Bounds: at most ``max_skip`` keys are skipped per message (per chain gap),
at most ``max_stored`` skipped keys are held, and stored keys older than
``max_stored_age`` chains are deleted (their MAC keys are revealed).

Only one ECDH/DH key pair of our own is held at a time; our ECDH secret is
deleted once the peer ratcheted onto it, our DH secret once the peer's next
DH chain consumed it.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field

from . import shared_state
from .data_message import DataMessage, compute_authenticator
from .decisions import Decision, register
from .errors import OTRError, ValidationError
from .primitives import cipher
from .primitives.dh3072 import DHKeyPair, dh_shared_secret, generate_dh, k_dh_bytes
from .primitives.ecdh import ECDHKeyPair, ecdh, generate_ecdh
from .primitives.ed448 import Point
from .primitives.kdf import UsageID, kdf, kdf_for
from .primitives.rng import Rng
from .tlv import Payload, TLVType

__all__ = [
    "AuthenticatorMismatch",
    "DHKeyPresenceError",
    "Decrypted",
    "DoubleRatchet",
    "DuplicateMessage",
    "ECDHKeyMismatch",
    "Encrypted",
    "InstanceTagMismatch",
    "InvalidPreviousChainLength",
    "RatchetLimits",
    "RatchetSnapshot",
    "RatchetStart",
    "SessionExpired",
    "SkippedKey",
    "SkippedKeyStorageFull",
    "TooManyExtraSymmetricKeys",
    "TooManySkippedMessages",
    "UnexpectedRatchetId",
    "chain_uses_dh",
    "derive_extra_keys",
    "derive_ratchet_keys",
    "extra_symmetric_key",
    "first_root_key",
    "mac_key_of",
    "message_keys",
    "mixed_shared_secret",
    "next_brace_key",
    "next_chain_key",
    "ratchet_key_material",
    "third_brace_key",
]

ROOT_KEY_BYTES = 64
CHAIN_KEY_BYTES = 64
BRACE_KEY_BYTES = 32
MAX_EXTRA_KEYS = 10


# --------------------------------------------------------------------------- errors


class InstanceTagMismatch(ValidationError):
    """The data message's instance tags are not this conversation's."""


class DuplicateMessage(ValidationError):
    """The message was already received, or its key was deleted (old chain, expired key)."""


class UnexpectedRatchetId(ValidationError):
    """The ratchet id is neither a known chain nor the next chain the peer may start."""


class ECDHKeyMismatch(ValidationError):
    """The message's ECDH key is not the key of the chain its ratchet id names."""


class DHKeyPresenceError(ValidationError):
    """A DH key where the chain re-hashes the brace key, or none where it agrees on a new one."""


class InvalidPreviousChainLength(ValidationError):
    """The previous-chain message number is below the messages already received in that chain."""


class TooManySkippedMessages(ValidationError):
    """Accepting the message would skip more than ``max_skip`` message keys at once."""


class SkippedKeyStorageFull(ValidationError):
    """Accepting the message would store more than ``max_stored`` skipped message keys."""


class AuthenticatorMismatch(ValidationError):
    """The data message's authenticator does not verify."""


class TooManyExtraSymmetricKeys(ValidationError):
    """More than 10 extra symmetric keys, or a TLV position above 255, were asked for."""


class SessionExpired(OTRError):
    """The ratchet was wiped (session expiry); it can neither send nor receive."""


# --------------------------------------------------------------------------- key derivation


def chain_uses_dh(ratchet_id: int) -> bool:
    """Whether chain ``ratchet_id`` (>= 1) agrees on a new 3072-bit DH key (decision 1)."""
    return ratchet_id % 3 == 1


def first_root_key(shared_secret: bytes) -> bytes:
    """``KDF(usage_first_root_key || K, 64)`` (spec §Interactive DAKE Overview)."""
    return kdf(UsageID.FIRST_ROOT_KEY, shared_secret, ROOT_KEY_BYTES)


def third_brace_key(k_dh: int) -> bytes:
    """``KDF(usage_third_brace_key || k_dh, 32)``, ``k_dh`` as 384 big-endian bytes."""
    return kdf(UsageID.THIRD_BRACE_KEY, k_dh_bytes(k_dh), BRACE_KEY_BYTES)


def next_brace_key(brace_key: bytes) -> bytes:
    """``KDF(usage_brace_key || brace_key, 32)``."""
    return kdf(UsageID.BRACE_KEY, brace_key, BRACE_KEY_BYTES)


def mixed_shared_secret(k_ecdh: bytes, brace_key: bytes) -> bytes:
    """``K = KDF(usage_shared_secret || K_ecdh || brace_key, 64)`` (spec §Shared Secrets)."""
    return kdf(UsageID.SHARED_SECRET, k_ecdh + brace_key, 64)


def derive_ratchet_keys(prev_root_key: bytes, shared_secret: bytes) -> tuple[bytes, bytes]:
    """``derive_ratchet_keys``: the new root key and the new chain's first chain key.

    Spec §Deriving Double Ratchet Keys (its ``[i]``/``[l]`` mix-up is ambiguity 2).
    """
    material = prev_root_key + shared_secret
    return (kdf(UsageID.ROOT_KEY, material, ROOT_KEY_BYTES),
            kdf(UsageID.CHAIN_KEY, material, CHAIN_KEY_BYTES))


# The four derivations every message makes, their usage IDs and sizes bound once.
_next_chain_key = kdf_for(UsageID.NEXT_CHAIN_KEY, CHAIN_KEY_BYTES)
_message_key = kdf_for(UsageID.MESSAGE_KEY, 64)
_mac_key = kdf_for(UsageID.MAC_KEY, 64)
_extra_symmetric_key = kdf_for(UsageID.EXTRA_SYMM_KEY, 64, tail=b"\xff")


def next_chain_key(chain_key: bytes) -> bytes:
    """``KDF(usage_next_chain_key || chain_key, 64)``."""
    return _next_chain_key(chain_key)


def message_keys(chain_key: bytes) -> tuple[bytes, bytes]:
    """``derive_enc_mac_keys``: ``(MKenc, MKmac)`` (spec §Calculating Encryption and MAC Keys)."""
    mk_enc = _message_key(chain_key)
    return mk_enc, _mac_key(mk_enc)


def mac_key_of(mk_enc: bytes) -> bytes:
    """``MKmac = KDF(usage_MAC_key || MKenc, 64)``."""
    return _mac_key(mk_enc)


def extra_symmetric_key(chain_key: bytes) -> bytes:
    """``KDF(usage_extra_symm_key || 0xFF || chain_key, 64)`` (spec §Extra Symmetric Key)."""
    return _extra_symmetric_key(chain_key)


def derive_extra_keys(extra_key: bytes, payload: Payload) -> list[tuple[bytes, bytes]]:
    """The keys derived from ``extra_key`` for each TLV 7 of ``payload``, in order.

    Spec §Extra Symmetric Key: ``key_n = KDF(index || context || key_{n-1}, 64)``
    with ``index`` the TLV's position in the record list (one byte, used where
    the usage ID goes) and ``context`` its first 4 bytes.  Returns
    ``(context, key)`` pairs.  Raises :class:`TooManyExtraSymmetricKeys` when
    more than 9 keys would follow ``extra_key`` (10 in all) or a position is
    above 255.
    """
    out: list[tuple[bytes, bytes]] = []
    previous = extra_key
    for tlv, position in zip(payload.tlvs, payload.positions, strict=True):
        if tlv.type != TLVType.EXTRA_SYMMETRIC_KEY:
            continue
        if len(out) + 1 >= MAX_EXTRA_KEYS or position > 0xFF:
            raise TooManyExtraSymmetricKeys("at most 10 extra symmetric keys can be derived")
        context = tlv.value[:4]
        previous = kdf(position, context + previous, 64)
        out.append((context, previous))
    return out


# --------------------------------------------------------------------------- initial state


@dataclass(frozen=True)
class RatchetStart:
    """The state a :class:`DoubleRatchet` starts from, in one explicit value.

    A DAKE yields an :class:`otrv4.shared_state.DakeResult`; :meth:`from_dake`
    keeps what the ratchet needs from it.

    ``root_key`` is the root key after the chains listed here were derived and
    ``brace_key`` the brace key of the newest of them.  ``sending``/``receiving``
    are ``(ratchet id, chain key)`` of the chains that already exist (chain 0 is
    the first sender's; the interactive initiator also starts with its sending
    chain 1).  ``our_ecdh``/``our_dh`` are our newest key pairs,
    ``their_ecdh``/``their_dh`` the peer's.  Build it with :meth:`interactive`,
    :meth:`non_interactive` or :meth:`from_dake`.
    """

    root_key: bytes = field(repr=False)
    brace_key: bytes = field(repr=False)
    sending: tuple[int, bytes] | None = field(repr=False)
    receiving: tuple[int, bytes] | None = field(repr=False)
    our_ecdh: ECDHKeyPair = field(repr=False)
    their_ecdh: Point
    our_dh: DHKeyPair = field(repr=False)
    their_dh: int
    our_tag: int
    their_tag: int

    @classmethod
    def interactive(
        cls, shared_secret: bytes, *, sends_first: bool, our_ecdh: ECDHKeyPair,
        their_ecdh: Point, our_dh: DHKeyPair, their_dh: int, our_tag: int, their_tag: int,
    ) -> RatchetStart:
        """Chain 0 after an interactive DAKE (spec §Interactive DAKE Overview).

        ``prev_root = KDF(usage_first_root_key || K, 64)``; chain 0 mixes
        ``ECDH(our_ecdh, their_ecdh)`` with the third-brace key of
        ``DH(our_dh, their_dh)``.  The party that does not send first creates
        its chain 1 when it first sends.  Raises the DH validation errors of
        :func:`dh_shared_secret` and
        :class:`otrv4.primitives.ecdh.ZeroSharedSecretError`.
        """
        k_ecdh = ecdh(our_ecdh.secret, their_ecdh)
        brace = third_brace_key(dh_shared_secret(our_dh.secret, their_dh))
        root, chain = derive_ratchet_keys(
            first_root_key(shared_secret), mixed_shared_secret(k_ecdh, brace))
        return cls(root, brace, (0, chain) if sends_first else None,
                   None if sends_first else (0, chain),
                   our_ecdh, their_ecdh, our_dh, their_dh, our_tag, their_tag)

    @classmethod
    def non_interactive(
        cls, shared_secret: bytes, brace_key: bytes, *, sends_first: bool,
        our_ecdh: ECDHKeyPair, their_ecdh: Point, our_dh: DHKeyPair, their_dh: int,
        our_tag: int, their_tag: int,
    ) -> RatchetStart:
        """Chain 0 after a non-interactive DAKE (spec §Non-Interactive DAKE Overview).

        ``root = KDF(usage_root_key || K, 64)``, chain 0 ``= KDF(usage_chain_key || K, 64)``,
        ``brace_key`` is the DAKE's.  Raises nothing.
        """
        chain = kdf(UsageID.CHAIN_KEY, shared_secret, CHAIN_KEY_BYTES)
        return cls(kdf(UsageID.ROOT_KEY, shared_secret, ROOT_KEY_BYTES), brace_key,
                   (0, chain) if sends_first else None, None if sends_first else (0, chain),
                   our_ecdh, their_ecdh, our_dh, their_dh, our_tag, their_tag)

    @classmethod
    def from_dake(cls, result: shared_state.DakeResult) -> RatchetStart:
        """Convert the DAKE's result (:class:`otrv4.shared_state.DakeResult`).

        The interactive initiator (sender of Auth-I) arrives with its receiving
        chain 0 and its sending chain 1 already derived; the other roles with
        chain 0 only.  Raises nothing.
        """
        sending: tuple[int, bytes] | None = None
        receiving: tuple[int, bytes] | None = None
        if result.role is shared_state.Role.INTERACTIVE_INITIATOR:
            assert result.chain_key_receiving is not None and result.chain_key_sending is not None
            receiving = (0, result.chain_key_receiving)
            sending = (1, result.chain_key_sending)
        elif result.chain_key_sending is not None:
            sending = (0, result.chain_key_sending)
        elif result.chain_key_receiving is not None:
            receiving = (0, result.chain_key_receiving)
        return cls(result.root_key, result.brace_key, sending, receiving, result.our_ecdh,
                   result.their_ecdh, result.our_dh, result.their_dh,
                   result.our_instance_tag, result.their_instance_tag)


@dataclass(frozen=True)
class RatchetLimits:
    """``max_skip`` per message, ``max_stored`` skipped keys, ``max_stored_age`` in chains."""

    max_skip: int = 1000
    max_stored: int = 1000
    max_stored_age: int = 12

    def __post_init__(self) -> None:
        if self.max_skip < 0 or self.max_stored < 0 or self.max_stored_age < 1:
            raise ValueError("ratchet limits must be non-negative (age at least 1)")


@dataclass(frozen=True)
class Encrypted:
    """A data message we built, and the extra symmetric key of its chain key."""

    message: DataMessage
    extra_key: bytes = field(repr=False)

    @classmethod
    def _make(cls, message: DataMessage, extra_key: bytes) -> Encrypted:
        """The value, without the frozen ``__init__``'s per-field ``object.__setattr__``
        (every message makes one; a test holds the two equal)."""
        made = object.__new__(cls)
        made.__dict__.update(message=message, extra_key=extra_key)
        return made


@dataclass(frozen=True)
class Decrypted:
    """A verified, decrypted data message."""

    plaintext: bytes
    extra_key: bytes = field(repr=False)
    ratchet_id: int
    message_id: int
    mac_key: bytes = field(repr=False)
    from_skipped: bool = False

    @classmethod
    def _make(cls, plaintext: bytes, extra_key: bytes, ratchet_id: int, message_id: int,
              mac_key: bytes, from_skipped: bool = False) -> Decrypted:
        """The value, without the frozen ``__init__``'s per-field ``object.__setattr__``
        (every message makes one; a test holds the two equal)."""
        made = object.__new__(cls)
        made.__dict__.update(plaintext=plaintext, extra_key=extra_key, ratchet_id=ratchet_id,
                             message_id=message_id, mac_key=mac_key, from_skipped=from_skipped)
        return made


@dataclass(frozen=True)
class _Skipped:
    mk_enc: bytes
    extra_key: bytes
    ecdh_public: bytes


@dataclass(frozen=True)
class SkippedKey:
    """A stored message key of a skipped message: ``mk_enc``, the extra symmetric key of
    its chain key, and the sender's ECDH public key of that chain."""

    mk_enc: bytes = field(repr=False)
    extra_key: bytes = field(repr=False)
    ecdh_public: bytes


@dataclass(frozen=True)
class RatchetSnapshot:
    """Every field of a :class:`DoubleRatchet`, as one immutable value (for storage).

    :meth:`DoubleRatchet.snapshot` makes it; :meth:`DoubleRatchet.restore` makes a
    ratchet from it that behaves exactly like the one snapshotted.  ``reveal_now``
    are the MAC keys the next message reveals, ``mac_keys_to_reveal`` those the first
    message of the next chain reveals; ``dh_public_in_chain`` is the DH public key
    the messages of our current sending chain carry.
    """

    our_tag: int
    their_tag: int
    root_key: bytes | None = field(repr=False)
    brace_key: bytes | None = field(repr=False)
    our_ecdh: ECDHKeyPair | None = field(repr=False)
    their_ecdh: bytes
    our_dh: DHKeyPair | None = field(repr=False)
    their_dh: int
    send_id: int | None
    send_chain_key: bytes | None = field(repr=False)
    recv_id: int | None
    recv_chain_key: bytes | None = field(repr=False)
    j: int
    k: int
    pn: int
    skipped: tuple[tuple[int, int, SkippedKey], ...] = field(repr=False)
    mac_keys_to_reveal: tuple[bytes, ...] = field(repr=False)
    reveal_now: tuple[bytes, ...] = field(repr=False)
    dh_public_in_chain: int | None
    expired: bool


# --------------------------------------------------------------------------- the ratchet


class DoubleRatchet:
    """One conversation's double ratchet (spec §Data Exchange).

    :meth:`encrypt` builds a :class:`DataMessage`; :meth:`decrypt` verifies and
    decrypts one, or raises and changes nothing.
    """

    def __init__(self, init: RatchetStart, limits: RatchetLimits | None = None) -> None:
        self.limits = limits or RatchetLimits()
        self.our_tag = init.our_tag
        self.their_tag = init.their_tag
        self.root_key: bytes | None = init.root_key
        self.brace_key: bytes | None = init.brace_key
        self.our_ecdh: ECDHKeyPair | None = init.our_ecdh
        self.their_ecdh: bytes = init.their_ecdh.encode()
        self.our_dh: DHKeyPair | None = init.our_dh
        self.their_dh: int = init.their_dh
        self.send_id: int | None = None
        self.send_chain_key: bytes | None = None
        self.recv_id: int | None = None
        self.recv_chain_key: bytes | None = None
        if init.sending is not None:
            self.send_id, self.send_chain_key = init.sending
        if init.receiving is not None:
            self.recv_id, self.recv_chain_key = init.receiving
        self.j = 0
        self.k = 0
        self.pn = 0
        self.skipped: dict[tuple[int, int], _Skipped] = {}
        self.mac_keys_to_reveal: list[bytes] = []
        self._reveal_now: list[bytes] = []
        self._our_dh_public_in_chain: int | None = None
        if self.send_id is not None and chain_uses_dh(self.send_id):
            self._our_dh_public_in_chain = init.our_dh.public
        self.expired = False
        self._their_point_cache: tuple[bytes, Point] | None = (self.their_ecdh, init.their_ecdh)

    def copy(self) -> DoubleRatchet:
        """An independent copy: operating on either never changes the other.

        The key material is immutable (bytes, ints, frozen key pairs, points);
        only the containers (stored skipped keys, MAC keys to reveal) are
        copied, so the cost is one small object plus those containers.  A
        :class:`otrv4.session.Session` copies its ratchet before every
        operation (copy on write), which keeps old session values unchanged.
        Raises nothing.
        """
        twin = object.__new__(DoubleRatchet)
        twin.__dict__.update(self.__dict__)
        twin.skipped = dict(self.skipped)
        twin.mac_keys_to_reveal = list(self.mac_keys_to_reveal)
        twin._reveal_now = list(self._reveal_now)
        return twin

    def snapshot(self) -> RatchetSnapshot:
        """Every field of the ratchet as one immutable value (skipped keys in insertion
        order).  Raises nothing."""
        return RatchetSnapshot(
            self.our_tag, self.their_tag, self.root_key, self.brace_key, self.our_ecdh,
            self.their_ecdh, self.our_dh, self.their_dh, self.send_id, self.send_chain_key,
            self.recv_id, self.recv_chain_key, self.j, self.k, self.pn,
            tuple((r, m, SkippedKey(v.mk_enc, v.extra_key, v.ecdh_public))
                  for (r, m), v in self.skipped.items()),
            tuple(self.mac_keys_to_reveal), tuple(self._reveal_now),
            self._our_dh_public_in_chain, self.expired)

    @classmethod
    def restore(cls, snap: RatchetSnapshot, limits: RatchetLimits | None = None
                ) -> DoubleRatchet:
        """The ratchet :meth:`snapshot` described.  Raises nothing (the peer's ECDH key is
        decoded, and validated, when first used)."""
        r = object.__new__(cls)
        r.limits = limits or RatchetLimits()
        r.our_tag, r.their_tag = snap.our_tag, snap.their_tag
        r.root_key, r.brace_key = snap.root_key, snap.brace_key
        r.our_ecdh, r.their_ecdh = snap.our_ecdh, snap.their_ecdh
        r.our_dh, r.their_dh = snap.our_dh, snap.their_dh
        r.send_id, r.send_chain_key = snap.send_id, snap.send_chain_key
        r.recv_id, r.recv_chain_key = snap.recv_id, snap.recv_chain_key
        r.j, r.k, r.pn = snap.j, snap.k, snap.pn
        r.skipped = {(rid, mid): _Skipped(v.mk_enc, v.extra_key, v.ecdh_public)
                     for rid, mid, v in snap.skipped}
        r.mac_keys_to_reveal = list(snap.mac_keys_to_reveal)
        r._reveal_now = list(snap.reveal_now)
        r._our_dh_public_in_chain = snap.dh_public_in_chain
        r.expired = snap.expired
        r._their_point_cache = None
        return r

    # -- introspection ------------------------------------------------------------------------

    @property
    def latest_chain(self) -> int:
        """Number of the newest chain we know of (sending or receiving)."""
        return max(x for x in (self.send_id, self.recv_id) if x is not None)

    def key_gone(self, ratchet_id: int, message_id: int) -> bool:
        """Whether the message key of a received message ``(ratchet_id, message_id)`` is
        gone: the message lies behind the receiving position (an older chain of the
        peer's, or an earlier message of the current one) and no skipped key is stored
        for it, so it was decrypted before or its key was dropped (limits, expiry).
        Changes nothing; raises nothing."""
        if (ratchet_id, message_id) in self.skipped or self.recv_id is None:
            return False
        return ratchet_id < self.recv_id or (ratchet_id == self.recv_id and message_id < self.k)

    def needs_new_sending_chain(self) -> bool:
        """Whether the next message we send starts a new chain (a DH-ratchet step)."""
        return self.send_id is None or (self.recv_id is not None and self.recv_id > self.send_id)

    def _their_point(self) -> Point:
        if self._their_point_cache is None or self._their_point_cache[0] != self.their_ecdh:
            self._their_point_cache = (self.their_ecdh, Point.decode(self.their_ecdh))
        return self._their_point_cache[1]

    # -- sending ------------------------------------------------------------------------------

    def _start_sending_chain(self, rng: Rng) -> None:
        if self.root_key is None or self.brace_key is None:
            raise SessionExpired("the ratchet was wiped")
        n = 0 if self.recv_id is None else self.recv_id + 1
        new_ecdh = generate_ecdh(rng)
        k_ecdh = ecdh(new_ecdh.secret, self._their_point())
        new_dh: DHKeyPair | None = None
        if chain_uses_dh(n):
            new_dh = generate_dh(rng)
            brace = third_brace_key(dh_shared_secret(new_dh.secret, self.their_dh))
        else:
            brace = next_brace_key(self.brace_key)
        self.root_key, self.send_chain_key = derive_ratchet_keys(
            self.root_key, mixed_shared_secret(k_ecdh, brace))
        if new_dh is not None:
            self.our_dh = new_dh
        self._our_dh_public_in_chain = None if new_dh is None else new_dh.public
        self.brace_key = brace
        self.our_ecdh = new_ecdh
        self.pn = self.j if self.send_id is not None else 0
        self.j = 0
        self.send_id = n
        self._reveal_now = self.mac_keys_to_reveal
        self.mac_keys_to_reveal = []

    def encrypt(self, plaintext: bytes, rng: Rng, *, flags: int = 0) -> Encrypted:
        """Encrypt ``plaintext`` into a data message (spec §When you send a Data Message).

        Performs a DH-ratchet step first when one is due (drawing an ECDH key,
        and a DH key on chains 1, 4, 7, ...).  The first message of a chain
        reveals the MAC keys collected so far.  Raises :class:`SessionExpired`
        after :meth:`expire`, and :class:`otrv4.primitives.ecdh.ZeroSharedSecretError`.
        """
        if self.expired:
            raise SessionExpired("the ratchet was wiped")
        send_id = self.send_id
        if send_id is None or (self.recv_id is not None and self.recv_id > send_id):
            self._start_sending_chain(rng)  # needs_new_sending_chain(), inline
            send_id = self.send_id
        chain_key, our_ecdh = self.send_chain_key, self.our_ecdh
        assert chain_key is not None and send_id is not None and our_ecdh is not None
        mk_enc = _message_key(chain_key)
        message = DataMessage.signed(
            _mac_key(mk_enc), self.our_tag, self.their_tag, flags, self.pn, send_id, self.j,
            our_ecdh.public.encode(), self._our_dh_public_in_chain,
            cipher.encrypt_data_message(mk_enc, plaintext),
            b"".join(self._reveal_now) if self._reveal_now else b"",
        )
        if self._reveal_now:
            self._reveal_now = []
        self.send_chain_key = _next_chain_key(chain_key)
        self.j += 1
        return Encrypted._make(message, _extra_symmetric_key(chain_key))

    # -- receiving ----------------------------------------------------------------------------

    def _skip(self, chain_key: bytes, start: int, stop: int, ratchet_id: int,
              ecdh_public: bytes, into: dict[tuple[int, int], _Skipped]) -> bytes:
        """Store keys for message ids ``start..stop-1``; return the chain key of ``stop``."""
        for n in range(start, stop):
            into[(ratchet_id, n)] = _Skipped(_message_key(chain_key),
                                             _extra_symmetric_key(chain_key), ecdh_public)
            chain_key = _next_chain_key(chain_key)
        return chain_key

    def _check_room(self, adding: int) -> None:
        if len(self.skipped) + adding > self.limits.max_stored:
            raise SkippedKeyStorageFull(
                f"{len(self.skipped)} keys stored, {adding} more would exceed "
                f"{self.limits.max_stored}"
            )

    def decrypt(self, message: DataMessage) -> Decrypted:
        """Verify and decrypt a data message (spec §When you receive a Data Message).

        Raises :class:`SessionExpired`, :class:`InstanceTagMismatch`,
        :class:`DuplicateMessage`, :class:`UnexpectedRatchetId`,
        :class:`ECDHKeyMismatch`, :class:`DHKeyPresenceError`,
        :class:`InvalidPreviousChainLength`, :class:`TooManySkippedMessages`,
        :class:`SkippedKeyStorageFull`, :class:`AuthenticatorMismatch`,
        :class:`otrv4.primitives.ecdh.ZeroSharedSecretError`, and the point / DH
        validation errors of :mod:`otrv4.primitives.ed448` and
        :mod:`otrv4.primitives.dh3072`.  On
        any error the ratchet is unchanged.
        """
        if self.expired or self.root_key is None or self.brace_key is None:
            raise SessionExpired("the ratchet was wiped")
        if message.receiver_tag != self.our_tag or message.sender_tag != self.their_tag:
            raise InstanceTagMismatch(
                f"message {message.sender_tag:08x}->{message.receiver_tag:08x}, "
                f"conversation {self.their_tag:08x}->{self.our_tag:08x}"
            )
        rid, mid = message.ratchet_id, message.message_id
        stored = self.skipped.get((rid, mid)) if self.skipped else None
        if stored is not None:
            return self._decrypt_stored(message, stored)
        if self.recv_id is not None and rid == self.recv_id:
            return self._decrypt_same_chain(message)
        if self.recv_id is not None and rid < self.recv_id:
            raise DuplicateMessage(f"no key for message {mid} of past chain {rid}")
        return self._decrypt_new_chain(message)

    def _verify_and_open(self, message: DataMessage, mk_enc: bytes) -> tuple[bytes, bytes]:
        mk_mac = _mac_key(mk_enc)
        expected = compute_authenticator(mk_mac, message.authenticated_sections())
        if not hmac.compare_digest(expected, message.authenticator):
            raise AuthenticatorMismatch(
                f"authenticator of message {message.message_id} of chain {message.ratchet_id}"
            )
        return cipher.decrypt_data_message(mk_enc, message.ciphertext), mk_mac

    def _decrypt_stored(self, message: DataMessage, stored: _Skipped) -> Decrypted:
        if message.ecdh_public != stored.ecdh_public:
            raise ECDHKeyMismatch("the ECDH key differs from the one of the stored chain")
        self._check_dh_presence(message)
        plaintext, mk_mac = self._verify_and_open(message, stored.mk_enc)
        del self.skipped[(message.ratchet_id, message.message_id)]
        self.mac_keys_to_reveal.append(mk_mac)
        return Decrypted._make(plaintext, stored.extra_key, message.ratchet_id,
                               message.message_id, mk_mac, from_skipped=True)

    def _check_dh_presence(self, message: DataMessage) -> None:
        wants = message.ratchet_id != 0 and chain_uses_dh(message.ratchet_id)
        if wants != (message.dh_public is not None):
            raise DHKeyPresenceError(
                f"chain {message.ratchet_id} {'needs' if wants else 'takes no'} DH public key"
            )

    def _decrypt_same_chain(self, message: DataMessage) -> Decrypted:
        chain_key = self.recv_chain_key
        assert chain_key is not None
        mid, k = message.message_id, self.k
        if message.ecdh_public != self.their_ecdh:
            raise ECDHKeyMismatch("the ECDH key is not the current receiving chain's")
        self._check_dh_presence(message)
        if message.dh_public is not None and message.dh_public != self.their_dh:
            raise DHKeyPresenceError("the DH key is not the current receiving chain's")
        if mid < k:
            raise DuplicateMessage(f"message {mid} of chain {message.ratchet_id} already received")
        new: dict[tuple[int, int], _Skipped] | None = None
        if mid > k or self.skipped:
            if mid - k > self.limits.max_skip:
                raise TooManySkippedMessages(f"{mid - k} skipped keys exceed max_skip")
            self._check_room(mid - k)
            new = {}
            chain_key = self._skip(chain_key, k, mid, message.ratchet_id, self.their_ecdh, new)
        plaintext, mk_mac = self._verify_and_open(message, _message_key(chain_key))
        # commit
        if new:
            self.skipped.update(new)
        self.recv_chain_key = _next_chain_key(chain_key)
        self.k = mid + 1
        self.mac_keys_to_reveal.append(mk_mac)
        return Decrypted._make(plaintext, _extra_symmetric_key(chain_key), message.ratchet_id,
                               mid, mk_mac)

    def _decrypt_new_chain(self, message: DataMessage) -> Decrypted:
        rid, mid = message.ratchet_id, message.message_id
        expected = None
        if self.send_id is not None and (self.recv_id is None or self.send_id > self.recv_id):
            expected = self.send_id + 1
        if rid != expected:
            raise UnexpectedRatchetId(f"ratchet id {rid}, expected {expected}")
        self._check_dh_presence(message)
        gap_old = 0
        if self.recv_id is not None:
            gap_old = message.previous_chain_length - self.k
            if gap_old < 0:
                raise InvalidPreviousChainLength(
                    f"previous chain had {message.previous_chain_length} messages, "
                    f"{self.k} already received"
                )
        if gap_old > self.limits.max_skip or mid > self.limits.max_skip:
            raise TooManySkippedMessages("the message skips more than max_skip keys")
        aged = [key for key in self.skipped if key[0] <= rid - self.limits.max_stored_age]
        self._check_room(gap_old + mid - len(aged))
        assert self.our_ecdh is not None and self.root_key is not None
        assert self.brace_key is not None
        their_point = Point.decode(message.ecdh_public)
        k_ecdh = ecdh(self.our_ecdh.secret, their_point)
        if message.dh_public is not None:
            assert self.our_dh is not None
            brace = third_brace_key(dh_shared_secret(self.our_dh.secret, message.dh_public))
        else:
            brace = next_brace_key(self.brace_key)
        root, chain_key = derive_ratchet_keys(self.root_key, mixed_shared_secret(k_ecdh, brace))
        new: dict[tuple[int, int], _Skipped] = {}
        if self.recv_id is not None and self.recv_chain_key is not None:
            self._skip(self.recv_chain_key, self.k, message.previous_chain_length,
                       self.recv_id, self.their_ecdh, new)
        chain_key = self._skip(chain_key, 0, mid, rid, message.ecdh_public, new)
        plaintext, mk_mac = self._verify_and_open(message, _message_key(chain_key))
        # commit
        for key in aged:
            self.mac_keys_to_reveal.append(mac_key_of(self.skipped.pop(key).mk_enc))
        self.skipped.update(new)
        self.root_key = root
        self.brace_key = brace
        self.recv_id = rid
        self.recv_chain_key = next_chain_key(chain_key)
        self.k = mid + 1
        self.their_ecdh = message.ecdh_public
        self._their_point_cache = (message.ecdh_public, their_point)
        if message.dh_public is not None:
            self.their_dh = message.dh_public
            self.our_dh = None  # consumed by the peer's DH chain
        self.our_ecdh = None  # the peer ratcheted past it; a new one comes with our next chain
        self.mac_keys_to_reveal.append(mk_mac)
        return Decrypted._make(plaintext, extra_symmetric_key(chain_key), rid, mid, mk_mac)

    def unrevealed_mac_keys(self) -> bytes:
        """Every MAC key not yet revealed (received messages and stored skipped keys).

        For TLV 1 on session expiry (spec §Session Expiration).  Changes nothing.
        """
        keys = self._reveal_now + self.mac_keys_to_reveal
        keys += [mac_key_of(s.mk_enc) for s in self.skipped.values()]
        return b"".join(keys)

    # -- expiry -------------------------------------------------------------------------------

    def expire(self) -> bytes:
        """Wipe the ratchet (spec §Session Expiration); return the MAC keys to reveal.

        The result is every MAC key not yet revealed, including those of the
        stored skipped keys, concatenated (for TLV 1).  Afterwards every
        operation raises :class:`SessionExpired`.
        """
        keys = self._reveal_now + self.mac_keys_to_reveal
        keys += [mac_key_of(s.mk_enc) for s in self.skipped.values()]
        self.root_key = self.brace_key = None
        self.send_chain_key = self.recv_chain_key = None
        self.our_ecdh = None
        self.our_dh = None
        self.skipped.clear()
        self.mac_keys_to_reveal = []
        self._reveal_now = []
        self.expired = True
        return b"".join(keys)


def ratchet_key_material(ratchet: DoubleRatchet) -> bytes:
    """The chain key the next message ``ratchet`` sends in its current chain will use.

    For the forging tools and tests ("Read and Forge" takes a chain key).
    Raises :class:`SessionExpired` when there is no sending chain.
    """
    if ratchet.send_chain_key is None:
        raise SessionExpired("no sending chain")
    return ratchet.send_chain_key


register(Decision(
    number=1,
    title="Double-ratchet counter bookkeeping",
    question=(
        "otrv4.md's ratchet counter i is inconsistent: the sender rotates the DH key when "
        "i % 3 == 0 but increments i only when it does not, the receiver tests the received "
        "ratchet id and resets i to 0, a data message carries i - 1 except right after Auth-I, "
        "and the DAKE sections give Bob a fresh DH key for his first sending chain."
    ),
    decision=(
        "Chains are numbered 0, 1, 2, ... in the order they are created, alternately by the two "
        "parties (the first sender after the DAKE owns chain 0). A data message's ratchet id is "
        "its chain's number. Chain 0 comes from the DAKE's first keys; chain n >= 1 agrees on a "
        "fresh 3072-bit DH key when n % 3 == 1 (the first ratchet after the DAKE and every third "
        "after it) and re-hashes the brace key otherwise. Every message of a DH chain carries "
        "the sender's DH public key, every other message an empty one, and a receiver rejects "
        "a message that breaks this. A receiver accepts a new chain only when its number is one "
        "more than its own latest sending chain."
    ),
    reason=(
        "One monotonic counter that both parties derive from the messages alone cannot drift; "
        "it keeps the DAKE sections' fresh DH key in Bob's first chain and the 'every third "
        "ratchet' rule, makes the presence of the DH key checkable, and survives the loss of "
        "the first message of a DH chain."
    ),
    others=(
        "libotr-ng keeps the spec's i/j/k counters with its own increments (it follows the "
        "specification of early 2019 and is not wire-compatible with the current one in any "
        "case); otr4j's review (otr4j/otrv4:review.md) "
        "criticises the same inconsistency and proposes a single monotonic i."
    ),
    vector="ratchet",
))

register(Decision(
    number=2,
    title="derive_ratchet_keys returns chain_key_purpose[i] instead of [l]",
    question=(
        "otrv4.md §Deriving Double Ratchet Keys computes chain_key_purpose[l] but returns "
        "chain_key_purpose[i]; which chain key is the result?"
    ),
    decision=(
        "derive_ratchet_keys returns the chain key it just computed, "
        "KDF(usage_chain_key || prev_root_key || K, 64), as the first chain key (message id 0) "
        "of the new sending or receiving chain, together with "
        "KDF(usage_root_key || prev_root_key || K, 64) as the new root key."
    ),
    reason=(
        "The index is a typo: i is the ratchet counter, l the message counter of the chain "
        "being derived, which is reset to 0 just before; no other chain key exists at that point."
    ),
    others="libotr-ng derives one chain key per ratchet and starts its message counter at 0.",
    vector="ratchet",
))

register(Decision(
    number=16,
    title="Extra symmetric keys: each derived from the previous one",
    question=(
        "otrv4.md §Extra Symmetric Key gives the formula symkey1 = KDF(index || context || "
        "extra_sym_key, 64), which derives every further key from the base extra symmetric "
        "key, while its worked example derives each from the previous one "
        "(extra_sym_key_3 = KDF(0x03 || 0x104A || extra_sym_key_2, 64))."
    ),
    decision=(
        "As the example: key_0 = KDF(usage_extra_symm_key || 0xFF || chain key, 64), the "
        "extra symmetric key of the message; for the n-th TLV 7 of the message, key_n = "
        "KDF(index || context || key_(n-1), 64), where index is the TLV's position in the "
        "message's TLV list (one byte, from 0, in the place of the usage ID) and context the "
        "first 4 bytes of its value. At most 10 keys in all (key_0 and 9 derived)."
    ),
    reason=(
        "The example is the only text that fixes what the formula leaves open (which index), "
        "and chaining matches the instruction that follows it: after each extra_sym_key_n is "
        "used to derive the next one, it should be deleted. Only ratchet vector tc14 (three "
        "TLV 7 in one message) tells the two readings apart."
    ),
    others="Not compared with another implementation.",
    vector="ratchet",
))

register(Decision(
    number=20,
    title="The previous chain message number counts the sender's previous sending chain",
    question=(
        "A data message's 'Previous chain message number' is 'the sender's pn' (otrv4.md "
        "§Data Message Format), and pn is 'the number of messages in the previous DH "
        "ratchet', which could be the sender's previous sending chain or the chain it last "
        "received; the receiving steps 'Set pn as j'."
    ),
    decision=(
        "pn is the number of messages the sender sent in its previous sending chain (its j "
        "when it started the current one), 0 in its first sending chain. On the first "
        "message of a new chain the receiver stores the keys of the messages of its current "
        "receiving chain (the sender's previous sending chain) from k up to pn, refuses a pn "
        "below k, and applies max_skip to that gap."
    ),
    reason=(
        "The sender's previous sending chain is the only chain the receiver can still be "
        "missing messages from, and its length is what the receiver needs to store their "
        "keys; it is what 'Set pn as j' yields."
    ),
    others="Not compared with another implementation.",
    vector="ratchet",
))

register(Decision(
    number=21,
    title="Revealed MAC keys: order, and only in the first message of the next chain",
    question=(
        "otrv4.md §Revealing MAC Keys adds a MAC key to mac_keys_to_reveal 'after a "
        "participant has verified the message' and says 'The first data message sent every "
        "ratchet reveals them'; the order of the keys, and whether the chain's later "
        "messages repeat them, is not said."
    ),
    decision=(
        "A received message's MAC key is appended when its authenticator verifies, so the "
        "keys are in the order the messages were verified; the MAC keys of stored skipped "
        "keys deleted for age are appended when deleted. The list goes, as concatenated "
        "64-byte values, only in the first data message of the sender's next sending chain, "
        "and is then emptied; the chain's other messages carry an empty field. On session "
        "expiry the keys not yet revealed, including those of stored skipped keys, go in "
        "TLV 1."
    ),
    reason=(
        "The trigger the specification names (verification) gives the order, which makes "
        "data messages reproducible from their inputs; revealing a key once is enough for "
        "forgeability, and repeating it would cost 64 bytes per key in every message."
    ),
    others="Not compared with another implementation.",
    vector="ratchet",
))
