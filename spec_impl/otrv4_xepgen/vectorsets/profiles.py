"""Vectors for Client Profiles and Prekey Profiles (``examples/vectors/client-profile.json``,
``examples/vectors/prekey-profile.json``).

Every case gives a profile's bytes, the sender instance tag of the message
that carried it and the time; a receiver decodes the bytes and validates the
profile (:meth:`otrv4.profiles.ClientProfile.validate`,
:meth:`otrv4.profiles.PrekeyProfile.validate` with the listed long-term key).
Valid cases also give the signed part and what the profile re-encodes to.
They pin decision 6 (the signature covers the field count and the typed
fields, in wire order) and decision 12 (no OTRv3: "3" accepted and ignored,
OTRv3 fields parsed and kept, never verified; "1"/"2" rejected).
"""

from __future__ import annotations

from collections.abc import Callable

from otrv4.clock import FixedClock
from otrv4.encoding import encode_data, encode_int, encode_long, encode_mpi, encode_short
from otrv4.keys import KeyType, LongTermKeyPair, encode_typed_key
from otrv4.primitives.rng import DeterministicRng
from otrv4.profiles import ClientProfile, PrekeyProfile, ProfileField

from ..vectors import TestCase, TestGroup, VectorFile

__all__ = ["VECTOR_FILES", "check_client_case", "check_prekey_case", "client_profile_vectors",
           "prekey_profile_vectors"]

NOW = 1_767_225_600
EXPIRES = NOW + 7 * 24 * 3600
TAG = 0x1234_5678

_NOTES = {
    "Decision6": "the signature covers Number of Fields and the typed fields in wire order",
    "Decision12": "Versions must list 4, 3 is ignored, 1/2 rejected; OTRv3 fields not verified",
    "FieldOrder": "fields in a non-canonical order (allowed; the signature covers that order)",
    "Signature": "the Ed448 signature does not verify",
    "Expired": "the profile has expired",
    "OwnerTag": "the owner tag is not the sender's instance tag",
    "Structure": "the encoding breaks a structural rule",
    "Point": "a key that is not a valid point",
    "KeyType": "a typed key with the wrong type code",
}


def _fields(owner: int, h: bytes, f: bytes, versions: bytes, exp: int,
            extra: list[tuple[int, bytes]] | None = None) -> list[tuple[int, bytes]]:
    return [
        (ProfileField.OWNER_INSTANCE_TAG, encode_int(owner)),
        (ProfileField.PUBLIC_KEY, h),
        (ProfileField.FORGING_KEY, f),
        (ProfileField.VERSIONS, encode_data(versions)),
        (ProfileField.EXPIRATION, encode_long(exp)),
        *(extra or []),
    ]


def _assemble(fields: list[tuple[int, bytes]], signer: LongTermKeyPair | None,
              signature: bytes | None = None) -> bytes:
    body = encode_int(len(fields)) + b"".join(encode_short(t) + v for t, v in fields)
    if signature is None:
        if signer is None:
            raise ValueError("need a signer or a signature")
        signature = signer.sign(body)
    return body + signature


