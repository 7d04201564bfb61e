"""``northca-mock``: run the mock on localhost."""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from mockserver.spec import SpecError
from mockserver.world import WorldError, default_world_path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="northca-mock", description="Stateful mock of the Northca Partner API."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="serve the mock over HTTP")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=4010, help="port (default 4010; 0 picks one)")
    serve.add_argument(
        "--seed", type=Path, help="world file (YAML or JSON); default: packaged world"
    )
    serve.add_argument("--spec", type=Path, help="OpenAPI file; default: the packaged openapi.yaml")
    serve.add_argument("--id-seed", type=int, help="make generated ids reproducible")
    serve.add_argument(
        "--admin-token", help="require this token (x-mock-admin-token) on /__mock/ endpoints"
    )
    serve.add_argument(
        "--state-file",
        type=Path,
        help="JSON state file: read at start, written on shutdown and on /__mock/snapshot",
    )
    serve.add_argument(
        "--bug",
        action="append",
        default=[],
        metavar="NAME",
        help="plant a named defect (repeatable), to prove contract checks catch it",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2  # pragma: no cover - argparse rejects unknown commands


def serve(args: argparse.Namespace) -> int:
    import logging

    from werkzeug.serving import make_server

    from mockserver.app import create_app, server_of

    try:
        app = create_app(
            args.spec,
            args.seed,
            id_seed=args.id_seed,
            admin_token=args.admin_token,
            state_file=args.state_file,
            bugs=args.bug,
        )
    except (WorldError, SpecError, OSError, ValueError) as exc:
        print(f"northca-mock: {exc}", file=sys.stderr)
        return 2
    try:
        server = make_server(args.host, args.port, app, threaded=True)
    except OSError as exc:
        print(
            f"northca-mock: cannot listen on {args.host}:{args.port}: {exc.strerror}",
            file=sys.stderr,
        )
        return 2
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"northca-mock: warning: listening on {args.host}, not only this machine",
            file=sys.stderr,
        )

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[0], server.server_address[1]
    if isinstance(host, bytes):
        host = host.decode()
    world = args.seed or default_world_path()
    print(
        f"northca-mock serving http://{host}:{port} (also under /v1) with world {world}", flush=True
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server_of(app).save_state()
        print("northca-mock stopped", flush=True)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
