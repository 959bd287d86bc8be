"""Measure the multi-device candidates and write ``xep/data/multidevice.json``.

Run ``make measure`` (``python -m otrv4_devtools.measure_multidevice`` from the
project root, with ``spec_impl`` on the path).  Bytes are the same on every run; times depend on
the machine, which is why the build does not produce this file: it is
measured, committed, and rendered by the XEP template from the committed copy
(:mod:`otrv4_xepgen.tables_binding`).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
from dataclasses import asdict, replace
from pathlib import Path

from otrv4.clock import FixedClock
from otrv4.primitives.rng import DeterministicRng
from otrv4_xepgen.scenarios import EXAMPLE_TIME
from otrv4_xepgen.tables_binding import DATA_FILE

from .multidevice import Measurement, measure

__all__ = ["describe_machine", "main", "to_json"]


def describe_machine() -> str:
    """Python, OS, CPU model (from /proc/cpuinfo when readable) and core count."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (f"{platform.python_implementation()} {platform.python_version()}, "
            f"{platform.system()} {platform.machine()}, {model}, {os.cpu_count()} cores")


def to_json(m: Measurement) -> str:
    """The data file's text: the measurement, its conclusion, and how it was made."""
    data = {
        "generated_by": "make measure (python -m otrv4_devtools.measure_multidevice)",
        "machine": m.machine,
        "plaintext_bytes": m.plaintext_bytes,
        "repeats": m.repeats,
        "ratchet_step_ms": m.ratchet_step_ms,
        "rows": [asdict(r) for r in m.rows],
        "conclusion": m.conclusion(),
    }
    return json.dumps(data, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Measure and write the data file (or print it with ``--stdout``)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--stdout", action="store_true", help="print instead of writing")
    parser.add_argument("--out", type=Path, default=DATA_FILE)
    args = parser.parse_args(argv)
    m = measure(DeterministicRng("measure:multidevice"), FixedClock(EXAMPLE_TIME),
                repeats=args.repeats)
    m = replace(m, machine=describe_machine())
    text = to_json(m)
    if args.stdout:
        print(text, end="")
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