def _client_cases() -> list[TestGroup]:
    rng = DeterministicRng("client-profile")
    sym, fsym = rng.random_bytes(57), rng.random_bytes(57)
    key = LongTermKeyPair.from_secret(sym)
    forging = LongTermKeyPair.from_secret(fsym).public
    other = LongTermKeyPair.from_secret(rng.random_bytes(57))
    h = encode_typed_key(key.public, KeyType.ED448_PUBKEY)
    f = encode_typed_key(forging, KeyType.ED448_FORGING_KEY)
    base = {"sym_key": sym, "forging_sym_key": fsym, "now": NOW, "sender_tag": TAG}

    created = ClientProfile.create(key, forging, TAG, EXPIRES)
    values_only = b"".join(v for _, v in _fields(TAG, h, f, b"4", EXPIRES))
    dsa_key = encode_short(0) + b"".join(encode_mpi(v) for v in (
        int.from_bytes(rng.random_bytes(128), "big") | 1 << 1023,
        int.from_bytes(rng.random_bytes(20), "big") | 1 << 159,
        int.from_bytes(rng.random_bytes(128), "big") | 1 << 1023,
        int.from_bytes(rng.random_bytes(128), "big") | 1 << 1023,
    ))
    transitional = rng.random_bytes(40)
    v34 = _assemble(_fields(TAG, h, f, b"34", EXPIRES, [
        (ProfileField.DSA_PUBLIC_KEY, dsa_key),
        (ProfileField.TRANSITIONAL_SIGNATURE, transitional)]), key)
    reordered_fields = _fields(TAG, h, f, b"4", EXPIRES)
    reordered_fields = [reordered_fields[i] for i in (3, 0, 4, 2, 1)]
    reordered = _assemble(reordered_fields, key)

    def signed(versions: bytes, exp: int = EXPIRES,
               extra: list[tuple[int, bytes]] | None = None) -> bytes:
        return _assemble(_fields(TAG, h, f, versions, exp, extra), key)

    good = created.encode()
    sig_at = len(good) - 114
    flipped = bytearray(good)
    flipped[sig_at + 5] ^= 0x40
    swapped_type = _assemble([(t, f if t == ProfileField.PUBLIC_KEY else v)
                              for t, v in _fields(TAG, h, f, b"4", EXPIRES)], key)
    le_type = _assemble([(t, (b"\x10\x00" + v[2:]) if t == ProfileField.PUBLIC_KEY else v)
                         for t, v in _fields(TAG, h, f, b"4", EXPIRES)], key)
    off_curve = h[:2] + (2).to_bytes(57, "little")
    bad_point = _assemble([(t, off_curve if t == ProfileField.PUBLIC_KEY else v)
                           for t, v in _fields(TAG, h, f, b"4", EXPIRES)], key)
    dup = _assemble(_fields(TAG, h, f, b"4", EXPIRES, [(ProfileField.VERSIONS,
                                                         encode_data(b"4"))]), key)
    missing = _assemble(_fields(TAG, h, f, b"4", EXPIRES)[:4], key)
    unknown = _assemble(_fields(TAG, h, f, b"4", EXPIRES, [(0x0008, b"")]), key)
    dsa_alone = _assemble(_fields(TAG, h, f, b"34", EXPIRES,
                                  [(ProfileField.DSA_PUBLIC_KEY, dsa_key)]), key)

    def valid(comment: str, data: bytes, flags: list[str], **extra: object) -> TestCase:
        profile = ClientProfile.decode(data)
        profile.validate(TAG, FixedClock(NOW))
        return TestCase(comment=comment, result="valid", flags=flags,
                        inputs={**base, "profile": data, **extra},
                        outputs={"signed_part": profile.signed_part(),
                                 "reencoded": profile.encode()})

    def invalid(comment: str, data: bytes, flags: list[str], error: str,
                **over: object) -> TestCase:
        return TestCase(comment=comment, result="invalid", flags=flags,
                        inputs={**base, "profile": data, **over}, expected_error=error)

    valid_cases = [
        valid("created: tag, H, F, Versions \"4\", expiration; signed over count and typed "
              "fields", good, ["Decision6"], expiration=EXPIRES),
        valid("Versions \"34\" with an OTRv3 DSA key and a transitional signature: accepted, "
              "the OTRv3 fields are kept and not verified", v34, ["Decision12", "Decision6"]),
        valid("fields in the order Versions, tag, expiration, F, H: accepted, re-encoded as "
              "received", reordered, ["FieldOrder", "Decision6"]),
        valid("Versions \"4x9\": unknown characters are ignored", signed(b"4x9"),
              ["Decision12"]),
    ]
    invalid_cases = [
        invalid("signature over the concatenated field values only (the other reading of "
                "ambiguity 6)", good[:sig_at] + key.sign(values_only), ["Decision6", "Signature"],
                "ProfileSignatureError"),
        invalid("one bit of the signature flipped", bytes(flipped), ["Signature"],
                "ProfileSignatureError"),
        invalid("signed by another key", good[:sig_at] + other.sign(good[:sig_at]),
                ["Signature"], "ProfileSignatureError"),
        invalid("all-zero signature", good[:sig_at] + bytes(114), ["Signature"],
                "EmptyProfileSignatureError"),
        invalid("expired one second ago", signed(b"4", NOW - 1), ["Expired"],
                "ProfileExpiredError"),
        invalid("carried by a message from another instance", good, ["OwnerTag"],
                "ProfileOwnerTagMismatchError", sender_tag=TAG + 1),
        invalid("Versions \"3\"", signed(b"3"), ["Decision12"], "MissingVersion4Error"),
        invalid("Versions \"42\"", signed(b"42"), ["Decision12"], "ForbiddenVersionError"),
        invalid("Versions \"14\"", signed(b"14"), ["Decision12"], "ForbiddenVersionError"),
        invalid("Versions field twice", dup, ["Structure"], "DuplicateProfileFieldError"),
        invalid("no expiration field", missing, ["Structure"], "MissingProfileFieldError"),
        invalid("unknown field type 0x0008", unknown, ["Structure"], "UnknownProfileFieldError"),
        invalid("DSA key without a transitional signature", dsa_alone, ["Structure"],
                "MissingTransitionalSignatureError"),
        invalid("truncated inside the signature", good[:-1], ["Structure"], "TruncatedError"),
        invalid("one byte after the signature", good + b"\x00", ["Structure"],
                "TrailingDataError"),
        invalid("H typed as a forging key (0x0012)", swapped_type, ["KeyType"],
                "PublicKeyTypeError"),
        invalid("H's type written little-endian (10 00)", le_type, ["KeyType"],
                "PublicKeyTypeError"),
        invalid("H is not on the curve", bad_point, ["Point"], "PointNotOnCurveError"),
    ]
    return [
        TestGroup(type="accepted", tests=valid_cases,
                  comment="decode, then validate with sender_tag at time now"),
        TestGroup(type="rejected", tests=invalid_cases,
                  comment="decoding or validation raises expectedError"),
    ]


