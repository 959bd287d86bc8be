"""Commands that start the adapters the conformance tests run."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


def python_command(*args: str) -> str:
    """A command line that runs this interpreter with ``spec_impl`` importable."""
    return " ".join(shlex.quote(a) for a in (sys.executable, *args))


REFERENCE = python_command("-m", "otrv4_conformance.reference")


def broken(defect: str) -> str:
    return python_command("-m", "otrv4_conformance.broken", "--break", defect)


def misbehaving(mode: str, op: str) -> str:
    return python_command(str(HERE / "misbehaving.py"), mode, op)
