"""Ed448-Goldilocks points and scalars as OTRv4 uses them.

Implements ``otrv4.md`` §Elliptic Curve Parameters (the group, and
"Verifying that a point is on the curve"), §Considerations while working with
elliptic curve parameters (hashed and pruned random scalars), §Encoding and
Decoding (``POINT`` = RFC 8032 §5.2.2/§5.2.3, ``SCALAR`` = 57 bytes
little-endian, decoded modulo ``q``) and the group operations of §Notation and
§Elliptic Curve Operations.

:class:`Point` is an immutable value.  The arithmetic behind it comes from a
*backend*:

* ``"libdecaf"``: libdecaf, the Ed448-Goldilocks reference library, through
  :mod:`ctypes` (see :mod:`otrv4.primitives.ed448_decaf`); an optional
  accelerator, the default when ``libdecaf.so.0`` is installed (Debian/Ubuntu:
  ``apt-get install libdecaf0``) and passes its known-answer probe;
* ``"fast"``: pycryptodome's compiled code (see
  :mod:`otrv4.primitives.ed448_fast`), the default without libdecaf;
* ``"reference"``: short pure Python (see :mod:`otrv4.primitives.ed448_ref`).

All give identical results (every unit and vector test runs on each);
:func:`get_backend` names the one in use, :data:`BACKENDS` lists those
available, :func:`set_backend` or, for a block of code, :func:`using_backend`
switch.

Every point received from a peer must go through :meth:`Point.decode`, which
applies, in this order, and with one error class per rule:

====================================  =============================
rule                                  error
====================================  =============================
exactly 57 bytes                      :class:`PointLengthError`
``y < p`` (bits 448-454 clear)        :class:`NonCanonicalPointError`
not ``x = 0`` with the sign bit set   :class:`NegativeZeroPointError`
``x`` exists (the point is on curve)  :class:`PointNotOnCurveError`
not the identity ``(0, 1)``           :class:`IdentityPointError`
not of order 2 or 4                   :class:`SmallOrderPointError`
``q * X = I`` (prime-order subgroup)  :class:`PointNotInSubgroupError`
====================================  =============================

All of them subclass :class:`InvalidPointError` (a
:class:`~otrv4.errors.ValidationError`); :class:`PointLengthError` is also a
:class:`~otrv4.errors.DecodeError`.  :class:`SmallOrderPointError` is a
:class:`PointNotInSubgroupError` (it breaks the same rule; it gets its own
class because such points are what a small-subgroup attack sends).

Scalars.  ``SCALAR`` decoding follows the spec: the 57-byte little-endian
value is reduced modulo ``q``, so values ``>= q`` are *accepted*
(:func:`decode_scalar`).  This is deliberate: the spec's ring signature and
SMP send freshly pruned random values, which always lie in ``[2^447, 2^448)``
and so above ``q``; an implementation that sends them unreduced follows the
text and must interoperate.  :func:`decode_canonical_scalar` is the strict
form (RFC 8032's ``S < L`` check) for places that need it.  Our own encoder
:func:`encode_scalar` always writes the reduced value.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final, Protocol

from ..errors import DecodeError, ValidationError
from . import ed448_decaf, ed448_ref
from .ed448_fast import FastBackend
from .ed448_ref import ReferenceBackend
from .rng import Rng

__all__ = [
    "BACKENDS",
    "COFACTOR",
    "DEFAULT_BACKEND",
    "IDENTITY",
    "POINT_BYTES",
    "SCALAR_BYTES",
    "Backend",
    "D",
    "G",
    "IdentityPointError",
    "InvalidPointError",
    "InvalidScalarError",
    "NegativeZeroPointError",
    "NonCanonicalPointError",
    "NonCanonicalScalarError",
    "P",
    "Point",
    "PointLengthError",
    "PointNotInSubgroupError",
    "PointNotOnCurveError",
    "Q",
    "ScalarLengthError",
    "SmallOrderPointError",
    "base_mul",
    "base_mul_add",
    "decode_canonical_scalar",
    "decode_scalar",
    "encode_scalar",
    "get_backend",
    "hash_and_prune",
    "prune",
    "random_scalar",
    "set_backend",
    "using_backend",
]

P: Final = ed448_ref.P
"""The field prime ``2^448 - 2^224 - 1``."""

Q: Final = ed448_ref.Q
"""The prime order ``q`` of the base point ``G``."""

COFACTOR: Final = 4
"""The curve has ``COFACTOR * Q`` points."""

D: Final = -39081
"""The curve constant ``d`` (as a signed integer; ``D % P`` is the field element)."""

POINT_BYTES: Final = 57
SCALAR_BYTES: Final = 57

_GROUP_ORDER: Final = COFACTOR * Q  # k * X == (k mod 4q) * X for every curve point X
_SIGN_BIT: Final = 455
_IDENTITY_ENCODED: Final = (1).to_bytes(POINT_BYTES, "little")


# -- errors ---------------------------------------------------------------------------------


class InvalidPointError(ValidationError):
    """57 bytes (or coordinates) that are not an acceptable Ed448 point."""


class PointLengthError(InvalidPointError, DecodeError):
    """A ``POINT`` that is not exactly 57 bytes long."""


class NonCanonicalPointError(InvalidPointError):
    """A coordinate outside ``[0, p - 1]``: in an encoding, ``y >= p`` (RFC 8032 §5.2.3 step 2)."""


class NegativeZeroPointError(InvalidPointError):
    """An encoding whose ``x`` is 0 but whose sign bit is 1 (RFC 8032 §5.2.3 step 4)."""


class PointNotOnCurveError(InvalidPointError):
    """Coordinates that do not satisfy the curve equation (for an encoding: no ``x`` exists)."""


class IdentityPointError(InvalidPointError):
    """The identity ``(0, 1)``, which otrv4.md §Verifying that a point is on the curve rejects."""


class PointNotInSubgroupError(InvalidPointError):
    """A point ``X`` with ``q * X != I``: outside the prime-order subgroup."""


class SmallOrderPointError(PointNotInSubgroupError):
    """One of the three points of order 2 or 4: ``(0, -1)``, ``(1, 0)``, ``(-1, 0)``."""


class InvalidScalarError(ValidationError):
    """57 bytes that are not an acceptable ``SCALAR``."""


class ScalarLengthError(InvalidScalarError, DecodeError):
    """A ``SCALAR`` that is not exactly 57 bytes long."""


class NonCanonicalScalarError(InvalidScalarError):
    """A scalar encoding whose value is ``>= q`` where the canonical form is required."""


# -- backends -------------------------------------------------------------------------------


class Backend(Protocol):
    """What a backend provides: group arithmetic on its own point representation.

    Representations are opaque to this module.  ``multiply`` receives
    ``0 <= k < 4q``; ``decode`` receives ``0 <= y < p`` and the sign bit and
    returns ``None`` when no ``x`` exists; ``encode`` returns the 57-byte RFC
    8032 encoding; ``in_prime_order_subgroup`` receives a point and its
    y-coordinate and answers whether ``q * X`` is the identity.
    """

    name: str

    def from_affine(self, x: int, y: int) -> Any: ...
    def to_affine(self, p: Any) -> tuple[int, int]: ...
    def encode(self, p: Any) -> bytes: ...
    def add(self, p1: Any, p2: Any) -> Any: ...
    def negate(self, p: Any) -> Any: ...
    def multiply(self, p: Any, k: int) -> Any: ...
    def base_multiply(self, k: int) -> Any: ...
    def multiply_public(self, p: Any, k: int) -> Any: ...
    def base_double_multiply(self, a: int, p: Any, b: int, public: bool) -> Any: ...
    def equal(self, p1: Any, p2: Any) -> bool: ...
    def is_identity(self, p: Any) -> bool: ...
    def decode(self, y: int, sign: int) -> Any: ...
    def in_prime_order_subgroup(self, p: Any, y: int) -> bool: ...


BACKENDS: Final[dict[str, Backend]] = {
    "fast": FastBackend(),
    "reference": ReferenceBackend(),
}
"""The available backends by name: ``"fast"`` and ``"reference"`` always, ``"libdecaf"``
when its library loaded."""

_decaf = ed448_decaf.load()
if _decaf is not None:
    BACKENDS["libdecaf"] = _decaf

DEFAULT_BACKEND: Final = "libdecaf" if _decaf is not None else "fast"
"""The backend in use unless :func:`set_backend` says otherwise: ``"libdecaf"`` when it
loaded, else ``"fast"``."""

_current: Backend = BACKENDS[DEFAULT_BACKEND]


def set_backend(name: str) -> None:
    """Make ``name`` (a key of :data:`BACKENDS`) the backend of every later operation.

    Existing :class:`Point` values keep working (they are converted on use).
    Raises :class:`ValueError` for an unknown name, or for ``"libdecaf"`` when
    the library is not installed.
    """
    global _current
    if name not in BACKENDS:
        if name == "libdecaf":
            raise ValueError(
                f"the libdecaf Ed448 backend is not available: {ed448_decaf.LIBRARY_NAME} did "
                "not load (apt-get install libdecaf0)"
            )
        raise ValueError(f"unknown Ed448 backend {name!r}; choose from {sorted(BACKENDS)}")
    _current = BACKENDS[name]


def get_backend() -> str:
    """The name of the backend in use."""
    return _current.name


@contextmanager
def using_backend(name: str) -> Iterator[None]:
    """Run a ``with`` block on backend ``name``, then restore the previous one."""
    previous = get_backend()
    set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


# -- points ---------------------------------------------------------------------------------


class Point:
    """A point of Ed448-Goldilocks; an immutable, hashable value.

    Operators (otrv4.md §Notation): ``A + B``, ``A - B``, ``-A``, ``A * k`` and
    ``k * A`` for any ``int`` ``k`` (negative and unreduced values included;
    the product is exact for every curve point, not only for the prime-order
    subgroup), ``A == B``.  Build points with :meth:`decode` (received bytes),
    :func:`base_mul`, :data:`G`, :data:`IDENTITY` or :meth:`from_affine`.
    """

    __slots__ = ("_affine", "_encoded", "_reps")

    _reps: dict[str, Any]
    _affine: tuple[int, int] | None
    _encoded: bytes | None

    def __init__(self) -> None:
        raise TypeError("build points with Point.decode, Point.from_affine, base_mul, G, IDENTITY")

    @classmethod
    def _make(
        cls,
        backend: Backend,
        rep: Any,
        affine: tuple[int, int] | None = None,
        encoded: bytes | None = None,
    ) -> Point:
        self = object.__new__(cls)
        object.__setattr__(self, "_reps", {backend.name: rep})
        object.__setattr__(self, "_affine", affine)
        object.__setattr__(self, "_encoded", encoded)
        return self

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Point is immutable")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("Point is immutable")

    def __copy__(self) -> Point:
        return self  # immutable: a copy is the same value

    def __deepcopy__(self, memo: dict[int, object]) -> Point:
        return self

    def __reduce__(self) -> tuple[Any, tuple[bytes]]:
        return (Point.decode_rfc8032, (self.encode(),))

    def _rep(self, backend: Backend) -> Any:
        """This point in ``backend``'s representation (converted once, then cached)."""
        rep = self._reps.get(backend.name)
        if rep is None:
            x, y = self._xy()
            rep = backend.from_affine(x, y)
            self._reps[backend.name] = rep
        return rep

    def _xy(self) -> tuple[int, int]:
        affine = self._affine
        if affine is None:
            name, rep = next(iter(self._reps.items()))
            affine = BACKENDS[name].to_affine(rep)
            object.__setattr__(self, "_affine", affine)
        return affine

    def _encode_rep(self) -> bytes:
        """The encoding, from the first representation this point was given."""
        name, rep = next(iter(self._reps.items()))
        return BACKENDS[name].encode(rep)

    def _y_coordinate(self) -> int:
        """``y``, from the encoding when there is one (no inversion needed)."""
        if self._affine is None:
            return int.from_bytes(self.encode(), "little") & ~(1 << _SIGN_BIT)
        return self._affine[1]

    # construction ---------------------------------------------------------------------------

    @classmethod
    def from_affine(cls, x: int, y: int) -> Point:
        """The point ``(x, y)``, after checking ``0 <= x, y < p`` and the curve equation.

        Does *not* apply the identity and subgroup rules (call :meth:`validate`).
        Raises :class:`NonCanonicalPointError` (a coordinate out of range) or
        :class:`PointNotOnCurveError`.
        """
        if not (0 <= x < P and 0 <= y < P):
            raise NonCanonicalPointError("a coordinate is outside [0, p - 1]")
        if not ed448_ref.is_on_curve(x, y):
            raise PointNotOnCurveError("(x, y) does not satisfy the curve equation")
        return cls._make(_current, _current.from_affine(x, y), affine=(x, y))

    @classmethod
    def decode_rfc8032(cls, data: bytes) -> Point:
        """Decode a 57-byte encoding exactly as RFC 8032 §5.2.3 does, and nothing more.

        Accepts the identity and points outside the prime-order subgroup; use
        :meth:`decode` for anything received in OTRv4.  Raises
        :class:`PointLengthError`, :class:`NonCanonicalPointError`,
        :class:`NegativeZeroPointError` or :class:`PointNotOnCurveError`.
        """
        data = bytes(data)
        if len(data) != POINT_BYTES:
            raise PointLengthError(f"a POINT is {POINT_BYTES} bytes, got {len(data)}")
        value = int.from_bytes(data, "little")
        sign = value >> _SIGN_BIT & 1
        y = value & ~(1 << _SIGN_BIT)
        if y >= P:
            raise NonCanonicalPointError("the encoded y-coordinate is not below p")
        if sign and y in (1, P - 1):  # the only y values with x = 0
            raise NegativeZeroPointError("x is 0 but the sign bit is set")
        rep = _current.decode(y, sign)
        if rep is None:
            raise PointNotOnCurveError("no x-coordinate exists for this y")
        return cls._make(_current, rep, encoded=data)

    @classmethod
    def decode(cls, data: bytes) -> Point:
        """Decode and validate a received ``POINT`` (otrv4.md §Encoding and Decoding, §Verifying
        that a point is on the curve).

        Raises one of the :class:`InvalidPointError` subclasses in the table of
        the module docstring.  The ``q * X = I`` rule costs one scalar
        multiplication on the reference backend; the fast and libdecaf backends
        answer the same question with one square root and two Jacobi symbols
        (:func:`otrv4.primitives.ed448_fast.in_prime_order_subgroup`).
        """
        point = cls.decode_rfc8032(data)
        point.validate()
        return point

    def validate(self) -> None:
        """Apply otrv4.md §Verifying that a point is on the curve to this point.

        Raises :class:`IdentityPointError`, :class:`SmallOrderPointError` or
        :class:`PointNotInSubgroupError`.  (Range and curve membership hold for
        every :class:`Point` by construction.)
        """
        backend = _current
        rep = self._rep(backend)
        if backend.is_identity(rep):
            raise IdentityPointError("the identity element is not an acceptable point")
        if not backend.in_prime_order_subgroup(rep, self._y_coordinate()):
            if backend.is_identity(backend.multiply(rep, COFACTOR)):
                raise SmallOrderPointError("the point has order 2 or 4")
            raise PointNotInSubgroupError("q * X is not the identity")

    # values ---------------------------------------------------------------------------------

    def encode(self) -> bytes:
        """The 57-byte ``POINT`` encoding (RFC 8032 §5.2.2): ``y`` little-endian, bit 455 = ``x``
        mod 2."""
        encoded = self._encoded
        if encoded is None:
            affine = self._affine
            encoded = (self._encode_rep() if affine is None
                       else ed448_ref.encode_affine(*affine))
            object.__setattr__(self, "_encoded", encoded)
        return encoded

    def __bytes__(self) -> bytes:
        return self.encode()

    @property
    def x(self) -> int:
        """The affine x-coordinate, in ``[0, p)``."""
        return self._xy()[0]

    @property
    def y(self) -> int:
        """The affine y-coordinate, in ``[0, p)``."""
        return self._xy()[1]

    def is_identity(self) -> bool:
        """Whether this is the neutral element ``(0, 1)``."""
        if self._encoded is not None:
            return self._encoded == _IDENTITY_ENCODED
        return _current.is_identity(self._rep(_current))

    # arithmetic -----------------------------------------------------------------------------

    def __add__(self, other: object) -> Point:
        if not isinstance(other, Point):
            return NotImplemented
        b = _current
        return Point._make(b, b.add(self._rep(b), other._rep(b)))

    def __neg__(self) -> Point:
        b = _current
        return Point._make(b, b.negate(self._rep(b)))

    def __sub__(self, other: object) -> Point:
        if not isinstance(other, Point):
            return NotImplemented
        b = _current
        return Point._make(b, b.add(self._rep(b), b.negate(other._rep(b))))

    def __mul__(self, k: object) -> Point:
        if not isinstance(k, int):
            return NotImplemented
        b = _current
        return Point._make(b, b.multiply(self._rep(b), k % _GROUP_ORDER))

    __rmul__ = __mul__

    def multiply_public(self, k: int) -> Point:
        """``k * self`` for a *public* scalar ``k`` (verification): the same point as
        ``self * k``, computed without the side-channel protections a secret needs
        (on the fast backend: no blinding, a variable-time ladder, a third faster)."""
        b = _current
        return Point._make(b, b.multiply_public(self._rep(b), k % _GROUP_ORDER))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Point):
            return NotImplemented
        if self is other:
            return True
        if self._encoded is not None and other._encoded is not None:
            return self._encoded == other._encoded  # the encoding is one-to-one
        b = _current
        return b.equal(self._rep(b), other._rep(b))

    def __hash__(self) -> int:
        return hash(self.encode())

    def __repr__(self) -> str:
        return f"Point.decode(bytes.fromhex({self.encode().hex()!r}))"


