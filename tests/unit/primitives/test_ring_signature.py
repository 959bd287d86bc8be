"""The ring signature RSig/RVrf (otrv4.md §Appendices/Ring Signature Authentication)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from Crypto.Hash import SHAKE256

from otrv4.decisions import DECISIONS
from otrv4.errors import DecodeError, ValidationError, all_error_classes
from otrv4.primitives import ed448
from otrv4.primitives.ed448 import (
    IDENTITY,
    IdentityPointError,
    NonCanonicalScalarError,
    Point,
    Q,
    base_mul,
    encode_scalar,
    random_scalar,
)
from otrv4.primitives.kdf import KdfDomain, PrekeyUsageID, UsageID
from otrv4.primitives.ring_signature import (
    OTRV4_AUTH,
    PREKEY_SERVER_AUTH,
    RING_SIGNATURE_BYTES,
    InvalidRingSignatureError,
    RingSignature,
    RingSignatureLengthError,
    SignerNotInRingError,
    challenge,
    ring_sign,
    ring_verify,
)
from otrv4.primitives.rng import DeterministicRng, RecordingRng, ReplayRng

from ...conftest import ED448_BACKENDS, ed448_backend_in_use
from ...helpers.vectors import Case, error_class, vector_cases

Vectors = list[Case]
Ring = tuple[Point, Point, Point]

# The Ed448 group order and base point encoding, restated from otrv4.md / RFC 8032.
Q_SPEC = 2**446 - 13818066809895115352007386748515426880336692474882178609894547503885
G_ENCODED = bytes.fromhex(
    "14fa30f25b790898adc8d74e2c13bdfdc4397ce61cffd33ad7c2a0051e9c78874098a36c7373ea4b"
    "62c7c9563720768824bcb66e71463f6900"
)
MESSAGE = b"the message m"


@pytest.fixture(scope="module", autouse=True, params=ED448_BACKENDS)
def ed448_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Every test of this module runs on each Ed448 backend (libdecaf, fast, reference)."""
    with ed448_backend_in_use(request.param) as name:
        yield name


@pytest.fixture(scope="module")
def keys() -> tuple[list[int], Ring, Point]:
    rng = DeterministicRng("test ring signature keys")
    secrets = [random_scalar(rng) for _ in range(4)]
    points = [base_mul(a) for a in secrets]
    return secrets, (points[0], points[1], points[2]), points[3]


@pytest.fixture(scope="module")
def signatures(keys: tuple[list[int], Ring, Point]) -> list[RingSignature]:
    secrets, ring, _ = keys
    rng = DeterministicRng("test ring signatures")
    return [ring_sign(secrets[i], ring, MESSAGE, rng) for i in range(3)]


def _pruned(draw: bytes) -> int:
    h = bytearray(SHAKE256.new(draw).read(57))
    h[0] &= 0xFC
    h[56] = 0
    h[55] |= 0x80
    return int.from_bytes(h, "little")


def test_constants() -> None:
    assert ed448.G.encode() == G_ENCODED
    assert Q == Q_SPEC
    assert RING_SIGNATURE_BYTES == 342


@pytest.mark.parametrize("signer", [0, 1, 2])
def test_signer_in_any_position_verifies(keys: tuple[list[int], Ring, Point],
                                         signatures: list[RingSignature], signer: int) -> None:
    _, ring, _ = keys
    ring_verify(ring, signatures[signer], MESSAGE)
    decoded = RingSignature.decode(signatures[signer].encode())
    assert decoded == signatures[signer]
    ring_verify(ring, decoded, MESSAGE)


