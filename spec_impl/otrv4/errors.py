"""The exception hierarchy of the OTRv4 engine.

One root, :class:`OTRError`; one subclass per rule that input can break.
Every public function documents which of these it raises.  ``assert`` is never
used to reject input.  Modules add their specific classes here so that the
whole hierarchy can be listed (and rendered into the XEP) from one place.
"""

from __future__ import annotations

__all__ = ["DecodeError", "OTRError", "ValidationError"]


class OTRError(Exception):
    """Root of every error the OTRv4 engine raises on bad input or state."""


class DecodeError(OTRError):
    """Bytes that do not parse as the expected wire type (truncated, trailing data, bad tag)."""


class ValidationError(OTRError):
    """A value that parses but breaks a rule of the specification."""
