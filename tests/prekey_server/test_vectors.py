"""Replay the committed prekey-server vector files through ``otrv4_prekey``, as another
implementation would: inputs and random draws in, the listed outputs (exact bytes) or
exactly the listed error class out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from otrv4.clock import FixedClock
from otrv4.encoding import Reader
from otrv4.primitives.ecdh import ECDHKeyPair
from otrv4.primitives.ed448 import Point
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.kdf import PrekeyUsageID
from otrv4.primitives.rng import ReplayError, ReplayRng
from otrv4.profiles import ClientProfile
from otrv4_prekey import dake, proofs, publication
from otrv4_prekey.messages import Dake1, PrekeyPublication
from otrv4_prekey.retrieval import Ensembles, read_answer

from ..helpers.vectors import draws, raises_exactly, unhex, vector_cases

Inputs = dict[str, Any]
Outputs = dict[str, Any]

STEMS = ("prekey-server-dake", "prekey-server-proofs", "prekey-server-publication",
         "prekey-server-retrieval")


def _publisher(inputs: Inputs) -> dake.PublisherIdentity:
    profile = ClientProfile.decode(unhex(inputs["publisherClientProfile"]))
    key = EdDSAKeyPair.from_secret(unhex(inputs["publisherSymKey"]))
    return dake.PublisherIdentity(inputs["publisherJid"], profile.owner_tag, key, profile)


def _server(inputs: Inputs) -> dake.ServerIdentity:
    return dake.ServerIdentity(inputs["serverJid"],
                               EdDSAKeyPair.from_secret(unhex(inputs["serverSymKey"])))


def _fingerprint(inputs: Inputs, _rng: ReplayRng) -> Outputs:
    key = Point.decode(unhex(inputs["serverPublicKey"]))
    return {"fingerprint": dake.server_fingerprint(key).hex()}


def _whole_dake(inputs: Inputs, rng: ReplayRng) -> Outputs:
    """Both sides, in protocol order: DAKE-1, DAKE-2, DAKE-3 carrying a storage request."""
    publisher, server = _publisher(inputs), _server(inputs)
    opened = dake.start(publisher, server.jid, rng)
    waiting, dake2 = dake.respond(server, publisher.jid, opened.dake1.encode(), rng,
                                  FixedClock(inputs["now"]))
    session = dake.receive_dake2(opened, dake2.encode())
    request = publication.build_storage_request(session.prekey_mac_k).encode()
    dake3 = session.dake3(request, rng)
    assert dake.verify_dake3(server, waiting, dake3.encode()).sk == session.sk
    return {"dake1": opened.dake1.encode().hex(), "dake2": dake2.encode().hex(),
            "dake3": dake3.encode().hex(), "SK": session.sk.hex(),
            "prekeyMacKey": session.prekey_mac_k.hex()}


def _dake1_received(inputs: Inputs, rng: ReplayRng) -> Outputs:
    _, dake2 = dake.respond(_server(inputs), inputs["publisherJid"], unhex(inputs["dake1"]),
                            rng, FixedClock(inputs["now"]))
    return {"dake2": dake2.encode().hex()}


def _dake2_received(inputs: Inputs, _rng: ReplayRng) -> Outputs:
    publisher = _publisher(inputs)
    i = ECDHKeyPair.from_seed(unhex(inputs["iSeed"]))
    sent = Dake1(publisher.instance_tag, publisher.client_profile, i.public)
    state = dake.PublisherDake(publisher, inputs["serverJid"], i, sent,
                               unhex(inputs["expectedFingerprint"]))
    return {"SK": dake.receive_dake2(state, unhex(inputs["dake2"])).sk.hex()}


def _dake3_received(inputs: Inputs, rng: ReplayRng) -> Outputs:
    server = _server(inputs)
    waiting, _ = dake.respond(server, inputs["publisherJid"], unhex(inputs["dake1"]), rng,
                              FixedClock(inputs["now"]))
    return {"SK": dake.verify_dake3(server, waiting, unhex(inputs["dake3"])).sk.hex()}


def _points(inputs: Inputs) -> list[Point]:
    return [Point.decode(unhex(p)) for p in inputs["publics"]]


def _numbers(values: list[str]) -> list[int]:
    return [int.from_bytes(unhex(v), "big") for v in values]


def _ecdh_proof(inputs: Inputs, rng: ReplayRng) -> Outputs:
    proof = proofs.prove_ecdh(_numbers(inputs["secrets"]), _points(inputs), unhex(inputs["m"]),
                              PrekeyUsageID(inputs["usage"]), rng)
    return {"proof": proof.encode().hex()}


def _dh_proof(inputs: Inputs, rng: ReplayRng) -> Outputs:
    proof = proofs.prove_dh(_numbers(inputs["secrets"]), _numbers(inputs["publics"]),
                            unhex(inputs["m"]), rng)
    return {"proof": proof.encode().hex()}


def _ecdh_verify(inputs: Inputs, _rng: ReplayRng) -> Outputs:
    proof = proofs.EcdhProof.read(Reader(unhex(inputs["proof"])))
    proofs.verify_ecdh(proof, _points(inputs), unhex(inputs["m"]), PrekeyUsageID(inputs["usage"]))
    return {}


def _dh_verify(inputs: Inputs, _rng: ReplayRng) -> Outputs:
    proof = proofs.DhProof.read(Reader(unhex(inputs["proof"])))
    proofs.verify_dh(proof, _numbers(inputs["publics"]), unhex(inputs["m"]))
    return {}


def _publication_received(inputs: Inputs, _rng: ReplayRng) -> Outputs:
    received = PrekeyPublication.decode(unhex(inputs["publication"]))
    publication.verify_publication(received, unhex(inputs["SK"]),
                                   ClientProfile.decode(unhex(inputs["dakeClientProfile"])),
                                   inputs["senderTag"], FixedClock(inputs["now"]))
    return {"prekeyMac": received.mac.hex()}


def _reply_macs(inputs: Inputs, _rng: ReplayRng) -> Outputs:
    key, tag = unhex(inputs["prekeyMacKey"]), inputs["receiverTag"]
    return {"storageInformationRequest": publication.build_storage_request(key).encode().hex(),
            "storageStatus": publication.storage_status(key, tag, inputs["stored"]).encode().hex(),
            "success": publication.success(key, tag).encode().hex(),
            "failure": publication.failure(key, tag).encode().hex()}


def _answer_received(inputs: Inputs, _rng: ReplayRng) -> Outputs:
    answer = read_answer(unhex(inputs["answer"]), inputs["ourTag"], inputs["identity"],
                         FixedClock(inputs["now"]))
    if not isinstance(answer, Ensembles):
        return {"kind": "exhausted", "text": answer.text}
    return {"kind": "ensembles", "instanceTags": list(answer.by_tag),
            "prekeyMessageIds": [e.prekey_message.identifier for e in answer.by_tag.values()]}


REPLAY: dict[str, Callable[[Inputs, ReplayRng], Outputs]] = {
    "ServerFingerprint": _fingerprint,
    "PrekeyServerDake": _whole_dake,
    "Dake1Received": _dake1_received,
    "Dake2Received": _dake2_received,
    "Dake3Received": _dake3_received,
    "EcdhProofGeneration": _ecdh_proof,
    "DhProofGeneration": _dh_proof,
    "EcdhProofVerification": _ecdh_verify,
    "DhProofVerification": _dh_verify,
    "PublicationReceived": _publication_received,
    "ReplyMacs": _reply_macs,
    "RetrievalAnswerReceived": _answer_received,
}


@pytest.mark.parametrize("stem", STEMS)
def test_vectors_replay(stem: str) -> None:
    valid = invalid = 0
    for group, test in vector_cases(stem):
        replay = REPLAY[group["type"]]
        rng = ReplayRng(draws(test))
        if test["result"] == "valid":
            assert replay(test["inputs"], rng) == test["outputs"], test["comment"]
            assert rng.remaining == 0, test["comment"]
            valid += 1
        else:
            with raises_exactly(test["expectedError"], test["comment"]):
                replay(test["inputs"], rng)
            invalid += 1
    assert valid >= 1 and invalid >= 1


@pytest.mark.parametrize("stem", STEMS)
def test_every_group_type_is_replayed(stem: str) -> None:
    groups = {group["type"] for group, _ in vector_cases(stem)}
    assert groups and groups <= set(REPLAY)


def test_replay_needs_the_listed_draws() -> None:
    (_, test), *_ = vector_cases("prekey-server-proofs")
    assert _ecdh_proof(test["inputs"], ReplayRng(draws(test))) == test["outputs"]
    with pytest.raises(ReplayError, match="after the 0 listed"):
        _ecdh_proof(test["inputs"], ReplayRng([]))
    with pytest.raises(ReplayError, match="asked for 56 bytes"):
        _ecdh_proof(test["inputs"], ReplayRng([b"\x00" * 57]))
