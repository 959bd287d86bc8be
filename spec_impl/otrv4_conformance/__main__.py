"""``python -m otrv4_conformance``: the runner."""

import sys

from .runner import main

sys.exit(main())
