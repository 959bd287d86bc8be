"""The prekey service's long-term key file, created atomically.

The file holds the 57-byte Ed448 ``sym_key`` (otrv4-prekey-server.md §Public
keys and Fingerprints: the server's long-term key ``(sk_s, H_s)``) as 114
hexadecimal digits and a newline, mode 0600.  Several instances of one
domain's service share it (the XEP's "Several Instances"), so two processes
may start at the same moment with no file yet:

1. read the file; if it exists, use it;
2. otherwise write a new key to a temporary file in the same folder, ``fsync``
   it, and ``link`` it to the final name: ``link`` fails when the name exists,
   so exactly one process creates the file, and the file is complete before
   it has its name;
3. the process that lost the race reads the winner's file.

A file that is empty or does not hold 114 hexadecimal digits is never
replaced: :class:`~otrv4_xmpp.component.errors.KeyFileError` names it (a
service that silently made a new key would change its fingerprint).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Final

from otrv4.primitives.eddsa import EdDSAKeyPair
from otrv4.primitives.rng import Rng

from .errors import KeyFileError

__all__ = ["KEY_HEX_DIGITS", "load_or_create_key", "read_key"]

#: 57 bytes as hexadecimal digits.
KEY_HEX_DIGITS: Final = 114


def read_key(path: Path) -> EdDSAKeyPair:
    """The key pair in ``path``.  Raises :class:`FileNotFoundError` when there is no file
    and :class:`~otrv4_xmpp.component.errors.KeyFileError` when it is empty, corrupt or
    unreadable."""
    try:
        text = path.read_text(encoding="ascii")
    except FileNotFoundError:
        raise
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"key file {path}: cannot read it: {exc}") from exc
    digits = text.strip()
    if not digits:
        raise KeyFileError(f"key file {path} is empty (restore it from a backup or from "
                           "another instance of the service, or delete it to make a new key)")
    if len(digits) != KEY_HEX_DIGITS or any(c not in "0123456789abcdefABCDEF" for c in digits):
        raise KeyFileError(f"key file {path} is corrupt: expected {KEY_HEX_DIGITS} hexadecimal "
                           f"digits, found {len(digits)} characters")
    return EdDSAKeyPair.from_secret(bytes.fromhex(digits))


def load_or_create_key(path: Path, rng: Rng) -> EdDSAKeyPair:
    """The service's long-term key pair from ``path``, created on first use (steps in the
    module docstring; the new key draws 57 bytes from ``rng``).  Raises
    :class:`~otrv4_xmpp.component.errors.KeyFileError`."""
    path = Path(path)
    try:
        return read_key(path)
    except FileNotFoundError:
        pass
    pair = EdDSAKeyPair.generate(rng)
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise KeyFileError(f"key file {path}: cannot create it: {exc}") from exc
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(pair.sym_key.hex() + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return read_key(path)  # another process won the race: its key
        except OSError as exc:
            raise KeyFileError(f"key file {path}: cannot create it: {exc}") from exc
        _fsync_folder(folder)
        return pair
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _fsync_folder(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
