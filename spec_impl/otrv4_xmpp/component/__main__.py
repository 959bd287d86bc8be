"""``python -m otrv4_xmpp.component``: run the prekey service as an XEP-0114 component.

Examples::

    python -m otrv4_xmpp.component --config /etc/otr4-prekey/prekeys1.toml
    python -m otrv4_xmpp.component --jid prekeys.localhost --secret S \\
        --host 127.0.0.1 --port 5347 --storage sqlite:///var/lib/otr4-prekey/prekeys.sqlite

The configuration file is described in :mod:`otrv4_xmpp.component.config`;
options on the command line override it.  The service prints one line with
its JID and fingerprint, then logs one line per request.  Exit status
(:mod:`otrv4_xmpp.component.errors`): 0 after SIGTERM or SIGINT, 1 when it
cannot start (key file, storage), 2 for a bad command line or configuration,
3 when the XMPP server refuses the component (wrong secret, name taken).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

from otrv4.primitives.rng import SystemRng
from otrv4_prekey.dake import format_server_fingerprint
from otrv4_prekey.storage import StorageUnavailableError
from otrv4_prekey.storage_url import parse_storage_url

from .config import ComponentConfig, load_config
from .errors import EXIT_FATAL, EXIT_OK, EXIT_STATUS, ComponentError
from .runner import Backoff, run
from .service import PrekeyComponent, build_server, load_or_create_key, open_storage

log = logging.getLogger("otrv4_xmpp.component")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line."""
    p = argparse.ArgumentParser(
        prog="python -m otrv4_xmpp.component",
        description="The OTRv4 prekey service (urn:xmpp:otr4:prekey:0) as an XEP-0114 "
                    "component. Clients find it with service discovery on their domain. "
                    "Options override the configuration file.",
        epilog="Exit status: 0 stopped by SIGTERM/SIGINT, 1 cannot start (key file, "
               "storage), 2 bad configuration, 3 refused by the XMPP server (wrong secret, "
               "name already connected).")
    p.add_argument("--config", type=Path, default=None,
                   help="TOML configuration file (tables [component], [server], [storage], "
                        "[limits], [reconnect], [log])")
    p.add_argument("--jid", help="the component's JID, e.g. prekeys.example.org")
    p.add_argument("--secret", help="the component secret the server expects (prefer "
                                    "secret_file in the configuration: a command line is "
                                    "visible to other users)")
    p.add_argument("--host", help="the XMPP server's component interface (default 127.0.0.1)")
    p.add_argument("--port", type=int, help="the XMPP server's component port (default 5347)")
    p.add_argument("--storage", help="storage URL: sqlite:///path/prekeys.sqlite (default "
                                     "sqlite:prekeys.sqlite), postgresql://user@host/db")
    p.add_argument("--db", help="a SQLite file (same as --storage sqlite:FILE)")
    p.add_argument("--key", help="file with the service's long-term key, created on first "
                                 "run; every instance of a domain uses the same key "
                                 "(default for SQLite: <file>.key)")
    p.add_argument("--publisher-domain", action="append", default=None,
                   help="a domain whose users may publish (repeatable; default: the parent "
                        "domain of the JID)")
    p.add_argument("--log-level", help="DEBUG, INFO (default), WARNING or ERROR")
    p.add_argument("--verbose", "-v", action="store_true", help="same as --log-level DEBUG")
    return p.parse_args(argv)


def configure(args: argparse.Namespace) -> ComponentConfig:
    """The configuration file with the command line's overrides.  Raises
    :class:`~otrv4_xmpp.component.errors.ConfigError`."""
    storage = args.storage or (f"sqlite:{args.db}" if args.db else None)
    return load_config(args.config, {
        "jid": args.jid, "secret": args.secret, "host": args.host, "port": args.port,
        "storage": storage, "key_file": args.key,
        "publisher_domains": args.publisher_domain,
        "log_level": "DEBUG" if args.verbose else args.log_level,
    })


async def serve(config: ComponentConfig) -> None:
    """Open the key and the storage, print the fingerprint, run until SIGTERM or SIGINT.
    Raises the :class:`~otrv4_xmpp.component.errors.ComponentError` that stops it."""
    keypair = load_or_create_key(config.key_path, SystemRng())
    try:
        storage = open_storage(config.storage)
    except StorageUnavailableError as exc:
        raise ComponentError(f"storage {parse_storage_url(config.storage).redacted()}: "
                             f"{exc}") from exc
    try:
        server = build_server(config.jid, keypair, storage,
                              publisher_domains=config.service_policy().publisher_domains,
                              policy=config.policy)
        print(f"prekey service {config.jid}, fingerprint "
              f"{format_server_fingerprint(server.identity.fingerprint)}", flush=True)
        log.info("storage %s, key %s", parse_storage_url(config.storage).redacted(),
                 config.key_path)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        component = PrekeyComponent(config.jid, config.secret, server)
        await run(component, config.host, config.port, stop,
                  backoff=Backoff(config.reconnect_initial, config.reconnect_max))
    finally:
        storage.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run until stopped; return the exit status."""
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        config = configure(args)
        logging.getLogger().setLevel(config.log_level)
        if config.log_level != "DEBUG":
            logging.getLogger("slixmpp").setLevel(logging.WARNING)
        asyncio.run(serve(config))
    except ComponentError as exc:
        status = next(code for cls, code in EXIT_STATUS if isinstance(exc, cls))
        log.error("%s: %s", type(exc).__name__, exc)
        return status
    except ImportError as exc:  # psycopg missing for a postgresql storage
        log.error("cannot open the storage: %s", exc)
        return EXIT_FATAL
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
