"""HTTP servers for the standalone mock, one process (the state is in memory).

- ``granian`` (default, chosen by measurement: see ``bench/RESULTS.md``): granian's Rust HTTP
  server with its WSGI worker running as a thread of this process, so the app object, its state
  and the shutdown hook stay here.
- ``werkzeug``: the threaded server of the Python standard library's ``http.server`` family; no
  native code, slower.

Both stop on SIGINT or SIGTERM and return, so the caller can write the state file.
"""

from __future__ import annotations

import signal
import socket
import struct
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

SERVERS = ("granian", "werkzeug")
DEFAULT_SERVER = "granian"
#: One request thread: measured fastest (about twice 2 or 4 threads, which contend for the GIL
#: and stretch p99 to hundreds of ms). Fault-plan latency then delays every request: raise it.
DEFAULT_THREADS = 1


class ServingError(OSError):
    """The server could not start (address in use, unknown server...)."""


def run(
    app: Flask,
    host: str,
    port: int,
    *,
    server: str = DEFAULT_SERVER,
    threads: int = DEFAULT_THREADS,
    on_ready: Callable[[str, int], None] = lambda host, port: None,
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM; ``on_ready(host, port)`` once it accepts."""
    mock = app.extensions.get("northca")
    if mock is not None:
        mock.request_threads = threads if server == "granian" else None
    if server == "granian":
        _run_granian(app, host, port or _free_port(host), threads, on_ready)
    elif server == "werkzeug":
        _run_werkzeug(app, host, port, on_ready)
    else:
        raise ServingError(f"unknown server {server!r} (choose from {', '.join(SERVERS)})")


def _free_port(host: str) -> int:
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _check_bindable(host: str, port: int) -> None:
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServingError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _announce_when_accepting(host: str, port: int, on_ready: Callable[[str, int], None]) -> None:
    """Call ``on_ready`` from a thread once the server answers an HTTP request.

    A TCP connect is not enough: the listening socket exists before the worker serves, and a
    stop requested in between would not reach it.
    """

    def wait() -> None:
        target = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with socket.create_connection((target, port), timeout=2) as probe:
                    probe.sendall(b"GET /__mock/ready HTTP/1.0\r\n\r\n")
                    if probe.recv(5) == b"HTTP/":
                        on_ready(host, port)
                        return
            except OSError:
                pass
            time.sleep(0.01)

    threading.Thread(target=wait, name="northca-ready", daemon=True).start()


def _allows_connection_faults(app: Flask) -> bool:
    mock = app.extensions.get("northca")  # absent when serving another app (the bench baseline)
    return bool(mock is not None and mock.allow_connection_faults)


# -- granian ---------------------------------------------------------------------------------
def _run_granian(
    app: Flask, host: str, port: int, threads: int, on_ready: Callable[[str, int], None]
) -> None:
    from granian.constants import Interfaces
    from granian.server.mt import MTServer

    class InProcessGranian(MTServer):
        """granian's thread-worker server, allowed to run with the GIL: one process."""

        def _check_gil(self) -> None:
            return None

    if _allows_connection_faults(app):
        raise ServingError("connection faults need --server werkzeug (granian hides the socket)")
    _check_bindable(host, port)
    server = InProcessGranian(
        target="mockserver",  # unused: the loader below hands over the app itself
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=1,
        blocking_threads=threads,
        runtime_threads=1,
        log_enabled=False,
    )

    def loader(*args: Any, **kwargs: Any) -> Flask:
        return app

    _announce_when_accepting(host, port, on_ready)
    server.serve(target_loader=loader, wrap_loader=False)


# -- werkzeug --------------------------------------------------------------------------------
def _run_werkzeug(app: Flask, host: str, port: int, on_ready: Callable[[str, int], None]) -> None:
    import logging

    from werkzeug.serving import ThreadedWSGIServer

    class Server(ThreadedWSGIServer):
        def shutdown_request(self, request: Any) -> None:
            """Close a connection a fault plan resets without a FIN first, so the peer gets RST."""
            if request.fileno() in _RESET_ON_CLOSE:
                _RESET_ON_CLOSE.discard(request.fileno())
                self.close_request(request)
            else:
                super().shutdown_request(request)

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    wsgi_app: Any = app
    if _allows_connection_faults(app):
        wsgi_app = _BreakConnections(app)
    if port:
        _check_bindable(host, port)  # werkzeug would print its own message and exit 1
    try:
        server = Server(host, port, wsgi_app, handler=_envelope_handler(app))
    except OSError as exc:
        raise ServingError(f"cannot listen on {host}:{port}: {exc.strerror}") from None

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever() to return: it must run in another thread.
        threading.Thread(target=server.shutdown, name="northca-stop", daemon=True).start()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        bound_host, bound_port = server.server_address[0], server.server_address[1]
        on_ready(bound_host if isinstance(bound_host, str) else bound_host.decode(), bound_port)
        server.serve_forever()
    finally:
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


#: What ``http.server`` rejects before the app runs, by status; anything else is malformed.
_PROTOCOL_ERRORS = {414: "requestLineTooLong", 431: "headersTooLarge"}


def _envelope_handler(app: Flask) -> type[Any]:
    """werkzeug's request handler, answering HTTP-level errors in the spec's envelope."""
    import json

    from werkzeug.serving import WSGIRequestHandler

    from mockserver.spec import load_spec

    mock = app.extensions.get("northca")
    spec = mock.spec if mock is not None else load_spec()

    class EnvelopeRequestHandler(WSGIRequestHandler):
        def send_error(
            self, code: int, message: str | None = None, explain: str | None = None
        ) -> None:
            example = spec.shared_error(_PROTOCOL_ERRORS.get(int(code), "malformedRequest"))
            body = json.dumps({"ok": False, "error": example.message}).encode()
            self.log_error("code %d, message %s", code, message)
            self.close_connection = True
            self.send_response(example.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            if getattr(self, "command", None) != "HEAD":
                self.wfile.write(body)

        def connection_dropped(
            self, error: BaseException, environ: dict[str, Any] | None = None
        ) -> None:
            self.close_connection = True  # never wait for another request on this one

    return EnvelopeRequestHandler


#: File descriptors of connections to close with RST (SO_LINGER 0, no FIN first).
_RESET_ON_CLOSE: set[int] = set()


class _BreakConnections:
    """WSGI wrapper: carries out the connection faults a view asked for (werkzeug only)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        from mockserver.app import CONNECTION_FAULT_ENVIRON, SOCKET_ENVIRON

        result = self.app(environ, start_response)
        fault = environ.get(CONNECTION_FAULT_ENVIRON)
        if fault is None:
            return result
        close = getattr(result, "close", None)
        if close is not None:
            close()
        connection = environ[SOCKET_ENVIRON]
        if fault == "reset":
            connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            _RESET_ON_CLOSE.add(connection.fileno())
            raise ConnectionResetError("northca-mock: connection reset by the fault plan")
        connection.shutdown(socket.SHUT_RDWR)
        raise ConnectionAbortedError("northca-mock: connection closed by the fault plan")
