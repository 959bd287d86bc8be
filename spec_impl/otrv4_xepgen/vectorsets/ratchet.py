"""Vectors for the double ratchet with the brace key (``examples/vectors/ratchet.json``).

One scripted conversation of eight chains (so chains 1, 4 and 7 agree on a
fresh 3072-bit DH key and the others re-hash the brace key: decision 1), with
every intermediate value of every chain and message, recomputed here from the
key-schedule functions and checked against the ratchet itself.  Invalid cases
replay the conversation up to a step and then deliver a mutated message.
A second group pins the single key-schedule functions (decision 2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from otrv4.data_message import DataMessage, compute_authenticator
from otrv4.errors import OTRError
from otrv4.primitives.dh3072 import DHKeyPair, dh_shared_secret, generate_dh, k_dh_bytes
from otrv4.primitives.ecdh import ECDHKeyPair, ecdh, generate_ecdh
from otrv4.primitives.ed448 import Point
from otrv4.primitives.kdf import hcmac
from otrv4.primitives.rng import DeterministicRng, RecordingRng, ReplayRng, Rng
from otrv4.ratchet import (
    DoubleRatchet,
    RatchetStart,
    derive_extra_keys,
    derive_ratchet_keys,
    extra_symmetric_key,
    first_root_key,
    message_keys,
    mixed_shared_secret,
    next_brace_key,
    next_chain_key,
    third_brace_key,
)
from otrv4.tlv import decode_payload, encode_payload
from otrv4.tlv import extra_symmetric_key as tlv7

from ..vectors import TestCase, TestGroup, VectorFile

__all__ = ["VECTOR_FILES", "Conversation", "play", "ratchet_vectors", "setup"]

ALICE_TAG = 0x000A11CE
BOB_TAG = 0x00000B0B
#: (sender, number of messages, delivery order) per chain; Alice owns the even chains.
SCRIPT: tuple[tuple[str, tuple[int, ...]], ...] = (
    ("alice", (0, 1)), ("bob", (0, 1)), ("alice", (1, 0)), ("bob", (0, 2, 1)),
    ("alice", (0,)), ("bob", (0, 1)), ("alice", (0,)), ("bob", (1, 0)),
)


@dataclass(frozen=True)
class Setup:
    """The inputs of the conversation: the DAKE's K and both parties' first keys."""

    shared_secret: bytes
    alice_ecdh: ECDHKeyPair
    bob_ecdh: ECDHKeyPair
    alice_dh: DHKeyPair
    bob_dh: DHKeyPair

    def ratchets(self) -> tuple[DoubleRatchet, DoubleRatchet]:
        """Fresh ratchets for Alice (first sender) and Bob."""
        alice = DoubleRatchet(RatchetStart.interactive(
            self.shared_secret, sends_first=True, our_ecdh=self.alice_ecdh,
            their_ecdh=self.bob_ecdh.public, our_dh=self.alice_dh, their_dh=self.bob_dh.public,
            our_tag=ALICE_TAG, their_tag=BOB_TAG))
        bob = DoubleRatchet(RatchetStart.interactive(
            self.shared_secret, sends_first=False, our_ecdh=self.bob_ecdh,
            their_ecdh=self.alice_ecdh.public, our_dh=self.bob_dh, their_dh=self.alice_dh.public,
            our_tag=BOB_TAG, their_tag=ALICE_TAG))
        return alice, bob

    def inputs(self) -> dict[str, Any]:
        """The setup as vector inputs."""
        return {
            "sharedSecret": self.shared_secret,
            "aliceEcdhSeed": self.alice_ecdh.seed, "bobEcdhSeed": self.bob_ecdh.seed,
            "aliceDhSecret": self.alice_dh.secret.to_bytes(80, "big"),
            "bobDhSecret": self.bob_dh.secret.to_bytes(80, "big"),
            "aliceTag": ALICE_TAG, "bobTag": BOB_TAG,
        }

    @classmethod
    def from_inputs(cls, inputs: dict[str, Any]) -> Setup:
        """Rebuild a setup from vector inputs (hex strings)."""
        def dh(name: str) -> DHKeyPair:
            secret = int(inputs[name], 16)
            return generate_dh(ReplayRng([secret.to_bytes(80, "big")]))
        return cls(bytes.fromhex(inputs["sharedSecret"]),
                   ECDHKeyPair.from_seed(bytes.fromhex(inputs["aliceEcdhSeed"])),
                   ECDHKeyPair.from_seed(bytes.fromhex(inputs["bobEcdhSeed"])),
                   dh("aliceDhSecret"), dh("bobDhSecret"))




def setup(rng: Rng) -> Setup:
    """Draw a setup: K (64 bytes), then Alice's and Bob's first ECDH, then DH keys."""
    k = rng.random_bytes(64)
    return Setup(k, generate_ecdh(rng), generate_ecdh(rng), generate_dh(rng), generate_dh(rng))


def replay_rng(draws: list[bytes]) -> Rng:
    """An rng that returns ``draws`` in order (to replay a vector)."""
    return ReplayRng(draws)


@dataclass
class Conversation:
    """Everything :func:`play` produced: messages in sending order, and per-chain details."""

    messages: list[DataMessage]
    plaintexts: list[bytes]
    steps: list[tuple[str, int]]  # (receiver, index into messages) in delivery order
    chains: list[dict[str, Any]]
    message_details: list[dict[str, Any]]


def play(s: Setup, rng: Rng, *, check: bool = True) -> Conversation:
    """Run :data:`SCRIPT` between fresh ratchets, recording intermediates.

    With ``check``, every intermediate is recomputed from the key-schedule
    functions and compared with the ratchet's state (raises ``RuntimeError``).
    """
    alice, bob = s.ratchets()
    parties = {"alice": alice, "bob": bob}
    conv = Conversation([], [], [], [], [])
    # chain 0, from the first keys
    k_ecdh0 = ecdh(s.alice_ecdh.secret, s.bob_ecdh.public)
    k_dh0 = dh_shared_secret(s.alice_dh.secret, s.bob_dh.public)
    brace0 = third_brace_key(k_dh0)
    prev_root = first_root_key(s.shared_secret)
    k0 = mixed_shared_secret(k_ecdh0, brace0)
    root0, ck0 = derive_ratchet_keys(prev_root, k0)
    for n, (sender_name, order) in enumerate(SCRIPT):
        sender = parties[sender_name]
        receiver_name = "bob" if sender_name == "alice" else "alice"
        receiver = parties[receiver_name]
        root_before, their_ecdh, their_dh = sender.root_key, sender.their_ecdh, sender.their_dh
        brace_before = sender.brace_key
        first = len(conv.messages)
        for i in range(len(order)):
            text = encode_payload(f"chain {n} message {i}",
                                  [tlv7(b"\x00\x00\x00\x01", b"vector")] if i == 0 else [])
            conv.messages.append(sender.encrypt(text, rng).message)
            conv.plaintexts.append(text)
        if n == 0:
            chain: dict[str, Any] = {"ratchetId": 0, "sender": sender_name, "kEcdh": k_ecdh0,
                     "kDh": k_dh_bytes(k_dh0), "braceKey": brace0, "previousRootKey": prev_root,
                     "mixedSecret": k0, "rootKey": root0, "chainKey": ck0}
        else:
            assert sender.our_ecdh is not None and root_before is not None
            k_ecdh = ecdh(sender.our_ecdh.secret, Point.decode(their_ecdh))
            chain = {"ratchetId": n, "sender": sender_name, "ecdhSeed": sender.our_ecdh.seed,
                     "ecdhPublic": sender.our_ecdh.public.encode(),
                     "kEcdh": k_ecdh, "previousRootKey": root_before}
            if n % 3 == 1:
                assert sender.our_dh is not None
                k_dh = dh_shared_secret(sender.our_dh.secret, their_dh)
                brace = third_brace_key(k_dh)
                chain |= {"dhSecret": sender.our_dh.secret.to_bytes(80, "big"),
                          "kDh": k_dh_bytes(k_dh)}
            else:
                brace = next_brace_key(brace_before or b"")
            mixed = mixed_shared_secret(k_ecdh, brace)
            root, ck = derive_ratchet_keys(root_before, mixed)
            chain |= {"braceKey": brace, "mixedSecret": mixed, "rootKey": root, "chainKey": ck}
            if check and (root != sender.root_key or brace != sender.brace_key):
                raise RuntimeError(f"chain {n}: recomputed keys differ from the ratchet's")
        conv.chains.append(chain)
        ck_n = bytes(chain["chainKey"])
        for i, m in enumerate(conv.messages[first:]):
            mk_enc, mk_mac = message_keys(ck_n)
            if check and compute_authenticator(mk_mac, m.authenticated_sections()) != \
                    m.authenticator:
                raise RuntimeError(f"chain {n} message {i}: authenticator differs")
            extra = extra_symmetric_key(ck_n)
            conv.message_details.append({
                "ratchetId": n, "messageId": i, "chainKey": ck_n, "mkEnc": mk_enc,
                "mkMac": mk_mac, "extraSymmetricKey": extra,
                "derivedExtraKeys": [k for _, k in derive_extra_keys(
                    extra, decode_payload(conv.plaintexts[first + i]))],
            })
            ck_n = next_chain_key(ck_n)
        for i in order:
            got = receiver.decrypt(conv.messages[first + i])
            if check and got.plaintext != conv.plaintexts[first + i]:
                raise RuntimeError("decryption differs")
            conv.steps.append((receiver_name, first + i))
    return conv


def _new_chain_mac_key(root_before: bytes, k_ecdh: bytes, brace: bytes, message_id: int
                       ) -> bytes:
    """MKmac of message ``message_id`` of a chain derived from these values."""
    _, chain_key = derive_ratchet_keys(root_before, mixed_shared_secret(k_ecdh, brace))
    for _ in range(message_id):
        chain_key = next_chain_key(chain_key)
    return message_keys(chain_key)[1]


def _remac(message: DataMessage, mac_key: bytes) -> DataMessage:
    """``message`` with its authenticator recomputed under ``mac_key``."""
    return replace(message, authenticator=compute_authenticator(
        mac_key, message.authenticated_sections()))


def _mutations(conv: Conversation) -> list[tuple[str, int, DataMessage, str, list[str]]]:
    """(comment, steps delivered first, message, error, flags).

    A mutation that isolates one rule gets a recomputed authenticator: the
    one a receiver that follows the message as it is, skipping only that
    rule, would verify (see the file's header).
    """
    def step_of(index: int) -> int:
        return next(n for n, (_, i) in enumerate(conv.steps) if i == index)

    def chain(n: int, key: str) -> bytes:
        return bytes(conv.chains[n][key])

    msgs = conv.messages
    chain1 = next(i for i, m in enumerate(msgs) if m.ratchet_id == 1)
    chain2 = next(i for i, m in enumerate(msgs) if m.ratchet_id == 2)
    dh1 = msgs[chain1].dh_public
    assert dh1 is not None and msgs[chain1].message_id == msgs[chain2].message_id == 0
    # chain 1 read as a re-hash chain (its message carries no DH key)
    no_dh = _new_chain_mac_key(chain(1, "previousRootKey"), chain(1, "kEcdh"),
                               next_brace_key(chain(0, "braceKey")), 0)
    # chain 2 read as a DH chain with the key it carries, against the receiver's DH secret
    with_dh = _new_chain_mac_key(chain(2, "previousRootKey"), chain(2, "kEcdh"), third_brace_key(
        dh_shared_secret(int.from_bytes(chain(1, "dhSecret"), "big"), dh1)), 0)
    # chain 1 with K_ecdh = POINT(identity), as a receiver checking neither the point nor
    # the result gets
    identity = (1).to_bytes(57, "little")
    from_identity = _new_chain_mac_key(chain(1, "previousRootKey"), identity, third_brace_key(
        int.from_bytes(chain(1, "kDh"), "big")), 0)
    far = chain(0, "chainKey")
    for _ in range(5000):
        far = next_chain_key(far)
    mac0 = bytes(conv.message_details[0]["mkMac"])
    wrong_usage = hcmac(0x11, conv.message_details[0]["mkMac"] +
                        msgs[0].authenticated_sections(), 64)
    flipped = bytearray(msgs[0].ciphertext)
    flipped[0] ^= 0x01
    return [
        ("replay of a delivered message", step_of(0) + 1, msgs[0], "DuplicateMessage",
         ["Replay"]),
        ("one ciphertext bit flipped", 0, replace(msgs[0], ciphertext=bytes(flipped)),
         "AuthenticatorMismatch", ["Tampered"]),
        ("authenticator computed with usage ID 0x11 instead of usage_authenticator 0x18", 0,
         replace(msgs[0], authenticator=wrong_usage), "AuthenticatorMismatch", ["WrongUsageId"]),
        ("chain 1 (a DH chain) without its DH public key", step_of(chain1),
         _remac(replace(msgs[chain1], dh_public=None), no_dh), "DHKeyPresenceError",
         ["BraceRule", "MacRecomputed"]),
        ("chain 2 (a re-hash chain) carrying a DH public key", step_of(chain2),
         _remac(replace(msgs[chain2], dh_public=dh1), with_dh), "DHKeyPresenceError",
         ["BraceRule", "MacRecomputed"]),
        ("ratchet id two ahead of the next chain", step_of(chain2),
         replace(msgs[chain2], ratchet_id=4), "UnexpectedRatchetId", ["RatchetId"]),
        ("message id 5000: more than max_skip (1000) keys skipped", 0,
         _remac(replace(msgs[0], message_id=5000), message_keys(far)[1]),
         "TooManySkippedMessages", ["MaxSkip", "MacRecomputed"]),
        ("new chain whose ECDH key is the identity", step_of(chain1),
         _remac(replace(msgs[chain1], ecdh_public=identity), from_identity),
         "IdentityPointError", ["InvalidPoint", "MacRecomputed"]),
        ("receiver instance tag of another instance", 0,
         _remac(replace(msgs[0], receiver_tag=0x12345678), mac0), "InstanceTagMismatch",
         ["InstanceTag", "MacRecomputed"]),
    ]


def deliver_prefix(s: Setup, conv: Conversation, draws: list[bytes], count: int
                   ) -> dict[str, DoubleRatchet]:
    """Fresh ratchets that have sent everything and received the first ``count`` steps.

    Sending never depends on receiving in this script except through ratchet
    steps, so the conversation is replayed in its original order and stopped
    after ``count`` deliveries.
    """
    alice, bob = s.ratchets()
    parties = {"alice": alice, "bob": bob}
    rng = ReplayRng(draws)
    delivered = 0
    sent = 0
    for sender_name, order in SCRIPT:
        if delivered >= count:
            break
        for _ in order:
            parties[sender_name].encrypt(conv.plaintexts[sent], rng)
            sent += 1
        for _ in order:
            if delivered >= count:
                break
            receiver, index = conv.steps[delivered]
            parties[receiver].decrypt(conv.messages[index])
            delivered += 1
    return parties


def _conversation_group(rng: DeterministicRng) -> TestGroup:
    rec = RecordingRng(rng)
    s = setup(rec)
    setup_draws = len(rec.draws)
    conv = play(s, rec)
    draws = [d.value for d in rec.draws[setup_draws:]]
    tests = [TestCase(
        comment="eight chains: DH agreements on chains 0 (first keys), 1, 4, 7",
        result="valid", flags=["BraceRule", "SkippedKeys"], random_draws=draws,
        inputs=s.inputs() | {"script": [[name, list(order)] for name, order in SCRIPT],
                             "plaintexts": conv.plaintexts},
        intermediates={"chains": conv.chains, "messages": conv.message_details},
        outputs={"dataMessages": [m.encode() for m in conv.messages],
                 "deliveryOrder": [[r, i] for r, i in conv.steps]},
    )]
    for comment, count, message, error, flags in _mutations(conv):
        parties = deliver_prefix(s, conv, draws, count)
        receiver = "alice" if message.sender_tag == BOB_TAG else "bob"
        try:
            parties[receiver].decrypt(message)
            raised = None
        except OTRError as e:
            raised = type(e).__name__
        if raised != error:
            raise RuntimeError(f"{comment}: expected {error}, got {raised}")
        tests.append(TestCase(
            comment=comment, result="invalid", flags=flags, random_draws=draws,
            inputs={"deliveredFirst": count, "receiver": receiver, "message": message.encode()},
            expected_error=error,
        ))
    return TestGroup(type="Conversation", tests=tests,
                     comment="inputs of the invalid tests refer to the first test's setup")


def _schedule_group() -> TestGroup:
    ck = bytes(range(64))
    root, chain = derive_ratchet_keys(bytes(64), bytes([0xFF]) * 64)
    mk_enc, mk_mac = message_keys(ck)
    extra = extra_symmetric_key(ck)
    payload = decode_payload(encode_payload("", [
        tlv7(b"\x00\x00\x00\x42"), tlv7(b"\x00\x00\x10\x4a"), tlv7(b"\x00\x00\x00\x01")]))
    return TestGroup(type="KeySchedule", comment="single functions", tests=[
        TestCase(comment="derive_ratchet_keys(prev_root = 0^64, K = 0xff^64) (decision 2)",
                 result="valid", inputs={"previousRootKey": bytes(64), "mixedSecret": b"\xff" * 64},
                 outputs={"rootKey": root, "chainKey": chain}),
        TestCase(comment="chain key 00..3f: next chain key, MKenc, MKmac, extra key",
                 result="valid", inputs={"chainKey": ck},
                 outputs={"nextChainKey": next_chain_key(ck), "mkEnc": mk_enc, "mkMac": mk_mac,
                          "extraSymmetricKey": extra}),
        TestCase(comment="brace key re-hash", result="valid", inputs={"braceKey": bytes(32)},
                 outputs={"nextBraceKey": next_brace_key(bytes(32))}),
        TestCase(comment="keys derived from the extra key for three TLV 7 at positions 0-2",
                 result="valid",
                 inputs={"extraSymmetricKey": extra,
                         "contexts": [t.value[:4] for t in payload.tlvs]},
                 outputs={"derivedKeys": [k for _, k in derive_extra_keys(extra, payload)]}),
    ])


def ratchet_vectors() -> VectorFile:
    """The ``ratchet`` vector file."""
    rng = DeterministicRng("ratchet")
    return VectorFile(
        algorithm="OTRv4 double ratchet with brace key",
        header=[
            "Setup: the DAKE's K and both parties' first ECDH seeds and DH secrets.",
            "Chain 0: prev_root = KDF(0x0B || K, 64); K_ecdh = ECDH(first keys);",
            "brace = KDF(0x01 || k_dh(first DH keys), 32); K0 = KDF(0x03 || K_ecdh || brace, 64);",
            "root, chain = KDF(0x12 || prev_root || K0, 64), KDF(0x13 || prev_root || K0, 64).",
            "Chain n >= 1 (decision 1): a fresh DH key when n % 3 == 1, else",
            "brace = KDF(0x02 || brace, 32). Ratchet id = chain number; Alice owns even chains.",
            "Per message: MKenc = KDF(0x15 || ck), MKmac = KDF(0x16 || MKenc),",
            "extra = KDF(0x17 || 0xFF || ck), next ck = KDF(0x14 || ck); all 64 bytes.",
            "randomDraws: the draws of the conversation (ECDH seeds, DH secrets) in order.",
            "Invalid tests: replay the conversation, deliver the first deliveredFirst",
            "messages of deliveryOrder, then hand 'message' to 'receiver'.",
            "MacRecomputed: the authenticator is the one a receiver that follows the message",
            "as it is, skipping only the rule named, verifies: without a DH key a chain",
            "re-hashes the brace key; with one it agrees on k_dh with it; K_ecdh of the",
            "identity is POINT(identity); message id n uses the n-th key of its chain. Such a",
            "message is rejected for its own rule, never for the MAC. Replay, WrongUsageId",
            "and Tampered keep a genuine or deliberately wrong MAC; RatchetId keeps the one",
            "sent (no keys exist for a chain two ahead).",
        ],
        notes={
            "BraceRule": "Which chains agree on a new DH key (decision 1).",
            "SkippedKeys": "Messages are delivered out of order within chains 2, 3 and 7.",
            "Replay": "The message was already delivered.",
            "Tampered": "A byte covered by the authenticator was changed.",
            "WrongUsageId": "The authenticator used another usage ID (decision 3).",
            "RatchetId": "The ratchet id is not the next chain's.",
            "MaxSkip": "More keys would be skipped than max_skip (1000) allows.",
            "InvalidPoint": "The new chain's ECDH key is not a valid point.",
            "InstanceTag": "The message is not for this instance.",
            "MacRecomputed": "The authenticator matches the changed message (see header).",
        },
        groups=[_conversation_group(rng), _schedule_group()],
    )


VECTOR_FILES: dict[str, Callable[[], VectorFile]] = {"ratchet": ratchet_vectors}
