"""Build hook: ship ``schemas/`` (the normative source, at the repository root) as package
data of :mod:`otrv4_xmpp` (``otrv4_xmpp/schemas/`` in the wheel), without a committed copy.

Everything else about the distribution is in ``pyproject.toml``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SCHEMAS = ROOT / "schemas"


class BuildWithSchemas(build_py):  # type: ignore[misc]
    """``build_py`` that also copies ``schemas/*.xsd`` and ``*.json`` into the built package."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # an editable install reads the repository's schemas/ directly
        target = Path(self.build_lib) / "otrv4_xmpp" / "schemas"
        target.mkdir(parents=True, exist_ok=True)
        for src in sorted(SCHEMAS.iterdir()):
            if src.suffix in (".xsd", ".json"):
                shutil.copyfile(src, target / src.name)


setup(cmdclass={"build_py": BuildWithSchemas})
