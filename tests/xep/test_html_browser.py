"""The generated HTML in a real browser: headless Chromium (Debian's ``chromium``), driven
through its DevTools protocol.

For the XEP page and the companion page: the page loads and renders (a screenshot is
taken and is not blank), every internal link (``href='#…'``) resolves to an element, no
line of the page needs sideways scrolling at a 1024-pixel viewport, and the console shows
no error, no warning and no uncaught exception.  Outside CI the test skips when Chromium
is absent; ``.ci/run`` installs it.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from otrv4_xepgen.build import BuildResult

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
_CHECK = """(() => {
  const missing = [...document.querySelectorAll('a[href^="#"]')]
    .map(a => decodeURIComponent(a.getAttribute('href').slice(1)))
    .filter(id => id && id.toLowerCase() !== 'top'  // HTML: '#top' is the document's top
      && !document.getElementById(id) && !document.getElementsByName(id).length);
  const wide = [...document.querySelectorAll('pre, table, figure')]
    .filter(el => el.scrollWidth > el.clientWidth + 1).map(el => el.tagName);
  return JSON.stringify({links: document.querySelectorAll('a[href^="#"]').length, missing,
    wide, page: document.documentElement.scrollWidth, view: window.innerWidth,
    title: document.title, text: document.body.innerText.length});
})()"""


class Browser:
    """One headless Chromium and one DevTools page session."""

    def __init__(self) -> None:
        from websockets.sync.client import connect

        assert CHROMIUM is not None
        self.profile = tempfile.mkdtemp(prefix="chromium-")
        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking", "--disable-component-update",
             "--disable-sync", f"--user-data-dir={self.profile}",
             "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
             "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            start_new_session=True)
        url = self._browser_url()
        self.stack = contextlib.ExitStack()
        self.browser = self.stack.enter_context(connect(url, max_size=None, open_timeout=20))
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self.session = session["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable", session=self.session)
        self.call("Emulation.setDeviceMetricsOverride",
                  {"width": 1024, "height": 800, "deviceScaleFactor": 1, "mobile": False},
                  session=self.session)

    def _browser_url(self) -> str:
        deadline = time.monotonic() + 30
        assert self.proc.stderr is not None
        while time.monotonic() < deadline:
            line = self.proc.stderr.readline()
            found = re.search(r"ws://\S+", line)
            if found:
                return found.group(0)
            if not line and self.proc.poll() is not None:
                break
        raise RuntimeError("Chromium did not print its DevTools address")

    def call(self, method: str, params: dict[str, Any] | None = None,
             session: str | None = None, timeout: float = 30) -> dict[str, Any]:
        self.next_id += 1
        message: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.browser.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            answer = json.loads(self.browser.recv(timeout=max(0.1, deadline - time.monotonic())))
            if answer.get("id") == self.next_id:
                if "error" in answer:
                    raise RuntimeError(f"{method}: {answer['error']}")
                return dict(answer.get("result", {}))
            if "method" in answer:
                self.events.append(answer)

    def load(self, path: Path) -> None:
        self.events.clear()
        self.call("Page.navigate", {"url": path.as_uri()}, session=self.session)
        deadline = time.monotonic() + 30
        while not any(e["method"] == "Page.loadEventFired" for e in self.events):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{path.name} did not finish loading")
            self.call("Runtime.evaluate", {"expression": "1"}, session=self.session)
            time.sleep(0.05)

    def evaluate(self, expression: str) -> Any:
        got = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True},
                        session=self.session)
        return got["result"].get("value")

    def screenshot(self) -> bytes:
        data = self.call("Page.captureScreenshot", {"format": "png"}, session=self.session)
        return base64.b64decode(data["data"])

    def problems(self) -> list[str]:
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                out.append(f"exception: {p['exceptionDetails'].get('text')}")
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error",
                                                                                 "warning"):
                out.append(f"console.{p['type']}: {p.get('args')}")
            elif e["method"] == "Log.entryAdded" and p["entry"]["level"] in ("error", "warning"):
                out.append(f"log {p['entry']['level']}: {p['entry'].get('text')}")
        return out

    def close(self) -> None:
        try:
            self.stack.close()
        finally:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    pytest.importorskip("websockets")
    b = Browser()
    try:
        yield b
    finally:
        b.close()


def _page(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("which", ["xep", "notes"])
def test_pages_render_link_and_log_nothing(built: BuildResult, browser: Browser,
                                           tmp_path: Path, which: str) -> None:
    text = built.html if which == "xep" else next(iter(built.pages.values()))
    page = _page(tmp_path, f"{which}.html", text)
    browser.load(page)
    state = json.loads(browser.evaluate(_CHECK))
    assert state["text"] > 10_000 and state["title"]
    assert state["links"] > (20 if which == "xep" else 5) and state["missing"] == []
    assert state["wide"] == [] and state["page"] <= state["view"], state
    png = browser.screenshot()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000  # not a blank page
    assert browser.problems() == []


def test_the_check_sees_a_broken_link_and_a_console_error(browser: Browser,
                                                          tmp_path: Path) -> None:
    """The checks are not vacuous: a dangling link, an over-wide line and an error show."""
    page = _page(tmp_path, "bad.html", "<html><head><title>t</title></head><body>"
                 "<a href='#nowhere'>x</a><pre style='white-space: pre'>" + "A" * 3000 +
                 "</pre><script>console.error('boom')</script></body></html>")
    browser.load(page)
    state = json.loads(browser.evaluate(_CHECK))
    assert state["missing"] == ["nowhere"] and state["wide"] == ["PRE"]
    assert any("boom" in p for p in browser.problems())
