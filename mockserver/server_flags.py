"""The HTTP-server flags ``serve`` and ``proxy`` share: ``--read-timeout``,
``--max-connections`` and ``--allowed-host``, with one check of their values."""

from __future__ import annotations

import argparse

from mockserver.serving import DEFAULT_MAX_CONNECTIONS, DEFAULT_READ_TIMEOUT


def add_server_flags(parser: argparse.ArgumentParser) -> None:
    """Add the shared flags to ``parser``."""
    parser.add_argument(
        "--read-timeout",
        type=float,
        default=DEFAULT_READ_TIMEOUT,
        metavar="SECONDS",
        help=f"time a client has to send a request's headers, then its body; idle keep-alive"
        f" connections close after it too (default {DEFAULT_READ_TIMEOUT:g})",
    )
    parser.add_argument(
        "--max-connections",
        type=int,
        default=DEFAULT_MAX_CONNECTIONS,
        metavar="N",
        help=f"connections held at once (default {DEFAULT_MAX_CONNECTIONS})",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="NAME",
        help="also accept this Host header (repeatable; '*' for any); default: loopback names"
        " and the bound address",
    )


def check_server_flags(args: argparse.Namespace) -> str | None:
    """The one line that explains why the shared flags' values cannot be used, or None."""
    if not 0 < args.read_timeout <= 3600:
        return f"--read-timeout {args.read_timeout:g}: expected seconds in (0, 3600]"
    if args.max_connections < 1:
        return f"--max-connections {args.max_connections}: expected at least 1"
    for host in args.allowed_host:
        if not host.strip() or any(c in host for c in "/@ "):
            return f"--allowed-host {host!r}: expected a host name or address, or '*'"
    return None
