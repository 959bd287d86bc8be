"""The binding checks of level 4: reading every example stanza, building stanzas.

``stanza.read`` is sent every example of ``examples/stanzas``: a valid one must
be read exactly as the reference reads it (:func:`otrv4_conformance.binding.read_stanza`),
an invalid one rejected (its rule is the one the example's comment says it
breaks).  ``stanza.build_otr`` and ``stanza.build_devices`` must build stanzas
that pass the schemas and that the reference parser reads back as the
arguments said.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from otrv4.errors import OTRError
from otrv4_xmpp.carriage import parse_message
from otrv4_xmpp.devices import parse_publish
from otrv4_xmpp.validation import StanzaValidator, split_stanzas

from . import binding
from .live import NOW
from .protocol import AdapterError, Call
from .report import CheckResult, first_difference

__all__ = ["stanza_checks"]

def _read_checks(call: Call, examples: Path, validator: StanzaValidator
                   ) -> Iterator[CheckResult]:
    for path in sorted((examples / "valid").glob("*/*.xml")):
        name = f"read valid/{path.parent.name}/{path.name}"
        text = path.read_text(encoding="utf-8")
        expected = binding.read_stanza(validator, text)
        yield _judge_read(call, name, text, expected)
    for path in sorted((examples / "invalid").glob("*/*.xml")):
        name = f"read invalid/{path.parent.name}/{path.name}"
        text = path.read_text(encoding="utf-8")
        rule = text.partition("must break: ")[2].partition(")")[0] or "schema"
        try:
            binding.read_stanza(validator, text)
        except (binding.SchemaViolation, OTRError):
            yield _judge_read(call, name, text, None, rule)
        else:  # the rule is in a schema this machine does not have (the XSF's)
            yield CheckResult(4, name, "skipped", rule,
                              "not checked here: the XSF stanza schemas were not found")


def _judge_read(call: Call, name: str, text: str, expected: dict[str, Any] | None,
                rule: str = "stanza.read outputs") -> CheckResult:
    try:
        reply = call("stanza.read", {"xml": text})
    except AdapterError as e:
        return CheckResult(4, name, "failed", rule, f"{type(e).__name__}: {e}")
    if reply.unsupported:
        return CheckResult(4, name, "unsupported", rule)
    if expected is None:
        if reply.error:
            return CheckResult(4, name, "passed", rule)
        return CheckResult(4, name, "failed", rule, "accepted a stanza that breaks the rule")
    if reply.error:
        return CheckResult(4, name, "failed", rule, f"rejected a valid stanza with "
                                                    f"{reply.error}: {reply.message}")
    if reply.result != expected:
        return CheckResult(4, name, "failed", rule, first_difference(expected, reply.result))
    return CheckResult(4, name, "passed", rule)


def _header(kind: int, sender: int, receiver: int, body: bytes) -> bytes:
    return b"\x00\x04" + bytes([kind]) + sender.to_bytes(4, "big") + \
        receiver.to_bytes(4, "big") + body


def _build_checks(call: Call, validator: StanzaValidator) -> Iterator[CheckResult]:
    sender, receivers = 0x1234ABCD, (0x00000101, 0x7FEDCBA9)
    payloads = [{"receiver": r, "data": _header(0x03, sender, r, bytes(range(40))).hex()}
                for r in receivers]
    args = {"from": "alice@adapter.example/conformance", "to": "bob@reference.example",
            "id": "conformance-1", "sender": sender, "payloads": payloads}
    yield _judge_build(call, "build <otr/> carriage", "stanza.build_otr", args, validator,
                       lambda el: {"sender": (m := parse_message(el)).otr.sender,
                                   "payloads": [{"receiver": p.receiver, "data": p.data.hex()}
                                                for p in m.otr.payloads]},
                       {"sender": sender, "payloads": payloads})
    devices = [{"tag": 0x00000101, "mode": "standalone", "expires": NOW + 86400,
                "label": "Conformance"},
               {"tag": 0x7FEDCBA9, "mode": "interactive-only", "expires": NOW, "label": None}]
    yield _judge_build(call, "build a device list", "stanza.build_devices",
                       {"from": "alice@adapter.example/conformance", "id": "conformance-2",
                        "devices": devices}, validator,
                       lambda el: {"devices": binding.devices_of(parse_publish(el))},
                       {"devices": devices})


def _judge_build(call: Call, name: str, op: str, args: dict[str, Any],
                 validator: StanzaValidator, read: Callable[[Any], dict[str, Any]],
                 expected: dict[str, Any]) -> CheckResult:
    try:
        reply = call(op, args)
    except AdapterError as e:
        return CheckResult(4, name, "failed", op, f"{type(e).__name__}: {e}")
    if reply.unsupported:
        return CheckResult(4, name, "unsupported", op)
    if reply.error or reply.result is None or not isinstance(reply.result.get("xml"), str):
        return CheckResult(4, name, "failed", op, f"no stanza: {reply.error or reply.result}")
    text = reply.result["xml"]
    report = validator.validate_text(text, op)
    if not report.ok:
        return CheckResult(4, name, "failed", "schema", str(report.violations[0]))
    try:
        got = read(split_stanzas(text)[1][0])
    except (OTRError, IndexError, ValueError) as e:
        return CheckResult(4, name, "failed", type(e).__name__, f"the reference cannot read "
                                                                f"it: {e}")
    if got != expected:
        return CheckResult(4, name, "failed", op, first_difference(expected, got))
    return CheckResult(4, name, "passed", op)


def stanza_checks(call: Call, examples: Path, validator: StanzaValidator
                  ) -> Iterator[CheckResult]:
    """Every binding check of level 4 against the adapter behind ``call``; ``examples`` is
    the ``examples/stanzas`` folder."""
    yield from _read_checks(call, examples, validator)
    yield from _build_checks(call, validator)
