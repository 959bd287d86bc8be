"""Benchmark: stanza validation, the fast path against xmllint and raw lxml, same run.

Run: ``make bench`` (needs ``xmllint``, from Debian's ``libxml2-utils``, and the
XSF stanza schemas: ``../shared/ref/xsf`` or ``XSF_DIR``).

Corpus: every example the scenarios produce (valid and invalid stanzas with
real OTRv4 payloads, built in this run), repeated to 960 stanzas.  Every engine
checks the same schema set through the validator's own driver schema.

* ours: one :class:`~otrv4_xmpp.validation.StanzaValidator`, compiled once;
  each stanza parsed from its bytes and validated once (``validate_bytes``:
  every engine reads the same standalone documents, those xmllint reads).
  Against xmllint, which prints a message for every error, the report is read
  in full (element paths and messages formatted); against raw lxml, which
  answers a boolean, only the verdict (``report.ok``: the messages are then
  formatted only if someone reads them); the other pairing is an INFO row;
* peer 1: ``xmllint --noout --nonet --schema driver.xsd`` with the validator's
  XML catalog, one process over the whole corpus (it compiles the schemas once);
* peer 2: raw lxml on the *same compiled schema*: ``etree.fromstring`` plus
  ``XMLSchema.validate`` per stanza, a boolean and nothing else (the floor of
  any lxml-based validator).

Targets (issue 15), as throughput ratios: >= 1.0x xmllint in one process,
>= 0.8x raw lxml.  The engines must agree on which stanzas are valid (the
script stops if they do not).  Also INFO rows: xmllint's marginal cost per
stanza (its start-up and schema compilation removed) and the xmlschema engine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import harness
from lxml import etree

from otrv4_xepgen.examples import run_scenarios
from otrv4_xepgen.paths import PROJECT_ROOT, find_xsf
from otrv4_xmpp.validation import StanzaValidator
from otrv4_xmpp.xmltext import parse

CORPUS_SIZE = 960
XMLLINT_TARGET = 1.0
LXML_TARGET = 0.8


def main() -> int:
    report = harness.Report("validation")
    xsf = find_xsf()
    xmllint = shutil.which("xmllint")
    if xsf.schemas is None or xmllint is None:
        print("VERDICT validation vs xmllint: needs the XSF stanza schemas and xmllint "
              "(apt-get install libxml2-utils): UNMEASURED")
        print("VERDICT validation vs raw lxml: UNMEASURED")
        return 1
    validator = StanzaValidator(xsf.schema_locations(PROJECT_ROOT / "schemas"))
    examples = [(ex.ref, ex.text, ex.valid) for ex in run_scenarios(validator)]
    items = (examples * (CORPUS_SIZE // len(examples) + 1))[:CORPUS_SIZE]
    texts = [t for _, t, _ in items]
    expected = [v for _, _, v in items]
    standalone = [etree.tostring(parse(t), xml_declaration=True, encoding="utf-8")
                  for t in texts]
    schema = validator._lxml_schema()  # the compiled schema the fast path uses
    raw_parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        driver = folder / "driver.xsd"
        driver.write_text(validator.driver, encoding="utf-8")
        catalog = folder / "catalog.xml"
        catalog.write_text(validator.catalog(), encoding="utf-8")
        files = []
        for i, data in enumerate(standalone[:len(examples)]):
            path = folder / f"{i:03d}.xml"
            path.write_bytes(data)
            files.append(str(path))
        corpus_files = (files * (CORPUS_SIZE // len(files) + 1))[:CORPUS_SIZE]
        env = dict(os.environ, XML_CATALOG_FILES=str(catalog))
        cmd = [xmllint, "--noout", "--nonet", "--schema", str(driver)]

        # agreement first: ours (both engines), xmllint and raw lxml, on every example
        ours_ok = [validator.validate_bytes(d).ok for d in standalone[:len(examples)]]
        slow_ok = [validator.validate_text(t, engine="xmlschema").ok
                   for t in texts[:len(examples)]]
        lint_ok = [subprocess.run([*cmd, f], env=env, capture_output=True).returncode == 0
                   for f in files]
        raw_ok = [schema.validate(etree.fromstring(d, raw_parser))
                  for d in standalone[:len(examples)]]
        want = expected[:len(examples)]
        for name, got in (("lxml engine", ours_ok), ("xmlschema engine", slow_ok),
                          ("xmllint", lint_ok), ("raw lxml", raw_ok)):
            if got != want:
                bad = [examples[i][0] for i in range(len(want)) if got[i] != want[i]]
                print(f"{name} disagrees with the examples on: {bad}", file=sys.stderr)
                return 1

        # Every engine reads the same bytes: the standalone documents xmllint reads.
        def ours() -> None:  # the full report: verdict, element paths, messages
            for d in standalone:
                report = validator.validate_bytes(d)
                if not report.ok:
                    list(report.violations)

        def ours_verdict() -> None:  # what a receiving client needs: the verdict
            for d in standalone:
                validator.validate_bytes(d).ok  # noqa: B018

        def lint_corpus() -> None:
            subprocess.run([*cmd, *corpus_files], env=env, capture_output=True)

        def lint_one() -> None:
            subprocess.run([*cmd, files[0]], env=env, capture_output=True)

        def raw_lxml() -> None:
            for d in standalone:
                schema.validate(etree.fromstring(d, raw_parser))

        def slow() -> None:
            for t in texts[:len(examples)]:
                validator.validate_text(t, engine="xmlschema")

        n_valid = sum(expected)
        print(f"corpus: {len(texts)} stanzas ({n_valid} valid, {len(texts) - n_valid} invalid) "
              f"from {len(examples)} examples; rounds: {harness.ROUNDS}")
        report.add(harness.compare(
            "validation fast path vs xmllint, one process", ours, lint_corpus,
            "xmllint --schema (one process, 960 files)", target=XMLLINT_TARGET, sense="rate",
            per=CORPUS_SIZE, seconds=0.05))
        report.add(harness.compare(
            "validation fast path (verdict) vs raw lxml", ours_verdict, raw_lxml,
            "raw lxml parse+validate (same compiled schema)", target=LXML_TARGET,
            sense="rate", per=CORPUS_SIZE, seconds=0.05))
        report.add(harness.compare(
            "validation fast path (full report) vs raw lxml", ours, raw_lxml,
            "raw lxml parse+validate (a boolean)", sense="rate", per=CORPUS_SIZE,
            seconds=0.05, rounds=7))
        # xmllint without its start-up and compilation: (corpus - one file) / (n - 1)
        corpus_ms = harness.measure(lint_corpus, rounds=5, seconds=0.05)
        one_ms = harness.measure(lint_one, rounds=5, seconds=0.05)
        corpus_ms.sort()
        one_ms.sort()
        marginal_ms = (corpus_ms[2] - one_ms[2]) / (CORPUS_SIZE - 1)
        ours_ms = sorted(harness.measure(ours, rounds=5, seconds=0.05))[2] / CORPUS_SIZE
        print(f"INFO    xmllint marginal per stanza (start-up and compile removed): "
              f"{marginal_ms:.4f} ms; fast path {ours_ms:.4f} ms; rate ratio "
              f"{marginal_ms / ours_ms:.2f}x")
        report.series["xmllint_marginal_ms"] = marginal_ms
        report.series["fast_path_ms"] = ours_ms
        slow_ms = sorted(harness.measure(slow, rounds=3, seconds=0.05))[1] / len(examples)
        print(f"INFO    xmlschema engine (diagnostics): {slow_ms:.4f} ms per stanza")
        report.series["xmlschema_ms"] = slow_ms
    report.write()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
