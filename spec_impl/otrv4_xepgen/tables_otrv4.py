"""Tables of the OTRv4 engine's constants, for the XEP's wire-format reference."""

from __future__ import annotations

from typing import Any

from otrv4.encoding import MessageType
from otrv4.errors import all_error_classes
from otrv4.messages import DAKE_MESSAGE_TYPES, wire_table
from otrv4.primitives.kdf import PrekeyUsageID, UsageID
from otrv4.primitives.keytypes import KeyType
from otrv4.session import TRANSITIONS
from otrv4.tlv import TLV_DESCRIPTIONS, TLVType

__all__ = ["TEMPLATE_DATA"]


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n\n")[0].replace("\n", " ")


def _message_types() -> list[dict[str, str]]:
    return [{"value": f"0x{int(t):02X}", "name": t.spec_name, "prefix": t.base64_prefix}
            for t in sorted(MessageType)]


def _dake_layouts() -> list[dict[str, Any]]:
    return [{"name": mtype.spec_name, "anchor": f"wire-{mtype.name.lower().replace('_', '-')}",
             "rows": wire_table(cls)} for mtype, cls in sorted(DAKE_MESSAGE_TYPES.items())]


def _errors() -> list[dict[str, str]]:
    import importlib
    import pkgutil

    import otrv4

    for info in pkgutil.walk_packages(otrv4.__path__, "otrv4."):
        importlib.import_module(info.name)  # error classes exist once their module is loaded
    return [{"name": cls.__name__, "base": cls.__mro__[1].__name__,
             "module": cls.__module__, "meaning": _first_line(cls.__doc__)}
            for cls in all_error_classes() if cls.__module__.startswith("otrv4.")]


TEMPLATE_DATA: dict[str, Any] = {
    "otr_message_types": _message_types(),
    "otr_dake_layouts": _dake_layouts(),
    "otr_usage_ids": [{"value": f"0x{int(u):02X}", "name": u.spec_name,
                       "meaning": u.description} for u in UsageID],
    "otr_prekey_usage_ids": [{"value": f"0x{int(u):02X}", "name": u.spec_name,
                              "meaning": u.description} for u in PrekeyUsageID],
    "otr_tlv_types": [{"value": int(t), "name": t.name.replace("_", " ").title(),
                       "meaning": TLV_DESCRIPTIONS[t]} for t in TLVType],
    "otr_key_types": [{"value": f"0x{int(k):04X}", "name": k.name} for k in KeyType],
    "otr_errors": _errors(),
    "otr_transitions": [{"state": t.state.value, "event": t.event.value, "handler": t.handler_name,
                         "next": ", ".join(s.value for s in t.next_states),
                         "description": t.description} for t in TRANSITIONS],
}
