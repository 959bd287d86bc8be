"""A conformance harness: any OTRv4-over-XMPP implementation checked against the reference.

An implementation is driven through an *adapter*, a child process that speaks
the JSON-lines protocol of :mod:`otrv4_conformance.protocol` on its standard
input and output.  The runner (:mod:`otrv4_conformance.runner`) replays the
vectors of the levels the adapter claims, runs live sessions between the
adapter and the reference device engine, and writes a report
(:mod:`otrv4_conformance.report`).  :mod:`otrv4_conformance.reference` is the
adapter over this project's own code.
"""

__version__ = "0.1.0"
