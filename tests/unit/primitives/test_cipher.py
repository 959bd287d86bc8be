"""ChaCha20 for data messages (otrv4.md §When you send a Data Message; RFC 8439).

Every test runs on each ChaCha20 backend (``cryptography``, and libsodium where
``libsodium.so.23`` is installed: skipped without it, failed in CI).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otrv4.decisions import DECISIONS
from otrv4.primitives import cipher
from otrv4.primitives.cipher import (
    DATA_MESSAGE_INITIAL_COUNTER,
    DATA_MESSAGE_NONCE,
    chacha20_xor,
    decrypt_data_message,
    encrypt_data_message,
)

from ...conftest import require
from ...helpers.vectors import Case, cases_of, vector_cases

Vectors = list[Case]
BACKENDS = ("libsodium", "cryptography")


@pytest.fixture(autouse=True, params=BACKENDS)
def chacha20_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with the named backend in use, and put the default back after."""
    name = request.param
    require(name in cipher.available_backends(),
            f"ChaCha20 backend {name} is not available (apt-get install libsodium23)")
    with cipher.using_backend(name):
        yield name

#: RFC 8439's ChaCha20 test vectors, as the committed chacha20 vector file lists them.
RFC8439 = [(t["comment"], bytes.fromhex(t["inputs"]["key"]), bytes.fromhex(t["inputs"]["nonce"]),
            t["inputs"]["counter"], bytes.fromhex(t["inputs"]["plaintext"]),
            bytes.fromhex(t["outputs"]["ciphertext"]))
           for t in cases_of("chacha20", "ChaCha20") if "Rfc8439" in t["flags"]]

# RFC 8439 appendix A.1, test vector 1: the keystream of the all-zero key and nonce at block 0.
ZERO_KEY_BLOCK0 = bytes.fromhex(
    "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
    "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586"
)
# ... and test vector 2: the same at block 1.
ZERO_KEY_BLOCK1 = bytes.fromhex(
    "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
    "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f"
)


@pytest.mark.parametrize(("comment", "key", "nonce", "counter", "plaintext", "ciphertext"),
                         RFC8439, ids=[v[0] for v in RFC8439])
def test_rfc8439_vectors(comment: str, key: bytes, nonce: bytes, counter: int,
                         plaintext: bytes, ciphertext: bytes) -> None:
    assert chacha20_xor(key, nonce, counter, plaintext) == ciphertext
    assert chacha20_xor(key, nonce, counter, ciphertext) == plaintext


def test_keystream_continues_across_blocks() -> None:
    assert chacha20_xor(bytes(32), bytes(12), 0, bytes(128)) == ZERO_KEY_BLOCK0 + ZERO_KEY_BLOCK1


def test_data_message_starts_at_block_zero_with_a_zero_nonce() -> None:
    # Decision on ambiguity 4: with MKenc = 64 zero bytes the keystream is RFC 8439 A.1 #1.
    assert DATA_MESSAGE_INITIAL_COUNTER == 0
    assert bytes(12) == DATA_MESSAGE_NONCE
    assert encrypt_data_message(bytes(64), bytes(64)) == ZERO_KEY_BLOCK0
    assert encrypt_data_message(bytes(64), bytes(100)) == (ZERO_KEY_BLOCK0 + ZERO_KEY_BLOCK1)[:100]


def test_data_message_uses_only_the_first_32_bytes_of_mkenc() -> None:
    mk_enc = bytes(range(64))
    message = b"the first 32 bytes are the key"
    ciphertext = encrypt_data_message(mk_enc, message)
    assert ciphertext == chacha20_xor(mk_enc[:32], bytes(12), 0, message)
    assert encrypt_data_message(mk_enc[:32] + bytes(32), message) == ciphertext
    assert encrypt_data_message(mk_enc[:32], message) == ciphertext
    assert encrypt_data_message(b"\xff" + mk_enc[1:], message) != ciphertext


@settings(max_examples=50, deadline=None)
@given(st.binary(min_size=64, max_size=64), st.binary(max_size=300))
def test_decrypt_inverts_encrypt(mk_enc: bytes, message: bytes) -> None:
    ciphertext = encrypt_data_message(mk_enc, message)
    assert len(ciphertext) == len(message)
    assert decrypt_data_message(mk_enc, ciphertext) == message


def test_empty_message() -> None:
    assert encrypt_data_message(bytes(64), b"") == b""


@pytest.mark.parametrize(("key", "nonce", "counter", "length"), [
    (bytes(31), bytes(12), 0, 1),
    (bytes(33), bytes(12), 0, 1),
    (bytes(32), bytes(11), 0, 1),
    (bytes(32), bytes(16), 0, 1),
    (bytes(32), bytes(12), -1, 1),
    (bytes(32), bytes(12), 2**32, 1),
    (bytes(32), bytes(12), 2**32 - 1, 65),  # would need block 2^32
])
def test_chacha20_misuse_raises(key: bytes, nonce: bytes, counter: int, length: int) -> None:
    with pytest.raises(ValueError):
        chacha20_xor(key, nonce, counter, bytes(length))


def test_last_block_of_the_counter_is_usable() -> None:
    out = chacha20_xor(bytes(32), bytes(12), 2**32 - 1, bytes(64))
    assert len(out) == 64 and out != bytes(64)


def test_short_mkenc_is_refused() -> None:
    with pytest.raises(ValueError):
        encrypt_data_message(bytes(31), b"x")
    with pytest.raises(ValueError):
        decrypt_data_message(bytes(31), b"x")


def test_decision_4_is_registered() -> None:
    decision = DECISIONS[4]
    assert decision.vector == "chacha20"
    assert "0" in decision.decision and "libotr-ng" in decision.others


# -- vectors ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def vectors() -> Vectors:
    return vector_cases("chacha20")


def test_vectors_reproduce(vectors: Vectors) -> None:
    kinds = {"DataMessageEncryption": 0, "ChaCha20": 0}
    for group, test in vectors:
        kinds[group["type"]] += 1
        inputs, outputs = test["inputs"], test["outputs"]
        assert test["result"] == "valid"
        if group["type"] == "DataMessageEncryption":
            mk_enc = bytes.fromhex(inputs["MKenc"])
            plaintext = bytes.fromhex(inputs["plaintext"])
            ciphertext = bytes.fromhex(outputs["encryptedMessage"])
            assert encrypt_data_message(mk_enc, plaintext) == ciphertext
            assert decrypt_data_message(mk_enc, ciphertext) == plaintext
            assert test["intermediates"]["initialCounter"] == 0
            block0 = chacha20_xor(mk_enc[:32], bytes(12), 0, bytes(64))
            assert test["intermediates"]["keystreamBlock0"] == block0.hex()
        else:
            got = chacha20_xor(bytes.fromhex(inputs["key"]), bytes.fromhex(inputs["nonce"]),
                               inputs["counter"], bytes.fromhex(inputs["plaintext"]))
            assert got.hex() == outputs["ciphertext"]
    assert kinds["DataMessageEncryption"] >= 5 and kinds["ChaCha20"] == len(RFC8439) == 8

