"""The OTRv4 prekey-server protocol, transport-free, with its storage."""
