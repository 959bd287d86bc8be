"""Trust in other devices: what this device knows of each, and whether it encrypts to it.

Per device (bare JID and instance tag) a :class:`TrustRecord` keeps the
fingerprint seen (otrv4.md §Public keys, Shared Prekeys, Fingerprints), a
:class:`TrustLevel` and when the device was first and last seen.  A decision is
about one fingerprint: a device that shows another long-term key under the same
instance tag is *undecided* again.

Levels: :attr:`TrustLevel.UNDECIDED` (nothing decided), :attr:`TrustLevel.TRUSTED`
(the user said so), :attr:`TrustLevel.VERIFIED` (SMP succeeded, or the user
confirmed the fingerprint), :attr:`TrustLevel.DISTRUSTED` (never encrypt to it).
A :class:`TrustPolicy` decides what happens with undecided devices.

:class:`Trust` is what the device engine (:mod:`otrv4_xmpp.engine`) asks before it
encrypts to a device, on every path: a data message on a session (online peer
devices, the own account's other devices, and through them the carbon copies) and
a non-interactive DAKE from a Prekey Ensemble (offline).  Decisions live in a
:class:`TrustStore`: :class:`MemoryTrustStore` for tests, :class:`RecordTrustStore`
over named records (a JSON file with :class:`JsonFileRecords`, or any store with
``get``/``names``/``commit``, such as the device store).
"""

from __future__ import annotations

import abc
import enum
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Protocol

from otrv4.clock import Clock
from otrv4.errors import OTRError
from otrv4.keys import fingerprint, format_fingerprint
from otrv4.profiles import ClientProfile

__all__ = [
    "DeviceInfo",
    "JsonFileRecords",
    "MemoryTrustStore",
    "RecordTrustStore",
    "Records",
    "Trust",
    "TrustError",
    "TrustLevel",
    "TrustPolicy",
    "TrustRecord",
    "TrustStore",
    "UnknownDeviceError",
    "UntrustedDeviceError",
    "profile_fingerprint",
]


class TrustError(OTRError):
    """Root of the trust errors."""


class UnknownDeviceError(TrustError):
    """A trust decision about a device whose fingerprint this device never saw."""


class UntrustedDeviceError(TrustError):
    """Encrypting to a device that the trust policy refuses (distrusted, or undecided
    under a policy that refuses undecided devices).  ``device`` is (bare JID, tag)."""

    def __init__(self, message: str, device: tuple[str, int]) -> None:
        super().__init__(message)
        self.device = device


class TrustLevel(enum.Enum):
    """What the user decided about one device's fingerprint."""

    UNDECIDED = "undecided"
    TRUSTED = "trusted"
    VERIFIED = "verified"
    DISTRUSTED = "distrusted"


class TrustPolicy(enum.Enum):
    """What happens with undecided devices.

    ``BLIND_UNTIL_VERIFIED`` (the default, "blind trust before verification" as
    OMEMO clients do): an undecided device is encrypted to until one device of its
    account is verified; from then on only trusted and verified devices of that
    account are.  ``BLIND``: undecided devices are always encrypted to (trust on
    first use).  ``MANUAL``: never, until the user trusts or verifies them.
    ``ASK``: the application's callback decides each time.
    """

    BLIND_UNTIL_VERIFIED = "btbv"
    BLIND = "blind"
    MANUAL = "manual"
    ASK = "ask"


@dataclass(frozen=True)
class TrustRecord:
    """One device as this device knows it: its formatted fingerprint, the level
    decided for that fingerprint, when it was first and last seen (seconds)."""

    fingerprint: str
    level: TrustLevel = TrustLevel.UNDECIDED
    first_seen: int = 0
    last_seen: int = 0

    def to_json(self) -> dict[str, object]:
        return {"fingerprint": self.fingerprint, "level": self.level.value,
                "first_seen": self.first_seen, "last_seen": self.last_seen}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> TrustRecord:
        """Raises :class:`TrustError` for a malformed record."""
        try:
            return cls(str(data["fingerprint"]), TrustLevel(data["level"]),
                       int(str(data["first_seen"])), int(str(data["last_seen"])))
        except (KeyError, ValueError) as exc:
            raise TrustError(f"malformed trust record: {exc}") from None


