"""XML namespaces: the ones this binding defines and the ones it uses.

The base namespace follows the XSF convention for experimental XEPs
(``urn:xmpp:<short>:0``).  Sub-protocols get namespaces of their own so that
each has its own schema.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "DEFINED",
    "NS_CARBONS",
    "NS_CHATSTATES",
    "NS_CLIENT",
    "NS_DEVICES",
    "NS_DISCO_INFO",
    "NS_EME",
    "NS_FORWARD",
    "NS_HINTS",
    "NS_OTR4",
    "NS_PUBSUB",
    "NS_PUBSUB_EVENT",
    "NS_RECEIPTS",
    "NS_SCE",
    "NS_STANZAS",
    "NS_XDATA",
    "NS_XML",
]

#: The base namespace: the message-carriage element and the disco feature.
NS_OTR4: Final = "urn:xmpp:otr4:0"

#: Namespaces used from other specifications.
NS_CLIENT: Final = "jabber:client"
NS_STANZAS: Final = "urn:ietf:params:xml:ns:xmpp-stanzas"
NS_DISCO_INFO: Final = "http://jabber.org/protocol/disco#info"
NS_EME: Final = "urn:xmpp:eme:0"
NS_HINTS: Final = "urn:xmpp:hints"
NS_XML: Final = "http://www.w3.org/XML/1998/namespace"
NS_CARBONS: Final = "urn:xmpp:carbons:2"
NS_FORWARD: Final = "urn:xmpp:forward:0"
NS_PUBSUB: Final = "http://jabber.org/protocol/pubsub"
NS_PUBSUB_EVENT: Final = "http://jabber.org/protocol/pubsub#event"
NS_XDATA: Final = "jabber:x:data"
NS_SCE: Final = "urn:xmpp:sce:1"
NS_CHATSTATES: Final = "http://jabber.org/protocol/chatstates"
NS_RECEIPTS: Final = "urn:xmpp:receipts"

#: The device list: PEP node name and the namespace of its payload.
NS_DEVICES: Final = "urn:xmpp:otr4:devices:0"

#: Namespaces this specification defines, with their purpose and schema file
#: (relative to the project's ``schemas/`` folder).  Renders the XEP's
#: registrar table; every entry must have a schema.
DEFINED: Final[dict[str, tuple[str, str]]] = {
    NS_OTR4: ("OTRv4 messages in stanzas; the service-discovery feature", "otr4.xsd"),
    NS_DEVICES: ("The PEP node listing a user's OTRv4 devices, and its payload",
                 "otr4-devices.xsd"),
    "urn:xmpp:otr4:prekey:0": ("The prekey service: prekey-server messages in IQs, their "
                               "error conditions, and the service's disco feature",
                               "otr4-prekey.xsd"),
}
