"""The two OTRv4 modes this implementation supports, and what each refuses.

Implements ``otrv4.md`` §OTRv4 Modes with ``modes/otrv4-standalone-mode.md``
and ``modes/otrv4-interactive-only-mode.md``.  The OTRv3-compatible mode is
not implemented (decision 12, :mod:`otrv4.profiles`).

* **OTRv4-standalone**: always encrypted; no plaintext, query messages or
  whitespace tags are handled; no OTRv3; interactive and non-interactive
  DAKEs; our Client Profile's Versions is exactly ``"4"`` and carries no
  transitional signature.
* **OTRv4-interactive-only**: the standalone mode without Prekey Profiles,
  shared prekeys, prekey publication and the non-interactive DAKE (offline
  conversation requests are refused).

:data:`CAPABILITIES` is the table the XEP renders; :func:`require` raises the
exact refusal for an event a mode does not allow.
"""

from __future__ import annotations

import enum

from .errors import OTRError
from .profiles import ClientProfile

__all__ = [
    "CAPABILITIES",
    "Capability",
    "Mode",
    "ModeRefusalError",
    "NonInteractiveDakeRefusedError",
    "OTRv3RequestRefusedError",
    "OwnProfileNotAllowedInModeError",
    "PlaintextRefusedError",
    "PrekeyPublicationRefusedError",
    "check_own_client_profile",
    "require",
]


class ModeRefusalError(OTRError):
    """An event the configured mode does not allow."""


class NonInteractiveDakeRefusedError(ModeRefusalError):
    """Interactive-only mode: a Non-Interactive-Auth message or a request for an offline DAKE."""


class PrekeyPublicationRefusedError(ModeRefusalError):
    """Interactive-only mode: creating a shared prekey, a Prekey Profile or prekey messages."""


class PlaintextRefusedError(ModeRefusalError):
    """Both modes: a plaintext message, query message or whitespace tag to act on or send."""


class OTRv3RequestRefusedError(ModeRefusalError):
    """Both modes: a request for an OTRv3 conversation (§OTRv4 Modes: reject it)."""


class OwnProfileNotAllowedInModeError(ModeRefusalError):
    """Our own Client Profile breaks the mode (Versions other than "4", or OTRv3 fields)."""


class Mode(enum.Enum):
    """An OTRv4 mode (the state machine is initialised with one)."""

    STANDALONE = "OTRv4-standalone"
    INTERACTIVE_ONLY = "OTRv4-interactive-only"


class Capability(enum.Enum):
    """Events whose acceptance depends on the mode."""

    INTERACTIVE_DAKE = "interactive DAKE (Identity, Auth-R, Auth-I)"
    NON_INTERACTIVE_DAKE = "non-interactive DAKE (send or receive Non-Interactive-Auth)"
    PREKEY_PUBLICATION = "shared prekey, Prekey Profile and prekey messages"
    PLAINTEXT = "plaintext, query messages and whitespace tags"
    OTRV3 = "OTRv3 conversations"


CAPABILITIES: dict[Capability, dict[Mode, bool]] = {
    Capability.INTERACTIVE_DAKE: {Mode.STANDALONE: True, Mode.INTERACTIVE_ONLY: True},
    Capability.NON_INTERACTIVE_DAKE: {Mode.STANDALONE: True, Mode.INTERACTIVE_ONLY: False},
    Capability.PREKEY_PUBLICATION: {Mode.STANDALONE: True, Mode.INTERACTIVE_ONLY: False},
    Capability.PLAINTEXT: {Mode.STANDALONE: False, Mode.INTERACTIVE_ONLY: False},
    Capability.OTRV3: {Mode.STANDALONE: False, Mode.INTERACTIVE_ONLY: False},
}
"""Whether each mode allows each capability (rendered into the XEP)."""

_REFUSALS: dict[Capability, type[ModeRefusalError]] = {
    Capability.NON_INTERACTIVE_DAKE: NonInteractiveDakeRefusedError,
    Capability.PREKEY_PUBLICATION: PrekeyPublicationRefusedError,
    Capability.PLAINTEXT: PlaintextRefusedError,
    Capability.OTRV3: OTRv3RequestRefusedError,
}


def require(mode: Mode, capability: Capability) -> None:
    """Raise the refusal for ``capability`` unless ``mode`` allows it.

    Raises :class:`NonInteractiveDakeRefusedError`,
    :class:`PrekeyPublicationRefusedError`, :class:`PlaintextRefusedError` or
    :class:`OTRv3RequestRefusedError`.
    """
    if not CAPABILITIES[capability][mode]:
        raise _REFUSALS[capability](f"{mode.value} does not allow {capability.value}")


def check_own_client_profile(mode: Mode, profile: ClientProfile) -> None:
    """Both modes' rule for our own profile: Versions exactly ``"4"``, no DSA key, no
    transitional signature (standalone-mode document, §Creating a Client Profile).

    Raises :class:`OwnProfileNotAllowedInModeError`.
    """
    if profile.versions != b"4":
        raise OwnProfileNotAllowedInModeError(
            f"{mode.value}: our Versions must be \"4\", not {profile.versions!r}"
        )
    if profile.dsa_public_key is not None or profile.transitional_signature is not None:
        raise OwnProfileNotAllowedInModeError(f"{mode.value}: no OTRv3 fields in our profile")
