"""The prekey component's configuration: a TOML file, overridden by the command line.

A complete file (every key but ``jid`` and a secret has a default)::

    [component]
    jid = "prekeys1.example.org"          # this instance's component JID
    secret_file = "/etc/otr4-prekey/secret"   # or: secret = "…"
    key_file = "/var/lib/otr4-prekey/service.key"   # shared by every instance
    publisher_domains = ["example.org"]   # default: the parent domain of jid

    [server]                              # the XMPP server's component port (XEP-0114)
    host = "127.0.0.1"
    port = 5347

    [storage]
    url = "postgresql://otr4prekey@db.example.org/otr4prekey"   # or sqlite:///path

    [limits]                              # otrv4_prekey.server.ServerPolicy
    max_stored_per_device = 500
    retrievals_per_minute = 60
    dake_timeout = 120
    max_pending_dakes = 10000
    max_message_bytes = 262144

    [reconnect]                           # seconds; doubled after each failed attempt
    initial_delay = 1.0
    max_delay = 60.0

    [log]
    level = "INFO"                        # DEBUG also logs every stanza

Unknown tables or keys are errors (a typo must not silently keep a default).
Without ``key_file`` a SQLite storage keeps the key beside its file
(``<file>.key``); other storages need ``key_file``.
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Final

from otrv4_prekey.server import DEFAULT_POLICY, ServerPolicy
from otrv4_prekey.storage_url import InvalidStorageUrlError, parse_storage_url

from .errors import ConfigError

__all__ = ["DEFAULT_STORAGE", "ComponentConfig", "load_config"]

#: The storage when none is configured: a SQLite file in the working directory.
DEFAULT_STORAGE: Final = "sqlite:prekeys.sqlite"

_LIMITS: Final = ("max_stored_per_device", "retrievals_per_minute", "dake_timeout",
                  "max_pending_dakes", "max_message_bytes")
_KEYS: Final[dict[str, dict[str, type | tuple[type, ...]]]] = {
    "component": {"jid": str, "secret": str, "secret_file": str, "key_file": str,
                  "publisher_domains": list},
    "server": {"host": str, "port": int},
    "storage": {"url": str},
    "limits": dict.fromkeys(_LIMITS, int),
    "reconnect": {"initial_delay": (int, float), "max_delay": (int, float)},
    "log": {"level": str},
}


@dataclass(frozen=True)
class ComponentConfig:
    """Everything the component needs to run (see the module docstring for the file)."""

    jid: str
    secret: str
    host: str = "127.0.0.1"
    port: int = 5347
    storage: str = DEFAULT_STORAGE
    key_file: Path | None = None
    publisher_domains: frozenset[str] | None = None
    policy: ServerPolicy = DEFAULT_POLICY
    reconnect_initial: float = 1.0
    reconnect_max: float = 60.0
    log_level: str = "INFO"

    @property
    def key_path(self) -> Path:
        """``key_file``, or ``<SQLite file>.key`` for a SQLite storage.  Raises
        :class:`~otrv4_xmpp.component.errors.ConfigError` for other storages without one."""
        if self.key_file is not None:
            return self.key_file
        parsed = parse_storage_url(self.storage)
        if parsed.backend == "sqlite" and parsed.target != ":memory:":
            return Path(parsed.target + ".key")
        raise ConfigError(f"key_file is required with a {parsed.backend} storage "
                          "(every instance of the service uses the same key file)")

    def service_policy(self) -> ServerPolicy:
        """The :class:`~otrv4_prekey.server.ServerPolicy` with the publisher domains
        (default: the parent domain of the JID, ``prekeys.example.org`` serves
        ``example.org``)."""
        domains = self.publisher_domains
        if domains is None:
            domains = frozenset({self.jid.split(".", 1)[1] if "." in self.jid else self.jid})
        return replace(self.policy, publisher_domains=domains)


def _check(table: str, data: dict[str, Any], where: str) -> None:
    known = _KEYS[table]
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"{where}: unknown key [{table}] {key} "
                              f"(known: {', '.join(sorted(known))})")
        expected = known[key]
        if isinstance(value, bool) or not isinstance(value, expected):
            raise ConfigError(f"{where}: [{table}] {key} has the wrong type "
                              f"({type(value).__name__})")


def load_config(path: Path | None, overrides: dict[str, Any] | None = None) -> ComponentConfig:
    """Read the TOML file at ``path`` (None: no file), apply ``overrides`` (the command
    line: keys ``jid``, ``secret``, ``host``, ``port``, ``storage``, ``key_file``,
    ``publisher_domains``, ``log_level``; None values are ignored) and check the result.

    Raises :class:`~otrv4_xmpp.component.errors.ConfigError` naming the file and key:
    unreadable file, TOML syntax, unknown table or key, wrong type, missing ``jid`` or
    secret, an unreadable ``secret_file``, a bad storage URL, a limit below 1, an
    unknown log level.
    """
    where = str(path) if path is not None else "command line"
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read it: {exc.strerror or exc}") from exc
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path}: not valid TOML: {exc}") from exc
    for table, data in raw.items():
        if table not in _KEYS or not isinstance(data, dict):
            raise ConfigError(f"{where}: unknown table or key {table!r} "
                              f"(tables: {', '.join(_KEYS)})")
        _check(table, data, where)
    comp = raw.get("component", {})
    values: dict[str, Any] = {
        "jid": comp.get("jid"),
        "secret": comp.get("secret"),
        "host": raw.get("server", {}).get("host"),
        "port": raw.get("server", {}).get("port"),
        "storage": raw.get("storage", {}).get("url"),
        "key_file": comp.get("key_file"),
        "publisher_domains": comp.get("publisher_domains"),
        "log_level": raw.get("log", {}).get("level"),
    }
    if comp.get("secret_file") is not None and comp.get("secret") is None:
        secret_path = Path(comp["secret_file"])
        try:
            values["secret"] = secret_path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{where}: secret_file {secret_path}: "
                              f"{exc.strerror or exc}") from exc
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    if not values["jid"]:
        raise ConfigError(f"{where}: the component JID is missing ([component] jid or --jid)")
    if not values["secret"]:
        raise ConfigError(f"{where}: the component secret is missing ([component] secret, "
                          "secret_file, or --secret)")
    storage = values["storage"] or DEFAULT_STORAGE
    try:
        parse_storage_url(storage)
    except InvalidStorageUrlError as exc:
        raise ConfigError(f"{where}: [storage] url: {exc}") from exc
    limits = raw.get("limits", {})
    for key, value in limits.items():
        if value < 1:
            raise ConfigError(f"{where}: [limits] {key} must be at least 1")
    level = str(values["log_level"] or "INFO").upper()
    if not isinstance(logging.getLevelName(level), int):
        raise ConfigError(f"{where}: unknown log level {level!r} (DEBUG, INFO, WARNING, ERROR)")
    reconnect = raw.get("reconnect", {})
    initial = float(reconnect.get("initial_delay", 1.0))
    maximum = float(reconnect.get("max_delay", 60.0))
    if not 0 < initial <= maximum:
        raise ConfigError(f"{where}: [reconnect] needs 0 < initial_delay <= max_delay")
    domains = values["publisher_domains"]
    if domains is not None and not all(isinstance(d, str) and d for d in domains):
        raise ConfigError(f"{where}: [component] publisher_domains is a list of domain names")
    port = values["port"] if values["port"] is not None else 5347
    if not 0 < int(port) < 65536:
        raise ConfigError(f"{where}: the server port {port} is out of range")
    return ComponentConfig(
        jid=str(values["jid"]),
        secret=str(values["secret"]),
        host=str(values["host"] or "127.0.0.1"),
        port=int(port),
        storage=storage,
        key_file=Path(values["key_file"]) if values["key_file"] else None,
        publisher_domains=frozenset(domains) if domains else None,
        policy=replace(DEFAULT_POLICY, **limits),
        reconnect_initial=initial,
        reconnect_max=maximum,
        log_level=level,
    )
