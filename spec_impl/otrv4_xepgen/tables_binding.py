"""Data the XEP's binding sections render (the lead wires ``TEMPLATE_DATA`` into the
template context).

* ``binding_conditions``: the stanza error conditions, from
  :data:`otrv4_xmpp.errors.CONDITIONS`;
* ``binding_delivery``: the delivery class of each OTRv4 message type, from
  :data:`otrv4_xmpp.carriage.DELIVERY_OF`;
* ``binding_multidevice``: the committed measurement ``xep/data/multidevice.json``
  (written by ``make measure``, :mod:`otrv4_devtools.measure_multidevice`), when present.
"""

from __future__ import annotations

import json
from typing import Any

from otrv4_xmpp.carriage import DELIVERY_OF
from otrv4_xmpp.errors import CONDITIONS
from otrv4_xmpp.namespaces import NS_OTR4
from otrv4_xmpp.prekey import NS_PREKEY, PREKEY_SPEC_FEATURE, SERVICE_IDENTITY
from otrv4_xmpp.sce import SCE_TLV_TYPE

from .paths import PROJECT_ROOT

__all__ = ["DATA_FILE", "TEMPLATE_DATA", "multidevice_table"]

#: The committed multi-device measurement (``make measure`` writes it).
DATA_FILE = PROJECT_ROOT / "xep" / "data" / "multidevice.json"


def multidevice_table() -> dict[str, Any] | None:
    """The measurement as the template shows it (missing values as a dash), or ``None``."""
    if not DATA_FILE.is_file():
        return None
    data: dict[str, Any] = json.loads(DATA_FILE.read_text(encoding="utf-8"))
    rows = []
    for row in data["rows"]:
        shown = {k: ("–" if v is None else (f"{v:.3f}" if isinstance(v, float) else v))
                 for k, v in row.items()}
        rows.append(shown)
    return {**data, "rows": rows}


def _build() -> dict[str, object]:
    out: dict[str, object] = {
        "binding_conditions": [
            {"condition": c.value, "defined": defined, "type": etype, "when": when}
            for c, (defined, etype, when) in CONDITIONS.items()
        ],
        "binding_delivery": [
            {"type": t.spec_name, "delivery": d.value} for t, d in DELIVERY_OF.items()
        ],
        "sce_tlv_type": f"0x{SCE_TLV_TYPE:04X}",
        # what the XMPP Registrar is asked to register: every feature and identity the
        # binding advertises, from the constants the code advertises them with
        "registrar_features": [
            {"var": NS_OTR4, "desc": "Signals support for OTRv4 over XMPP"},
            {"var": NS_PREKEY, "desc": "Signals an OTRv4 prekey service"},
            {"var": PREKEY_SPEC_FEATURE,
             "desc": "Signals an OTRv4 prekey service (the name the OTRv4 prekey-server "
                     "specification gives the feature)"},
        ],
        "registrar_identities": [
            {"category": SERVICE_IDENTITY.category, "type": SERVICE_IDENTITY.type,
             "desc": "An OTRv4 prekey service, which stores the prekeys of the OTRv4 "
                     "devices of its domain and serves each one-time prekey once"},
        ],
    }
    table = multidevice_table()
    if table is not None:
        out["binding_multidevice"] = table
    return out


#: Variables for the templates.
TEMPLATE_DATA: dict[str, object] = _build()
