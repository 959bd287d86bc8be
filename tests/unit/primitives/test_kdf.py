"""SHAKE-256 KDF, HWC, HCMAC, the usage-ID tables and HashToScalar (otrv4.md §KDF, …)."""

from __future__ import annotations

import hashlib

import pytest
from Crypto.Hash import SHAKE256
from hypothesis import given, settings
from hypothesis import strategies as st

from otrv4.primitives import ed448
from otrv4.primitives.kdf import (
    HASH_TO_SCALAR_SIZE,
    KdfDomain,
    PrekeyUsageID,
    UsageID,
    derive,
    hash_to_scalar,
    hcmac,
    hwc,
    kdf,
    kdf_for,
    prekey_server_kdf,
    shake256,
)

from ...helpers.vectors import Case, vector_cases

Vectors = list[Case]

# The Ed448 group order, restated from otrv4.md §Elliptic Curve Parameters.
Q_SPEC = 2**446 - 13818066809895115352007386748515426880336692474882178609894547503885

# otrv4.md §"Key Derivation Function, Hash Function and MAC Function", restated.
SPEC_TABLE = [
    ("usage_fingerprint", 0x00), ("usage_third_brace_key", 0x01), ("usage_brace_key", 0x02),
    ("usage_shared_secret", 0x03), ("usage_SSID", 0x04),
    ("usage_auth_r_bob_client_profile", 0x05), ("usage_auth_r_alice_client_profile", 0x06),
    ("usage_auth_r_phi", 0x07), ("usage_auth_i_bob_client_profile", 0x08),
    ("usage_auth_i_alice_client_profile", 0x09), ("usage_auth_i_phi", 0x0A),
    ("usage_first_root_key", 0x0B), ("usage_tmp_key", 0x0C), ("usage_auth_MAC_key", 0x0D),
    ("usage_non_int_auth_bob_client_profile", 0x0E),
    ("usage_non_int_auth_alice_client_profile", 0x0F), ("usage_non_int_auth_phi", 0x10),
    ("usage_auth_MAC", 0x11), ("usage_root_key", 0x12), ("usage_chain_key", 0x13),
    ("usage_next_chain_key", 0x14), ("usage_message_key", 0x15), ("usage_MAC_key", 0x16),
    ("usage_extra_symm_key", 0x17), ("usage_authenticator", 0x18), ("usage_SMP_secret", 0x19),
    ("usage_auth", 0x1A),
]

# otrv4-prekey-server.md §"Key Derivation Functions", restated.
PREKEY_SPEC_TABLE = [
    ("usage_Fingerprint", 0x00), ("usage_SK", 0x01), ("usage_initiator_client_profile", 0x02),
    ("usage_initiator_prekey_composite_identity", 0x03),
    ("usage_initiator_prekey_composite_PHI", 0x04), ("usage_receiver_client_profile", 0x05),
    ("usage_receiver_prekey_composite_identity", 0x06),
    ("usage_receiver_prekey_composite_PHI", 0x07), ("usage_preMAC_key", 0x08),
    ("usage_preMAC", 0x09), ("usage_storage_info_MAC", 0x0A), ("usage_status_MAC", 0x0B),
    ("usage_success_MAC", 0x0C), ("usage_failure_MAC", 0x0D), ("usage_prekey_message", 0x0E),
    ("usage_client_profile", 0x0F), ("usage_prekey_profile", 0x10), ("usage_auth", 0x11),
    ("usage_proof_context", 0x12), ("usage_proof_message_ecdh", 0x13),
    ("usage_proof_message_dh", 0x14), ("usage_proof_shared_ecdh", 0x15),
    ("usage_mac_proofs", 0x16), ("usage_proof_c_lambda", 0x17),
]


def pycryptodome_shake(data: bytes, size: int) -> bytes:
    return SHAKE256.new(data).read(size)


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=300), st.integers(min_value=1, max_value=300))
def test_shake256_agrees_with_hashlib_and_pycryptodome(data: bytes, size: int) -> None:
    out = shake256(data, size)
    assert out == hashlib.shake_256(data).digest(size)
    assert out == pycryptodome_shake(data, size)
    assert len(out) == size


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(list(UsageID)), st.binary(max_size=200),
       st.integers(min_value=1, max_value=130))
