"""Vectors for the ring signature (``examples/vectors/ring-signature.json``).

Group ``RSig``: a signature by each of the three ring positions (and one with
the prekey server's domain), with every random draw listed, the derived
random scalars, the commitments ``T1..T3`` and the challenge ``c``.

Group ``RVrf``: received signatures to verify: the valid ones, each of the six
scalars changed, the message changed, each ring key replaced, the wrong
domain, bad lengths, an unreduced scalar (accepted, as the spec decodes
``SCALAR`` mod q) and an identity ring key.  Processing: decode the three ring
keys with ``Point.decode``, the signature with ``RingSignature.decode``, then
``RVrf``.
"""

from __future__ import annotations

from collections.abc import Callable

from otrv4.primitives.ed448 import (
    IDENTITY,
    SCALAR_BYTES,
    IdentityPointError,
    Point,
    Q,
    base_mul,
    encode_scalar,
    hash_and_prune,
    random_scalar,
)
from otrv4.primitives.ring_signature import (
    OTRV4_AUTH,
    PREKEY_SERVER_AUTH,
    InvalidRingSignatureError,
    RingDomain,
    RingSignature,
    RingSignatureLengthError,
    challenge,
    ring_sign,
    ring_verify,
)
from otrv4.primitives.rng import DeterministicRng, RecordingRng

from ..vectors import TestCase, TestGroup, VectorFile

__all__ = ["VECTOR_FILES", "ring_signature_vectors"]

_LABEL = "ring-signature"

_NAMES = ("c1", "r1", "c2", "r2", "c3", "r3")


def _domain_inputs(domain: RingDomain) -> dict[str, object]:
    return {"prefix": domain.prefix.value.decode("ascii"), "usageAuth": domain.usage_auth}


def _sign_case(
    comment: str,
    secrets: list[int],
    ring: tuple[Point, Point, Point],
    signer: int,
    message: bytes,
    rng: DeterministicRng,
    domain: RingDomain,
    flags: list[str],
) -> tuple[TestCase, RingSignature]:
    rec = RecordingRng(rng)
    sigma = ring_sign(secrets[signer], ring, message, rec, domain)
    draws = [d.value for d in rec.draws]
    others = [n for n in range(3) if n != signer]
    # The draws, in order: t_i, c_j, c_k, r_j, r_k (hashed, pruned, reduced mod q).
    values = [hash_and_prune(d) % Q for d in draws]
    intermediates: dict[str, object] = {f"t{signer + 1}": encode_scalar(values[0])}
    for pos, n in enumerate(others):
        intermediates[f"random_c{n + 1}"] = encode_scalar(values[1 + pos])
        intermediates[f"random_r{n + 1}"] = encode_scalar(values[3 + pos])
    pairs = ((sigma.c1, sigma.r1), (sigma.c2, sigma.r2), (sigma.c3, sigma.r3))
    commitments = tuple(base_mul(r) + key * c for key, (c, r) in zip(ring, pairs, strict=True))
    t_points = (commitments[0], commitments[1], commitments[2])
    for n, point in enumerate(t_points):
        intermediates[f"T{n + 1}"] = point.encode()
    intermediates["c"] = encode_scalar(challenge(ring, t_points, message, domain))
    case = TestCase(
        comment=comment,
        result="valid",
        flags=flags,
        random_draws=draws,
        inputs={
            **_domain_inputs(domain),
            "A1": ring[0].encode(), "A2": ring[1].encode(), "A3": ring[2].encode(),
            "signerPosition": signer + 1,
            "secret": encode_scalar(secrets[signer]),
            "message": message,
        },
        intermediates=intermediates,
        outputs={"sigma": sigma.encode()},
    )
    return case, sigma


