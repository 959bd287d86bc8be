"""The exception hierarchy of the OTRv4 engine.

One root, :class:`OTRError`; one subclass per rule that input can break.
Every public function documents which of these it raises.  ``assert`` is never
used to reject input.  Modules declare their specific subclasses next to the
code that raises them (subclassing one of the classes here);
:func:`all_error_classes` walks the whole hierarchy, so it can be listed (and
rendered into the XEP) from one place.
"""

from __future__ import annotations

__all__ = ["DecodeError", "OTRError", "ValidationError", "all_error_classes"]


class OTRError(Exception):
    """Root of every error the OTRv4 engine raises on bad input or state."""


class DecodeError(OTRError):
    """Bytes that do not parse as the expected wire type (truncated, trailing data, bad tag)."""


class ValidationError(OTRError):
    """A value that parses but breaks a rule of the specification."""


def all_error_classes() -> list[type[OTRError]]:
    """Every subclass of :class:`OTRError` defined so far, depth first, by qualified name."""
    seen: list[type[OTRError]] = []

    def walk(cls: type[OTRError]) -> None:
        for sub in sorted(cls.__subclasses__(), key=lambda c: f"{c.__module__}.{c.__qualname__}"):
            if sub not in seen:
                seen.append(sub)
                walk(sub)

    walk(OTRError)
    return seen
