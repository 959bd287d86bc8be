"""Double ratchet with the brace key (spec §Key Management, §Data Exchange; decisions 1, 2, 16,
20 and 21)."""

from __future__ import annotations

import copy
import hashlib
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from otrv4.data_message import DataMessage, compute_authenticator
from otrv4.errors import OTRError
from otrv4.primitives.dh3072 import dh_shared_secret, generate_dh
from otrv4.primitives.ecdh import generate_ecdh
from otrv4.primitives.ed448 import IdentityPointError
from otrv4.primitives.kdf import UsageID, kdf
from otrv4.primitives.rng import DeterministicRng, ReplayRng
from otrv4.ratchet import (
    AuthenticatorMismatch,
    DHKeyPresenceError,
    DoubleRatchet,
    DuplicateMessage,
    ECDHKeyMismatch,
    InstanceTagMismatch,
    InvalidPreviousChainLength,
    RatchetLimits,
    RatchetStart,
    SessionExpired,
    SkippedKeyStorageFull,
    TooManyExtraSymmetricKeys,
    TooManySkippedMessages,
    UnexpectedRatchetId,
    chain_uses_dh,
    derive_extra_keys,
    derive_ratchet_keys,
    extra_symmetric_key,
    message_keys,
    mixed_shared_secret,
    next_brace_key,
    next_chain_key,
    third_brace_key,
)
from otrv4.tlv import TLV, Payload, decode_payload, encode_payload
from otrv4.tlv import extra_symmetric_key as tlv7

from ..helpers.ratchet import ratchets_from_vector, replay_conversation
from ..helpers.vectors import draws, raises_exactly, vector_cases

A_TAG, B_TAG = 0x00000101, 0x00000202


def make_pair(
    label: str, limits: RatchetLimits | None = None
) -> tuple[DoubleRatchet, DoubleRatchet]:
    rng = DeterministicRng(label)
    k = rng.random_bytes(64)
    ae, be = generate_ecdh(rng), generate_ecdh(rng)
    ad, bd = generate_dh(rng), generate_dh(rng)
    alice = DoubleRatchet(RatchetStart.interactive(
        k, sends_first=True, our_ecdh=ae, their_ecdh=be.public, our_dh=ad, their_dh=bd.public,
        our_tag=A_TAG, their_tag=B_TAG), limits)
    bob = DoubleRatchet(RatchetStart.interactive(
        k, sends_first=False, our_ecdh=be, their_ecdh=ae.public, our_dh=bd, their_dh=ad.public,
        our_tag=B_TAG, their_tag=A_TAG), limits)
    return alice, bob


def snapshot(r: DoubleRatchet) -> tuple[Any, ...]:
    return (r.root_key, r.brace_key, r.send_id, r.recv_id, r.send_chain_key, r.recv_chain_key,
            r.j, r.k, r.pn, dict(r.skipped), list(r.mac_keys_to_reveal), r.their_ecdh,
            r.their_dh, r.our_ecdh, r.our_dh)


def test_key_schedule_formulas() -> None:
    ck = bytes(range(64))
    assert next_chain_key(ck) == hashlib.shake_256(b"OTRv4\x14" + ck).digest(64)
    mk_enc, mk_mac = message_keys(ck)
    assert mk_enc == hashlib.shake_256(b"OTRv4\x15" + ck).digest(64)
    assert mk_mac == hashlib.shake_256(b"OTRv4\x16" + mk_enc).digest(64)
    assert extra_symmetric_key(ck) == hashlib.shake_256(b"OTRv4\x17\xff" + ck).digest(64)
    root, chain = derive_ratchet_keys(b"r" * 64, b"k" * 64)
    assert root == hashlib.shake_256(b"OTRv4\x12" + b"r" * 64 + b"k" * 64).digest(64)
    assert chain == hashlib.shake_256(b"OTRv4\x13" + b"r" * 64 + b"k" * 64).digest(64)
    assert next_brace_key(b"b" * 32) == hashlib.shake_256(b"OTRv4\x02" + b"b" * 32).digest(32)
    assert [n for n in range(1, 11) if chain_uses_dh(n)] == [1, 4, 7, 10]


