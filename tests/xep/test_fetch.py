"""``xepgen fetch-xsf``: the XSF's files fetched into a user cache, which the tool then uses.

A small HTTP server on 127.0.0.1 plays xmpp.org, serving the team's reference copies
(``../shared/ref/xsf``); the test skips where those are absent.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from otrv4_xepgen.fetch import FetchError, fetch_xsf
from otrv4_xepgen.paths import PROJECT_ROOT, find_xsf

SHARED = PROJECT_ROOT.parent / "shared" / "ref" / "xsf"


@pytest.fixture
def mirror(tmp_path: Path) -> Iterator[str]:
    if not (SHARED / "xep.dtd").is_file():
        pytest.skip(f"the XSF reference files are not in {SHARED}")
    site = tmp_path / "site"
    (site / "extensions").mkdir(parents=True)
    for name in ("xep.dtd", "xep.ent"):
        shutil.copy(SHARED / name, site / "extensions" / name)
    shutil.copytree(SHARED / "schemas", site / "schemas")
    handler = functools.partial(_Quiet, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "otrv4_xepgen", *args], capture_output=True,
                          text=True, timeout=120, env=env)


def test_fetch_into_a_cache_and_find_it_there(mirror: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache" / "otrv4-xmpp" / "xsf"
    done = _run("fetch-xsf", "--cache", str(cache), "--from", mirror,
                "--xml-xsd", f"{mirror}/schemas/xml.xsd")
    assert done.returncode == 0, done.stderr
    assert (cache / "xep.dtd").read_bytes() == (SHARED / "xep.dtd").read_bytes()
    assert (cache / "schemas" / "jabber-client.xsd").is_file()
    assert (cache / "schemas" / "xml.xsd").is_file()
    # files the reference copy lacks are reported, one line each, and do not fail the run
    assert "warning:" in done.stderr and "Traceback" not in done.stderr
    # with no option, no environment and no ../shared, the tool uses the cache
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("XSF_DIR", raising=False)
    monkeypatch.delenv("XSF_SCHEMAS_DIR", raising=False)
    found = find_xsf(root=tmp_path / "elsewhere" / "project")
    assert found.dtd_dir == cache and found.schemas == cache / "schemas"
    assert "fetch-xsf" in found.origin


def test_without_a_network_it_fails_in_one_line_and_changes_nothing(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    done = _run("fetch-xsf", "--cache", str(cache), "--from", "http://127.0.0.1:9",
                "--xml-xsd", "http://127.0.0.1:9/xml.xsd", "-q")
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "could not fetch" in done.stderr
    assert "Traceback" not in done.stderr and not cache.exists()
    with pytest.raises(FetchError):
        fetch_xsf(cache, base="http://127.0.0.1:9", xml_xsd="http://127.0.0.1:9/x.xsd")


def test_an_html_page_is_not_taken_for_a_schema(tmp_path: Path) -> None:
    result = fetch_xsf(tmp_path, download=lambda url: (
        b"<!DOCTYPE html><html>moved</html>" if url.endswith(".xsd")
        else b"<!ENTITY x 'y'>"))
    assert {p.name for p in result.written} == {"xep.dtd", "xep.ent"}
    assert not result.complete and all("HTML" in why for _, why in result.failed)
