"""Client and Prekey Profiles (otrv4.md §Client Profile, §Prekey Profile), decisions 6 and 12."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from otrv4.clock import FixedClock
from otrv4.decisions import DECISIONS
from otrv4.encoding import TrailingDataError, TruncatedError
from otrv4.keys import (
    ForgingKey,
    LongTermKeyPair,
    SharedPrekeyPair,
    fingerprint,
    format_fingerprint,
)
from otrv4.primitives.ed448 import Point
from otrv4.primitives.kdf import UsageID, hwc
from otrv4.primitives.rng import DeterministicRng
from otrv4.profiles import (
    CLIENT_PROFILE_FIELDS,
    ClientProfile,
    ForbiddenVersionError,
    InvalidProfileOwnerTagError,
    MissingVersion4Error,
    PrekeyProfile,
    ProfileExpiredError,
    ProfileField,
    ProfileOwnerTagMismatchError,
    ProfileSignatureError,
)

from ..helpers.vectors import raises_exactly, unhex, vector_cases

NOW = 1_767_225_600


@pytest.fixture(scope="module")
def keys() -> tuple[LongTermKeyPair, ForgingKey]:
    rng = DeterministicRng("test-profiles")
    return LongTermKeyPair.generate(rng), ForgingKey.generate(rng)


def test_create_encode_decode(keys: tuple[LongTermKeyPair, ForgingKey]) -> None:
    key, forging = keys
    profile = ClientProfile.create(key, forging, 0x100, NOW + 10)
    raw = profile.encode()
    assert len(raw) == 263  # 4 + 6 + 61 + 61 + 7 + 10 + 114
    assert raw[:4] == b"\x00\x00\x00\x05"
    assert raw[4:10] == b"\x00\x01\x00\x00\x01\x00"
    assert raw[10:14] == b"\x00\x02\x00\x10"  # field type 2, key type 0x0010 big-endian
    assert profile.signed_part() == raw[:-114]
    assert ClientProfile.decode(raw) == profile
    ClientProfile.decode(raw).validate(0x100, FixedClock(NOW + 10))


def test_expiry_boundary_and_grace(keys: tuple[LongTermKeyPair, ForgingKey]) -> None:
    key, forging = keys
    profile = ClientProfile.create(key, forging, 0x100, NOW)
    profile.validate(0x100, FixedClock(NOW))
    with pytest.raises(ProfileExpiredError):
        profile.validate(0x100, FixedClock(NOW + 1))
    profile.validate(0x100, FixedClock(NOW + 1), extra_validity=1)


def test_validation_order(keys: tuple[LongTermKeyPair, ForgingKey]) -> None:
    key, forging = keys
    profile = ClientProfile.create(key, forging, 0x100, NOW - 5)
    forged = replace(profile, owner_tag=0x101)
    # a profile that is forged, from another instance and expired: the signature comes first
    with pytest.raises(ProfileSignatureError):
        forged.validate(0x102, FixedClock(NOW))
    with pytest.raises(ProfileOwnerTagMismatchError):
        profile.validate(0x102, FixedClock(NOW))
    with pytest.raises(ProfileExpiredError):
        profile.validate(0x100, FixedClock(NOW))


def test_create_refuses_bad_input(keys: tuple[LongTermKeyPair, ForgingKey]) -> None:
    key, forging = keys
    with pytest.raises(InvalidProfileOwnerTagError):
        ClientProfile.create(key, forging, 0xFF, NOW)
    with pytest.raises(MissingVersion4Error):
        ClientProfile.create(key, forging, 0x100, NOW, b"3")
    with pytest.raises(ForbiddenVersionError):
        ClientProfile.create(key, forging, 0x100, NOW, b"24")


def test_prekey_profile(keys: tuple[LongTermKeyPair, ForgingKey]) -> None:
    key, _ = keys
    shared = SharedPrekeyPair.generate(DeterministicRng("test-profiles/shared"))
    profile = PrekeyProfile.create(key, shared, 0x100, NOW)
    raw = profile.encode()
    assert len(raw) == 185
    assert raw[12:14] == b"\x00\x11"
    assert PrekeyProfile.decode(raw) == profile
    profile.validate(key.public, 0x100, FixedClock(NOW))
    with pytest.raises(ProfileSignatureError):
        profile.validate(shared.public, 0x100, FixedClock(NOW))
    with pytest.raises(TrailingDataError):
        PrekeyProfile.decode(raw + b"\x00")
    with pytest.raises(TruncatedError):
        PrekeyProfile.decode(raw[:-1])


def test_fingerprint(keys: tuple[LongTermKeyPair, ForgingKey]) -> None:
    key, forging = keys
    fp = fingerprint(key.public, forging.public)
    assert fp == hwc(UsageID.FINGERPRINT, b"\x00\x10" + key.public.encode() + b"\x00\x12"
                     + forging.public.encode(), 56)
    text = format_fingerprint(fp)
    assert len(text.replace(" ", "")) == 112 and text.count(" ") == 13


def test_forging_key_methods() -> None:
    rng = DeterministicRng("test-profiles/forging")
    kept = ForgingKey.generate(rng, keep_secret=True)
    assert kept.keypair is not None and kept.keypair.public == kept.public
    assert ForgingKey.generate(rng).keypair is None
    point = ForgingKey.random_point(rng)
    assert point.keypair is None
    assert point.public.encode() != kept.public.encode()
    point.public.validate()


def test_field_table_renders_every_type() -> None:
    assert [row[0] for row in CLIENT_PROFILE_FIELDS] == list(ProfileField)


def test_decisions_registered() -> None:
    assert DECISIONS[6].vector == "client-profile"
    assert DECISIONS[12].vector == "client-profile"


def _client_case(inputs: dict[str, Any]) -> ClientProfile:
    """Decode, then validate against the carrying message's sender tag and the time."""
    profile = ClientProfile.decode(unhex(inputs["profile"]))
    profile.validate(inputs["sender_tag"], FixedClock(inputs["now"]))
    return profile


def _prekey_case(inputs: dict[str, Any]) -> PrekeyProfile:
    """Decode, then validate with the owner's long-term public key, sender tag and time."""
    profile = PrekeyProfile.decode(unhex(inputs["profile"]))
    owner = Point.decode(unhex(inputs["public_key"]))
    profile.validate(owner, inputs["sender_tag"], FixedClock(inputs["now"]))
    return profile


REPLAY: dict[str, Callable[[dict[str, Any]], ClientProfile | PrekeyProfile]] = {
    "client-profile": _client_case,
    "prekey-profile": _prekey_case,
}


@pytest.mark.parametrize("stem", sorted(REPLAY))
def test_vectors_replay(stem: str) -> None:
    check = REPLAY[stem]
    seen = {"valid": 0, "invalid": 0}
    for _group, test in vector_cases(stem):
        seen[test["result"]] += 1
        if test["result"] == "valid":
            profile = check(test["inputs"])
            assert profile.encode().hex() == test["inputs"]["profile"]
            assert profile.signed_part().hex() == test["outputs"]["signed_part"]
        else:
            with raises_exactly(test["expectedError"], test["comment"]):
                check(test["inputs"])
    assert seen["valid"] >= 1 and seen["invalid"] >= 5
