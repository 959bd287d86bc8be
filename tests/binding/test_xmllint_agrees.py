"""xmllint, given `xepgen schemas`' driver and catalog, agrees with our validators."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from otrv4_xmpp.validation import StanzaValidator

from ..conftest import require_program


def _standalone(example: Path) -> str:
    text = re.sub(r"<!--.*?-->\n", "", example.read_text(encoding="utf-8"), flags=re.S)
    first_tag = text[:text.index(">")]
    if "xmlns=" in first_tag:
        return text
    return re.sub(r"^<(\w+)", r"<\1 xmlns='jabber:client'", text, count=1)


def test_xmllint_with_driver_and_catalog_agrees_on_every_example(
        validator: StanzaValidator, project_root: Path, tmp_path: Path) -> None:
    xmllint = require_program("xmllint")
    (tmp_path / "driver.xsd").write_text(validator.driver, encoding="utf-8")
    (tmp_path / "catalog.xml").write_text(validator.catalog(), encoding="utf-8")
    env = dict(os.environ, XML_CATALOG_FILES=str(tmp_path / "catalog.xml"))
    examples = sorted((project_root / "examples" / "stanzas").rglob("*.xml"))
    assert examples
    for example in examples:
        doc = tmp_path / "stanza.xml"
        doc.write_text(_standalone(example), encoding="utf-8")
        run = subprocess.run([xmllint, "--noout", "--nonet", "--schema",
                              str(tmp_path / "driver.xsd"), str(doc)],
                             env=env, capture_output=True, text=True)
        ours = validator.validate_text(example.read_text(encoding="utf-8"), str(example))
        only_namespace_rule = all("no schema is loaded" in v.rule for v in ours.violations)
        if ours.ok or only_namespace_rule:
            # xmllint has no rule against namespaces without a schema (the lax wildcard)
            assert run.returncode == 0, (example, run.stderr)
        else:
            assert run.returncode != 0, example
