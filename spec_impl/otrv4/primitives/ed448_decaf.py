"""Ed448-Goldilocks group arithmetic on libdecaf, Mike Hamburg's Ed448-Goldilocks library.

The optional accelerated backend behind :class:`otrv4.primitives.ed448.Point`:
the default when the shared library ``libdecaf.so.0`` loads (Debian and Ubuntu:
``apt-get install libdecaf0``) and passes the known-answer probe of
:func:`load`; without it the package uses pycryptodome
(:mod:`otrv4.primitives.ed448_fast`) and computes exactly the same bytes.
libdecaf is the reference implementation of the Ed448-Goldilocks curve, by its
author, from the library family libotr-ng (OTRv4's C implementation) uses
through libgoldilocks.  Its scalar multiplications are constant-time, except
``decaf_448_base_double_scalarmul_non_secret``, which this module calls
only when both scalars are public (signature and ring-signature verification).
It is called through :mod:`ctypes`: nothing is compiled.  (One defect of
libdecaf 1.0.2 is worked around: its non-secret double multiplication returns
a wrong point when the second scalar is zero; that case is computed as
``G * a``.  The property tests compare every operation with the other
backends, zero scalars included.)

Measured here: a variable-base multiplication takes about 175 us (pycryptodome:
about 470 us), a multiplication of the base point with libdecaf's precomputed
table about 47 us, ``G * a + X * b`` with public scalars about 177 us, decoding
or encoding a point about 16 us.

**How points are represented.**  libdecaf works in the *decaf* group, the
prime-order quotient of the curve by its 4-torsion: decoding an RFC 8032
encoding (``decaf_448_point_decode_like_eddsa_and_mul_by_ratio``) forgets the
torsion component, and encoding
(``decaf_448_point_mul_by_ratio_and_encode_like_eddsa``) multiplies by the
cofactor 4 on the way out.  With ``dec`` and ``enc`` those two functions, for
a point ``X`` of the prime-order subgroup ``enc(dec(X)) = 4 X``; and libdecaf's
base point is ``dec(G)``.  So a point ``X`` of the subgroup is held as a
libdecaf point in one of two *scales*:

* scale 4 (``quarter=False``): the buffer holds ``dec(X)``; this is what a
  decoded point is (one library call; its received bytes are kept by
  :class:`~otrv4.primitives.ed448.Point`, so encoding it again costs nothing);
* scale 1 (``quarter=True``): the buffer holds ``dec(X) / 4``, so that
  ``enc(buffer) = X``: what every product is.

``k * X`` is computed as ``buffer * (k / 4 mod q)`` from a scale-4 buffer and
``buffer * k`` from a scale-1 buffer: the division by the cofactor is folded
into the scalar, so products come out directly encodable and no extra
multiplication is ever spent on the scaling.  ``G * k`` is libdecaf's
precomputed base times ``k / 4``; ``G * a + X * b`` likewise.  A sum of two
points of the same scale keeps that scale; a sum of mixed scales first brings
the scale-1 operand to scale 4 with two doublings.

Points *outside* the prime-order subgroup (small-order points and points with
a torsion component: they exist as values of
:class:`~otrv4.primitives.ed448.Point`, e.g. to be rejected by its validation)
cannot be held by libdecaf; they are held, and computed on, as pycryptodome
``EccPoint`` values, exactly as the fast backend does.  Subgroup membership is
decided once, when a point is decoded or built from coordinates, with the
Jacobi-symbol test of
:func:`otrv4.primitives.ed448_fast.in_prime_order_subgroup` (``gmpy2``) or, without
``gmpy2``, by checking ``enc(dec(X) / 4) = X``.  Nothing in this module raises
on bad input; the rules live in :mod:`otrv4.primitives.ed448`.
"""

from __future__ import annotations

import ctypes
from typing import Any, Final

from . import ed448_ref
from .ed448_fast import HAVE_GMPY2, FastBackend, in_prime_order_subgroup
from .native import open_library

