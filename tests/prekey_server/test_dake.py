"""The DAKE between a publisher and the prekey server: both sides, every check, no state
change on failure."""

from __future__ import annotations

import dataclasses

import pytest

from otrv4.encoding import encode_data
from otrv4.instance_tag import InvalidSenderTagError, ReceiverTagMismatchError
from otrv4.keys import KeyType, encode_typed_key
from otrv4.primitives.ecdh import generate_ecdh
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.kdf import kdf, prekey_server_kdf
from otrv4.primitives.ring_signature import (
    PREKEY_SERVER_AUTH,
    InvalidRingSignatureError,
    RingSignature,
    ring_verify,
)
from otrv4.profiles import ProfileExpiredError, ProfileSignatureError
from otrv4_prekey.dake import (
    DakeSenderTagMismatchError,
    ServerFingerprintMismatchError,
    ServerIdentity,
    ServerIdentityMismatchError,
    dake2_t,
    dake3_t,
    format_server_fingerprint,
    receive_dake2,
    respond,
    server_fingerprint,
    shared_secret,
    shared_session_state,
    start,
    verify_dake3,
)
from otrv4_prekey.messages import CompositeIdentity, Dake1, Dake2, Dake3

from .conftest import World
from .helpers import NOW, SERVICE, make_device, rng


def test_phi_is_publisher_then_server() -> None:
    assert shared_session_state("alice@jabber.net", "prekey.xmpp.org") == (
        b"\x00\x00\x00\x10alice@jabber.net\x00\x00\x00\x0fprekey.xmpp.org")
    # role order, not sorted: a publisher whose JID sorts after the service comes first
    assert shared_session_state("zed@a.org", "prekeys.a.org").startswith(b"\x00\x00\x00\x09zed")


def test_server_fingerprint_hashes_the_typed_key() -> None:
    key = EdDSAKeyPair.generate(rng("fp")).public
    fp = server_fingerprint(key)
    assert fp == kdf(0x00, b"\x00\x10" + key.encode(), 56)
    assert len(format_server_fingerprint(fp)) == 112
    assert format_server_fingerprint(fp) == fp.hex().upper()


def test_composite_identity_layout(world: World) -> None:
    comp = world.server.identity.composite
    assert comp.encode() == encode_data(SERVICE.encode()) + encode_typed_key(
        world.server.identity.keypair.public, KeyType.ED448_PUBKEY)


def test_both_sides_agree(world: World) -> None:
    """The full DAKE: same SK on both sides, t and sigma as the specification writes them."""
    assert world.session.sk == world.server_dake.sk
    ident = world.server.identity
    cp = world.juliet.identity.client_profile
    phi = shared_session_state("juliet@capulet.lit", SERVICE)
    t2 = dake2_t(cp, ident.composite, world.dake1.i, world.dake2.s, phi)
    assert t2[0] == 0 and len(t2) == 1 + 64 + 64 + 57 + 57 + 64
    assert t2[1:65] == prekey_server_kdf(0x02, cp.encode(), 64)
    assert t2[65:129] == prekey_server_kdf(0x03, ident.composite.encode(), 64)
    assert t2[-64:] == prekey_server_kdf(0x04, phi, 64)
    ring_verify((cp.public_key, ident.keypair.public, world.dake1.i), world.dake2.sigma, t2,
                PREKEY_SERVER_AUTH)
    t3 = dake3_t(cp, ident.composite, world.dake1.i, world.dake2.s, phi)
    assert t3[0] == 1
    assert t3[1:65] == prekey_server_kdf(0x05, cp.encode(), 64)
    assert t3[-64:] == prekey_server_kdf(0x07, phi, 64)
    session = verify_dake3(ident, world.server_dake, world.dake3)
    assert session.sk == world.session.sk
    assert session.prekey_mac_k == world.session.prekey_mac_k == prekey_server_kdf(
        0x08, world.session.sk, 64)


def test_shared_secret_is_kdf_of_ecdh() -> None:
    r = rng("sk")
    a, b = generate_ecdh(r), generate_ecdh(r)
    from otrv4.primitives.ecdh import ecdh
    assert shared_secret(a.secret, b.public) == prekey_server_kdf(0x01, ecdh(a.secret, b.public),
                                                                  64)
    assert shared_secret(a.secret, b.public) == shared_secret(b.secret, a.public)


def _fresh(world: World, label: str):  # type: ignore[no-untyped-def]
    r = rng(label)
    state = start(world.juliet.identity, SERVICE, r, world.server.identity.fingerprint)
    server_state, dake2 = respond(world.server.identity, "juliet@capulet.lit", state.dake1, r,
                                  world.clock)
    return r, state, server_state, dake2


