"""A scratch copy of the project, for end-to-end runs of the command-line tool."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from otrv4_xepgen.build import BuildResult, generate
from otrv4_xepgen.paths import PROJECT_ROOT, ProjectPaths, XsfFiles


@dataclass
class Project:
    root: Path
    xsf: XsfFiles

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run ``python -m otrv4_xepgen ARGS`` against this copy (its own spec_impl on the path)."""
        env = dict(os.environ, PYTHONPATH=str(self.root / "spec_impl"))
        for var in ("XSF_DIR", "XSF_SCHEMAS_DIR", "OTR4_SCHEMA_DIR"):
            env.pop(var, None)
        xsf_args = []
        if args and args[0] in ("build", "check", "validate"):
            assert self.xsf.dtd_dir is not None
            xsf_args = ["--xsf", str(self.xsf.dtd_dir)]
        return subprocess.run([sys.executable, "-m", "otrv4_xepgen", *args, *xsf_args],
                              cwd=self.root, env=env, input=stdin, capture_output=True,
                              text=True, timeout=600)


def _ignore(_dir: str, names: list[str]) -> set[str]:
    return {n for n in names if n == "__pycache__" or n.endswith(".egg-info")}


@pytest.fixture
def project_copy(tmp_path: Path, xsf: XsfFiles) -> Project:
    root = tmp_path / "project"
    for part in ("spec_impl", "schemas", "xep", "examples"):
        shutil.copytree(PROJECT_ROOT / part, root / part, ignore=_ignore)
    return Project(root, xsf)


@pytest.fixture(scope="session")
def built(xsf: XsfFiles) -> BuildResult:
    """Everything the build produces, in memory, once per test run."""
    return generate(ProjectPaths(), xsf, lambda _m: None)
