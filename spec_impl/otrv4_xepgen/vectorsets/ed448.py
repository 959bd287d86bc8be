"""Vectors for Ed448: points, EdDSA, ECDH and the typed public keys.

Four files:

* ``ed448-points`` — scalar multiples of ``G`` and their ``POINT`` encodings,
  point additions, and received encodings that must decode or be rejected
  (one group per rule of otrv4.md §Verifying that a point is on the curve and
  RFC 8032 §5.2.3, each invalid case naming its error class);
* ``eddsa-ed448`` — the Ed448 test vectors of RFC 8032 §7.4, deterministic
  extra signatures, and signatures that must not verify;
* ``ecdh-ed448`` — ``generateECDH()`` from listed random draws, shared secrets
  ``K_ecdh``, and the inputs ``ECDH`` must refuse;
* ``pubkey-encoding`` — ED448-PUBKEY / -SHARED-PREKEY / -FORGING-KEY with the
  type code big-endian (ambiguity 5) and the encodings that must be refused.

Byte strings are hex; integers larger than 2^53 are decimal strings.  Scalars
given as bytes are 57-byte little-endian.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Final

from otrv4.primitives import ed448
from otrv4.primitives.ecdh import ECDHKeyPair, ZeroSharedSecretError, ecdh, generate_ecdh
from otrv4.primitives.ed448 import (
    G,
    IdentityPointError,
    NegativeZeroPointError,
    NonCanonicalPointError,
    P,
    Point,
    PointLengthError,
    PointNotInSubgroupError,
    PointNotOnCurveError,
    Q,
    SmallOrderPointError,
    base_mul,
    prune,
    random_scalar,
)
from otrv4.primitives.eddsa import (
    SignatureLengthError,
    SignatureMismatchError,
    SignaturePointError,
    SignatureScalarError,
    public_key_from_secret,
    sign,
    verify,
)
from otrv4.primitives.keytypes import (
    DECISION_5,
    KeyType,
    PublicKeyLengthError,
    PublicKeyTypeError,
    decode_typed_key,
    encode_typed_key,
)
from otrv4.primitives.rng import DeterministicRng, RecordingRng

from ..vectors import TestCase, TestGroup, VectorFile

__all__ = [
    "RFC8032_ED448_VECTORS",
    "VECTOR_FILES",
    "RFC8032Vector",
    "ecdh_vectors",
    "eddsa_vectors",
    "point_vectors",
    "pubkey_vectors",
]


@dataclass(frozen=True)
class RFC8032Vector:
    """One Ed448 test vector of RFC 8032 §7.4 (all fields hex)."""

    name: str
    secret: str
    public: str
    message: str
    context: str
    signature: str


RFC8032_ED448_VECTORS: Final[tuple[RFC8032Vector, ...]] = (
    RFC8032Vector(
        name="blank",
        secret=(
            "6c82a562cb808d10d632be89c8513ebf6c929f34ddfa8c9f63c9960ef6e348a3"
            "528c8a3fcc2f044e39a3fc5b94492f8f032e7549a20098f95b"
        ),
        public=(
            "5fd7449b59b461fd2ce787ec616ad46a1da1342485a70e1f8a0ea75d80e96778"
            "edf124769b46c7061bd6783df1e50f6cd1fa1abeafe8256180"
        ),
        message="",
        context="",
        signature=(
            "533a37f6bbe457251f023c0d88f976ae2dfb504a843e34d2074fd823d41a591f"
            "2b233f034f628281f2fd7a22ddd47d7828c59bd0a21bfd3980ff0d2028d4b18a"
            "9df63e006c5d1c2d345b925d8dc00b4104852db99ac5c7cdda8530a113a0f4db"
            "b61149f05a7363268c71d95808ff2e652600"
        ),
    ),
    RFC8032Vector(
        name="1 octet",
        secret=(
            "c4eab05d357007c632f3dbb48489924d552b08fe0c353a0d4a1f00acda2c463a"
            "fbea67c5e8d2877c5e3bc397a659949ef8021e954e0a12274e"
        ),
        public=(
            "43ba28f430cdff456ae531545f7ecd0ac834a55d9358c0372bfa0c6c6798c086"
            "6aea01eb00742802b8438ea4cb82169c235160627b4c3a9480"
        ),
        message="03",
        context="",
        signature=(
            "26b8f91727bd62897af15e41eb43c377efb9c610d48f2335cb0bd0087810f435"
            "2541b143c4b981b7e18f62de8ccdf633fc1bf037ab7cd779805e0dbcc0aae1cb"
            "cee1afb2e027df36bc04dcecbf154336c19f0af7e0a6472905e799f1953d2a0f"
            "f3348ab21aa4adafd1d234441cf807c03a00"
        ),
    ),
    RFC8032Vector(
        name="1 octet (with context)",
        secret=(
            "c4eab05d357007c632f3dbb48489924d552b08fe0c353a0d4a1f00acda2c463a"
            "fbea67c5e8d2877c5e3bc397a659949ef8021e954e0a12274e"
        ),
        public=(
            "43ba28f430cdff456ae531545f7ecd0ac834a55d9358c0372bfa0c6c6798c086"
            "6aea01eb00742802b8438ea4cb82169c235160627b4c3a9480"
        ),
        message="03",
        context="666f6f",
        signature=(
            "d4f8f6131770dd46f40867d6fd5d5055de43541f8c5e35abbcd001b32a89f7d2"
            "151f7647f11d8ca2ae279fb842d607217fce6e042f6815ea000c85741de5c8da"
            "1144a6a1aba7f96de42505d7a7298524fda538fccbbb754f578c1cad10d54d0d"
            "5428407e85dcbc98a49155c13764e66c3c00"
        ),
    ),
    RFC8032Vector(
        name="11 octets",
        secret=(
            "cd23d24f714274e744343237b93290f511f6425f98e64459ff203e8985083ffd"
            "f60500553abc0e05cd02184bdb89c4ccd67e187951267eb328"
        ),
        public=(
            "dcea9e78f35a1bf3499a831b10b86c90aac01cd84b67a0109b55a36e9328b1e3"
            "65fce161d71ce7131a543ea4cb5f7e9f1d8b00696447001400"
        ),
        message="0c3e544074ec63b0265e0c",
        context="",
        signature=(
            "1f0a8888ce25e8d458a21130879b840a9089d999aaba039eaf3e3afa090a09d3"
            "89dba82c4ff2ae8ac5cdfb7c55e94d5d961a29fe0109941e00b8dbdeea6d3b05"
            "1068df7254c0cdc129cbe62db2dc957dbb47b51fd3f213fb8698f064774250a5"
            "028961c9bf8ffd973fe5d5c206492b140e00"
        ),
    ),
    RFC8032Vector(
        name="12 octets",
        secret=(
            "258cdd4ada32ed9c9ff54e63756ae582fb8fab2ac721f2c8e676a72768513d93"
            "9f63dddb55609133f29adf86ec9929dccb52c1c5fd2ff7e21b"
        ),
        public=(
            "3ba16da0c6f2cc1f30187740756f5e798d6bc5fc015d7c63cc9510ee3fd44adc"
            "24d8e968b6e46e6f94d19b945361726bd75e149ef09817f580"
        ),
        message="64a65f3cdedcdd66811e2915",
        context="",
        signature=(
            "7eeeab7c4e50fb799b418ee5e3197ff6bf15d43a14c34389b59dd1a7b1b85b4a"
            "e90438aca634bea45e3a2695f1270f07fdcdf7c62b8efeaf00b45c2c96ba457e"
            "b1a8bf075a3db28e5c24f6b923ed4ad747c3c9e03c7079efb87cb110d3a99861"
            "e72003cbae6d6b8b827e4e6c143064ff3c00"
        ),
    ),
    RFC8032Vector(
        name="13 octets",
        secret=(
            "7ef4e84544236752fbb56b8f31a23a10e42814f5f55ca037cdcc11c64c9a3b29"
            "49c1bb60700314611732a6c2fea98eebc0266a11a93970100e"
        ),
        public=(
            "b3da079b0aa493a5772029f0467baebee5a8112d9d3a22532361da294f7bb381"
            "5c5dc59e176b4d9f381ca0938e13c6c07b174be65dfa578e80"
        ),
        message="64a65f3cdedcdd66811e2915e7",
        context="",
        signature=(
            "6a12066f55331b6c22acd5d5bfc5d71228fbda80ae8dec26bdd306743c5027cb"
            "4890810c162c027468675ecf645a83176c0d7323a2ccde2d80efe5a1268e8aca"
            "1d6fbc194d3f77c44986eb4ab4177919ad8bec33eb47bbb5fc6e28196fd1caf5"
            "6b4e7e0ba5519234d047155ac727a1053100"
        ),
    ),
    RFC8032Vector(
        name="64 octets",
        secret=(
            "d65df341ad13e008567688baedda8e9dcdc17dc024974ea5b4227b6530e339bf"
            "f21f99e68ca6968f3cca6dfe0fb9f4fab4fa135d5542ea3f01"
        ),
        public=(
            "df9705f58edbab802c7f8363cfe5560ab1c6132c20a9f1dd163483a26f8ac53a"
            "39d6808bf4a1dfbd261b099bb03b3fb50906cb28bd8a081f00"
        ),
        message=(
            "bd0f6a3747cd561bdddf4640a332461a4a30a12a434cd0bf40d766d9c6d458e5"
            "512204a30c17d1f50b5079631f64eb3112182da3005835461113718d1a5ef944"
        ),
        context="",
        signature=(
            "554bc2480860b49eab8532d2a533b7d578ef473eeb58c98bb2d0e1ce488a98b1"
            "8dfde9b9b90775e67f47d4a1c3482058efc9f40d2ca033a0801b63d45b3b722e"
            "f552bad3b4ccb667da350192b61c508cf7b6b5adadc2c8d9a446ef003fb05cba"
            "5f30e88e36ec2703b349ca229c2670833900"
        ),
    ),
    RFC8032Vector(
        name="256 octets",
        secret=(
            "2ec5fe3c17045abdb136a5e6a913e32ab75ae68b53d2fc149b77e504132d3756"
            "9b7e766ba74a19bd6162343a21c8590aa9cebca9014c636df5"
        ),
        public=(
            "79756f014dcfe2079f5dd9e718be4171e2ef2486a08f25186f6bff43a9936b9b"
            "fe12402b08ae65798a3d81e22e9ec80e7690862ef3d4ed3a00"
        ),
        message=(
            "15777532b0bdd0d1389f636c5f6b9ba734c90af572877e2d272dd078aa1e567c"
            "fa80e12928bb542330e8409f3174504107ecd5efac61ae7504dabe2a602ede89"
            "e5cca6257a7c77e27a702b3ae39fc769fc54f2395ae6a1178cab4738e543072f"
            "c1c177fe71e92e25bf03e4ecb72f47b64d0465aaea4c7fad372536c8ba516a60"
            "39c3c2a39f0e4d832be432dfa9a706a6e5c7e19f397964ca4258002f7c0541b5"
            "90316dbc5622b6b2a6fe7a4abffd96105eca76ea7b98816af0748c10df048ce0"
            "12d901015a51f189f3888145c03650aa23ce894c3bd889e030d565071c59f409"
            "a9981b51878fd6fc110624dcbcde0bf7a69ccce38fabdf86f3bef6044819de11"
        ),
        context="",
        signature=(
            "c650ddbb0601c19ca11439e1640dd931f43c518ea5bea70d3dcde5f4191fe53f"
            "00cf966546b72bcc7d58be2b9badef28743954e3a44a23f880e8d4f1cfce2d7a"
            "61452d26da05896f0a50da66a239a8a188b6d825b3305ad77b73fbac0836ecc6"
            "0987fd08527c1a8e80d5823e65cafe2a3d00"
        ),
    ),
    RFC8032Vector(
        name="1023 octets",
        secret=(
            "872d093780f5d3730df7c212664b37b8a0f24f56810daa8382cd4fa3f77634ec"
            "44dc54f1c2ed9bea86fafb7632d8be199ea165f5ad55dd9ce8"
        ),
        public=(
            "a81b2e8a70a5ac94ffdbcc9badfc3feb0801f258578bb114ad44ece1ec0e799d"
            "a08effb81c5d685c0c56f64eecaef8cdf11cc38737838cf400"
        ),
        message=(
            "6ddf802e1aae4986935f7f981ba3f0351d6273c0a0c22c9c0e8339168e675412"
            "a3debfaf435ed651558007db4384b650fcc07e3b586a27a4f7a00ac8a6fec2cd"
            "86ae4bf1570c41e6a40c931db27b2faa15a8cedd52cff7362c4e6e23daec0fbc"
            "3a79b6806e316efcc7b68119bf46bc76a26067a53f296dafdbdc11c77f7777e9"
            "72660cf4b6a9b369a6665f02e0cc9b6edfad136b4fabe723d2813db3136cfde9"
            "b6d044322fee2947952e031b73ab5c603349b307bdc27bc6cb8b8bbd7bd32321"
            "9b8033a581b59eadebb09b3c4f3d2277d4f0343624acc817804728b25ab79717"
            "2b4c5c21a22f9c7839d64300232eb66e53f31c723fa37fe387c7d3e50bdf9813"
            "a30e5bb12cf4cd930c40cfb4e1fc622592a49588794494d56d24ea4b40c89fc0"
            "596cc9ebb961c8cb10adde976a5d602b1c3f85b9b9a001ed3c6a4d3b1437f520"
            "96cd1956d042a597d561a596ecd3d1735a8d570ea0ec27225a2c4aaff26306d1"
            "526c1af3ca6d9cf5a2c98f47e1c46db9a33234cfd4d81f2c98538a09ebe76998"
            "d0d8fd25997c7d255c6d66ece6fa56f11144950f027795e653008f4bd7ca2dee"
            "85d8e90f3dc315130ce2a00375a318c7c3d97be2c8ce5b6db41a6254ff264fa6"
            "155baee3b0773c0f497c573f19bb4f4240281f0b1f4f7be857a4e59d416c06b4"
            "c50fa09e1810ddc6b1467baeac5a3668d11b6ecaa901440016f389f80acc4db9"
            "77025e7f5924388c7e340a732e554440e76570f8dd71b7d640b3450d1fd5f041"
            "0a18f9a3494f707c717b79b4bf75c98400b096b21653b5d217cf3565c9597456"
            "f70703497a078763829bc01bb1cbc8fa04eadc9a6e3f6699587a9e75c94e5bab"
            "0036e0b2e711392cff0047d0d6b05bd2a588bc109718954259f1d86678a579a3"
            "120f19cfb2963f177aeb70f2d4844826262e51b80271272068ef5b3856fa8535"
            "aa2a88b2d41f2a0e2fda7624c2850272ac4a2f561f8f2f7a318bfd5caf969614"
            "9e4ac824ad3460538fdc25421beec2cc6818162d06bbed0c40a387192349db67"
            "a118bada6cd5ab0140ee273204f628aad1c135f770279a651e24d8c14d75a605"
            "9d76b96a6fd857def5e0b354b27ab937a5815d16b5fae407ff18222c6d1ed263"
            "be68c95f32d908bd895cd76207ae726487567f9a67dad79abec316f683b17f2d"
            "02bf07e0ac8b5bc6162cf94697b3c27cd1fea49b27f23ba2901871962506520c"
            "392da8b6ad0d99f7013fbc06c2c17a569500c8a7696481c1cd33e9b14e40b82e"
            "79a5f5db82571ba97bae3ad3e0479515bb0e2b0f3bfcd1fd33034efc6245eddd"
            "7ee2086ddae2600d8ca73e214e8c2b0bdb2b047c6a464a562ed77b73d2d841c4"
            "b34973551257713b753632efba348169abc90a68f42611a40126d7cb21b58695"
            "568186f7e569d2ff0f9e745d0487dd2eb997cafc5abf9dd102e62ff66cba87"
        ),
        context="",
        signature=(
            "e301345a41a39a4d72fff8df69c98075a0cc082b802fc9b2b6bc503f926b65bd"
            "df7f4c8f1cb49f6396afc8a70abe6d8aef0db478d4c6b2970076c6a0484fe76d"
            "76b3a97625d79f1ce240e7c576750d295528286f719b413de9ada3e8eb78ed57"
            "3603ce30d8bb761785dc30dbc320869e1a00"
        ),
    ),
)


def _hex(s: str) -> bytes:
    return bytes.fromhex(s)


def _draws(rec: RecordingRng) -> list[bytes]:
    return [d.value for d in rec.draws]


def _le(k: int) -> bytes:
    """A non-negative integer below 2^456 as 57 bytes, little-endian."""
    return k.to_bytes(57, "little")


def _raw_point(y: int, sign: int = 0) -> bytes:
    """The 57 bytes ``y | sign << 455``, whether or not they are a valid encoding."""
    return (y | sign << 455).to_bytes(57, "little")


# The points of order 2 and 4 (with the identity they form the 4-torsion subgroup).
_ORDER_2 = Point.from_affine(0, P - 1)
_ORDER_4_ODD = Point.from_affine(1, 0)  # x = 1 is odd: encodes as 00 .. 00 80
_ORDER_4_EVEN = Point.from_affine(P - 1, 0)  # x = p - 1 is even: encodes as 57 zero bytes


def _not_on_curve_y(rng: DeterministicRng) -> int:
    """A ``y < p`` (from the rng) for which no ``x`` exists."""
    while True:
        y = int.from_bytes(rng.random_bytes(56), "little") % P
        try:
            Point.decode_rfc8032(_raw_point(y))
        except PointNotOnCurveError:
            return y


def _point_case(comment: str, encoded: bytes, flags: list[str] | None = None) -> TestCase:
    point = Point.decode(encoded)
    return TestCase(
        comment=comment, result="valid", flags=flags or [],
        inputs={"encoded": encoded}, outputs={"x": point.x, "y": point.y},
    )


def _bad_point(comment: str, encoded: bytes, error: type[Exception], flag: str) -> TestCase:
    try:
        Point.decode(encoded)
    except error as exc:
        if type(exc) is not error:
            raise RuntimeError(f"{comment}: raised {type(exc).__name__}") from exc
    else:
        raise RuntimeError(f"{comment}: accepted")
    return TestCase(
        comment=comment, result="invalid", flags=[flag],
        inputs={"encoded": encoded}, expected_error=error.__name__,
    )


def point_vectors() -> VectorFile:
    """``ed448-points``: encodings of multiples of G, additions, and decoding/validation."""
    rng = DeterministicRng("ed448-points")

    mult_cases = []
    for comment, k in [("G * 1 = G", 1), ("G * 2", 2), ("G * 3", 3), ("G * (q - 1) = -G", Q - 1)]:
        point = base_mul(k)
        mult_cases.append(TestCase(
            comment=comment, result="valid", inputs={"k": k},
            outputs={"encoded": point.encode(), "x": point.x, "y": point.y},
        ))
    for i in range(4):
        rec = RecordingRng(rng)
        k = random_scalar(rec)
        point = base_mul(k)
        mult_cases.append(TestCase(
            comment=f"G * k for a random k (random value {i + 1})", result="valid",
            flags=["RandomScalar"], random_draws=_draws(rec),
            inputs={"k": k},
            intermediates={"prunedValue": ed448.hash_and_prune(rec.draws[0].value)},
            outputs={"encoded": point.encode(), "x": point.x, "y": point.y},
        ))

    add_cases = []
    for i in range(3):
        rec = RecordingRng(rng)
        a, b = base_mul(random_scalar(rec)), base_mul(random_scalar(rec))
        if i == 2:
            b = a  # doubling through the addition formula
        add_cases.append(TestCase(
            comment="A + A (doubling)" if i == 2 else f"A + B and A - B, random points {i + 1}",
            result="valid", flags=["Doubling"] if i == 2 else [], random_draws=_draws(rec),
            inputs={"a": a.encode(), "b": b.encode()},
            outputs={"sum": (a + b).encode(), "difference": (a - b).encode()},
        ))

    valid = [
        _point_case("the base point G", G.encode()),
        _point_case("G * 2", base_mul(2).encode()),
    ]
    for _ in range(4):
        point = base_mul(random_scalar(rng))
        sign = point.encode()[56] >> 7
        valid.append(_point_case(f"a random point (sign bit {sign})", point.encode()))

    y_off = _not_on_curve_y(rng)
    invalid = [
        _bad_point("the identity (0, 1)", _raw_point(1), IdentityPointError, "Identity"),
        _bad_point("(0, -1), of order 2", _ORDER_2.encode(), SmallOrderPointError, "SmallOrder"),
        _bad_point("(1, 0), of order 4", _ORDER_4_ODD.encode(), SmallOrderPointError,
                   "SmallOrder"),
        _bad_point("(-1, 0), of order 4: the all-zero encoding", _ORDER_4_EVEN.encode(),
                   SmallOrderPointError, "SmallOrder"),
        _bad_point("G + (0, -1): mixed order", (G + _ORDER_2).encode(),
                   PointNotInSubgroupError, "MixedOrder"),
        _bad_point("G * 5 + (1, 0): mixed order", (base_mul(5) + _ORDER_4_ODD).encode(),
                   PointNotInSubgroupError, "MixedOrder"),
        _bad_point("y = p (a non-canonical 0)", _raw_point(P), NonCanonicalPointError,
                   "NonCanonicalY"),
        _bad_point("y = p + 1 (a non-canonical 1, the identity)", _raw_point(P + 1),
                   NonCanonicalPointError, "NonCanonicalY"),
        _bad_point("y = 2^448 - 1", _raw_point(2**448 - 1), NonCanonicalPointError,
                   "NonCanonicalY"),
        _bad_point("G's encoding with bit 448 set (byte 56 = 0x01)",
                   _raw_point(G.y | 1 << 448), NonCanonicalPointError, "NonCanonicalY"),
        _bad_point("y = 1, sign bit 1: x = 0 cannot be negative", _raw_point(1, 1),
                   NegativeZeroPointError, "NegativeZero"),
        _bad_point("y = p - 1, sign bit 1: x = 0 cannot be negative", _raw_point(P - 1, 1),
                   NegativeZeroPointError, "NegativeZero"),
        _bad_point("y = 2: no x exists", _raw_point(2), PointNotOnCurveError, "NotOnCurve"),
        _bad_point("a random y with no x", _raw_point(y_off), PointNotOnCurveError,
                   "NotOnCurve"),
        _bad_point("G's encoding without its last byte", G.encode()[:56], PointLengthError,
                   "WrongLength"),
        _bad_point("G's encoding with a trailing zero byte", G.encode() + b"\x00",
                   PointLengthError, "WrongLength"),
        _bad_point("the empty string", b"", PointLengthError, "WrongLength"),
    ]
    return VectorFile(
        algorithm="OTRv4 Ed448-Goldilocks points",
        header=[
            "Ed448-Goldilocks as otrv4.md §Elliptic Curve Parameters defines it; POINT "
            "encoding of RFC 8032 §5.2.2.",
            "Ed448BaseMultiplication: encoded = POINT(G * k); random k = "
            "hash_and_prune(draw) mod q (otrv4.md §Considerations while working with elliptic "
            "curve parameters), prunedValue is the value before the reduction.",
            "Ed448Addition: sum = POINT(A + B), difference = POINT(A - B).",
            "Ed448PointValidation: decode with RFC 8032 §5.2.3, then reject the identity and "
            "any X with q * X != I (otrv4.md §Verifying that a point is on the curve).  The "
            "error names the first rule broken, in the order: length, y < p, negative zero, "
            "on curve, identity, small order, subgroup.",
        ],
        notes={
            "RandomScalar": "k is a random value in Z_q, derived from the listed draw",
            "Doubling": "both operands are the same point",
            "Identity": "the identity element (0, 1) must be rejected",
            "SmallOrder": "a point of order 2 or 4 (a small-subgroup attack) must be rejected",
            "MixedOrder": "a point of the prime-order subgroup plus a point of order 2 or 4: "
                          "on the curve, not in the subgroup (q * X != I)",
            "NonCanonicalY": "the encoded y is not below p (RFC 8032 §5.2.3 step 2)",
            "NegativeZero": "x = 0 with the sign bit set (RFC 8032 §5.2.3 step 4)",
            "NotOnCurve": "(y^2 - 1)/(d y^2 - 1) is not a square: no point has this y",
            "WrongLength": "a POINT is exactly 57 bytes",
        },
        groups=[
            TestGroup("Ed448BaseMultiplication", mult_cases,
                      comment="scalar multiples of the base point and their encodings"),
            TestGroup("Ed448Addition", add_cases, comment="point addition and subtraction"),
            TestGroup("Ed448PointValidation", valid + invalid,
                      comment="decoding and validating a received POINT"),
        ],
    )




def _expect_error(comment: str, error: type[Exception], call: Callable[[], object]) -> None:
    """Check, while producing, that ``call`` fails with exactly ``error``."""
    try:
        call()
    except error as exc:
        if type(exc) is not error:
            raise RuntimeError(f"{comment}: raised {type(exc).__name__}") from exc
        return
    raise RuntimeError(f"{comment}: did not fail")


def _sign_case(comment: str, secret: bytes, message: bytes, context: bytes,
               flags: list[str], draws: list[bytes], expected: bytes | None = None) -> TestCase:
    signature = sign(secret, message, context)
    if expected is not None and signature != expected:
        raise RuntimeError(f"{comment}: the signature differs from RFC 8032's")
    return TestCase(
        comment=comment, result="valid", flags=flags, random_draws=draws,
        inputs={"secret": secret, "message": message, "context": context},
        outputs={"public": public_key_from_secret(secret).encode(), "signature": signature},
    )


def _verify_case(comment: str, public: bytes, message: bytes, signature: bytes,
                 error: type[Exception] | None, flag: str, context: bytes = b"") -> TestCase:
    inputs = {"public": public, "message": message, "signature": signature, "context": context}
    if error is None:
        verify(public, message, signature, context)
        return TestCase(comment=comment, result="valid", flags=[flag], inputs=inputs)
    _expect_error(comment, error, lambda: verify(public, message, signature, context))
    return TestCase(comment=comment, result="invalid", flags=[flag], inputs=inputs,
                    expected_error=error.__name__)


def eddsa_vectors() -> VectorFile:
    """``eddsa-ed448``: RFC 8032 §7.4, extra deterministic signatures, rejected signatures."""
    rng = DeterministicRng("eddsa-ed448")
    rfc = [
        _sign_case(f"RFC 8032 §7.4 -----TEST {v.name}", _hex(v.secret), _hex(v.message),
                   _hex(v.context), ["Rfc8032"] + (["Context"] if v.context else []), [],
                   _hex(v.signature))
        for v in RFC8032_ED448_VECTORS
    ]
    extra = []
    for i, length in enumerate([0, 1, 57, 114, 1000]):
        rec = RecordingRng(rng)
        secret = rec.random_bytes(57)
        message = rec.random_bytes(length)
        extra.append(_sign_case(f"a random secret, a random {length}-byte message ({i + 1})",
                                secret, message, b"", [], _draws(rec)))

    secret = rng.random_bytes(57)
    public = public_key_from_secret(secret).encode()
    message = b"OTRv4 client profile"
    good = sign(secret, message)
    r, s = good[:57], int.from_bytes(good[57:], "little")
    flipped = bytearray(good)
    flipped[100] ^= 0x01
    other_r = base_mul(7).encode()
    verify_cases = [
        _verify_case("a valid signature", public, message, good, None, "Valid"),
        _verify_case("the signature without its last byte", public, message, good[:113],
                     SignatureLengthError, "WrongLength"),
        _verify_case("the signature with a trailing byte", public, message, good + b"\x00",
                     SignatureLengthError, "WrongLength"),
        _verify_case("S replaced by S + q (same value mod q, not canonical)", public, message,
                     r + _le(s + Q), SignatureScalarError, "NonCanonicalS"),
        _verify_case("R replaced by bytes that are not a point (y = 2)", public, message,
                     _raw_point(2) + good[57:], SignaturePointError, "InvalidR"),
        _verify_case("R replaced by a non-canonical encoding (y = p)", public, message,
                     _raw_point(P) + good[57:], SignaturePointError, "InvalidR"),
        _verify_case("R replaced by another valid point", public, message,
                     other_r + good[57:], SignatureMismatchError, "ModifiedSignature"),
        _verify_case("one bit of S flipped", public, message, bytes(flipped),
                     SignatureMismatchError, "ModifiedSignature"),
        _verify_case("a different message", public, message + b".", good,
                     SignatureMismatchError, "ModifiedMessage"),
        _verify_case("verified with the context 'foo', signed without one", public, message,
                     good, SignatureMismatchError, "WrongContext", b"foo"),
        _verify_case("another key", base_mul(11).encode(), message, good,
                     SignatureMismatchError, "WrongKey"),
        _verify_case("the identity as the public key", _raw_point(1), message, good,
                     IdentityPointError, "InvalidPublicKey"),
        _verify_case("a public key of order 4", _ORDER_4_ODD.encode(), message, good,
                     SmallOrderPointError, "InvalidPublicKey"),
    ]
    return VectorFile(
        algorithm="Ed448 EdDSA (RFC 8032 §5.2) as used by OTRv4",
        header=[
            "Ed448 signatures of RFC 8032 §5.2: SHAKE-256, dom4 prefix 'SigEd448', "
            "phflag 0; OTRv4 signs profiles with an empty context.",
            "EddsaSign: public = POINT(G * sk), signature = R || S (114 bytes) for the "
            "57-byte secret (otrv4.md's sym_key).",
            "EddsaVerify: the verifier decodes the public key with OTRv4's point validation "
            "(a bad key raises the point error), requires S < q, decodes R with RFC 8032 "
            "§5.2.3 and checks [S]G = R + [k]A without the cofactor.",
        ],
        notes={
            "Rfc8032": "test vector of RFC 8032 §7.4",
            "Context": "signed with a non-empty context (never used by OTRv4)",
            "Valid": "a valid signature",
            "WrongLength": "an EDDSA-SIG is exactly 114 bytes",
            "NonCanonicalS": "S >= q must be rejected (RFC 8032 §5.2.7), even though S mod q "
                             "would verify",
            "InvalidR": "R is not a point encoding",
            "ModifiedSignature": "a well-formed signature that does not match",
            "ModifiedMessage": "the signed message was changed",
            "WrongContext": "the context differs from the one signed",
            "WrongKey": "verified with a key that did not sign",
            "InvalidPublicKey": "the public key fails OTRv4's point validation",
        },
        groups=[
            TestGroup("EddsaSign", rfc, comment="RFC 8032 §7.4, Ed448"),
            TestGroup("EddsaSign", extra, comment="deterministic extra signatures"),
            TestGroup("EddsaVerify", verify_cases, comment="signatures that must be refused"),
        ],
    )


def ecdh_vectors() -> VectorFile:
    """``ecdh-ed448``: generateECDH() from listed draws, K_ecdh, and refused inputs."""
    rng = DeterministicRng("ecdh-ed448")
    keygen = []
    for i in range(3):
        rec = RecordingRng(rng)
        pair = generate_ecdh(rec)
        h = hashlib.shake_256(pair.seed).digest(114)[:57]
        keygen.append(TestCase(
            comment=f"generateECDH(), key pair {i + 1}", result="valid", random_draws=_draws(rec),
            inputs={"r": pair.seed},
            intermediates={"h": h, "prunedH": prune(h), "secret": _le(pair.secret)},
            outputs={"public": pair.public.encode()},
        ))

    shared = []
    for i in range(3):
        rec = RecordingRng(rng)
        alice, bob = generate_ecdh(rec), generate_ecdh(rec)
        k = ecdh(alice.secret, bob.public.encode())
        if ecdh(bob.secret, alice.public.encode()) != k:
            raise RuntimeError("ECDH is not symmetric")
        shared.append(TestCase(
            comment=f"K_ecdh = ECDH(a, B), pair {i + 1}", result="valid", random_draws=_draws(rec),
            inputs={"secret": _le(alice.secret), "public": bob.public.encode()},
            intermediates={"bobR": bob.seed, "bobSecret": _le(bob.secret),
                           "aliceR": alice.seed, "alicePublic": alice.public.encode()},
            outputs={"kEcdh": k},
        ))

    alice = ECDHKeyPair.from_seed(rng.random_bytes(57))
    bob = ECDHKeyPair.from_seed(rng.random_bytes(57))
    refused = []
    for comment, secret, public, error, flag in [
        ("secret = q: the product is the identity", Q, bob.public.encode(),
         ZeroSharedSecretError, "ZeroSharedSecret"),
        ("secret = 4q: the product is the identity", 4 * Q, bob.public.encode(),
         ZeroSharedSecretError, "ZeroSharedSecret"),
        ("secret = 0", 0, bob.public.encode(), ZeroSharedSecretError, "ZeroSharedSecret"),
        ("B = the identity", alice.secret, _raw_point(1), IdentityPointError, "InvalidPublic"),
        ("B = (-1, 0), of order 4 (the all-zero encoding)", alice.secret,
         _ORDER_4_EVEN.encode(), SmallOrderPointError, "InvalidPublic"),
        ("B = (0, -1), of order 2", alice.secret, _ORDER_2.encode(), SmallOrderPointError,
         "InvalidPublic"),
        ("B = bob.public + (0, -1): mixed order", alice.secret,
         (bob.public + _ORDER_2).encode(), PointNotInSubgroupError, "InvalidPublic"),
    ]:
        _expect_error(comment, error, partial(ecdh, secret, public))
        refused.append(TestCase(
            comment=comment, result="invalid", flags=[flag],
            inputs={"secret": _le(secret), "public": public}, expected_error=error.__name__,
        ))
    return VectorFile(
        algorithm="OTRv4 ECDH on Ed448 (generateECDH, ECDH)",
        header=[
            "otrv4.md §Generating ECDH and DH keys: h = SHAKE-256(r, 114)[:57], prunedH = "
            "prune(h), secret = LE(prunedH) (not reduced mod q), public = POINT(G * secret).",
            "otrv4.md §Generating Shared Secrets: kEcdh = POINT(secret * B) for the received "
            "B, validated as every received point is; the identity result is refused (the "
            "spec's 'all-zero' check).",
            "secret is given as 57 bytes, little-endian.",
        ],
        notes={
            "ZeroSharedSecret": "secret * B is the identity: ECDH must refuse it",
            "InvalidPublic": "B fails the validation of received points before any ECDH",
        },
        groups=[
            TestGroup("GenerateEcdh", keygen, comment="generateECDH() from the listed r"),
            TestGroup("EcdhSharedSecret", shared + refused, comment="K_ecdh = ECDH(a, B)"),
        ],
    )


def pubkey_vectors() -> VectorFile:
    """``pubkey-encoding``: the typed Ed448 public keys, type code big-endian (ambiguity 5)."""
    rng = DeterministicRng("pubkey-encoding")
    encode_cases = []
    points = {}
    for key_type in KeyType:
        point = base_mul(random_scalar(rng))
        points[key_type] = point
        typed = encode_typed_key(point, key_type)
        encode_cases.append(TestCase(
            comment=f"{key_type.name.replace('_', '-')}: type {int(key_type):#06x} big-endian",
            result="valid", flags=["BigEndianType"],
            inputs={"keyType": int(key_type), "point": point.encode()},
            outputs={"encoded": typed},
        ))
    h = points[KeyType.ED448_PUBKEY]
    typed_h = encode_typed_key(h, KeyType.ED448_PUBKEY)
    decode_cases = [
        TestCase(comment="ED448-PUBKEY read back", result="valid", flags=["BigEndianType"],
                 inputs={"encoded": typed_h, "keyType": int(KeyType.ED448_PUBKEY)},
                 outputs={"point": h.encode()}),
    ]
    for comment, data, key_type, error, flag in [
        ("ED448-PUBKEY with its type little-endian (10 00)", b"\x10\x00" + h.encode(),
         KeyType.ED448_PUBKEY, PublicKeyTypeError, "LittleEndianType"),
        ("ED448-FORGING-KEY with its type little-endian (12 00)", b"\x12\x00" + h.encode(),
         KeyType.ED448_FORGING_KEY, PublicKeyTypeError, "LittleEndianType"),
        ("an ED448-PUBKEY where an ED448-FORGING-KEY is required", typed_h,
         KeyType.ED448_FORGING_KEY, PublicKeyTypeError, "WrongType"),
        ("an ED448-PUBKEY where an ED448-SHARED-PREKEY is required", typed_h,
         KeyType.ED448_SHARED_PREKEY, PublicKeyTypeError, "WrongType"),
        ("58 bytes", typed_h[:58], KeyType.ED448_PUBKEY, PublicKeyLengthError, "WrongLength"),
        ("60 bytes", typed_h + b"\x00", KeyType.ED448_PUBKEY, PublicKeyLengthError,
         "WrongLength"),
        ("type 0x0010 and the identity", b"\x00\x10" + _raw_point(1), KeyType.ED448_PUBKEY,
         IdentityPointError, "InvalidPoint"),
        ("type 0x0011 and a point of order 2", b"\x00\x11" + _ORDER_2.encode(),
         KeyType.ED448_SHARED_PREKEY, SmallOrderPointError, "InvalidPoint"),
    ]:
        _expect_error(comment, error, partial(decode_typed_key, data, key_type))
        decode_cases.append(TestCase(
            comment=comment, result="invalid", flags=[flag],
            inputs={"encoded": data, "keyType": int(key_type)}, expected_error=error.__name__,
        ))
    return VectorFile(
        algorithm="OTRv4 typed Ed448 public keys (ED448-PUBKEY, -SHARED-PREKEY, -FORGING-KEY)",
        header=[
            "otrv4.md §Public keys, Shared Prekeys, Forging keys and Fingerprints: a 2-byte "
            "type code, then the 57-byte POINT.",
            f"Ambiguity {DECISION_5.number} ({DECISION_5.title}): {DECISION_5.decision}",
            "keyType: 16 = ED448-PUBKEY, 17 = ED448-SHARED-PREKEY, 18 = ED448-FORGING-KEY.",
        ],
        notes={
            "BigEndianType": "the type code is written big-endian (decision on ambiguity 5)",
            "LittleEndianType": "the type code written little-endian, as the spec's text "
                                "could be read: refused as a wrong type",
            "WrongType": "a valid typed key of another type than the field requires",
            "WrongLength": "a typed key is exactly 59 bytes",
            "InvalidPoint": "the point fails OTRv4's point validation",
        },
        groups=[
            TestGroup("TypedKeyEncoding", encode_cases, comment="encoding"),
            TestGroup("TypedKeyDecoding", decode_cases, comment="decoding"),
        ],
    )


VECTOR_FILES: Final[dict[str, Callable[[], VectorFile]]] = {
    "ed448-points": point_vectors,
    "eddsa-ed448": eddsa_vectors,
    "ecdh-ed448": ecdh_vectors,
    "pubkey-encoding": pubkey_vectors,
}
