"""Shared session state (phi), the SSID, and the key schedule up to the double ratchet.

Implements ``otrv4.md`` §Shared Session State, §Secure Session ID, §Shared
Secrets, the DAKE parts of §Key Management, and the double-ratchet
initialisation steps of §Interactive DAKE Overview and §Non-Interactive DAKE
Overview.  The result of a completed DAKE is a :class:`DakeResult`: everything
the double ratchet (``otrv4.ratchet``) needs, in the state the spec describes
right after "Initializes the double-ratchet algorithm".

Decision on **ambiguity 8** (registered here): the canonical content and
order of phi, see :func:`phi` and :func:`xmpp_phi_prime`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from .decisions import Decision, register
from .encoding import encode_data, encode_int, encode_mpi
from .primitives import dh3072
from .primitives.ecdh import ECDHKeyPair
from .primitives.ed448 import Point
from .primitives.kdf import UsageID, hwc, kdf
from .profiles import ClientProfile

__all__ = [
    "BRACE_KEY_BYTES",
    "ROOT_KEY_BYTES",
    "SSID_BYTES",
    "DakeKind",
    "DakeResult",
    "FirstKeys",
    "Role",
    "brace_key_from_dh",
    "derive_ratchet_keys",
    "first_root_key",
    "format_ssid",
    "mixed_secret",
    "non_interactive_ratchet_keys",
    "phi",
    "ssid",
    "xmpp_phi_prime",
]

SSID_BYTES = 8
BRACE_KEY_BYTES = 32
ROOT_KEY_BYTES = 64

register(Decision(
    number=8,
    title="Content and order of phi",
    question=(
        "§Shared Session State lists phi as sender tag || receiver tag || our_ecdh_first || "
        "our_dh_first || their_ecdh_first || their_dh_first || phi', which differs between "
        "the two parties; it asks to 'sort' tags numerically and strings lexicographically "
        "without saying how the keys are ordered or encoded, and the Prekey message has no "
        "first keys."
    ),
    decision=(
        "phi = INT(tag_1) || INT(tag_2) || FIRST(1) || FIRST(2) || phi', where party 1 is "
        "the party with the numerically smaller instance tag (ties broken by comparing "
        "FIRST bytewise), FIRST(p) = POINT(p's our_ecdh_first.public) || "
        "MPI(p's our_dh_first.public), and FIRST is empty for the prekey owner in the "
        "non-interactive DAKE (it sends no first keys). For XMPP, phi' = DATA(jid_1) || "
        "DATA(jid_2): the two bare JIDs (as the XMPP layer normalised them), UTF-8, "
        "ordered bytewise ascending."
    ),
    reason=(
        "Both parties must compute the same bytes without knowing roles; ordering every "
        "per-party value by the instance tag keeps each key next to its owner's tag; "
        "POINT and MPI are the keys' wire encodings; bytewise order of UTF-8 is "
        "locale-free."
    ),
    others=(
        "libotr-ng: min(tag) || max(tag) as 16-bit values || DATA(sorted identities, "
        "concatenated), without first keys; pidgin-otrng passes the constants "
        "\"alice\"/\"bob\"."
    ),
    vector="dake-interactive",
))


class Role(enum.Enum):
    """Which DAKE message this party sent last (drives the SSID display and the ratchet start)."""

    INTERACTIVE_RESPONDER = "sent Auth-R"   # "Alice" in §Interactive DAKE Overview
    INTERACTIVE_INITIATOR = "sent Auth-I"   # "Bob": sent the Identity message
    NON_INTERACTIVE_SENDER = "sent Non-Interactive-Auth"  # "Alice" in §Non-Interactive…
    NON_INTERACTIVE_RECEIVER = "received Non-Interactive-Auth"  # "Bob": the prekey owner


class DakeKind(enum.Enum):
    """Which DAKE produced the session."""

    INTERACTIVE = "interactive (DAKEZ)"
    NON_INTERACTIVE = "non-interactive (XZDH)"


@dataclass(frozen=True)
class FirstKeys:
    """One party's instance tag and first double-ratchet public keys (absent for a prekey owner)."""

    instance_tag: int
    ecdh_first: Point | None = None
    dh_first: int | None = None

    def encoded_keys(self) -> bytes:
        """``POINT(ecdh_first) || MPI(dh_first)``, or empty when the party sent none."""
        if self.ecdh_first is None or self.dh_first is None:
            return b""
        return self.ecdh_first.encode() + encode_mpi(self.dh_first)


