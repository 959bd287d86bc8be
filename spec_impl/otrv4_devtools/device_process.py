"""One device in its own OS process, for tests that stop, restart and kill devices.

``python -m otrv4_devtools.device_process --jid romeo@localhost/desktop --password PW
--port 5222 --store romeo-desktop.db --shown shown.jsonl`` connects one
:class:`~otrv4_xmpp.slixmpp_plugin.client.Otr4Client` whose state is kept in the
SQLite store ``--store``, and then reads commands from standard input, one JSON
object per line:

* ``{"op": "send", "to": BARE_JID, "text": TEXT}``: send a message; prints a
  ``sent`` event with the send report per device;
* ``{"op": "sessions", "peer": BARE_JID}``: interactive DAKEs with its online devices;
* ``{"op": "retire"}``: :meth:`~otrv4_xmpp.slixmpp_plugin.plugin.XEP_OTR4.retire`;
* ``{"op": "quit"}``: go offline and exit 0.

It prints one JSON object per line for each event (``ready``, ``message``,
``session``, ``error``, ``sent``, ``done``), flushed at once.  The application's
"screen" is the file ``--shown``: each decrypted message is appended there (one
JSON line with its delivery id, synced to disk) unless a line with that id is
already there, so a message the plugin hands over again after a crash is shown
once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from otrv4_xmpp.slixmpp_plugin.client import Otr4Client
from otrv4_xmpp.slixmpp_plugin.events import Otr4Error, Otr4Message, Otr4Session

__all__ = ["main"]


def emit(event: str, **fields: Any) -> None:
    """One event line on standard output."""
    sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
    sys.stdout.flush()


class Screen:
    """The messages shown, in a file (the application's own durable log)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ids: set[str] = set()
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                if line.strip():
                    self.ids.add(json.loads(line)["id"])

    def show(self, m: Otr4Message) -> None:
        key = m.delivery_id or f"{m.sender}/{m.stanza_id}/{m.text}"
        if key in self.ids:
            return
        self.ids.add(key)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps({"id": key, "text": m.text, "tag": m.sender_tag,
                                "via": m.via}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        emit("message", text=m.text, sender_tag=m.sender_tag, via=m.via)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m otrv4_devtools.device_process")
    p.add_argument("--jid", required=True)
    p.add_argument("--password", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--store", required=True, type=Path)
    p.add_argument("--shown", required=True, type=Path)
    p.add_argument("--label")
    p.add_argument("--option", action="append", default=[], metavar="NAME=JSON",
                   help="a plugin setting (JSON value)")
    return p.parse_args(argv)


async def run(args: argparse.Namespace) -> int:
    options: dict[str, Any] = {"store": str(args.store)}
    for item in args.option:
        name, _, value = item.partition("=")
        options[name] = json.loads(value)
    client = Otr4Client(args.jid, args.password, label=args.label, plaintext=True,
                        options=options)
    screen = Screen(args.shown)
    client.add_event_handler("otr4_message", screen.show)
    client.add_event_handler("otr4_session_started", lambda s: emit(
        "session", peer=s.peer, tag=s.tag, ssid=s.ssid) if isinstance(s, Otr4Session) else None)
    client.add_event_handler("otr4_error", lambda e: emit(
        "error", reason=e.reason, cause=e.cause.name if e.cause else None)
        if isinstance(e, Otr4Error) else None)
    await client.go_online(args.host, args.port)
    otr = client.otr
    emit("ready", tag=otr.instance_tag, fingerprint=otr.fingerprint,
         expires=otr.identity.expires)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while True:
        line = await reader.readline()
        if not line:
            break
        cmd = json.loads(line)
        op = cmd.get("op")
        try:
            if op == "send":
                report = await otr.send_message(cmd["to"], cmd["text"])
                emit("sent", text=cmd["text"], devices=[
                    [d.device[0], d.device[1], d.reach.name, d.reason] for d in report.devices])
            elif op == "sessions":
                found = await otr.start_sessions(cmd["peer"])
                emit("sessions", tags=[s.their_tag for s in found])
            elif op == "retire":
                await otr.retire()
                emit("retired")
            elif op == "quit":
                break
        except Exception as exc:  # report and go on: the test reads it
            emit("failed", op=op, error=f"{type(exc).__name__}: {exc}")
    await client.go_offline()
    emit("done")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    return asyncio.run(run(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
