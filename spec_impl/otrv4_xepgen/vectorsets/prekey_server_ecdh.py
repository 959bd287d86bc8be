"""Vectors for the prekey server's ``ECDH(a, B)`` (``examples/vectors/prekey-server-ecdh.json``).

Decision 105: ``SK_ecdh = POINT(a * B)`` (otrv4.md), not the
``B = B * cofactor; SK_ecdh = a * B`` of otrv4-prekey-server.md §Generating
Shared Secrets.  Each case lists both values and the ``SK`` each gives, from
the publisher's and the server's ``generateECDH()`` draws, so that an
implementation can see which reading it follows.
"""

from __future__ import annotations

from collections.abc import Callable

from otrv4.primitives.ecdh import ecdh, generate_ecdh
from otrv4.primitives.kdf import PrekeyUsageID, prekey_server_kdf
from otrv4.primitives.rng import DeterministicRng, RecordingRng
from otrv4_prekey.dake import shared_secret

from ..vectors import TestCase, TestGroup, VectorFile

__all__ = ["VECTOR_FILES", "ecdh_vectors"]

COFACTOR = 4


def ecdh_vectors() -> VectorFile:
    """``prekey-server-ecdh``: SK_ecdh without and with the cofactor, and the SK of each."""
    rng = DeterministicRng("prekey-server-ecdh")
    tests = []
    for n in range(3):
        rec = RecordingRng(rng)
        publisher, server = generate_ecdh(rec), generate_ecdh(rec)
        ours = ecdh(publisher.secret, server.public)
        if ecdh(server.secret, publisher.public) != ours:
            raise RuntimeError("ECDH is not symmetric")
        with_cofactor = ecdh(publisher.secret, server.public * COFACTOR)
        sk = shared_secret(publisher.secret, server.public)
        if sk != prekey_server_kdf(PrekeyUsageID.SK, ours, 64):
            raise RuntimeError("SK is not KDF(usage_SK, SK_ecdh, 64)")
        tests.append(TestCase(
            comment=f"publisher key i and server key s, pair {n + 1}", result="valid",
            random_draws=[d.value for d in rec.draws],
            inputs={"publisherR": publisher.seed, "serverR": server.seed},
            intermediates={
                "publisherSecret": publisher.secret.to_bytes(57, "little"),
                "publisherPublic": publisher.public.encode(),
                "serverSecret": server.secret.to_bytes(57, "little"),
                "serverPublic": server.public.encode(),
            },
            outputs={
                "skEcdh": ours, "sk": sk,
                "skEcdhWithCofactor": with_cofactor,
                "skWithCofactor": prekey_server_kdf(PrekeyUsageID.SK, with_cofactor, 64),
            },
        ))
    return VectorFile(
        algorithm="OTRv4 prekey server: ECDH(a, B) without the cofactor (decision 105)",
        header=[
            "generateECDH(): secret = LE(prune(SHAKE-256(r, 114)[:57])), not reduced mod q; "
            "public = POINT(G * secret).",
            "skEcdh = POINT(publisherSecret * serverPublic) = POINT(serverSecret * "
            "publisherPublic): the value this implementation uses (decision 105).",
            "skEcdhWithCofactor = POINT(publisherSecret * (4 * serverPublic)): the literal "
            "reading of otrv4-prekey-server.md §Generating Shared Secrets, NOT used.",
            "sk = SHAKE-256(\"OTR-Prekey-Server\" || 0x01 || skEcdh, 64) (usage_SK); "
            "skWithCofactor is the same KDF of skEcdhWithCofactor.",
            "Secrets are 57 bytes, little-endian.",
        ],
        groups=[TestGroup("PrekeyServerEcdh", tests,
                          comment="both readings of ECDH(a, B), from the listed draws")],
    )


VECTOR_FILES: dict[str, Callable[[], VectorFile]] = {"prekey-server-ecdh": ecdh_vectors}
