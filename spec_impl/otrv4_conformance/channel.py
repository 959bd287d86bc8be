"""The adapter as a child process: requests out, replies in, every call with a deadline.

The adapter runs in its own process group (``start_new_session``), so that a
shell adapter's children die with it.  A reader thread moves the adapter's
standard output into a queue line by line and another keeps the tail of its
standard error; :meth:`AdapterProcess.call` writes one request and waits for
one line, at most ``timeout`` seconds.  When the deadline passes, the adapter
exits, or it answers garbage, the process group is killed and the call raises
(a :class:`~otrv4_conformance.protocol.AdapterError` subclass): the runner
never waits longer than the deadline and never reads a stream that lost its
framing.
"""

from __future__ import annotations

import collections
import contextlib
import os
import queue
import shlex
import signal
import subprocess
import threading
from collections.abc import Sequence
from typing import IO, Any

from .protocol import (
    AdapterExited,
    AdapterTimeout,
    ProtocolViolation,
    Reply,
    decode_reply,
    encode_request,
)

__all__ = ["AdapterProcess", "command_line"]

_EOF = object()


def command_line(command: str | Sequence[str]) -> list[str]:
    """The argument vector of ``command`` (a string is split as a POSIX shell would)."""
    return shlex.split(command) if isinstance(command, str) else list(command)


class AdapterProcess:
    """One running adapter.  ``timeout`` is the default deadline of a call, in seconds.

    Raises :class:`FileNotFoundError` / :class:`PermissionError` when the command
    cannot be started.
    """

    def __init__(self, command: str | Sequence[str], *, timeout: float = 10.0,
                 cwd: str | None = None, env: dict[str, str] | None = None) -> None:
        self.argv = command_line(command)
        self.timeout = timeout
        self._next_id = 0
        self._lines: queue.Queue[object] = queue.Queue()
        self._stderr: collections.deque[str] = collections.deque(maxlen=20)
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            cwd=cwd, env=env, start_new_session=True)
        assert self.proc.stdout is not None and self.proc.stderr is not None  # for mypy: PIPE
        threading.Thread(target=self._read_out, args=(self.proc.stdout,), daemon=True).start()
        threading.Thread(target=self._read_err, args=(self.proc.stderr,), daemon=True).start()
        self.dead = False

    def _read_out(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self._lines.put(raw.decode("utf-8", "replace").rstrip("\r\n"))
        self._lines.put(_EOF)

    def _read_err(self, stream: IO[bytes]) -> None:
        for raw in stream:
            self._stderr.append(raw.decode("utf-8", "replace").rstrip("\r\n"))

    @property
    def stderr_tail(self) -> str:
        """The last lines the adapter wrote to standard error."""
        return "\n".join(self._stderr)

    def kill(self) -> None:
        """Kill the adapter's process group (idempotent) and reap it."""
        self.dead = True
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        for stream in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if stream is not None:
                with contextlib.suppress(OSError):
                    stream.close()

    def _exited(self, what: str) -> AdapterExited:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=1)
        code = self.proc.poll()
        self.kill()
        tail = self.stderr_tail.strip().splitlines()[-1:] if self.stderr_tail.strip() else []
        detail = f"; stderr: {tail[0]}" if tail else ""
        status = f"exit status {code}" if code is not None else "closed its output"
        return AdapterExited(f"adapter {status} {what}{detail}")

    def call(self, op: str, args: dict[str, Any] | None = None, *,
             timeout: float | None = None) -> Reply:
        """Send one request and return its reply.

        Raises :class:`AdapterTimeout` (no reply within the deadline),
        :class:`AdapterExited` (the process ended), or a
        :class:`ProtocolViolation` (garbage); after any of them the process is
        killed and :attr:`dead` is true.
        """
        if self.dead:
            raise AdapterExited("adapter is no longer running")
        self._next_id += 1
        request_id = self._next_id
        deadline = self.timeout if timeout is None else timeout
        stdin = self.proc.stdin
        try:
            assert stdin is not None
            stdin.write(encode_request(request_id, op, args or {}))
            stdin.flush()
        except (BrokenPipeError, OSError):
            raise self._exited(f"before request {op!r}") from None
        try:
            line = self._lines.get(timeout=deadline)
        except queue.Empty:
            self.kill()
            raise AdapterTimeout(f"no reply to {op!r} within {deadline:g} s; adapter killed"
                                 ) from None
        if line is _EOF:
            raise self._exited(f"during {op!r}")
        try:
            return decode_reply(str(line), request_id)
        except ProtocolViolation:
            self.kill()
            raise

    def close(self, *, timeout: float = 5.0) -> int | None:
        """Say ``bye``, close standard input, wait up to ``timeout`` for the exit, then kill.
        Returns the exit status (``None`` when it had to be killed)."""
        if not self.dead:
            with contextlib.suppress(Exception):
                self.call("bye", timeout=timeout)
        if self.proc.stdin is not None:
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            code: int | None = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            code = None
        self.kill()
        return code
