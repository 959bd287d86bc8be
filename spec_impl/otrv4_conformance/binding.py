"""The binding operations (``stanza.*``, level 4) over the reference XMPP binding.

``stanza.read`` takes one example stanza (as text) and returns what a
receiving client must read from it, or rejects it:

* a message with ``<otr/>`` (or a carbon of one: then what the forwarded
  message carries): ``{"kind": "otr", "sender": <tag>, "payloads":
  {"<receiver tag, 8 hex digits>": "<payload hex>"}}``;
* a device list (PEP publish or event): ``{"kind": "devices", "devices":
  [{"tag": <int>, "mode": "…", "expires": <seconds>, "label": "…" | null}]}``;
* anything else valid: ``{"kind": "other"}``.

A stanza that breaks a rule of the schemas is rejected (any error name; the
schemas' message wording is not part of the contract).
``stanza.build_otr`` and ``stanza.build_devices`` build stanzas that the
runner validates against the schemas and reads back with the reference
parser.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from lxml import etree

from otrv4_xmpp.carriage import OtrElement, build_message, parse_message, tag_text
from otrv4_xmpp.devices import (
    DeviceEntry,
    DeviceList,
    DeviceMode,
    build_publish,
    parse_event,
    parse_publish,
)
from otrv4_xmpp.namespaces import NS_DEVICES, NS_OTR4
from otrv4_xmpp.validation import SchemaLocations, StanzaValidator, split_stanzas
from otrv4_xmpp.xmltext import to_text

__all__ = ["SchemaViolation", "build_devices", "build_otr", "devices_of", "read_stanza",
           "schema_locations"]


class SchemaViolation(Exception):
    """The stanza breaks a rule of the schemas (the message is the first violation)."""


def schema_locations(root: Path | None = None) -> SchemaLocations:
    """The schemas stanzas are checked against: this binding's own, and the XSF stanza
    schemas (and schemas cut out of XEPs) from ``$XSF_SCHEMAS_DIR``, ``$XSF_DIR`` or
    ``../shared/ref/xsf`` beside the checkout ``root``, when found there.  Without the
    XSF schemas, only the elements of this binding's namespaces are checked."""
    root = root or Path(__file__).resolve().parents[2]
    bases = [Path(os.environ[v]) for v in ("XSF_SCHEMAS_DIR", "XSF_DIR") if os.environ.get(v)]
    bases.append(root.parent / "shared" / "ref" / "xsf")
    for base in bases:
        for cand in (base, base / "schemas"):
            if (cand / "jabber-client.xsd").is_file():
                xep = next((b / "xep-schemas" for b in (base, cand.parent)
                            if (b / "xep-schemas").is_dir()), None)
                return SchemaLocations(own=root / "schemas", xsf=cand, xep=xep)
    return SchemaLocations(own=root / "schemas")


def devices_of(dl: DeviceList) -> list[dict[str, Any]]:
    """The entries of ``dl`` as the protocol writes them."""
    return [{"tag": e.tag, "mode": e.mode.value, "expires": e.expires, "label": e.label}
            for e in dl.entries]


def read_stanza(validator: StanzaValidator, text: str) -> dict[str, Any]:
    """What a client reads from the stanza ``text``.  Raises :class:`SchemaViolation`
    and the binding's decoding errors."""
    report = validator.validate_text(text, "stanza")
    if not report.ok:
        raise SchemaViolation(report.violations[0].rule)
    _, stanzas = split_stanzas(text)
    if len(stanzas) != 1:
        raise SchemaViolation(f"{len(stanzas)} stanzas; one expected")
    stanza = stanzas[0]
    otr = stanza.find(f".//{{{NS_OTR4}}}otr")
    if otr is not None:  # in the stanza, or in the message a carbon forwards
        holder = otr.getparent()
        got = parse_message(holder if holder is not None else stanza)
        return {"kind": "otr", "sender": got.otr.sender,
                "payloads": {tag_text(p.receiver): p.data.hex() for p in got.otr.payloads}}
    if stanza.find(f".//{{{NS_DEVICES}}}devices") is not None:
        local = etree.QName(stanza).localname
        dl = parse_publish(stanza) if local == "iq" else parse_event(stanza)[1]
        return {"kind": "devices", "devices": devices_of(dl)}
    return {"kind": "other"}


def build_otr(a: dict[str, Any]) -> dict[str, Any]:
    """``stanza.build_otr``: a message stanza carrying ``a["payloads"]`` from instance
    ``a["sender"]``.  Raises the carriage's validation errors."""
    otr = OtrElement.of(a["sender"], [(p["receiver"], bytes.fromhex(p["data"]))
                                      for p in a["payloads"]])
    return {"xml": to_text(build_message(otr, sender=a["from"], to=a["to"],
                                         stanza_id=a["id"]))}


def build_devices(a: dict[str, Any]) -> dict[str, Any]:
    """``stanza.build_devices``: the PEP publish IQ of a device list."""
    dl = DeviceList.of(DeviceEntry(d["tag"], DeviceMode(d["mode"]), d["expires"],
                                   d.get("label")) for d in a["devices"])
    return {"xml": to_text(build_publish(dl, sender=a["from"], stanza_id=a["id"]))}
