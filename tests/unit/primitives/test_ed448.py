"""Tests of otrv4.primitives.ed448: points, encodings, validation and scalars.

Every test that takes ``ed448_backend`` runs on each backend (libdecaf, fast, reference).
"""

from __future__ import annotations

import copy
import hashlib
import pickle

import pytest
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import given, settings
from hypothesis import strategies as st

from otrv4.errors import DecodeError, ValidationError
from otrv4.primitives import ed448
from otrv4.primitives.ed448 import (
    COFACTOR,
    IDENTITY,
    POINT_BYTES,
    SCALAR_BYTES,
    D,
    G,
    IdentityPointError,
    InvalidPointError,
    NegativeZeroPointError,
    NonCanonicalPointError,
    NonCanonicalScalarError,
    P,
    Point,
    PointLengthError,
    PointNotInSubgroupError,
    PointNotOnCurveError,
    Q,
    ScalarLengthError,
    SmallOrderPointError,
    base_mul,
    decode_canonical_scalar,
    decode_scalar,
    encode_scalar,
    hash_and_prune,
    prune,
    random_scalar,
)
from otrv4.primitives.rng import DeterministicRng, RecordingRng

# RFC 8032 §5.2 / otrv4.md §Elliptic Curve Parameters, written out independently of the code.
G_ENCODED = bytes.fromhex(
    "14fa30f25b790898adc8d74e2c13bdfdc4397ce61cffd33ad7c2a0051e9c7887"
    "4098a36c7373ea4b62c7c9563720768824bcb66e71463f6900"
)
Q_HEX = "3fffffffffffffffffffffffffffffffffffffffffffffffffffffff7cca23e9c44edb49aed63690216cc2728dc58f552378c292ab5844f3"  # noqa: E501

TORSION = [(0, P - 1), (1, 0), (P - 1, 0)]  # the points of order 2 and 4


def affine_add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    """The textbook affine Edwards addition law: an oracle independent of both backends."""
    (x1, y1), (x2, y2) = a, b
    t = D * x1 * x2 * y1 * y2
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, -1, P) % P
    y3 = (y1 * y2 - x1 * x2) * pow(1 - t, -1, P) % P
    return x3, y3


def cryptography_public_key(secret: bytes) -> bytes:
    key = Ed448PrivateKey.from_private_bytes(secret).public_key()
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw)


def secret_scalar(secret: bytes) -> int:
    return int.from_bytes(prune(hashlib.shake_256(secret).digest(114)[:57]), "little")


# -- constants --------------------------------------------------------------------------------


def test_constants_are_those_of_the_spec() -> None:
    assert P == 2**448 - 2**224 - 1
    assert f"{Q:x}" == Q_HEX
    assert Q == 2**446 - 13818066809895115352007386748515426880336692474882178609894547503885
    assert (COFACTOR, D, POINT_BYTES, SCALAR_BYTES) == (4, -39081, 57, 57)
    assert G.x == int(
        "22458004029592430018760433409989603624678964163256413424612546168695"
        "0415467406032909029192869357953282578032075146446173674602635247710"
    )
    assert G.y == int(
        "29881921007848149267601793044393067343754404015408024209592824137233"
        "1506189835876003536878655418784733982303233503462500531545062832660"
    )
    assert (IDENTITY.x, IDENTITY.y) == (0, 1)


def test_base_point_encoding(ed448_backend: str) -> None:
    assert G.encode() == G_ENCODED
    assert bytes(G) == G_ENCODED
    assert Point.decode(G_ENCODED) == G
    assert IDENTITY.encode() == b"\x01" + bytes(56)


def test_group_order(ed448_backend: str) -> None:
    assert (G * Q).is_identity()
    assert G * (Q + 1) == G
    assert base_mul(Q).is_identity()
    for xy in TORSION:
        t = Point.from_affine(*xy)
        assert not t.is_identity()
        assert (t * 4).is_identity()
        assert not (t * Q).is_identity()


# -- arithmetic -------------------------------------------------------------------------------


