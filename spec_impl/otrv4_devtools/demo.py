"""Demo: OTRv4 over XMPP with several devices per user, on a real server.

Run ``python -m otrv4_devtools.demo`` (with ``spec_impl`` on the path).  By
default it starts a throw-away Prosody on loopback
(:mod:`otrv4_devtools.prosody`; needs ``prosody`` installed) and
the prekey service (:mod:`otrv4_xmpp.component`) in this process, then plays
a conversation between Juliet and Romeo and prints what happens:

1. devices come online, publish their device lists and prekeys;
2. interactive DAKEs between online devices (the peer's and one's own);
3. one message reaching every device of both users, decrypted once on each;
4. a device that was offline catching up from the archive (MAM);
5. a new device starting conversations with offline devices through prekey
   ensembles (non-interactive DAKE);
6. prekey exhaustion, and the fall-back to the interactive DAKE once the
   peer is online.

``--server HOST:PORT`` uses an existing server instead (the accounts must
exist; see ``--help``).  The whole run is bounded by ``--timeout``.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from otrv4.clock import SystemClock
from otrv4.primitives.rng import SystemRng
from otrv4_xmpp.slixmpp_plugin import Otr4Message
from otrv4_xmpp.slixmpp_plugin.client import Otr4Client

from .prosody import ProsodyServer, make_server, prosody_available

__all__ = ["main"]

_T0 = time.monotonic()


def say(text: str) -> None:
    """One line of the demo's story, with the elapsed time."""
    print(f"[{time.monotonic() - _T0:6.2f}s] {text}", flush=True)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m otrv4_devtools.demo",
        description="OTRv4 over XMPP with two users and several devices each, on a real "
                    "XMPP server: online and offline conversations, prekey exhaustion.")
    p.add_argument("--server", metavar="HOST:PORT",
                   help="use this server instead of starting a throw-away Prosody")
    p.add_argument("--domain", default="localhost", help="the accounts' domain (--server)")
    p.add_argument("--juliet", default="juliet-pw", metavar="PASSWORD",
                   help="password of juliet@DOMAIN (--server)")
    p.add_argument("--romeo", default="romeo-pw", metavar="PASSWORD",
                   help="password of romeo@DOMAIN (--server)")
    p.add_argument("--component-port", type=int, metavar="PORT",
                   help="with --server: run the prekey service as the XEP-0114 component "
                        "prekeys.DOMAIN on this port of HOST")
    p.add_argument("--component-secret", default="prekey-component-secret",
                   help="the component's secret (--component-port)")
    p.add_argument("--tls", action="store_true",
                   help="with --server: require STARTTLS (default: plaintext, for loopback "
                        "test servers only)")
    p.add_argument("--timeout", type=float, default=90.0, help="bound of the whole run (s)")
    p.add_argument("-v", "--verbose", action="store_true", help="log the plugin's decisions")
    return p.parse_args(argv)


