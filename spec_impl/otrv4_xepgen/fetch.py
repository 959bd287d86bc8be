"""Fetch the XSF's files into a user cache, on request (``xepgen fetch-xsf``).

The project never ships the XSF's ``xep.dtd``, ``xep.ent`` or stanza schemas.
A newcomer without an xsf/xeps checkout can fetch them once from xmpp.org into
a cache folder of their own (``$XDG_CACHE_HOME/otrv4-xmpp/xsf``, by default
``~/.cache/otrv4-xmpp/xsf``); :func:`otrv4_xepgen.paths.find_xsf` looks there after
the options, the environment variables and ``../shared/ref/xsf``.  Without a
network the command fails with one clear line, and the build goes on as before,
saying which checks it skipped.

Layout of the cache: ``xep.dtd`` and ``xep.ent`` at the top, the stanza
schemas (and ``xml.xsd``, which ``jabber-client.xsd`` imports) in ``schemas/``.
Every file is written atomically; a file that did not download leaves the one
already cached untouched.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from otrv4_xmpp.validation import XSF_SCHEMAS

__all__ = ["DEFAULT_BASE", "DEFAULT_XML_XSD", "FetchError", "FetchResult", "default_cache",
           "fetch_xsf"]

#: Where the XSF publishes ``extensions/xep.dtd`` and ``schemas/*.xsd``.
DEFAULT_BASE = "https://xmpp.org"
#: Where the W3C publishes the schema of the ``xml:`` attributes.
DEFAULT_XML_XSD = "https://www.w3.org/2001/03/xml.xsd"
_DTD_FILES = ("xep.dtd", "xep.ent")
#: Stanza schemas: what the validator uses, and what jabber-client.xsd imports.
_SCHEMA_FILES = tuple(sorted({*XSF_SCHEMAS.values(), "stanzaerror.xsd"}))
_MAX_BYTES = 4 * 1024 * 1024
_TIMEOUT = 20.0

Progress = Callable[[str], None]


class FetchError(Exception):
    """Nothing could be fetched (no network, or the server refused); the message says why."""


@dataclass
class FetchResult:
    """What was written, and what could not be fetched (with the reason)."""

    cache: Path
    written: list[Path] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether the DTD, the entities and ``jabber-client.xsd`` are all there."""
        return all((self.cache / f).is_file() for f in _DTD_FILES) and \
            (self.cache / "schemas" / "jabber-client.xsd").is_file()


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/otrv4-xmpp/xsf`` (``~/.cache/otrv4-xmpp/xsf`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "otrv4-xmpp" / "xsf"


def _download(url: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": "xepgen (otrv4-xmpp)"})
    with urllib.request.urlopen(request, timeout=_TIMEOUT) as response:
        data: bytes = response.read(_MAX_BYTES + 1)
    if len(data) > _MAX_BYTES:
        raise ValueError(f"larger than {_MAX_BYTES} bytes")
    return data


def _looks_right(name: str, data: bytes) -> bool:
    """A cheap check that an HTML error page was not served in place of the file."""
    head = data[:2048].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")):
        return False
    return name.endswith((".dtd", ".ent")) or b"schema" in head


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)


def fetch_xsf(cache: Path | None = None, *, base: str = DEFAULT_BASE,
              xml_xsd: str = DEFAULT_XML_XSD, progress: Progress | None = None,
              download: Callable[[str], bytes] = _download) -> FetchResult:
    """Download the XSF's DTD, entities and stanza schemas into ``cache``.

    Raises :class:`FetchError` when not one file could be fetched (typically: no
    network); otherwise returns what was written and what failed.
    """
    cache = cache or default_cache()
    base = base.rstrip("/")
    jobs: Sequence[tuple[str, str, Path]] = (
        *((f, f"{base}/extensions/{f}", cache / f) for f in _DTD_FILES),
        *((f, f"{base}/schemas/{f}", cache / "schemas" / f) for f in _SCHEMA_FILES),
        ("xml.xsd", xml_xsd, cache / "schemas" / "xml.xsd"),
    )
    result = FetchResult(cache)
    for i, (name, url, target) in enumerate(jobs, start=1):
        if progress is not None:
            progress(f"({i}/{len(jobs)}) {url}")
        try:
            data = download(url)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", None) or exc
            result.failed.append((url, str(reason)))
            continue
        if not _looks_right(name, data):
            result.failed.append((url, "the server answered with something else (HTML?)"))
            continue
        _write(target, data)
        result.written.append(target)
    if not result.written:
        first = result.failed[0][1] if result.failed else "nothing to fetch"
        raise FetchError(f"could not fetch the XSF's files from {base} ({first}); without "
                         "them the build skips the DTD and stanza-envelope checks and says so")
    return result
