"""``python -m lifecycle.drift``: the Processing container's entry point."""

import sys

from lifecycle.drift.job import main

sys.exit(main())