@pytest.mark.parametrize("signer", [1])
def test_rsig_follows_the_spec_step_by_step(keys: tuple[list[int], Ring, Point],
                                            signer: int) -> None:
    """An independent transcription of the appendix (signer A2) gives the same bytes."""
    secrets, ring, _ = keys
    rec = RecordingRng(DeterministicRng("test ring spec steps"))
    sigma = ring_sign(secrets[signer], ring, MESSAGE, rec)
    draws = [d.value for d in rec.draws]
    assert [len(d) for d in draws] == [57] * 5
    # Draw order for the signer at position 2: t2, c1, c3, r1, r3.
    t2, c1, c3, r1, r3 = (_pruned(d) for d in draws)
    a1, a2, a3 = ring
    big_t2 = base_mul(t2)
    big_t1 = base_mul(r1) + a1 * c1
    big_t3 = base_mul(r3) + a3 * c3
    hash_input = (b"OTRv4" + bytes([0x1A]) + G_ENCODED + Q_SPEC.to_bytes(57, "little")
                  + a1.encode() + a2.encode() + a3.encode()
                  + big_t1.encode() + big_t2.encode() + big_t3.encode() + MESSAGE)
    c = int.from_bytes(SHAKE256.new(hash_input).read(57), "little") % Q_SPEC
    c2 = (c - c1 - c3) % Q_SPEC
    r2 = (t2 - c2 * secrets[signer]) % Q_SPEC
    expected = b"".join(
        (v % Q_SPEC).to_bytes(57, "little") for v in (c1, r1, c2, r2, c3, r3)
    )
    assert sigma.encode() == expected
    assert challenge(ring, (big_t1, big_t2, big_t3), MESSAGE) == c
    # Replaying the same draws gives the same signature.
    assert ring_sign(secrets[signer], ring, MESSAGE, ReplayRng(draws)) == sigma


@pytest.mark.parametrize("signer", [0, 1, 2])
@pytest.mark.parametrize("index", range(6), ids=["c1", "r1", "c2", "r2", "c3", "r3"])
def test_changing_any_scalar_fails(keys: tuple[list[int], Ring, Point],
                                   signatures: list[RingSignature], signer: int,
                                   index: int) -> None:
    _, ring, _ = keys
    values = list(signatures[signer].scalars())
    values[index] = (values[index] + 1) % Q
    with pytest.raises(InvalidRingSignatureError) as info:
        ring_verify(ring, RingSignature(*values), MESSAGE)
    assert type(info.value) is InvalidRingSignatureError


@pytest.mark.parametrize("signer", [0, 1, 2])
def test_changing_the_message_fails(keys: tuple[list[int], Ring, Point],
                                    signatures: list[RingSignature], signer: int) -> None:
    _, ring, _ = keys
    for other in (MESSAGE + b"!", MESSAGE[:-1], b"", b"The message m"):
        with pytest.raises(InvalidRingSignatureError):
            ring_verify(ring, signatures[signer], other)


@pytest.mark.parametrize("signer", [0, 1, 2])
@pytest.mark.parametrize("position", [0, 1, 2])
def test_changing_any_ring_key_fails(keys: tuple[list[int], Ring, Point],
                                     signatures: list[RingSignature], signer: int,
                                     position: int) -> None:
    _, ring, outsider = keys
    changed = list(ring)
    changed[position] = outsider
    with pytest.raises(InvalidRingSignatureError):
        ring_verify((changed[0], changed[1], changed[2]), signatures[signer], MESSAGE)


def test_reordering_the_ring_fails(keys: tuple[list[int], Ring, Point],
                                   signatures: list[RingSignature]) -> None:
    _, (a1, a2, a3), _ = keys
    with pytest.raises(InvalidRingSignatureError):
        ring_verify((a2, a1, a3), signatures[0], MESSAGE)


def test_prekey_server_domain(keys: tuple[list[int], Ring, Point]) -> None:
    secrets, ring, _ = keys
    assert PREKEY_SERVER_AUTH.prefix is KdfDomain.PREKEY_SERVER
    assert PREKEY_SERVER_AUTH.usage_auth == int(PrekeyUsageID.AUTH) == 0x11
    assert OTRV4_AUTH.prefix is KdfDomain.OTRV4
    assert OTRV4_AUTH.usage_auth == int(UsageID.AUTH) == 0x1A
    sigma = ring_sign(secrets[2], ring, MESSAGE, DeterministicRng("test prekey rsig"),
                      PREKEY_SERVER_AUTH)
    ring_verify(ring, sigma, MESSAGE, PREKEY_SERVER_AUTH)
    with pytest.raises(InvalidRingSignatureError):
        ring_verify(ring, sigma, MESSAGE)
    with pytest.raises(InvalidRingSignatureError):
        ring_verify(ring, ring_sign(secrets[2], ring, MESSAGE, DeterministicRng("x")), MESSAGE,
                    PREKEY_SERVER_AUTH)