def test_brace_key_rule_over_eight_chains() -> None:
    alice, bob = make_pair("ratchet-brace")
    rng = DeterministicRng("ratchet-brace-run")
    for n in range(8):
        sender, receiver = (alice, bob) if n % 2 == 0 else (bob, alice)
        brace_before = receiver.brace_key
        m = sender.encrypt(f"chain {n}".encode(), rng).message
        assert m.ratchet_id == n and m.message_id == 0
        assert (m.dh_public is not None) == (n % 3 == 1)
        assert receiver.decrypt(m).plaintext == f"chain {n}".encode()
        assert receiver.brace_key == sender.brace_key and receiver.root_key == sender.root_key
        if n and n % 3 != 1:
            assert receiver.brace_key == next_brace_key(brace_before or b"")


def test_extra_symmetric_keys() -> None:
    alice, bob = make_pair("ratchet-extra")
    rng = DeterministicRng("ratchet-extra-run")
    body = encode_payload(
        "", [TLV(1), tlv7(b"\x00\x00\x00\x42"), TLV(2), tlv7(b"\x00\x00\x10\x4a")])
    sent = alice.encrypt(body, rng)
    got = bob.decrypt(sent.message)
    assert got.extra_key == sent.extra_key
    keys = derive_extra_keys(got.extra_key, decode_payload(got.plaintext))
    k1 = kdf(1, b"\x00\x00\x00\x42" + got.extra_key, 64)
    assert keys == [(b"\x00\x00\x00\x42", k1),
                    (b"\x00\x00\x10\x4a", kdf(3, b"\x00\x00\x10\x4a" + k1, 64))]
    too_many = Payload("", tuple(tlv7(bytes(4)) for _ in range(10)), tuple(range(10)))
    with pytest.raises(TooManyExtraSymmetricKeys):
        derive_extra_keys(got.extra_key, too_many)
    assert len(derive_extra_keys(got.extra_key, replace(too_many, tlvs=too_many.tlvs[:9],
                                                        positions=tuple(range(9))))) == 9


def test_rejections_leave_state_unchanged() -> None:
    alice, bob = make_pair("ratchet-reject", RatchetLimits(max_skip=3, max_stored=5))
    rng = DeterministicRng("ratchet-reject-run")
    msgs = [alice.encrypt(b"%d" % i, rng).message for i in range(6)]
    before = snapshot(bob)
    bad_mac = replace(msgs[0], authenticator=bytes(64))
    cases: list[tuple[DataMessage, type[OTRError]]] = [
        (bad_mac, AuthenticatorMismatch),
        (replace(msgs[0], ciphertext=b"X" + msgs[0].ciphertext[1:]), AuthenticatorMismatch),
        (msgs[4], TooManySkippedMessages),
        (replace(msgs[0], receiver_tag=0x999), InstanceTagMismatch),
        (replace(msgs[0], ratchet_id=2), UnexpectedRatchetId),
        (replace(msgs[0], ecdh_public=bob.their_ecdh[:-1] + b"\x01"), ECDHKeyMismatch),
        (replace(msgs[0], dh_public=5), DHKeyPresenceError),
    ]
    for message, error in cases:
        with pytest.raises(error):
            bob.decrypt(message)
        assert snapshot(bob) == before
    assert bob.decrypt(msgs[3]).plaintext == b"3"
    with pytest.raises(DuplicateMessage):
        bob.decrypt(msgs[3])
    assert [bob.decrypt(m).plaintext for m in msgs[:3]] == [b"0", b"1", b"2"]
    for m in msgs[:4]:
        with pytest.raises(DuplicateMessage):
            bob.decrypt(m)
    assert bob.decrypt(msgs[5]).plaintext == b"5"


def test_new_chain_rejections() -> None:
    alice, bob = make_pair("ratchet-newchain", RatchetLimits(max_skip=2, max_stored=3))
    rng = DeterministicRng("ratchet-newchain-run")
    bob.decrypt(alice.encrypt(b"a0", rng).message)
    reply = bob.encrypt(b"b0", rng).message  # chain 1, carries Bob's new DH key
    before = snapshot(alice)
    for message, error in [
        (replace(reply, dh_public=None), DHKeyPresenceError),
        (replace(reply, ratchet_id=3), UnexpectedRatchetId),
        (replace(reply, message_id=3), TooManySkippedMessages),
        (replace(reply, ecdh_public=bytes([1]) + bytes(56)), IdentityPointError),
        (replace(reply, authenticator=bytes(64)), AuthenticatorMismatch),
    ]:
        with pytest.raises(error):
            alice.decrypt(message)
        assert snapshot(alice) == before
    assert alice.decrypt(reply).plaintext == b"b0"
    # Alice's chain 2 claims fewer previous messages than Bob already has
    a2 = alice.encrypt(b"a2", rng).message
    before = snapshot(bob)
    with pytest.raises(InvalidPreviousChainLength):
        bob.decrypt(replace(a2, previous_chain_length=0))
    assert snapshot(bob) == before
    assert bob.decrypt(a2).plaintext == b"a2"


