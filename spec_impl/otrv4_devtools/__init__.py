"""Tools for developing and demonstrating the reference implementation, kept apart from
the library: they are not part of the built wheel.

* :mod:`otrv4_devtools.prosody`: a throw-away Prosody on loopback for tests and the demo;
* :mod:`otrv4_devtools.demo`: Juliet and Romeo with several devices on a real server;
* :mod:`otrv4_devtools.multidevice` and :mod:`otrv4_devtools.measure_multidevice`: the
  three multi-device candidates and the measurement the XEP's table comes from.

Run them from a checkout (``make demo``, ``make measure``), where ``spec_impl`` is on the
path; the tests import them the same way.
"""
