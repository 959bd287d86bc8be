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
    """Juliet's laptop asks Romeo's laptop what it supports; the answer lists OTRv4."""
    asker, device = ctx.story.juliet_laptop, ctx.story.romeo_laptop
    result = build_disco_info_result(
        sender=device.jid,
        to=asker.jid,
        stanza_id=ctx.story.stanza_id("disco1"),
        identities=[Identity("client", "pc", device.label)],
        features=["http://jabber.org/protocol/disco#info", NS_OTR4, NS_DEVICES + "+notify",
                  "urn:xmpp:eme:0"],
    )
    no_var = copy.deepcopy(result)
    for feature in no_var.iter("{http://jabber.org/protocol/disco#info}feature"):
        del feature.attrib["var"]
        break
    return [
        Step("disco-info-result", f"{device.name} advertises OTRv4 support", result,
             produced_by="otrv4_xmpp.discovery.build_disco_info_result",
             accepted_by="otrv4_xmpp.discovery.parse_disco_info_result", accept=_accept,
             sender=device),
        InvalidExample("disco-feature-without-var", no_var,
                       mutation="the 'var' attribute of the first <feature/> removed",
                       rule="'var' is required"),
    ]


SCENARIOS = {"discovery": discovery}
