"""A small driver of the double ratchet for the tests (public ``otrv4.ratchet`` API only).

It rebuilds Alice's and Bob's ratchets from the setup a ``ratchet`` vector lists
(the DAKE's K, both first ECDH seeds and DH secrets, both instance tags), then
replays the vector's scripted conversation from its random draws: each chain's
sender encrypts its messages, then the receiver takes them in the listed
delivery order.  Stopped after some deliveries, the replay leaves both ratchets
in the state a negative case starts from.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from otrv4.data_message import DataMessage
from otrv4.primitives.dh3072 import DHKeyPair, generator_power
from otrv4.primitives.ecdh import ECDHKeyPair
from otrv4.primitives.rng import ReplayRng
from otrv4.ratchet import DoubleRatchet, RatchetStart

from .vectors import draws, unhex


def _dh(secret_hex: str) -> DHKeyPair:
    secret = int(secret_hex, 16)
    return DHKeyPair(secret=secret, public=generator_power(secret))


def ratchets_from_vector(inputs: dict[str, Any]) -> dict[str, DoubleRatchet]:
    """Fresh ratchets of ``alice`` (who sends first) and ``bob`` from a vector's setup."""
    k = unhex(inputs["sharedSecret"])
    keys = {name: (ECDHKeyPair.from_seed(unhex(inputs[f"{name}EcdhSeed"])),
                   _dh(inputs[f"{name}DhSecret"]), inputs[f"{name}Tag"])
            for name in ("alice", "bob")}
    made = {}
    for me, peer in (("alice", "bob"), ("bob", "alice")):
        (ecdh, dh, tag), (their_ecdh, their_dh, their_tag) = keys[me], keys[peer]
        made[me] = DoubleRatchet(RatchetStart.interactive(
            k, sends_first=me == "alice", our_ecdh=ecdh, their_ecdh=their_ecdh.public,
            our_dh=dh, their_dh=their_dh.public, our_tag=tag, their_tag=their_tag))
    return made


@dataclass
class Replayed:
    """Both ratchets after a replay, and the data messages sent, in sending order."""

    parties: dict[str, DoubleRatchet]
    sent: list[DataMessage]
    delivered: int


def replay_conversation(test: dict[str, Any], deliveries: int | None = None) -> Replayed:
    """Replay the conversation of the valid ``ratchet`` vector ``test``.

    With ``deliveries``, stop once that many messages of ``deliveryOrder`` were
    received (a chain is sent only while deliveries remain).  Every delivered
    message must decrypt to its listed plaintext.
    """
    inputs, order = test["inputs"], test["outputs"]["deliveryOrder"]
    budget = len(order) if deliveries is None else deliveries
    plaintexts = [unhex(p) for p in inputs["plaintexts"]]
    run = Replayed(ratchets_from_vector(inputs), [], 0)
    rng = ReplayRng(draws(test))
    for sender, chain in inputs["script"]:
        if run.delivered == budget:
            break
        for _ in chain:
            message = run.parties[sender].encrypt(plaintexts[len(run.sent)], rng).message
            run.sent.append(message)
        for receiver, index in order[run.delivered:run.delivered + len(chain)]:
            if run.delivered == budget:
                break
            wire = DataMessage.decode(run.sent[index].encode())
            assert run.parties[receiver].decrypt(wire).plaintext == plaintexts[index]
            run.delivered += 1
    return run