G: Final = Point._make(_current, _current.from_affine(ed448_ref.GX, ed448_ref.GY),
                       affine=(ed448_ref.GX, ed448_ref.GY))
"""The base point of otrv4.md §Elliptic Curve Parameters (RFC 8032's ``B``)."""

IDENTITY: Final = Point._make(_current, _current.from_affine(0, 1), affine=(0, 1))
"""The neutral element ``(0, 1)``."""


def base_mul(k: int) -> Point:
    """``G * k`` (fixed-base multiplication) for any integer ``k``."""
    b = _current
    return Point._make(b, b.base_multiply(k % Q))


def base_mul_add(a: int, point: Point, b: int, *, public: bool = False) -> Point:
    """``G * a + point * b``: the double-base multiplication of the ring signature and of
    EdDSA verification.

    The reference backend computes it with one Straus-Shamir chain; the fast
    backend with two compiled multiplications (faster there, see
    :meth:`otrv4.primitives.ed448_fast.FastBackend.base_double_multiply`); the
    libdecaf backend with its precomputed table for ``G * a`` and a
    constant-time multiplication, or, for ``public=True``, with its
    variable-time double multiplication.  ``public=True`` says both scalars
    are public (verification), which lets a backend skip the protections a
    secret scalar needs.  Same point either way.  Raises nothing.
    """
    bk = _current
    return Point._make(bk, bk.base_double_multiply(a % Q, point._rep(bk), b % _GROUP_ORDER,
                                                  public))