class Demo:
    """The cast and the story."""

    def __init__(self, host: str, port: int, domain: str, passwords: dict[str, str],
                 plaintext: bool) -> None:
        self.host, self.port, self.domain = host, port, domain
        self.passwords = passwords
        self.plaintext = plaintext
        self.devices: dict[str, Otr4Client] = {}
        # Romeo keeps one prekey per device on the server, to show exhaustion.
        self.options = {"romeo": {"prekey_target": 1, "prekey_low_water": 1},
                        "juliet": {"prekey_target": 5, "prekey_low_water": 2}}

    def device(self, name: str) -> Otr4Client:
        if name not in self.devices:
            user, resource = name.split("/")
            client = Otr4Client(f"{user}@{self.domain}/{resource}", self.passwords[user],
                                rng=SystemRng(), clock=SystemClock(), label=resource,
                                plaintext=self.plaintext, options=self.options[user])
            client.add_event_handler("otr4_message", self._shower(name))
            client.add_event_handler("otr4_error", lambda e, n=name: say(
                f"  {n}: ! {e.reason}"))
            self.devices[name] = client
        return self.devices[name]

    @staticmethod
    def _shower(name: str) -> Any:
        def show(m: Otr4Message) -> None:
            who = "copy of our own" if m.outgoing else "from"
            say(f"  {name} <- {who} {m.sender} [{m.sender_tag:08x}] via {m.via}: {m.text!r}")
        return show

    def jid(self, user: str) -> str:
        return f"{user}@{self.domain}"

    async def online(self, *names: str) -> None:
        for name in names:
            c = self.device(name)
            await c.go_online(self.host, self.port)
            otr = c.otr
            say(f"{name} online: instance tag {otr.instance_tag:08x}, fingerprint "
                f"{otr.fingerprint[:35]}...")

    async def offline(self, *names: str) -> None:
        for name in names:
            await self.devices[name].go_offline()
            say(f"{name} offline")

    async def wait_for(self, names: Sequence[str], text: str, timeout: float = 15) -> None:
        async def all_got() -> None:
            while not all(any(m.text == text for m in self.devices[n].received)
                          for n in names):
                await asyncio.sleep(0.05)
        await asyncio.wait_for(all_got(), timeout)
        await asyncio.sleep(0.2)

    async def see(self, watcher: str, account: str, count: int) -> None:
        otr = self.devices[watcher].otr

        async def wait() -> None:
            while len(otr.online_devices(account)) < count:
                await asyncio.sleep(0.05)
        await asyncio.wait_for(wait(), 15)

    async def retire_all(self) -> None:
        """Retire every device the demo created, so that running the demo again against
        the same server starts from empty device lists: the connected ones retire
        themselves; a connected device of the same account removes the others."""
        from otrv4_xmpp import devices

        for user in ("juliet", "romeo"):
            mine = {n: c for n, c in self.devices.items() if n.startswith(f"{user}/")}
            live = [c for c in mine.values() if c.is_connected()]
            if not live:
                continue
            try:
                for c in live:
                    await c.otr.retire()
                dl = await live[0].otr.fetch_devices(self.jid(user))
                for c in mine.values():
                    dl = devices.leave(dl, c.otr.instance_tag)
                await live[0].otr.publish_device_list(dl)
                say(f"{user}'s {len(mine)} demo devices retired (removed from the device list)")
            except Exception as exc:  # the demo reports and goes on closing
                say(f"{user}'s demo devices could not all be retired: {exc}")

    async def close(self) -> None:
        await self.retire_all()
        for c in self.devices.values():
            if c.is_connected():
                try:
                    await c.go_offline(timeout=5)
                except (TimeoutError, OSError):
                    c.abort()

    async def play(self, have_prekeys: bool) -> None:
        romeo, juliet = self.jid("romeo"), self.jid("juliet")
        say("== 1. devices come online (device lists, prekeys)")
        await self.online("juliet/balcony", "juliet/phone", "romeo/garden", "romeo/orchard")
        jb = self.devices["juliet/balcony"]
        for account in (juliet, romeo):
            dl = await jb.otr.fetch_devices(account)
            say(f"device list of {account}: " + ", ".join(
                f"{e.tag:08x} ({e.label}, {e.mode.value})" for e in dl.entries))
        if have_prekeys:
            for name in ("juliet/balcony", "romeo/garden"):
                stored = await self.devices[name].otr.prekey_status()
                say(f"{name}: {stored} prekey message(s) on the prekey service")
        jb.send_presence_subscription(pto=romeo)
        self.devices["romeo/garden"].send_presence_subscription(pto=juliet)
        await self.see("juliet/balcony", romeo, 2)
        await self.see("romeo/garden", juliet, 2)

        say("== 2. interactive DAKEs with every online device")
        for name, peer in (("juliet/balcony", romeo), ("juliet/phone", romeo),
                           ("romeo/garden", juliet), ("romeo/orchard", juliet)):
            sessions = await self.devices[name].otr.start_sessions(peer)
            say(f"{name}: sessions with " + ", ".join(
                f"{s.full_jid} [{s.their_tag:08x}] ssid {s.ssid.hex()}" for s in sessions))

        say("== 3. one message, every device of both users")
        report = await jb.otr.send_message(romeo, "Romeo, Romeo, wherefore art thou Romeo?")
        say(f"juliet/balcony sent one stanza of {report.stanza_bytes} bytes with "
            f"{len(report.recipients)} payloads")
        await self.wait_for(["juliet/phone", "romeo/garden", "romeo/orchard"],
                            "Romeo, Romeo, wherefore art thou Romeo?")

        say("== 4. a device offline while another is online: archive catch-up")
        await self.offline("romeo/orchard")
        await self.devices["romeo/garden"].otr.send_message(juliet, "I take thee at thy word.")
        await self.wait_for(["juliet/balcony", "juliet/phone"], "I take thee at thy word.")
        await self.online("romeo/orchard")
        await self.wait_for(["romeo/orchard"], "I take thee at thy word.")

        if not have_prekeys:
            say("== 5-6. skipped: no prekey service (run with the test server, or give "
                "--component-port)")
            return
        say("== 5. a new device of Juliet's writes while Romeo is offline")
        await self.offline("romeo/garden", "romeo/orchard")
        await self.online("juliet/tablet")
        jt = self.devices["juliet/tablet"]
        report = await jt.otr.send_message(romeo, "Hast thou slain Tybalt?")
        say("juliet/tablet started non-interactive DAKEs with " + ", ".join(
            f"{a} [{t:08x}]" for a, t in report.non_interactive))
        await self.online("romeo/garden", "romeo/orchard")
        await self.wait_for(["romeo/garden", "romeo/orchard"], "Hast thou slain Tybalt?")

        say("== 6. prekey exhaustion")
        await self.offline("romeo/garden", "romeo/orchard")
        await self.online("juliet/laptop")
        jl = self.devices["juliet/laptop"]
        for attempt in (1, 2):
            answer = await jl.otr.fetch_ensembles(romeo)
            say(f"juliet/laptop asks for Romeo's prekey ensembles ({attempt}): "
                f"{type(answer).__name__} (each answer uses one prekey of each device; "
                "Romeo's devices keep one on the service)")
        report = await jl.otr.send_message(romeo, "O, I am fortune's fool!")
        say("juliet/laptop could not reach " + ", ".join(
            f"{a} [{t:08x}]" for a, t in report.missing) + ": it waits until they are online")
        await self.online("romeo/garden")
        await self.see("juliet/laptop", romeo, 1)
        sessions = await jl.otr.start_sessions(romeo)
        say("juliet/laptop, interactive now: " + ", ".join(s.full_jid for s in sessions))
        # only to the devices the first attempt missed; the others have the message
        await jl.otr.send_message(romeo, "O, I am fortune's fool!", only=report.missing)
        await self.wait_for(["romeo/garden"], "O, I am fortune's fool!")


