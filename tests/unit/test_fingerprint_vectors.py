"""Decision 13 (the fingerprint hashes the typed keys) and decision 18 (the SMP secret).

Checks ``examples/vectors/fingerprint.json`` by an independent computation,
without the project's code: the public keys with ``cryptography``'s Ed448
(``H`` and ``F`` are RFC 8032 public keys of ``sym_h`` and ``sym_f``), the
fingerprint and the SMP secret with :func:`hashlib.shake_256`.  Then the
project's code must agree on both sides: the owner from its key pairs, the
peer from the keys it reads in the owner's Client Profile, and SMP from the
two fingerprints.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey

from otrv4.keys import ForgingKey, fingerprint, format_fingerprint
from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.profiles import ClientProfile
from otrv4.smp import smp_secret

from ..helpers.vectors import cases_of, unhex

FINGERPRINTS = cases_of("fingerprint", "Fingerprint")
SMP = cases_of("fingerprint", "SmpSecret")


def _public(sym_key: bytes) -> bytes:
    return Ed448PrivateKey.from_private_bytes(sym_key).public_key().public_bytes_raw()


@pytest.mark.parametrize("test", FINGERPRINTS, ids=[t["comment"][:5] for t in FINGERPRINTS])
def test_fingerprint_recomputed_independently(test: dict[str, Any]) -> None:
    h = _public(unhex(test["inputs"]["symH"]))
    f = _public(unhex(test["inputs"]["symF"]))
    assert (h.hex(), f.hex()) == (test["intermediates"]["h"], test["intermediates"]["f"])
    typed = b"\x00\x10" + h + b"\x00\x12" + f  # 59 bytes each, type code big-endian
    fp = hashlib.shake_256(b"OTRv4" + b"\x00" + typed).digest(56)
    assert fp.hex() == test["outputs"]["fingerprint"]
    assert len(test["outputs"]["display"].replace(" ", "")) == 112
    assert test["outputs"]["display"].replace(" ", "") == fp.hex().upper()
    untyped = hashlib.shake_256(b"OTRv4" + b"\x00" + h + f).digest(56)
    assert untyped.hex() == test["intermediates"]["untypedReading"] != fp.hex()


@pytest.mark.parametrize("test", FINGERPRINTS, ids=[t["comment"][:5] for t in FINGERPRINTS])
def test_owner_and_peer_display_the_same_fingerprint(test: dict[str, Any]) -> None:
    long_term = EdDSAKeyPair.from_secret(unhex(test["inputs"]["symH"]))
    forging = EdDSAKeyPair.from_secret(unhex(test["inputs"]["symF"]))
    own = fingerprint(long_term.public, forging.public)
    profile = ClientProfile.create(long_term, ForgingKey(forging.public), 0x100, 2**40)
    received = ClientProfile.decode(profile.encode())
    received.verify_signature()
    peer_view = fingerprint(received.public_key, received.forging_key)
    assert own == peer_view == unhex(test["outputs"]["fingerprint"])
    assert format_fingerprint(peer_view) == test["outputs"]["display"]


def test_smp_secret_binds_the_fingerprints() -> None:
    (test,) = SMP
    inputs = test["inputs"]
    alice, bob = (unhex(t["outputs"]["fingerprint"]) for t in FINGERPRINTS)
    assert (alice, bob) == (unhex(inputs["initiatorFingerprint"]),
                            unhex(inputs["responderFingerprint"]))
    answer = inputs["answer"].encode("utf-8")
    data = len(answer).to_bytes(4, "big") + answer  # DATA: length-prefixed (decision 18)
    hashed = bytearray(hashlib.shake_256(
        b"OTRv4" + b"\x19" + b"\x01" + alice + bob + unhex(inputs["ssid"]) + data).digest(57))
    assert hashed.hex() == test["intermediates"]["hashed"]
    hashed[0] &= 0xFC
    hashed[56] = 0
    hashed[55] |= 0x80
    assert hashed.hex() == test["outputs"]["secret"]
    x = smp_secret(alice, bob, unhex(inputs["ssid"]), inputs["answer"])
    assert x == int.from_bytes(hashed, "little")
    assert smp_secret(bob, alice, unhex(inputs["ssid"]), inputs["answer"]) != x
