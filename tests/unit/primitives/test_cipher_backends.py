"""The ChaCha20 backends: libsodium (optional, the default where installed) and ``cryptography``.

The RFC 8439 vectors and the data-message rules run on each backend in
``test_cipher``; these tests pin the choice of backend, the load-time probe and
that the two agree on any input.  Those about libsodium skip where
``libsodium.so.23`` is not installed, and fail in CI (which installs it).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from otrv4.primitives import chacha20_sodium, cipher
from otrv4.primitives.cipher import chacha20_xor, encrypt_data_message

from ...conftest import require

BACKENDS: tuple[cipher.CipherBackend, ...] = ("libsodium", "cryptography")


def test_libsodium_is_the_default_where_it_loads() -> None:
    require(chacha20_sodium.load() is not None, "libsodium is not installed "
            "(apt-get install libsodium23)")
    assert cipher.DEFAULT_BACKEND == "libsodium"
    assert cipher.available_backends() == ("cryptography", "libsodium")


@settings(max_examples=200, deadline=None)
@given(key=st.binary(min_size=32, max_size=64), nonce=st.binary(min_size=12, max_size=12),
       counter=st.one_of(st.integers(0, 2**32 - 1), st.sampled_from([0, 1, 2**32 - 1])),
       data=st.binary(max_size=400))
def test_the_backends_agree(key: bytes, nonce: bytes, counter: int, data: bytes) -> None:
    require("libsodium" in cipher.available_backends(), "libsodium is not installed")
    counter = min(counter, 2**32 - (len(data) + 63) // 64)  # the largest the data allows
    results = []
    for name in BACKENDS:
        with cipher.using_backend(name):
            results.append((chacha20_xor(key[:32], nonce, counter, data),
                            encrypt_data_message(key, data)))
    assert results[0] == results[1]
    assert len(results[0][0]) == len(data)


def test_using_backend_restores_the_previous_one_even_after_an_error() -> None:
    before = cipher.get_backend()
    with pytest.raises(RuntimeError), cipher.using_backend("cryptography"):
        assert cipher.get_backend() == "cryptography"
        raise RuntimeError
    assert cipher.get_backend() == before
    with pytest.raises(ValueError, match="not available"), \
            cipher.using_backend("openssl"):  # type: ignore[arg-type]
        pass
    assert cipher.get_backend() == before


def test_set_backend_returns_the_previous_and_refuses_unknown_names() -> None:
    before = cipher.get_backend()
    assert cipher.set_backend("cryptography") == before
    try:
        assert cipher.get_backend() == "cryptography"
        with pytest.raises(ValueError, match="not available"):
            cipher.set_backend("openssl")  # type: ignore[arg-type]
        assert cipher.get_backend() == "cryptography"
    finally:
        cipher.set_backend(before)


def test_without_libsodium_load_says_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(chacha20_sodium, "open_library", lambda *names: None)
    assert chacha20_sodium.load() is None


def test_a_library_without_the_function_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    class Foreign:  # e.g. a libsodium older than the IETF ChaCha20 with a counter
        pass
    monkeypatch.setattr(chacha20_sodium, "open_library", lambda *names: Foreign())
    assert chacha20_sodium.load() is None


def test_a_wrong_backend_fails_the_probe() -> None:
    def reversed_output(key: bytes, counter: int, nonce: bytes, data: bytes) -> bytes:
        return cipher._cryptography_xor(key, counter, nonce, data)[::-1]

    def counter_ignored(key: bytes, counter: int, nonce: bytes, data: bytes) -> bytes:
        return cipher._cryptography_xor(key, 0, nonce, data)

    def long_key_read(key: bytes, counter: int, nonce: bytes, data: bytes) -> bytes:
        return cipher._cryptography_xor(key[32:] or key, counter, nonce, data)

    assert cipher._probe(cipher._cryptography_xor)
    assert not cipher._probe(reversed_output)
    assert not cipher._probe(counter_ignored)
    assert not cipher._probe(long_key_read)
