"""The 3072-bit DH group (otrv4.md §3072-bit Diffie-Hellman Parameters, §Generating … DH keys)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otrv4.decisions import DECISIONS
from otrv4.encoding import NonMinimalMPIError, TrailingDataError, TruncatedError, encode_mpi
from otrv4.errors import OTRError, ValidationError, all_error_classes
from otrv4.primitives import dh3072
from otrv4.primitives.dh3072 import (
    DH_SECRET_BYTES,
    K_DH_BYTES,
    DHValueNotInSubgroupError,
    DHValueOutOfRangeError,
    G,
    P,
    Q,
    available_backends,
    decode_dh_public,
    dh_shared_secret,
    encode_dh_public,
    generate_dh,
    generator_power,
    get_backend,
    is_in_subgroup,
    is_in_subgroup_by_exponentiation,
    jacobi_symbol,
    k_dh_bytes,
    set_backend,
    validate_dh_public,
)
from otrv4.primitives.kdf import UsageID, kdf
from otrv4.primitives.rng import DeterministicRng, RecordingRng, ReplayRng

from ...helpers.vectors import Case, error_class, vector_cases

Vectors = list[Case]



def _vid(value: object) -> str | None:
    """Readable test ids for the huge integers near p, q and powers of two."""
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) < 2**64:
        return None
    for name, base in (("p", P), ("q", Q), ("2p", 2 * P), ("2^3071", 2**3071),
                       ("2^3072", 2**3072)):
        if abs(value - base) < 2**16:
            return name if value == base else f"{name}{value - base:+d}"
    return f"{value.bit_length()}-bit"




@pytest.fixture(params=available_backends())
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test once per exponentiation backend (gmpy2 when importable, and pow)."""
    previous = set_backend(request.param)
    try:
        yield request.param
    finally:
        set_backend(previous)


def test_pow_backend_is_always_available() -> None:
    assert "pow" in available_backends()


def test_set_backend_returns_previous_and_rejects_unknown() -> None:
    before = get_backend()
    assert set_backend("pow") == before
    try:
        assert get_backend() == "pow"
        with pytest.raises(ValueError):
            set_backend("openssl")  # type: ignore[arg-type]
        assert get_backend() == "pow"
    finally:
        set_backend(before)


# -- the group ----------------------------------------------------------------------------------


def test_prime_is_rfc3526() -> None:
    gmp = pytest.importorskip("gmpy2")
    # dh_p = 2^3072 - 2^3008 - 1 + 2^64 * (floor(2^2942 * pi) + 1690314)  (RFC 3526 §4)
    with gmp.context(precision=3300):
        floor_pi = int(gmp.floor(gmp.const_pi() * gmp.mpz(2) ** 2942))
    assert 2**3072 - 2**3008 - 1 + 2**64 * (floor_pi + 1690314) == P
    assert gmp.is_prime(P, 25) and gmp.is_prime(Q, 25)


def test_group_parameters() -> None:
    assert P.bit_length() == 3072 and (P.bit_length() + 7) // 8 == K_DH_BYTES
    assert Q == (P - 1) // 2 and G == 2
    assert hex(P).startswith("0xffffffffffffffffc90fdaa2") and hex(P).endswith("ffffffffffffffff")
    assert P % 8 == 7  # so 2 is a quadratic residue: the generator lies in the order-q subgroup
    assert pow(G, Q, P) == 1


# -- Jacobi symbol vs the specification's exponentiation ----------------------------------------


def _small_primes(limit: int) -> list[int]:
    return [n for n in range(3, limit) if all(n % d for d in range(2, int(n**0.5) + 1))]