def test_storage_cap_and_aging() -> None:
    alice, bob = make_pair("ratchet-cap", RatchetLimits(max_skip=10, max_stored=4,
                                                        max_stored_age=3))
    rng = DeterministicRng("ratchet-cap-run")
    msgs = [alice.encrypt(b"%d" % i, rng).message for i in range(6)]
    with pytest.raises(SkippedKeyStorageFull):
        bob.decrypt(msgs[5])
    assert bob.decrypt(msgs[4]).plaintext == b"4"
    assert bob.decrypt(msgs[5]).plaintext == b"5"
    assert len(bob.skipped) == 4
    lost_macs = {message_keys_for_stored(bob, n) for n in range(4)}
    # four more chains: when Bob receives chain 4, the keys of chain 0 are 4 >= 3 chains old;
    # they are deleted and their MAC keys revealed
    for n in range(1, 5):
        s, r = (bob, alice) if n % 2 else (alice, bob)
        r.decrypt(s.encrypt(b"x", rng).message)
    assert len(bob.skipped) == 0
    revealed = set(bob.encrypt(b"y", rng).message.mac_keys)
    assert lost_macs <= revealed
    with pytest.raises(DuplicateMessage):
        bob.decrypt(msgs[0])


def message_keys_for_stored(r: DoubleRatchet, message_id: int) -> bytes:
    return kdf(UsageID.MAC_KEY, r.skipped[(0, message_id)].mk_enc, 64)


def test_expiry_reveals_and_wipes() -> None:
    alice, bob = make_pair("ratchet-expire")
    rng = DeterministicRng("ratchet-expire-run")
    msgs = [alice.encrypt(b"%d" % i, rng).message for i in range(3)]
    got = bob.decrypt(msgs[2])
    stored = [kdf(UsageID.MAC_KEY, s.mk_enc, 64) for s in bob.skipped.values()]
    keys = bob.expire()
    assert keys == got.mac_key + b"".join(stored) and len(keys) == 3 * 64
    with pytest.raises(SessionExpired):
        bob.decrypt(msgs[0])
    with pytest.raises(SessionExpired):
        bob.encrypt(b"", rng)


def test_non_interactive_start() -> None:
    rng = DeterministicRng("ratchet-nonint")
    k, brace = rng.random_bytes(64), rng.random_bytes(32)
    ae, be = generate_ecdh(rng), generate_ecdh(rng)
    ad, bd = generate_dh(rng), generate_dh(rng)
    alice = DoubleRatchet(RatchetStart.non_interactive(
        k, brace, sends_first=True, our_ecdh=ae, their_ecdh=be.public, our_dh=ad,
        their_dh=bd.public, our_tag=A_TAG, their_tag=B_TAG))
    bob = DoubleRatchet(RatchetStart.non_interactive(
        k, brace, sends_first=False, our_ecdh=be, their_ecdh=ae.public, our_dh=bd,
        their_dh=ad.public, our_tag=B_TAG, their_tag=A_TAG))
    assert alice.send_chain_key == kdf(UsageID.CHAIN_KEY, k, 64) == bob.recv_chain_key
    assert bob.send_id is None and alice.recv_id is None
    assert bob.decrypt(alice.encrypt(b"offline hello", rng).message).plaintext == b"offline hello"
    assert alice.decrypt(bob.encrypt(b"reply", rng).message).plaintext == b"reply"


# ------------------------------------------------------------------ stateful conversations

MAX_SKIP = 4


