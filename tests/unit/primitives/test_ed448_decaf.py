"""The libdecaf backend's own machinery: scales, the fallback outside the subgroup, the probe.

The general properties (every operation equals the other backends' result) are in
``test_ed448_backends``; these tests pin what is particular to libdecaf.  They skip
where ``libdecaf.so.0`` is not installed, and fail in CI.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from otrv4.primitives import ed448, ed448_decaf
from otrv4.primitives.ed448 import P, Point, Q, base_mul, base_mul_add
from otrv4.primitives.ed448_decaf import DecafBackend, DecafPoint

from ...conftest import ed448_backend_in_use


@pytest.fixture(autouse=True)
def decaf() -> Iterator[DecafBackend]:
    with ed448_backend_in_use("libdecaf"):
        backend = ed448.BACKENDS["libdecaf"]
        assert isinstance(backend, DecafBackend)
        yield backend


def expected(fn: object) -> bytes:
    """The encoding pycryptodome gives for the same computation."""
    assert callable(fn)
    with ed448.using_backend("fast"):
        point = fn()
    assert isinstance(point, Point)
    return point.encode()


def test_the_probe_loads_the_library_and_it_is_the_default() -> None:
    assert ed448_decaf.load() is not None
    assert ed448.DEFAULT_BACKEND == "libdecaf"


def test_decoded_points_keep_scale_4_and_products_scale_1(decaf: DecafBackend) -> None:
    encoded = expected(lambda: base_mul(777))
    decoded = Point.decode(encoded)
    rep = decoded._rep(decaf)
    assert isinstance(rep, DecafPoint) and rep.ecc is None and not rep.quarter
    product = decoded * 5
    assert product._rep(decaf).quarter
    assert product.encode() == expected(lambda: base_mul(777 * 5))
    assert base_mul(9)._rep(decaf).quarter


def test_mixed_scales_add_and_compare(decaf: DecafBackend) -> None:
    decoded = Point.decode(expected(lambda: base_mul(1000)))  # scale 4
    computed = base_mul(234)  # scale 1
    total = decoded + computed
    assert not total._rep(decaf).quarter
    # a scale-4 point that has no bytes is encoded by dividing by 4 first
    assert total.encode() == expected(lambda: base_mul(1234))
    assert decoded - decoded == ed448.IDENTITY
    assert decoded == base_mul(1000)  # different scales, same point
    assert base_mul(1000) == decoded
    assert decoded != computed
    assert (decoded * Q).is_identity() and (computed * Q).is_identity()


def test_points_outside_the_subgroup_are_pycryptodome_points(decaf: DecafBackend) -> None:
    torsion = Point.from_affine(1, 0)  # order 4
    mixed = base_mul(5) + torsion
    rep = mixed._rep(decaf)
    assert rep.ecc is not None and rep.buf is None
    decoded = Point.decode_rfc8032(mixed.encode())
    assert decoded._rep(decaf).ecc is not None
    assert decoded == mixed and decoded != base_mul(5)
    assert (decoded * 4).encode() == expected(lambda: base_mul(20))
    assert (decoded * Q).encode() == (torsion * Q).encode()
    assert base_mul_add(3, decoded, 2, public=True).encode() == expected(
        lambda: base_mul(3) + (base_mul(5) + Point.from_affine(1, 0)) * 2
    )
    assert Point.decode_rfc8032((P - 1).to_bytes(57, "little")).encode() == (
        (P - 1).to_bytes(57, "little")
    )


def test_zero_second_scalar_of_the_public_double_multiplication(decaf: DecafBackend) -> None:
    """libdecaf 1.0.2 gets G * a + X * 0 wrong; the backend computes G * a instead."""
    point = base_mul(5)
    for b in (0, Q, 2 * Q):
        assert base_mul_add(7, point, b, public=True).encode() == expected(lambda: base_mul(7))


def test_the_subgroup_check_without_gmpy2(
    decaf: DecafBackend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without gmpy2 membership is decided by ``enc(dec(X) / 4) == X``; same answers."""
    monkeypatch.setattr(ed448_decaf, "HAVE_GMPY2", False)
    good = expected(lambda: base_mul(4242))
    assert Point.decode(good).encode() == good
    for xy in ((0, P - 1), (1, 0), (P - 1, 0)):
        bad = expected(lambda xy=xy: base_mul(4242) + Point.from_affine(*xy))
        with pytest.raises(ed448.PointNotInSubgroupError):
            Point.decode(bad)


def test_the_identity_and_the_point_of_order_two_decode(decaf: DecafBackend) -> None:
    """libdecaf's decoder refuses x = 0; the backend handles both such points itself."""
    assert Point.decode_rfc8032((1).to_bytes(57, "little")).is_identity()
    with pytest.raises(ed448.IdentityPointError):
        Point.decode((1).to_bytes(57, "little"))
    with pytest.raises(ed448.SmallOrderPointError):
        Point.decode((P - 1).to_bytes(57, "little"))


def test_a_library_that_fails_the_known_answers_is_not_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    genuine = DecafBackend.base_multiply

    def wrong(self: DecafBackend, k: int) -> DecafPoint:
        return self.negate(genuine(self, k))

    monkeypatch.setattr(DecafBackend, "base_multiply", wrong)
    assert ed448_decaf.load() is None
