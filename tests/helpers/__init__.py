"""Test helpers: a reader of the committed vector files and small drivers of the protocol.

They use the public API of ``otrv4`` and ``otrv4_prekey`` only, never the document
generator (``xepgen``), so the protocol's tests check the committed vectors independently
of the code that wrote them.
"""
