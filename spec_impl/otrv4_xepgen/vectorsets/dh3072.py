"""Vectors for the 3072-bit DH group (``examples/vectors/dh3072.json``).

Groups: ``generateDH`` from listed random draws; shared secrets with ``k_dh``
serialized as 384 bytes (ambiguity 9, including a secret whose first byte is
zero) and the brace key derived from it; and received DH values (MPI bytes)
that must be accepted or rejected with the named error class.
"""

from __future__ import annotations

from collections.abc import Callable

from otrv4.encoding import NonMinimalMPIError, TrailingDataError, TruncatedError, encode_mpi
from otrv4.errors import OTRError
from otrv4.primitives.dh3072 import (
    DHValueNotInSubgroupError,
    DHValueOutOfRangeError,
    P,
    decode_dh_public,
    dh_shared_secret,
    encode_dh_public,
    generate_dh,
    is_in_subgroup,
    k_dh_bytes,
)
from otrv4.primitives.kdf import UsageID, kdf
from otrv4.primitives.rng import DeterministicRng, RecordingRng, ReplayRng

from ..vectors import TestCase, TestGroup, VectorFile

__all__ = ["VECTOR_FILES", "dh3072_vectors"]

_LABEL = "dh3072"


def _keygen_cases(rng: DeterministicRng) -> list[TestCase]:
    cases = []
    for i in range(3):
        rec = RecordingRng(rng)
        pair = generate_dh(rec)
        cases.append(TestCase(
            comment=f"generateDH, key pair {i + 1}",
            result="valid",
            random_draws=[d.value for d in rec.draws],
            intermediates={"secret": pair.secret.to_bytes(80, "big")},
            outputs={"public": encode_dh_public(pair.public)},
        ))
    return cases


def _shared_case(comment: str, flags: list[str], rng: RecordingRng) -> TestCase:
    alice = generate_dh(rng)
    bob = generate_dh(rng)
    k_dh = dh_shared_secret(alice.secret, bob.public)
    if dh_shared_secret(bob.secret, alice.public) != k_dh:
        raise RuntimeError("DH is not symmetric")
    serialized = k_dh_bytes(k_dh)
    return TestCase(
        comment=comment,
        result="valid",
        flags=flags,
        random_draws=[d.value for d in rng.draws],
        inputs={
            "aliceSecret": alice.secret.to_bytes(80, "big"),
            "bobPublic": encode_dh_public(bob.public),
        },
        intermediates={
            "bobSecret": bob.secret.to_bytes(80, "big"),
            "alicePublic": encode_dh_public(alice.public),
        },
        outputs={
            "kDh": serialized,
            "braceKey": kdf(UsageID.THIRD_BRACE_KEY, serialized, 32),
        },
    )


def _shared_cases(rng: DeterministicRng) -> list[TestCase]:
    cases = [_shared_case("DH(a, B) and k_dh", ["FixedLengthKdh"], RecordingRng(rng))]
    # Search, deterministically, for a pair whose shared secret begins with a zero byte:
    # there the fixed-length and the minimal serialization differ (about 1 pair in 256).
    for _ in range(5000):
        rec = RecordingRng(rng)
        alice = generate_dh(rec)
        bob = generate_dh(rec)
        if dh_shared_secret(alice.secret, bob.public) < 1 << (8 * 383):
            replay = RecordingRng(ReplayRng([d.value for d in rec.draws]))
            cases.append(_shared_case(
                "k_dh whose most significant byte is zero: serialized with the zero byte",
                ["FixedLengthKdh", "KdhLeadingZero"], replay,
            ))
            break
    else:  # pragma: no cover - would need 5000 misses in a row
        raise RuntimeError("no shared secret with a leading zero byte found")
    return cases




def _raw_mpi(length: int, magnitude: bytes) -> bytes:
    return length.to_bytes(4, "big") + magnitude


