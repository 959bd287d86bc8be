"""ChaCha20, as the data message uses it.

Implements the encryption step of otrv4.md §"When you send a Data Message"
(``encrypted_message = Chacha20_Enc(MKenc, nonce, m)`` with "only the first 32
bytes of ``MKenc``" and ``nonce`` set to 0) and its inverse in §"When you
receive a Data Message", on top of RFC 8439 ChaCha20 from libsodium where it is
installed (:mod:`.chacha20_sodium`) or ``cryptography`` (always); both give the
same bytes, :func:`get_backend` says which is in use.

ChaCha20 here is the bare stream cipher of RFC 8439 §2.4 (32-byte key, 96-bit
nonce, 32-bit block counter): the data message carries its own MAC (HCMAC with
``usage_authenticator``), so no Poly1305 is involved.  A zero nonce is safe
because every message key ``MKenc`` is used for exactly one message.

The initial block counter is ambiguity 4 of the project's list; the decision
(counter 0) is registered below.

Misuse (a key of the wrong length, a nonce that is not 12 bytes, a counter
outside 32 bits) raises :class:`ValueError`; nothing here depends on received
data being well formed.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final, Literal

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms

from ..decisions import Decision, register
from . import chacha20_sodium
from .chacha20_sodium import KeystreamXor

__all__ = [
    "CHACHA20_KEY_BYTES",
    "CHACHA20_NONCE_BYTES",
    "DATA_MESSAGE_INITIAL_COUNTER",
    "DATA_MESSAGE_NONCE",
    "DEFAULT_BACKEND",
    "CipherBackend",
    "available_backends",
    "chacha20_xor",
    "decrypt_data_message",
    "encrypt_data_message",
    "get_backend",
    "set_backend",
    "using_backend",
]

CHACHA20_KEY_BYTES = 32
CHACHA20_NONCE_BYTES = 12
#: otrv4.md §Data Types ``NONCE``: "Always set to 0", 12 bytes.
DATA_MESSAGE_NONCE = bytes(CHACHA20_NONCE_BYTES)
#: The block counter of the first keystream block of a data message (ambiguity 4).
DATA_MESSAGE_INITIAL_COUNTER = 0


def chacha20_xor(key: bytes, nonce: bytes, counter: int, data: bytes) -> bytes:
    """RFC 8439 §2.4 ChaCha20: ``data`` XOR the keystream from block ``counter``.

    Encryption and decryption are the same operation, computed by the backend
    in use (:func:`get_backend`).  Raises :class:`ValueError` for a
    key that is not 32 bytes, a nonce that is not 12 bytes, a counter outside
    ``[0, 2^32)``, or data that would run the counter past ``2^32 - 1``.
    """
    if len(key) != CHACHA20_KEY_BYTES:
        raise ValueError(f"ChaCha20 needs a {CHACHA20_KEY_BYTES}-byte key, not {len(key)}")
    if len(nonce) != CHACHA20_NONCE_BYTES:
        raise ValueError(f"ChaCha20 needs a {CHACHA20_NONCE_BYTES}-byte nonce, not {len(nonce)}")
    if not 0 <= counter < 2**32:
        raise ValueError("the ChaCha20 block counter is 32 bits")
    blocks = (len(data) + 63) // 64
    if counter + blocks > 2**32:
        raise ValueError("data too long for the ChaCha20 block counter")
    return _keystream_xor(key, counter, nonce, data)


def _cryptography_xor(key: bytes, counter: int, nonce: bytes, data: bytes) -> bytes:
    """``data`` XOR ChaCha20's keystream, by ``cryptography`` (the backend that is always there).

    ``cryptography`` takes a 16-byte "nonce" that is the 4-byte little-endian
    counter followed by the 12-byte nonce.  ChaCha20 is a stream cipher: both
    of ``cryptography``'s contexts compute the same XOR, and ``update`` returns
    every byte at once (``finalize`` returns nothing).  The decryption context
    is taken because ``Cipher.encryptor`` first checks for an AEAD mode, which
    ChaCha20 has none of.  The length check keeps the result whole should a
    context ever hold bytes back.  Reads the first 32 bytes of ``key``.
    """
    counter_and_nonce = counter.to_bytes(4, "little") + nonce
    context = Cipher(algorithms.ChaCha20(key[:CHACHA20_KEY_BYTES], counter_and_nonce),
                     None).decryptor()
    out = context.update(data)
    if len(out) != len(data):  # never for ChaCha20; kept so no byte can go missing
        out += context.finalize()
    return out


CipherBackend = Literal["libsodium", "cryptography"]
_XOR: dict[CipherBackend, KeystreamXor] = {"cryptography": _cryptography_xor}


def _probe(candidate: KeystreamXor) -> bool:
    """Whether ``candidate`` computes what ``cryptography`` does: across a block boundary, at the
    data message's counter, at the last counter, and on nothing."""
    key, nonce, data = bytes(range(7, 71)), bytes(range(12)), bytes(range(256)) * 2
    cases = ((0, data[:130]), (1, data[:64]), (2**32 - 2, data[:128]), (5, b""))
    return all(candidate(key, c, nonce, d) == _cryptography_xor(key, c, nonce, d)
               for c, d in cases)