class Model:
    """An independent account of what one receiver must accept (decision 1's rules)."""

    def __init__(self, first_sender: bool) -> None:
        self.send_id: int | None = 0 if first_sender else None
        self.recv_id: int | None = None if first_sender else 0
        self.j = 0
        self.k = 0
        self.stored: set[tuple[int, int]] = set()

    def on_send(self) -> None:
        if self.send_id is None or (self.recv_id is not None and self.recv_id > self.send_id):
            self.send_id = 0 if self.recv_id is None else self.recv_id + 1
            self.j = 0
        self.j += 1

    def predict(self, m: DataMessage, max_stored: int) -> type[OTRError] | None:
        rid, mid = m.ratchet_id, m.message_id
        if (rid, mid) in self.stored:
            return None
        if self.recv_id is not None and rid == self.recv_id:
            if mid < self.k:
                return DuplicateMessage
            if mid - self.k > MAX_SKIP:
                return TooManySkippedMessages
            return SkippedKeyStorageFull if len(self.stored) + mid - self.k > max_stored else None
        if self.recv_id is not None and rid < self.recv_id:
            return DuplicateMessage
        expected = None
        if self.send_id is not None and (self.recv_id is None or self.send_id > self.recv_id):
            expected = self.send_id + 1
        if rid != expected:
            return UnexpectedRatchetId
        gap = m.previous_chain_length - self.k if self.recv_id is not None else 0
        if gap > MAX_SKIP or mid > MAX_SKIP:
            return TooManySkippedMessages
        return SkippedKeyStorageFull if len(self.stored) + gap + mid > max_stored else None

    def accept(self, m: DataMessage) -> None:
        rid, mid = m.ratchet_id, m.message_id
        if (rid, mid) in self.stored:
            self.stored.remove((rid, mid))
            return
        if rid != self.recv_id:
            if self.recv_id is not None:
                self.stored |= {(self.recv_id, n) for n in range(self.k, m.previous_chain_length)}
            self.recv_id, self.k = rid, 0
        self.stored |= {(rid, n) for n in range(self.k, mid)}
        self.k = mid + 1


class Conversation(RuleBasedStateMachine):
    """Both sides send; the network reorders, drops and duplicates."""

    MAX_STORED = 12

    @initialize(label=st.sampled_from(["conv-1", "conv-2", "conv-3"]))
    def start(self, label: str) -> None:
        limits = RatchetLimits(max_skip=MAX_SKIP, max_stored=self.MAX_STORED,
                               max_stored_age=10**6)
        self.parties = make_pair(label, limits)
        self.models = (Model(True), Model(False))
        self.rng = DeterministicRng(label + "-run")
        self.in_flight: list[tuple[int, DataMessage, bytes]] = []  # (receiver, message, text)
        self.delivered: list[tuple[int, DataMessage]] = []
        self.counter = 0
        self.verified_macs: list[list[bytes]] = [[], []]  # per receiver, not yet revealed
        self.all_macs: dict[bytes, DataMessage] = {}
        self.revealed: set[bytes] = set()

    def _check_reveal(self, sender: int, m: DataMessage, new_chain: bool) -> None:
        keys = list(m.mac_keys)
        if new_chain:
            assert keys == self.verified_macs[sender]
            self.verified_macs[sender] = []
        else:
            assert keys == []
        for key in keys:
            assert key not in self.revealed
            self.revealed.add(key)
            origin = self.all_macs[key]
            assert compute_authenticator(key, origin.authenticated_sections()) == \
                origin.authenticator

    ACTIONS = ("send0", "send1", "burst0", "burst1", "deliver", "deliver", "deliver",
               "deliver", "drop", "replay", "tamper")

    @rule(action=st.sampled_from(ACTIONS), data=st.data())
    def step(self, action: str, data: st.DataObject) -> None:
        if action.startswith("send"):
            self.send(int(action[-1]), data.draw(st.integers(1, 3)))
        elif action.startswith("burst"):  # enough to overflow max_skip if the first is lost
            self.send(int(action[-1]), MAX_SKIP + 2)
        else:
            getattr(self, action)(data)

    def send(self, sender: int, count: int) -> None:
        r = self.parties[sender]
        for _ in range(count):
            new_chain = r.needs_new_sending_chain()
            text = b"msg %d" % self.counter
            self.counter += 1
            m = r.encrypt(text, self.rng).message
            self.models[sender].on_send()
            self._check_reveal(sender, m, new_chain)
            self.in_flight.append((1 - sender, DataMessage.decode(m.encode()), text))

    def deliver(self, data: st.DataObject) -> None:
        if not self.in_flight:
            return
        # mostly the oldest messages first (a network that mostly keeps order)
        index = data.draw(st.one_of(st.just(0), st.integers(0, len(self.in_flight) - 1)))
        receiver, m, text = self.in_flight.pop(index)
        party, model = self.parties[receiver], self.models[receiver]
        expected = model.predict(m, self.MAX_STORED)
        event(f"deliver: {'accepted' if expected is None else expected.__name__}")
        before = snapshot(party)
        if expected is None:
            got = party.decrypt(m)
            assert got.plaintext == text
            model.accept(m)
            self.delivered.append((receiver, m))
            self.verified_macs[receiver].append(got.mac_key)
            self.all_macs[got.mac_key] = m
        else:
            with pytest.raises(expected):
                party.decrypt(m)
            assert snapshot(party) == before
            if expected is not DuplicateMessage:
                self.in_flight.append((receiver, m, text))  # may succeed later

    def drop(self, data: st.DataObject) -> None:
        if not self.in_flight:
            return
        self.in_flight.pop(data.draw(st.integers(0, len(self.in_flight) - 1)))

    def replay(self, data: st.DataObject) -> None:
        if not self.delivered:
            return
        receiver, m = data.draw(st.sampled_from(self.delivered))
        before = snapshot(self.parties[receiver])
        with pytest.raises(DuplicateMessage):
            self.parties[receiver].decrypt(m)
        assert snapshot(self.parties[receiver]) == before

    def tamper(self, data: st.DataObject) -> None:
        if not self.in_flight:
            return
        receiver, m, _ = data.draw(st.sampled_from(self.in_flight))
        if self.models[receiver].predict(m, self.MAX_STORED) is not None:
            return
        flipped = bytearray(m.ciphertext or b"\x00")
        flipped[0] ^= 1
        before = snapshot(self.parties[receiver])
        with pytest.raises(AuthenticatorMismatch):
            self.parties[receiver].decrypt(replace(m, ciphertext=bytes(flipped)))
        assert snapshot(self.parties[receiver]) == before

    @invariant()
    def bounded(self) -> None:
        if hasattr(self, "parties"):
            assert all(len(p.skipped) <= self.MAX_STORED for p in self.parties)
            for p, mdl in zip(self.parties, self.models, strict=True):
                assert set(p.skipped) == mdl.stored