def test_small_multiples_match_the_affine_addition_law(ed448_backend: str) -> None:
    expected = (G.x, G.y)
    for k in range(2, 6):
        expected = affine_add(expected, (G.x, G.y))
        point = G * k
        assert (point.x, point.y) == expected
        assert base_mul(k) == point
        assert k * G == point


def test_operators(ed448_backend: str) -> None:
    a, b = base_mul(1234567), base_mul(7654321)
    assert a + b == base_mul(1234567 + 7654321)
    assert a - b == base_mul(1234567 - 7654321)
    assert -a == base_mul(-1234567)
    assert a + IDENTITY == a
    assert a - a == IDENTITY
    assert (a - a).is_identity()
    assert (-a).x == P - a.x and (-a).y == a.y
    assert a * 0 == IDENTITY
    assert a * -3 == -(a * 3)
    assert a != b
    assert a != "not a point"


def test_multiplication_is_exact_outside_the_subgroup(ed448_backend: str) -> None:
    """k * X for X with a torsion component: k is reduced mod 4q, never mod q."""
    t = Point.from_affine(1, 0)  # order 4
    mixed = G + t
    assert mixed * Q == t * Q  # G * q vanishes, the torsion part does not
    assert not (mixed * Q).is_identity()
    assert mixed * (4 * Q + 3) == mixed * 3
    assert mixed * (Q + 1) != mixed
    assert (t * 2).encode() == (P - 1).to_bytes(57, "little")  # 2 * (1, 0) = (0, -1)


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=1, max_value=Q - 1), st.integers(min_value=1, max_value=Q - 1))
def test_addition_matches_the_affine_law(a: int, b: int) -> None:
    pa, pb = base_mul(a), base_mul(b)
    s = pa + pb
    assert (s.x, s.y) == affine_add((pa.x, pa.y), (pb.x, pb.y))


@settings(max_examples=30, deadline=None)
@given(st.integers(min_value=-(2**500), max_value=2**500))
def test_multiplication_laws(k: int) -> None:
    a = base_mul(k)
    assert a == G * k == k * G == G * (k % Q)
    assert a + G == base_mul(k + 1)
    assert base_mul(k) * 3 == base_mul(3 * k)


# -- values -----------------------------------------------------------------------------------


def test_points_are_immutable_hashable_values(ed448_backend: str) -> None:
    a = base_mul(99)
    with pytest.raises(AttributeError):
        a._affine = (0, 1)
    with pytest.raises(AttributeError):
        del a._reps
    with pytest.raises(TypeError):
        Point()
    b = Point.decode(a.encode())
    assert a == b and hash(a) == hash(b)
    assert len({a, b, G, base_mul(1)}) == 2
    assert repr(a) == f"Point.decode(bytes.fromhex('{a.encode().hex()}'))"


def test_points_copy_and_pickle(ed448_backend: str) -> None:
    a = base_mul(4242)
    t = Point.from_affine(1, 0)  # copies need not be in the subgroup
    assert copy.copy(a) is a and copy.deepcopy({"k": a})["k"] is a
    for point in (a, t, IDENTITY):
        clone = pickle.loads(pickle.dumps(point))
        assert clone == point and clone.encode() == point.encode()


def test_points_survive_a_backend_switch() -> None:
    with ed448.using_backend("fast"):
        a = base_mul(31337)
        assert ed448.get_backend() == "fast"
    with ed448.using_backend("reference"):
        assert ed448.get_backend() == "reference"
        b = base_mul(31337)
        assert a == b
        assert a + G == b + G
        assert hash(a) == hash(b)
        c = a * 5
    with ed448.using_backend("fast"):
        assert c == base_mul(5 * 31337)
    assert ed448.get_backend() == ed448.DEFAULT_BACKEND
    with pytest.raises(ValueError, match="unknown Ed448 backend 'sodium'"):
        ed448.set_backend("sodium")
    assert ed448.get_backend() == ed448.DEFAULT_BACKEND


def test_the_default_is_libdecaf_when_it_loads() -> None:
    """libdecaf is an optional accelerator: used when present, pycryptodome otherwise."""
    if "libdecaf" in ed448.BACKENDS:
        assert ed448.DEFAULT_BACKEND == "libdecaf"
    else:
        assert ed448.DEFAULT_BACKEND == "fast"
        with pytest.raises(ValueError, match="apt-get install libdecaf0"):
            ed448.set_backend("libdecaf")
    assert {"fast", "reference"} <= set(ed448.BACKENDS)


