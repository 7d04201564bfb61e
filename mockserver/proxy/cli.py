"""``northca-mock proxy --upstream URL [--host] [--port] [--report-dir] [--record] [--timeout]
[--max-body-bytes] [--read-timeout] [--max-connections] [--allowed-host]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mockserver.proxy.forward import DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT
from mockserver.server_flags import add_server_flags, check_server_flags


def add_parser(commands: Any) -> None:
    proxy = commands.add_parser(
        "proxy",
        help="forward a bot's real traffic to Northca and check every exchange against the spec",
        description="A reverse proxy: point your bot at it as at Northca. Each request is "
        "forwarded to --upstream unchanged and the answer comes back unchanged; each exchange "
        "is checked against openapi.yaml (GET /__mock/deviations). The partner key is passed "
        "on, never written anywhere.",
    )
    proxy.add_argument(
        "--upstream",
        required=True,
        metavar="URL",
        help="the API's base URL, e.g. https://api.northca.dev/v1",
    )
    proxy.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    proxy.add_argument("--port", type=int, default=4010, help="port (default 4010; 0 picks one)")
    proxy.add_argument(
        "--report-dir",
        type=Path,
        metavar="DIR",
        help="write deviations.json and deviations.md here on SIGINT/SIGTERM and on"
        " POST /__mock/snapshot",
    )
    proxy.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="write a world file (for serve --seed) of what the upstream answered, on shutdown"
        " and on POST /__mock/snapshot",
    )
    proxy.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        metavar="S",
        help=f"seconds for the whole upstream exchange (connect, any 1xx, headers, body), else"
        f" 504 (default {DEFAULT_TIMEOUT:g})",
    )
    proxy.add_argument(
        "--max-body-bytes",
        type=int,
        default=DEFAULT_MAX_BODY_BYTES,
        metavar="N",
        help="largest request body forwarded (else 413) and answer body read (else 502, and a"
        " deviation); the checks read at most this, decompressed"
        f" (default {DEFAULT_MAX_BODY_BYTES})",
    )
    add_server_flags(proxy)


def run(args: argparse.Namespace) -> int:
    from mockserver.errors import NorthcaMockError
    from mockserver.proxy.app import Proxy, create_proxy_app
    from mockserver.proxy.forward import Upstream
    from mockserver.proxy.serving import run as serve_app
    from mockserver.serving import CrossSite, Limits, ServingError, base_url, warn_if_exposed

    if not 0 < args.timeout <= 3600:
        print("northca-mock: --timeout must be above 0 and at most 3600 seconds", file=sys.stderr)
        return 2
    problem = check_server_flags(args)
    if problem is None and args.max_body_bytes < 1:
        problem = f"--max-body-bytes {args.max_body_bytes}: expected at least 1"
    if problem is not None:
        print(f"northca-mock: {problem}", file=sys.stderr)
        return 2
    try:
        upstream = Upstream(args.upstream, args.timeout, args.max_body_bytes)
        proxy = Proxy(upstream, report_dir=args.report_dir, record=args.record)
    except (ValueError, NorthcaMockError, OSError) as exc:
        print(f"northca-mock: {exc}", file=sys.stderr)
        return 2
    app = create_proxy_app(proxy)
    warn_if_exposed(args.host)

    def ready(host: str, port: int) -> None:
        print(
            f"northca-mock proxy serving {base_url(host, port)} (also under /v1),"
            f" forwarding to {upstream.url}",
            flush=True,
        )

    status = 0
    try:
        limits = Limits(args.read_timeout, args.max_connections)
        cross_site = CrossSite(allowed_hosts=tuple(args.allowed_host))
        serve_app(app, args.host, args.port, ready, limits, cross_site)
    except ServingError as exc:
        print(f"northca-mock: {exc}", file=sys.stderr)
        status = 2
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        pass
    finally:
        for path in _write(proxy):
            print(f"northca-mock proxy wrote {path}", flush=True)
    print(
        f"northca-mock proxy stopped: {proxy.log.exchanges} exchanges,"
        f" {proxy.log.distinct()} distinct deviations",
        flush=True,
    )
    return status


def _write(proxy: Any) -> list[Path]:
    try:
        written: list[Path] = proxy.write_files()
    except (OSError, ValueError) as exc:
        print(f"northca-mock: could not write the reports: {exc}", file=sys.stderr)
        return []
    return written
