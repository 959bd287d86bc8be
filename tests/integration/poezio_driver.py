"""Real Poezio processes in tmux, for the end-to-end tests (see test_poezio.py).

Poezio refuses to run as root, so each instance runs as ``nobody`` (``setpriv``)
from a virtual environment made from ``/usr/bin/python3`` (readable by that user)
with Poezio and this project installed; each has its own ``HOME``, XDG folders and
config, in a folder ``nobody`` owns.  Keys are typed the way Poezio takes them
(``/`` alone, then the rest literally, then Enter) and the screen is read with
``tmux capture-pane``.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import subprocess
import time
from pathlib import Path

from otrv4_xepgen.paths import PROJECT_ROOT

__all__ = ["PoezioInstance", "poezio_venv"]

USER, GROUP = "nobody", "nogroup"


def poezio_venv() -> Path:
    """A venv under ``build/`` with Poezio 0.18 and this project (editable), made once per
    version of ``pyproject.toml``.  Raises :class:`subprocess.CalledProcessError`."""
    key = hashlib.sha256((PROJECT_ROOT / "pyproject.toml").read_bytes()).hexdigest()[:12]
    venv = PROJECT_ROOT / "build" / f"poezio-venv-{key}"
    python = venv / "bin" / "python"
    if not (venv / ".complete").exists():
        shutil.rmtree(venv, ignore_errors=True)
        venv.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["/usr/bin/python3", "-m", "venv", str(venv)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "poezio==0.18",
                        "-e", f"{PROJECT_ROOT}[poezio]"], check=True, capture_output=True)
        (venv / ".complete").touch()
    return venv


class PoezioInstance:
    """One Poezio in its own tmux session ``name``, logged in as ``jid``."""

    def __init__(self, name: str, folder: Path, venv: Path, jid: str, password: str,
                 port: int) -> None:
        self.name, self.folder, self.venv = name, folder, venv
        self.jid = jid
        for sub in ("home", "config/poezio", "data", "cache"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        (folder / "config" / "poezio" / "poezio.cfg").write_text(
            "[Poezio]\n"
            f"jid = {jid}\npassword = {password}\ncustom_host = 127.0.0.1\n"
            f"custom_port = {port}\ntls_verify_cert = false\nmam_sync = false\n"
            "use_log = false\nenable_user_nick = false\nshow_tab_names = true\n"
            "show_timestamps = false\nhide_user_list = true\n")
        subprocess.run(["chown", "-R", f"{USER}:{GROUP}", str(folder)], check=True)
        self.pid: int | None = None

    def start(self) -> None:
        f = self.folder
        env = {"HOME": f / "home", "XDG_CONFIG_HOME": f / "config", "XDG_DATA_HOME": f / "data",
               "XDG_CACHE_HOME": f / "cache", "LANG": "C.UTF-8", "TERM": "xterm-256color",
               "PATH": "/usr/bin:/bin"}
        command = ("exec setpriv --reuid=nobody --regid=nogroup --clear-groups env -i "
                   + " ".join(f"{k}={v}" for k, v in env.items())
                   + f" {self.venv}/bin/python -m poezio -d {f}/debug.log")
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "120", "-y", "40",
                        command], check=True)
        out = subprocess.run(["tmux", "display-message", "-p", "-t", self.name, "#{pane_pid}"],
                             check=True, capture_output=True, text=True)
        self.pid = int(out.stdout.strip())

    def stop(self) -> None:
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, 15)
            for _ in range(50):
                try:
                    os.kill(self.pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            self.pid = None
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)

    def screen(self) -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", self.name],
                              capture_output=True, text=True).stdout

    def wait_for(self, text: str, timeout: float = 20.0) -> str:
        """The screen once it shows ``text``.  Raises :class:`TimeoutError` with the
        screen and the end of the debug log."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if text in screen:
                return screen
            time.sleep(0.1)
        log = self.folder / "debug.log"
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise TimeoutError(f"{self.name}: {text!r} not shown:\n{self.screen()}\n{tail}")

    def command(self, line: str) -> None:
        """Type ``/line`` and Enter (``/`` alone first, or Poezio takes it as a paste)."""
        self.keys("/")
        time.sleep(0.1)
        self.keys(line, literal=True)
        time.sleep(0.1)
        self.keys("Enter")
        time.sleep(0.2)

    def type(self, text: str) -> None:
        self.keys(text, literal=True)
        time.sleep(0.1)
        self.keys("Enter")
        time.sleep(0.2)

    def keys(self, keys: str, literal: bool = False) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *(["-l"] if literal else []),
                        keys], check=True)
