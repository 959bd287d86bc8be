"""SHAKE-256 key derivation, hashing and MACs with usage IDs.

Implements otrv4.md §"Key Derivation Function, Hash Function and MAC Function",
§"HashToScalar", and the prekey-server variant of otrv4-prekey-server.md
§"Key Derivation Functions".

All three OTRv4 functions (KDF, HWC, HCMAC) are the same computation::

    SHAKE-256("OTRv4" || usage_ID || values, size)

with ``usage_ID`` one byte and ``size`` counted in bytes.  They are kept as
three names so call sites read like the specification.  The prekey-server
specification uses the same construction with the prefix
``"OTR-Prekey-Server"`` and its own usage-ID table.

The usage-ID tables are :class:`UsageID` (OTRv4) and :class:`PrekeyUsageID`
(prekey server).  Each member carries the name the specification uses
(:attr:`UsageID.spec_name`) and a one-line description of where it is used
(:attr:`UsageID.description`); the XEP's tables are rendered from these.

:func:`hash_to_scalar` lives here (not in the ring-signature module) because
SMP uses it too; it imports the group order ``Q`` from
:mod:`otrv4.primitives.ed448` when first called.

Misuse by the caller (a usage ID outside 0..255, a non-positive size) raises
:class:`ValueError`: these are programming errors, never properties of
received data.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Callable

from ..decisions import Decision, register

__all__ = [
    "HASH_TO_SCALAR_SIZE",
    "KdfDomain",
    "PrekeyUsageID",
    "UsageID",
    "derive",
    "hash_to_scalar",
    "hcmac",
    "hwc",
    "kdf",
    "kdf_for",
    "prekey_server_kdf",
    "shake256",
]

#: Output size, in bytes, of the hash inside :func:`hash_to_scalar`
#: (otrv4.md §HashToScalar: ``HWC(usageID || d, 57)``).
HASH_TO_SCALAR_SIZE = 57


class KdfDomain(bytes, enum.Enum):
    """The domain-separation prefix that precedes the usage ID."""

    #: otrv4.md §"Key Derivation Function, Hash Function and MAC Function".
    OTRV4 = b"OTRv4"
    #: otrv4-prekey-server.md §"Key Derivation Functions".
    PREKEY_SERVER = b"OTR-Prekey-Server"


class UsageID(enum.IntEnum):
    """Usage IDs of otrv4.md §"Key Derivation Function, Hash Function and MAC Function".

    Values follow the specification's last revision (after commit ``24fe527``,
    2019-03-29, which removed the two "first ephemeral" IDs).  libotr-ng still
    uses the older numbering from ``ROOT_KEY`` on; see ``otrv4-brief.md`` §2.5.
    """

    FINGERPRINT = 0x00
    THIRD_BRACE_KEY = 0x01
    BRACE_KEY = 0x02
    SHARED_SECRET = 0x03
    SSID = 0x04
    AUTH_R_BOB_CLIENT_PROFILE = 0x05
    AUTH_R_ALICE_CLIENT_PROFILE = 0x06
    AUTH_R_PHI = 0x07
    AUTH_I_BOB_CLIENT_PROFILE = 0x08
    AUTH_I_ALICE_CLIENT_PROFILE = 0x09
    AUTH_I_PHI = 0x0A
    FIRST_ROOT_KEY = 0x0B
    TMP_KEY = 0x0C
    AUTH_MAC_KEY = 0x0D
    NON_INT_AUTH_BOB_CLIENT_PROFILE = 0x0E
    NON_INT_AUTH_ALICE_CLIENT_PROFILE = 0x0F
    NON_INT_AUTH_PHI = 0x10
    AUTH_MAC = 0x11
    ROOT_KEY = 0x12
    CHAIN_KEY = 0x13
    NEXT_CHAIN_KEY = 0x14
    MESSAGE_KEY = 0x15
    MAC_KEY = 0x16
    EXTRA_SYMM_KEY = 0x17
    AUTHENTICATOR = 0x18
    SMP_SECRET = 0x19
    AUTH = 0x1A

    @property
    def spec_name(self) -> str:
        """The variable name otrv4.md gives this usage ID (e.g. ``usage_SSID``)."""
        return _USAGE_SPEC_NAMES[self]

    @property
    def description(self) -> str:
        """Where the specification uses this usage ID, in one line."""
        return _USAGE_DESCRIPTIONS[self]


_USAGE_SPEC_NAMES: dict[UsageID, str] = {
    UsageID.FINGERPRINT: "usage_fingerprint",
    UsageID.THIRD_BRACE_KEY: "usage_third_brace_key",
    UsageID.BRACE_KEY: "usage_brace_key",
    UsageID.SHARED_SECRET: "usage_shared_secret",
    UsageID.SSID: "usage_SSID",
    UsageID.AUTH_R_BOB_CLIENT_PROFILE: "usage_auth_r_bob_client_profile",
    UsageID.AUTH_R_ALICE_CLIENT_PROFILE: "usage_auth_r_alice_client_profile",
    UsageID.AUTH_R_PHI: "usage_auth_r_phi",
    UsageID.AUTH_I_BOB_CLIENT_PROFILE: "usage_auth_i_bob_client_profile",
    UsageID.AUTH_I_ALICE_CLIENT_PROFILE: "usage_auth_i_alice_client_profile",
    UsageID.AUTH_I_PHI: "usage_auth_i_phi",
    UsageID.FIRST_ROOT_KEY: "usage_first_root_key",
    UsageID.TMP_KEY: "usage_tmp_key",
    UsageID.AUTH_MAC_KEY: "usage_auth_MAC_key",
    UsageID.NON_INT_AUTH_BOB_CLIENT_PROFILE: "usage_non_int_auth_bob_client_profile",
    UsageID.NON_INT_AUTH_ALICE_CLIENT_PROFILE: "usage_non_int_auth_alice_client_profile",
    UsageID.NON_INT_AUTH_PHI: "usage_non_int_auth_phi",
    UsageID.AUTH_MAC: "usage_auth_MAC",
    UsageID.ROOT_KEY: "usage_root_key",
    UsageID.CHAIN_KEY: "usage_chain_key",
    UsageID.NEXT_CHAIN_KEY: "usage_next_chain_key",
    UsageID.MESSAGE_KEY: "usage_message_key",
    UsageID.MAC_KEY: "usage_MAC_key",
    UsageID.EXTRA_SYMM_KEY: "usage_extra_symm_key",
    UsageID.AUTHENTICATOR: "usage_authenticator",
    UsageID.SMP_SECRET: "usage_SMP_secret",
    UsageID.AUTH: "usage_auth",
}

_USAGE_DESCRIPTIONS: dict[UsageID, str] = {
    UsageID.FINGERPRINT: "Fingerprint of a long-term public key and forging key (56 bytes).",
    UsageID.THIRD_BRACE_KEY: "Brace key from a fresh DH secret k_dh (every third ratchet).",
    UsageID.BRACE_KEY: "Brace key from the previous brace key (the other ratchets).",
    UsageID.SHARED_SECRET: "Mixed shared secret K from K_ecdh and the brace key.",
    UsageID.SSID: "Secure Session ID: the first 8 bytes derived from K.",
    UsageID.AUTH_R_BOB_CLIENT_PROFILE: "Hash of Bob's Client Profile in Auth-R's t.",
    UsageID.AUTH_R_ALICE_CLIENT_PROFILE: "Hash of Alice's Client Profile in Auth-R's t.",
    UsageID.AUTH_R_PHI: "Hash of the shared session state phi in Auth-R's t.",
    UsageID.AUTH_I_BOB_CLIENT_PROFILE: "Hash of Bob's Client Profile in Auth-I's t.",
    UsageID.AUTH_I_ALICE_CLIENT_PROFILE: "Hash of Alice's Client Profile in Auth-I's t.",
    UsageID.AUTH_I_PHI: "Hash of the shared session state phi in Auth-I's t.",
    UsageID.FIRST_ROOT_KEY: "First root key, derived from K after a DAKE.",
    UsageID.TMP_KEY: "Temporary key tmp_k of the non-interactive DAKE.",
    UsageID.AUTH_MAC_KEY: "MAC key of the Non-Interactive-Auth message, from tmp_k.",
    UsageID.NON_INT_AUTH_BOB_CLIENT_PROFILE: (
        "Hash of Bob's Client Profile in the Non-Interactive-Auth message's t."
    ),
    UsageID.NON_INT_AUTH_ALICE_CLIENT_PROFILE: (
        "Hash of Alice's Client Profile in the Non-Interactive-Auth message's t."
    ),
    UsageID.NON_INT_AUTH_PHI: "Hash of phi in the Non-Interactive-Auth message's t.",
    UsageID.AUTH_MAC: "MAC of the Non-Interactive-Auth message.",
    UsageID.ROOT_KEY: "Next root key of the double ratchet.",
    UsageID.CHAIN_KEY: "First chain key of a sending or receiving chain.",
    UsageID.NEXT_CHAIN_KEY: "Next chain key of a sending or receiving chain.",
    UsageID.MESSAGE_KEY: "Message encryption key MKenc from a chain key.",
    UsageID.MAC_KEY: "Message MAC key MKmac from MKenc.",
    UsageID.EXTRA_SYMM_KEY: "Extra symmetric key (and its derived keys) from a chain key.",
    UsageID.AUTHENTICATOR: "Authenticator (MAC) of a data message.",
    UsageID.SMP_SECRET: "SMP secret value x or y from the fingerprints, SSID and answer.",
    UsageID.AUTH: "Challenge c of the ring signature (HashToScalar in RSig and RVrf).",
}


class PrekeyUsageID(enum.IntEnum):
    """Usage IDs of otrv4-prekey-server.md §"Key Derivation Functions"."""

    FINGERPRINT = 0x00
    SK = 0x01
    INITIATOR_CLIENT_PROFILE = 0x02
    INITIATOR_PREKEY_COMPOSITE_IDENTITY = 0x03
    INITIATOR_PREKEY_COMPOSITE_PHI = 0x04
    RECEIVER_CLIENT_PROFILE = 0x05
    RECEIVER_PREKEY_COMPOSITE_IDENTITY = 0x06
    RECEIVER_PREKEY_COMPOSITE_PHI = 0x07
    PRE_MAC_KEY = 0x08
    PRE_MAC = 0x09
    STORAGE_INFO_MAC = 0x0A
    STATUS_MAC = 0x0B
    SUCCESS_MAC = 0x0C
    FAILURE_MAC = 0x0D
    PREKEY_MESSAGE = 0x0E
    CLIENT_PROFILE = 0x0F
    PREKEY_PROFILE = 0x10
    AUTH = 0x11
    PROOF_CONTEXT = 0x12
    PROOF_MESSAGE_ECDH = 0x13
    PROOF_MESSAGE_DH = 0x14
    PROOF_SHARED_ECDH = 0x15
    MAC_PROOFS = 0x16
    PROOF_C_LAMBDA = 0x17

    @property
    def spec_name(self) -> str:
        """The variable name otrv4-prekey-server.md gives this usage ID."""
        return _PREKEY_SPEC_NAMES[self]

    @property
    def description(self) -> str:
        """Where the prekey-server specification uses this usage ID, in one line."""
        return _PREKEY_DESCRIPTIONS[self]


_PREKEY_SPEC_NAMES: dict[PrekeyUsageID, str] = {
    PrekeyUsageID.FINGERPRINT: "usage_Fingerprint",
    PrekeyUsageID.SK: "usage_SK",
    PrekeyUsageID.INITIATOR_CLIENT_PROFILE: "usage_initiator_client_profile",
    PrekeyUsageID.INITIATOR_PREKEY_COMPOSITE_IDENTITY: "usage_initiator_prekey_composite_identity",
    PrekeyUsageID.INITIATOR_PREKEY_COMPOSITE_PHI: "usage_initiator_prekey_composite_PHI",
    PrekeyUsageID.RECEIVER_CLIENT_PROFILE: "usage_receiver_client_profile",
    PrekeyUsageID.RECEIVER_PREKEY_COMPOSITE_IDENTITY: "usage_receiver_prekey_composite_identity",
    PrekeyUsageID.RECEIVER_PREKEY_COMPOSITE_PHI: "usage_receiver_prekey_composite_PHI",
    PrekeyUsageID.PRE_MAC_KEY: "usage_preMAC_key",
    PrekeyUsageID.PRE_MAC: "usage_preMAC",
    PrekeyUsageID.STORAGE_INFO_MAC: "usage_storage_info_MAC",
    PrekeyUsageID.STATUS_MAC: "usage_status_MAC",
    PrekeyUsageID.SUCCESS_MAC: "usage_success_MAC",
    PrekeyUsageID.FAILURE_MAC: "usage_failure_MAC",
    PrekeyUsageID.PREKEY_MESSAGE: "usage_prekey_message",
    PrekeyUsageID.CLIENT_PROFILE: "usage_client_profile",
    PrekeyUsageID.PREKEY_PROFILE: "usage_prekey_profile",
    PrekeyUsageID.AUTH: "usage_auth",
    PrekeyUsageID.PROOF_CONTEXT: "usage_proof_context",
    PrekeyUsageID.PROOF_MESSAGE_ECDH: "usage_proof_message_ecdh",
    PrekeyUsageID.PROOF_MESSAGE_DH: "usage_proof_message_dh",
    PrekeyUsageID.PROOF_SHARED_ECDH: "usage_proof_shared_ecdh",
    PrekeyUsageID.MAC_PROOFS: "usage_mac_proofs",
    PrekeyUsageID.PROOF_C_LAMBDA: "usage_proof_c_lambda",
}

_PREKEY_DESCRIPTIONS: dict[PrekeyUsageID, str] = {
    PrekeyUsageID.FINGERPRINT: "Reserved; the server's fingerprint uses the OTRv4 KDF instead.",
    PrekeyUsageID.SK: "Shared secret SK of the DAKE with the prekey server, from SK_ecdh.",
    PrekeyUsageID.INITIATOR_CLIENT_PROFILE: "Hash of the publisher's Client Profile in DAKE-2's t.",
    PrekeyUsageID.INITIATOR_PREKEY_COMPOSITE_IDENTITY: (
        "Hash of the server's composite identity in DAKE-2's t."
    ),
    PrekeyUsageID.INITIATOR_PREKEY_COMPOSITE_PHI: "Hash of phi in DAKE-2's t.",
    PrekeyUsageID.RECEIVER_CLIENT_PROFILE: "Hash of the publisher's Client Profile in DAKE-3's t.",
    PrekeyUsageID.RECEIVER_PREKEY_COMPOSITE_IDENTITY: (
        "Hash of the server's composite identity in DAKE-3's t."
    ),
    PrekeyUsageID.RECEIVER_PREKEY_COMPOSITE_PHI: "Hash of phi in DAKE-3's t.",
    PrekeyUsageID.PRE_MAC_KEY: "Prekey MAC key prekey_mac_k, from SK.",
    PrekeyUsageID.PRE_MAC: "MAC of a Prekey Publication message.",
    PrekeyUsageID.STORAGE_INFO_MAC: "MAC of a Storage Information Request message.",
    PrekeyUsageID.STATUS_MAC: "MAC of a Storage Status message.",
    PrekeyUsageID.SUCCESS_MAC: "MAC of a Success message.",
    PrekeyUsageID.FAILURE_MAC: "MAC of a Failure message.",
    PrekeyUsageID.PREKEY_MESSAGE: "Hash of the published Prekey Messages inside the MAC.",
    PrekeyUsageID.CLIENT_PROFILE: "Hash of the published Client Profile inside the MAC.",
    PrekeyUsageID.PREKEY_PROFILE: "Hash of the published Prekey Profile inside the MAC.",
    PrekeyUsageID.AUTH: "Challenge c of the ring signature in DAKE-2 and DAKE-3.",
    PrekeyUsageID.PROOF_CONTEXT: "Context m of the zero-knowledge proofs, derived from SK.",
    PrekeyUsageID.PROOF_MESSAGE_ECDH: "Challenge of the proof for the prekey messages' ECDH keys.",
    PrekeyUsageID.PROOF_MESSAGE_DH: "Challenge of the proof for the prekey messages' DH keys.",
    PrekeyUsageID.PROOF_SHARED_ECDH: "Challenge of the proof for the shared prekey.",
    PrekeyUsageID.MAC_PROOFS: "Hash of the proofs inside the publication MAC.",
    PrekeyUsageID.PROOF_C_LAMBDA: "Expands a proof's challenge c into its lambda-bit coefficients.",
}


def shake256(data: bytes, size: int) -> bytes:
    """The first ``size`` bytes of SHAKE-256 over ``data`` (no prefix).

    This is the plain ``SHAKE-256(x, y)`` of otrv4.md §"Key Derivation Function,
    Hash Function and MAC Function" (the RFC 8032 form).  Raises
    :class:`ValueError` if ``size`` is not positive.
    """
    if size <= 0:
        raise ValueError(f"output size must be positive, not {size}")
    return hashlib.shake_256(data).digest(size)


def derive(domain: KdfDomain, usage_id: int, values: bytes, size: int) -> bytes:
    """``SHAKE-256(domain || usage_id || values, size)``: the construction behind every KDF here.

    Raises :class:`ValueError` if ``usage_id`` is not a byte value (0..255) or
    ``size`` is not positive.
    """
    if not 0 <= usage_id <= 0xFF:
        raise ValueError(f"a usage ID is one byte, not {usage_id}")
    if size <= 0:
        raise ValueError(f"output size must be positive, not {size}")
    return _shake_256(_PREFIXES[domain][usage_id] + values).digest(size)


# ``domain || usage_id`` for every domain and byte, built once: a message makes about ten
# derivations, and building the prefix was a third of each.
_PREFIXES: dict[KdfDomain, tuple[bytes, ...]] = {
    d: tuple(d.value + bytes([u]) for u in range(256)) for d in KdfDomain
}
_OTRV4_PREFIXES = _PREFIXES[KdfDomain.OTRV4]
_shake_256 = hashlib.shake_256


def kdf(usage_id: int, values: bytes, size: int) -> bytes:
    """OTRv4 ``KDF(usage_ID || values, size)`` (otrv4.md §"Key Derivation Function, …").

    ``SHAKE-256("OTRv4" || usage_ID || values, size)``.  Raises
    :class:`ValueError` on a usage ID outside 0..255 or a non-positive size.
    """
    if not 0 <= usage_id <= 0xFF:
        raise ValueError(f"a usage ID is one byte, not {usage_id}")
    if size <= 0:
        raise ValueError(f"output size must be positive, not {size}")
    return _shake_256(_OTRV4_PREFIXES[usage_id] + values).digest(size)


def kdf_for(usage_id: int, size: int, *, tail: bytes = b"") -> Callable[[bytes], bytes]:
    """OTRv4 ``KDF(usage_ID || tail || values, size)`` as a function of ``values`` alone.

    For the per-message derivations of the double ratchet and the data
    message's authenticator: the usage ID, any fixed bytes that follow it
    (``tail``, e.g. the ``0xFF`` of the extra symmetric key) and the size are
    checked and joined once, so each call is one SHAKE-256 over
    ``"OTRv4" || usage_ID || tail || values``, the same bytes as
    ``kdf(usage_id, tail + values, size)``.  Raises :class:`ValueError` like
    :func:`kdf` when it is made; the returned function raises nothing.
    """
    if not 0 <= usage_id <= 0xFF:
        raise ValueError(f"a usage ID is one byte, not {usage_id}")
    if size <= 0:
        raise ValueError(f"output size must be positive, not {size}")
    prefix = _OTRV4_PREFIXES[usage_id] + tail
    shake = _shake_256

    def bound(values: bytes) -> bytes:
        return shake(prefix + values).digest(size)

    bound.__name__ = bound.__qualname__ = f"kdf_{usage_id:#04x}_{size}"
    return bound


def hwc(usage_id: int, values: bytes, size: int) -> bytes:
    """OTRv4 ``HWC(usage_ID || values, size)``, the hash with context; same bytes as :func:`kdf`.

    otrv4.md §"Key Derivation Function, …".  Raises :class:`ValueError` like :func:`kdf`.
    """
    return kdf(usage_id, values, size)


def hcmac(usage_id: int, values: bytes, size: int) -> bytes:
    """OTRv4 ``HCMAC(usage_ID || values, size)``, the MAC; same bytes as :func:`kdf`.

    otrv4.md §"Key Derivation Function, …" (the data message's "HWMAC" is this
    function).  Raises :class:`ValueError` like :func:`kdf`.
    """
    return derive(KdfDomain.OTRV4, usage_id, values, size)


def prekey_server_kdf(usage_id: int, values: bytes, size: int) -> bytes:
    """Prekey-server ``KDF(usage_ID, values, size)``.

    otrv4-prekey-server.md §"Key Derivation Functions":
    ``SHAKE-256("OTR-Prekey-Server" || usage_ID || values, size)``.  Raises
    :class:`ValueError` on a usage ID outside 0..255 or a non-positive size.
    """
    return derive(KdfDomain.PREKEY_SERVER, usage_id, values, size)


def hash_to_scalar(usage_id: int, data: bytes, domain: KdfDomain = KdfDomain.OTRV4) -> int:
    """``HashToScalar(usageID || d)`` (otrv4.md §HashToScalar, §"SMP Hash Function").

    ``h = HWC(usageID || d, 57)`` read as a little-endian integer and reduced
    mod ``q`` (the Ed448 group order), so the result is in ``[0, q)``
    (decision 15, registered here).  The
    ring signature uses it for both RSig and RVrf (ambiguity 7, decided in
    :mod:`otrv4.primitives.ring_signature`); SMP passes its small integer
    ``i`` as ``usage_id``.  ``domain`` selects the prekey-server prefix for the
    prekey server's ring signatures.  Raises :class:`ValueError` on a usage
    ID outside 0..255.
    """
    from .ed448 import Q  # lazily: ed448 is heavier and kdf is used without it

    h = derive(domain, usage_id, data, HASH_TO_SCALAR_SIZE)
    return int.from_bytes(h, "little") % Q


register(Decision(
    number=15,
    title="HashToScalar is reduced mod q",
    question=(
        "otrv4.md §HashToScalar: 'Compute h = HWC(usageID || d, 57). Interpret the buffer "
        "as a little-endian integer, forming a scalar. Return this scalar.' A 57-byte "
        "integer can exceed the group order q (about 2^446); whether it is reduced is not "
        "said."
    ),
    decision=(
        "HashToScalar(usageID || d) = LE(HWC(usageID || d, 57)) mod q, an integer in "
        "[0, q). The ring signature (decision 7) and SMP (decision 17) use it; the prekey "
        "server's ring signature uses it with the prekey server's KDF prefix."
    ),
    reason=(
        "A scalar is an element of Z_q (otrv4.md §Scalar decodes SCALARs mod q); RSig "
        "computes c1 = c - c2 - c3 mod q and RVrf compares c with c1 + c2 + c3 mod q, which "
        "only agree when c is reduced."
    ),
    others="libotr-ng (src/auth.c) reduces its ring-signature hash mod q.",
    vector="kdf",
))