def test_public_keys_match_cryptography(ed448_backend: str) -> None:
    rng = DeterministicRng("test_ed448 public keys")
    for _ in range(3 if ed448_backend == "reference" else 20):
        secret = rng.random_bytes(57)
        assert base_mul(secret_scalar(secret)).encode() == cryptography_public_key(secret)


# -- decoding and validation ------------------------------------------------------------------


def raw(y: int, sign: int = 0) -> bytes:
    return (y | sign << 455).to_bytes(57, "little")


BAD_ENCODINGS: list[tuple[str, bytes, type[InvalidPointError]]] = [
    ("empty", b"", PointLengthError),
    ("56 bytes", G_ENCODED[:56], PointLengthError),
    ("58 bytes", G_ENCODED + b"\x00", PointLengthError),
    ("y = p", raw(P), NonCanonicalPointError),
    ("y = p + 1", raw(P + 1), NonCanonicalPointError),
    ("y = 2^448 - 1, sign 1", raw(2**448 - 1, 1), NonCanonicalPointError),
    ("bit 448 set", raw(G.y | 1 << 448), NonCanonicalPointError),
    ("bit 454 set", raw(G.y | 1 << 454), NonCanonicalPointError),
    ("x = 0 negative, y = 1", raw(1, 1), NegativeZeroPointError),
    ("x = 0 negative, y = -1", raw(P - 1, 1), NegativeZeroPointError),
    ("y = 2", raw(2), PointNotOnCurveError),
    ("y = 2, sign 1", raw(2, 1), PointNotOnCurveError),
    ("identity", raw(1), IdentityPointError),
    ("(0, -1)", raw(P - 1), SmallOrderPointError),
    ("(1, 0)", raw(0, 1), SmallOrderPointError),
    ("(-1, 0), all zero", bytes(57), SmallOrderPointError),
]


@pytest.mark.parametrize(
    ("name", "data", "error"), BAD_ENCODINGS, ids=[b[0] for b in BAD_ENCODINGS]
)
def test_decode_rejects_each_rule_with_its_class(
    ed448_backend: str, name: str, data: bytes, error: type[InvalidPointError]
) -> None:
    with pytest.raises(error) as info:
        Point.decode(data)
    assert type(info.value) is error


def test_mixed_order_points_are_not_in_the_subgroup(ed448_backend: str) -> None:
    for xy in TORSION:
        data = (base_mul(12345) + Point.from_affine(*xy)).encode()
        with pytest.raises(PointNotInSubgroupError) as info:
            Point.decode(data)
        assert type(info.value) is PointNotInSubgroupError
        assert Point.decode_rfc8032(data) == base_mul(12345) + Point.from_affine(*xy)


def test_error_hierarchy() -> None:
    for _, _, error in BAD_ENCODINGS:
        assert issubclass(error, InvalidPointError)
        assert issubclass(error, ValidationError)
    assert issubclass(PointLengthError, DecodeError)
    assert issubclass(SmallOrderPointError, PointNotInSubgroupError)
    assert issubclass(ScalarLengthError, DecodeError)


def test_decode_rfc8032_accepts_what_rfc_8032_accepts(ed448_backend: str) -> None:
    assert Point.decode_rfc8032(raw(1)).is_identity()
    assert Point.decode_rfc8032(bytes(57)) == Point.from_affine(P - 1, 0)
    assert Point.decode_rfc8032(raw(0, 1)) == Point.from_affine(1, 0)
    for data, error in [(raw(P), NonCanonicalPointError), (raw(1, 1), NegativeZeroPointError),
                        (raw(2), PointNotOnCurveError), (b"\x00", PointLengthError)]:
        with pytest.raises(error):
            Point.decode_rfc8032(data)


