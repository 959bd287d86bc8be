"""Batch zero-knowledge proofs of the published keys (otrv4-prekey-server.md §Proofs).

A publisher proves, non-interactively, that it knows the secret behind every
public value it publishes: the shared prekey ``D`` of its Prekey Profile and
the one-time keys ``Y_i`` (Ed448) and ``B_i`` (3072-bit DH) of its Prekey
messages.  The proofs are batch Schnorr proofs (Henry's RME common-base
protocol) made non-interactive with Fiat-Shamir, bound to the DAKE with the
server through ``m = KDF(usage_proof_context, SK, 64)``:

Generation (``N`` values ``X_i = g * x_i``)::

    r random, A = g * r
    c = KDF(usage, A || X_1 || ... || X_N || m, 64)
    p = KDF(usage_proof_c_lambda, c, N * lambda / 8), t_i = the i-th lambda-bit piece
    v = r + t_1 * x_1 + ... + t_N * x_N   (mod the group order)

Verification recomputes ``A = g * v - (t_1 * X_1 + ... + t_N * X_N)`` and the
hash.  ``lambda`` is 352 bits (44 bytes).

The spec leaves several encodings open; the choices here (registered as
:data:`DECISION_PROOF_ENCODING`) are those of libotr-ng's
``src/prekey_proofs.c``:

* Ed448 proofs: points as 57-byte ``POINT``; ``r`` is 56 random bytes read
  little-endian and reduced mod ``q`` (drawn again if zero); each ``t_i`` is
  its 44 bytes read **little-endian** (a ``SCALAR``-style value);
* DH proof: ``A`` and ``B_i`` as ``MPI``; ``r`` is 80 random bytes read
  big-endian (drawn again if zero); each ``t_i`` is its 44 bytes read
  **big-endian** (an ``MPI``-style magnitude); ``v`` is reduced mod ``dh_q``;
* every KDF size is in bytes: ``p`` has ``N * 44`` bytes (``lambda`` bytes
  for the single Prekey Profile proof would be 352 bytes; the spec's own note
  says lambda counts bits).

Wire forms (§Data Types): ``PROOF-ECDH = C (64 bytes) || V (SCALAR)`` and
``PROOF-DH = C (64 bytes) || V (MPI)``.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Literal

from otrv4.decisions import Decision, register
from otrv4.encoding import Reader, encode_mpi
from otrv4.errors import ValidationError
from otrv4.primitives import dh3072
from otrv4.primitives.ed448 import SCALAR_BYTES, Point, Q, base_mul, decode_scalar, encode_scalar
from otrv4.primitives.kdf import PrekeyUsageID, prekey_server_kdf
from otrv4.primitives.rng import Rng

__all__ = [
    "DECISION_PROOF_ENCODING",
    "LAMBDA_BITS",
    "LAMBDA_BYTES",
    "PROOF_C_BYTES",
    "DhProof",
    "EcdhProof",
    "EmptyProofBatchError",
    "InvalidProofError",
    "proof_context",
    "prove_dh",
    "prove_ecdh",
    "verify_dh",
    "verify_ecdh",
]

#: ``lambda`` of §Proofs, in bits.
LAMBDA_BITS: Final = 352
#: ``lambda`` in bytes: the size of each ``t_i``.
LAMBDA_BYTES: Final = LAMBDA_BITS // 8
#: The size of the challenge ``c``.
PROOF_C_BYTES: Final = 64
#: Random bytes drawn for the Ed448 proofs' ``r`` (§Proofs: "56 bytes").
ECDH_R_BYTES: Final = 56
#: Random bytes drawn for the DH proof's ``r`` (§Proofs: "80 bytes").
DH_R_BYTES: Final = 80


class InvalidProofError(ValidationError):
    """A proof whose recomputed challenge ``c2`` differs from its ``c`` (§Proofs, Verification)."""


class EmptyProofBatchError(ValidationError):
    """A proof over zero values (a publication with ``N = 0`` carries no prekey proofs)."""


@dataclass(frozen=True)
class EcdhProof:
    """``PROOF-ECDH``: the challenge ``c`` (64 bytes) and the response ``v`` (a scalar)."""

    c: bytes
    v: int

    def encode(self) -> bytes:
        """``C || V``: 64 + 57 bytes."""
        if len(self.c) != PROOF_C_BYTES:
            raise ValueError(f"c is {PROOF_C_BYTES} bytes, not {len(self.c)}")
        return self.c + encode_scalar(self.v)

    @classmethod
    def read(cls, reader: Reader, field: str = "PROOF-ECDH") -> EcdhProof:
        """Read ``C || V``.  Raises :class:`~otrv4.encoding.TruncatedError`."""
        start = reader.offset
        c = reader.read(PROOF_C_BYTES, f"{field} C")
        try:
            v = decode_scalar(reader.read(SCALAR_BYTES, f"{field} V"))
        except Exception:
            reader.rewind(start)
            raise
        return cls(c, v)


@dataclass(frozen=True)
class DhProof:
    """``PROOF-DH``: the challenge ``c`` (64 bytes) and the response ``v`` (an MPI)."""

    c: bytes
    v: int

    def encode(self) -> bytes:
        """``C || V``: 64 bytes, then an ``MPI``."""
        if len(self.c) != PROOF_C_BYTES:
            raise ValueError(f"c is {PROOF_C_BYTES} bytes, not {len(self.c)}")
        return self.c + encode_mpi(self.v)

    @classmethod
    def read(cls, reader: Reader, field: str = "PROOF-DH") -> DhProof:
        """Read ``C || V``.  Raises :class:`~otrv4.encoding.TruncatedError`,
        :class:`~otrv4.encoding.NonMinimalMPIError`."""
        start = reader.offset
        c = reader.read(PROOF_C_BYTES, f"{field} C")
        try:
            v = reader.read_mpi(f"{field} V")
        except Exception:
            reader.rewind(start)
            raise
        return cls(c, v)


def proof_context(sk: bytes) -> bytes:
    """``m = KDF(usage_proof_context, SK, 64)`` (§Proofs)."""
    return prekey_server_kdf(PrekeyUsageID.PROOF_CONTEXT, sk, 64)


def _coefficients(c: bytes, n: int, byteorder: Literal["little", "big"]) -> list[int]:
    p = prekey_server_kdf(PrekeyUsageID.PROOF_C_LAMBDA, c, n * LAMBDA_BYTES)
    return [int.from_bytes(p[i * LAMBDA_BYTES:(i + 1) * LAMBDA_BYTES], byteorder)
            for i in range(n)]


def _ecdh_challenge(usage: PrekeyUsageID, a: Point, publics: Sequence[Point], m: bytes) -> bytes:
    data = a.encode() + b"".join(x.encode() for x in publics) + m
    return prekey_server_kdf(usage, data, PROOF_C_BYTES)


def _dh_challenge(a: int, publics: Sequence[int], m: bytes) -> bytes:
    data = encode_mpi(a) + b"".join(encode_mpi(x) for x in publics) + m
    return prekey_server_kdf(PrekeyUsageID.PROOF_MESSAGE_DH, data, PROOF_C_BYTES)


def _check_usage(usage: PrekeyUsageID) -> None:
    if usage not in (PrekeyUsageID.PROOF_MESSAGE_ECDH, PrekeyUsageID.PROOF_SHARED_ECDH):
        raise ValueError(f"{usage.name} is not an Ed448 proof usage ID")


def prove_ecdh(
    secrets: Sequence[int], publics: Sequence[Point], m: bytes, usage: PrekeyUsageID, rng: Rng
) -> EcdhProof:
    """§Proofs, Ed448 generation: one proof for the ``N`` pairs ``(x_i, X_i = G * x_i)``.

    ``usage`` is ``usage_proof_message_ecdh`` (the Prekey messages' ``Y_i``) or
    ``usage_proof_shared_ecdh`` (the Prekey Profile's ``D``).  Draws 56 bytes
    (again while ``r = 0 mod q``).  Raises :class:`EmptyProofBatchError` for
    ``N = 0`` and :class:`ValueError` when the two lists differ in length or
    ``usage`` is not an Ed448 proof usage (programming errors).
    """
    _check_usage(usage)
    if len(secrets) != len(publics):
        raise ValueError("one secret per public value")
    if not publics:
        raise EmptyProofBatchError("a proof needs at least one value")
    while True:
        r = int.from_bytes(rng.random_bytes(ECDH_R_BYTES), "little") % Q
        if r:
            break
    c = _ecdh_challenge(usage, base_mul(r), publics, m)
    ts = _coefficients(c, len(publics), "little")
    v = (r + sum(t * x for t, x in zip(ts, secrets, strict=True))) % Q
    return EcdhProof(c, v)


def verify_ecdh(proof: EcdhProof, publics: Sequence[Point], m: bytes, usage: PrekeyUsageID) -> None:
    """§Proofs, Ed448 verification.  Returns ``None`` if the proof holds.

    Raises :class:`InvalidProofError` if it does not, :class:`EmptyProofBatchError`
    for ``N = 0``.  The points must already be validated (they come from
    :meth:`~otrv4.primitives.ed448.Point.decode`).
    """
    _check_usage(usage)
    if not publics:
        raise EmptyProofBatchError("a proof needs at least one value")
    ts = _coefficients(proof.c, len(publics), "little")
    total = publics[0] * ts[0]
    for t, x in zip(ts[1:], publics[1:], strict=True):
        total = total + x * t
    a = base_mul(proof.v) - total
    if not hmac.compare_digest(_ecdh_challenge(usage, a, publics, m), proof.c):
        raise InvalidProofError(f"the {usage.spec_name} proof does not verify")


def prove_dh(secrets: Sequence[int], publics: Sequence[int], m: bytes, rng: Rng) -> DhProof:
    """§Proofs, DH generation: one proof for the ``N`` pairs ``(b_i, B_i = g3 ^ b_i)``.

    Draws 80 bytes (again while ``r = 0``).  Raises :class:`EmptyProofBatchError`
    for ``N = 0`` and :class:`ValueError` when the lists differ in length.
    """
    if len(secrets) != len(publics):
        raise ValueError("one secret per public value")
    if not publics:
        raise EmptyProofBatchError("a proof needs at least one value")
    while True:
        r = int.from_bytes(rng.random_bytes(DH_R_BYTES), "big")
        if r:
            break
    a = dh3072.modexp(dh3072.G, r, dh3072.P)
    c = _dh_challenge(a, publics, m)
    ts = _coefficients(c, len(publics), "big")
    v = (r + sum(t * x for t, x in zip(ts, secrets, strict=True))) % dh3072.Q
    return DhProof(c, v)


def verify_dh(proof: DhProof, publics: Sequence[int], m: bytes) -> None:
    """§Proofs, DH verification.  Returns ``None`` if the proof holds.

    Raises :class:`InvalidProofError` if it does not (including ``v >= dh_q``,
    which no honest prover sends), :class:`EmptyProofBatchError` for ``N = 0``.
    The values must already be validated group members (Prekey message
    decoding does that).
    """
    if not publics:
        raise EmptyProofBatchError("a proof needs at least one value")
    if not 0 <= proof.v < dh3072.Q:
        raise InvalidProofError("the DH proof's v is not reduced mod dh_q")
    ts = _coefficients(proof.c, len(publics), "big")
    product = 1
    for t, x in zip(ts, publics, strict=True):
        product = product * dh3072.modexp(x, t, dh3072.P) % dh3072.P
    a = dh3072.modexp(dh3072.G, proof.v, dh3072.P) * pow(product, -1, dh3072.P) % dh3072.P
    if not hmac.compare_digest(_dh_challenge(a, publics, m), proof.c):
        raise InvalidProofError("the usage_proof_message_dh proof does not verify")


DECISION_PROOF_ENCODING: Final = register(Decision(
    number=102,
    title="Prekey server: encodings inside the batch proofs",
    question=(
        "otrv4-prekey-server.md §Proofs says to 'interpret r as a scalar' (56 bytes) or 'as an "
        "MPI' (80 bytes) and to 'divide p into lambda-sized pieces t_n', and hashes "
        "A || X_1 || ... || m, without giving the byte order of r and t_n or the encoding of "
        "the DH values; it also writes KDF(usage_proof_c_lambda, c, lambda) with lambda in bits "
        "while the KDF's size is in bytes."
    ),
    decision=(
        "Ed448 proofs: points as 57-byte POINTs, r = 56 bytes little-endian mod q, each t_i = "
        "its 44 bytes little-endian. DH proof: A and B_i as MPIs, r = 80 bytes big-endian, each "
        "t_i = its 44 bytes big-endian, v mod dh_q. p has N * 44 bytes (lambda/8 per value), "
        "also for the single Prekey Profile proof."
    ),
    reason=(
        "Each group keeps its own convention (little-endian SCALARs for Ed448, big-endian MPIs "
        "for the DH group); 44 bytes per value is what makes every t_i a lambda-bit number; "
        "and it is what the only implementation does, so proofs interoperate with it."
    ),
    others=(
        "libotr-ng src/prekey_proofs.c: 44-byte pieces, scalar_decode_long (little-endian) for "
        "Ed448, gcry_mpi_scan USG (big-endian) for DH, DH values serialized as MPIs. The 2019 "
        "Go prekey server (otrng-prekey-server, proofs.go) uses the same 44-byte pieces, byte "
        "orders and MPIs, and draws the DH proof's r below dh_q instead of as 80 bytes (which "
        "verifiers cannot tell apart), but sends the PROOF-ECDH value v as a 56-byte SCALAR "
        "holding v / 4 (decision 106, facts W1 and P1); with those two changes it verifies "
        "proofs made by this decision."
    ),
    vector="prekey-server-proofs",
))
