"""The catalogue of operations, rendered for the adapter page (``docs/conformance.rst``).

The page's tables are built from :data:`otrv4_conformance.levels.LEVELS` and the
vector files themselves, so they list exactly what the runner sends: for each
operation, the argument names, the result names, and the error classes an
adapter must name.
"""

from __future__ import annotations

import json
from pathlib import Path

from .levels import LEVELS
from .protocol import encode_request
from .reference import ReferenceAdapter
from .vectorcheck import load_op_tests

__all__ = ["catalogue_rst", "transcript"]


def _names(values: set[str]) -> str:
    return ", ".join(f"``{v}``" for v in sorted(values)) or "—"


def catalogue_rst(vectors: Path) -> str:
    """One list-table per level: operation, arguments, result, errors."""
    out: list[str] = []
    for level in LEVELS:
        title = f"Level {level.number}: {level.title}"
        out += [title, "~" * len(title), ""]
        if level.vector_ops:
            out += [".. list-table::", "   :header-rows: 1", "   :widths: 25 25 20 30", "",
                    "   * - Operation", "     - Arguments", "     - Result", "     - Errors",
                    ""]
            for op in level.vector_ops:
                tests = load_op_tests(vectors, op)
                args = {k for t in tests for k in t["inputs"]}
                if any(t.get("randomDraws") for t in tests):
                    args.add("randomDraws")
                results = {k for t in tests for k in t["outputs"]}
                errors = {str(t["expectedError"]) for t in tests if t["result"] == "invalid"}
                out += [f"   * - ``{op}`` ({len(tests)} tests)", f"     - {_names(args)}",
                        f"     - {_names(results)}", f"     - {_names(errors)}"]
            out.append("")
        if level.live:
            out += ["Live checks: " + "; ".join(level.live) + ".", ""]
    return "\n".join(out)


def transcript(vectors: Path) -> str:
    """A real exchange with the reference adapter (run in-process): ``hello``, a KDF
    vector, a rejected point, an unknown operation and ``bye``; ``>`` marks what the
    runner writes, ``<`` what the adapter answers."""
    adapter = ReferenceAdapter()
    kdf = min(load_op_tests(vectors, "kdf.Otrv4Kdf"), key=lambda t: len(t["inputs"]["values"]))
    point = next(t for t in load_op_tests(vectors, "ed448-points.Ed448PointValidation")
                 if t.get("expectedError") == "PointNotOnCurveError")
    requests = [("hello", {"protocol": 1}), ("kdf.Otrv4Kdf", kdf["inputs"]),
                ("ed448-points.Ed448PointValidation", point["inputs"]),
                ("smp.Unknown", {}), ("bye", {})]
    lines = []
    for n, (op, args) in enumerate(requests, start=1):
        lines.append("> " + encode_request(n, op, args).decode().rstrip("\n"))
        body = adapter.handle(op, args)
        lines.append("< " + json.dumps({"id": n, **body}, separators=(",", ":")))
    return "\n".join(lines) + "\n"
