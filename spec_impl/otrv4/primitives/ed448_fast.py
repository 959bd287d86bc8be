"""Ed448-Goldilocks group arithmetic on pycryptodome's compiled ``EccPoint``.

The fast backend behind :class:`otrv4.primitives.ed448.Point` (the default when libdecaf,
:mod:`otrv4.primitives.ed448_decaf`, is not installed).
It computes exactly what :mod:`otrv4.primitives.ed448_ref` computes (the
property tests hold the two against each other), with pycryptodome's C code
(``Crypto.PublicKey.ECC.EccPoint`` on the curve ``"Ed448"``) doing additions
and scalar multiplications: about 0.07 ms for a 446-bit scalar instead of a
few milliseconds.

Points are ``EccPoint`` objects, treated as immutable (every operation here
returns a new object).  Scalars must be non-negative; the caller
(:mod:`otrv4.primitives.ed448`) reduces them modulo the group order ``4 * Q``
first.  pycryptodome blinds secret scalar multiplications with its own random
seed; that draw never changes a result, so it is outside the project's
injected-randomness rule.

Recovering ``x`` from an encoding uses pycryptodome's RFC 8032 decoder when
the installed version has one (``EccPoint._decode_eddsa``), else a square root
computed with ``gmpy2`` (or Python's ``pow``).  Subgroup membership
(``q * X = I``) is decided without the multiplication, by
:func:`in_prime_order_subgroup` (when ``gmpy2`` is installed; else by the
multiplication).  Nothing in this module raises on bad input; the rules live
in :mod:`otrv4.primitives.ed448`.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from Crypto.Math.Numbers import Integer
from Crypto.PublicKey import ECC

from . import ed448_ref

__all__ = ["HAVE_GMPY2", "FastBackend", "in_prime_order_subgroup"]

_ecc_module: Any = ECC  # pycryptodome's stubs do not list EccPoint as exported
_EccPoint: Any = _ecc_module.EccPoint
_CURVE = "Ed448"
_P = ed448_ref.P

_gmpy2: Any
try:  # pragma: no cover - depends on the environment
    _gmpy2 = importlib.import_module("gmpy2")
except ImportError:  # pragma: no cover
    _gmpy2 = None

HAVE_GMPY2 = _gmpy2 is not None


def _has_public_scalars() -> bool:
    try:
        Integer(1, public=True)
    except TypeError:  # pragma: no cover - older pycryptodome
        return False
    return True


_PUBLIC_SCALARS = _has_public_scalars()
_MPZ_P: Any = _gmpy2.mpz(_P) if _gmpy2 is not None else None
_MPZ_D: Any = _gmpy2.mpz(ed448_ref.D) if _gmpy2 is not None else None
_HALF: Any = _gmpy2.mpz((_P + 1) // 2) if _gmpy2 is not None else None


def _powmod(base: int, exponent: int, modulus: int) -> int:
    if _gmpy2 is not None:
        return int(_gmpy2.powmod(base, exponent, modulus))
    return pow(base, exponent, modulus)  # pragma: no cover


def _sqrt_decode(y: int, sign: int) -> Any:
    """RFC 8032 §5.2.3 x-recovery with a fast modular power; ``None`` if there is no root."""
    u = (y * y - 1) % _P
    v = (ed448_ref.D * y * y - 1) % _P
    x = u * u % _P * u % _P * v % _P
    x = x * _powmod(u**5 * v**3 % _P, (_P - 3) // 4, _P) % _P
    if v * x % _P * x % _P != u or (x == 0 and sign == 1):
        return None
    if x % 2 != sign:
        x = _P - x
    return _EccPoint(x, y, curve=_CURVE)


def in_prime_order_subgroup(y: int) -> bool:
    """Whether the curve points with y-coordinate ``y`` lie in the subgroup of order ``q``.

    The same answer as ``q * X == I`` (the spec's rule; the tests compare the two
    on points of every coset), for a quarter of the cost: one square root, two
    inversions and two Jacobi symbols, with ``gmpy2``.  ``y`` must be the
    y-coordinate of a curve point.  Why it works, with ``u = x^2``, ``v = y^2``:

    * The curve has ``4q`` points and a point of order 4, ``T = (1, 0)``, so it
      is cyclic and the subgroup of order ``q`` is ``4E``, the points that can
      be halved twice.
    * ``X`` (not ``(±1, 0)``) is in ``2E`` iff ``1 - x^2`` is a square.  If
      ``X = 2H`` then ``1 - x_X^2 = ((u_H - v_H) / (1 + d u_H v_H))^2``; and
      ``X + T = (y, -x)`` changes ``1 - x^2`` by the factor
      ``(1 - y^2)/(1 - x^2)``, whose Legendre symbol is that of
      ``(1 - d x^2)(1 - d y^2) = 1 - d``, a non-square.  By the curve equation
      ``1 - x^2 = y^2 (d - 1) / (d y^2 - 1)`` and ``d - 1`` is a square, so the
      test is: ``d y^2 - 1`` is a square.
    * ``X`` is in ``4E`` iff it is in ``2E`` and so is a half ``H`` (both halves
      differ by ``(0, -1)``, which is in ``2E``).  The doubling formulas give
      ``s = x_X^2 = 4w / (1 + d w)^2`` with ``w = u_H v_H``, a quadratic in
      ``w`` whose roots are ``(2 - d s ± 2 sqrt(1 - d s)) / (d^2 s)``; with
      ``u_H + v_H = 1 + d w`` and ``v_H - u_H = y_X (1 - d w)`` each root gives
      a candidate ``(u_H, v_H)``, and only the true one has ``u_H v_H = w`` (the
      other belongs to the halves of ``X + (0, -1)``).  Then ``H`` is in ``2E``
      iff ``1 - u_H`` is a square.
    """
    if _gmpy2 is None:  # pragma: no cover
        raise RuntimeError("the subgroup shortcut needs gmpy2")
    g = _gmpy2
    p, d = _MPZ_P, _MPZ_D
    if y in (0, _P - 1):  # (±1, 0) of order 4 and (0, -1) of order 2
        return False
    if y == 1:  # the identity
        return True
    y = g.mpz(y)
    yy = y * y % p
    t = (d * yy - 1) % p
    if g.jacobi(t, p) != 1:
        return False  # not even in 2E
    s = (yy - 1) * g.invert(t, p) % p
    ds = d * s % p
    disc = (1 - ds) % p
    r = g.powmod(disc, (_P + 1) // 4, p)
    if r * r % p != disc:  # cannot happen for a point of 2E
        return False
    inverse = g.invert(d * ds % p, p)
    for w in ((2 - ds + 2 * r) * inverse % p, (2 - ds - 2 * r) * inverse % p):
        dw = d * w % p
        u = (1 + dw - y * (1 - dw)) * _HALF % p
        v = (1 + dw + y * (1 - dw)) * _HALF % p
        if u * v % p == w:
            return bool(g.jacobi((1 - u) % p, p) == 1)
    return False  # pragma: no cover - one root always matches for a point of 2E


def _c_decoder() -> Callable[[int, int], Any] | None:
    """pycryptodome's own RFC 8032 decoder, if this version exposes one."""
    decode = getattr(_EccPoint, "_decode_eddsa", None)
    if decode is None:  # pragma: no cover - older pycryptodome
        return None

    def c_decode(y: int, sign: int) -> Any:
        data = (y | sign << 455).to_bytes(57, "little")
        try:
            return decode(data, _CURVE)
        except ValueError:
            return None

    return c_decode


