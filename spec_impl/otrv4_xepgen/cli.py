"""``xepgen``: build the OTRv4-over-XMPP XEP from code, validate stanzas, check freshness.

Exit codes (all subcommands):
  0  success
  1  the input or the project failed a check (invalid stanza, stale file, build error)
  2  usage error, or a file that cannot be read
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from lxml import etree

from otrv4_xmpp.validation import StanzaValidator, decode_utf8

from . import __version__
from .build import BuildError, generate, stale_files, write_outputs
from .fetch import DEFAULT_BASE, DEFAULT_XML_XSD, FetchError, fetch_xsf
from .paths import PROJECT_ROOT, ProjectPaths, find_xsf

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2

_EPILOG = """\
exit codes: 0 success; 1 a check failed; 2 usage error or unreadable input.

The XSF's xep.dtd/xep.ent and stanza schemas are not part of this project. They are
found through --xsf/--xsf-schemas, then the XSF_DIR/XSF_SCHEMAS_DIR environment
variables, then ../shared/ref/xsf beside the project.
"""


def _add_xsf_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--xsf", type=Path, metavar="DIR",
                   help="folder with the XSF's xep.dtd and xep.ent (an xsf/xeps checkout)")
    p.add_argument("--xsf-schemas", type=Path, metavar="DIR",
                   help="folder with jabber-client.xsd and the other XSF stanza schemas "
                        "(an xsf/schemas checkout)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xepgen",
        description="Build the OTRv4-over-XMPP XEP from its executable specification, "
                    "validate stanzas against its schemas, and check that generated files "
                    "are up to date.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"xepgen {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    b = sub.add_parser(
        "build", help="regenerate examples and vectors, validate them, render XEP XML and HTML",
        description="Run every scenario of the reference implementation, validate each example "
                    "stanza (both validators, plus the receiving side's code), generate the test "
                    "vectors, render the XEP XML (xep/otrv4-over-xmpp.xml) and write the XML and "
                    "HTML into the output folder.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    b.add_argument("--out", type=Path, default=Path("build"), metavar="DIR",
                   help="output folder for the XML and HTML (default: build)")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress messages")
    _add_xsf_options(b)

    v = sub.add_parser(
        "validate", help="validate stanzas against the schemas",
        description="Validate XMPP stanzas (files, folders of *.xml, or - for standard input) "
                    "against this specification's schemas and, when found, the XSF stanza "
                    "schemas. A file may hold several stanzas, written as in a client stream "
                    "(no xmlns='jabber:client' needed). Each failure is printed as "
                    "FILE:LINE: ELEMENT-PATH: RULE.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    v.add_argument("paths", nargs="+", metavar="FILE|DIR|-")
    v.add_argument("--engine", choices=("lxml", "xmlschema", "both"), default="lxml",
                   help="lxml (fast, default), xmlschema (diagnostic), or both (must agree)")
    _add_xsf_options(v)

    s = sub.add_parser(
        "schemas", help="write a driver schema and XML catalog for xmllint and other tools",
        description="Write driver.xsd (imports this specification's schemas and the XSF "
                    "stanza schemas) and catalog.xml (maps the XSF's remote schema URLs to the "
                    "local copies) into a folder, so that any XSD validator can check stanzas "
                    "offline: XML_CATALOG_FILES=DIR/catalog.xml xmllint --noout --schema "
                    "DIR/driver.xsd STANZA.xml (one stanza per file, with "
                    "xmlns='jabber:client').",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    s.add_argument("--out", type=Path, default=Path("build/schemas"), metavar="DIR",
                   help="folder to write into (default: build/schemas)")
    _add_xsf_options(s)

    f = sub.add_parser(
        "fetch-xsf", help="download the XSF's xep.dtd, xep.ent and stanza schemas into a cache",
        description="Download the XSF's xep.dtd and xep.ent (from xmpp.org/extensions/) and "
                    "the stanza schemas the validator uses (from xmpp.org/schemas/, plus the "
                    "W3C's xml.xsd) into a cache folder, which build, validate and check then "
                    "use when no --xsf option, XSF_DIR or ../shared/ref/xsf is there. Needs "
                    "the network; without it, nothing changes and the build keeps saying "
                    "which checks it skipped.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    f.add_argument("--cache", type=Path, default=None, metavar="DIR",
                   help="where to put the files (default: $XDG_CACHE_HOME/otrv4-xmpp/xsf, "
                        "i.e. ~/.cache/otrv4-xmpp/xsf)")
    f.add_argument("--from", dest="base", default=DEFAULT_BASE, metavar="URL",
                   help=f"site to fetch from (default: {DEFAULT_BASE}; a mirror works)")
    f.add_argument("--xml-xsd", default=DEFAULT_XML_XSD, metavar="URL",
                   help=f"where xml.xsd is (default: {DEFAULT_XML_XSD})")
    f.add_argument("-q", "--quiet", action="store_true", help="no progress messages")

    c = sub.add_parser(
        "check", help="fail when committed generated files are stale or the XEP is invalid",
        description="Regenerate everything in memory and compare with the committed examples, "
                    "vectors and rendered XEP; validate the XEP against the XSF's xep.dtd and "
                    "the XEP-0001 conformance rules. Writes nothing.",
        epilog=_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("--require-xsf", action="store_true",
                   help="fail (instead of warning) when the XSF DTD or schemas are not found")
    _add_xsf_options(c)
    return parser


def _cmd_build(args: argparse.Namespace) -> int:
    paths = ProjectPaths(PROJECT_ROOT)
    xsf = find_xsf(args.xsf, args.xsf_schemas)

    def progress(msg: str) -> None:
        if not args.quiet:
            print(msg, file=sys.stderr, flush=True)

    progress(xsf.describe())
    try:
        result = generate(paths, xsf, progress)
    except BuildError as exc:
        print(f"xepgen build: error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    changed = write_outputs(result, paths, args.out)
    for w in result.warnings:
        print(f"xepgen build: warning: {w}", file=sys.stderr)
    progress(f"wrote {paths.rendered_xep.relative_to(paths.root)} and "
             f"{args.out}/{paths.rendered_xep.stem}.{{xml,html}}; "
             f"{len(changed)} file(s) changed")
    return EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    xsf = find_xsf(args.xsf, args.xsf_schemas)
    try:
        validator = StanzaValidator(xsf.schema_locations(ProjectPaths().schemas))
    except (OSError, etree.XMLSchemaParseError) as exc:
        print(f"xepgen validate: error: cannot load the schemas: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not validator.complete:
        print("xepgen validate: note: XSF stanza schemas not found; only elements of this "
              "specification's namespaces are checked (see --xsf-schemas)", file=sys.stderr)
    engines = ("lxml", "xmlschema") if args.engine == "both" else (args.engine,)
    failed = unreadable = 0
    files = 0
    for raw in args.paths:
        sources: list[tuple[str, bytes]] = []
        if raw == "-":
            sources = [("<stdin>", sys.stdin.buffer.read())]
        else:
            p = Path(raw)
            if not p.exists():
                print(f"{raw}: error: no such file or folder", file=sys.stderr)
                unreadable += 1
                continue
            for f in validator.iter_files([p]):
                try:
                    sources.append((str(f), f.read_bytes()))
                except OSError as exc:
                    print(f"{f}: error: cannot read: {exc.strerror or exc}", file=sys.stderr)
                    unreadable += 1
        for name, data in sources:
            files += 1
            verdicts = []
            text, why = decode_utf8(data)  # decoded once for every engine
            if text is None:
                print(f"{name}: error: not UTF-8: {why}")
                failed += 1
                continue
            for engine in engines:
                report = validator.validate_text(text, name, engine)  # type: ignore[arg-type]
                verdicts.append(report.ok)
                for violation in report.violations:
                    prefix = f"[{engine}] " if len(engines) > 1 else ""
                    print(f"{prefix}{violation}")
            if len(set(verdicts)) > 1:
                print(f"{name}: error: the validators disagree (lxml: "
                      f"{'valid' if verdicts[0] else 'invalid'}, xmlschema: "
                      f"{'valid' if verdicts[1] else 'invalid'})")
            if not all(verdicts):
                failed += 1
    print(f"{files - failed} of {files} file(s) valid", file=sys.stderr)
    if failed:
        return EXIT_FAIL
    return EXIT_USAGE if unreadable else EXIT_OK


def _cmd_schemas(args: argparse.Namespace) -> int:
    xsf = find_xsf(args.xsf, args.xsf_schemas)
    try:
        validator = StanzaValidator(xsf.schema_locations(ProjectPaths().schemas))
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "driver.xsd").write_text(validator.driver + "\n", encoding="utf-8")
        (args.out / "catalog.xml").write_text(validator.catalog(), encoding="utf-8")
    except OSError as exc:
        print(f"xepgen schemas: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if not validator.complete:
        print("xepgen schemas: note: XSF stanza schemas not found; the driver imports only "
              "this specification's schemas", file=sys.stderr)
    print(f"XML_CATALOG_FILES={args.out}/catalog.xml xmllint --noout --schema "
          f"{args.out}/driver.xsd STANZA.xml")
    return EXIT_OK


def _cmd_fetch_xsf(args: argparse.Namespace) -> int:
    progress = None if args.quiet else (lambda m: print(m, file=sys.stderr, flush=True))
    try:
        result = fetch_xsf(args.cache, base=args.base, xml_xsd=args.xml_xsd,
                           progress=progress)
    except FetchError as exc:
        print(f"xepgen fetch-xsf: {exc}", file=sys.stderr)
        return 1
    for url, reason in result.failed:
        print(f"xepgen fetch-xsf: warning: {url}: {reason}", file=sys.stderr)
    print(f"{len(result.written)} files written to {result.cache}")
    if not result.complete:
        print("xepgen fetch-xsf: the DTD, the entities or jabber-client.xsd are missing",
              file=sys.stderr)
        return 1
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    paths = ProjectPaths(PROJECT_ROOT)
    xsf = find_xsf(args.xsf, args.xsf_schemas)
    if args.require_xsf and (xsf.dtd_dir is None or xsf.schemas is None):
        print(f"xepgen check: error: {xsf.describe()}", file=sys.stderr)
        return EXIT_FAIL
    try:
        result = generate(paths, xsf, lambda _msg: None)
    except BuildError as exc:
        print(f"xepgen check: error: {exc}", file=sys.stderr)
        return EXIT_FAIL
    for w in result.warnings:
        print(f"xepgen check: warning: {w}", file=sys.stderr)
    problems = stale_files(result, paths)
    for p in problems:
        print(f"xepgen check: stale: {p}", file=sys.stderr)
    if problems:
        print("xepgen check: run `make build` and commit the result", file=sys.stderr)
        return EXIT_FAIL
    print(f"xepgen check: {len(result.committed)} generated file(s) up to date; "
          "XEP valid", file=sys.stderr)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``xepgen`` command."""
    args = _parser().parse_args(argv)
    handler = {"build": _cmd_build, "validate": _cmd_validate, "schemas": _cmd_schemas,
               "check": _cmd_check, "fetch-xsf": _cmd_fetch_xsf}
    try:
        return handler[args.command](args)
    except KeyboardInterrupt:
        print("xepgen: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
