"""The errors of the prekey component (the service process, not the protocol).

One root, :class:`ComponentError` (an :class:`~otrv4.errors.OTRError`), one
subclass per thing that stops the process; :mod:`otrv4_xmpp.component.__main__`
turns each into one log line and an exit status (:data:`EXIT_STATUS`).
"""

from __future__ import annotations

from typing import Final

from otrv4.errors import OTRError

__all__ = [
    "EXIT_CONFIG",
    "EXIT_FATAL",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_STATUS",
    "ComponentError",
    "ComponentRefusedError",
    "ConfigError",
    "KeyFileError",
]

#: Stopped by SIGTERM or SIGINT after finishing the requests in progress.
EXIT_OK: Final = 0
#: The service could not start (key file, storage).
EXIT_FATAL: Final = 1
#: A bad command line or configuration file (restarting will not help).
EXIT_CONFIG: Final = 2
#: The XMPP server refused the component for good (bad secret, name taken, unknown host).
EXIT_REFUSED: Final = 3


class ComponentError(OTRError):
    """Root of the errors that stop the prekey component."""


class ConfigError(ComponentError):
    """The command line or the TOML configuration is invalid (the message says where)."""


class KeyFileError(ComponentError):
    """The service's key file cannot be used: empty, corrupt, or unreadable (it is named)."""


class ComponentRefusedError(ComponentError):
    """The XMPP server refused the component's stream with a stream error that will not go
    away by reconnecting (``condition``: ``not-authorized``, ``conflict``, …)."""

    def __init__(self, condition: str, text: str | None) -> None:
        super().__init__(f"{condition}" + (f" ({text})" if text else ""))
        self.condition = condition
        self.text = text


#: The exit status for each error class (most specific first).
EXIT_STATUS: Final[tuple[tuple[type[ComponentError], int], ...]] = (
    (ConfigError, EXIT_CONFIG),
    (ComponentRefusedError, EXIT_REFUSED),
    (KeyFileError, EXIT_FATAL),
    (ComponentError, EXIT_FATAL),
)
