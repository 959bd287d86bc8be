"""The Prekey MAC (decision 103), the reply MACs and the server's publication checks."""

from __future__ import annotations

import dataclasses

import pytest

from otrv4.encoding import encode_byte
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.kdf import PrekeyUsageID, prekey_server_kdf
from otrv4.profiles import (
    PrekeyProfile,
    ProfileExpiredError,
    ProfileSignatureError,
)
from otrv4_prekey.messages import PrekeyPublication, StorageInformationRequest
from otrv4_prekey.proofs import DhProof, EcdhProof, InvalidProofError, proof_context, prove_ecdh
from otrv4_prekey.publication import (
    PrekeyMacMismatchError,
    PublicationTagMismatchError,
    PublishedKeyMismatchError,
    ReplyMacMismatchError,
    SharedPrekey,
    StorageRequestMacMismatchError,
    build_publication,
    failure,
    failure_mac,
    publication_mac,
    status_mac,
    storage_request_mac,
    storage_status,
    success,
    success_mac,
    verify_publication,
    verify_reply_mac,
    verify_storage_request,
)

from .conftest import World
from .helpers import NOW, make_device, rng


def _kdf(u: int, v: bytes) -> bytes:
    return prekey_server_kdf(u, v, 64)


def test_publication_mac_formula(world: World) -> None:
    """Decision 103 transcribed: profile hashes only when present, proofs hash always."""
    pub = world.publication
    k = world.session.prekey_mac_k
    expected = _kdf(0x09, k + b"\x08" + encode_byte(3)
                    + _kdf(0x0E, pub.prekey_messages_bytes()) + b"\x01"
                    + _kdf(0x0F, pub.client_profile.encode())  # type: ignore[union-attr]
                    + b"\x01" + _kdf(0x10, pub.prekey_profile.encode())  # type: ignore[union-attr]
                    + _kdf(0x16, pub.proofs_bytes()))
    assert pub.mac == expected == publication_mac(k, pub)
    only = world.messages["publication_prekeys_only"]
    assert isinstance(only, PrekeyPublication)
    assert only.mac == _kdf(0x09, k + b"\x08\x01" + _kdf(0x0E, only.prekey_messages_bytes())
                            + b"\x00\x00" + _kdf(0x16, only.proofs_bytes()))
    empty = world.messages["publication_empty"]
    assert isinstance(empty, PrekeyPublication)
    assert empty.mac == _kdf(0x09, k + b"\x08\x00" + _kdf(0x0E, b"") + b"\x00\x00"
                             + _kdf(0x16, b""))


def test_reply_mac_formulas(world: World) -> None:
    k = world.session.prekey_mac_k
    tag = world.juliet.tag.to_bytes(4, "big")
    assert storage_request_mac(k) == _kdf(0x0A, k + b"\x09")
    assert status_mac(k, world.juliet.tag, 7) == _kdf(0x0B, k + b"\x0b" + tag + b"\x00\x00\x00\x07")
    assert success_mac(k, world.juliet.tag) == _kdf(0x0C, k + b"\x06" + tag)
    assert failure_mac(k, world.juliet.tag) == _kdf(0x0D, k + b"\x05" + tag)


def test_a_valid_publication_passes(world: World) -> None:
    verify_publication(world.publication, world.session.sk, world.juliet.identity.client_profile,
                       world.juliet.tag, world.clock)
    for name in ("publication_prekeys_only", "publication_empty"):
        pub = world.messages[name]
        assert isinstance(pub, PrekeyPublication)
        verify_publication(pub, world.session.sk, world.juliet.identity.client_profile,
                           world.juliet.tag, world.clock)


def _verify(world: World, pub: PrekeyPublication, *, clock: object = None) -> None:
    verify_publication(pub, world.session.sk, world.juliet.identity.client_profile,
                       world.juliet.tag, clock or world.clock)  # type: ignore[arg-type]


def _remac(world: World, pub: PrekeyPublication) -> PrekeyPublication:
    return dataclasses.replace(pub, mac=publication_mac(world.session.prekey_mac_k, pub))