__all__ = [
    "LIBRARY_NAME",
    "DecafBackend",
    "DecafPoint",
    "load",
]

LIBRARY_NAME: Final = "libdecaf.so.0"
"""The shared library looked for first (Debian's ``libdecaf0``)."""

_P: Final = ed448_ref.P
_Q: Final = ed448_ref.Q
_INV4: Final = pow(4, -1, _Q)
_POINT_SIZE: Final = 256  # sizeof(decaf_448_point_t) on 64-bit builds
_SCALAR_SIZE: Final = 56  # sizeof(decaf_448_scalar_t), also DECAF_448_SCALAR_BYTES
_ENCODED: Final = 57  # DECAF_EDDSA_448_PUBLIC_BYTES
_SUCCESS: Final = -1  # DECAF_SUCCESS
_SIGN_BIT: Final = 455

_PointBuffer = ctypes.c_uint8 * _POINT_SIZE
_ScalarBuffer = ctypes.c_uint8 * _SCALAR_SIZE
_EncodedBuffer = ctypes.c_uint8 * _ENCODED

_G_ENCODED: Final = (ed448_ref.GY | (ed448_ref.GX & 1) << _SIGN_BIT).to_bytes(57, "little")
_IDENTITY_ENCODED: Final = (1).to_bytes(57, "little")


class DecafPoint:
    """One point as the libdecaf backend holds it: a libdecaf buffer (prime-order subgroup)
    with its scale, or a pycryptodome ``EccPoint`` (any other curve point)."""

    __slots__ = ("buf", "ecc", "quarter")

    def __init__(self, buf: Any, quarter: bool, ecc: Any = None) -> None:
        self.buf = buf
        self.quarter = quarter
        self.ecc = ecc


