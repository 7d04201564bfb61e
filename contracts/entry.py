"""The ``northca-contracts`` command: the CLI, or one line saying how to install it.

The contracts toolkit needs the ``contracts`` extra (schemathesis, hypothesis); the bare
``northca-mock`` install does not bring them. This module imports neither, so that without them
the command still explains itself (exit 2) instead of failing with a traceback.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from importlib.util import find_spec

#: The top-level modules of the ``contracts`` extra.
EXTRA_MODULES = ("schemathesis", "hypothesis")
INSTALL_HINT = "install northca-mock[contracts] (from a checkout: pip install '.[contracts]')"


def missing_modules() -> list[str]:
    """The modules of the ``contracts`` extra that cannot be imported."""
    missing = []
    for name in EXTRA_MODULES:
        try:
            found = find_spec(name) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            missing.append(name)
    return missing


def main(argv: Sequence[str] | None = None) -> int:
    missing = missing_modules()
    if missing:
        print(
            f"northca-contracts: the contracts toolkit is not installed (no {', '.join(missing)}):"
            f" {INSTALL_HINT}",
            file=sys.stderr,
        )
        return 2
    from contracts.cli import main as cli_main

    return cli_main(argv)
