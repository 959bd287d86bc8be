"""The reference, the fast and the libdecaf Ed448 backends compute the same things.

Each property runs the same operation on every backend (libdecaf when it is
installed; and on the fast backend's pure-Python decoding fallback) and
compares encodings, coordinates and error classes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from otrv4.primitives import ed448, ed448_ref
from otrv4.primitives.ed448 import InvalidPointError, P, Point, Q, base_mul
from otrv4.primitives.ed448_fast import FastBackend, in_prime_order_subgroup

SETTINGS = settings(max_examples=50, deadline=None)

scalars = st.integers(min_value=-(2**460), max_value=2**460)
torsion = st.sampled_from([(0, 1), (0, P - 1), (1, 0), (P - 1, 0)])


def on_both(fn: Callable[[], Any]) -> tuple[Any, Any]:
    """``fn()`` under the reference backend, then under the fast one (and, when it is
    installed, under libdecaf, which must give what the fast one gives)."""
    with ed448.using_backend("reference"):
        ref = fn()
    with ed448.using_backend("fast"):
        fast = fn()
    if "libdecaf" in ed448.BACKENDS:
        with ed448.using_backend("libdecaf"):
            assert fn() == fast
    return ref, fast


def outcome(data: bytes) -> tuple[str, bytes | None]:
    """What ``Point.decode`` makes of ``data``: the error class name, or the re-encoding."""
    try:
        return ("ok", Point.decode(data).encode())
    except InvalidPointError as exc:
        return (type(exc).__name__, None)


def point_on(k: int, t: tuple[int, int]) -> Point:
    """``G * k`` plus a torsion point: any point of the curve."""
    return base_mul(k) + Point.from_affine(*t)


@SETTINGS
@given(scalars, torsion, scalars, torsion)
def test_addition_agrees(a: int, ta: tuple[int, int], b: int, tb: tuple[int, int]) -> None:
    ref, fast = on_both(lambda: (point_on(a, ta) + point_on(b, tb)).encode())
    assert ref == fast
    ref, fast = on_both(lambda: (point_on(a, ta) - point_on(b, tb)).encode())
    assert ref == fast


@SETTINGS
@given(scalars, torsion, scalars)
@example(1, (0, 1), 0)
@example(1, (1, 0), Q)
@example(1, (0, P - 1), -1)
def test_scalar_multiplication_agrees(a: int, t: tuple[int, int], k: int) -> None:
    ref, fast = on_both(lambda: (point_on(a, t) * k).encode())
    assert ref == fast


@SETTINGS
@given(scalars)
def test_base_multiplication_agrees(k: int) -> None:
    ref, fast = on_both(lambda: (base_mul(k).x, base_mul(k).y, base_mul(k).encode()))
    assert ref == fast


@SETTINGS
@given(st.binary(min_size=57, max_size=57))
def test_decoding_random_strings_agrees(data: bytes) -> None:
    """Random strings are mostly invalid: both backends must refuse them the same way."""
    ref, fast = on_both(lambda: outcome(data))
    assert ref == fast


@SETTINGS
@given(st.integers(min_value=0, max_value=2**448 - 1), st.integers(min_value=0, max_value=1))
def test_decoding_any_y_agrees(y: int, sign: int) -> None:
    """Encodings built from a y (half of all y < p have a point, unlike random bytes)."""
    data = (y | sign << 455).to_bytes(57, "little")
    ref, fast = on_both(lambda: outcome(data))
    assert ref == fast


@SETTINGS
@given(scalars, torsion)
def test_decoding_valid_and_mixed_points_agrees(k: int, t: tuple[int, int]) -> None:
    data = point_on(k, t).encode()
    ref, fast = on_both(lambda: outcome(data))
    assert ref == fast
    if k % Q == 0:
        assert ref[0] in ("IdentityPointError", "SmallOrderPointError")
    elif t == (0, 1):
        assert ref == ("ok", data)
    else:
        assert ref == ("PointNotInSubgroupError", None)


@SETTINGS
@given(st.integers(min_value=0, max_value=P - 1), st.integers(min_value=0, max_value=1))
def test_python_square_root_fallback_matches_the_reference(y: int, sign: int) -> None:
    fallback = FastBackend(use_c_decoder=False).decode(y, sign)
    x = ed448_ref.recover_x(y, sign)
    if x is None:
        assert fallback is None
    else:
        assert fallback is not None and tuple(fallback.xy) == (x, y)


def test_the_fast_backend_really_is_pycryptodome() -> None:
    from Crypto.PublicKey import ECC

    with ed448.using_backend("fast"):
        rep = base_mul(5)._rep(ed448.BACKENDS["fast"])
    assert type(rep).__name__ == "EccPoint"
    ecc: Any = ECC  # pycryptodome's stubs do not export EccPoint
    assert rep == ecc.EccPoint(ed448_ref.GX, ed448_ref.GY, curve="Ed448") * 5


def test_facts_the_subgroup_shortcut_relies_on() -> None:
    """Legendre symbols used in the proof of ``in_prime_order_subgroup``, and the 4-torsion."""
    def legendre(a: int) -> int:
        r = pow(a % P, (P - 1) // 2, P)
        return -1 if r == P - 1 else r

    d = ed448_ref.D
    assert legendre(1 - d) == -1 and legendre(d - 1) == 1 and legendre(-1) == -1
    t = Point.from_affine(1, 0)
    assert not (t * 2).is_identity() and (t * 4).is_identity()


@SETTINGS
@given(scalars, torsion)
@example(0, (0, 1))
@example(0, (0, P - 1))
@example(0, (1, 0))
@example(0, (P - 1, 0))
def test_subgroup_shortcut_agrees_with_q_times_x(k: int, t: tuple[int, int]) -> None:
    with ed448.using_backend("fast"):
        x = point_on(k, t)
        assert in_prime_order_subgroup(x.y) == (x * Q).is_identity()


@SETTINGS
@given(st.integers(min_value=0, max_value=P - 1))
def test_subgroup_shortcut_agrees_on_every_decodable_y(y: int) -> None:
    x = ed448_ref.recover_x(y, 0)
    if x is not None:
        point = ed448_ref.from_affine(x, y)
        expected = ed448_ref.is_identity(ed448_ref.multiply(point, Q))
        assert in_prime_order_subgroup(y) == expected


@SETTINGS
@given(st.integers(min_value=0, max_value=2**448 - 1), st.integers(min_value=0, max_value=1))
def test_fast_backend_fallbacks_decode_alike(y: int, sign: int) -> None:
    """The C decoder and the shortcut give what the Python fallbacks give."""
    data = (y | sign << 455).to_bytes(57, "little")
    with ed448.using_backend("fast"):
        expected = outcome(data)
    saved = ed448.BACKENDS["fast"]
    try:
        ed448.BACKENDS["fast"] = FastBackend(use_c_decoder=False, use_subgroup_shortcut=False)
        with ed448.using_backend("fast"):
            assert outcome(data) == expected
    finally:
        ed448.BACKENDS["fast"] = saved


# -- issue 15: double-base and public-scalar multiplication ------------------------------------


@SETTINGS
@given(scalars, scalars, scalars)
@example(0, 0, 1)
@example(1, 2**447, 0)
def test_base_mul_add_is_the_sum_of_two_products(a: int, b: int, k: int) -> None:
    def run() -> list[bytes]:
        point = base_mul(k | 1)
        expected = base_mul(a) + point * b
        return [expected.encode(),
                ed448.base_mul_add(a, point, b).encode(),
                ed448.base_mul_add(a, point, b, public=True).encode()]

    ref, fast = on_both(run)
    assert ref == fast
    assert len(set(fast)) == 1


@SETTINGS
@given(scalars, st.sampled_from([(0, P - 1), (1, 0), (P - 1, 0)]))
def test_public_multiplication_equals_secret_multiplication_on_torsion(
    k: int, xy: tuple[int, int]
) -> None:
    torsion_point = Point.from_affine(*xy)
    point = base_mul(12345) + torsion_point  # outside the prime-order subgroup
    ref, fast = on_both(lambda: (point.multiply_public(k).encode(), (point * k).encode()))
    assert ref == fast
    assert fast[0] == fast[1]


def test_straus_shamir_chain_of_the_reference_code() -> None:
    g = ed448_ref.BASE
    h = ed448_ref.multiply(g, 7)
    for k1, k2 in ((0, 0), (1, 0), (0, 1), (5, 9), (2**446, 3), (Q - 1, Q - 2)):
        expected = ed448_ref.add(ed448_ref.multiply(g, k1), ed448_ref.multiply(h, k2))
        assert ed448_ref.equal(ed448_ref.double_multiply(k1, g, k2, h), expected)
