"""Forging tools (spec §Forging Transcripts): forged messages pass the honest code."""

from __future__ import annotations

import copy

import pytest

from otrv4 import dake, forging
from otrv4.clock import FixedClock
from otrv4.data_message import DataMessage, verify_authenticator
from otrv4.keys import ForgingKey
from otrv4.primitives.dh3072 import generate_dh
from otrv4.primitives.ecdh import generate_ecdh
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.ring_signature import ring_verify
from otrv4.primitives.rng import DeterministicRng
from otrv4.profiles import ClientProfile
from otrv4.ratchet import DoubleRatchet, RatchetStart, message_keys, ratchet_key_material
from otrv4.shared_state import FirstKeys, phi
from otrv4.tlv import decode_payload, encode_payload

A_TAG, B_TAG = 0x00000101, 0x00000202


def pair(label: str) -> tuple[DoubleRatchet, DoubleRatchet]:
    rng = DeterministicRng(label)
    k = rng.random_bytes(64)
    ae, be, ad, bd = generate_ecdh(rng), generate_ecdh(rng), generate_dh(rng), generate_dh(rng)
    a = DoubleRatchet(RatchetStart.interactive(k, sends_first=True, our_ecdh=ae,
                                              their_ecdh=be.public, our_dh=ad,
                                              their_dh=bd.public, our_tag=A_TAG, their_tag=B_TAG))
    b = DoubleRatchet(RatchetStart.interactive(k, sends_first=False, our_ecdh=be,
                                              their_ecdh=ae.public, our_dh=bd,
                                              their_dh=ad.public, our_tag=B_TAG, their_tag=A_TAG))
    return a, b


def test_modify_with_revealed_mac_key() -> None:
    alice, bob = pair("forge-modify")
    rng = DeterministicRng("forge-modify-run")
    original = alice.encrypt(encode_payload("hi Bob, meet at noon"), rng).message
    bob_before = copy.deepcopy(bob)  # a judge who replays the transcript later
    bob.decrypt(original)
    reveal = bob.encrypt(b"", rng).message  # Bob's next chain reveals the MAC key
    (mac_key,) = reveal.mac_keys
    forged = forging.modify_data_message(original, mac_key, 16, b"noon", b"nine")
    assert forged.ciphertext != original.ciphertext
    assert verify_authenticator(mac_key, forged)
    got = bob_before.decrypt(forged)  # the honest receiver accepts the forgery
    assert decode_payload(got.plaintext).text == "hi Bob, meet at nine"
    with pytest.raises(forging.ForgeryTextMismatch):
        forging.modify_data_message(original, mac_key, 0, b"hi", b"hey")
    with pytest.raises(forging.ForgeryOutOfRange):
        forging.modify_data_message(original, mac_key, 17, b"noon", b"nine")


def test_read_and_forge_show_mac_key_and_remac() -> None:
    alice, bob = pair("forge-read")
    rng = DeterministicRng("forge-read-run")
    first = alice.encrypt(b"zero", rng)
    chain_key = ratchet_key_material(alice)  # chain key of message 1 of chain 0
    message = alice.encrypt(b"one", rng).message
    text, same = forging.read_and_forge(message, chain_key, 1)
    assert text == b"one" and same == message
    _, forged = forging.read_and_forge(message, chain_key, 1, b"uno!")
    bob.decrypt(first.message)
    assert bob.decrypt(forged).plaintext == b"uno!"
    with pytest.raises(forging.ForgeryOutOfRange):
        forging.read_and_forge(first.message, chain_key, 1)
    mk_enc, mk_mac = message_keys(chain_key)
    assert forging.show_mac_key(mk_enc) == mk_mac
    assert forging.remac(message, mk_mac) == message
    assert forging.remac(message, bytes(64)).authenticator != message.authenticator


def test_parse() -> None:
    alice, _ = pair("forge-parse")
    message = alice.encrypt(b"x", DeterministicRng("forge-parse-run")).message
    fields = dict(forging.parse(message.encode()))
    assert fields["ratchet_id"] == "0" and fields["message_id"] == "0"
    assert fields["ecdh_public"] == message.ecdh_public.hex()
    assert list(fields)[:3] == ["sender_tag", "receiver_tag", "flags"]


def test_forge_entire_transcript() -> None:
    clock = FixedClock(1_700_000_000)
    rng = DeterministicRng("forge-transcript-keys")

    def participant(tag: int) -> dake.Participant:
        kp = EdDSAKeyPair.generate(rng)
        fk = ForgingKey.generate(rng)
        return dake.Participant(kp, fk.public,
                                ClientProfile.create(kp, fk, tag, clock.now() + 86400))

    alice = dake.DakeContext(participant(A_TAG), "alice@example.org", "bob@example.org", clock)
    bob_profile = participant(B_TAG).client_profile  # only Bob's public profile is used
    script = [("peer", "I confess everything"), ("forger", "noted"), ("peer", "twice")]
    t = forging.forge_entire_transcript(alice, bob_profile, script,
                                        DeterministicRng("forge-transcript"))
    # Bob's Auth-I verifies with Bob's long-term key in the ring, as a real one would
    phi_value = phi(FirstKeys(A_TAG, t.auth_r.ecdh_first, t.auth_r.dh_first),
                    FirstKeys(B_TAG, t.identity.ecdh_first, t.identity.dh_first),
                    alice.phi_prime)
    t_i = dake.auth_i_t(bob_profile, alice.us.client_profile, t.identity.y, t.auth_r.x,
                        t.identity.b, t.auth_r.a, phi_value)
    ring_verify((bob_profile.public_key, alice.us.forging_key, t.auth_r.x), t.auth_i.sigma, t_i)
    assert [s for s, _ in t.data_messages] == ["peer", "forger", "peer"]
    # a fresh ratchet from the forger's DAKE result reads the peer's first message
    judge = DoubleRatchet(RatchetStart.from_dake(t.forger_result))
    first = DataMessage.decode(t.data_messages[0][1].encode())
    assert decode_payload(judge.decrypt(first).plaintext).text == "I confess everything"
    assert t.forger_result.their_client_profile == bob_profile
