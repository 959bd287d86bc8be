"""The errors the ``xep_otr4`` plugin raises itself (each an :class:`otrv4.errors.OTRError`).

The plugin also lets through the errors of the modules it uses (carriage,
devices, the prekey-server client, slixmpp's IQ errors); each public method
says which.
"""

from __future__ import annotations

from otrv4.errors import OTRError

__all__ = [
    "NoPrekeyServiceError",
    "NoRecipientsError",
    "OutgoingStanzaInvalidError",
    "PublicationRefusedError",
]


class NoRecipientsError(OTRError):
    """No device of the peer (or of our own account) has a session, or the ones that have
    are not trusted: nothing to send."""


class OutgoingStanzaInvalidError(OTRError):
    """A stanza this plugin built fails the schemas (a bug; it is not sent)."""


class NoPrekeyServiceError(OTRError):
    """The domain has no prekey service (disco finds no ``auth``/``otr-prekey`` item)."""


class PublicationRefusedError(OTRError):
    """The prekey service did not confirm a publication with a Success message."""
