"""``northca-mock``: run the mock on localhost."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from pathlib import Path

from mockserver.bugs import describe_bugs
from mockserver.errors import NorthcaMockError
from mockserver.proxy import cli as proxy_cli
from mockserver.serving import DEFAULT_SERVER, DEFAULT_THREADS, SERVERS
from mockserver.world import default_world_path

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _release_freed_memory() -> None:
    """Give the memory freed after parsing the world back to the OS (glibc only)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="northca-mock", description="Stateful mock of the Northca Partner API."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="serve the mock over HTTP",
        epilog="planted bugs (--bug NAME):\n"
        + "\n".join(f"  {name:<28} {text}" for name, text in describe_bugs()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=4010, help="port (default 4010; 0 picks one)")
    serve.add_argument(
        "--seed", type=Path, help="world file (YAML or JSON); default: packaged world"
    )
    serve.add_argument("--spec", type=Path, help="OpenAPI file; default: the packaged openapi.yaml")
    serve.add_argument("--id-seed", type=int, help="make generated ids reproducible")
    serve.add_argument(
        "--server",
        choices=SERVERS,
        default=DEFAULT_SERVER,
        help=f"HTTP server (default {DEFAULT_SERVER}; werkzeug needs no native code)",
    )
    serve.add_argument(
        "--threads", type=int, default=DEFAULT_THREADS, help="request threads (granian)"
    )
    serve.add_argument(
        "--admin-token", help="require this token (x-mock-admin-token) on /__mock/ endpoints"
    )
    serve.add_argument(
        "--state-file",
        type=Path,
        help="JSON state file: read at start, written on shutdown and on /__mock/snapshot",
    )
    serve.add_argument(
        "--allow-connection-faults",
        action="store_true",
        help="let fault plans reset or drop connections (needs --server werkzeug)",
    )
    serve.add_argument(
        "--bug",
        action="append",
        default=[],
        metavar="NAME",
        help="plant a named defect (repeatable), to prove contract checks catch it;"
        " the defects are listed below",
    )
    proxy_cli.add_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "proxy":
        return proxy_cli.run(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


def serve(args: argparse.Namespace) -> int:
    from mockserver.app import create_app, server_of
    from mockserver.serving import ServingError, run

    try:
        app = create_app(
            args.spec,
            args.seed,
            id_seed=args.id_seed,
            admin_token=args.admin_token,
            state_file=args.state_file,
            allow_connection_faults=args.allow_connection_faults,
            bugs=args.bug,
        )
    except (NorthcaMockError, OSError) as exc:
        print(f"northca-mock: {exc}", file=sys.stderr)
        return 2
    # The world (possibly large) lives as long as the process: keep it out of the cyclic
    # garbage collector's full passes, which would otherwise pause requests.
    gc.collect()
    gc.freeze()
    _release_freed_memory()
    if args.host not in LOOPBACK_HOSTS:
        print(
            f"northca-mock: warning: listening on {args.host}, not only this machine",
            file=sys.stderr,
        )
    world = args.seed or default_world_path()

    def ready(host: str, port: int) -> None:
        shown = f"[{host}]" if ":" in host else host
        print(
            f"northca-mock serving http://{shown}:{port} (also under /v1) with world {world}"
            f" ({args.server})",
            flush=True,
        )

    try:
        run(app, args.host, args.port, server=args.server, threads=args.threads, on_ready=ready)
    except ServingError as exc:
        print(f"northca-mock: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        pass
    finally:
        server_of(app).save_state()
    print("northca-mock stopped", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