def _prekey_cases() -> list[TestGroup]:
    rng = DeterministicRng("prekey-profile")
    sym, dsym = rng.random_bytes(57), rng.random_bytes(57)
    key = LongTermKeyPair.from_secret(sym)
    shared = LongTermKeyPair.from_secret(dsym)
    other = LongTermKeyPair.from_secret(rng.random_bytes(57))
    good = PrekeyProfile.create(key, shared, TAG, EXPIRES)
    raw = good.encode()
    base = {"sym_key": sym, "shared_prekey_sym_key": dsym, "now": NOW, "sender_tag": TAG,
            "public_key": key.public.encode()}
    expired = PrekeyProfile.create(key, shared, TAG, NOW - 1).encode()
    flipped = bytearray(raw)
    flipped[-50] ^= 0x02
    identity_d = raw[:14] + (1).to_bytes(57, "little") + raw[14 + 57:]

    def invalid(comment: str, data: bytes, flags: list[str], error: str,
                **over: object) -> TestCase:
        return TestCase(comment=comment, result="invalid", flags=flags,
                        inputs={**base, "profile": data, **over}, expected_error=error)

    return [
        TestGroup(type="accepted", tests=[TestCase(
            comment="created: owner tag, expiration, D; signed with sym_h over tag || exp || D",
            result="valid", inputs={**base, "expiration": EXPIRES, "profile": raw},
            outputs={"signed_part": good.signed_part(), "signature": good.signature})]),
        TestGroup(type="rejected", tests=[
            invalid("one bit of the signature flipped", bytes(flipped), ["Signature"],
                    "ProfileSignatureError"),
            invalid("checked against another long-term key", raw, ["Signature"],
                    "ProfileSignatureError", public_key=other.public.encode()),
            invalid("expired one second ago", expired, ["Expired"], "ProfileExpiredError"),
            invalid("from another instance", raw, ["OwnerTag"], "ProfileOwnerTagMismatchError",
                    sender_tag=TAG + 1),
            invalid("D is the identity", identity_d, ["Point"], "IdentityPointError"),
            invalid("truncated", raw[:-1], ["Structure"], "TruncatedError"),
        ]),
    ]


def check_client_case(inputs: dict[str, object]) -> ClientProfile:
    """Replay a ``client-profile`` case: decode and validate.  Raises the case's error."""
    data, tag, now = inputs["profile"], inputs["sender_tag"], inputs["now"]
    if not (isinstance(data, bytes) and isinstance(tag, int) and isinstance(now, int)):
        raise TypeError("bad vector inputs")
    profile = ClientProfile.decode(data)
    profile.validate(tag, FixedClock(now))
    return profile


def check_prekey_case(inputs: dict[str, object]) -> PrekeyProfile:
    """Replay a ``prekey-profile`` case: decode and validate.  Raises the case's error."""
    from otrv4.primitives.ed448 import Point

    data, tag, now, pub = (inputs["profile"], inputs["sender_tag"], inputs["now"],
                           inputs["public_key"])
    if not (isinstance(data, bytes) and isinstance(tag, int) and isinstance(now, int)
            and isinstance(pub, bytes)):
        raise TypeError("bad vector inputs")
    profile = PrekeyProfile.decode(data)
    profile.validate(Point.decode(pub), tag, FixedClock(now))
    return profile


def client_profile_vectors() -> VectorFile:
    """The ``client-profile`` vector file (pins decisions 6 and 12)."""
    return VectorFile(
        algorithm="OTRv4 Client Profile",
        header=[
            "Inputs: the profile's bytes, the sender instance tag of the carrying message, "
            "the time (now). Decode, then validate in the order of §Validating a Client "
            "Profile.",
            "sym_key/forging_sym_key are the RFC 8032 secrets of H and F (for re-creation).",
        ],
        notes=_NOTES,
        groups=_client_cases(),
    )


def prekey_profile_vectors() -> VectorFile:
    """The ``prekey-profile`` vector file."""
    return VectorFile(
        algorithm="OTRv4 Prekey Profile",
        header=["Decode, then validate with public_key (the H of the owner's Client Profile), "
                "sender_tag and now."],
        notes=_NOTES,
        groups=_prekey_cases(),
    )


VECTOR_FILES: dict[str, Callable[[], VectorFile]] = {
    "client-profile": client_profile_vectors,
    "prekey-profile": prekey_profile_vectors,
}

