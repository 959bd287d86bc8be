"""``python -m otrv4_xepgen``: the same as the ``xepgen`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
