"""The levels an adapter claims, and the vector operations of each.

An operation over vectors is named ``<file>.<group type>`` after the vector
file (``examples/vectors/<file>.json``) and the ``type`` of its test group:
its arguments are the test's ``inputs`` (plus ``randomDraws`` when the test
drew any), its result must hold every entry of the test's ``outputs``, and a
test whose ``result`` is ``invalid`` must be answered with the error class
named by ``expectedError``.

Level 1 is deliberately only primitives and encodings, so that a newcomer's
adapter can claim it in a few hundred lines; the profile checks, which a DAKE
cannot run without, open level 2.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["LEVELS", "Level", "level_of_op"]


@dataclass(frozen=True)
class Level:
    """One level: its number, title, the vector operations it covers, and the names of
    the live checks of :mod:`otrv4_conformance.live` at that level (level 4 also reads
    every example stanza of ``examples/stanzas``, one check per file)."""

    number: int
    title: str
    vector_ops: tuple[str, ...]
    live: tuple[str, ...] = ()


LEVELS: tuple[Level, ...] = (
    Level(1, "primitives and encodings", (
        "kdf.Otrv4Kdf", "kdf.PrekeyServerKdf", "kdf.HashToScalar",
        "ed448-points.Ed448BaseMultiplication", "ed448-points.Ed448PointValidation",
        "dh3072.PublicValueValidation",
        "eddsa-ed448.EddsaVerify",
        "ring-signature.RingVerify",
        "pubkey-encoding.TypedKeyEncoding", "pubkey-encoding.TypedKeyDecoding",
        "tlv.TlvEncoding",
    )),
    Level(2, "profiles and the DAKEs", (
        "client-profile.accepted", "client-profile.rejected",
        "prekey-profile.accepted", "prekey-profile.rejected",
    ), live=("interactive DAKE, adapter initiates", "interactive DAKE, reference initiates",
             "non-interactive DAKE, adapter publishes the prekeys",
             "non-interactive DAKE, reference publishes the prekeys")),
    Level(3, "conversations", (
        "chacha20.ChaCha20",
        "tlv.PlaintextEncoding", "tlv.PlaintextReceiving", "tlv.StrictDecoding",
        "data-message.DataMessageDecoding", "data-message.DataMessageAuthenticator",
        "fragment.FragmentParsing", "fragment.Reassembly", "fragment.ReassemblyFailure",
    ), live=("DAKE for the conversations",
             "conversation with a direction change and a DH step",
             "messages delivered out of order", "SMP with equal secrets",
             "SMP with different secrets")),
    Level(4, "the XMPP binding and the prekey server", (), live=(
        "build <otr/> carriage", "build a device list",
        "prekey publication by the adapter, retrieval by the reference",
        "prekey publication by the reference, retrieval by the adapter")),
)
"""Every level, in order."""


def level_of_op(op: str) -> int:
    """The level whose vector operations include ``op``.  Raises :class:`KeyError`."""
    for level in LEVELS:
        if op in level.vector_ops:
            return level.number
    raise KeyError(op)
