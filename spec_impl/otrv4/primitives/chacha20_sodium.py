"""ChaCha20 on libsodium: the optional accelerated backend of :mod:`otrv4.primitives.cipher`.

libsodium's ``crypto_stream_chacha20_ietf_xor_ic`` is RFC 8439's bare ChaCha20
(32-byte key, 96-bit nonce, 32-bit initial block counter) in one C call.
:mod:`~otrv4.primitives.cipher` makes it the default when the shared library
``libsodium.so.23`` loads (Debian and Ubuntu: ``apt-get install libsodium23``)
and gives the same bytes as ``cryptography``'s ChaCha20 on its load-time probe;
otherwise ``cryptography`` is used and nothing changes but the speed.  It is
called through :mod:`ctypes`: nothing is compiled.

Why: a data message is encrypted once and decrypted once, and ``cryptography``'s
stream-cipher API builds three Python objects and checks its arguments on every
call (about 5.5 us here for a 135-byte message, against 2.2 us for this one
call); with ten SHAKE-256 derivations, ChaCha20 is most of a message's cost.

libsodium aborts the process (``sodium_misuse``) on a message longer than its
limit; the callers in :mod:`~otrv4.primitives.cipher` check the key, the nonce,
the counter and the length first, so that can never happen from here.  Nothing
in this module raises.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from typing import Final

from .native import open_library

__all__ = ["LIBRARY_NAME", "load"]

LIBRARY_NAME: Final = "libsodium.so.23"
"""The shared library looked for first (Debian's ``libsodium23``)."""

#: ``(key, counter, nonce, data) -> data XOR keystream``; the key is read up to its 32nd byte.
KeystreamXor = Callable[[bytes, int, bytes, bytes], bytes]


def load() -> KeystreamXor | None:
    """The libsodium ChaCha20 function, or ``None`` when libsodium is missing or fails to start.

    The returned function takes ``(key, counter, nonce, data)`` with a key of at
    least 32 bytes (only the first 32 are read: libsodium reads exactly
    ``crypto_stream_chacha20_ietf_KEYBYTES``), a counter in ``[0, 2^32)``, a
    12-byte nonce and data that does not run the counter past ``2^32 - 1``, and
    returns ``data`` XOR the keystream.  The caller checks all of that.
    """
    lib = open_library(LIBRARY_NAME, "sodium")
    if lib is None:
        return None
    try:
        init = lib.sodium_init
        xor_ic = lib.crypto_stream_chacha20_ietf_xor_ic
        key_bytes = lib.crypto_stream_chacha20_ietf_keybytes
        nonce_bytes = lib.crypto_stream_chacha20_ietf_noncebytes
    except AttributeError:  # an old or foreign libsodium
        return None
    init.restype = ctypes.c_int
    if init() < 0:
        return None
    key_bytes.restype = nonce_bytes.restype = ctypes.c_size_t
    if key_bytes() != 32 or nonce_bytes() != 12:
        return None
    xor_ic.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulonglong,
                       ctypes.c_char_p, ctypes.c_uint32, ctypes.c_char_p]
    xor_ic.restype = ctypes.c_int
    buffer = ctypes.create_string_buffer

    def keystream_xor(key: bytes, counter: int, nonce: bytes, data: bytes) -> bytes:
        out = buffer(len(data))
        xor_ic(out, data, len(data), nonce, counter, key)
        return out.raw

    return keystream_xor