def _jacobi_by_factoring(a: int, n: int) -> int:
    result = 1
    for p in _small_primes(n + 1):
        while n % p == 0:
            n //= p
            euler = pow(a % p, (p - 1) // 2, p)
            result *= 0 if a % p == 0 else (1 if euler == 1 else -1)
    return result


@pytest.mark.parametrize("n", range(1, 120, 2))
def test_jacobi_symbol_small_moduli(n: int) -> None:
    for a in range(-3, 2 * n + 3):
        assert jacobi_symbol(a, n) == _jacobi_by_factoring(a, n), (a, n)


@pytest.mark.parametrize("n", [0, -3, 2, 10, P + 1], ids=_vid)
def test_jacobi_symbol_needs_a_positive_odd_modulus(n: int) -> None:
    with pytest.raises(ValueError):
        jacobi_symbol(5, n)


EDGE_VALUES = [0, 1, 2, 3, 4, 5, 7, P - 1, P - 2, P - 3, P - 4, Q, Q + 1, Q - 1, 2**3071,
               2**3072 - 1, P, P + 1, P + 2, 2 * P - 1, -1, -2, 3 * 3, pow(3, 2, P)]


def _euler(x: int) -> int:
    """``x ^ Q mod P`` with GMP when available (the slow pow path is tested separately)."""
    try:
        import gmpy2
    except ImportError:  # pragma: no cover
        return pow(x % P, Q, P)
    return int(gmpy2.powmod(x % P, Q, P))


def _each_backend() -> Iterator[str]:
    for name in available_backends():
        previous = set_backend(name)
        try:
            yield name
        finally:
            set_backend(previous)


@pytest.mark.parametrize("x", EDGE_VALUES, ids=_vid)
def test_legendre_equals_exponentiation_on_edge_values(x: int) -> None:
    by_exp = _euler(x)
    assert jacobi_symbol(x, P) == {1: 1, P - 1: -1, 0: 0}[by_exp]
    assert is_in_subgroup_by_exponentiation(x) == (by_exp == 1)
    for _ in _each_backend():
        assert is_in_subgroup(x) == (by_exp == 1)


@pytest.mark.parametrize(("x", "expected"), [(2, True), (4, True), (P - 2, False), (0, False)],
                         ids=_vid)
def test_exponentiation_check_on_every_backend(x: int, expected: bool, backend: str) -> None:
    assert is_in_subgroup_by_exponentiation(x) is expected
    assert is_in_subgroup(x) is expected


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=0, max_value=2 * P))
def test_legendre_equals_exponentiation_on_random_values(x: int) -> None:
    expected = _euler(x) == 1
    assert (jacobi_symbol(x, P) == 1) == expected
    assert is_in_subgroup_by_exponentiation(x) == expected
    for _ in _each_backend():
        assert is_in_subgroup(x) == expected


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=P - 1))
def test_squares_are_in_the_subgroup_and_their_negations_are_not(x: int) -> None:
    square = x * x % P
    assert is_in_subgroup(square)
    assert not is_in_subgroup(P - square)  # -1 is a non-residue since p = 3 mod 4


# -- generateDH, DH, k_dh -----------------------------------------------------------------------


def test_generate_dh_reads_80_bytes_big_endian(backend: str) -> None:
    draw = bytes(range(1, 81))
    rec = RecordingRng(ReplayRng([draw]))
    pair = generate_dh(rec)
    assert [d.value for d in rec.draws] == [draw]
    assert DH_SECRET_BYTES == 80
    assert pair.secret == int.from_bytes(draw, "big")
    assert pair.public == pow(2, pair.secret, P)
    assert "secret" not in repr(pair) and str(pair.secret) not in repr(pair)


@pytest.mark.parametrize("exponent", [0, 1, 2, 255, 256, 2**639, 2**640 - 1,
                                      int.from_bytes(bytes(range(80)), "big")])
def test_fixed_base_comb_equals_exponentiation(backend: str, exponent: int) -> None:
    assert generator_power(exponent) == pow(2, exponent, P)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=0, max_value=2**640 - 1))
def test_fixed_base_comb_on_random_exponents(exponent: int) -> None:
    assert generator_power(exponent) == dh3072.modexp(2, exponent, P)


@pytest.mark.parametrize("exponent", [-1, 2**640])
def test_fixed_base_comb_rejects_out_of_range_exponents(exponent: int) -> None:
    with pytest.raises(ValueError):
        generator_power(exponent)


def test_generated_public_values_validate() -> None:
    rng = DeterministicRng("test generate_dh")
    for _ in range(3):
        validate_dh_public(generate_dh(rng).public)


def test_backends_agree_on_keys_and_secrets() -> None:
    results = []
    for name in available_backends():
        previous = set_backend(name)
        try:
            rng = DeterministicRng("test backends agree")
            a, b = generate_dh(rng), generate_dh(rng)
            results.append((a, b, dh_shared_secret(a.secret, b.public)))
        finally:
            set_backend(previous)
    assert all(r == results[0] for r in results)


def test_shared_secret_is_symmetric(backend: str) -> None:
    rng = DeterministicRng("test shared secret")
    alice, bob = generate_dh(rng), generate_dh(rng)
    k = dh_shared_secret(alice.secret, bob.public)
    assert k == dh_shared_secret(bob.secret, alice.public)
    assert k == pow(bob.public, alice.secret, P)
    assert is_in_subgroup(k)


@pytest.mark.parametrize(("peer", "error"), [
    (0, DHValueOutOfRangeError), (1, DHValueOutOfRangeError), (P - 1, DHValueOutOfRangeError),
    (P, DHValueOutOfRangeError), (P - 2, DHValueNotInSubgroupError),
], ids=_vid)
def test_shared_secret_rejects_bad_peer_values(peer: int, error: type[OTRError],
                                               backend: str) -> None:
    with pytest.raises(error):
        dh_shared_secret(12345, peer)


