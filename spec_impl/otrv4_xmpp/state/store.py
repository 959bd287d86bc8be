"""The storage interface of durable device state, and its in-memory implementation.

A store keeps named records (bytes, in the format of :mod:`.codec`) for one
account on one device.  The device engine reads every record once when it
starts and then calls :meth:`DeviceStore.commit` with the records one step
changed, before any stanza of that step leaves and before any plaintext of it
reaches the application.  A client that keeps its data in its own database
implements these five methods over it; the contract tests
(``tests/binding/test_state_store.py``) say what each must do.

Record names are ``identity``, ``prekeys``, ``pair/<bare JID>/<tag, 8 hex
digits>``, ``pending/<full JID>``, ``note/<name>`` and the trust decisions
``trust/<bare JID>/<tag, 8 hex digits>`` (:class:`otrv4_xmpp.trust.RecordTrustStore`).
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Mapping

from .errors import StoreClosedError

__all__ = ["DeviceStore", "MemoryStore"]


class DeviceStore(abc.ABC):
    """Named records of one device of one account (see the module documentation)."""

    @abc.abstractmethod
    def get(self, name: str) -> bytes | None:
        """The record ``name``, or ``None``.  Raises :class:`StoreClosedError`."""

    @abc.abstractmethod
    def names(self, prefix: str = "") -> list[str]:
        """The names of the records that start with ``prefix``, sorted.  Raises
        :class:`StoreClosedError`."""

    @abc.abstractmethod
    def commit(self, puts: Mapping[str, bytes], deletes: Iterable[str] = (), *,
               sync: bool = True) -> None:
        """Write ``puts`` and remove ``deletes`` (absent names are ignored) as one
        atomic, durable change: once it returns, a crash of the process keeps all of it;
        if it raises, none of it is kept.  ``sync``: the change must also survive a crash
        of the operating system or a power failure (the engine asks for it when the
        step sends something); without it, it may be synced later.  Raises
        :class:`StoreClosedError`."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store (idempotent); later calls raise :class:`StoreClosedError`."""

    def __enter__(self) -> DeviceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MemoryStore(DeviceStore):
    """Records in a dictionary: for tests, and for a client that keeps nothing."""

    def __init__(self) -> None:
        self._records: dict[str, bytes] | None = {}

    def _open(self) -> dict[str, bytes]:
        if self._records is None:
            raise StoreClosedError("the store was closed")
        return self._records

    def get(self, name: str) -> bytes | None:
        return self._open().get(name)

    def names(self, prefix: str = "") -> list[str]:
        return sorted(n for n in self._open() if n.startswith(prefix))

    def commit(self, puts: Mapping[str, bytes], deletes: Iterable[str] = (), *,
               sync: bool = True) -> None:
        records = self._open()
        new = dict(records)
        for name in deletes:
            new.pop(name, None)
        new.update((k, bytes(v)) for k, v in puts.items())
        records.clear()
        records.update(new)

    def close(self) -> None:
        self._records = None