def test_secret_outside_the_ring_is_refused_without_drawing(
        keys: tuple[list[int], Ring, Point]) -> None:
    secrets, ring, _ = keys
    rec = RecordingRng(DeterministicRng("unused"))
    with pytest.raises(SignerNotInRingError):
        ring_sign(secrets[3], ring, MESSAGE, rec)
    assert rec.draws == []


def test_identity_ring_key_is_refused(keys: tuple[list[int], Ring, Point],
                                      signatures: list[RingSignature]) -> None:
    secrets, (a1, a2, _), _ = keys
    with pytest.raises(IdentityPointError):
        ring_verify((a1, a2, IDENTITY), signatures[0], MESSAGE)
    rec = RecordingRng(DeterministicRng("unused"))
    with pytest.raises(IdentityPointError):
        ring_sign(secrets[0], (a1, a2, IDENTITY), MESSAGE, rec)
    assert rec.draws == []


def test_secret_is_used_mod_q(keys: tuple[list[int], Ring, Point]) -> None:
    secrets, ring, _ = keys
    a = ring_sign(secrets[0], ring, MESSAGE, DeterministicRng("mod q"))
    b = ring_sign(secrets[0] + 5 * Q, ring, MESSAGE, DeterministicRng("mod q"))
    assert a == b


def test_signatures_are_randomized(keys: tuple[list[int], Ring, Point]) -> None:
    secrets, ring, _ = keys
    a = ring_sign(secrets[0], ring, MESSAGE, DeterministicRng("one"))
    b = ring_sign(secrets[0], ring, MESSAGE, DeterministicRng("two"))
    assert a != b


# -- encoding -----------------------------------------------------------------------------------


def test_encode_layout(signatures: list[RingSignature]) -> None:
    sigma = signatures[0]
    data = sigma.encode()
    assert len(data) == 342
    assert data == b"".join(encode_scalar(v) for v in (sigma.c1, sigma.r1, sigma.c2, sigma.r2,
                                                       sigma.c3, sigma.r3))
    assert data[57:114] == encode_scalar(sigma.r1)


@pytest.mark.parametrize("length", [0, 1, 57, 341, 343, 684])
def test_decode_wrong_length(length: int) -> None:
    with pytest.raises(RingSignatureLengthError) as info:
        RingSignature.decode(bytes(length))
    assert type(info.value) is RingSignatureLengthError
    assert isinstance(info.value, DecodeError)


def test_decode_reduces_unreduced_scalars_unless_strict(keys: tuple[list[int], Ring, Point],
                                                        signatures: list[RingSignature]) -> None:
    _, ring, _ = keys
    sigma = signatures[1]
    data = sigma.encode()
    unreduced = data[:114] + (sigma.c2 + Q).to_bytes(57, "little") + data[171:]
    decoded = RingSignature.decode(unreduced)
    assert decoded == sigma
    ring_verify(ring, decoded, MESSAGE)
    assert RingSignature.decode(data, strict=True) == sigma
    with pytest.raises(NonCanonicalScalarError):
        RingSignature.decode(unreduced, strict=True)


def test_error_classes() -> None:
    assert issubclass(InvalidRingSignatureError, ValidationError)
    assert issubclass(SignerNotInRingError, ValidationError)
    assert issubclass(RingSignatureLengthError, DecodeError)
    names = {c.__name__ for c in all_error_classes()}
    assert {"InvalidRingSignatureError", "RingSignatureLengthError",
            "SignerNotInRingError"} <= names


def test_decision_7_is_registered() -> None:
    decision = DECISIONS[7]
    assert decision.vector == "ring-signature"
    assert "57" in decision.decision and "little-endian" in decision.decision


