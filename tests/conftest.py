"""Shared fixtures.

External programs (xmllint, prosody) and the XSF reference files are optional
on a developer's machine (the tests that need them skip, saying why) and
required in CI (``CI`` set in the environment): there a missing one fails.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from otrv4.primitives import ed448
from otrv4_xepgen.paths import PROJECT_ROOT, XsfFiles, find_xsf
from otrv4_xmpp.validation import StanzaValidator

IN_CI = bool(os.environ.get("CI"))


def require(condition: bool, reason: str) -> None:
    """Skip (fail in CI) when ``condition`` is false."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


#: Every Ed448 backend, the optional accelerator first.
ED448_BACKENDS = ("libdecaf", "fast", "reference")
#: The compiled ones: what the slower protocol tests (DAKEs, SMP) run on.
COMPILED_ED448_BACKENDS = ("libdecaf", "fast")


@contextmanager
def ed448_backend_in_use(name: str) -> Iterator[str]:
    """Run a block on the Ed448 backend ``name``.

    libdecaf is an optional accelerator: where ``libdecaf.so.0`` is missing the
    test skips, saying so, except in CI (which installs it), where it fails.
    """
    if name == "libdecaf":
        require("libdecaf" in ed448.BACKENDS,
                "libdecaf.so.0 is not installed (apt-get install libdecaf0): the libdecaf Ed448 "
                "backend is not tested")
    with ed448.using_backend(name):
        yield name


def require_program(name: str) -> str:
    path = shutil.which(name)
    require(path is not None, f"{name} is not installed (apt-get install it)")
    assert path is not None
    return path


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def xsf() -> XsfFiles:
    """The XSF's DTD and schemas (from ../shared/ref/xsf, XSF_DIR or XSF_SCHEMAS_DIR)."""
    found = find_xsf()
    require(found.dtd_dir is not None and found.schemas is not None,
            "XSF reference files not found: set XSF_DIR, or keep ../shared/ref/xsf beside "
            "the project")
    return found


@pytest.fixture(scope="session")
def validator(xsf: XsfFiles) -> StanzaValidator:
    """The full validator: our schemas plus the XSF stanza schemas."""
    return StanzaValidator(xsf.schema_locations(PROJECT_ROOT / "schemas"))


@pytest.fixture(scope="session")
def own_validator() -> StanzaValidator:
    """The validator with only this project's schemas (what a machine without XSF files has)."""
    return StanzaValidator()
