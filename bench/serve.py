"""Serve the mock or the plain baseline on one of the candidate WSGI servers.

    python -m bench.serve --server granian --app mock --port 4020 [--threads 1]

Every server runs one process (the mock's state is in memory), bound to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.apps import FACTORIES

HOST = "127.0.0.1"
SERVERS = ("werkzeug", "waitress", "granian", "cheroot")
#: Default worker threads per server; cheroot needs a thread per kept-alive connection.
DEFAULT_THREADS = {"werkzeug": 0, "waitress": 4, "granian": 1, "cheroot": 32}
ROOT = Path(__file__).resolve().parent.parent


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--server", choices=SERVERS, required=True)
    parser.add_argument("--app", choices=sorted(FACTORIES), required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, help="worker threads (server default if absent)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    threads = args.threads or DEFAULT_THREADS[args.server]
    if args.server == "granian":
        # granian imports the factory itself (its workers are spawned); one worker, N threads.
        granian = Path(sys.executable).with_name("granian")
        argv_granian = [
            str(granian), "--interface", "wsgi", "--host", HOST, "--port", str(args.port),
            "--workers", "1", "--blocking-threads", str(threads), "--runtime-threads", "1",
            "--no-access-log", "--log-level", "warning", "--working-dir", str(ROOT),
            "--factory", f"bench.apps:{args.app}_app",
        ]  # fmt: skip
        os.execv(argv_granian[0], argv_granian)
    app = FACTORIES[args.app]()
    if args.server == "werkzeug":
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        make_server(HOST, args.port, app, threaded=True).serve_forever()
    elif args.server == "waitress":
        import waitress  # type: ignore[import-untyped]

        waitress.serve(app, host=HOST, port=args.port, threads=threads, _quiet=True)
    elif args.server == "cheroot":
        from cheroot.wsgi import Server

        server = Server((HOST, args.port), app, numthreads=threads)
        try:
            server.start()
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
