"""``python -m otrv4_xmpp.component``: run the prekey service as an XEP-0114 component.

Example (Prosody: ``Component "prekeys.localhost"`` with ``component_secret = "S"``)::

    python -m otrv4_xmpp.component --jid prekeys.localhost --secret S \\
        --host 127.0.0.1 --port 5347 --db prekeys.sqlite
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from otrv4.primitives.rng import SystemRng
from otrv4_prekey.dake import format_server_fingerprint

from .service import PrekeyComponent, build_server, load_or_create_key, open_storage


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(
        prog="python -m otrv4_xmpp.component",
        description="The OTRv4 prekey service (urn:xmpp:otr4:prekey:0) as an XEP-0114 "
                    "component. Clients find it with service discovery on their domain.")
    p.add_argument("--jid", required=True, help="the component's JID, e.g. prekeys.example.org")
    p.add_argument("--secret", required=True, help="the component secret the server expects")
    p.add_argument("--host", default="127.0.0.1", help="the XMPP server's component interface")
    p.add_argument("--port", type=int, default=5347, help="the XMPP server's component port")
    p.add_argument("--db", default="prekeys.sqlite",
                   help="the SQLite file holding profiles and prekeys (created if missing)")
    p.add_argument("--key", default=None,
                   help="file with the service's long-term key (default: <db>.key; created "
                        "on first run)")
    p.add_argument("--publisher-domain", action="append", default=None,
                   help="a domain whose users may publish (repeatable; default: the parent "
                        "domain of --jid)")
    p.add_argument("--verbose", "-v", action="store_true", help="log every stanza")
    return p.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    """Run until interrupted; prints the service's fingerprint first."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    key_path = Path(args.key or f"{args.db}.key")
    keypair = load_or_create_key(key_path, SystemRng())
    domains = frozenset(args.publisher_domain) if args.publisher_domain else None
    server = build_server(args.jid, keypair, open_storage(args.db), publisher_domains=domains)
    print(f"prekey service {args.jid}, fingerprint "
          f"{format_server_fingerprint(server.identity.fingerprint)}", flush=True)
    component = PrekeyComponent(args.jid, args.secret, server)
    component.connect(args.host, args.port)
    try:
        component.loop.run_until_complete(component.disconnected)
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
