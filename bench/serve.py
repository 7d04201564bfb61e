"""Serve the mock or the plain baseline on one of the candidate WSGI servers.

    python -m bench.serve --server granian --app mock --port 4020 [--threads 1]

Every server runs one process (the mock's state is in memory), bound to 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bench.apps import FACTORIES
from mockserver.serving import DEFAULT_THREADS as SERVE_THREADS

HOST = "127.0.0.1"
SERVERS = ("werkzeug", "waitress", "granian", "cheroot")
#: Default worker threads per server; cheroot needs a thread per kept-alive connection.
DEFAULT_THREADS = {"werkzeug": 0, "waitress": 4, "granian": SERVE_THREADS, "cheroot": 32}
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
    app = FACTORIES[args.app]()
    if args.server == "granian":
        # The same in-process granian that `northca-mock serve` runs: one process, N threads.
        from mockserver.serving import run

        run(app, HOST, args.port, server="granian", threads=threads)
    elif args.server == "werkzeug":
        from werkzeug.serving import make_server

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        make_server(HOST, args.port, app, threaded=True).serve_forever()
    elif args.server == "waitress":
        import waitress

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
