"""The XMPP binding of OTRv4: namespaces, stanzas, discovery, devices, validation."""
