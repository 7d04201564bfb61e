"""HTTP servers for the standalone mock, one process (the state is in memory).

- ``granian`` (default, chosen by measurement: see ``bench/RESULTS.md``): granian's Rust HTTP
  server with its WSGI worker running as a thread of this process, so the app object, its state
  and the shutdown hook stay here.
- ``werkzeug``: the threaded server of the Python standard library's ``http.server`` family; no
  native code, slower.

Both stop on SIGINT or SIGTERM and return, so the caller can write the state file; when
clients keep the server from stopping, the process is stopped anyway (see ``run``'s
``on_forced_stop``) within :data:`STOP_GRACE_SECONDS`.

Both put the same limits on clients (:class:`Limits`): a request's headers, and then its body,
must arrive within ``read_timeout`` (an idle keep-alive connection is closed after it), at most
``max_connections`` are held at once, and the body is read whole before the app runs, so no
lock is ever held while a client is slow. Both also put :class:`~mockserver.guard.CrossSiteGuard`
in front of the app.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

SERVERS = ("granian", "werkzeug")
DEFAULT_SERVER = "granian"
#: One request thread: measured fastest (about twice 2 or 4 threads, which contend for the GIL
#: and stretch p99 to hundreds of ms). Fault-plan latency then delays every request: raise it.
DEFAULT_THREADS = 1
#: Seconds a client has to send a request's headers, then its body; also how long an idle
#: keep-alive connection is kept.
DEFAULT_READ_TIMEOUT = 10.0
#: Connections held at once (granian stops accepting beyond, werkzeug answers 503).
DEFAULT_MAX_CONNECTIONS = 4096
#: File descriptors kept beside the connections (state file, listening socket, stdio...).
SPARE_FILES = 64
#: After SIGINT or SIGTERM, how long clients may keep the server from stopping.
STOP_GRACE_SECONDS = 3.0


#: Hosts that only this machine can reach; any other gets a warning at start.
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def warn_if_exposed(host: str) -> None:
    """Warn on stderr when ``host`` is reachable from other machines."""
    if host not in LOOPBACK_HOSTS:
        print(f"northca-mock: warning: listening on {host}, not only this machine", file=sys.stderr)


def base_url(host: str, port: int) -> str:
    """The ``http://host:port`` a client uses (an IPv6 host in brackets)."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class ServingError(OSError):
    """The server could not start (address in use, unknown server...)."""


@dataclass(frozen=True)
class Limits:
    """What one client may hold: time per request, and connections."""

    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS


@dataclass(frozen=True)
class CrossSite:
    """Extra ``Host`` names (``*`` for any), and the origins CORS is on for (``--cors``)."""

    allowed_hosts: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = field(default=())


