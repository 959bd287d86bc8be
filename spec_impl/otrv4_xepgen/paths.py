"""Where things are: the project tree and the XSF's files.

The XSF's ``xep.dtd``/``xep.ent`` and stanza schemas are never copied into this
project.  The tool finds them, in this order:

1. the ``--xsf`` (and ``--xsf-schemas``) command-line options;
2. the environment variables ``XSF_DIR`` (a folder with ``xep.dtd`` and
   ``xep.ent``, e.g. an xsf/xeps checkout) and ``XSF_SCHEMAS_DIR`` (a folder
   with ``jabber-client.xsd``, e.g. an xsf/schemas checkout);
3. ``../shared/ref/xsf`` beside the project (the team's reference copy, which
   CI has);
4. the user cache that ``xepgen fetch-xsf`` fills from xmpp.org
   (:func:`otrv4_xepgen.fetch.default_cache`).

Inside an XSF folder, stanza schemas are looked for in the folder itself and
in ``schemas/``; schemas cut out of XEPs in ``xep-schemas/``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from otrv4_xmpp.validation import SchemaLocations, default_schema_dir

__all__ = ["PROJECT_ROOT", "ProjectPaths", "XsfFiles", "find_xsf"]

PROJECT_ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class ProjectPaths:
    """The folders the generator reads and writes, relative to one project root."""

    root: Path = PROJECT_ROOT

    @property
    def schemas(self) -> Path:
        """The checkout's ``schemas/``; outside a checkout (an installed wheel) the
        schemas shipped inside :mod:`otrv4_xmpp`."""
        own = self.root / "schemas"
        return own if own.is_dir() else default_schema_dir()

    @property
    def examples(self) -> Path:
        return self.root / "examples"

    @property
    def stanzas(self) -> Path:
        return self.examples / "stanzas"

    @property
    def vectors(self) -> Path:
        return self.examples / "vectors"

    @property
    def xep(self) -> Path:
        return self.root / "xep"

    @property
    def templates(self) -> Path:
        return self.xep / "templates"

    @property
    def rendered_xep(self) -> Path:
        return self.xep / "otrv4-over-xmpp.xml"


@dataclass(frozen=True)
class XsfFiles:
    """The XSF files found on this machine; any of them may be missing."""

    dtd_dir: Path | None
    schemas: Path | None
    xep_schemas: Path | None
    origin: str

    def schema_locations(self, own: Path) -> SchemaLocations:
        return SchemaLocations(own=own, xsf=self.schemas, xep=self.xep_schemas)

    def describe(self) -> str:
        def show(p: Path | None) -> str:
            return str(p) if p else "not found"
        return (f"XSF files ({self.origin}): xep.dtd in {show(self.dtd_dir)}; "
                f"stanza schemas in {show(self.schemas)}; XEP schemas in {show(self.xep_schemas)}")


def find_xsf(xsf_dir: Path | None = None, schemas_dir: Path | None = None,
             root: Path = PROJECT_ROOT) -> XsfFiles:
    """Locate the XSF's DTD and schemas (see the module docstring for the order)."""
    origin = "command line"
    if xsf_dir is None and os.environ.get("XSF_DIR"):
        xsf_dir, origin = Path(os.environ["XSF_DIR"]), "XSF_DIR"
    if schemas_dir is None and os.environ.get("XSF_SCHEMAS_DIR"):
        schemas_dir = Path(os.environ["XSF_SCHEMAS_DIR"])
    if xsf_dir is None:
        from .fetch import default_cache

        shared = root.parent / "shared" / "ref" / "xsf"
        cache = default_cache()
        if shared.is_dir():
            xsf_dir, origin = shared, "../shared/ref/xsf"
        elif (cache / "xep.dtd").is_file():
            xsf_dir, origin = cache, f"cache {cache} (xepgen fetch-xsf)"
        else:
            xsf_dir, origin = None, "none"
    dtd_dir = xsf_dir if xsf_dir and (xsf_dir / "xep.dtd").is_file() else None
    if schemas_dir is None and xsf_dir is not None:
        for cand in (xsf_dir, xsf_dir / "schemas"):
            if (cand / "jabber-client.xsd").is_file():
                schemas_dir = cand
                break
    if schemas_dir is not None and not (schemas_dir / "jabber-client.xsd").is_file():
        schemas_dir = None
    xep_schemas = None
    for base in (xsf_dir, schemas_dir.parent if schemas_dir else None):
        if base is not None and (base / "xep-schemas").is_dir():
            xep_schemas = base / "xep-schemas"
            break
    return XsfFiles(dtd_dir, schemas_dir, xep_schemas, origin)