def xmpp_phi_prime(jid_a: str, jid_b: str) -> bytes:
    """phi' for XMPP (decision 8): ``DATA(jid_1) || DATA(jid_2)``, bare JIDs sorted bytewise.

    Raises ``ValueError`` if a JID has a resource part (``/``); the XMPP layer
    passes normalised bare JIDs.
    """
    encoded = []
    for jid in (jid_a, jid_b):
        if "/" in jid or not jid:
            raise ValueError(f"phi' takes bare JIDs, not {jid!r}")
        encoded.append(jid.encode("utf-8"))
    encoded.sort()
    return encode_data(encoded[0]) + encode_data(encoded[1])


def phi(party_a: FirstKeys, party_b: FirstKeys, phi_prime: bytes) -> bytes:
    """The shared session state (decision 8), the same bytes whichever party computes it."""
    first, second = sorted(
        (party_a, party_b), key=lambda p: (p.instance_tag, p.encoded_keys())
    )
    return (
        encode_int(first.instance_tag) + encode_int(second.instance_tag)
        + first.encoded_keys() + second.encoded_keys() + phi_prime
    )


def brace_key_from_dh(k_dh: int) -> bytes:
    """``KDF(usage_third_brace_key || k_dh, 32)`` (§Shared Secrets); k_dh as decision 9 says."""
    return kdf(UsageID.THIRD_BRACE_KEY, dh3072.k_dh_bytes(k_dh), BRACE_KEY_BYTES)


def mixed_secret(k_ecdh: bytes, brace_key: bytes) -> bytes:
    """``K = KDF(usage_shared_secret || K_ecdh || brace_key, 64)`` (§Shared Secrets)."""
    return kdf(UsageID.SHARED_SECRET, k_ecdh + brace_key, 64)


def ssid(k: bytes) -> bytes:
    """``SSID = HWC(usage_SSID || K, 8)`` (§Secure Session ID)."""
    return hwc(UsageID.SSID, k, SSID_BYTES)


def format_ssid(value: bytes, *, bold_first: bool) -> str:
    """The SSID as two ``%08x`` halves, the bold half in ``**…**`` (§Secure Session ID)."""
    a, b = value[:4].hex(), value[4:].hex()
    return f"**{a}** {b}" if bold_first else f"{a} **{b}**"


def first_root_key(k: bytes) -> bytes:
    """``prev_root_key = KDF(usage_first_root_key || K, 64)`` (interactive ratchet start)."""
    return kdf(UsageID.FIRST_ROOT_KEY, k, ROOT_KEY_BYTES)


def derive_ratchet_keys(prev_root_key: bytes, k: bytes) -> tuple[bytes, bytes]:
    """§Deriving Double Ratchet Keys: ``(curr_root_key, chain_key)``.

    ``curr_root_key = KDF(usage_root_key || prev_root_key || K, 64)``,
    ``chain_key = KDF(usage_chain_key || prev_root_key || K, 64)``.
    """
    return (
        kdf(UsageID.ROOT_KEY, prev_root_key + k, ROOT_KEY_BYTES),
        kdf(UsageID.CHAIN_KEY, prev_root_key + k, ROOT_KEY_BYTES),
    )


def non_interactive_ratchet_keys(k: bytes) -> tuple[bytes, bytes]:
    """§Non-Interactive DAKE Overview: ``KDF(usage_root_key || K, 64)`` and
    ``KDF(usage_chain_key || K, 64)``."""
    return (
        kdf(UsageID.ROOT_KEY, k, ROOT_KEY_BYTES),
        kdf(UsageID.CHAIN_KEY, k, ROOT_KEY_BYTES),
    )


