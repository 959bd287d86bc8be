"""Publishing prekey values and asking for the storage status: MACs, building, verifying.

Implements otrv4-prekey-server.md §Prekey Publication Message (the Prekey MAC
and the checks), §Storage Information Request Message, §Storage Status
Message, §Success Message, §Failure Message and §Publishing Prekey Values
(what the server validates before it stores anything).

Decision **103** (registered here): the Prekey MAC is

    KDF(usage_preMAC, prekey_mac_k || 0x08 || N || KDF(usage_prekey_message, Prekey
        Messages, 64) || K || [KDF(usage_client_profile, Client Profile, 64)] || J ||
        [KDF(usage_prekey_profile, Prekey Profile, 64)] || KDF(usage_mac_proofs, Proofs,
        64), 64)

where a bracketed hash is present exactly when its profile is (``K`` or
``J`` is 1), ``N``, ``K``, ``J`` and the type are single bytes, and the
hashes of the Prekey messages and of the proofs are always present (of the
empty string when there are none).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

from otrv4.clock import Clock
from otrv4.decisions import Decision, register
from otrv4.encoding import encode_byte, encode_int
from otrv4.errors import ValidationError
from otrv4.prekeys import PrekeySecret
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.kdf import PrekeyUsageID, prekey_server_kdf
from otrv4.primitives.rng import Rng
from otrv4.profiles import ClientProfile, PrekeyProfile

from .dake import prekey_mac_key
from .messages import (
    MAX_PREKEY_MESSAGES_PER_PUBLICATION,
    Failure,
    PrekeyPublication,
    PrekeyServerMessageType,
    StorageInformationRequest,
    StorageStatus,
    Success,
)
from .proofs import proof_context, prove_dh, prove_ecdh, verify_dh, verify_ecdh

__all__ = [
    "PrekeyMacMismatchError",
    "PublicationTagMismatchError",
    "PublishedKeyMismatchError",
    "ReplyMacMismatchError",
    "SharedPrekey",
    "StorageRequestMacMismatchError",
    "build_publication",
    "build_storage_request",
    "failure",
    "failure_mac",
    "publication_mac",
    "status_mac",
    "storage_request_mac",
    "storage_status",
    "success",
    "success_mac",
    "verify_publication",
    "verify_reply_mac",
    "verify_storage_request",
]

_T = PrekeyServerMessageType


class PrekeyMacMismatchError(ValidationError):
    """A Prekey Publication whose Prekey MAC is not the one computed from its contents."""


class StorageRequestMacMismatchError(ValidationError):
    """A Storage Information Request whose MAC does not verify."""


class ReplyMacMismatchError(ValidationError):
    """A Storage Status, Success or Failure message whose MAC does not verify (the client
    ignores it)."""


class PublicationTagMismatchError(ValidationError):
    """A published Prekey message or profile whose instance tag is not the publisher's DAKE tag."""


class PublishedKeyMismatchError(ValidationError):
    """A published Client Profile whose long-term key is not the one the DAKE authenticated."""


# --------------------------------------------------------------------------- MACs


def publication_mac(prekey_mac_k: bytes, publication: PrekeyPublication) -> bytes:
    """The Prekey MAC of ``publication`` (decision 103; ``publication.mac`` is ignored)."""
    parts = [
        prekey_mac_k, encode_byte(_T.PREKEY_PUBLICATION),
        encode_byte(len(publication.prekey_messages)),
        prekey_server_kdf(PrekeyUsageID.PREKEY_MESSAGE, publication.prekey_messages_bytes(), 64),
        encode_byte(publication.k),
    ]
    if publication.client_profile is not None:
        parts.append(prekey_server_kdf(PrekeyUsageID.CLIENT_PROFILE,
                                       publication.client_profile.encode(), 64))
    parts.append(encode_byte(publication.j))
    if publication.prekey_profile is not None:
        parts.append(prekey_server_kdf(PrekeyUsageID.PREKEY_PROFILE,
                                       publication.prekey_profile.encode(), 64))
    parts.append(prekey_server_kdf(PrekeyUsageID.MAC_PROOFS, publication.proofs_bytes(), 64))
    return prekey_server_kdf(PrekeyUsageID.PRE_MAC, b"".join(parts), 64)


def storage_request_mac(prekey_mac_k: bytes) -> bytes:
    """``KDF(usage_storage_info_MAC, prekey_mac_k || 0x09, 64)``."""
    return prekey_server_kdf(PrekeyUsageID.STORAGE_INFO_MAC,
                             prekey_mac_k + encode_byte(_T.STORAGE_INFORMATION_REQUEST), 64)


def status_mac(prekey_mac_k: bytes, receiver_tag: int, stored: int) -> bytes:
    """``KDF(usage_status_MAC, prekey_mac_k || 0x0B || tag (INT) || number (INT), 64)``."""
    return prekey_server_kdf(
        PrekeyUsageID.STATUS_MAC,
        prekey_mac_k + encode_byte(_T.STORAGE_STATUS) + encode_int(receiver_tag)
        + encode_int(stored), 64)


