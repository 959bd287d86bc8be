"""The wheel works outside the checkout: build it, install it (not editable) into a fresh
virtual environment, and run a short client script there from another folder.

Marked ``packaging`` (slow: a build and an install, about half a minute); run with
``pytest tests/packaging``.  Dependencies come from the configured package index.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import venv
from pathlib import Path

import pytest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "stanzas" / "valid" / "data-to-all-devices" / "01-data-message.xml"

SCRIPT = textwrap.dedent('''
    import sys
    from pathlib import Path

    import otrv4_xmpp
    import otrv4_xmpp.slixmpp_plugin  # registers "xep_otr4"
    from slixmpp import ClientXMPP
    from otrv4_xmpp.validation import StanzaValidator

    site = Path(sys.argv[2]).resolve()
    assert Path(otrv4_xmpp.__file__).resolve().is_relative_to(site), otrv4_xmpp.__file__
    client = ClientXMPP("romeo@example.org/desk", "pw")
    client.register_plugin("xep_otr4")
    plugin = client.plugin["xep_otr4"]
    print("plugin", type(plugin).__name__, f"{plugin.instance_tag:08x}")
    report = StanzaValidator().validate_text(Path(sys.argv[1]).read_text(), "example")
    assert report.ok, report.violations
    print("example valid")
''')


def _run(*args: str | Path, cwd: Path) -> str:
    done = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_the_wheel_installed_in_a_fresh_venv_registers_the_plugin_and_validates(
        tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, ROOT, cwd=ROOT)
    (wheel,) = dist.glob("*.whl")
    env = tmp_path / "venv"
    venv.EnvBuilder(with_pip=True).create(env)
    py = env / "bin" / "python"
    _run(py, "-m", "pip", "install", "-q", wheel, cwd=tmp_path)
    site = _run(py, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])",
                cwd=tmp_path).strip()
    work = tmp_path / "elsewhere"
    work.mkdir()
    (work / "client.py").write_text(SCRIPT)
    out = _run(py, "client.py", EXAMPLE, site, cwd=work)
    assert "plugin XEP_OTR4" in out and "example valid" in out
    # the installed command validates too (exit status 0)
    _run(env / "bin" / "xepgen", "validate", EXAMPLE, cwd=work)
    names = _run(py, "-c", "import importlib.metadata as m; "
                 "print(m.distribution('otrv4-xmpp').read_text('top_level.txt'))", cwd=work)
    assert set(names.split()) == {"otrv4", "otrv4_conformance", "otrv4_prekey", "otrv4_xmpp",
                                  "otrv4_xepgen"}
