"""``python -m contracts check ...``."""

import sys

from contracts.entry import main

sys.exit(main())
