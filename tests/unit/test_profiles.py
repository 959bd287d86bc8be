"""Client and Prekey Profiles (otrv4.md §Client Profile, §Prekey Profile), decisions 6 and 12."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

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
from xepgen.vectors import dump_vectors, load_vectors
from xepgen.vectorsets import profiles as producer

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


@pytest.mark.parametrize("stem", sorted(producer.VECTOR_FILES))
def test_vectors_replay(stem: str, tmp_path: Path) -> None:
    path = tmp_path / f"{stem}.json"
    path.write_text(dump_vectors(producer.VECTOR_FILES[stem](), "0" * 40))
    check = producer.check_client_case if stem == "client-profile" else producer.check_prekey_case
    seen = {"valid": 0, "invalid": 0}
    for _group, test in load_vectors(path):
        inputs = {k: bytes.fromhex(v) if k in {"profile", "public_key"} else v
                  for k, v in test["inputs"].items()}
        seen[test["result"]] += 1
        if test["result"] == "valid":
            profile = check(inputs)
            assert profile.encode() == inputs["profile"]
            assert profile.signed_part().hex() == test["outputs"]["signed_part"]
        else:
            with pytest.raises(Exception) as info:
                check(inputs)
            assert type(info.value).__name__ == test["expectedError"], test["comment"]
    assert seen["valid"] >= 1 and seen["invalid"] >= 5
    assert json.loads(path.read_text())["numberOfTests"] == sum(seen.values())