def test_kdf_is_shake256_of_otrv4_usage_and_values(usage: UsageID, values: bytes,
                                                    size: int) -> None:
    expected = pycryptodome_shake(b"OTRv4" + bytes([int(usage)]) + values, size)
    assert kdf(usage, values, size) == expected
    assert hwc(usage, values, size) == expected
    assert hcmac(usage, values, size) == expected


def test_known_answers() -> None:
    # Pinned outputs; recomputed independently with pycryptodome in the property tests.
    assert kdf(UsageID.SSID, bytes(64), 8) == bytes.fromhex("11eee5e1eb7e320a")
    assert prekey_server_kdf(PrekeyUsageID.SK, b"abc", 16) == bytes.fromhex(
        "8d723d7e3719901925593025444c0cec"
    )


def test_prekey_server_kdf_uses_its_own_prefix() -> None:
    values = b"prekey server values"
    expected = pycryptodome_shake(b"OTR-Prekey-Server" + b"\x11" + values, 64)
    assert prekey_server_kdf(PrekeyUsageID.AUTH, values, 64) == expected
    assert derive(KdfDomain.PREKEY_SERVER, 0x11, values, 64) == expected
    assert prekey_server_kdf(0x11, values, 64) != kdf(0x11, values, 64)


def test_usage_id_is_a_single_byte_and_values_follow_it() -> None:
    # The usage ID is one byte: 0x01 || "x" must not equal 0x00 || 0x01 "x".
    assert kdf(1, b"x", 32) != kdf(0, b"\x01x", 32)
    assert kdf(0x1A, b"", 32) == pycryptodome_shake(b"OTRv4\x1a", 32)


def test_output_is_a_prefix_of_longer_output() -> None:
    assert kdf(UsageID.ROOT_KEY, b"k", 64)[:32] == kdf(UsageID.ROOT_KEY, b"k", 32)


@pytest.mark.parametrize("usage_id", [-1, 256, 0x1_00])
def test_usage_id_out_of_byte_range_is_rejected(usage_id: int) -> None:
    with pytest.raises(ValueError):
        kdf(usage_id, b"", 32)
    with pytest.raises(ValueError):
        prekey_server_kdf(usage_id, b"", 32)
    with pytest.raises(ValueError):
        hash_to_scalar(usage_id, b"")


@pytest.mark.parametrize("size", [0, -1])
def test_non_positive_size_is_rejected(size: int) -> None:
    with pytest.raises(ValueError):
        kdf(UsageID.AUTH, b"", size)
    with pytest.raises(ValueError):
        shake256(b"", size)


def test_usage_table_is_the_specs() -> None:
    assert [(u.spec_name, int(u)) for u in UsageID] == SPEC_TABLE
    assert len({u.spec_name for u in UsageID}) == len(SPEC_TABLE)


def test_prekey_usage_table_is_the_specs() -> None:
    assert [(u.spec_name, int(u)) for u in PrekeyUsageID] == PREKEY_SPEC_TABLE


@pytest.mark.parametrize("usage", [*UsageID, *PrekeyUsageID],
                         ids=lambda u: f"{type(u).__name__}.{u.name}")
def test_every_usage_id_has_a_one_line_description(usage: UsageID | PrekeyUsageID) -> None:
    text = usage.description
    assert text and text.endswith(".") and "\n" not in text


def test_domains() -> None:
    assert KdfDomain.OTRV4.value == b"OTRv4"
    assert KdfDomain.PREKEY_SERVER.value == b"OTR-Prekey-Server"


def test_hash_to_scalar_is_57_byte_hwc_little_endian_mod_q() -> None:
    assert ed448.Q == Q_SPEC
    data = b"some data"
    h = pycryptodome_shake(b"OTRv4\x1a" + data, 57)
    assert HASH_TO_SCALAR_SIZE == 57
    assert hash_to_scalar(UsageID.AUTH, data) == int.from_bytes(h, "little") % Q_SPEC