def test_reference_backend_gives_the_same_signature(keys: tuple[list[int], Ring, Point]) -> None:
    secrets, ring, _ = keys
    fast = ring_sign(secrets[2], ring, MESSAGE, DeterministicRng("backends"))
    with ed448.using_backend("reference"):
        ref_ring = tuple(Point.decode(p.encode()) for p in ring)
        slow = ring_sign(secrets[2], (ref_ring[0], ref_ring[1], ref_ring[2]), MESSAGE,
                         DeterministicRng("backends"))
        ring_verify((ref_ring[0], ref_ring[1], ref_ring[2]), fast, MESSAGE)
    assert slow == fast


# -- vectors ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vectors() -> Vectors:
    return vector_cases("ring-signature")


def _domain(inputs: dict[str, Any]) -> Any:
    domain = PREKEY_SERVER_AUTH if inputs["prefix"] == "OTR-Prekey-Server" else OTRV4_AUTH
    assert domain.usage_auth == inputs["usageAuth"]
    return domain


def _ring(inputs: dict[str, Any]) -> Ring:
    a1, a2, a3 = (Point.decode(bytes.fromhex(inputs[k])) for k in ("A1", "A2", "A3"))
    return a1, a2, a3


def test_sign_vectors_reproduce(vectors: Vectors) -> None:
    positions = []
    for group, test in vectors:
        if group["type"] != "RingSign":
            continue
        inputs = test["inputs"]
        secret = ed448.decode_scalar(bytes.fromhex(inputs["secret"]))
        ring = _ring(inputs)
        assert ring[inputs["signerPosition"] - 1] == base_mul(secret)
        draws = [bytes.fromhex(d) for d in test["randomDraws"]]
        sigma = ring_sign(secret, ring, bytes.fromhex(inputs["message"]), ReplayRng(draws),
                          _domain(inputs))
        assert sigma.encode().hex() == test["outputs"]["sigma"]
        ring_verify(ring, sigma, bytes.fromhex(inputs["message"]), _domain(inputs))
        positions.append((inputs["signerPosition"], inputs["prefix"]))
    assert sorted(p for p, prefix in positions if prefix == "OTRv4") == [1, 2, 3]
    assert (2, "OTR-Prekey-Server") in positions


def test_verify_vectors_reproduce(vectors: Vectors) -> None:
    flags: set[str] = set()
    for group, test in vectors:
        if group["type"] != "RingVerify":
            continue
        inputs = test["inputs"]
        flags.update(test["flags"])

        def run(inputs: dict[str, Any] = inputs) -> None:
            ring_verify(_ring(inputs), RingSignature.decode(bytes.fromhex(inputs["sigma"])),
                        bytes.fromhex(inputs["message"]), _domain(inputs))

        if test["result"] == "valid":
            run()
        else:
            error = error_class(test["expectedError"])
            with pytest.raises(error) as info:
                run()
            assert type(info.value) is error, test["comment"]
    assert {"ModifiedScalar", "ModifiedMessage", "ModifiedRingKey", "BadLength"} <= flags


def test_verify_vectors_mutate_each_scalar_and_key(vectors: Vectors) -> None:
    comments = [t["comment"] for g, t in vectors if g["type"] == "RingVerify"
                and t["result"] == "invalid"]
    for name in ("c1", "r1", "c2", "r2", "c3", "r3"):
        assert f"{name} changed (+1 mod q)" in comments
    for n in (1, 2, 3):
        assert f"ring key A{n} replaced by another valid key" in comments


def test_a_signer_that_passes_its_public_key_gets_the_same_signature(
    keys: tuple[list[int], Ring, Point],
) -> None:
    """``public=G * a_i`` only saves the multiplication: same draws, same signature."""
    secrets, ring, _ = keys
    plain = ring_sign(secrets[1], ring, MESSAGE, DeterministicRng("public kwarg"))
    given = ring_sign(secrets[1], ring, MESSAGE, DeterministicRng("public kwarg"),
                      public=ring[1])
    assert given == plain
    ring_verify(ring, given, MESSAGE)
