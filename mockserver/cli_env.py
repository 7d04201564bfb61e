"""Environment variables for the common ``serve`` options (how the container image is set up).

A flag on the command line wins over its variable; ``NORTHCA_ALLOWED_HOSTS`` (comma-separated)
adds to the ``--allowed-host`` flags. An empty ``NORTHCA_ADMIN_TOKEN`` is refused (exit 2), like
an empty ``--admin-token``.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: ``serve`` option (argparse ``dest``) -> its environment variable.
SERVE_VARIABLES = {
    "port": "NORTHCA_PORT",
    "seed": "NORTHCA_SEED",
    "state_file": "NORTHCA_STATE_FILE",
    "admin_token": "NORTHCA_ADMIN_TOKEN",
    "allowed_host": "NORTHCA_ALLOWED_HOSTS",
}


class VariableError(ValueError):
    """A variable that cannot be used; the message names it."""


def serve_defaults(environ: Mapping[str, str]) -> dict[str, Any]:
    """The ``serve`` defaults that the variables set in ``environ`` give."""
    defaults: dict[str, Any] = {}
    port = environ.get(SERVE_VARIABLES["port"])
    if port is not None:
        if not port.strip().isdigit() or not 0 <= int(port) <= 65535:
            raise VariableError(f"NORTHCA_PORT={port!r}: expected a port number (0-65535)")
        defaults["port"] = int(port)
    for dest in ("seed", "state_file"):
        value = environ.get(SERVE_VARIABLES[dest])
        if value:
            defaults[dest] = Path(value)
    token = environ.get(SERVE_VARIABLES["admin_token"])
    if token is not None:
        if not token.strip():
            raise VariableError("NORTHCA_ADMIN_TOKEN is empty: give a token, or unset it")
        defaults["admin_token"] = token
    hosts = environ.get(SERVE_VARIABLES["allowed_host"])
    if hosts:
        defaults["allowed_host"] = [host.strip() for host in hosts.split(",") if host.strip()]
    return defaults