@dataclass(frozen=True)
class DeviceInfo:
    """A device for a listing: account, instance tag, fingerprint, trust and when it
    was last seen (seconds since the epoch); ``own`` marks this device itself."""

    account: str
    tag: int
    fingerprint: str
    trust: TrustLevel
    last_seen: int
    own: bool = False


def profile_fingerprint(profile: ClientProfile) -> str:
    """The formatted fingerprint of the device a Client Profile describes
    (§Public keys…: its long-term public key and forging key)."""
    return format_fingerprint(fingerprint(profile.public_key, profile.forging_key))


class TrustStore(abc.ABC):
    """Where trust records live, by (bare JID, instance tag)."""

    @abc.abstractmethod
    def get(self, account: str, tag: int) -> TrustRecord | None:
        """The record of device ``tag`` of ``account``, or ``None``."""

    @abc.abstractmethod
    def put(self, account: str, tag: int, record: TrustRecord, *, sync: bool = True) -> None:
        """Keep ``record`` (durably, for a durable store) before returning; ``sync=False``
        for a change whose loss in a power failure is harmless (a later last-seen time)."""

    @abc.abstractmethod
    def all(self) -> list[tuple[str, int, TrustRecord]]:
        """Every record, sorted by account and tag."""


class MemoryTrustStore(TrustStore):
    """Trust records in a dictionary (tests; a client that keeps nothing)."""

    def __init__(self) -> None:
        self._records: dict[tuple[str, int], TrustRecord] = {}

    def get(self, account: str, tag: int) -> TrustRecord | None:
        return self._records.get((account, tag))

    def put(self, account: str, tag: int, record: TrustRecord, *, sync: bool = True) -> None:
        self._records[(account, tag)] = record

    def all(self) -> list[tuple[str, int, TrustRecord]]:
        return [(a, t, r) for (a, t), r in sorted(self._records.items())]


class Records(Protocol):
    """Named byte records, as the device store keeps them."""

    def get(self, name: str) -> bytes | None: ...

    def names(self, prefix: str = "") -> list[str]: ...

    def commit(self, puts: Mapping[str, bytes], deletes: Iterable[str] = (), *,
               sync: bool = True) -> None: ...


class RecordTrustStore(TrustStore):
    """Trust records kept as records named ``trust/<bare JID>/<tag, 8 hex digits>``
    (JSON) in ``records``: the device store, or a :class:`JsonFileRecords`."""

    PREFIX = "trust/"

    def __init__(self, records: Records) -> None:
        self.records = records

    def _name(self, account: str, tag: int) -> str:
        return f"{self.PREFIX}{account}/{tag:08x}"

    def get(self, account: str, tag: int) -> TrustRecord | None:
        raw = self.records.get(self._name(account, tag))
        return None if raw is None else TrustRecord.from_json(json.loads(raw))

    def put(self, account: str, tag: int, record: TrustRecord, *, sync: bool = True) -> None:
        data = json.dumps(record.to_json(), sort_keys=True).encode()
        self.records.commit({self._name(account, tag): data}, sync=sync)

    def all(self) -> list[tuple[str, int, TrustRecord]]:
        out: list[tuple[str, int, TrustRecord]] = []
        for name in self.records.names(self.PREFIX):
            account, _, tag = name[len(self.PREFIX):].rpartition("/")
            raw = self.records.get(name)
            if raw is not None:
                out.append((account, int(tag, 16), TrustRecord.from_json(json.loads(raw))))
        return sorted(out, key=lambda r: (r[0], r[1]))


