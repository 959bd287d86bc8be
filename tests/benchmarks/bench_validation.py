"""Benchmark: stanzas validated per second by the fast path against ``xmllint --schema``.

Run: ``PYTHONPATH=spec_impl .venv/bin/python tests/benchmarks/bench_validation.py``

Corpus: every example the scenarios produce (valid and invalid stanzas, with
real OTRv4 payloads), built in this run.  Both engines check the same schema
set: this binding's schemas, the XSF stanza schemas and the XEP schemas the
validator loads, through the validator's own driver schema.

* fast path: one :class:`~otrv4_xmpp.validation.StanzaValidator`, compiled once;
  each stanza is parsed from its text and validated (``validate_text``);
* peer: ``xmllint --noout --nonet --schema driver.xsd`` with an XML catalog for
  the XSF's remote schema locations, (a) in one process over the whole corpus
  (it compiles the schemas once), (b) one process per stanza (what calling it
  from a client or a test suite costs), and (c) the marginal cost of one more
  stanza in (a), with process start-up and schema compilation taken out
  (xmllint's best case: the validation engines alone).

Both must agree on which stanzas are valid; the script stops if they do not.
Prints stanzas per second and the ratios.  Needs the XSF reference files
(``../shared/ref/xsf`` or ``XSF_DIR``) and ``xmllint``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

from otrv4_xepgen.examples import run_scenarios
from otrv4_xepgen.paths import PROJECT_ROOT, find_xsf
from otrv4_xmpp.validation import StanzaValidator
from otrv4_xmpp.xmltext import parse

ROUNDS = 5


def corpus(validator: StanzaValidator) -> list[tuple[str, str, bool]]:
    """(name, text, valid) for every example of every scenario."""
    return [(ex.ref, ex.text, ex.valid) for ex in run_scenarios(validator)]


def write_files(items: list[tuple[str, str, bool]], folder: Path) -> list[Path]:
    """Each stanza as a standalone document (its namespace declared on the root)."""
    paths = []
    for i, (_, text, _) in enumerate(items):
        path = folder / f"{i:03d}.xml"
        path.write_bytes(etree.tostring(parse(text), xml_declaration=True, encoding="utf-8"))
        paths.append(path)
    return paths


def main() -> int:
    xsf = find_xsf()
    xmllint = shutil.which("xmllint")
    if xsf.schemas is None or xmllint is None:
        print("needs the XSF stanza schemas and xmllint", file=sys.stderr)
        return 1
    validator = StanzaValidator(xsf.schema_locations(PROJECT_ROOT / "schemas"))
    items = corpus(validator)
    texts = [t for _, t, _ in items]
    validator.validate_text(texts[0])  # compile once, outside the timing

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        driver = folder / "driver.xsd"
        driver.write_text(validator.driver, encoding="utf-8")
        files = write_files(items, folder)
        catalog = folder / "catalog.xml"  # the validator's own mapping (incl. schema fixes)
        catalog.write_text(validator.catalog(), encoding="utf-8")
        env = dict(os.environ, XML_CATALOG_FILES=str(catalog))
        cmd = [xmllint, "--noout", "--nonet", "--schema", str(driver)]

        # agreement first
        fast_ok = [validator.validate_text(t).ok for t in texts]
        lint_ok = [subprocess.run([*cmd, str(f)], env=env, capture_output=True).returncode == 0
                   for f in files]
        expected = [v for _, _, v in items]
        if fast_ok != expected or lint_ok != expected:
            bad = [items[i][0] for i in range(len(items))
                   if (fast_ok[i], lint_ok[i]) != (expected[i], expected[i])]
            print(f"engines disagree with the examples on: {bad}", file=sys.stderr)
            return 1

        def fast() -> None:
            for t in texts:
                validator.validate_text(t)

        def lint_batch() -> None:
            subprocess.run([*cmd, *map(str, files)], env=env, capture_output=True)

        def lint_each() -> None:
            for f in files:
                subprocess.run([*cmd, str(f)], env=env, capture_output=True)

        def lint_one() -> None:
            subprocess.run([*cmd, str(files[0])], env=env, capture_output=True)

        results = {}
        for name, fn in (("StanzaValidator (lxml, compiled once)", fast),
                         ("xmllint, one process for the corpus", lint_batch),
                         ("xmllint, one process per stanza", lint_each)):
            best = min(_time(fn) for _ in range(ROUNDS))
            results[name] = len(texts) / best
        # xmllint without its start-up and schema compilation: (corpus - one file) / (n - 1)
        one = min(_time(lint_one) for _ in range(ROUNDS))
        batch = len(texts) / results["xmllint, one process for the corpus"]
        results["xmllint, marginal (start-up and compile removed)"] = (
            (len(texts) - 1) / max(batch - one, 1e-9))

    n_valid = sum(expected)
    print(f"corpus: {len(texts)} stanzas ({n_valid} valid, {len(texts) - n_valid} invalid), "
          f"best of {ROUNDS} rounds")
    fast_rate = results["StanzaValidator (lxml, compiled once)"]
    print(f"{'engine':<52}{'stanzas/s':>12}{'fast path is':>16}")
    for name, rate in results.items():
        ratio = fast_rate / rate
        print(f"{name:<52}{rate:>12.0f}{ratio:>15.2f}x")
    return 0


def _time(fn: object) -> float:
    assert callable(fn)
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


if __name__ == "__main__":
    raise SystemExit(main())
