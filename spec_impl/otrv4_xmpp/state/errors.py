"""The errors of durable device state (one class per rule; the root is
:class:`otrv4.errors.OTRError` through :class:`StateError`).

Each names the record or file concerned; none of them is raised after
anything was written (a failed open or read leaves the store as it was).
"""

from __future__ import annotations

from otrv4.errors import DecodeError, OTRError

__all__ = [
    "CorruptRecordError",
    "NewerRecordVersionError",
    "OlderRecordVersionError",
    "StateError",
    "StoreClosedError",
    "StoreCorruptError",
    "StoreLockedError",
    "StoreVersionError",
]


class StateError(OTRError):
    """Root of the storage errors."""


class CorruptRecordError(StateError, DecodeError):
    """A stored record is not a record of the documented format (truncated, not JSON,
    a field missing or of the wrong type, a key that does not validate)."""


class NewerRecordVersionError(StateError):
    """A record was written by a newer release (its ``v`` is above what this release
    reads); nothing is overwritten."""


class OlderRecordVersionError(StateError):
    """A record of a version this release neither reads nor migrates."""


class StoreCorruptError(StateError):
    """The store file is not a readable database of this format (truncated, damaged, or
    another file); the file is left as it was."""


class StoreVersionError(StateError):
    """The store file was written by a newer release (its schema version is higher)."""


class StoreLockedError(StateError):
    """Another process (or another store object in this one) holds the store open."""


class StoreClosedError(StateError):
    """The store was closed."""