class FastBackend:
    """Point arithmetic delegated to pycryptodome's ``EccPoint``.

    ``use_c_decoder=False`` forces the pure-Python square root, and
    ``use_subgroup_shortcut=False`` the literal ``q * X`` subgroup check (both
    for tests of the fallback paths, which also run when ``gmpy2`` is missing).
    """

    name = "fast"

    def __init__(self, use_c_decoder: bool = True, use_subgroup_shortcut: bool = True) -> None:
        self._base = _EccPoint(ed448_ref.GX, ed448_ref.GY, curve=_CURVE)
        self._identity = _EccPoint(0, 1, curve=_CURVE)
        c_decode = _c_decoder() if use_c_decoder else None
        self._decode: Callable[[int, int], Any] = c_decode or _sqrt_decode
        self._shortcut = use_subgroup_shortcut and HAVE_GMPY2
        # pycryptodome >= 4.4 multiplies by a public Integer without blinding and with
        # a variable-time ladder (about a third faster); verification uses it.
        self._public_scalars = _PUBLIC_SCALARS

    def from_affine(self, x: int, y: int) -> Any:
        return _EccPoint(x, y, curve=_CURVE)

    def to_affine(self, p: Any) -> tuple[int, int]:
        x, y = p.xy
        return (int(x), int(y))

    def encode(self, p: Any) -> bytes:
        return ed448_ref.encode_affine(*self.to_affine(p))

    def add(self, p1: Any, p2: Any) -> Any:
        return p1 + p2

    def negate(self, p: Any) -> Any:
        return -p

    def multiply(self, p: Any, k: int) -> Any:
        return p * k

    def base_multiply(self, k: int) -> Any:
        return self._base * k

    def multiply_public(self, p: Any, k: int) -> Any:
        if self._public_scalars:
            return p * Integer(k, public=True)
        return p * k  # pragma: no cover - pycryptodome older than 3.23 / 4.4

    def base_double_multiply(self, a: int, p: Any, b: int, public: bool) -> Any:
        # Two multiplications in C beat Straus-Shamir in Python here: one C scalar
        # multiplication costs about as much as 25 Python-level point operations
        # (measured: variable base 0.3-0.45 ms, fixed base 0.1 ms, one addition or
        # doubling 4-5 us), while a joint chain needs about 450 doublings and 340
        # additions.  pycryptodome's fixed-base multiplication of G uses its own
        # precomputed table.
        product = self.multiply_public(p, b) if public else p * b
        return self._base * a + product

    def equal(self, p1: Any, p2: Any) -> bool:
        return bool(p1 == p2)

    def is_identity(self, p: Any) -> bool:
        return bool(p == self._identity)

    def decode(self, y: int, sign: int) -> Any:
        return self._decode(y, sign)

    def in_prime_order_subgroup(self, p: Any, y: int) -> bool:
        if self._shortcut:
            return in_prime_order_subgroup(y)
        return bool(p * ed448_ref.Q == self._identity)