def test_hash_to_scalar_prekey_domain_and_smp_usage() -> None:
    data = b"d"
    h = pycryptodome_shake(b"OTR-Prekey-Server\x11" + data, 57)
    assert hash_to_scalar(0x11, data, KdfDomain.PREKEY_SERVER) == (
        int.from_bytes(h, "little") % Q_SPEC
    )
    h1 = pycryptodome_shake(b"OTRv4\x01" + data, 57)
    assert hash_to_scalar(1, data) == int.from_bytes(h1, "little") % Q_SPEC


@settings(max_examples=50, deadline=None)
@given(st.binary(max_size=100))
def test_hash_to_scalar_is_reduced(data: bytes) -> None:
    assert 0 <= hash_to_scalar(UsageID.AUTH, data) < Q_SPEC


# -- vectors ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vectors() -> Vectors:
    return vector_cases("kdf")


def test_vectors_cover_every_usage_id(vectors: Vectors) -> None:
    otrv4 = [t["inputs"]["usageId"] for g, t in vectors if g["type"] == "Otrv4Kdf"]
    prekey = [t["inputs"]["usageId"] for g, t in vectors if g["type"] == "PrekeyServerKdf"]
    assert otrv4 == [int(u) for u in UsageID]
    assert prekey == [int(u) for u in PrekeyUsageID]
    sizes = {t["inputs"]["usageId"]: t["inputs"]["size"] for g, t in vectors
             if g["type"] == "Otrv4Kdf"}
    assert sizes[UsageID.SSID] == 8 and sizes[UsageID.FINGERPRINT] == 56
    # the sizes otrv4.md uses each usage ID with; 64 bytes for the others
    spec = {UsageID.FINGERPRINT: 56, UsageID.THIRD_BRACE_KEY: 32, UsageID.BRACE_KEY: 32,
            UsageID.SSID: 8, UsageID.SMP_SECRET: 57, UsageID.AUTH: HASH_TO_SCALAR_SIZE}
    assert sizes == {int(u): spec.get(u, 64) for u in UsageID}


def test_vectors_reproduce(vectors: Vectors) -> None:
    assert vectors
    for group, test in vectors:
        inputs, outputs = test["inputs"], test["outputs"]
        assert test["result"] == "valid"
        if group["type"] == "Otrv4Kdf":
            got = kdf(inputs["usageId"], bytes.fromhex(inputs["values"]), inputs["size"])
            assert got.hex() == outputs["output"]
            assert UsageID(inputs["usageId"]).spec_name == inputs["usageName"]
        elif group["type"] == "PrekeyServerKdf":
            got = prekey_server_kdf(inputs["usageId"], bytes.fromhex(inputs["values"]),
                                    inputs["size"])
            assert got.hex() == outputs["output"]
        else:
            assert group["type"] == "HashToScalar"
            domain = KdfDomain(inputs["prefix"].encode("ascii"))
            data = bytes.fromhex(inputs["data"])
            scalar = hash_to_scalar(inputs["usageId"], data, domain)
            assert ed448.encode_scalar(scalar).hex() == outputs["scalar"]
            assert pycryptodome_shake(
                domain.value + bytes([inputs["usageId"]]) + data, 57
            ).hex() == test["intermediates"]["hash"]


@pytest.mark.parametrize(("usage", "size", "tail"), [(0x15, 64, b""), (0x17, 64, b"\xff"),
                                                     (0x02, 32, b""), (0xFF, 1, b"ab")])
def test_kdf_for_is_kdf_with_the_usage_tail_and_size_bound(usage: int, size: int,
                                                           tail: bytes) -> None:
    bound = kdf_for(usage, size, tail=tail)
    for values in (b"", b"x", bytes(range(200))):
        assert bound(values) == kdf(usage, tail + values, size)
        assert bound(values) == hashlib.shake_256(
            b"OTRv4" + bytes([usage]) + tail + values).digest(size)


@pytest.mark.parametrize(("usage", "size"), [(-1, 64), (256, 64), (1, 0)])
def test_kdf_for_refuses_misuse_when_made(usage: int, size: int) -> None:
    with pytest.raises(ValueError):
        kdf_for(usage, size)