def success_mac(prekey_mac_k: bytes, receiver_tag: int) -> bytes:
    """``KDF(usage_success_MAC, prekey_mac_k || 0x06 || tag (INT), 64)``."""
    return prekey_server_kdf(PrekeyUsageID.SUCCESS_MAC,
                             prekey_mac_k + encode_byte(_T.SUCCESS) + encode_int(receiver_tag), 64)


def failure_mac(prekey_mac_k: bytes, receiver_tag: int) -> bytes:
    """``KDF(usage_failure_MAC, prekey_mac_k || 0x05 || tag (INT), 64)``."""
    return prekey_server_kdf(PrekeyUsageID.FAILURE_MAC,
                             prekey_mac_k + encode_byte(_T.FAILURE) + encode_int(receiver_tag), 64)


# --------------------------------------------------------------------------- publisher side


@dataclass(frozen=True)
class SharedPrekey:
    """A Prekey Profile with the key pair ``(sk_d, D)`` of its shared prekey (for the proof)."""

    profile: PrekeyProfile
    keypair: EdDSAKeyPair = field(repr=False)


def build_publication(
    sk: bytes,
    prekeys: Sequence[PrekeySecret],
    rng: Rng,
    *,
    client_profile: ClientProfile | None = None,
    prekey_profile: SharedPrekey | None = None,
) -> PrekeyPublication:
    """§Prekey Publication Message, generation: proofs (drawn from ``rng`` in the order
    Y proof (56 bytes), B proof (80 bytes), D proof (56 bytes)), then the Prekey MAC.

    ``sk`` is the DAKE's shared secret (the proofs' context and the MAC key
    derive from it).  Raises :class:`ValueError` for more than 255 prekeys.
    """
    if len(prekeys) > MAX_PREKEY_MESSAGES_PER_PUBLICATION:
        raise ValueError("at most 255 Prekey messages fit in one publication")
    m = proof_context(sk)
    ecdh_proof = dh_proof = profile_proof = None
    if prekeys:
        ecdh_proof = prove_ecdh([p.ecdh.secret for p in prekeys], [p.ecdh.public for p in prekeys],
                                m, PrekeyUsageID.PROOF_MESSAGE_ECDH, rng)
        dh_proof = prove_dh([p.dh.secret for p in prekeys], [p.dh.public for p in prekeys], m, rng)
    if prekey_profile is not None:
        profile_proof = prove_ecdh([prekey_profile.keypair.scalar],
                                   [prekey_profile.profile.shared_prekey], m,
                                   PrekeyUsageID.PROOF_SHARED_ECDH, rng)
    unsigned = PrekeyPublication(
        tuple(p.message for p in prekeys), client_profile,
        None if prekey_profile is None else prekey_profile.profile,
        ecdh_proof, dh_proof, profile_proof, bytes(64))
    return PrekeyPublication(
        unsigned.prekey_messages, unsigned.client_profile, unsigned.prekey_profile,
        ecdh_proof, dh_proof, profile_proof, publication_mac(prekey_mac_key(sk), unsigned))


def build_storage_request(prekey_mac_k: bytes) -> StorageInformationRequest:
    """§Storage Information Request Message, generation."""
    return StorageInformationRequest(storage_request_mac(prekey_mac_k))


def verify_reply_mac(prekey_mac_k: bytes, reply: StorageStatus | Success | Failure) -> None:
    """The publisher checks the server's answer (§Key Exchange, Alice's last step).

    Raises :class:`ReplyMacMismatchError` when the MAC does not verify (the
    spec says to ignore such a message).
    """
    if isinstance(reply, StorageStatus):
        expected = status_mac(prekey_mac_k, reply.receiver_tag, reply.stored)
    elif isinstance(reply, Success):
        expected = success_mac(prekey_mac_k, reply.receiver_tag)
    else:
        expected = failure_mac(prekey_mac_k, reply.receiver_tag)
    if not hmac.compare_digest(expected, reply.mac):
        raise ReplyMacMismatchError(f"the {reply.MESSAGE_TYPE.spec_name} MAC does not verify")


# --------------------------------------------------------------------------- server side