# -- scalars --------------------------------------------------------------------------------


def encode_scalar(k: int) -> bytes:
    """The ``SCALAR`` encoding of ``k mod q``: 57 bytes, little-endian (otrv4.md §Scalar)."""
    return (k % Q).to_bytes(SCALAR_BYTES, "little")


def decode_scalar(data: bytes) -> int:
    """Decode a ``SCALAR`` as otrv4.md §Scalar says: little-endian value, reduced modulo ``q``.

    Values ``>= q`` are accepted and reduced (see the module docstring).
    Raises :class:`ScalarLengthError` unless ``data`` is 57 bytes.
    """
    if len(data) != SCALAR_BYTES:
        raise ScalarLengthError(f"a SCALAR is {SCALAR_BYTES} bytes, got {len(data)}")
    return int.from_bytes(data, "little") % Q


def decode_canonical_scalar(data: bytes) -> int:
    """Decode a 57-byte little-endian scalar that must already be below ``q`` (RFC 8032 §5.2.7).

    Raises :class:`ScalarLengthError` or :class:`NonCanonicalScalarError`.
    """
    if len(data) != SCALAR_BYTES:
        raise ScalarLengthError(f"a SCALAR is {SCALAR_BYTES} bytes, got {len(data)}")
    value = int.from_bytes(data, "little")
    if value >= Q:
        raise NonCanonicalScalarError("the scalar is not below q")
    return value