def test_every_field_is_under_the_mac(world: World) -> None:
    pub = world.publication
    only = world.messages["publication_prekeys_only"]
    assert isinstance(only, PrekeyPublication)
    ecdh, dh = pub.ecdh_proof, pub.dh_proof
    assert ecdh is not None and dh is not None
    variants = [
        dataclasses.replace(pub, mac=bytes([pub.mac[0] ^ 1]) + pub.mac[1:]),
        dataclasses.replace(pub, prekey_messages=pub.prekey_messages[::-1]),
        dataclasses.replace(pub, client_profile=None),
        dataclasses.replace(pub, prekey_profile=None, profile_proof=None),
        dataclasses.replace(pub, ecdh_proof=EcdhProof(ecdh.c, ecdh.v + 1)),
        dataclasses.replace(pub, dh_proof=DhProof(b"\x00" * 64, dh.v)),
        dataclasses.replace(only, client_profile=pub.client_profile),
    ]
    for bad in variants:
        with pytest.raises(PrekeyMacMismatchError):
            _verify(world, bad)
    # the same bytes under another DAKE's key
    with pytest.raises(PrekeyMacMismatchError):
        verify_publication(pub, b"\x00" * 64, world.juliet.identity.client_profile,
                           world.juliet.tag, world.clock)


def test_tags_must_be_the_publishers(world: World) -> None:
    pub = world.publication
    pm = pub.prekey_messages[0]
    other_tag = dataclasses.replace(pm, owner_tag=pm.owner_tag ^ 0x100)
    moved = (other_tag, *pub.prekey_messages[1:])
    bad = _remac(world, dataclasses.replace(pub, prekey_messages=moved))
    with pytest.raises(PublicationTagMismatchError):
        _verify(world, bad)
    with pytest.raises(PublicationTagMismatchError):
        verify_publication(pub, world.session.sk, world.juliet.identity.client_profile,
                           world.juliet.tag ^ 0x100, world.clock)


def test_published_profiles_are_validated(world: World) -> None:
    r = rng("pubprof")
    pub = world.publication
    stranger = make_device(r, "juliet@capulet.lit", tag=world.juliet.tag)
    with pytest.raises(PublishedKeyMismatchError):
        _verify(world, _remac(world, dataclasses.replace(
            pub, client_profile=stranger.identity.client_profile)))
    # a Prekey Profile signed by another key
    with pytest.raises(ProfileSignatureError):
        _verify(world, _remac(world, dataclasses.replace(
            pub, prekey_profile=stranger.shared.profile)))
    from otrv4.clock import FixedClock
    with pytest.raises(ProfileExpiredError):
        _verify(world, pub, clock=FixedClock(NOW + 30 * 24 * 3600))


def test_proofs_are_checked_after_the_mac(world: World) -> None:
    r = rng("proofs")
    pub = world.publication
    m_other = proof_context(b"\x33" * 64)
    assert pub.prekey_profile is not None
    wrong = prove_ecdh([world.juliet.shared.keypair.scalar], [pub.prekey_profile.shared_prekey],
                       m_other, PrekeyUsageID.PROOF_SHARED_ECDH, r)  # right key, other DAKE
    with pytest.raises(InvalidProofError):
        _verify(world, _remac(world, dataclasses.replace(pub, profile_proof=wrong)))
    # a Prekey Profile whose D the publisher does not own: the proof made with another secret
    d_other = EdDSAKeyPair.generate(r)
    pp = PrekeyProfile.create(world.juliet.identity.keypair, d_other.public, world.juliet.tag,
                              NOW + 3600)
    forged = build_publication(world.session.sk, [], r, prekey_profile=SharedPrekey(
        pp, world.juliet.shared.keypair))
    with pytest.raises(InvalidProofError):
        _verify(world, forged)
    swapped = _remac(world, dataclasses.replace(pub, ecdh_proof=pub.profile_proof))
    with pytest.raises(InvalidProofError):
        _verify(world, swapped)


def test_storage_request_and_replies(world: World) -> None:
    k = world.session.prekey_mac_k
    verify_storage_request(world.storage_request, k)
    with pytest.raises(StorageRequestMacMismatchError):
        verify_storage_request(StorageInformationRequest(b"\x00" * 64), k)
    with pytest.raises(StorageRequestMacMismatchError):
        verify_storage_request(world.storage_request, b"\x01" * 64)
    tag = world.juliet.tag
    for reply in (storage_status(k, tag, 3), success(k, tag), failure(k, tag)):
        verify_reply_mac(k, reply)
        with pytest.raises(ReplyMacMismatchError):
            verify_reply_mac(b"\x00" * 64, reply)
        with pytest.raises(ReplyMacMismatchError):
            verify_reply_mac(k, dataclasses.replace(reply, receiver_tag=tag ^ 1))
    with pytest.raises(ReplyMacMismatchError):
        verify_reply_mac(k, dataclasses.replace(storage_status(k, tag, 3), stored=4))


def test_too_many_prekeys_for_one_publication(world: World) -> None:
    with pytest.raises(ValueError, match="255"):
        build_publication(world.session.sk, list(range(256)), rng("x"))  # type: ignore[arg-type]
