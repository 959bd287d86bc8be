"""Ed448-Goldilocks group arithmetic on pycryptodome's compiled ``EccPoint``.

The fast backend behind :class:`otrv4.primitives.ed448.Point` (the default).
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
computed with ``gmpy2`` (or Python's ``pow``).  Nothing in this module raises on
bad input; the rules live in :mod:`otrv4.primitives.ed448`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from Crypto.PublicKey import ECC

from . import ed448_ref

__all__ = ["FastBackend"]

_ecc_module: Any = ECC  # pycryptodome's stubs do not list EccPoint as exported
_EccPoint: Any = _ecc_module.EccPoint
_CURVE = "Ed448"
_P = ed448_ref.P

try:  # pragma: no cover - depends on the environment
    import gmpy2

    def _powmod(base: int, exponent: int, modulus: int) -> int:
        return int(gmpy2.powmod(base, exponent, modulus))
except ImportError:  # pragma: no cover
    def _powmod(base: int, exponent: int, modulus: int) -> int:
        return pow(base, exponent, modulus)


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

    ``use_c_decoder=False`` forces the pure-Python square root (for tests of
    the fallback path).
    """

    name = "fast"

    def __init__(self, use_c_decoder: bool = True) -> None:
        self._base = _EccPoint(ed448_ref.GX, ed448_ref.GY, curve=_CURVE)
        self._identity = _EccPoint(0, 1, curve=_CURVE)
        c_decode = _c_decoder() if use_c_decoder else None
        self._decode: Callable[[int, int], Any] = c_decode or _sqrt_decode

    def from_affine(self, x: int, y: int) -> Any:
        return _EccPoint(x, y, curve=_CURVE)

    def to_affine(self, p: Any) -> tuple[int, int]:
        x, y = p.xy
        return (int(x), int(y))

    def add(self, p1: Any, p2: Any) -> Any:
        return p1 + p2

    def negate(self, p: Any) -> Any:
        return -p

    def multiply(self, p: Any, k: int) -> Any:
        return p * k

    def base_multiply(self, k: int) -> Any:
        return self._base * k

    def equal(self, p1: Any, p2: Any) -> bool:
        return bool(p1 == p2)

    def is_identity(self, p: Any) -> bool:
        return bool(p == self._identity)

    def decode(self, y: int, sign: int) -> Any:
        return self._decode(y, sign)
