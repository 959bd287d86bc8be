"""phi, the SSID and the DAKE key schedule (otrv4.md §Shared Session State, §Secure Session ID,
§Shared Secrets); decision 8."""

from __future__ import annotations

import pytest

from otrv4.encoding import encode_data, encode_int, encode_mpi
from otrv4.primitives.ecdh import generate_ecdh
from otrv4.primitives.kdf import UsageID, kdf
from otrv4.primitives.rng import DeterministicRng
from otrv4.shared_state import (
    FirstKeys,
    derive_ratchet_keys,
    first_root_key,
    format_ssid,
    mixed_secret,
    non_interactive_ratchet_keys,
    phi,
    ssid,
    xmpp_phi_prime,
)


@pytest.fixture(scope="module")
def parties() -> tuple[FirstKeys, FirstKeys]:
    rng = DeterministicRng("test-shared-state")
    return (FirstKeys(0x300, generate_ecdh(rng).public, 5),
            FirstKeys(0x200, generate_ecdh(rng).public, 7))


def test_phi_is_the_same_for_both_parties(parties: tuple[FirstKeys, FirstKeys]) -> None:
    a, b = parties
    prime = xmpp_phi_prime("alice@example.net", "bob@example.org")
    assert phi(a, b, prime) == phi(b, a, prime)
    assert prime == xmpp_phi_prime("bob@example.org", "alice@example.net")


def test_phi_layout(parties: tuple[FirstKeys, FirstKeys]) -> None:
    a, b = parties  # b has the smaller tag, so it comes first
    assert a.ecdh_first is not None and b.ecdh_first is not None
    prime = xmpp_phi_prime("zed@example.org", "Ann@example.org")
    assert phi(a, b, prime) == (
        encode_int(0x200) + encode_int(0x300)
        + b.ecdh_first.encode() + encode_mpi(7) + a.ecdh_first.encode() + encode_mpi(5)
        + encode_data(b"Ann@example.org") + encode_data(b"zed@example.org")
    )


def test_phi_without_first_keys_and_equal_tags(parties: tuple[FirstKeys, FirstKeys]) -> None:
    a, _ = parties
    owner = FirstKeys(0x300)
    assert phi(a, owner, b"") == encode_int(0x300) * 2 + a.encoded_keys()
    assert phi(owner, a, b"") == phi(a, owner, b"")


def test_phi_prime_sorts_utf8_bytes_and_refuses_full_jids() -> None:
    assert xmpp_phi_prime("ä@x", "z@x") == encode_data(b"z@x") + encode_data("ä@x".encode())
    with pytest.raises(ValueError, match="bare"):
        xmpp_phi_prime("alice@example.net/phone", "bob@example.org")


def test_key_schedule_formulas() -> None:
    k = bytes(range(64))
    assert mixed_secret(b"e" * 57, b"b" * 32) == kdf(UsageID.SHARED_SECRET, b"e" * 57 + b"b" * 32,
                                                      64)
    assert ssid(k) == kdf(UsageID.SSID, k, 8)
    assert ssid(k) == kdf(UsageID.SSID, k, 64)[:8]  # the standalone document's wording
    assert first_root_key(k) == kdf(UsageID.FIRST_ROOT_KEY, k, 64)
    root, chain = derive_ratchet_keys(b"r" * 64, k)
    assert root == kdf(UsageID.ROOT_KEY, b"r" * 64 + k, 64)
    assert chain == kdf(UsageID.CHAIN_KEY, b"r" * 64 + k, 64)
    assert non_interactive_ratchet_keys(k) == (kdf(UsageID.ROOT_KEY, k, 64),
                                               kdf(UsageID.CHAIN_KEY, k, 64))


def test_format_ssid() -> None:
    value = bytes.fromhex("0011223344556677")
    assert format_ssid(value, bold_first=True) == "**00112233** 44556677"
    assert format_ssid(value, bold_first=False) == "00112233 **44556677**"
