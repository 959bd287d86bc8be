"""Batch Schnorr proofs (otrv4-prekey-server.md §Proofs): completeness, soundness checks,
encodings, and a transcription of the specification's formulas."""

from __future__ import annotations

import pytest

from otrv4.encoding import Reader, encode_mpi
from otrv4.primitives import dh3072
from otrv4.primitives.dh3072 import generate_dh
from otrv4.primitives.ecdh import generate_ecdh
from otrv4.primitives.ed448 import Q, base_mul, encode_scalar
from otrv4.primitives.kdf import PrekeyUsageID, prekey_server_kdf
from otrv4.primitives.rng import RecordingRng
from otrv4_prekey.proofs import (
    LAMBDA_BYTES,
    DhProof,
    EcdhProof,
    EmptyProofBatchError,
    InvalidProofError,
    proof_context,
    prove_dh,
    prove_ecdh,
    verify_dh,
    verify_ecdh,
)

from .helpers import rng

M = proof_context(b"\x11" * 64)
MSG = PrekeyUsageID.PROOF_MESSAGE_ECDH
SHARED = PrekeyUsageID.PROOF_SHARED_ECDH


def _ecdh_keys(n: int, label: str) -> tuple[list[int], list]:  # type: ignore[type-arg]
    r = rng(label)
    pairs = [generate_ecdh(r) for _ in range(n)]
    return [p.secret for p in pairs], [p.public for p in pairs]


def _dh_keys(n: int, label: str) -> tuple[list[int], list[int]]:
    r = rng(label)
    pairs = [generate_dh(r) for _ in range(n)]
    return [p.secret for p in pairs], [p.public for p in pairs]


def test_context_is_the_kdf_of_sk() -> None:
    assert proof_context(b"\x11" * 64) == prekey_server_kdf(0x12, b"\x11" * 64, 64)
    assert LAMBDA_BYTES == 44


@pytest.mark.parametrize("n", [1, 2, 5])
@pytest.mark.parametrize("usage", [MSG, SHARED])
def test_ecdh_proof_verifies(n: int, usage: PrekeyUsageID) -> None:
    secrets, publics = _ecdh_keys(n, f"ecdh{n}")
    proof = prove_ecdh(secrets, publics, M, usage, rng(f"p{n}{usage}"))
    verify_ecdh(proof, publics, M, usage)


@pytest.mark.parametrize("n", [1, 3])
def test_dh_proof_verifies(n: int) -> None:
    secrets, publics = _dh_keys(n, f"dh{n}")
    proof = prove_dh(secrets, publics, M, rng(f"pd{n}"))
    verify_dh(proof, publics, M)


def test_ecdh_proof_is_the_specification_transcribed() -> None:
    """Recompute c and v with the formulas of §Proofs and the decided encodings."""
    secrets, publics = _ecdh_keys(2, "transcribe")
    rec = RecordingRng(rng("transcribe-r"))
    proof = prove_ecdh(secrets, publics, M, MSG, rec)
    r = int.from_bytes(rec.draws[0].value, "little") % Q
    assert len(rec.draws[0].value) == 56
    a = base_mul(r)
    c = prekey_server_kdf(0x13, a.encode() + publics[0].encode() + publics[1].encode() + M, 64)
    assert proof.c == c
    p = prekey_server_kdf(0x17, c, 2 * 44)
    t1, t2 = int.from_bytes(p[:44], "little"), int.from_bytes(p[44:], "little")
    assert proof.v == (r + t1 * secrets[0] + t2 * secrets[1]) % Q
    assert proof.encode() == c + encode_scalar(proof.v)


def test_dh_proof_is_the_specification_transcribed() -> None:
    secrets, publics = _dh_keys(2, "transcribe-dh")
    rec = RecordingRng(rng("transcribe-dh-r"))
    proof = prove_dh(secrets, publics, M, rec)
    r = int.from_bytes(rec.draws[0].value, "big")
    assert len(rec.draws[0].value) == 80
    a = pow(dh3072.G, r, dh3072.P)
    c = prekey_server_kdf(0x14, encode_mpi(a) + encode_mpi(publics[0]) + encode_mpi(publics[1])
                          + M, 64)
    assert proof.c == c
    p = prekey_server_kdf(0x17, c, 88)
    t1, t2 = int.from_bytes(p[:44], "big"), int.from_bytes(p[44:], "big")
    assert proof.v == (r + t1 * secrets[0] + t2 * secrets[1]) % dh3072.Q
    assert proof.encode() == c + encode_mpi(proof.v)


