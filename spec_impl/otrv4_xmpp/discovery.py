"""Service discovery (XEP-0030): advertising and detecting OTRv4 support.

A client that implements this binding lists the feature ``urn:xmpp:otr4:0``
in its ``disco#info`` result (and therefore in its XEP-0115 capabilities
hash).  A sender checks the feature before it starts an OTRv4 conversation
with a device.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lxml import etree

from .namespaces import NS_CLIENT, NS_DISCO_INFO, NS_OTR4

__all__ = ["DiscoInfo", "DiscoParseError", "Identity", "build_disco_info_result",
           "parse_disco_info_result", "supports_otr4"]


class DiscoParseError(ValueError):
    """The stanza is not a disco#info result."""


@dataclass(frozen=True, order=True)
class Identity:
    """A disco identity (XEP-0030 §3.1): category, type and optional name."""

    category: str
    type: str
    name: str | None = None


@dataclass(frozen=True)
class DiscoInfo:
    """What an entity says of itself: its identities and its features, sorted."""

    identities: tuple[Identity, ...]
    features: tuple[str, ...]


def _c(local: str) -> str:
    return f"{{{NS_CLIENT}}}{local}"


def _d(local: str) -> str:
    return f"{{{NS_DISCO_INFO}}}{local}"


def build_disco_info_result(
    *, sender: str, to: str, stanza_id: str,
    identities: Iterable[Identity], features: Iterable[str],
) -> etree._Element:
    """Build the ``<iq type='result'/>`` answering a disco#info query (XEP-0030 §3.1).

    Identities and features are sorted (as XEP-0115 hashing does) and
    de-duplicated, so the result is the same whatever order the caller used.
    """
    iq = etree.Element(_c("iq"), {"from": sender, "to": to, "id": stanza_id, "type": "result"},
                       nsmap={None: NS_CLIENT})  # type: ignore[dict-item]  # stubs: str keys
    query = etree.SubElement(iq, _d("query"),
                             nsmap={None: NS_DISCO_INFO})  # type: ignore[dict-item]
    for ident in sorted(set(identities)):
        attrs = {"category": ident.category, "type": ident.type}
        if ident.name is not None:
            attrs["name"] = ident.name
        etree.SubElement(query, _d("identity"), attrs)
    for var in sorted(set(features)):
        etree.SubElement(query, _d("feature"), {"var": var})
    return iq


def parse_disco_info_result(iq: etree._Element) -> DiscoInfo:
    """Read identities and features from a disco#info result.

    Raises :class:`DiscoParseError` when ``iq`` is not an ``<iq type='result'/>``
    with a disco#info ``<query/>``.
    """
    if iq.tag != _c("iq") or iq.get("type") != "result":
        raise DiscoParseError("not an iq result")
    query = iq.find(_d("query"))
    if query is None:
        raise DiscoParseError("no disco#info query element")
    identities = tuple(sorted(
        Identity(i.get("category", ""), i.get("type", ""), i.get("name"))
        for i in query.iterfind(_d("identity"))
    ))
    features = tuple(sorted({f.get("var", "") for f in query.iterfind(_d("feature"))}))
    return DiscoInfo(identities, features)


def supports_otr4(info: DiscoInfo) -> bool:
    """True when the entity advertises this binding's feature."""
    return NS_OTR4 in info.features
