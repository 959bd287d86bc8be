"""The XEP generator: scenarios, example and vector emitters, renderer and checks."""

__version__ = "0.1.0"