class DecafBackend:
    """Point arithmetic delegated to libdecaf (see the module docstring for the scales).

    Build it with :func:`load`, which returns ``None`` when the library is
    missing or fails the probe.
    """

    name = "libdecaf"

    def __init__(self, lib: Any) -> None:
        self._lib = lib
        self._fast = FastBackend()
        self._base_table = ctypes.c_void_p.in_dll(lib, "decaf_448_precomputed_base")
        self._identity_buf = _PointBuffer.in_dll(lib, "decaf_448_point_identity")
        self._scalarmul = lib.decaf_448_point_scalarmul
        self._precomputed = lib.decaf_448_precomputed_scalarmul
        self._double_public = lib.decaf_448_base_double_scalarmul_non_secret
        self._add = lib.decaf_448_point_add
        self._double = lib.decaf_448_point_double
        self._negate = lib.decaf_448_point_negate
        self._eq = lib.decaf_448_point_eq
        self._decode = lib.decaf_448_point_decode_like_eddsa_and_mul_by_ratio
        self._encode = lib.decaf_448_point_mul_by_ratio_and_encode_like_eddsa
        self._scalar_decode = lib.decaf_448_scalar_decode_long

    # -- helpers ------------------------------------------------------------------------------

    def _scalar(self, k: int) -> Any:
        s = _ScalarBuffer()
        self._scalar_decode(s, (k % _Q).to_bytes(_SCALAR_SIZE, "little"), _SCALAR_SIZE)
        return s

    def _fold(self, p: DecafPoint, k: int) -> int:
        """The scalar that, applied to ``p``'s buffer, gives ``k * X`` at scale 1."""
        return k if p.quarter else k * _INV4

    def _to_scale4(self, p: DecafPoint) -> Any:
        if not p.quarter:
            return p.buf
        out = _PointBuffer()
        self._double(out, p.buf)
        self._double(out, out)
        return out

    def _ecc(self, p: DecafPoint) -> Any:
        """``p`` as a pycryptodome point (the exact fallback arithmetic)."""
        if p.ecc is not None:
            return p.ecc
        data = self.encode(p)
        value = int.from_bytes(data, "little")
        return self._fast.decode(value & ~(1 << _SIGN_BIT), value >> _SIGN_BIT)

    def _wrap_ecc(self, ecc: Any) -> DecafPoint:
        return DecafPoint(None, False, ecc)

    def _in_subgroup(self, y: int, buf: Any, encoded: bytes) -> bool:
        """Whether the curve point with y-coordinate ``y`` (decoded into ``buf``) has order q."""
        if HAVE_GMPY2:
            return in_prime_order_subgroup(y)
        # enc(dec(X) / 4) is the prime-order component of X: equal to X iff X has no torsion
        out = _PointBuffer()
        self._scalarmul(out, buf, self._scalar(_INV4))
        return self._encoded(out) == encoded

    def _encoded(self, buf: Any) -> bytes:
        out = _EncodedBuffer()
        self._encode(out, buf)
        return bytes(out)

    def _decode_bytes(self, encoded: bytes) -> DecafPoint | None:
        """A point of the subgroup as a scale-4 buffer, an ``EccPoint`` outside it, or ``None``
        when no ``x`` exists.  ``encoded`` is canonical (``y < p``, no negative zero)."""
        value = int.from_bytes(encoded, "little")
        y, sign = value & ~(1 << _SIGN_BIT), value >> _SIGN_BIT
        if y == 1:  # the identity: libdecaf's decoder refuses x = 0
            return DecafPoint(self._identity_buf, True)
        if y == _P - 1:  # (0, -1), of order 2
            return self._wrap_ecc(self._fast.decode(y, sign))
        buf = _PointBuffer()
        if self._decode(buf, encoded) != _SUCCESS:
            return None  # (y^2 - 1) / (d y^2 - 1) is not a square: not on the curve
        if self._in_subgroup(y, buf, encoded):
            return DecafPoint(buf, False)
        return self._wrap_ecc(self._fast.decode(y, sign))

    # -- the Backend protocol -----------------------------------------------------------------

    def from_affine(self, x: int, y: int) -> DecafPoint:
        rep = self._decode_bytes((y | (x & 1) << _SIGN_BIT).to_bytes(_ENCODED, "little"))
        if rep is None:  # pragma: no cover - the caller checked the curve equation
            raise ValueError("not a curve point")
        return rep

    def to_affine(self, p: DecafPoint) -> tuple[int, int]:
        return self._fast.to_affine(self._ecc(p))

    def encode(self, p: DecafPoint) -> bytes:
        if p.ecc is not None:
            return self._fast.encode(p.ecc)
        if p.quarter:
            return self._encoded(p.buf)
        out = _PointBuffer()  # a scale-4 buffer that lost its bytes: divide by 4 first
        self._scalarmul(out, p.buf, self._scalar(_INV4))
        return self._encoded(out)

    def add(self, p1: DecafPoint, p2: DecafPoint) -> DecafPoint:
        if p1.ecc is not None or p2.ecc is not None:
            return self._wrap_ecc(self._ecc(p1) + self._ecc(p2))
        out = _PointBuffer()
        if p1.quarter == p2.quarter:
            self._add(out, p1.buf, p2.buf)
            return DecafPoint(out, p1.quarter)
        self._add(out, self._to_scale4(p1), self._to_scale4(p2))
        return DecafPoint(out, False)

    def negate(self, p: DecafPoint) -> DecafPoint:
        if p.ecc is not None:
            return self._wrap_ecc(-p.ecc)
        out = _PointBuffer()
        self._negate(out, p.buf)
        return DecafPoint(out, p.quarter)

    def multiply(self, p: DecafPoint, k: int) -> DecafPoint:
        if p.ecc is not None:
            return self._wrap_ecc(self._fast.multiply(p.ecc, k))
        out = _PointBuffer()
        self._scalarmul(out, p.buf, self._scalar(self._fold(p, k)))
        return DecafPoint(out, True)

    def base_multiply(self, k: int) -> DecafPoint:
        out = _PointBuffer()
        self._precomputed(out, self._base_table, self._scalar(k * _INV4))
        return DecafPoint(out, True)

    def multiply_public(self, p: DecafPoint, k: int) -> DecafPoint:
        # libdecaf has no variable-time single multiplication faster than its
        # constant-time one (the non-secret double multiplication with a zero first
        # scalar costs the same), so public scalars take the constant-time path too.
        return self.multiply(p, k)

    def base_double_multiply(self, a: int, p: DecafPoint, b: int, public: bool) -> DecafPoint:
        if p.ecc is not None:
            return self._wrap_ecc(self._fast.base_double_multiply(a, p.ecc, b, public))
        out = _PointBuffer()
        if public:  # variable time: both scalars are public (verification)
            if b % _Q == 0:
                # libdecaf 1.0.2 returns a wrong point when the second scalar is zero
                # (found by the property tests); G * a is what is asked for.
                return self.base_multiply(a)
            self._double_public(out, self._scalar(a * _INV4), p.buf,
                                self._scalar(self._fold(p, b)))
            return DecafPoint(out, True)
        # Constant time: the precomputed table and one variable-base multiplication
        # (47 + 175 us) beat libdecaf's constant-time double multiplication (263 us).
        other = _PointBuffer()
        self._precomputed(out, self._base_table, self._scalar(a * _INV4))
        self._scalarmul(other, p.buf, self._scalar(self._fold(p, b)))
        self._add(out, out, other)
        return DecafPoint(out, True)

    def equal(self, p1: DecafPoint, p2: DecafPoint) -> bool:
        if p1.ecc is not None or p2.ecc is not None:
            if p1.ecc is None or p2.ecc is None:
                return False  # one is in the prime-order subgroup, the other is not
            return bool(p1.ecc == p2.ecc)
        if p1.quarter == p2.quarter:
            return bool(self._eq(p1.buf, p2.buf))
        return bool(self._eq(self._to_scale4(p1), self._to_scale4(p2)))

    def is_identity(self, p: DecafPoint) -> bool:
        if p.ecc is not None:
            return self._fast.is_identity(p.ecc)
        return bool(self._eq(p.buf, self._identity_buf))

    def decode(self, y: int, sign: int) -> DecafPoint | None:
        return self._decode_bytes((y | sign << _SIGN_BIT).to_bytes(_ENCODED, "little"))

    def in_prime_order_subgroup(self, p: DecafPoint, y: int) -> bool:
        if p.ecc is None:
            return True  # a libdecaf buffer only ever holds a point of the subgroup
        return self._fast.in_prime_order_subgroup(p.ecc, y)


def load() -> DecafBackend | None:
    """The libdecaf backend, or ``None`` if ``libdecaf.so.0`` is missing or misbehaves.

    The probe: the library loads, has the functions this module calls, and
    computes the known answers ``G * 1``, ``G * 5`` (the encoding of
    RFC 8032's ``B`` and of ``5 B`` by a different path) as the reference
    backend does.
    """
    lib = open_library(LIBRARY_NAME, "decaf")
    if lib is None:
        return None
    try:
        backend = DecafBackend(lib)
        g = backend.decode(ed448_ref.GY, ed448_ref.GX & 1)
        five = ed448_ref.to_affine(ed448_ref.multiply(ed448_ref.BASE, 5))
        five_encoded = (five[1] | (five[0] & 1) << _SIGN_BIT).to_bytes(57, "little")
        ok = (
            g is not None
            and backend.encode(backend.base_multiply(1)) == _G_ENCODED
            and backend.encode(backend.multiply(g, 5)) == five_encoded
            and backend.encode(backend.base_double_multiply(2, g, 3, True)) == five_encoded
        )
    except (AttributeError, ValueError, OSError):  # pragma: no cover - a foreign build
        return None
    return backend if ok else None