Conversation.TestCase.settings = settings(
    max_examples=40, stateful_step_count=50, deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
TestConversation = Conversation.TestCase


def dake_results(label: str) -> tuple[Any, Any]:
    """Run the real interactive DAKE; return (Alice's, Bob's) shared_state.DakeResult."""
    from otrv4 import dake
    from otrv4.clock import FixedClock
    from otrv4.keys import ForgingKey
    from otrv4.primitives.eddsa import EdDSAKeyPair
    from otrv4.profiles import ClientProfile

    rng = DeterministicRng(label)
    clock = FixedClock(1_700_000_000)

    def participant(tag: int) -> dake.Participant:
        kp = EdDSAKeyPair.generate(rng)
        fk = ForgingKey.generate(rng)
        profile = ClientProfile.create(kp, fk, tag, clock.now() + 7 * 86400)
        return dake.Participant(kp, fk.public, profile)

    ca = dake.DakeContext(participant(A_TAG), "alice@example.org", "bob@example.org", clock)
    cb = dake.DakeContext(participant(B_TAG), "bob@example.org", "alice@example.org", clock)
    identity = dake.start(cb, rng)
    assert identity.send is not None
    auth_r = dake.receive(ca, dake.START, identity.send.encode(), rng)
    assert auth_r.send is not None
    auth_i = dake.receive(cb, identity.state, auth_r.send.encode(), rng)
    assert auth_i.send is not None
    done = dake.receive(ca, auth_r.state, auth_i.send.encode(), rng)
    return done.result, auth_i.result


@pytest.mark.parametrize("bob_first", [False, True])
def test_from_real_dake(bob_first: bool) -> None:
    alice_init, bob_init = dake_results("ratchet-dake")
    alice = DoubleRatchet(RatchetStart.from_dake(alice_init))
    bob = DoubleRatchet(RatchetStart.from_dake(bob_init))
    rng = DeterministicRng("ratchet-dake-run")
    assert (alice.send_id, alice.recv_id, bob.send_id, bob.recv_id) == (0, None, 1, 0)
    if bob_first:
        m = bob.encrypt(b"hi from Bob", rng).message
        assert m.ratchet_id == 1 and m.dh_public is not None  # Bob's chain 1 brings a DH key
        assert alice.decrypt(m).plaintext == b"hi from Bob"
        assert bob.decrypt(alice.encrypt(b"hi", rng).message).ratchet_id == 2
    else:
        m = alice.encrypt(b"hi from Alice", rng).message
        assert m.ratchet_id == 0 and m.dh_public is None
        assert bob.decrypt(m).plaintext == b"hi from Alice"
        assert alice.decrypt(bob.encrypt(b"hi", rng).message).ratchet_id == 1


def test_vectors_reproduce() -> None:
    tests = vector_cases("ratchet")
    conversation = [t for g, t in tests if g["type"] == "Conversation"]
    first = conversation[0]
    inp, inter, out = first["inputs"], first["intermediates"], first["outputs"]
    rng = ReplayRng(draws(first))
    parties = ratchets_from_vector(inp)
    sent: list[bytes] = []
    plaintexts = [bytes.fromhex(p) for p in inp["plaintexts"]]
    for chain, (sender, order) in zip(inter["chains"], inp["script"], strict=True):
        receiver = "bob" if sender == "alice" else "alice"
        first_index = len(sent)
        for _ in order:
            sent.append(parties[sender].encrypt(plaintexts[len(sent)], rng).message.encode())
        for i in order:
            got = parties[receiver].decrypt(DataMessage.decode(sent[first_index + i]))
            assert got.plaintext == plaintexts[first_index + i]
        # the chain's intermediates follow from each other by the documented formulas
        hx = {k: bytes.fromhex(v) for k, v in chain.items() if k not in ("ratchetId", "sender")}
        assert hx["mixedSecret"] == mixed_shared_secret(hx["kEcdh"], hx["braceKey"])
        assert (hx["rootKey"], hx["chainKey"]) == derive_ratchet_keys(
            hx["previousRootKey"], hx["mixedSecret"])
        assert ("kDh" in hx) == (chain["ratchetId"] % 3 == 1 or chain["ratchetId"] == 0)
        if "kDh" in hx:
            assert hx["braceKey"] == third_brace_key(int.from_bytes(hx["kDh"], "big"))
        assert parties[sender].brace_key == hx["braceKey"]
    assert [m.hex() for m in sent] == out["dataMessages"]
    for detail, raw in zip(inter["messages"], sent, strict=True):
        m = DataMessage.decode(raw)
        ck = bytes.fromhex(detail["chainKey"])
        mk_enc, mk_mac = message_keys(ck)
        assert (mk_enc.hex(), mk_mac.hex()) == (detail["mkEnc"], detail["mkMac"])
        assert compute_authenticator(mk_mac, m.authenticated_sections()) == m.authenticator
    assert sorted(i for _, i in out["deliveryOrder"]) == list(range(len(sent)))
    assert replay_conversation(first).delivered == len(sent)
    for test in conversation[1:]:
        assert test["randomDraws"] == first["randomDraws"]
        parties = replay_conversation(first, test["inputs"]["deliveredFirst"]).parties
        with raises_exactly(test["expectedError"], test["comment"]):
            parties[test["inputs"]["receiver"]].decrypt(
                DataMessage.decode(bytes.fromhex(test["inputs"]["message"])))
    schedule = {t["comment"]: t for g, t in tests if g["type"] == "KeySchedule"}
    assert len(schedule) == 4
    for t in schedule.values():
        i, o = t["inputs"], t["outputs"]
        if "chainKey" in i:
            assert next_chain_key(bytes.fromhex(i["chainKey"])).hex() == o["nextChainKey"]
            assert extra_symmetric_key(bytes.fromhex(i["chainKey"])).hex() == \
                o["extraSymmetricKey"]


def _mac_key_following_the_message(first: dict[str, Any], m: DataMessage, error: str) -> bytes:
    """The MAC key a receiver derives from ``m`` as it is, skipping only the rule ``error``
    names (ratchet.json's header), from the first test's intermediates."""
    chains = [{k: v if k in ("ratchetId", "sender") else bytes.fromhex(v) for k, v in c.items()}
              for c in first["intermediates"]["chains"]]
    rid, mid = m.ratchet_id, m.message_id
    if error in ("TooManySkippedMessages", "InstanceTagMismatch"):  # an existing chain
        chain_key = chains[rid]["chainKey"]
        for _ in range(mid):
            chain_key = next_chain_key(chain_key)
        return message_keys(chain_key)[1]
    k_ecdh = chains[rid]["kEcdh"]
    if error == "IdentityPointError":
        k_ecdh = (1).to_bytes(57, "little")
    if m.dh_public is None:
        brace = next_brace_key(chains[rid - 1]["braceKey"])
    elif "kDh" in chains[rid]:
        brace = third_brace_key(int.from_bytes(chains[rid]["kDh"], "big"))
    else:  # the receiver's latest DH secret against the key the message carries
        receiver = "alice" if chains[rid]["sender"] == "bob" else "bob"
        own = [c for c in chains[:rid] if c["sender"] == receiver and "dhSecret" in c][-1]
        brace = third_brace_key(dh_shared_secret(int.from_bytes(own["dhSecret"], "big"),
                                                 m.dh_public))
    _, chain_key = derive_ratchet_keys(chains[rid]["previousRootKey"],
                                       mixed_shared_secret(k_ecdh, brace))
    for _ in range(mid):
        chain_key = next_chain_key(chain_key)
    return message_keys(chain_key)[1]


def test_negative_vectors_isolate_their_rule() -> None:
    """tc5, tc6, tc8, tc9, tc10: each changed message carries the authenticator that
    verifies under the keys the message itself leads to, so a receiver lacking the named
    check would accept its MAC; ours rejects it with exactly the named error."""
    conversation = [t for g, t in vector_cases("ratchet") if g["type"] == "Conversation"]
    first = conversation[0]
    isolated = [t for t in conversation if "MacRecomputed" in t["flags"]]
    assert [t["tcId"] for t in isolated] == [5, 6, 8, 9, 10]
    originals = {DataMessage.decode(bytes.fromhex(raw)).authenticator
                 for raw in first["outputs"]["dataMessages"]}
    for test in isolated:
        m = DataMessage.decode(bytes.fromhex(test["inputs"]["message"]))
        key = _mac_key_following_the_message(first, m, test["expectedError"])
        assert compute_authenticator(key, m.authenticated_sections()) == m.authenticator
        assert m.authenticator not in originals, test["comment"]
        parties = replay_conversation(first, test["inputs"]["deliveredFirst"]).parties
        with raises_exactly(test["expectedError"], test["comment"]):
            parties[test["inputs"]["receiver"]].decrypt(m)


def test_copy_is_independent() -> None:
    """A copy and its original never change each other; both go on the same way."""
    alice, bob = make_pair("ratchet-copy")
    bob.decrypt(alice.encrypt(b"one", DeterministicRng("c1")).message)
    lost = alice.encrypt(b"lost", DeterministicRng("c2")).message
    bob.decrypt(alice.encrypt(b"skips one", DeterministicRng("c3")).message)
    assert bob.skipped
    before = copy.deepcopy(vars(bob))
    twin = bob.copy()
    assert vars(twin) == vars(bob)
    # the twin moves: a new chain, a stored key used, keys to reveal, then a wipe
    reply = twin.encrypt(b"reply", DeterministicRng("c4"))
    assert twin.decrypt(lost).from_skipped and not twin.skipped
    twin.expire()
    assert vars(bob) == before and bob.skipped
    # the original still does all of it, with the same result
    assert bob.encrypt(b"reply", DeterministicRng("c4")) == reply
    assert bob.decrypt(lost).plaintext == b"lost"


def test_the_per_message_values_equal_their_dataclass_construction() -> None:
    """``Encrypted._make`` and ``Decrypted._make`` (the per-message constructors that skip
    the frozen ``__init__``) make exactly what the dataclass constructor makes."""
    from dataclasses import fields

    from otrv4.ratchet import Decrypted, Encrypted

    alice, bob = make_pair("ratchet-make")
    sent = alice.encrypt(b"hello", DeterministicRng("m1"))
    made = Encrypted(sent.message, sent.extra_key)
    assert sent == made and vars(sent) == vars(made) and type(sent) is Encrypted
    got = bob.decrypt(sent.message)
    args = [getattr(got, f.name) for f in fields(Decrypted)]
    assert vars(got) == vars(Decrypted(*args)) and got == Decrypted(*args)
    assert vars(Decrypted._make(*args)) == vars(Decrypted(*args))
