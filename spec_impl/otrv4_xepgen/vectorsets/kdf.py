"""Vectors for the SHAKE-256 KDF and HashToScalar (``examples/vectors/kdf.json``).

One case per usage ID of otrv4.md (with the output size the specification
uses it with), one per usage ID of the prekey-server specification, and a few
``HashToScalar`` cases (including the SMP form with a small integer as usage
byte).  Inputs are fixed byte strings drawn from one deterministic stream.
"""

from __future__ import annotations

from collections.abc import Callable

from otrv4.primitives.ed448 import encode_scalar
from otrv4.primitives.kdf import (
    HASH_TO_SCALAR_SIZE,
    KdfDomain,
    PrekeyUsageID,
    UsageID,
    derive,
    hash_to_scalar,
    kdf,
    prekey_server_kdf,
)
from otrv4.primitives.rng import DeterministicRng

from ..vectors import TestCase, TestGroup, VectorFile

__all__ = ["OUTPUT_SIZES", "VECTOR_FILES", "kdf_vectors"]

_LABEL = "kdf"

#: The output size (bytes) otrv4.md uses with each usage ID; 64 where not listed.
OUTPUT_SIZES: dict[UsageID, int] = {
    UsageID.FINGERPRINT: 56,
    UsageID.THIRD_BRACE_KEY: 32,
    UsageID.BRACE_KEY: 32,
    UsageID.SSID: 8,
    UsageID.SMP_SECRET: 57,
    UsageID.AUTH: HASH_TO_SCALAR_SIZE,
}


def kdf_vectors() -> VectorFile:
    """The ``kdf`` vector file."""
    rng = DeterministicRng(_LABEL)
    otrv4_cases = []
    for usage in UsageID:
        values = rng.random_bytes(64)
        size = OUTPUT_SIZES.get(usage, 64)
        otrv4_cases.append(TestCase(
            comment=f"KDF({usage.spec_name} || values, {size})",
            result="valid",
            inputs={"usageId": int(usage), "usageName": usage.spec_name, "values": values,
                    "size": size},
            outputs={"output": kdf(usage, values, size)},
        ))
    prekey_cases = []
    for pusage in PrekeyUsageID:
        values = rng.random_bytes(64)
        prekey_cases.append(TestCase(
            comment=f"KDF({pusage.spec_name}, values, 64) of the prekey server",
            result="valid",
            inputs={"usageId": int(pusage), "usageName": pusage.spec_name, "values": values,
                    "size": 64},
            outputs={"output": prekey_server_kdf(pusage, values, 64)},
        ))
    scalar_cases = []
    scalar_inputs: list[tuple[str, KdfDomain, int, bytes, list[str]]] = [
        ("HashToScalar(usage_auth || d)", KdfDomain.OTRV4, UsageID.AUTH,
         rng.random_bytes(100), []),
        ("HashToScalar(usage_auth || d), empty d", KdfDomain.OTRV4, UsageID.AUTH, b"", []),
        ("SMP HashToScalar(1 || d)", KdfDomain.OTRV4, 1, rng.random_bytes(114), ["SmpUsage"]),
        ("SMP HashToScalar(8 || d)", KdfDomain.OTRV4, 8, rng.random_bytes(57), ["SmpUsage"]),
        ("prekey-server HashToScalar(usage_auth || d)", KdfDomain.PREKEY_SERVER,
         PrekeyUsageID.AUTH, rng.random_bytes(100), []),
    ]
    for comment, domain, usage_id, data, flags in scalar_inputs:
        scalar = hash_to_scalar(usage_id, data, domain)
        scalar_cases.append(TestCase(
            comment=comment,
            result="valid",
            flags=flags,
            inputs={"prefix": domain.value.decode("ascii"), "usageId": int(usage_id),
                    "data": data},
            intermediates={"hash": derive(domain, usage_id, data, HASH_TO_SCALAR_SIZE)},
            outputs={"scalar": encode_scalar(scalar)},
        ))
    return VectorFile(
        algorithm="OTRv4 KDF, HWC, HCMAC and HashToScalar",
        header=[
            "KDF(usage_ID || values, size) = SHAKE-256('OTRv4' || usage_ID || values, size);",
            "HWC and HCMAC are the same function. usage_ID is one byte; size is in bytes.",
            "Prekey server: SHAKE-256('OTR-Prekey-Server' || usage_ID || values, size).",
            "HashToScalar(usage_ID || d) = SHAKE-256(prefix || usage_ID || d, 57) read",
            "little-endian, mod q (the Ed448 group order); scalar is its 57-byte SCALAR encoding.",
        ],
        notes={
            "SmpUsage": "SMP passes its small integer i (1..8) as the usage byte.",
        },
        groups=[
            TestGroup(type="Otrv4Kdf", tests=otrv4_cases,
                      comment="every usage ID of otrv4.md, at the size the spec uses it"),
            TestGroup(type="PrekeyServerKdf", tests=prekey_cases,
                      comment="every usage ID of otrv4-prekey-server.md"),
            TestGroup(type="HashToScalar", tests=scalar_cases),
        ],
    )


VECTOR_FILES: dict[str, Callable[[], VectorFile]] = {"kdf": kdf_vectors}
