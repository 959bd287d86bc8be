"""The pipeline: code and schemas in, examples, vectors, XEP XML and HTML out.

:func:`generate` computes every generated file in memory (nothing is written),
so ``build`` and ``check`` share one code path: ``build`` writes the files,
``check`` compares them with what is committed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import jsonschema

from otrv4_xmpp.validation import StanzaValidator

from .checks import XepCheckError, check_conformance, check_dtd
from .examples import CheckedExample, run_scenarios
from .html import render_html
from .notes import NOTES_HTML, NOTES_RST, NotesError, notes_html, render_notes
from .paths import ProjectPaths, XsfFiles
from .render import RenderError, load_revisions, render_xep
from .submission import SubmissionError, load_submission
from .vectors import dump_vectors, source_tree_id
from .vectorsets import all_vector_files

__all__ = ["BuildError", "BuildResult", "generate", "write_outputs"]

Progress = Callable[[str], None]


class BuildError(Exception):
    """The build cannot produce a correct document; the message says what and where."""


@dataclass
class BuildResult:
    """Everything the build produces.

    ``committed`` maps paths relative to the project root to their text: the
    files kept under version control (examples, vectors, the rendered XEP, the
    companion's reST).  ``html`` is the rendered XEP page and ``pages`` the other
    pages (the companion), by file name (written to the output folder only).
    ``warnings`` lists what could not be checked on this machine, and what the
    submitter still has to fill in.
    """

    committed: dict[str, str]
    html: str
    examples: list[CheckedExample]
    warnings: list[str] = field(default_factory=list)
    pages: dict[str, str] = field(default_factory=dict)


def _stderr(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def generate(paths: ProjectPaths, xsf: XsfFiles, progress: Progress = _stderr) -> BuildResult:
    """Run the whole pipeline in memory; raises :class:`BuildError` on any failed check."""
    warnings: list[str] = []
    committed: dict[str, str] = {}
    progress("[1/5] compiling schemas")
    validator = StanzaValidator(xsf.schema_locations(paths.schemas))
    if not validator.complete:
        warnings.append("XSF stanza schemas not found: stanza envelopes were not validated, "
                        "only the elements of this specification's namespaces "
                        "(give --xsf-schemas or set XSF_SCHEMAS_DIR)")
    progress("[2/5] running scenarios and checking examples")
    try:
        examples = run_scenarios(validator, warnings=warnings)
    except Exception as exc:  # ExampleError, or a scenario's own failure
        raise BuildError(str(exc)) from exc
    for ex in examples:
        committed[f"examples/stanzas/{ex.relpath}"] = ex.file_text()
    progress(f"      {sum(e.valid for e in examples)} valid and "
             f"{sum(not e.valid for e in examples)} invalid examples checked")
    progress("[3/5] generating test vectors")
    tree = source_tree_id(paths.root)
    schema = json.loads((paths.schemas / "vectors.schema.json").read_text(encoding="utf-8"))
    producers = all_vector_files()
    for i, (stem, producer) in enumerate(producers.items(), start=1):
        progress(f"      ({i}/{len(producers)}) {stem}")
        try:
            text = dump_vectors(producer(), tree)
            jsonschema.validate(json.loads(text), schema)
        except jsonschema.ValidationError as exc:
            raise BuildError(f"vector file {stem}.json breaks vectors.schema.json: "
                             f"{exc.message} at {'/'.join(map(str, exc.absolute_path))}") from exc
        except Exception as exc:
            raise BuildError(f"vector file {stem}.json: {type(exc).__name__}: {exc}") from exc
        committed[f"examples/vectors/{stem}.json"] = text
    progress("[4/5] rendering the XEP and its companion, the implementation notes")
    try:
        revisions = load_revisions(paths.xep / "revisions.toml")
        submission = load_submission(paths.xep / "submission.toml")
        warnings.extend(submission.warnings())
        xml = render_xep(paths.templates, paths.schemas, examples, revisions,
                         {"authors": submission.authors, "notes_url": submission.notes_url})
        notes = render_notes(paths.xep)
        pages = {NOTES_HTML: notes_html(notes)}
    except (RenderError, NotesError, SubmissionError) as exc:
        raise BuildError(str(exc)) from exc
    committed[NOTES_RST] = notes
    rel = paths.rendered_xep.relative_to(paths.root).as_posix()
    committed[rel] = xml
    try:
        check_conformance(xml, paths.rendered_xep.name)
        if xsf.dtd_dir is not None:
            check_dtd(xml, xsf.dtd_dir)
        else:
            warnings.append("xep.dtd not found: the XEP was not validated against the XSF DTD "
                            "(give --xsf or set XSF_DIR)")
    except XepCheckError as exc:
        raise BuildError(f"{rel}: {exc}") from exc
    progress("[5/5] rendering HTML")
    html = render_html(xml, examples, xsf.dtd_dir / "xep.ent" if xsf.dtd_dir else None)
    return BuildResult(committed, html, examples, warnings, pages)


def generated_dirs() -> tuple[str, ...]:
    """Folders whose every file is generated (stale extra files there are errors)."""
    return ("examples/stanzas", "examples/vectors")


def write_outputs(result: BuildResult, paths: ProjectPaths, out_dir: Path) -> list[Path]:
    """Write the committed files (removing stale generated ones) and the output folder.

    Returns the files that changed.  Writes are atomic per file (temp file, rename).
    """
    changed: list[Path] = []
    wanted = {paths.root / rel for rel in result.committed}
    for folder in generated_dirs():
        for old in sorted((paths.root / folder).rglob("*")):
            if old.is_file() and old not in wanted:
                old.unlink()
                changed.append(old)
    for rel, text in sorted(result.committed.items()):
        changed += _write_if_changed(paths.root / rel, text)
    out_dir.mkdir(parents=True, exist_ok=True)
    changed += _write_if_changed(out_dir / paths.rendered_xep.name, result.committed[
        paths.rendered_xep.relative_to(paths.root).as_posix()])
    changed += _write_if_changed(out_dir / paths.rendered_xep.with_suffix(".html").name,
                                 result.html)
    for name, text in sorted(result.pages.items()):
        changed += _write_if_changed(out_dir / name, text)
    return changed


def _write_if_changed(path: Path, text: str) -> list[Path]:
    data = text.encode("utf-8")
    if path.is_file() and path.read_bytes() == data:
        return []
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    tmp.replace(path)
    return [path]


def stale_files(result: BuildResult, paths: ProjectPaths) -> list[str]:
    """Committed files that differ from what the code produces now, plus extra and missing ones."""
    problems: list[str] = []
    for rel, text in sorted(result.committed.items()):
        path = paths.root / rel
        if not path.is_file():
            problems.append(f"{rel}: missing (run `make build` and commit it)")
        elif path.read_bytes() != text.encode("utf-8"):
            problems.append(f"{rel}: differs from what the code produces now")
    for folder in generated_dirs():
        for extra in sorted((paths.root / folder).rglob("*")):
            rel = extra.relative_to(paths.root).as_posix()
            if extra.is_file() and rel not in result.committed:
                problems.append(f"{rel}: no longer produced by the code (remove it)")
    return problems