def _validation_cases(rng: DeterministicRng) -> list[TestCase]:
    non_residue = 0
    while not non_residue:
        candidate = int.from_bytes(rng.random_bytes(384), "big") % P
        if candidate > 1 and not is_in_subgroup(candidate):
            non_residue = candidate
    residue = pow(non_residue, 2, P)
    p_mpi = encode_mpi(P)
    specs: list[tuple[str, bytes, type[OTRError] | None, list[str]]] = [
        ("2, the generator: the smallest valid value", encode_mpi(2), None, []),
        ("a square mod p (in the subgroup)", encode_mpi(residue), None, []),
        ("0 (the empty MPI)", encode_mpi(0), DHValueOutOfRangeError, ["OutOfRange"]),
        ("1", encode_mpi(1), DHValueOutOfRangeError, ["OutOfRange"]),
        ("p - 1 (order 2)", encode_mpi(P - 1), DHValueOutOfRangeError, ["OutOfRange"]),
        ("p", p_mpi, DHValueOutOfRangeError, ["OutOfRange"]),
        ("p + 1", encode_mpi(P + 1), DHValueOutOfRangeError, ["OutOfRange"]),
        ("p - 2: in range, but -2 is not a square mod p", encode_mpi(P - 2),
         DHValueNotInSubgroupError, ["NotInSubgroup"]),
        ("a non-square mod p (order 2q)", encode_mpi(non_residue),
         DHValueNotInSubgroupError, ["NotInSubgroup"]),
        ("MPI 2 with a leading zero byte", _raw_mpi(2, b"\x00\x02"),
         NonMinimalMPIError, ["MalformedMpi"]),
        ("MPI whose length says 384 bytes but 100 follow", _raw_mpi(384, bytes(99) + b"\x05"),
         TruncatedError, ["MalformedMpi"]),
        ("MPI 2 followed by a stray byte", encode_mpi(2) + b"\x00",
         TrailingDataError, ["MalformedMpi"]),
    ]
    cases = []
    for comment, data, error, flags in specs:
        try:
            decode_dh_public(data)
            raised: type[OTRError] | None = None
        except OTRError as exc:
            raised = type(exc)
        if raised is not error:
            raise RuntimeError(f"{comment}: expected {error}, got {raised}")
        cases.append(TestCase(
            comment=comment,
            result="valid" if error is None else "invalid",
            flags=flags,
            inputs={"mpi": data},
            expected_error=None if error is None else error.__name__,
        ))
    return cases


def dh3072_vectors() -> VectorFile:
    """The ``dh3072`` vector file."""
    rng = DeterministicRng(_LABEL)
    return VectorFile(
        algorithm="OTRv4 3072-bit Diffie-Hellman",
        header=[
            "Group: RFC 3526 3072-bit MODP prime p, generator 2, subgroup order q = (p - 1) / 2.",
            "generateDH: the 80-byte random draw r, read big-endian, is the secret;",
            "public = 2^r mod p, shown as an MPI (4-byte big-endian length, minimal magnitude).",
            "k_dh = B^a mod p, serialized as exactly 384 big-endian bytes (ambiguity 9);",
            "braceKey = KDF(usage_third_brace_key || k_dh, 32)",
            "         = SHAKE-256('OTRv4' || 0x01 || k_dh, 32).",
            "Received DH values: 2 <= x <= p - 2 and x^q mod p = 1, else the named error.",
        ],
        notes={
            "FixedLengthKdh": "k_dh is serialized as 384 bytes whatever its magnitude.",
            "KdhLeadingZero": (
                "The shared secret is below 2^3064: a minimal-length serialization "
                "(libotr-ng) would drop the leading zero byte and derive another brace key."
            ),
            "OutOfRange": "The value is outside [2, p - 2].",
            "NotInSubgroup": "The value is in range but not in the order-q subgroup.",
            "MalformedMpi": "The bytes are not exactly one minimal MPI.",
        },
        groups=[
            TestGroup(type="GenerateDH", tests=_keygen_cases(rng),
                      comment="generateDH() from one 80-byte draw"),
            TestGroup(type="SharedSecret", tests=_shared_cases(rng),
                      comment="DH(a, B), k_dh and the brace key derived from it"),
            TestGroup(type="PublicValueValidation", tests=_validation_cases(rng),
                      comment="decode and validate a received DH public value (MPI)"),
        ],
    )


VECTOR_FILES: dict[str, Callable[[], VectorFile]] = {"dh3072": dh3072_vectors}
