"""The runner: start the adapter, run what its levels cover, report.

``otrv4-conformance --adapter "COMMAND"`` starts ``COMMAND`` as a child
process, asks it which levels it claims (``hello``), replays the vector
operations of those levels (:mod:`otrv4_conformance.vectorcheck`), runs the
live sessions (:mod:`otrv4_conformance.live`), and prints the report
(:mod:`otrv4_conformance.report`); ``--json FILE`` also writes the JSON
report.  The exit status is 0 only when every claimed level passed.

Every call has a deadline (``--timeout``).  When the adapter hangs, dies or
answers garbage, the check in progress fails with that reason, the adapter
is restarted for the next check, and after ``--max-restarts`` restarts the
remaining checks fail at once; within one vector operation, the tests after
the one that killed the adapter are not sent.  The runner never waits longer
than the deadline per call.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from otrv4_xmpp.validation import StanzaValidator

from .binding import schema_locations
from .channel import AdapterProcess
from .levels import LEVELS
from .live import live_checks
from .protocol import PROTOCOL_VERSION, AdapterError, AdapterExited, Reply
from .report import CheckResult, Report
from .stanzacheck import stanza_checks
from .vectorcheck import check_level_vectors

__all__ = ["Connection", "default_root", "main", "run"]


def default_root() -> Path:
    """The checkout whose ``examples/`` is used by default: the current directory when it
    has ``examples/vectors``, else the checkout this package sits in."""
    here = Path.cwd()
    if (here / "examples" / "vectors").is_dir():
        return here
    return Path(__file__).resolve().parents[2]


class Connection:
    """The adapter behind a restartable :class:`AdapterProcess`.

    Raises :class:`FileNotFoundError` when the command cannot be started.
    """

    def __init__(self, command: str, *, timeout: float, start_timeout: float = 60.0,
                 max_restarts: int = 10) -> None:
        self.command = command
        self.timeout = timeout
        self.start_timeout = max(start_timeout, timeout)
        self.max_restarts = max_restarts
        self.restarts = 0
        self.events: list[str] = []
        self.hello: dict[str, Any] = {}
        self.proc = self._start()

    def _start(self) -> AdapterProcess:
        proc = AdapterProcess(self.command, timeout=self.timeout)
        reply = proc.call("hello", {"protocol": PROTOCOL_VERSION}, timeout=self.start_timeout)
        if reply.result is None:
            proc.kill()
            raise AdapterExited(f"hello was answered with {reply.error or 'unsupported'}")
        self.hello = reply.result
        return proc

    def __call__(self, op: str, args: dict[str, Any]) -> Reply:
        """One request; restarts a dead adapter first.  Raises :class:`AdapterError`."""
        if self.proc.dead:
            if self.restarts >= self.max_restarts:
                raise AdapterExited(f"not run: the adapter died {self.restarts + 1} times")
            self.restarts += 1
            self.events.append(f"adapter restarted ({self.restarts}) before {op!r}")
            self.proc = self._start()
        try:
            return self.proc.call(op, args)
        except AdapterError as e:
            self.events.append(f"{op}: {type(e).__name__}: {e}")
            raise

    def close(self) -> None:
        self.proc.close()


def run(command: str, *, levels: Sequence[int] | None = None, quick: bool = False,
        timeout: float = 10.0, start_timeout: float = 60.0, root: Path | None = None
        ) -> Report:
    """Run the harness against ``command`` and return the report.  ``levels`` limits the
    run to those of the claimed levels; ``root`` holds ``examples/`` (vectors, stanzas).
    ``timeout`` is the deadline of each call, ``start_timeout`` that of ``hello`` (the
    adapter's start-up)."""
    root = root or default_root()
    try:
        conn = Connection(command, timeout=timeout, start_timeout=start_timeout)
    except (AdapterError, OSError) as e:
        report = Report("(no answer to hello)", command, ())
        report.add([CheckResult(0, "hello", "failed", "adapter", f"{type(e).__name__}: {e}")])
        return report
    claimed_raw = conn.hello.get("levels", [])
    claimed = tuple(sorted({n for n in claimed_raw if isinstance(n, int)
                            and any(level.number == n for level in LEVELS)}))
    if levels:
        claimed = tuple(n for n in claimed if n in levels)
    report = Report(str(conn.hello.get("name", "unnamed adapter")), command, claimed)
    validator: list[StanzaValidator] = []

    def get_validator() -> StanzaValidator:
        if not validator:
            validator.append(StanzaValidator(schema_locations(root)))
        return validator[0]

    try:
        for level in LEVELS:
            if level.number not in claimed:
                continue
            report.add(check_level_vectors(level, root / "examples" / "vectors", conn,
                                           quick=quick))
            if level.number == 4:
                report.add(stanza_checks(conn, root / "examples" / "stanzas", get_validator()))
            report.add(live_checks(level.number, conn))
    finally:
        conn.close()
    report.notes.extend(conn.events[:10])
    if len(conn.events) > 10:
        report.notes.append(f"… and {len(conn.events) - 10} more adapter events")
    return report


def main(argv: Sequence[str] | None = None) -> int:
    """``otrv4-conformance``: see the module docstring."""
    parser = argparse.ArgumentParser(
        prog="otrv4-conformance",
        description="Check an OTRv4-over-XMPP implementation, through its adapter, against "
                    "the reference implementation.")
    parser.add_argument("--adapter", required=True, help="the command that starts the adapter")
    parser.add_argument("--levels", default="", help="comma-separated levels to run "
                        "(default: every level the adapter claims)")
    parser.add_argument("--quick", action="store_true", help="one vector per rule, not all")
    parser.add_argument("--timeout", type=float, default=10.0,
                        help="deadline of each adapter call, in seconds (default 10)")
    parser.add_argument("--start-timeout", type=float, default=60.0,
                        help="deadline of the adapter's start-up (hello), in seconds "
                             "(default 60)")
    parser.add_argument("--json", type=Path, help="also write the JSON report to this file")
    parser.add_argument("--root", type=Path, help="the checkout holding examples/")
    parser.add_argument("--verbose", action="store_true", help="list passed checks too")
    args = parser.parse_args(argv)
    try:
        levels = [int(x) for x in args.levels.split(",") if x.strip()]
    except ValueError:
        parser.error("--levels takes numbers such as 1,2")
    report = run(args.adapter, levels=levels or None, quick=args.quick, timeout=args.timeout,
                 start_timeout=args.start_timeout, root=args.root)
    sys.stdout.write(report.text(verbose=args.verbose))
    if args.json:
        args.json.write_text(report.json(), encoding="utf-8")
    return report.exit_code


if __name__ == "__main__":
    sys.exit(main())