def run(
    app: Flask,
    host: str,
    port: int,
    *,
    server: str = DEFAULT_SERVER,
    threads: int = DEFAULT_THREADS,
    on_ready: Callable[[str, int], None] = lambda host, port: None,
    limits: Limits = Limits(),
    cross_site: CrossSite = CrossSite(),
    on_forced_stop: Callable[[], None] | None = None,
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM; ``on_ready(host, port)`` once it accepts.

    When clients keep the server from stopping for :data:`STOP_GRACE_SECONDS` after the
    signal, ``on_forced_stop()`` runs (it should write the state file) and the process exits.
    """
    if server not in SERVERS:
        raise ServingError(f"unknown server {server!r} (choose from {', '.join(SERVERS)})")
    mock = app.extensions.get("northca")
    if mock is not None:
        mock.request_threads = threads if server == "granian" else None
    limits = Limits(limits.read_timeout, _raise_file_limit(limits.max_connections))
    stopper = _Stopper(on_forced_stop)
    try:
        if server == "granian":
            _run_granian(
                app, host, port or _free_port(host), threads, on_ready, limits, cross_site, stopper
            )
        else:
            _run_werkzeug(app, host, port, on_ready, limits, cross_site, stopper)
    finally:
        stopper.disarm()  # the server stopped in time: the caller writes the state file


def _raise_file_limit(connections: int) -> int:
    """Raise the soft open-files limit to hold ``connections``; the connections it allows."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not on Windows
        return connections
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + SPARE_FILES
    if soft != resource.RLIM_INFINITY and soft < wanted:
        target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    if soft != resource.RLIM_INFINITY and soft < wanted:
        allowed = max(1, soft - SPARE_FILES)
        print(
            f"northca-mock: warning: the open-files limit ({soft}) allows {allowed} connections,"
            f" not {connections}",
            file=sys.stderr,
        )
        return allowed
    return connections


class _Stopper:
    """Bounds shutdown: a stop that clients hold up past the grace ends the process anyway."""

    def __init__(self, on_forced_stop: Callable[[], None] | None) -> None:
        self.on_forced_stop = on_forced_stop
        self._armed = threading.Event()
        self._stopped = threading.Event()

    def arm(self) -> None:
        """Called on the stop signal: start counting."""
        if self._armed.is_set():
            return
        self._armed.set()
        threading.Thread(target=self._watch, name="northca-stop-watch", daemon=True).start()

    def disarm(self) -> None:
        """The server stopped by itself."""
        self._stopped.set()

    def _watch(self) -> None:
        if self._stopped.wait(STOP_GRACE_SECONDS):
            return
        print(
            f"northca-mock: clients kept the server busy {STOP_GRACE_SECONDS:g} s after the stop"
            " signal; stopping anyway",
            file=sys.stderr,
            flush=True,
        )
        code = 0
        if self.on_forced_stop is not None:
            done = threading.Thread(target=self.on_forced_stop, name="northca-save", daemon=True)
            done.start()
            done.join(timeout=1.5)
            if done.is_alive():
                print(
                    "northca-mock: the state file could not be written in time (left as it was)",
                    file=sys.stderr,
                    flush=True,
                )
                code = 1
        sys.stdout.flush()
        os._exit(code)


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
def _served(app: Flask) -> Any:
    """What ``app`` serves, with its ``spec`` and ``max_body_bytes``: the mock, or the proxy
    (``northca-mock proxy``); None for another app (the bench baseline)."""
    return app.extensions.get("northca") or app.extensions.get("northca_proxy")


def _max_body_bytes(app: Flask) -> int:
    served = _served(app)
    limit: int = served.max_body_bytes if served is not None else 1 << 20
    return limit


def _run_granian(
    app: Flask,
    host: str,
    port: int,
    threads: int,
    on_ready: Callable[[str, int], None],
    limits: Limits,
    cross_site: CrossSite,
    stopper: _Stopper,
) -> None:
    from granian.constants import HTTPModes, Interfaces
    from granian.http import HTTP1Settings
    from granian.server.mt import MTServer

    from mockserver.rsgi_bridge import WsgiOverRsgi

    class InProcessGranian(MTServer):
        """granian's thread-worker server, allowed to run with the GIL: one process."""

        def _check_gil(self) -> None:
            return None

        def signal_handler_interrupt(self, *args: Any, **kwargs: Any) -> None:
            stopper.arm()
            self.interrupt_signal = True
            self.main_loop_interrupt.set()

    if _allows_connection_faults(app):
        raise ServingError("connection faults need --server werkzeug (granian hides the socket)")
    _check_bindable(host, port)
    mock = app.extensions.get("northca")
    guarded = _guarded(app, app, host, cross_site)
    bridge = WsgiOverRsgi(
        guarded,
        mock.spec if mock is not None else None,
        refusal=getattr(guarded, "refusal", None),
        read_timeout=limits.read_timeout,
        max_body_bytes=_max_body_bytes(app),
        threads=threads,
    )
    server = InProcessGranian(
        target="mockserver",  # unused: the loader below hands over the app itself
        address=host,
        port=port,
        interface=Interfaces.RSGI,
        # HTTP/1 only: with protocol detection, a connection that never sends a byte is never
        # timed out, and enough of them stop granian from accepting.
        http=HTTPModes.http1,
        http1_settings=HTTP1Settings(header_read_timeout=round(limits.read_timeout * 1000)),
        backpressure=limits.max_connections,
        workers=1,
        blocking_threads=1,
        runtime_threads=1,
        log_enabled=False,
    )

    def loader(*args: Any, **kwargs: Any) -> Any:
        return bridge

    _announce_when_accepting(host, port, on_ready)
    server.serve(target_loader=loader, wrap_loader=False)


# -- werkzeug --------------------------------------------------------------------------------
def _run_werkzeug(
    app: Flask,
    host: str,
    port: int,
    on_ready: Callable[[str, int], None],
    limits: Limits,
    cross_site: CrossSite,
    stopper: _Stopper,
) -> None:
    server = werkzeug_server(app, host, port, limits, cross_site)

    def stop(signum: int, frame: FrameType | None) -> None:
        stopper.arm()
        # shutdown() waits for serve_forever() to return: it must run in another thread.
        threading.Thread(target=server.shutdown, name="northca-stop", daemon=True).start()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        bound_host, bound_port = server.server_address[0], server.server_address[1]
        on_ready(bound_host if isinstance(bound_host, str) else bound_host.decode(), bound_port)
        server.serve_forever()
    finally:
        server.server_close()
        for sig, handler_ in previous.items():
            signal.signal(sig, handler_)


def werkzeug_server(
    app: Flask,
    host: str,
    port: int,
    limits: Limits,
    cross_site: CrossSite,
    handler: type[Any] | None = None,
) -> Any:
    """werkzeug's threaded server for ``app`` with ``limits`` and the cross-site guard, bound
    (``port`` 0 picks one) but not serving yet. ``handler``: a subclass of
    :func:`_envelope_handler`'s (the proxy's passes the upstream's headers through)."""
    import logging

    from werkzeug.serving import ThreadedWSGIServer

    refusal = _refusal(app)
    active = [0]
    active_lock = threading.Lock()

    class Server(ThreadedWSGIServer):
        request_queue_size = 1024  # the listen backlog, as granian's

        def process_request(self, request: Any, client_address: Any) -> None:
            """A thread per connection, up to ``max_connections``; beyond, 503 at once."""
            with active_lock:
                full = active[0] >= limits.max_connections
                if not full:
                    active[0] += 1
            if full:
                _send_and_close(request, refusal)
                return
            try:
                super().process_request(request, client_address)
            except BaseException:
                with active_lock:
                    active[0] -= 1
                raise

        def process_request_thread(self, request: Any, client_address: Any) -> None:
            try:
                super().process_request_thread(request, client_address)
            finally:
                with active_lock:
                    active[0] -= 1

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
    wsgi_app = _ReadBodyFirst(wsgi_app, app, limits.read_timeout)
    wsgi_app = _guarded(wsgi_app, app, host, cross_site)  # refuses before the body is read
    handler = handler or _envelope_handler(app)
    handler.timeout = limits.read_timeout  # headers, and idle keep-alive connections
    try:
        return Server(host, port, wsgi_app, handler=handler)
    except OSError as exc:
        raise ServingError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


def _guarded(wsgi_app: Any, app: Flask, host: str, cross_site: CrossSite) -> Any:
    """``wsgi_app`` behind the cross-site guard (the mock's or the proxy's: not the bench's)."""
    mock = _served(app)
    if mock is None:
        return wsgi_app
    from mockserver.guard import CrossSiteGuard

    return CrossSiteGuard(
        wsgi_app,
        mock.spec,
        bound_host=host,
        allowed_hosts=cross_site.allowed_hosts,
        cors_origins=cross_site.cors_origins,
    )


def _error_answer(app: Flask, name: str, status: int, message: str) -> tuple[int, str, bytes]:
    """Status, reason and envelope of a route-level answer of the spec."""
    mock = _served(app)
    if mock is not None:
        example = mock.spec.shared_error(name)
        status, message = example.status, example.message
    reasons = {408: "Request Timeout", 503: "Service Unavailable"}
    body = json.dumps({"ok": False, "error": message}, separators=(",", ":")).encode()
    return status, reasons.get(status, "Error"), body


def _refusal(app: Flask) -> bytes:
    """The whole HTTP answer to a connection past ``max_connections``."""
    status, reason, body = _error_answer(app, "tooManyConnections", 503, "Too many connections")
    head = (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


def _send_and_close(connection: socket.socket, data: bytes) -> None:
    try:
        connection.setblocking(False)
        connection.send(data)
        connection.shutdown(socket.SHUT_WR)
    except OSError:
        pass
    finally:
        connection.close()


class _ReadBodyFirst:
    """WSGI wrapper (werkzeug): read the body whole, within the read timeout, before the app.

    The socket's timeout is set to what is left before each read, so a client trickling bytes
    gets no more than ``read_timeout`` in all. A body over the size limit is left to the app,
    which answers 413 from its declared length (or from the first ``limit + 1`` bytes).
    """

    def __init__(self, wsgi_app: Any, app: Flask, read_timeout: float) -> None:
        self.wsgi_app = wsgi_app
        self.limit = _max_body_bytes(app)
        self.read_timeout = read_timeout
        self.timeout_answer = _error_answer(app, "requestTimeout", 408, "Request timeout")

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        length_text = environ.get("CONTENT_LENGTH") or ""
        if chunked:
            wanted = self.limit + 1
        else:
            try:
                wanted = int(length_text)
            except ValueError:
                return self.wsgi_app(environ, start_response)  # no body, or the app says 400
            if wanted <= 0 or wanted > self.limit:
                return self.wsgi_app(environ, start_response)
        connection: socket.socket | None = environ.get("werkzeug.socket")
        try:
            body = _read_within(environ["wsgi.input"], connection, wanted, self.read_timeout)
        except (TimeoutError, OSError, ValueError):
            status, reason, payload = self.timeout_answer
            start_response(
                f"{status} {reason}",
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", str(len(payload))),
                    ("Connection", "close"),
                ],
            )
            return [payload]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["wsgi.input_terminated"] = True
        return self.wsgi_app(environ, start_response)


def _read_within(
    stream: Any, connection: socket.socket | None, wanted: int, timeout: float
) -> bytes:
    """Up to ``wanted`` bytes of ``stream`` (less at its end), in ``timeout`` seconds at most."""
    deadline = time.monotonic() + timeout
    previous = connection.gettimeout() if connection is not None else None
    read = getattr(stream, "read1", None) or stream.read
    chunks: list[bytes] = []
    size = 0
    try:
        while size < wanted:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("request body")
            if connection is not None:
                connection.settimeout(remaining)
            chunk = read(min(wanted - size, 1 << 16))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        if connection is not None:
            with contextlib.suppress(OSError):
                connection.settimeout(previous)
    return b"".join(chunks)


#: What ``http.server`` rejects before the app runs, by status; anything else is malformed.
_PROTOCOL_ERRORS = {414: "requestLineTooLong", 431: "headersTooLarge"}


def _envelope_handler(app: Flask) -> type[Any]:
    """werkzeug's request handler, answering HTTP-level errors in the spec's envelope."""
    import json

    from werkzeug.serving import WSGIRequestHandler

    from mockserver.spec import load_spec

    mock = _served(app)
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

        def log_error(self, format: str, *args: Any) -> None:
            if format.startswith("Request timed out"):
                return  # an idle keep-alive connection closed after --read-timeout
            super().log_error(format, *args)

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
