"""Scenario: a client advertises OTRv4 support through service discovery."""

from __future__ import annotations

import copy

from lxml import etree

from otrv4_xmpp.discovery import (
    Identity,
    build_disco_info_result,
    parse_disco_info_result,
    supports_otr4,
)
from otrv4_xmpp.namespaces import NS_DEVICES, NS_OTR4

from . import InvalidExample, ScenarioContext, Step

__all__ = ["SCENARIOS"]


class NotAdvertisedError(Exception):
    """The receiving side did not find the OTRv4 feature."""


def _accept(iq: etree._Element) -> object:
    info = parse_disco_info_result(iq)
    if not supports_otr4(info):
        raise NotAdvertisedError("the disco#info result does not list urn:xmpp:otr4:0")
    return info


def discovery(ctx: ScenarioContext) -> list[Step | InvalidExample]:
    """Juliet's client asks Romeo's device what it supports; the answer lists OTRv4."""
    result = build_disco_info_result(
        sender="romeo@montague.lit/orchard",
        to="juliet@capulet.lit/balcony",
        stanza_id="disco1",
        identities=[Identity("client", "pc", "Orchard laptop")],
        features=["http://jabber.org/protocol/disco#info", NS_OTR4, NS_DEVICES + "+notify",
                  "urn:xmpp:eme:0"],
    )
    no_var = copy.deepcopy(result)
    for feature in no_var.iter("{http://jabber.org/protocol/disco#info}feature"):
        del feature.attrib["var"]
        break
    return [
        Step("disco-info-result", "A device advertises OTRv4 support", result,
             produced_by="otrv4_xmpp.discovery.build_disco_info_result",
             accepted_by="otrv4_xmpp.discovery.parse_disco_info_result", accept=_accept),
        InvalidExample("disco-feature-without-var", no_var,
                       mutation="the 'var' attribute of the first <feature/> removed",
                       rule="'var' is required"),
    ]


SCENARIOS = {"discovery": discovery}
