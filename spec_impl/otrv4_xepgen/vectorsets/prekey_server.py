"""Vectors for the prekey-server protocol (``examples/vectors/prekey-server-*.json``).

Four files, one deterministic rng label each:

* ``prekey-server-dake`` — the server's fingerprint (decision 104), a whole
  DAKE with every random draw listed in protocol order (``phi`` of decision
  101, both ``t``, ``SK``, ``prekey_mac_k``, the three messages), then the
  checks of each side on received DAKE-1, DAKE-2 and DAKE-3 with negatives;
* ``prekey-server-proofs`` — batch proofs (decision 102): generation with
  the draws, verification with every part changed;
* ``prekey-server-publication`` — the Prekey MAC (decision 103) and the
  server's checks of a publication, with negatives; the MACs of the Storage
  Information Request, Storage Status, Success and Failure messages;
* ``prekey-server-retrieval`` — the retriever's reading of Prekey Ensemble
  Retrieval and No Prekey Ensembles messages, with negatives.

How to process a test of each group type is :func:`process` (the replay test
calls it on the JSON files); byte strings may be given as bytes or hex.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from otrv4.clock import FixedClock
from otrv4.encoding import Reader, TruncatedError
from otrv4.instance_tag import InvalidSenderTagError, ReceiverTagMismatchError
from otrv4.keys import ForgingKey
from otrv4.prekeys import PrekeyEnsemble, PrekeySecret, generate_prekey_message
from otrv4.primitives.dh3072 import DHValueOutOfRangeError
from otrv4.primitives.ecdh import ECDHKeyPair
from otrv4.primitives.ed448 import Point, PointNotOnCurveError, decode_scalar, encode_scalar
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.kdf import PrekeyUsageID
from otrv4.primitives.ring_signature import InvalidRingSignatureError, RingSignature
from otrv4.primitives.rng import DeterministicRng, RecordingRng, ReplayRng
from otrv4.profiles import (
    ClientProfile,
    PrekeyProfile,
    ProfileExpiredError,
    ProfileOwnerTagMismatchError,
)
from otrv4_prekey.dake import (
    DakeSenderTagMismatchError,
    PublisherDake,
    PublisherIdentity,
    ServerFingerprintMismatchError,
    ServerIdentity,
    ServerIdentityMismatchError,
    dake2_t,
    dake3_t,
    receive_dake2,
    respond,
    server_fingerprint,
    shared_session_state,
    start,
    verify_dake3,
)
from otrv4_prekey.messages import (
    CompositeIdentity,
    Dake1,
    EmptyRetrievalError,
    EnsembleRetrieval,
    InvalidFlagError,
    NoPrekeyEnsembles,
    PrekeyPublication,
)
from otrv4_prekey.proofs import (
    DhProof,
    EcdhProof,
    InvalidProofError,
    proof_context,
    prove_dh,
    prove_ecdh,
    verify_dh,
    verify_ecdh,
)
from otrv4_prekey.publication import (
    PrekeyMacMismatchError,
    PublicationTagMismatchError,
    PublishedKeyMismatchError,
    SharedPrekey,
    build_publication,
    build_storage_request,
    failure,
    publication_mac,
    storage_status,
    success,
    verify_publication,
)
from otrv4_prekey.retrieval import (
    Ensembles,
    NoUsableEnsembleError,
    RetrievalIdentityMismatchError,
    read_answer,
)

from ..vectors import TestCase, TestGroup, VectorFile

__all__ = ["VECTOR_FILES", "ReplayRng", "process"]

NOW = 1_776_945_600
EXPIRES = NOW + 7 * 24 * 3600
PUBLISHER = "juliet@capulet.lit"
SERVICE = "prekeys.capulet.lit"
RETRIEVER_TAG = 0x0000_0A0B

# --------------------------------------------------------------------------- replay helpers




def _b(inputs: Mapping[str, Any], key: str) -> bytes:
    value = inputs[key]
    return bytes.fromhex(value) if isinstance(value, str) else bytes(value)


def _i(inputs: Mapping[str, Any], key: str) -> int:
    return int(inputs[key])


def _publisher(inputs: Mapping[str, Any]) -> PublisherIdentity:
    profile = ClientProfile.decode(_b(inputs, "publisherClientProfile"))
    return PublisherIdentity(str(inputs["publisherJid"]), profile.owner_tag,
                             EdDSAKeyPair.from_secret(_b(inputs, "publisherSymKey")), profile)


def _server(inputs: Mapping[str, Any]) -> ServerIdentity:
    return ServerIdentity(str(inputs["serverJid"]),
                          EdDSAKeyPair.from_secret(_b(inputs, "serverSymKey")))


def process(group_type: str, inputs: Mapping[str, Any],
            draws: Sequence[bytes | str] = ()) -> dict[str, Any]:
    """Process one test of ``group_type``; return its outputs or raise its error."""
    rng = ReplayRng(draws)
    clock = FixedClock(_i(inputs, "now")) if "now" in inputs else FixedClock(NOW)
    if group_type == "ServerFingerprint":
        return {"fingerprint": server_fingerprint(Point.decode(_b(inputs, "serverPublicKey")))}
    if group_type == "PrekeyServerDake":
        pub, srv = _publisher(inputs), _server(inputs)
        state = start(pub, srv.jid, rng)
        server_state, dake2 = respond(srv, pub.jid, state.dake1.encode(), rng, clock)
        session = receive_dake2(state, dake2.encode())
        dake3 = session.dake3(build_storage_request(session.prekey_mac_k).encode(), rng)
        verified = verify_dake3(srv, server_state, dake3.encode())
        assert verified.sk == session.sk and rng.remaining == 0
        return {"dake1": state.dake1.encode(), "dake2": dake2.encode(), "dake3": dake3.encode(),
                "SK": session.sk, "prekeyMacKey": session.prekey_mac_k}
    if group_type == "Dake1Received":
        _, dake2 = respond(_server(inputs), str(inputs["publisherJid"]), _b(inputs, "dake1"),
                           rng, clock)
        return {"dake2": dake2.encode()}
    if group_type == "Dake2Received":
        pub = _publisher(inputs)
        i = ECDHKeyPair.from_seed(_b(inputs, "iSeed"))
        state = PublisherDake(pub, str(inputs["serverJid"]), i, Dake1(pub.instance_tag,
                              pub.client_profile, i.public), _b(inputs, "expectedFingerprint"))
        return {"SK": receive_dake2(state, _b(inputs, "dake2")).sk}
    if group_type == "Dake3Received":
        srv = _server(inputs)
        server_state, _ = respond(srv, str(inputs["publisherJid"]), _b(inputs, "dake1"), rng,
                                  clock)
        return {"SK": verify_dake3(srv, server_state, _b(inputs, "dake3")).sk}
    if group_type in ("EcdhProofGeneration", "DhProofGeneration"):
        secrets = [int.from_bytes(bytes.fromhex(s) if isinstance(s, str) else s, "big")
                   for s in inputs["secrets"]]
        m = _b(inputs, "m")
        if group_type == "DhProofGeneration":
            publics = [int.from_bytes(bytes.fromhex(p) if isinstance(p, str) else p, "big")
                       for p in inputs["publics"]]
            return {"proof": prove_dh(secrets, publics, m, rng).encode()}
        points = [Point.decode(bytes.fromhex(p) if isinstance(p, str) else p)
                  for p in inputs["publics"]]
        usage = PrekeyUsageID(_i(inputs, "usage"))
        return {"proof": prove_ecdh(secrets, points, m, usage, rng).encode()}
    if group_type in ("EcdhProofVerification", "DhProofVerification"):
        m = _b(inputs, "m")
        raw = _b(inputs, "proof")
        if group_type == "DhProofVerification":
            publics = [int.from_bytes(bytes.fromhex(p) if isinstance(p, str) else p, "big")
                       for p in inputs["publics"]]
            verify_dh(DhProof.read(Reader(raw)), publics, m)
        else:
            points = [Point.decode(bytes.fromhex(p) if isinstance(p, str) else p)
                      for p in inputs["publics"]]
            verify_ecdh(EcdhProof.read(Reader(raw)), points, m, PrekeyUsageID(_i(inputs, "usage")))
        return {}
    if group_type == "PublicationReceived":
        publication = PrekeyPublication.decode(_b(inputs, "publication"))
        verify_publication(publication, _b(inputs, "SK"),
                           ClientProfile.decode(_b(inputs, "dakeClientProfile")),
                           _i(inputs, "senderTag"), clock)
        return {"prekeyMac": publication.mac}
    if group_type == "ReplyMacs":
        k = _b(inputs, "prekeyMacKey")
        tag = _i(inputs, "receiverTag")
        return {
            "storageInformationRequest": build_storage_request(k).encode(),
            "storageStatus": storage_status(k, tag, _i(inputs, "stored")).encode(),
            "success": success(k, tag).encode(),
            "failure": failure(k, tag).encode(),
        }
    if group_type == "RetrievalAnswerReceived":
        answer = read_answer(_b(inputs, "answer"), _i(inputs, "ourTag"), str(inputs["identity"]),
                             clock)
        if isinstance(answer, Ensembles):
            return {"kind": "ensembles", "instanceTags": list(answer.by_tag),
                    "prekeyMessageIds": [e.prekey_message.identifier
                                         for e in answer.by_tag.values()]}
        return {"kind": "exhausted", "text": answer.text}
    raise ValueError(f"unknown group type {group_type!r}")


def _case(group_type: str, comment: str, inputs: dict[str, Any], *,
          draws: Sequence[bytes] = (), error: type[Exception] | None = None,
          flags: Sequence[str] = (), intermediates: Mapping[str, Any] | None = None) -> TestCase:
    """Run ``process`` and check it does what the test says (valid, or exactly ``error``)."""
    try:
        outputs = process(group_type, inputs, draws)
        raised: type[Exception] | None = None
    except Exception as exc:
        outputs, raised = {}, type(exc)
    if raised is not error:
        raise RuntimeError(f"{group_type}: {comment}: expected {error}, got {raised}")
    return TestCase(comment=comment, result="valid" if error is None else "invalid",
                    inputs=inputs, outputs=outputs, intermediates=intermediates or {},
                    random_draws=list(draws), flags=list(flags),
                    expected_error=None if error is None else error.__name__)


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


# --------------------------------------------------------------------------- material


@dataclasses.dataclass
class _Material:
    publisher_sym: bytes
    publisher: PublisherIdentity
    shared: SharedPrekey
    server_sym: bytes
    server: ServerIdentity


def _material(rng: DeterministicRng, tag: int = 0x1A2B3C4D, expiration: int = EXPIRES,
              jid: str = PUBLISHER) -> _Material:
    sym = rng.random_bytes(57)
    keypair = EdDSAKeyPair.from_secret(sym)
    forging = ForgingKey.generate(rng)
    profile = ClientProfile.create(keypair, forging, tag, expiration)
    d = EdDSAKeyPair.generate(rng)
    pp = PrekeyProfile.create(keypair, d, tag, expiration)
    server_sym = rng.random_bytes(57)
    return _Material(sym, PublisherIdentity(jid, tag, keypair, profile), SharedPrekey(pp, d),
                     server_sym, ServerIdentity(SERVICE, EdDSAKeyPair.from_secret(server_sym)))


def _base_inputs(m: _Material) -> dict[str, Any]:
    return {"publisherJid": m.publisher.jid, "serverJid": m.server.jid,
            "publisherSymKey": m.publisher_sym,
            "publisherClientProfile": m.publisher.client_profile.encode(),
            "serverSymKey": m.server_sym, "now": NOW}


# --------------------------------------------------------------------------- DAKE file


def dake_vectors() -> VectorFile:
    """The ``prekey-server-dake`` vector file."""
    rng = DeterministicRng("prekey-server-dake")
    m = _material(rng)
    h_s = m.server.keypair.public
    fp_cases = [_case("ServerFingerprint", "fingerprint of the server's key (decision 104)",
                      {"serverPublicKey": h_s.encode()})]

    rec = RecordingRng(rng)
    state = start(m.publisher, SERVICE, rec)
    server_state, dake2 = respond(m.server, PUBLISHER, state.dake1, rec, FixedClock(NOW))
    session = receive_dake2(state, dake2)
    dake3 = session.dake3(build_storage_request(session.prekey_mac_k).encode(), rec)
    draws = [d.value for d in rec.draws]
    phi = shared_session_state(PUBLISHER, SERVICE)
    composite = m.server.composite
    cp = m.publisher.client_profile
    full = _case("PrekeyServerDake", "a whole DAKE; DAKE-3 carries a Storage Information "
                 "Request. Draws: i, s, the server's five RSig values, the publisher's five",
                 _base_inputs(m), draws=draws, intermediates={
                     "phi": phi, "compositeIdentity": composite.encode(),
                     "t_dake2": dake2_t(cp, composite, state.dake1.i, dake2.s, phi),
                     "t_dake3": dake3_t(cp, composite, state.dake1.i, dake2.s, phi),
                     "serverFingerprint": m.server.fingerprint,
                 })

    # DAKE-1 as the server receives it
    d1_inputs = {"serverJid": SERVICE, "serverSymKey": m.server_sym, "publisherJid": PUBLISHER,
                 "now": NOW}
    server_draws = draws[1:7]
    d1 = state.dake1.encode()
    expired = _material(DeterministicRng("prekey-server-dake/expired"), expiration=NOW - 1)
    other = _material(DeterministicRng("prekey-server-dake/other"), tag=0x0BADBEEF)
    d1_cases = [
        _case("Dake1Received", "valid DAKE-1", {**d1_inputs, "dake1": d1}, draws=server_draws),
        _case("Dake1Received", "sender instance tag 0x000000ff",
              {**d1_inputs, "dake1": d1[:3] + b"\x00\x00\x00\xff" + d1[7:]},
              draws=server_draws, error=InvalidSenderTagError, flags=["InstanceTag"]),
        _case("Dake1Received", "the Client Profile of another instance",
              {**d1_inputs, "dake1": Dake1(m.publisher.instance_tag,
                                           other.publisher.client_profile,
                                           state.dake1.i).encode()},
              draws=server_draws, error=ProfileOwnerTagMismatchError, flags=["ClientProfile"]),
        _case("Dake1Received", "an expired Client Profile",
              {**d1_inputs, "dake1": Dake1(expired.publisher.instance_tag,
                                           expired.publisher.client_profile,
                                           state.dake1.i).encode()},
              draws=server_draws, error=ProfileExpiredError, flags=["ClientProfile"]),
        _case("Dake1Received", "I is not on the curve",
              {**d1_inputs, "dake1": d1[:-57] + b"\x02" + bytes(56)},
              draws=server_draws, error=PointNotOnCurveError, flags=["InvalidPoint"]),
    ]

    # DAKE-2 as the publisher receives it
    d2_inputs = {"publisherJid": PUBLISHER, "serverJid": SERVICE,
                 "publisherSymKey": m.publisher_sym, "publisherClientProfile": cp.encode(),
                 "iSeed": draws[0], "expectedFingerprint": m.server.fingerprint}
    d2 = dake2.encode()
    impostor = EdDSAKeyPair.generate(rng)
    d2_cases = [
        _case("Dake2Received", "valid DAKE-2", {**d2_inputs, "dake2": d2}),
        _case("Dake2Received", "receiver instance tag of another device",
              {**d2_inputs, "dake2": d2[:3] + (dake2.receiver_tag ^ 0x100).to_bytes(4, "big")
               + d2[7:]}, error=ReceiverTagMismatchError, flags=["InstanceTag"]),
        _case("Dake2Received", "composite identity names another service",
              {**d2_inputs, "dake2": dataclasses.replace(dake2, composite_identity=
                                                         CompositeIdentity("prekeys.evil.lit",
                                                                           h_s)).encode()},
              error=ServerIdentityMismatchError, flags=["CompositeIdentity"]),
        _case("Dake2Received", "composite identity with another key than the pinned fingerprint",
              {**d2_inputs, "dake2": dataclasses.replace(dake2, composite_identity=
                                                         CompositeIdentity(SERVICE,
                                                                           impostor.public)
                                                         ).encode()},
              error=ServerFingerprintMismatchError, flags=["CompositeIdentity"]),
    ]
    for index, name in enumerate(("c1", "r1", "c2", "r2", "c3", "r3")):
        values = list(dake2.sigma.scalars())
        values[index] += 1
        d2_cases.append(_case(
            "Dake2Received", f"sigma's {name} changed (+1)",
            {**d2_inputs, "dake2": dataclasses.replace(dake2, sigma=RingSignature(*values))
             .encode()}, error=InvalidRingSignatureError, flags=["RingSignature"]))
    wrong_phi_state, wrong_phi = respond(m.server, PUBLISHER + "/balcony", state.dake1,
                                         RecordingRng(rng), FixedClock(NOW))
    d2_cases.append(_case("Dake2Received", "made with phi of another publisher JID "
                          "(a full JID instead of the bare JID)",
                          {**d2_inputs, "dake2": wrong_phi.encode()},
                          error=InvalidRingSignatureError, flags=["Phi"]))
    assert wrong_phi_state.publisher.endswith("/balcony")

    # DAKE-3 as the server receives it
    d3_inputs = {**d1_inputs, "dake1": d1}
    d3 = dake3.encode()
    d3_cases = [
        _case("Dake3Received", "valid DAKE-3", {**d3_inputs, "dake3": d3}, draws=server_draws),
        _case("Dake3Received", "sender instance tag differs from DAKE-1",
              {**d3_inputs, "dake3": d3[:3] + (dake3.sender_tag ^ 0x100).to_bytes(4, "big")
               + d3[7:]}, draws=server_draws, error=DakeSenderTagMismatchError,
              flags=["InstanceTag"]),
    ]
    for index, name in enumerate(("c1", "r1", "c2", "r2", "c3", "r3")):
        values = list(dake3.sigma.scalars())
        values[index] += 1
        d3_cases.append(_case(
            "Dake3Received", f"sigma's {name} changed (+1)",
            {**d3_inputs, "dake3": dataclasses.replace(dake3, sigma=RingSignature(*values))
             .encode()}, draws=server_draws, error=InvalidRingSignatureError,
            flags=["RingSignature"]))
    assert server_state.sk == session.sk
    return VectorFile(
        algorithm="OTRv4 prekey server: DAKE between a publisher and the server",
        header=["otrv4-prekey-server.md §Key Exchange, §DAKE-1/2/3 Message, decisions 101 "
                "(phi) and 104 (fingerprint)",
                "Keys: publisherSymKey and serverSymKey are 57-byte EdDSA secrets (RFC 8032); "
                "iSeed is the 57-byte r of generateECDH",
                "Random draws are listed in the order the protocol uses them"],
        notes={"InstanceTag": "an instance tag is wrong",
               "ClientProfile": "the Client Profile is invalid",
               "InvalidPoint": "a point is not on the curve",
               "CompositeIdentity": "the composite identity is not the expected service",
               "RingSignature": "the ring signature does not verify",
               "Phi": "the signature covers another shared session state"},
        groups=[TestGroup("ServerFingerprint", fp_cases),
                TestGroup("PrekeyServerDake", [full]),
                TestGroup("Dake1Received", d1_cases, "the server validates DAKE-1 and answers"),
                TestGroup("Dake2Received", d2_cases, "the publisher validates DAKE-2"),
                TestGroup("Dake3Received", d3_cases, "the server validates DAKE-3 (after "
                          "answering the listed DAKE-1 with the listed draws)")],
    )


# --------------------------------------------------------------------------- proofs file


def proof_vectors() -> VectorFile:
    """The ``prekey-server-proofs`` vector file."""
    rng = DeterministicRng("prekey-server-proofs")
    m = proof_context(rng.random_bytes(64))
    ecdh = [ECDHKeyPair.from_seed(rng.random_bytes(57)) for _ in range(3)]
    from otrv4.primitives.dh3072 import generate_dh
    dh = [generate_dh(rng) for _ in range(2)]
    gen: list[TestCase] = []
    proofs: dict[str, bytes] = {}
    for usage, n in ((PrekeyUsageID.PROOF_MESSAGE_ECDH, 3), (PrekeyUsageID.PROOF_MESSAGE_ECDH, 1),
                     (PrekeyUsageID.PROOF_SHARED_ECDH, 1)):
        rec = RecordingRng(rng)
        secrets = [k.secret for k in ecdh[:n]]
        publics = [k.public for k in ecdh[:n]]
        proof = prove_ecdh(secrets, publics, m, usage, rec)
        proofs[f"{usage.name}{n}"] = proof.encode()
        gen.append(_case("EcdhProofGeneration", f"{usage.spec_name}, N = {n}", {
            "secrets": [s.to_bytes(57, "big") for s in secrets],
            "publics": [p.encode() for p in publics], "m": m, "usage": int(usage)},
            draws=[d.value for d in rec.draws]))
    rec = RecordingRng(rng)
    dproof = prove_dh([k.secret for k in dh], [k.public for k in dh], m, rec)
    dgen = [_case("DhProofGeneration", "usage_proof_message_dh, N = 2", {
        "secrets": [k.secret.to_bytes(80, "big") for k in dh],
        "publics": [k.public.to_bytes(384, "big") for k in dh], "m": m},
        draws=[d.value for d in rec.draws])]

    encoded_publics = [p.public.encode() for p in ecdh]
    base: dict[str, Any] = {"publics": encoded_publics, "m": m,
                            "usage": int(PrekeyUsageID.PROOF_MESSAGE_ECDH)}
    p3 = proofs["PROOF_MESSAGE_ECDH3"]
    v = decode_scalar(p3[64:])
    ver = [
        _case("EcdhProofVerification", "valid, N = 3", {**base, "proof": p3}),
        _case("EcdhProofVerification", "c changed", {**base, "proof": _flip(p3, 0)},
              error=InvalidProofError, flags=["ModifiedProof"]),
        _case("EcdhProofVerification", "v changed (+1)",
              {**base, "proof": p3[:64] + encode_scalar(v + 1)}, error=InvalidProofError,
              flags=["ModifiedProof"]),
        _case("EcdhProofVerification", "values in another order",
              {**base, "publics": encoded_publics[::-1], "proof": p3}, error=InvalidProofError,
              flags=["ModifiedValues"]),
        _case("EcdhProofVerification", "one value missing",
              {**base, "publics": encoded_publics[:2], "proof": p3}, error=InvalidProofError,
              flags=["ModifiedValues"]),
        _case("EcdhProofVerification", "another DAKE's context m",
              {**base, "m": proof_context(b"\x00" * 64), "proof": p3}, error=InvalidProofError,
              flags=["WrongContext"]),
        _case("EcdhProofVerification", "checked with usage_proof_shared_ecdh",
              {**base, "usage": int(PrekeyUsageID.PROOF_SHARED_ECDH), "proof": p3},
              error=InvalidProofError, flags=["WrongUsage"]),
    ]
    dbase = {"publics": [k.public.to_bytes(384, "big") for k in dh], "m": m}
    dp = dproof.encode()
    dver = [
        _case("DhProofVerification", "valid, N = 2", {**dbase, "proof": dp}),
        _case("DhProofVerification", "c changed", {**dbase, "proof": _flip(dp, 5)},
              error=InvalidProofError, flags=["ModifiedProof"]),
        _case("DhProofVerification", "v changed", {**dbase, "proof": _flip(dp, len(dp) - 1)},
              error=InvalidProofError, flags=["ModifiedProof"]),
        _case("DhProofVerification", "values swapped",
              {**dbase, "publics": dbase["publics"][::-1], "proof": dp},
              error=InvalidProofError, flags=["ModifiedValues"]),
    ]
    return VectorFile(
        algorithm="OTRv4 prekey server: batch zero-knowledge proofs",
        header=["otrv4-prekey-server.md §Proofs with decision 102",
                "Ed448: secrets are big-endian integers (as listed), publics 57-byte POINTs; "
                "r = 56 bytes little-endian mod q; t_i = 44 bytes little-endian",
                "DH: secrets and publics big-endian; r = 80 bytes big-endian; t_i = 44 bytes "
                "big-endian; A and B_i hashed as MPIs",
                "m = KDF(usage_proof_context, SK, 64); the first random draw of the file made SK"],
        notes={"ModifiedProof": "a byte of the proof changed",
               "ModifiedValues": "the proven values changed",
               "WrongContext": "m of another DAKE",
               "WrongUsage": "the other Ed448 usage ID"},
        groups=[TestGroup("EcdhProofGeneration", gen), TestGroup("DhProofGeneration", dgen),
                TestGroup("EcdhProofVerification", ver),
                TestGroup("DhProofVerification", dver)],
    )


# --------------------------------------------------------------------------- publication file


def publication_vectors() -> VectorFile:
    """The ``prekey-server-publication`` vector file."""
    rng = DeterministicRng("prekey-server-publication")
    mat = _material(rng)
    sk = rng.random_bytes(64)
    tag = mat.publisher.instance_tag
    prekeys: list[PrekeySecret] = []
    for _ in range(2):
        prekeys.append(generate_prekey_message(rng, tag, existing={p.identifier for p in prekeys}))
    pub = build_publication(sk, prekeys, rng, client_profile=mat.publisher.client_profile,
                            prekey_profile=mat.shared)
    only = build_publication(sk, prekeys[:1], rng)
    base = {"SK": sk, "dakeClientProfile": mat.publisher.client_profile.encode(),
            "senderTag": tag, "now": NOW}
    data = pub.encode()
    from otrv4_prekey.dake import prekey_mac_key
    k = prekey_mac_key(sk)
    other = _material(DeterministicRng("prekey-server-publication/other"), tag=tag)
    foreign_pm = dataclasses.replace(pub.prekey_messages[0], owner_tag=tag ^ 0x100)
    moved = dataclasses.replace(pub, prekey_messages=(foreign_pm, *pub.prekey_messages[1:]))
    moved = dataclasses.replace(moved, mac=publication_mac(k, moved))
    stranger = dataclasses.replace(pub, client_profile=other.publisher.client_profile)
    stranger = dataclasses.replace(stranger, mac=publication_mac(k, stranger))
    swapped = dataclasses.replace(pub, ecdh_proof=pub.profile_proof)
    swapped = dataclasses.replace(swapped, mac=publication_mac(k, swapped))
    n_at = 3
    k_at = n_at + 1 + len(pub.prekey_messages_bytes())
    cases = [
        _case("PublicationReceived", "Client Profile, Prekey Profile and two Prekey messages",
              {**base, "publication": data}, intermediates={
                  "prekeyMacKey": k, "proofs": pub.proofs_bytes()}),
        _case("PublicationReceived", "one Prekey message only (K = J = 0)",
              {**base, "publication": only.encode()}),
        _case("PublicationReceived", "the Prekey MAC changed",
              {**base, "publication": _flip(data, len(data) - 1)},
              error=PrekeyMacMismatchError, flags=["Mac"]),
        _case("PublicationReceived", "a byte of a Prekey message's identifier changed",
              {**base, "publication": _flip(data, n_at + 1 + 3)},
              error=PrekeyMacMismatchError, flags=["Mac"]),
        _case("PublicationReceived", "checked under another SK",
              {**base, "SK": bytes(64), "publication": data},
              error=PrekeyMacMismatchError, flags=["Mac"]),
        _case("PublicationReceived", "K = 2",
              {**base, "publication": data[:k_at] + b"\x02" + data[k_at + 1:]},
              error=InvalidFlagError, flags=["Encoding"]),
        _case("PublicationReceived", "a Prekey message of another instance (MAC recomputed)",
              {**base, "publication": moved.encode()},
              error=PublicationTagMismatchError, flags=["InstanceTag"]),
        _case("PublicationReceived", "a Client Profile with another long-term key (MAC "
              "recomputed)", {**base, "publication": stranger.encode()},
              error=PublishedKeyMismatchError, flags=["ClientProfile"]),
        _case("PublicationReceived", "the profiles expired", {
            **base, "now": EXPIRES + 1, "publication": data},
              error=ProfileExpiredError, flags=["ClientProfile"]),
        _case("PublicationReceived", "the Y proof replaced by the D proof (MAC recomputed)",
              {**base, "publication": swapped.encode()},
              error=InvalidProofError, flags=["Proof"]),
    ]
    replies = [_case("ReplyMacs", "the four MAC'd messages for one prekey_mac_k",
                     {"prekeyMacKey": k, "receiverTag": tag, "stored": 42})]
    return VectorFile(
        algorithm="OTRv4 prekey server: Prekey Publication and the MAC'd replies",
        header=["otrv4-prekey-server.md §Prekey Publication Message and the messages after "
                "DAKE-3, with decision 103",
                "SK is the DAKE's shared secret; prekey_mac_k = KDF(usage_preMAC_key, SK, 64)",
                "Processing: decode the publication, then check the MAC, the instance tags, "
                "the profiles (against dakeClientProfile's key, at 'now') and the proofs"],
        notes={"Mac": "the Prekey MAC does not verify", "Encoding": "a field is malformed",
               "InstanceTag": "a value belongs to another instance",
               "ClientProfile": "a profile is invalid", "Proof": "a proof does not verify"},
        groups=[TestGroup("PublicationReceived", cases), TestGroup("ReplyMacs", replies)],
    )


# --------------------------------------------------------------------------- retrieval file


def retrieval_vectors() -> VectorFile:
    """The ``prekey-server-retrieval`` vector file."""
    rng = DeterministicRng("prekey-server-retrieval")
    devices = [_material(rng, tag=t) for t in (0x0000_0100, 0x0000_0200)]
    ensembles = []
    for mat in devices:
        pm = generate_prekey_message(rng, mat.publisher.instance_tag).message
        ensembles.append(PrekeyEnsemble(mat.publisher.client_profile, mat.shared.profile, pm))
    answer = EnsembleRetrieval(RETRIEVER_TAG, PUBLISHER, tuple(ensembles)).encode()
    base = {"ourTag": RETRIEVER_TAG, "identity": PUBLISHER, "now": NOW}
    at_l = 3 + 4 + 4 + len(PUBLISHER)
    expired_mat = _material(DeterministicRng("prekey-server-retrieval/old"), tag=0x300,
                            expiration=NOW - 1)
    expired = EnsembleRetrieval(RETRIEVER_TAG, PUBLISHER, (PrekeyEnsemble(
        expired_mat.publisher.client_profile, expired_mat.shared.profile,
        generate_prekey_message(rng, 0x300).message),)).encode()
    mixed = EnsembleRetrieval(RETRIEVER_TAG, PUBLISHER, (PrekeyEnsemble(
        devices[0].publisher.client_profile, devices[1].shared.profile,
        ensembles[0].prekey_message),)).encode()
    none = NoPrekeyEnsembles(RETRIEVER_TAG, PUBLISHER).encode()
    cases = [
        _case("RetrievalAnswerReceived", "two devices, one ensemble each",
              {**base, "answer": answer}),
        _case("RetrievalAnswerReceived", "No Prekey Ensembles in Storage: fall back",
              {**base, "answer": none}),
        _case("RetrievalAnswerReceived", "L = 0",
              {**base, "answer": answer[:at_l] + bytes(4) + answer[at_l + 4:]},
              error=EmptyRetrievalError, flags=["Encoding"]),
        _case("RetrievalAnswerReceived", "L = 3 with two ensembles",
              {**base, "answer": answer[:at_l] + (3).to_bytes(4, "big") + answer[at_l + 4:]},
              error=TruncatedError, flags=["Encoding"]),
        _case("RetrievalAnswerReceived", "for another retriever instance",
              {**base, "ourTag": RETRIEVER_TAG + 1, "answer": answer},
              error=ReceiverTagMismatchError, flags=["InstanceTag"]),
        _case("RetrievalAnswerReceived", "about another identity",
              {**base, "identity": "nurse@capulet.lit", "answer": answer},
              error=RetrievalIdentityMismatchError, flags=["Identity"]),
        _case("RetrievalAnswerReceived", "only an expired ensemble",
              {**base, "answer": expired}, error=NoUsableEnsembleError, flags=["Validation"]),
        _case("RetrievalAnswerReceived", "a Prekey Profile signed by another device's key",
              {**base, "answer": mixed}, error=NoUsableEnsembleError, flags=["Validation"]),
        _case("RetrievalAnswerReceived", "a Prekey message's B out of range",
              {**base, "answer": _with_bad_dh(answer)}, error=DHValueOutOfRangeError,
              flags=["Encoding"]),
    ]
    return VectorFile(
        algorithm="OTRv4 prekey server: reading a retrieval answer",
        header=["otrv4-prekey-server.md §Retrieving Prekey Ensembles",
                "Processing: check the receiver tag and the identity, validate every ensemble "
                "at 'now', keep one per instance tag; a No Prekey Ensembles answer means: wait "
                "for the peer to be online and use the interactive DAKE"],
        notes={"Encoding": "the message is malformed", "InstanceTag": "not for us",
               "Identity": "not the identity asked for",
               "Validation": "no ensemble passes §Validating Prekey Ensembles"},
        groups=[TestGroup("RetrievalAnswerReceived", cases)],
    )


def _with_bad_dh(answer: bytes) -> bytes:
    """The answer with the first Prekey message's B replaced by the MPI 1."""
    msg = EnsembleRetrieval.decode(answer)
    first = msg.ensembles[0]
    prefix = (answer[:3 + 4 + 4 + len(msg.identity) + 4] + first.client_profile.encode()
              + first.prekey_profile.encode())
    pm = first.prekey_message.encode()
    bad_pm = pm[:2 + 1 + 4 + 4 + 57] + b"\x00\x00\x00\x01\x01"  # version..Y, then MPI 1
    rest = answer[len(prefix) + len(pm):]
    return prefix + bad_pm + rest


VECTOR_FILES: dict[str, Callable[[], VectorFile]] = {
    "prekey-server-dake": dake_vectors,
    "prekey-server-proofs": proof_vectors,
    "prekey-server-publication": publication_vectors,
    "prekey-server-retrieval": retrieval_vectors,
}
