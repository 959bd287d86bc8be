"""OTRv4, the fourth version of the Off-the-Record messaging protocol.

This package implements the protocol as specified in ``otrv4.md`` (last
revision), transport-free: it knows nothing of XMPP.  Randomness and time are
injected (:mod:`otrv4.primitives.rng`, :mod:`otrv4.clock`).
"""