@pytest.mark.parametrize("secret", [0, -1])
def test_shared_secret_needs_a_positive_secret(secret: int) -> None:
    with pytest.raises(ValueError):
        dh_shared_secret(secret, 4)


@pytest.mark.parametrize(("x", "error"), [
    (-5, DHValueOutOfRangeError), (0, DHValueOutOfRangeError), (1, DHValueOutOfRangeError),
    (P - 1, DHValueOutOfRangeError), (P, DHValueOutOfRangeError),
    (P + 1, DHValueOutOfRangeError), (P + 4, DHValueOutOfRangeError),
    (P - 2, DHValueNotInSubgroupError), (P - 4, DHValueNotInSubgroupError),
    (2, None), (4, None), (P - 3, "computed"),
], ids=_vid)
def test_validate_dh_public(x: int, error: type[OTRError] | str | None, backend: str) -> None:
    if error == "computed":
        error = None if pow(x, Q, P) == 1 else DHValueNotInSubgroupError
    if error is None:
        validate_dh_public(x)
    else:
        assert isinstance(error, type)
        with pytest.raises(error) as info:
            validate_dh_public(x)
        assert type(info.value) is error


def test_error_classes_are_distinct_validation_errors() -> None:
    assert issubclass(DHValueOutOfRangeError, ValidationError)
    assert issubclass(DHValueNotInSubgroupError, ValidationError)
    assert not issubclass(DHValueOutOfRangeError, DHValueNotInSubgroupError)
    assert not issubclass(DHValueNotInSubgroupError, DHValueOutOfRangeError)
    assert {DHValueOutOfRangeError, DHValueNotInSubgroupError} <= set(all_error_classes())


def test_k_dh_is_384_bytes_left_padded() -> None:
    assert k_dh_bytes(1) == bytes(383) + b"\x01"
    assert k_dh_bytes(0x1234) == bytes(382) + b"\x12\x34"
    assert k_dh_bytes(P - 1) == (P - 1).to_bytes(384, "big")
    with pytest.raises(ValueError):
        k_dh_bytes(P)
    with pytest.raises(ValueError):
        k_dh_bytes(-1)


def test_decision_9_is_registered() -> None:
    decision = DECISIONS[9]
    assert decision.vector == "dh3072"
    assert "384" in decision.decision and "libotr-ng" in decision.others


# -- wire form ----------------------------------------------------------------------------------


def test_dh_public_round_trips_as_mpi() -> None:
    pair = generate_dh(DeterministicRng("test mpi"))
    wire = encode_dh_public(pair.public)
    assert wire == encode_mpi(pair.public)
    assert int.from_bytes(wire[:4], "big") == len(wire) - 4 <= 384
    assert decode_dh_public(wire) == pair.public


@pytest.mark.parametrize(("data", "error"), [
    (b"", TruncatedError),
    (b"\x00\x00\x01", TruncatedError),
    (b"\x00\x00\x01\x80" + bytes(10), TruncatedError),
    (b"\x00\x00\x00\x02\x00\x02", NonMinimalMPIError),
    (encode_mpi(4) + b"\x00", TrailingDataError),
    (encode_mpi(0), DHValueOutOfRangeError),
    (encode_mpi(P), DHValueOutOfRangeError),
    (encode_mpi(P - 2), DHValueNotInSubgroupError),
])
def test_decode_dh_public_errors(data: bytes, error: type[OTRError]) -> None:
    with pytest.raises(error) as info:
        decode_dh_public(data)
    assert type(info.value) is error


@pytest.mark.parametrize("value", [0, 1, P - 1, -3], ids=_vid)
def test_encode_dh_public_refuses_values_we_would_reject(value: int) -> None:
    with pytest.raises(ValueError):
        encode_dh_public(value)


# -- vectors ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vectors() -> Vectors:
    return vector_cases("dh3072")


