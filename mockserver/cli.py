"""``northca-mock``: run the mock on localhost."""

from __future__ import annotations

import argparse
import gc
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path

from mockserver import limits, world_cli
from mockserver.bugs import describe_bugs
from mockserver.cli_env import VariableError, serve_defaults
from mockserver.errors import NorthcaMockError
from mockserver.proxy import cli as proxy_cli
from mockserver.server_flags import add_server_flags, check_server_flags
from mockserver.serving import (
    DEFAULT_SERVER,
    DEFAULT_THREADS,
    SERVERS,
    base_url,
    warn_if_exposed,
)
from mockserver.upload_budget import DEFAULT_MAX_INFLIGHT_BODY_BYTES
from mockserver.world import default_world_path

#: Events a minute of ``serve --simulate`` without a number.
DEFAULT_SIMULATION_RATE = 6.0


def _release_freed_memory() -> None:
    """Give the memory freed after parsing the world back to the OS (glibc only)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def build_parser(environ: Mapping[str, str] | None = None) -> argparse.ArgumentParser:
    """The ``northca-mock`` parser; ``environ``'s ``NORTHCA_*`` variables set ``serve``'s
    defaults (:mod:`mockserver.cli_env`)."""
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
    add_server_flags(serve)
    serve.add_argument(
        "--max-inflight-body-bytes",
        type=int,
        default=DEFAULT_MAX_INFLIGHT_BODY_BYTES,
        metavar="BYTES",
        help="bytes of request bodies held at once across connections, each counted at its"
        " declared length (chunked: the body limit); beyond, 503 without reading"
        f" (default {DEFAULT_MAX_INFLIGHT_BODY_BYTES})",
    )
    serve.add_argument(
        "--cors",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="answer CORS preflights and add CORS headers on the partner API for this origin"
        " (repeatable; default: off)",
    )
    serve.add_argument(
        "--state-file",
        type=Path,
        help="JSON state file: read at start, written on shutdown and on /__mock/snapshot",
    )
    _add_limit_flags(serve)
    serve.add_argument(
        "--allow-connection-faults",
        action="store_true",
        help="let fault plans reset or drop connections (needs --server werkzeug)",
    )
    serve.add_argument(
        "--simulate",
        type=float,
        nargs="?",
        const=DEFAULT_SIMULATION_RATE,
        metavar="EVENTS_PER_MINUTE",
        help="make the default namespace's world move: calls, units, shifts, panics, tickets and"
        f" reports on the mock's clock (default {DEFAULT_SIMULATION_RATE:g} a minute; see"
        " POST /__mock/simulation)",
    )
    serve.add_argument(
        "--simulate-seed",
        type=int,
        default=0,
        metavar="N",
        help="the simulation's seed (default 0)",
    )
    serve.add_argument(
        "--bug",
        action="append",
        default=[],
        metavar="NAME",
        help="plant a named defect (repeatable), to prove contract checks catch it;"
        " the defects are listed below",
    )
    serve.set_defaults(**serve_defaults(environ or {}))
    proxy_cli.add_parser(commands)
    world_cli.add_parser(commands)
    return parser


#: The memory caps (README "Limits"): flag, ``create_app`` parameter, default, what it bounds.
LIMIT_FLAGS = (
    ("--journal-max-bytes", limits.DEFAULT_JOURNAL_MAX_BYTES, "bytes of each namespace's journal"),
    (
        "--journal-max-body-bytes",
        limits.DEFAULT_JOURNAL_MAX_BODY_BYTES,
        "journaled bodies are cut beyond this many bytes",
    ),
    ("--max-namespaces", limits.DEFAULT_MAX_NAMESPACES, "namespaces, the default one included"),
    ("--max-mdts", limits.DEFAULT_MAX_MDTS, "MDTs of a world"),
    (
        "--max-world-links",
        limits.DEFAULT_MAX_WORLD_LINKS,
        "link records a world makes (a link without partner: one per partner)",
    ),
    ("--max-errors", limits.DEFAULT_MAX_ERRORS, "unexpected exceptions kept for diagnosis"),
    (
        "--max-record-bytes",
        limits.DEFAULT_MAX_RECORD_BYTES,
        "bytes of records, events and link requests each namespace writes (JSON), until reset",
    ),
)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, got {value}")
    return value


def _add_limit_flags(parser: argparse.ArgumentParser) -> None:
    for flag, default, what in LIMIT_FLAGS:
        parser.add_argument(
            flag, type=_positive, default=default, metavar="N", help=f"{what} (default {default})"
        )


def main(argv: Sequence[str] | None = None) -> int:
    try:
        parser = build_parser(os.environ)
    except VariableError as problem:
        print(f"northca-mock: {problem}", file=sys.stderr)
        return 2
    args = parser.parse_args(argv)
    if args.command == "serve":
        return serve(args)
    if args.command == "proxy":
        return proxy_cli.run(args)
    if args.command == "world":
        return world_cli.run(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


def _sendable(token: str) -> bool:
    """Whether ``token`` arrives intact in a header on every server (never echoed)."""
    return token == token.strip() and all(" " <= char <= "~" for char in token)


def _check_serve_args(args: argparse.Namespace) -> str | None:
    """The one line that explains why these ``serve`` options cannot be used, or None."""
    from mockserver.guard import GuardError, normalize_origin

    if args.admin_token is not None and not args.admin_token.strip():
        return "--admin-token is empty: give a token, or leave the option out to run without one"
    if args.admin_token is not None and not _sendable(args.admin_token):
        return (
            "--admin-token must be printable ASCII, without spaces at either end:"
            " a header cannot carry it"
        )
    most = limits.MAX_SIMULATED_EVENTS_PER_MINUTE
    if args.simulate is not None and not 0 < args.simulate <= most:
        return f"--simulate {args.simulate:g}: expected events a minute in (0, {most}]"
    problem = check_server_flags(args)
    if problem is not None:
        return problem
    if args.max_inflight_body_bytes < 1:
        return f"--max-inflight-body-bytes {args.max_inflight_body_bytes}: expected at least 1"
    try:
        for origin in args.cors:
            normalize_origin(origin)
    except GuardError as exc:
        return str(exc)
    return None


def serve(args: argparse.Namespace) -> int:
    from mockserver.app import create_app, server_of
    from mockserver.persistence import StateFileLock
    from mockserver.serving import CrossSite, Limits, ServingError, run

    problem = _check_serve_args(args)
    if problem is not None:
        print(f"northca-mock: {problem}", file=sys.stderr)
        return 2
    # One server per state file: taken before the file is read, held until exit.
    lock = StateFileLock(args.state_file) if args.state_file is not None else None
    try:
        if lock is not None:
            lock.acquire()
        app = create_app(
            args.spec,
            args.seed,
            id_seed=args.id_seed,
            admin_token=args.admin_token,
            state_file=args.state_file,
            allow_connection_faults=args.allow_connection_faults,
            bugs=args.bug,
            journal_max_bytes=args.journal_max_bytes,
            journal_max_body_bytes=args.journal_max_body_bytes,
            max_namespaces=args.max_namespaces,
            max_mdts=args.max_mdts,
            max_world_links=args.max_world_links,
            max_errors=args.max_errors,
            max_record_bytes=args.max_record_bytes,
        )
        if args.simulate:
            from mockserver.simulation import start_simulation

            server = server_of(app)
            simulate = {"events_per_minute": args.simulate, "seed": args.simulate_seed}
            start_simulation(server, server.state, simulate)
    except (NorthcaMockError, OSError) as exc:
        print(f"northca-mock: {exc}", file=sys.stderr)
        if lock is not None:
            lock.release()
        return 2
    # The world (possibly large) lives as long as the process: keep it out of the cyclic
    # garbage collector's full passes, which would otherwise pause requests.
    gc.collect()
    gc.freeze()
    _release_freed_memory()
    warn_if_exposed(args.host)
    world = args.seed or default_world_path()

    def ready(host: str, port: int) -> None:
        print(
            f"northca-mock serving {base_url(host, port)} (also under /v1) with world {world}"
            f" ({args.server})",
            flush=True,
        )

    saving = threading.Lock()
    saved = threading.Event()
    served = True

    def save_once() -> None:
        """Stop applying requests, then write the state file whole, once (if the server ever
        served), from the main thread or from a forced stop: no request is acknowledged
        after the dump, and connections still open wait until the process exits."""
        with saving:
            if served and not saved.is_set():
                server_of(app).freeze()
                server_of(app).save_state()
                saved.set()

    def forced_stop() -> None:
        save_once()
        print("northca-mock stopped", flush=True)

    try:
        run(
            app,
            args.host,
            args.port,
            server=args.server,
            threads=args.threads,
            on_ready=ready,
            limits=Limits(args.read_timeout, args.max_connections, args.max_inflight_body_bytes),
            cross_site=CrossSite(tuple(args.allowed_host), tuple(args.cors)),
            on_forced_stop=forced_stop,
        )
    except ServingError as exc:  # never served: the state file is left as it was
        served = False
        print(f"northca-mock: {exc}", file=sys.stderr)
    except KeyboardInterrupt:  # a second Ctrl-C while stopping
        pass
    finally:
        try:
            save_once()
        finally:
            if lock is not None:
                lock.release()
    if not served:
        return 2
    print("northca-mock stopped", flush=True)
    if args.server == "granian":
        # granian's runtime threads outlive its server and can panic while Python finalizes
        # (a message on stderr after a clean stop): everything is written, so leave now.
        sys.stderr.flush()
        os._exit(0)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