class JsonFileRecords:
    """Named records in one JSON file, rewritten atomically (a temporary file renamed
    over it) on every commit; for a client without a device store."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._data: dict[str, str] = {}
        if self.path.exists():
            loaded = json.loads(self.path.read_text(encoding="utf-8") or "{}")
            self._data = {str(k): str(v) for k, v in loaded.items()}

    def get(self, name: str) -> bytes | None:
        value = self._data.get(name)
        return None if value is None else value.encode()

    def names(self, prefix: str = "") -> list[str]:
        return sorted(n for n in self._data if n.startswith(prefix))

    def commit(self, puts: Mapping[str, bytes], deletes: Iterable[str] = (), *,
               sync: bool = True) -> None:
        new = dict(self._data)
        for name in deletes:
            new.pop(name, None)
        new.update((k, v.decode()) for k, v in puts.items())
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".trust-")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(new, f, sort_keys=True, indent=1)
            f.flush()
            if sync:
                os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self._data = new


AskCallback = Callable[[str, int, str], bool]
"""``ask(account, tag, fingerprint) -> bool`` for :attr:`TrustPolicy.ASK`."""


class Trust:
    """This device's trust in other devices: records in ``store``, decisions by
    ``policy`` (``ask`` answers for :attr:`TrustPolicy.ASK`), times from ``clock``."""

    def __init__(self, store: TrustStore | None = None, *,
                 policy: TrustPolicy = TrustPolicy.BLIND_UNTIL_VERIFIED,
                 ask: AskCallback | None = None, clock: Clock | None = None) -> None:
        self.store = store if store is not None else MemoryTrustStore()
        self.policy = policy
        self.ask = ask
        self.clock = clock

    def _now(self) -> int:
        return self.clock.now() if self.clock is not None else 0

    def seen(self, account: str, tag: int, fp: str) -> TrustRecord:
        """Record that device ``tag`` of ``account`` showed fingerprint ``fp`` now; a
        new fingerprint under a known tag starts undecided.  Returns the record."""
        now = self._now()
        old = self.store.get(account, tag)
        if old is None or old.fingerprint != fp:
            new = TrustRecord(fp, TrustLevel.UNDECIDED, now, now)
            self.store.put(account, tag, new)
            return new
        if now <= old.last_seen:
            return old
        new = replace(old, last_seen=now)
        self.store.put(account, tag, new, sync=False)
        return new

    def level(self, account: str, tag: int, fp: str | None = None) -> TrustLevel:
        """The level of device ``tag`` of ``account`` (for fingerprint ``fp`` when given:
        undecided when it differs from the one the decision was about)."""
        record = self.store.get(account, tag)
        if record is None or (fp is not None and record.fingerprint != fp):
            return TrustLevel.UNDECIDED
        return record.level

    def allows(self, account: str, tag: int, fp: str) -> bool:
        """Whether this device encrypts to device ``tag`` of ``account`` showing ``fp``
        (recorded as seen): trusted and verified devices yes, distrusted ones no,
        undecided ones as the policy says."""
        record = self.seen(account, tag, fp)
        if record.level in (TrustLevel.TRUSTED, TrustLevel.VERIFIED):
            return True
        if record.level is TrustLevel.DISTRUSTED:
            return False
        return self.undecided_allowed(account, tag, fp)

    def undecided_allowed(self, account: str, tag: int, fp: str) -> bool:
        """Whether the policy lets this device encrypt to an undecided device (``fp``
        empty: its fingerprint is not known yet, which :attr:`TrustPolicy.ASK` refuses)."""
        if self.policy is TrustPolicy.BLIND:
            return True
        if self.policy is TrustPolicy.MANUAL:
            return False
        if self.policy is TrustPolicy.ASK:
            return bool(fp) and self.ask is not None and bool(self.ask(account, tag, fp))
        return not any(a == account and r.level is TrustLevel.VERIFIED
                       for a, _, r in self.store.all())

    def check(self, account: str, tag: int, fp: str) -> None:
        """:meth:`allows` (``fp`` empty: :meth:`undecided_allowed`), raising
        :class:`UntrustedDeviceError` when it says no."""
        if not (self.allows(account, tag, fp) if fp
                else self.undecided_allowed(account, tag, fp)):
            raise UntrustedDeviceError(
                f"{account} device {tag:08x} is {self.level(account, tag).value}: "
                "not encrypting to it", (account, tag))

    def decide(self, account: str, tag: int, level: TrustLevel,
               fp: str | None = None) -> TrustRecord:
        """Set the level of device ``tag`` of ``account`` (for ``fp`` when given, which
        is then recorded as seen).  Raises :class:`UnknownDeviceError` when no
        fingerprint of that device is known."""
        record = self.seen(account, tag, fp) if fp is not None else self.store.get(account, tag)
        if record is None:
            raise UnknownDeviceError(f"no fingerprint known for {account} device {tag:08x}")
        new = replace(record, level=level)
        self.store.put(account, tag, new)
        return new

    def records(self, account: str | None = None) -> list[tuple[str, int, TrustRecord]]:
        """The records (of ``account`` when given), sorted."""
        return [r for r in self.store.all() if account is None or r[0] == account]