def test_vectors_reproduce(vectors: Vectors, backend: str) -> None:
    types = set()
    leading_zero = 0
    for group, test in vectors:
        types.add(group["type"])
        inputs, outputs = test["inputs"], test["outputs"]
        if group["type"] == "GenerateDH":
            draws = [bytes.fromhex(d) for d in test["randomDraws"]]
            pair = generate_dh(ReplayRng(draws))
            assert encode_dh_public(pair.public).hex() == outputs["public"]
            assert pair.secret.to_bytes(80, "big").hex() == test["intermediates"]["secret"]
        elif group["type"] == "SharedSecret":
            secret = int.from_bytes(bytes.fromhex(inputs["aliceSecret"]), "big")
            peer = decode_dh_public(bytes.fromhex(inputs["bobPublic"]))
            serialized = k_dh_bytes(dh_shared_secret(secret, peer))
            assert serialized.hex() == outputs["kDh"]
            assert kdf(UsageID.THIRD_BRACE_KEY, serialized, 32).hex() == outputs["braceKey"]
            draws = [bytes.fromhex(d) for d in test["randomDraws"]]
            replay = ReplayRng(draws)
            alice, bob = generate_dh(replay), generate_dh(replay)
            assert alice.secret == secret and bob.public == peer
            if "KdhLeadingZero" in test["flags"]:
                assert serialized[0] == 0
                leading_zero += 1
        else:
            assert group["type"] == "PublicValueValidation"
            data = bytes.fromhex(inputs["mpi"])
            if test["result"] == "valid":
                decode_dh_public(data)
            else:
                error = error_class(test["expectedError"])
                with pytest.raises(error) as info:
                    decode_dh_public(data)
                assert type(info.value) is error
    assert types == {"GenerateDH", "SharedSecret", "PublicValueValidation"}
    assert leading_zero == 1


def test_vectors_have_every_negative_the_brief_lists(vectors: Vectors) -> None:
    rejected = {
        int.from_bytes(bytes.fromhex(t["inputs"]["mpi"])[4:], "big"): t["expectedError"]
        for g, t in vectors
        if g["type"] == "PublicValueValidation" and t["result"] == "invalid"
        and "MalformedMpi" not in t["flags"]
    }
    assert rejected[0] == rejected[1] == rejected[P - 1] == rejected[P] == "DHValueOutOfRangeError"
    assert list(rejected.values()).count("DHValueNotInSubgroupError") >= 1


def test_module_exports() -> None:
    assert set(dh3072.__all__) <= set(dir(dh3072))


def test_without_gmpy2_only_pow_is_offered(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dh3072, "_gmpy2", None)
    monkeypatch.setattr(dh3072, "_HAVE_GMPY2", False)
    monkeypatch.setattr(dh3072, "_backend", "pow")
    assert available_backends() == ("pow",)
    with pytest.raises(ValueError):
        set_backend("gmpy2")
    rng = DeterministicRng("test without gmpy2")
    alice, bob = generate_dh(rng), generate_dh(rng)
    assert dh_shared_secret(alice.secret, bob.public) == pow(bob.public, alice.secret, P)
    validate_dh_public(alice.public)
    with pytest.raises(DHValueNotInSubgroupError):
        validate_dh_public(P - 2)


# -- issue 15: the constant-time paths ---------------------------------------------------------


@pytest.mark.parametrize("exponent", [1, 2, 255, 256, 2**639, 2**640 - 1,
                                      int.from_bytes(bytes(range(80)), "big")])
def test_constant_time_generator_path_equals_the_comb(exponent: int) -> None:
    assert dh3072.generator_power_constant_time(exponent) == generator_power(exponent)
    if dh3072.openssl_available():
        previous = dh3072.set_openssl(False)  # gmpy2.powmod_sec (or pow)
        try:
            assert dh3072.generator_power_constant_time(exponent) == pow(2, exponent, P)
        finally:
            dh3072.set_openssl(previous)


@pytest.mark.parametrize("exponent", [0, -1, 2**640])
def test_constant_time_generator_path_rejects_bad_exponents(exponent: int) -> None:
    with pytest.raises(ValueError):
        dh3072.generator_power_constant_time(exponent)


def test_generate_dh_is_the_same_on_both_generator_paths() -> None:
    comb = generate_dh(DeterministicRng("generator paths"))
    previous = dh3072.set_generator_path("constant-time")
    try:
        assert previous == "comb"
        assert generate_dh(DeterministicRng("generator paths")) == comb
    finally:
        dh3072.set_generator_path(previous)
    with pytest.raises(ValueError):
        dh3072.set_generator_path("fast")  # type: ignore[arg-type]


@settings(max_examples=10, deadline=None)
@given(st.integers(min_value=1, max_value=2**640 - 1), st.integers(min_value=1, max_value=2**64))
def test_secret_power_on_every_engine(exponent: int, base_exponent: int) -> None:
    base = pow(2, base_exponent, P)
    expected = pow(base, exponent, P)
    assert dh3072.secret_power(base, exponent) == expected
    engines = [True, False] if dh3072.openssl_available() else [False]
    for enabled in engines:
        previous = dh3072.set_openssl(enabled)
        try:
            assert dh3072.secret_power(base, exponent) == expected
            assert dh_shared_secret(exponent, base) == expected
        finally:
            dh3072.set_openssl(previous)


def test_openssl_cannot_be_enabled_where_it_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dh3072, "_openssl", None)
    with pytest.raises(ValueError):
        dh3072.set_openssl(True)
