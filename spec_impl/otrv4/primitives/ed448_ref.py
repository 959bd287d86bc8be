"""Ed448-Goldilocks group arithmetic in plain Python: the readable reference.

This is the backend a client author should read.  It implements, with nothing
but Python integers:

* the curve of ``otrv4.md`` §Elliptic Curve Parameters (RFC 8032 §5.2):
  the untwisted Edwards curve ``x^2 + y^2 = 1 + d*x^2*y^2`` over GF(p) with
  ``p = 2^448 - 2^224 - 1`` and ``d = -39081``;
* point addition in projective coordinates ``(X : Y : Z)``, ``x = X/Z``,
  ``y = Y/Z``, with the complete formula of ``otrv4.md`` §Elliptic Curve
  Operations (add-2007-bl, valid for every pair of curve points, including
  doubling and the identity ``(0 : 1 : 1)``);
* scalar multiplication by double-and-add;
* recovery of ``x`` from ``y`` and its sign bit (``otrv4.md`` §Encoding and
  Decoding / RFC 8032 §5.2.3, steps 2-4).

It is slow (a few milliseconds per scalar multiplication) and makes no attempt
to run in constant time.  The encoding rules and the validation of received
points (identity, canonical form, subgroup membership) are not here but in
:mod:`otrv4.primitives.ed448`, which uses this module or the fast one
(:mod:`otrv4.primitives.ed448_fast`) behind one :class:`~otrv4.primitives.ed448.Point`
type.  Nothing in this module raises: invalid input is the caller's business.
"""

from __future__ import annotations

__all__ = [
    "BASE",
    "GX",
    "GY",
    "IDENTITY",
    "D",
    "P",
    "Projective",
    "Q",
    "ReferenceBackend",
    "add",
    "double_multiply",
    "encode_affine",
    "equal",
    "from_affine",
    "is_identity",
    "is_on_curve",
    "multiply",
    "negate",
    "recover_x",
    "to_affine",
]

P = 2**448 - 2**224 - 1
"""The field prime."""

Q = 2**446 - 13818066809895115352007386748515426880336692474882178609894547503885
"""The prime order of the base point; the whole curve has ``4 * Q`` points."""

D = -39081 % P
"""The curve constant ``d`` (a non-square modulo ``P``), as a field element."""

GX = int(
    "22458004029592430018760433409989603624678964163256413424612546168695"
    "0415467406032909029192869357953282578032075146446173674602635247710"
)
GY = int(
    "29881921007848149267601793044393067343754404015408024209592824137233"
    "1506189835876003536878655418784733982303233503462500531545062832660"
)

Projective = tuple[int, int, int]
"""A point ``(X, Y, Z)`` with ``Z != 0`` standing for the affine point ``(X/Z, Y/Z)``."""

IDENTITY: Projective = (0, 1, 1)
BASE: Projective = (GX, GY, 1)


def inverse(a: int) -> int:
    """``1/a`` in GF(p), by Fermat's little theorem (``a`` must not be 0)."""
    return pow(a, P - 2, P)


def encode_affine(x: int, y: int) -> bytes:
    """The 57-byte RFC 8032 §5.2.2 encoding of ``(x, y)``: ``y`` little-endian, bit 455 =
    ``x`` mod 2."""
    return (y | (x & 1) << 455).to_bytes(57, "little")


def is_on_curve(x: int, y: int) -> bool:
    """Whether the affine point ``(x, y)``, both in ``[0, P)``, satisfies the curve equation."""
    xx, yy = x * x % P, y * y % P
    return (xx + yy - 1 - D * xx * yy) % P == 0


def from_affine(x: int, y: int) -> Projective:
    """The projective form of the affine point ``(x, y)``."""
    return (x % P, y % P, 1)


def to_affine(p: Projective) -> tuple[int, int]:
    """The affine coordinates ``(x, y)`` of ``p``, each in ``[0, P)``."""
    x, y, z = p
    zi = inverse(z)
    return (x * zi % P, y * zi % P)


def add(p1: Projective, p2: Projective) -> Projective:
    """``p1 + p2``, with the complete formula of otrv4.md §Elliptic Curve Operations."""
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    a = z1 * z2 % P
    b = a * a % P
    c = x1 * x2 % P
    d = y1 * y2 % P
    e = D * c * d % P
    f = (b - e) % P
    g = (b + e) % P
    h = (x1 + y1) * (x2 + y2) % P
    x3 = a * f * (h - c - d) % P
    y3 = a * g * (d - c) % P
    z3 = f * g % P
    return (x3, y3, z3)


