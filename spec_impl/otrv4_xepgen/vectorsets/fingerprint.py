"""Vectors for the user fingerprint (``examples/vectors/fingerprint.json``).

Decision 13: the fingerprint hashes the typed 59-byte encodings of ``H``
(ED448-PUBKEY) and ``F`` (ED448-FORGING-KEY).  One group derives both
parties' fingerprints from their keys (the 57-byte ``sym_key`` of ``H`` and
of an honestly generated ``F``), with the digest of the other reading (untyped
57-byte points) as an intermediate to compare with; a second group binds the
fingerprints into the SMP secret (decision 18), so that both parties, each
computing the other's fingerprint from the keys of its Client Profile, derive
the same ``x``.
"""

from __future__ import annotations

from collections.abc import Callable

from otrv4.keys import KeyType, encode_typed_key, fingerprint, format_fingerprint
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.kdf import UsageID, hwc
from otrv4.primitives.rng import DeterministicRng
from otrv4.smp import smp_secret

from ..vectors import TestCase, TestGroup, VectorFile

__all__ = ["VECTOR_FILES", "fingerprint_vectors"]

SMP_ANSWER = "purple elephant"


def fingerprint_vectors() -> VectorFile:
    """``fingerprint``: fingerprints from keys, and the SMP secret that binds them."""
    rng = DeterministicRng("fingerprint")
    fingerprints: dict[str, bytes] = {}
    cases = []
    for party in ("alice", "bob"):
        long_term = EdDSAKeyPair.from_secret(rng.random_bytes(57))
        forging = EdDSAKeyPair.from_secret(rng.random_bytes(57))
        typed_h = encode_typed_key(long_term.public, KeyType.ED448_PUBKEY)
        typed_f = encode_typed_key(forging.public, KeyType.ED448_FORGING_KEY)
        fp = fingerprint(long_term.public, forging.public)
        fingerprints[party] = fp
        cases.append(TestCase(
            comment=f"{party}'s fingerprint from H and F", result="valid",
            inputs={"symH": long_term.sym_key, "symF": forging.sym_key},
            intermediates={
                "h": long_term.public.encode(), "f": forging.public.encode(),
                "typedH": typed_h, "typedF": typed_f,
                "untypedReading": hwc(UsageID.FINGERPRINT, long_term.public.encode()
                                      + forging.public.encode(), 56),
            },
            outputs={"fingerprint": fp, "display": format_fingerprint(fp)},
        ))
    ssid = rng.random_bytes(8)
    x = smp_secret(fingerprints["alice"], fingerprints["bob"], ssid, SMP_ANSWER)
    if smp_secret(fingerprints["alice"], fingerprints["bob"], ssid, SMP_ANSWER) != x:
        raise RuntimeError("the SMP secret is not deterministic")
    smp = [TestCase(
        comment="Alice initiates SMP with Bob: x (Alice) = y (Bob) for the same answer",
        result="valid",
        inputs={"initiatorFingerprint": fingerprints["alice"],
                "responderFingerprint": fingerprints["bob"], "ssid": ssid,
                "answer": SMP_ANSWER},
        intermediates={"hashed": hwc(UsageID.SMP_SECRET, b"\x01" + fingerprints["alice"]
                                     + fingerprints["bob"] + ssid
                                     + len(SMP_ANSWER.encode()).to_bytes(4, "big")
                                     + SMP_ANSWER.encode(), 57)},
        outputs={"secret": x.to_bytes(57, "little")},
    )]
    return VectorFile(
        algorithm="OTRv4 fingerprints from keys (decision 13) and the SMP secret (decision 18)",
        header=[
            "symH, symF: 57-byte RFC 8032 Ed448 private keys; h = H, f = F: their public keys "
            "(57-byte POINTs).",
            "typedH = 00 10 || h (ED448-PUBKEY), typedF = 00 12 || f (ED448-FORGING-KEY).",
            "fingerprint = SHAKE-256(\"OTRv4\" || 0x00 || typedH || typedF, 56); display: 112 "
            "upper-case hex digits in groups of 8.",
            "untypedReading = SHAKE-256(\"OTRv4\" || 0x00 || h || f, 56): the other reading, "
            "NOT used.",
            "SMP: hashed = SHAKE-256(\"OTRv4\" || 0x19 || 0x01 || initiatorFingerprint || "
            "responderFingerprint || ssid || DATA(UTF-8 answer), 57); secret = prune(hashed), "
            "57 bytes little-endian.",
        ],
        groups=[
            TestGroup("Fingerprint", cases, comment="each party's fingerprint from its keys"),
            TestGroup("SmpSecret", smp, comment="the fingerprints as SMP binds them"),
        ],
    )


VECTOR_FILES: dict[str, Callable[[], VectorFile]] = {"fingerprint": fingerprint_vectors}