def test_ecdh_proof_rejects_every_change() -> None:
    secrets, publics = _ecdh_keys(3, "mut")
    proof = prove_ecdh(secrets, publics, M, MSG, rng("mut-r"))
    bad_c = EcdhProof(bytes([proof.c[0] ^ 1]) + proof.c[1:], proof.v)
    bad_v = EcdhProof(proof.c, (proof.v + 1) % Q)
    other = generate_ecdh(rng("other")).public
    cases = [
        (bad_c, publics, M, MSG),
        (bad_v, publics, M, MSG),
        (proof, [publics[0], publics[1], other], M, MSG),  # one value replaced
        (proof, publics[::-1], M, MSG),                     # order matters
        (proof, publics[:2], M, MSG),                       # one value dropped
        (proof, publics, proof_context(b"\x22" * 64), MSG),  # another DAKE
        (proof, publics, M, SHARED),                        # another usage
    ]
    for pr, pubs, m, usage in cases:
        with pytest.raises(InvalidProofError):
            verify_ecdh(pr, pubs, m, usage)


def test_dh_proof_rejects_every_change() -> None:
    secrets, publics = _dh_keys(2, "mutdh")
    proof = prove_dh(secrets, publics, M, rng("mutdh-r"))
    other = generate_dh(rng("otherdh")).public
    cases = [
        (DhProof(bytes([proof.c[0] ^ 1]) + proof.c[1:], proof.v), publics, M),
        (DhProof(proof.c, (proof.v + 1) % dh3072.Q), publics, M),
        (DhProof(proof.c, proof.v + dh3072.Q), publics, M),  # unreduced v
        (proof, [publics[0], other], M),
        (proof, publics[::-1], M),
        (proof, publics, proof_context(b"\x22" * 64)),
    ]
    for pr, pubs, m in cases:
        with pytest.raises(InvalidProofError):
            verify_dh(pr, pubs, m)


def test_a_proof_without_the_secret_fails() -> None:
    secrets, publics = _ecdh_keys(2, "forge")
    proof = prove_ecdh([secrets[0], secrets[1] + 1], publics, M, MSG, rng("forge-r"))
    with pytest.raises(InvalidProofError):
        verify_ecdh(proof, publics, M, MSG)
    dsec, dpub = _dh_keys(1, "forge-dh")
    dproof = prove_dh([dsec[0] + 1], dpub, M, rng("forge-dh-r"))
    with pytest.raises(InvalidProofError):
        verify_dh(dproof, dpub, M)


def test_empty_batches_and_misuse() -> None:
    with pytest.raises(EmptyProofBatchError):
        prove_ecdh([], [], M, MSG, rng("e"))
    with pytest.raises(EmptyProofBatchError):
        prove_dh([], [], M, rng("e"))
    with pytest.raises(EmptyProofBatchError):
        verify_ecdh(EcdhProof(b"\x00" * 64, 1), [], M, MSG)
    with pytest.raises(EmptyProofBatchError):
        verify_dh(DhProof(b"\x00" * 64, 1), [], M)
    secrets, publics = _ecdh_keys(1, "misuse")
    with pytest.raises(ValueError, match="usage"):
        prove_ecdh(secrets, publics, M, PrekeyUsageID.PROOF_MESSAGE_DH, rng("m"))
    with pytest.raises(ValueError, match="one secret per"):
        prove_ecdh(secrets * 2, publics, M, MSG, rng("m"))


def test_proof_codecs_round_trip() -> None:
    secrets, publics = _ecdh_keys(1, "codec")
    proof = prove_ecdh(secrets, publics, M, MSG, rng("codec-r"))
    data = proof.encode()
    assert len(data) == 64 + 57
    assert EcdhProof.read(Reader(data)) == proof
    dsec, dpub = _dh_keys(1, "codec-dh")
    dproof = prove_dh(dsec, dpub, M, rng("codec-dh-r"))
    ddata = dproof.encode()
    reader = Reader(ddata + b"rest")
    assert DhProof.read(reader) == dproof
    assert reader.rest() == b"rest"