def _verify_case(
    comment: str,
    ring_bytes: tuple[bytes, bytes, bytes],
    sigma: bytes,
    message: bytes,
    domain: RingDomain,
    error: type[Exception] | None,
    flags: list[str],
) -> TestCase:
    try:
        ring = (Point.decode(ring_bytes[0]), Point.decode(ring_bytes[1]),
                Point.decode(ring_bytes[2]))
        ring_verify(ring, RingSignature.decode(sigma), message, domain)
        raised: type[Exception] | None = None
    except Exception as exc:
        raised = type(exc)
    if raised is not error:
        raise RuntimeError(f"{comment}: expected {error}, got {raised}")
    return TestCase(
        comment=comment,
        result="valid" if error is None else "invalid",
        flags=flags,
        inputs={
            **_domain_inputs(domain),
            "A1": ring_bytes[0], "A2": ring_bytes[1], "A3": ring_bytes[2],
            "sigma": sigma,
            "message": message,
        },
        expected_error=None if error is None else error.__name__,
    )


def _replace_scalar(sigma: bytes, index: int, value: bytes) -> bytes:
    start = index * SCALAR_BYTES
    return sigma[:start] + value + sigma[start + SCALAR_BYTES:]


def ring_signature_vectors() -> VectorFile:
    """The ``ring-signature`` vector file."""
    rng = DeterministicRng(_LABEL)
    secrets = [random_scalar(rng) for _ in range(4)]
    keys = [base_mul(a) for a in secrets]
    ring = (keys[0], keys[1], keys[2])
    outsider = keys[3]
    message = b"t: the transcript a DAKE authenticates"

    sign_cases = []
    sigmas = []
    for signer in range(3):
        case, sigma = _sign_case(
            f"RSig by the key at position {signer + 1}", secrets, ring, signer, message, rng,
            OTRV4_AUTH, [],
        )
        sign_cases.append(case)
        sigmas.append(sigma)
    prekey_case, prekey_sigma = _sign_case(
        "RSig with the prekey server's domain (prefix 'OTR-Prekey-Server', usage_auth 0x11)",
        secrets, ring, 1, message, rng, PREKEY_SERVER_AUTH, ["PrekeyServerDomain"],
    )
    sign_cases.append(prekey_case)

    ring_bytes = (ring[0].encode(), ring[1].encode(), ring[2].encode())
    verify_cases = [
        _verify_case(f"valid signature by position {n + 1}", ring_bytes, sigma.encode(),
                     message, OTRV4_AUTH, None, [])
        for n, sigma in enumerate(sigmas)
    ]
    verify_cases.append(_verify_case(
        "valid prekey-server signature", ring_bytes, prekey_sigma.encode(), message,
        PREKEY_SERVER_AUTH, None, ["PrekeyServerDomain"],
    ))
    base = sigmas[0]
    encoded = base.encode()
    for index, name in enumerate(_NAMES):
        changed = (base.scalars()[index] + 1) % Q
        verify_cases.append(_verify_case(
            f"{name} changed (+1 mod q)", ring_bytes,
            _replace_scalar(encoded, index, encode_scalar(changed)), message, OTRV4_AUTH,
            InvalidRingSignatureError, ["ModifiedScalar"],
        ))
    verify_cases.append(_verify_case(
        "message changed (last byte flipped)", ring_bytes, encoded,
        message[:-1] + bytes([message[-1] ^ 1]), OTRV4_AUTH, InvalidRingSignatureError,
        ["ModifiedMessage"],
    ))
    for n in range(3):
        swapped = list(ring_bytes)
        swapped[n] = outsider.encode()
        verify_cases.append(_verify_case(
            f"ring key A{n + 1} replaced by another valid key", (swapped[0], swapped[1],
                                                                  swapped[2]),
            encoded, message, OTRV4_AUTH, InvalidRingSignatureError, ["ModifiedRingKey"],
        ))
    verify_cases.append(_verify_case(
        "ring keys in another order (A2, A1, A3)", (ring_bytes[1], ring_bytes[0], ring_bytes[2]),
        encoded, message, OTRV4_AUTH, InvalidRingSignatureError, ["ModifiedRingKey"],
    ))
    verify_cases.append(_verify_case(
        "an OTRv4 signature checked with the prekey server's domain", ring_bytes, encoded,
        message, PREKEY_SERVER_AUTH, InvalidRingSignatureError, ["WrongDomain"],
    ))
    unreduced = (base.c1 + Q).to_bytes(SCALAR_BYTES, "little")
    verify_cases.append(_verify_case(
        "c1 sent unreduced (c1 + q): SCALAR decoding reduces it mod q", ring_bytes,
        _replace_scalar(encoded, 0, unreduced), message, OTRV4_AUTH, None,
        ["UnreducedScalar"],
    ))
    verify_cases.append(_verify_case(
        "signature truncated to 341 bytes", ring_bytes, encoded[:-1], message, OTRV4_AUTH,
        RingSignatureLengthError, ["BadLength"],
    ))
    verify_cases.append(_verify_case(
        "signature with one extra byte (343 bytes)", ring_bytes, encoded + b"\x00", message,
        OTRV4_AUTH, RingSignatureLengthError, ["BadLength"],
    ))
    verify_cases.append(_verify_case(
        "ring key A3 is the identity element", (ring_bytes[0], ring_bytes[1], IDENTITY.encode()),
        encoded, message, OTRV4_AUTH, IdentityPointError, ["InvalidRingKey"],
    ))

    return VectorFile(
        algorithm="OTRv4 ring signature (RSig, RVrf)",
        header=[
            "RSig(A_i, a_i, {A1, A2, A3}, m) of otrv4.md's appendix. The signer at position i",
            "draws, in order, t_i, c_j, c_k, r_j, r_k (j < k the other positions): each is one",
            "57-byte draw v, used as LE(prune(SHAKE-256(v, 57))) mod q.",
            "T_i = G*t_i, T_n = G*r_n + A_n*c_n (n != i);",
            "c = HashToScalar(usage_auth || G || q || A1 || A2 || A3 || T1 || T2 || T3 || m)",
            "  = LE(SHAKE-256(prefix || usage_auth || ..., 57)) mod q, with G a 57-byte POINT",
            "  and q 57 bytes little-endian (decision on ambiguity 7);",
            "c_i = c - c_j - c_k, r_i = t_i - c_i*a_i (mod q); sigma = c1||r1||c2||r2||c3||r3,",
            "each a 57-byte little-endian SCALAR (342 bytes).",
            "RVrf: decode A1..A3 (full point validation) and sigma (each SCALAR mod q),",
            "T_n = G*r_n + A_n*c_n, accept iff HashToScalar(...) == c1 + c2 + c3 (mod q).",
        ],
        notes={
            "PrekeyServerDomain": "Prefix 'OTR-Prekey-Server' and its usage_auth 0x11.",
            "ModifiedScalar": "One of the six scalars of a valid signature was changed.",
            "ModifiedMessage": "The message differs from the one signed.",
            "ModifiedRingKey": "The ring differs from the one signed (a key or the order).",
            "WrongDomain": "Verified with another KDF prefix and usage_auth than signed with.",
            "UnreducedScalar": (
                "A scalar is encoded with a value >= q; otrv4.md decodes SCALAR mod q, so "
                "the signature is valid (RingSignature.decode(strict=True) would reject it)."
            ),
            "BadLength": "The RING-SIG is not 342 bytes.",
            "InvalidRingKey": "A ring key fails point validation.",
        },
        groups=[
            TestGroup(type="RingSign", tests=sign_cases,
                      comment="RSig from listed random draws"),
            TestGroup(type="RingVerify", tests=verify_cases,
                      comment="decode the ring keys and sigma, then RVrf"),
        ],
    )


VECTOR_FILES: dict[str, Callable[[], VectorFile]] = {"ring-signature": ring_signature_vectors}