def negate(p: Projective) -> Projective:
    """``-p``: on an Edwards curve, ``-(x, y) = (-x, y)``."""
    x, y, z = p
    return (-x % P, y, z)


def multiply(p: Projective, k: int) -> Projective:
    """``k * p`` for an integer ``k >= 0``, by double-and-add from the top bit down."""
    result = IDENTITY
    for bit in bin(k)[2:] if k else "":
        result = add(result, result)
        if bit == "1":
            result = add(result, p)
    return result


def double_multiply(k1: int, p1: Projective, k2: int, p2: Projective) -> Projective:
    """``k1 * p1 + k2 * p2`` for ``k1, k2 >= 0`` by Straus-Shamir's trick.

    One shared chain of doublings, and at each bit one addition of ``p1``,
    ``p2`` or the precomputed ``p1 + p2``: about 1.25 times the cost of one
    :func:`multiply` instead of twice it.
    """
    both = add(p1, p2)
    table = (IDENTITY, p1, p2, both)
    result = IDENTITY
    for n in range(max(k1.bit_length(), k2.bit_length()) - 1, -1, -1):
        result = add(result, result)
        index = (k1 >> n & 1) | (k2 >> n & 1) << 1
        if index:
            result = add(result, table[index])
    return result


def equal(p1: Projective, p2: Projective) -> bool:
    """Whether two projective triples stand for the same affine point."""
    x1, y1, z1 = p1
    x2, y2, z2 = p2
    return (x1 * z2 - x2 * z1) % P == 0 and (y1 * z2 - y2 * z1) % P == 0


def is_identity(p: Projective) -> bool:
    """Whether ``p`` is the neutral element ``(0, 1)``."""
    return equal(p, IDENTITY)


def recover_x(y: int, sign: int) -> int | None:
    """The ``x`` with ``(x, y)`` on the curve and ``x mod 2 == sign``, or ``None``.

    RFC 8032 §5.2.3 steps 2-4 for a ``y`` already known to be below ``P``:
    ``x^2 = (y^2 - 1) / (d*y^2 - 1)``; the candidate root is
    ``u^3 * v * (u^5 * v^3)^((p-3)/4)`` with ``u = y^2 - 1``, ``v = d*y^2 - 1``
    (one exponentiation does both the division and the square root, because
    ``p = 3 (mod 4)``).  ``None`` when ``u/v`` is not a square, or when ``x = 0``
    but ``sign = 1`` (zero has no negative).
    """
    u = (y * y - 1) % P
    v = (D * y * y - 1) % P
    x = u**3 * v * pow(u**5 * v**3 % P, (P - 3) // 4, P) % P
    if v * x * x % P != u:
        return None
    if x == 0 and sign == 1:
        return None
    if x % 2 != sign:
        x = P - x
    return x


class ReferenceBackend:
    """This module behind the backend interface that :mod:`otrv4.primitives.ed448` uses."""

    name = "reference"

    def from_affine(self, x: int, y: int) -> Projective:
        return from_affine(x, y)

    def to_affine(self, p: Projective) -> tuple[int, int]:
        return to_affine(p)

    def encode(self, p: Projective) -> bytes:
        return encode_affine(*to_affine(p))

    def add(self, p1: Projective, p2: Projective) -> Projective:
        return add(p1, p2)

    def negate(self, p: Projective) -> Projective:
        return negate(p)

    def multiply(self, p: Projective, k: int) -> Projective:
        return multiply(p, k)

    def base_multiply(self, k: int) -> Projective:
        return multiply(BASE, k)

    def multiply_public(self, p: Projective, k: int) -> Projective:
        return multiply(p, k)

    def base_double_multiply(self, a: int, p: Projective, b: int, public: bool) -> Projective:
        del public  # the reference code is never constant-time
        return double_multiply(a, BASE, b, p)

    def equal(self, p1: Projective, p2: Projective) -> bool:
        return equal(p1, p2)

    def is_identity(self, p: Projective) -> bool:
        return is_identity(p)

    def decode(self, y: int, sign: int) -> Projective | None:
        x = recover_x(y, sign)
        return None if x is None else from_affine(x, y)

    def in_prime_order_subgroup(self, p: Projective, y: int) -> bool:
        return is_identity(multiply(p, Q))