def prune(buffer: bytes) -> bytes:
    """Prune a 57-byte buffer (otrv4.md §Considerations while working with elliptic curve
    parameters; RFC 8032 §5.2.5): clear the two low bits of byte 0, clear byte 56,
    set the top bit of byte 55.

    Raises :class:`ValueError` unless ``buffer`` is 57 bytes (a programming error:
    buffers come from a hash, never from the wire).
    """
    if len(buffer) != SCALAR_BYTES:
        raise ValueError(f"prune takes {SCALAR_BYTES} bytes, got {len(buffer)}")
    b = bytearray(buffer)
    b[0] &= 0xFC
    b[56] = 0
    b[55] |= 0x80
    return bytes(b)


def hash_and_prune(value: bytes) -> int:
    """``LE(prune(SHAKE-256(value, 57)))``: the secret-scalar derivation of otrv4.md
    §Considerations while working with elliptic curve parameters.

    The result lies in ``[2^447, 2^448)``, i.e. above ``q``; it is not reduced.
    """
    return int.from_bytes(prune(hashlib.shake_256(value).digest(SCALAR_BYTES)), "little")


def random_scalar(rng: Rng) -> int:
    """A random value in ``Z_q`` as otrv4.md prescribes for SMP and the ring signature.

    Draws 57 bytes ``v`` from ``rng`` (one draw), and returns
    ``hash_and_prune(v) mod q``: the spec's hashed and pruned value, as the
    element of ``Z_q`` it stands for (every use is modulo ``q`` or multiplies
    a point of order ``q``, so the reduction changes no result).
    """
    return hash_and_prune(rng.random_bytes(SCALAR_BYTES)) % Q