@dataclass(frozen=True)
class DakeResult:
    """What a completed DAKE yields: everything the double ratchet needs, and more.

    (The double ratchet itself starts from :class:`otrv4.ratchet.RatchetStart`,
    which :meth:`~otrv4.ratchet.RatchetStart.from_dake` builds from this value.)

    The values are those the spec holds right after "Initializes the double
    ratchet" for this party's :attr:`role`:

    * **INTERACTIVE_RESPONDER** (sent Auth-R, received Auth-I): ``root_key`` and
      ``chain_key_sending`` = ``derive_ratchet_keys(KDF(0x0B || K), K1)`` where
      K1 mixes our and their first keys; ``chain_key_receiving`` is ``None``; ``i = 0``;
      ``our_ecdh``/``our_dh`` are our first key pairs.  May send at once (same DH ratchet).
    * **INTERACTIVE_INITIATOR** (sent Auth-I): ``chain_key_receiving`` from the first
      keys, then a new ECDH and DH key pair (``our_ecdh``/``our_dh``) and
      ``chain_key_sending`` from them; ``i = 1``.  May send at once, attaching the
      new public keys.
    * **NON_INTERACTIVE_SENDER**: ``root_key = KDF(0x12 || K)``,
      ``chain_key_sending = KDF(0x13 || K)``, ``i = 1``; ``our_ecdh``/``our_dh`` are our
      first key pairs; ``their_ecdh``/``their_dh`` the prekey owner's Y and B.
    * **NON_INTERACTIVE_RECEIVER**: the same root key, ``chain_key_receiving =
      KDF(0x13 || K)``, ``i = 1``; ``their_ecdh``/``their_dh`` are the sender's first
      keys; ``our_ecdh``/``our_dh`` are the consumed one-time prekey pairs (the spec
      deletes their secrets: the first message we send starts a new DH ratchet).

    ``our_ecdh_first``/``our_dh_first``/``their_ecdh_first``/``their_dh_first`` are the
    first double-ratchet keys exchanged in the DAKE (for the prekey owner, who
    sends none, his one-time prekeys Y and B stand in their place).

    ``brace_key`` is the last brace key computed (for the interactive roles the
    one mixed into the chain keys above; for the non-interactive ones the DAKE's
    brace key, which the spec deletes, kept here because the next ratchet with
    ``i % 3 != 0`` derives from it — see ambiguity 1).  ``dake_secret`` is the
    DAKE's mixed secret K (the SSID's input).  ``j = k = pn = 0`` and
    ``max_remote_i_seen = -1`` in every role.
    """

    kind: DakeKind
    role: Role
    ssid: bytes
    dake_secret: bytes = field(repr=False)
    brace_key: bytes = field(repr=False)
    root_key: bytes = field(repr=False)
    chain_key_sending: bytes | None = field(repr=False)
    chain_key_receiving: bytes | None = field(repr=False)
    our_ecdh: ECDHKeyPair = field(repr=False)
    our_dh: dh3072.DHKeyPair = field(repr=False)
    their_ecdh: Point
    their_dh: int
    our_instance_tag: int
    their_instance_tag: int
    their_client_profile: ClientProfile
    i: int
    our_ecdh_first: ECDHKeyPair = field(repr=False)
    our_dh_first: dh3072.DHKeyPair = field(repr=False)
    their_ecdh_first: Point
    their_dh_first: int
    j: int = 0
    k: int = 0
    pn: int = 0
    max_remote_i_seen: int = -1

    @property
    def sends_first(self) -> bool:
        """Whether we own the first chain: the responder (received Auth-I) and the sender of
        Non-Interactive-Auth; the other side receives on it."""
        return self.role in (Role.INTERACTIVE_RESPONDER, Role.NON_INTERACTIVE_SENDER)

    @property
    def ssid_bold_first(self) -> bool:
        """Whether the SSID's first half is bold (we sent Auth-R or Non-Interactive-Auth)."""
        return self.role in (Role.INTERACTIVE_RESPONDER, Role.NON_INTERACTIVE_SENDER)

    @property
    def may_send_now(self) -> bool:
        """Whether a sending chain key exists (otherwise the first send starts a DH ratchet)."""
        return self.chain_key_sending is not None
