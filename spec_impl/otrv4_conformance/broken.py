"""Deliberately broken adapters: the runner must catch each, naming the rule it breaks.

``python -m otrv4_conformance.broken --break NAME`` runs the reference adapter
with one defect:

``no-dh-subgroup-check``
    accepts a DH value outside the prime-order subgroup (skips ``x^q mod p = 1``,
    otrv4.md §Verifying that an integer is in the DH group); the runner reports
    the ``dh3072.PublicValueValidation`` vectors flagged ``DHValueNotInSubgroupError``.
``small-order-points``
    accepts Ed448 points of order 2 or 4 (§Verifying that a point is on the curve):
    the ``ed448-points.Ed448PointValidation`` vectors of ``SmallOrderPointError``.
``phi-order``
    builds ``phi'`` with the bare JIDs in descending instead of ascending order
    (decision 8): every DAKE with the reference fails, reported with the error the
    reference raised on the adapter's messages, and the conversations are blocked.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from typing import Any

from otrv4 import dake
from otrv4.encoding import encode_data
from otrv4.primitives import ed448
from otrv4.primitives.dh3072 import DHValueNotInSubgroupError

from .device import LiveDevice
from .reference import ReferenceAdapter, serve

__all__ = ["BREAKS", "BrokenAdapter", "main"]

BREAKS = ("no-dh-subgroup-check", "small-order-points", "phi-order")
"""The defects this module can inject."""


@dataclass(frozen=True)
class _DescendingPhiContext(dake.DakeContext):
    @property
    def phi_prime(self) -> bytes:
        high, low = sorted((self.our_jid.encode(), self.their_jid.encode()), reverse=True)
        return encode_data(high) + encode_data(low)


class BrokenAdapter(ReferenceAdapter):
    """The reference adapter with the defect ``defect`` (one of :data:`BREAKS`)."""

    def __init__(self, defect: str) -> None:
        super().__init__()
        if defect not in BREAKS:
            raise ValueError(f"unknown defect {defect!r}; choose from {BREAKS}")
        self.defect = defect
        self.name = f"broken: {defect}"

    def dh_validation(self, a: dict[str, Any]) -> dict[str, Any]:
        try:
            return super().dh_validation(a)
        except DHValueNotInSubgroupError:
            if self.defect == "no-dh-subgroup-check":
                return {}
            raise

    def point_validation(self, a: dict[str, Any]) -> dict[str, Any]:
        try:
            return super().point_validation(a)
        except ed448.SmallOrderPointError:
            if self.defect != "small-order-points":
                raise
            p = ed448.Point.decode_rfc8032(bytes.fromhex(a["encoded"]))
            return {"x": p.x, "y": p.y}

    def new_device(self, jid: str, now: int) -> LiveDevice:
        device = super().new_device(jid, now)
        if self.defect == "phi-order":
            engine = device.engine

            def ctx(peer: str) -> dake.DakeContext:
                from otrv4_xmpp.engine import bare_of
                return _DescendingPhiContext(engine.identity.participant(), engine.own_jid,
                                             bare_of(peer), engine.clock, engine.identity.mode)

            engine._ctx = ctx  # type: ignore[method-assign]  # the defect, on purpose
        return device


def main(argv: list[str] | None = None) -> int:
    """``python -m otrv4_conformance.broken --break NAME``."""
    parser = argparse.ArgumentParser(prog="otrv4_conformance.broken")
    parser.add_argument("--break", dest="defect", required=True, choices=BREAKS)
    args = parser.parse_args(argv)
    serve(BrokenAdapter(args.defect), sys.stdin, sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
