"""Opening an optional shared library through :mod:`ctypes`, for the accelerated backends.

:mod:`~otrv4.primitives.ed448_decaf` (libdecaf) and
:mod:`~otrv4.primitives.chacha20_sodium` (libsodium) start the same way: the
Debian library name first, then whatever the system's linker cache knows by the
short name.  Nothing is compiled; a missing library is not an error.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from typing import Any

__all__ = ["open_library"]


def open_library(soname: str, name: str) -> Any:
    """``ctypes.CDLL(soname)`` (e.g. ``"libdecaf.so.0"``), else the library
    ``ctypes.util.find_library(name)`` finds (e.g. ``"decaf"``), else ``None``.  Raises
    nothing."""
    names = [soname]
    found = ctypes.util.find_library(name)
    if found and found != soname:
        names.append(found)
    for candidate in names:
        try:
            return ctypes.CDLL(candidate)
        except OSError:
            continue
    return None