async def _component(host: str, port: int, jid: str, secret: str, folder: Path,
                     stack: AsyncExitStack) -> bool:
    from otrv4_prekey.storage import SqliteStorage
    from otrv4_xmpp.component import PrekeyComponent, build_server, load_or_create_key

    storage = SqliteStorage(folder / "prekeys.sqlite")
    stack.callback(storage.close)
    server = build_server(jid, load_or_create_key(folder / "prekeys.key", SystemRng()), storage)
    component = PrekeyComponent(jid, secret, server)
    started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    component.add_event_handler(
        "session_start", lambda _: None if started.done() else started.set_result(None))
    component.connect(host, port)
    try:
        await asyncio.wait_for(started, 10)
    except TimeoutError:
        say(f"prekey service {jid} could not connect to {host}:{port}")
        component.abort()
        return False

    async def stop() -> None:
        await component.disconnect()
    stack.push_async_callback(stop)
    say(f"prekey service {jid} connected (XEP-0114 component)")
    return True


async def run(args: argparse.Namespace, folder: Path) -> int:
    async with AsyncExitStack() as stack:
        server: ProsodyServer | None = None
        if args.server:
            host, _, port_text = args.server.rpartition(":")
            port, domain = int(port_text), args.domain
            passwords = {"juliet": args.juliet, "romeo": args.romeo}
            have_prekeys = False
            if args.component_port:
                have_prekeys = await _component(host, args.component_port, f"prekeys.{domain}",
                                                args.component_secret, folder, stack)
        else:
            if not prosody_available():
                say("prosody is not installed (apt-get install prosody), or use --server")
                return 2
            server = make_server(folder / "prosody")
            server.start()
            stack.callback(server.stop)
            say(f"Prosody started on 127.0.0.1:{server.c2s_port} (data in {server.directory})")
            host, port, domain = "127.0.0.1", server.c2s_port, server.domain
            passwords = server.accounts
            have_prekeys = await _component(host, server.component_port, server.component_jid,
                                            server.component_secret, folder, stack)
        demo = Demo(host, port, domain, passwords, plaintext=not args.tls)
        stack.push_async_callback(demo.close)
        await demo.play(have_prekeys)
        say("== done")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.ERROR,
                        format="%(levelname)s %(name)s: %(message)s")
    with tempfile.TemporaryDirectory(prefix="otr4-demo-") as tmp:
        try:
            return asyncio.run(asyncio.wait_for(run(args, Path(tmp)), args.timeout))
        except TimeoutError:
            say(f"the demo did not finish within {args.timeout} s")
            return 1


if __name__ == "__main__":
    sys.exit(main())