def verify_publication(
    publication: PrekeyPublication,
    sk: bytes,
    dake_profile: ClientProfile,
    sender_tag: int,
    clock: Clock,
) -> None:
    """The server's checks of a Prekey Publication (§Key Exchange, "If this is a Prekey
    Publication message", and §Publishing Prekey Values), in this order:

    1. the Prekey MAC (:class:`PrekeyMacMismatchError`);
    2. every Prekey message and profile has the DAKE's sender tag
       (:class:`PublicationTagMismatchError`);
    3. a published Client Profile has the long-term key the DAKE authenticated
       (:class:`PublishedKeyMismatchError`) and is valid (the errors of
       :meth:`~otrv4.profiles.ClientProfile.validate`);
    4. a published Prekey Profile is valid and signed by that key (the errors of
       :meth:`~otrv4.profiles.PrekeyProfile.validate`);
    5. the proofs (:class:`~otrv4_prekey.proofs.InvalidProofError`).

    ``N``, ``K`` and ``J`` were checked against the contents when decoding.
    Points and DH values were validated when decoding.
    """
    expected = publication_mac(prekey_mac_key(sk), publication)
    if not hmac.compare_digest(expected, publication.mac):
        raise PrekeyMacMismatchError("the Prekey MAC does not verify")
    for pm in publication.prekey_messages:
        if pm.owner_tag != sender_tag:
            raise PublicationTagMismatchError(
                f"Prekey message {pm.identifier:#010x} belongs to {pm.owner_tag:#010x}, "
                f"the publisher is {sender_tag:#010x}"
            )
    for label, profile in (("Client", publication.client_profile),
                           ("Prekey", publication.prekey_profile)):
        if profile is not None and profile.owner_tag != sender_tag:
            raise PublicationTagMismatchError(
                f"the {label} Profile belongs to {profile.owner_tag:#010x}, "
                f"the publisher is {sender_tag:#010x}"
            )
    cp = publication.client_profile
    if cp is not None:
        if cp.public_key != dake_profile.public_key:
            raise PublishedKeyMismatchError("the published Client Profile has another key")
        cp.validate(sender_tag, clock)
    if publication.prekey_profile is not None:
        publication.prekey_profile.validate(dake_profile.public_key, sender_tag, clock)
    m = proof_context(sk)
    if publication.ecdh_proof is not None and publication.dh_proof is not None:
        verify_ecdh(publication.ecdh_proof, [pm.y for pm in publication.prekey_messages], m,
                    PrekeyUsageID.PROOF_MESSAGE_ECDH)
        verify_dh(publication.dh_proof, [pm.b for pm in publication.prekey_messages], m)
    if publication.profile_proof is not None and publication.prekey_profile is not None:
        verify_ecdh(publication.profile_proof, [publication.prekey_profile.shared_prekey], m,
                    PrekeyUsageID.PROOF_SHARED_ECDH)


def verify_storage_request(request: StorageInformationRequest, prekey_mac_k: bytes) -> None:
    """§Storage Information Request Message, "To verify".

    Raises :class:`StorageRequestMacMismatchError`.
    """
    if not hmac.compare_digest(storage_request_mac(prekey_mac_k), request.mac):
        raise StorageRequestMacMismatchError("the Storage Information MAC does not verify")


def storage_status(prekey_mac_k: bytes, receiver_tag: int, stored: int) -> StorageStatus:
    """§Storage Status Message, generation."""
    return StorageStatus(receiver_tag, stored, status_mac(prekey_mac_k, receiver_tag, stored))


def success(prekey_mac_k: bytes, receiver_tag: int) -> Success:
    """§Success Message, generation."""
    return Success(receiver_tag, success_mac(prekey_mac_k, receiver_tag))


def failure(prekey_mac_k: bytes, receiver_tag: int) -> Failure:
    """§Failure Message, generation."""
    return Failure(receiver_tag, failure_mac(prekey_mac_k, receiver_tag))


DECISION_PUBLICATION_MAC: Final = register(Decision(
    number=103,
    title="Prekey server: what the Prekey MAC covers",
    question=(
        "otrv4-prekey-server.md gives four formulas for the Prekey MAC (Client Profile only, "
        "Prekey Profile only, both, Prekey messages only); they disagree on which hashes "
        "appear, and in the 'Prekey messages only' variant of the generation steps the proofs "
        "hash falls outside the KDF."
    ),
    decision=(
        "One formula: KDF(usage_preMAC, prekey_mac_k || type || N || KDF(usage_prekey_message, "
        "Prekey Messages, 64) || K || [KDF(usage_client_profile, Client Profile, 64)] || J || "
        "[KDF(usage_prekey_profile, Prekey Profile, 64)] || KDF(usage_mac_proofs, Proofs, 64), "
        "64), each bracketed hash present exactly when its flag is 1; type, N, K and J are one "
        "byte each; the Prekey messages and proofs hashes are always present (of the empty "
        "string when empty)."
    ),
    reason=(
        "It is the one rule of which the three consistent variants are special cases, it "
        "covers every byte of the message before the MAC, and the misplaced parenthesis of the "
        "fourth variant would leave the proofs unauthenticated."
    ),
    others=(
        "The Go prekey server (otrng-prekey-server, messages.go "
        "generateMACForPublicationMessage) computes exactly this: flags always, profile hashes "
        "only when present, the proofs hash always."
    ),
    vector="prekey-server-publication",
))
