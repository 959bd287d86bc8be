"""Hazardous materials: the cryptographic primitives OTRv4 is built from.

Nothing outside :mod:`otrv4` should call into this package directly; the
protocol modules wrap it with validation and typed errors.
"""