def test_dake2_checks_on_the_publisher_side(world: World) -> None:
    r, state, _, dake2 = _fresh(world, "d2")
    ident = world.server.identity
    wrong_tag = dataclasses.replace(dake2, receiver_tag=dake2.receiver_tag ^ 0x1000)
    with pytest.raises(ReceiverTagMismatchError):
        receive_dake2(state, wrong_tag)
    other_name = dataclasses.replace(
        dake2, composite_identity=CompositeIdentity("evil.capulet.lit", ident.keypair.public))
    with pytest.raises(ServerIdentityMismatchError):
        receive_dake2(state, other_name)
    impostor = EdDSAKeyPair.generate(r)
    other_key = dataclasses.replace(
        dake2, composite_identity=CompositeIdentity(SERVICE, impostor.public))
    with pytest.raises(ServerFingerprintMismatchError):
        receive_dake2(state, other_key)
    # without a pinned fingerprint the impostor's signature still has to verify
    unpinned = dataclasses.replace(state, expected_fingerprint=None)
    with pytest.raises(InvalidRingSignatureError):
        receive_dake2(unpinned, other_key)
    sig = dake2.sigma
    for i in range(6):
        values = list(sig.scalars())
        values[i] = (values[i] + 1)
        with pytest.raises(InvalidRingSignatureError):
            receive_dake2(state, dataclasses.replace(dake2, sigma=RingSignature(*values)))
    other_s = dataclasses.replace(dake2, s=generate_ecdh(r).public)
    with pytest.raises(InvalidRingSignatureError):
        receive_dake2(state, other_s)
    # a DAKE-2 for another publisher JID (phi differs) does not verify
    _s2, d2 = respond(ident, "juliet@capulet.lit/balcony", state.dake1, r, world.clock)
    with pytest.raises(InvalidRingSignatureError):
        receive_dake2(state, d2)
    # after all these rejections, the genuine DAKE-2 still completes the DAKE
    assert receive_dake2(state, dake2.encode()).sk == shared_secret(state.i.secret, dake2.s)


def test_dake1_checks_on_the_server_side(world: World) -> None:
    r = rng("d1")
    state = start(world.juliet.identity, SERVICE, r)
    bad_tag = dataclasses.replace(state.dake1, sender_tag=0xFF)
    with pytest.raises(InvalidSenderTagError):
        respond(world.server.identity, "juliet@capulet.lit", bad_tag, r, world.clock)
    other = make_device(r, "juliet@capulet.lit")
    mismatch = dataclasses.replace(state.dake1, client_profile=other.identity.client_profile)
    from otrv4.profiles import ProfileOwnerTagMismatchError
    with pytest.raises(ProfileOwnerTagMismatchError):
        respond(world.server.identity, "juliet@capulet.lit", mismatch, r, world.clock)
    expired = make_device(r, "juliet@capulet.lit", expiration=NOW - 1)
    exp_state = start(expired.identity, SERVICE, r)
    with pytest.raises(ProfileExpiredError):
        respond(world.server.identity, "juliet@capulet.lit", exp_state.dake1, r, world.clock)
    cp = world.juliet.identity.client_profile
    forged = dataclasses.replace(cp, signature=bytes([cp.signature[0] ^ 1]) + cp.signature[1:])
    with pytest.raises(ProfileSignatureError):
        respond(world.server.identity, "juliet@capulet.lit",
                dataclasses.replace(state.dake1, client_profile=forged), r, world.clock)


def test_dake3_checks_on_the_server_side(world: World) -> None:
    r, state, server_state, dake2 = _fresh(world, "d3")
    session = receive_dake2(state, dake2)
    dake3 = session.dake3(b"payload", r)
    ident = world.server.identity
    with pytest.raises(DakeSenderTagMismatchError):
        verify_dake3(ident, server_state, dataclasses.replace(dake3, sender_tag=0x12345678))
    for i in range(6):
        values = list(dake3.sigma.scalars())
        values[i] += 1
        with pytest.raises(InvalidRingSignatureError):
            verify_dake3(ident, server_state,
                         dataclasses.replace(dake3, sigma=RingSignature(*values)))
    # a DAKE-3 made for another DAKE (another S) does not verify here
    r2, state2, _server_state2, dake2b = _fresh(world, "d3-other")
    other = receive_dake2(state2, dake2b).dake3(b"payload", r2)
    with pytest.raises(InvalidRingSignatureError):
        verify_dake3(ident, server_state, other)
    # after the rejections the genuine DAKE-3 still verifies (no state was consumed)
    assert verify_dake3(ident, server_state, dake3.encode()).sk == session.sk


def test_the_attached_message_is_not_covered_by_sigma(world: World) -> None:
    """sigma authenticates the DAKE only; the attached message has its own MAC (decision 103)."""
    r, state, server_state, dake2 = _fresh(world, "d3-msg")
    dake3 = receive_dake2(state, dake2).dake3(b"one", r)
    changed = Dake3(dake3.sender_tag, dake3.sigma, b"two")
    assert verify_dake3(world.server.identity, server_state, changed).sk


def test_messages_decode_from_bytes_on_both_sides(world: World) -> None:
    r, state, _, dake2 = _fresh(world, "bytes")
    assert Dake1.decode(state.dake1.encode()) == state.dake1
    assert Dake2.decode(dake2.encode()) == dake2
    with pytest.raises(InvalidSenderTagError):
        start(dataclasses.replace(world.juliet.identity, instance_tag=5), SERVICE, r)
    assert ServerIdentity(SERVICE, world.server.identity.keypair).fingerprint == \
        world.server.identity.fingerprint
