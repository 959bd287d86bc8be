"""``python -m xepgen``: the same as the ``xepgen`` command."""

import sys

from .cli import main

sys.exit(main())