def test_decode_accepts_both_signs(ed448_backend: str) -> None:
    a = base_mul(5)
    neg = -a
    assert a.encode()[:56] == neg.encode()[:56]
    assert a.encode()[56] ^ neg.encode()[56] == 0x80
    assert Point.decode(a.encode()) == a
    assert Point.decode(neg.encode()) == neg


def test_from_affine_checks_range_and_curve(ed448_backend: str) -> None:
    assert Point.from_affine(G.x, G.y) == G
    with pytest.raises(NonCanonicalPointError):
        Point.from_affine(G.x + P, G.y)
    with pytest.raises(NonCanonicalPointError):
        Point.from_affine(-1, 0)
    with pytest.raises(PointNotOnCurveError):
        Point.from_affine(G.x, G.y + 1)
    with pytest.raises(IdentityPointError):
        Point.from_affine(0, 1).validate()
    with pytest.raises(SmallOrderPointError):
        Point.from_affine(1, 0).validate()
    G.validate()


@settings(max_examples=50, deadline=None)
@given(st.integers(min_value=1, max_value=Q - 1))
def test_encoding_round_trip(k: int) -> None:
    a = base_mul(k)
    data = a.encode()
    assert len(data) == 57 and data[56] & 0x7F == 0
    assert data[56] >> 7 == a.x & 1
    assert int.from_bytes(data[:56], "little") == a.y
    assert Point.decode(data) == a


# -- scalars ----------------------------------------------------------------------------------


def test_scalar_encoding() -> None:
    assert encode_scalar(1) == b"\x01" + bytes(56)
    assert encode_scalar(Q) == bytes(57)
    assert encode_scalar(-1) == (Q - 1).to_bytes(57, "little")
    assert encode_scalar(2**447) == (2**447 % Q).to_bytes(57, "little")
    assert decode_scalar(encode_scalar(12345)) == 12345


def test_scalar_decoding_reduces_mod_q_as_the_spec_says() -> None:
    assert decode_scalar(Q.to_bytes(57, "little")) == 0
    assert decode_scalar((Q + 5).to_bytes(57, "little")) == 5
    assert decode_scalar(b"\xff" * 57) == (2**456 - 1) % Q
    with pytest.raises(ScalarLengthError):
        decode_scalar(bytes(56))
    with pytest.raises(ScalarLengthError):
        decode_scalar(bytes(58))


def test_canonical_scalar_decoding_rejects_values_above_q() -> None:
    assert decode_canonical_scalar((Q - 1).to_bytes(57, "little")) == Q - 1
    for value in (Q, Q + 1, 2**456 - 1):
        with pytest.raises(NonCanonicalScalarError):
            decode_canonical_scalar(value.to_bytes(57, "little"))
    with pytest.raises(ScalarLengthError):
        decode_canonical_scalar(bytes(56))


def test_prune() -> None:
    assert prune(b"\xff" * 57) == b"\xfc" + b"\xff" * 54 + b"\xff\x00"
    assert prune(bytes(57)) == bytes(55) + b"\x80\x00"
    with pytest.raises(ValueError):
        prune(bytes(56))


def test_random_scalar_is_the_hashed_pruned_draw_mod_q() -> None:
    rec = RecordingRng(DeterministicRng("test_ed448 random scalar"))
    values = [random_scalar(rec) for _ in range(20)]
    assert [len(d.value) for d in rec.draws] == [57] * 20
    for value, draw in zip(values, rec.draws, strict=True):
        pruned = hash_and_prune(draw.value)
        h = bytearray(hashlib.shake_256(draw.value).digest(57))
        h[0] &= 0xFC
        h[56] = 0
        h[55] |= 0x80
        assert pruned == int.from_bytes(h, "little")
        assert 2**447 <= pruned < 2**448
        assert value == pruned % Q
        assert 0 <= value < Q


def test_without_libdecaf_the_probe_gives_none(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where ``libdecaf.so.0`` is missing (or misbehaves) the package falls back silently."""
    import ctypes
    import ctypes.util

    from otrv4.primitives import ed448_decaf

    def missing(name: str) -> None:
        raise OSError(f"{name}: cannot open shared object file")

    monkeypatch.setattr(ctypes, "CDLL", missing)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    assert ed448_decaf.load() is None
