"""``python -m mockserver serve``."""

import sys

from mockserver.cli import main

sys.exit(main())
