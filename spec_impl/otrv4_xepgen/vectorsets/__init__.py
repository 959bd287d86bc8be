"""Producers of the vector files under ``examples/vectors/``.

Each module of this package defines ``VECTOR_FILES``: a mapping from a file
stem (``"ed448-points"`` → ``examples/vectors/ed448-points.json``) to a
function that returns a :class:`otrv4_xepgen.vectors.VectorFile`.  Producers call the
public API of the protocol packages only and use
:class:`otrv4.primitives.rng.DeterministicRng` with one label per file.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable

from ..vectors import VectorFile

__all__ = ["all_vector_files"]


def all_vector_files() -> dict[str, Callable[[], VectorFile]]:
    """Every registered producer, by file stem, in a stable order."""
    found: dict[str, Callable[[], VectorFile]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        for stem, producer in getattr(module, "VECTOR_FILES", {}).items():
            if stem in found:
                raise ValueError(f"two producers for vector file {stem!r}")
            found[stem] = producer
    return dict(sorted(found.items()))