_sodium = chacha20_sodium.load()
if _sodium is not None and _probe(_sodium):
    _XOR["libsodium"] = _sodium
#: The backend used unless :func:`set_backend` says otherwise: libsodium where it is installed.
DEFAULT_BACKEND: Final[CipherBackend] = "libsodium" if "libsodium" in _XOR else "cryptography"
_keystream_xor: KeystreamXor = _XOR[DEFAULT_BACKEND]
_backend: CipherBackend = DEFAULT_BACKEND


def available_backends() -> tuple[CipherBackend, ...]:
    """The ChaCha20 backends usable here: ``"cryptography"`` always, ``"libsodium"`` when
    ``libsodium.so.23`` loaded and passed the probe (:mod:`.chacha20_sodium`)."""
    return tuple(_XOR)


def get_backend() -> CipherBackend:
    """The name of the ChaCha20 backend in use."""
    return _backend


def set_backend(name: CipherBackend) -> CipherBackend:
    """Compute ChaCha20 with ``name`` from now on; returns the previous backend's name.

    Both give the same bytes (the tests hold them against each other and
    RFC 8439's vectors).  Raises :class:`ValueError` for a name that is not in
    :func:`available_backends`.
    """
    global _keystream_xor, _backend
    if name not in _XOR:
        raise ValueError(f"ChaCha20 backend {name!r} is not available here; "
                         f"choose from {sorted(_XOR)}")
    previous = _backend
    _backend, _keystream_xor = name, _XOR[name]
    return previous


@contextmanager
def using_backend(name: CipherBackend) -> Iterator[None]:
    """Run a ``with`` block on ChaCha20 backend ``name``, then restore the previous one.
    Raises :class:`ValueError` like :func:`set_backend`."""
    previous = set_backend(name)
    try:
        yield
    finally:
        set_backend(previous)


#: The most bytes one data message can encrypt before the 32-bit block counter runs out.
_DATA_MESSAGE_MAX_BYTES = (2**32 - DATA_MESSAGE_INITIAL_COUNTER) * 64


def encrypt_data_message(mk_enc: bytes, plaintext: bytes) -> bytes:
    """``Chacha20_Enc(MKenc, nonce, m)`` of otrv4.md §"When you send a Data Message".

    Key: the first 32 bytes of the 64-byte ``MKenc``; nonce: 12 zero bytes;
    initial block counter: :data:`DATA_MESSAGE_INITIAL_COUNTER` (0).  Raises
    :class:`ValueError` if ``mk_enc`` is shorter than 32 bytes.
    """
    if len(mk_enc) < CHACHA20_KEY_BYTES:
        raise ValueError("MKenc must have at least 32 bytes")
    if len(plaintext) > _DATA_MESSAGE_MAX_BYTES:
        raise ValueError("data too long for the ChaCha20 block counter")
    # chacha20_xor's other checks hold by construction (fixed nonce and counter); both
    # backends read the first 32 bytes of the key, so MKenc is passed whole.
    return _keystream_xor(mk_enc, DATA_MESSAGE_INITIAL_COUNTER, DATA_MESSAGE_NONCE, plaintext)


def decrypt_data_message(mk_enc: bytes, ciphertext: bytes) -> bytes:
    """The inverse of :func:`encrypt_data_message` (otrv4.md §"When you receive a Data Message").

    ChaCha20 cannot detect tampering: verify the data message's authenticator
    before calling this.  Raises :class:`ValueError` like :func:`encrypt_data_message`.
    """
    return encrypt_data_message(mk_enc, ciphertext)


register(Decision(
    number=4,
    title="Initial block counter of the data message's ChaCha20",
    question=(
        "otrv4.md encrypts a data message with ChaCha20 under the first 32 bytes of MKenc and "
        "a zero nonce, but does not say which block counter the keystream starts at: 0 or 1 "
        "(RFC 8439's AEAD construction starts encryption at 1)?"
    ),
    decision=(
        "The block counter starts at 0: the first 64 bytes of the message are XORed with "
        "ChaCha20 block 0 of (key = MKenc[0:32], nonce = 12 zero bytes)."
    ),
    reason=(
        "RFC 8439 starts at 1 only in the AEAD construction, where block 0 becomes the Poly1305 "
        "key; OTRv4 uses bare ChaCha20 and authenticates with its own MAC, so no block is "
        "reserved. Counter 0 is also what the common stream-cipher APIs do by default "
        "(libsodium's crypto_stream_chacha20_ietf_xor, Go's chacha20.NewUnauthenticatedCipher)."
    ),
    others=(
        "libotr-ng predates the switch to ChaCha20 (otrv4/otrv4 #204, 2019-03-22) and still "
        "encrypts with XSalsa20 and a random 24-byte nonce, starting at block 0; no maintained "
        "implementation of the ChaCha20 data message was found."
    ),
    vector="chacha20",
))
