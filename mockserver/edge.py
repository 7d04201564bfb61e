"""Every socket the mock listens on, hardened the same way: one werkzeug server for all of them.

``serve --server werkzeug``, the pytest plugin's thread server, the contract checker's served
WSGI target and the proxy all build their server with :func:`make_edge_server`, so each gets

- a total deadline of ``read_timeout`` seconds for a request's line and headers (an idle
  keep-alive connection is closed when it passes, without an answer), then a new one for its
  body, read whole before the app runs (late: ``408 Request timeout``, connection closed). Every
  read of the socket waits only for what is left of the deadline: trickling one byte a second
  gains nothing;
- at most ``max_connections`` connections at once; past it ``503 Too many connections`` at once;
- the cross-site guard (:class:`~mockserver.guard.CrossSiteGuard`: ``Host`` parsed strictly,
  foreign ``Host``/``Origin`` refused, opt-in CORS), before the body is read;
- HTTP-level errors in the spec's envelope, one ``100 Continue`` at most, no request log.

What the guard and the answers say comes from the spec given (the mock's own, or the proxy's).
"""

from __future__ import annotations

import io
import json
import math
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

from mockserver.guard import CrossSiteGuard
from mockserver.spec import Spec
from mockserver.upload_budget import DEFAULT_MAX_INFLIGHT_BODY_BYTES, UploadBudget

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: Seconds a client has to send a request's headers, then its body; also how long an idle
#: keep-alive connection is kept.
DEFAULT_READ_TIMEOUT = 10.0
#: Connections held at once (granian stops accepting beyond, werkzeug answers 503).
DEFAULT_MAX_CONNECTIONS = 4096
#: Request bodies above this are left to the app, which answers 413 (``create_app``'s default).
DEFAULT_MAX_BODY_BYTES = 1 << 20
#: Environ key of the connection's :class:`DeadlineReader` (werkzeug servers made here).
DEADLINE_READER = "northca.deadline_reader"
#: What ``http.server`` rejects before the app runs, by status; anything else is malformed.
_PROTOCOL_ERRORS = {414: "requestLineTooLong", 431: "headersTooLarge"}
_REASONS = {408: "Request Timeout", 503: "Service Unavailable"}


class ServingError(OSError):
    """The server could not start (address in use, unknown server...)."""


@dataclass(frozen=True)
class Limits:
    """What clients may hold: time per request, connections, and request bodies' bytes."""

    read_timeout: float = DEFAULT_READ_TIMEOUT
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    max_inflight_body_bytes: int = DEFAULT_MAX_INFLIGHT_BODY_BYTES


@dataclass(frozen=True)
class CrossSite:
    """Extra ``Host`` names (``*`` for any), and the origins CORS is on for (``--cors``)."""

    allowed_hosts: tuple[str, ...] = ()
    cors_origins: tuple[str, ...] = field(default=())


#: ``serve``'s defaults: the read timeout and connection cap, no extra hosts, CORS off.
DEFAULT_LIMITS = Limits()
DEFAULT_CROSS_SITE = CrossSite()


def error_answer(spec: Spec, name: str) -> tuple[int, str, bytes]:
    """Status, reason and envelope of a route-level answer of the spec."""
    example = spec.shared_error(name)
    body = json.dumps({"ok": False, "error": example.message}, separators=(",", ":")).encode()
    return example.status, _REASONS.get(example.status, "Error"), body


def guarded(app: WsgiApp, spec: Spec, host: str, cross_site: CrossSite) -> CrossSiteGuard:
    """``app`` behind the cross-site guard of a server bound to ``host``."""
    return CrossSiteGuard(
        app,
        spec,
        bound_host=host,
        allowed_hosts=cross_site.allowed_hosts,
        cors_origins=cross_site.cors_origins,
    )


def check_bindable(host: str, port: int) -> None:
    """:class:`ServingError` when ``host:port`` cannot be listened on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise ServingError(f"cannot listen on {host}:{port}: {exc.strerror}") from None


# -- reading under a deadline ----------------------------------------------------------------------
class DeadlineReader(io.RawIOBase):
    """The connection's reading side: each read waits at most until :attr:`deadline`.

    ``http.server`` and werkzeug put a timeout on each ``recv``, which a client sending a byte
    now and then never reaches; here the whole of a request's headers, and then of its body,
    must arrive before one deadline. Writes keep the socket's own timeout.
    """

    def __init__(self, connection: socket.socket, write_timeout: float | None) -> None:
        super().__init__()
        self.connection = connection
        self.write_timeout = write_timeout
        self.deadline = math.inf

    def start(self, seconds: float) -> None:
        """From now, reads must be done within ``seconds``."""
        self.deadline = time.monotonic() + seconds

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.connection.fileno()

    def readinto(self, buffer: Any) -> int:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("read deadline passed")
        self.connection.settimeout(remaining)
        try:
            return self.connection.recv_into(buffer)
        finally:
            self.connection.settimeout(self.write_timeout)


class ReadBodyFirst:
    """WSGI wrapper: read the body whole, within the read timeout, before the app.

    A body over ``max_body_bytes`` is left to the app, which answers 413 from its declared
    length (or from the first ``limit + 1`` bytes of a chunked one). The bytes a body may take
    are reserved in ``uploads`` until the app has answered; a body that does not fit is
    answered 503 ``tooManyUploads`` without being read.
    """

    def __init__(
        self,
        app: WsgiApp,
        spec: Spec,
        read_timeout: float,
        max_body_bytes: int,
        uploads: UploadBudget | None = None,
    ) -> None:
        self.app = app
        self.limit = max_body_bytes
        self.read_timeout = read_timeout
        self.uploads = uploads or UploadBudget()
        self.timeout_answer = error_answer(spec, "requestTimeout")
        self.busy_answer = error_answer(spec, "tooManyUploads")

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        length_text = environ.get("CONTENT_LENGTH") or ""
        if chunked:
            wanted = self.limit + 1
        else:
            try:
                wanted = int(length_text)
            except ValueError:
                return self.app(environ, start_response)  # no body, or the app says 400
            if wanted <= 0 or wanted > self.limit:
                return self.app(environ, start_response)
        if not self.uploads.take(wanted):
            return _closing(self.busy_answer, start_response)  # the body is never read
        try:
            reader: DeadlineReader | None = environ.get(DEADLINE_READER)
            try:
                body = read_within(environ["wsgi.input"], reader, wanted, self.read_timeout)
            except (TimeoutError, OSError, ValueError):
                return _closing(self.timeout_answer, start_response)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["wsgi.input_terminated"] = True
            return self.app(environ, start_response)  # a list: the body is read by now
        finally:
            self.uploads.give(wanted)


def _closing(answer: tuple[int, str, bytes], start_response: Any) -> list[bytes]:
    """Start an envelope answer after which the connection is closed (werkzeug adds
    ``Connection: close`` itself: the body was not read whole)."""
    status, reason, payload = answer
    start_response(
        f"{status} {reason}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))],
    )
    return [payload]


def read_within(stream: Any, reader: DeadlineReader | None, wanted: int, timeout: float) -> bytes:
    """Up to ``wanted`` bytes of ``stream`` (less at its end), in ``timeout`` seconds at most.

    With the connection's ``reader``, every socket read below ``stream`` (a chunked body's size
    lines too) waits only for what is left; without one, the time is checked between reads.
    """
    deadline = time.monotonic() + timeout
    if reader is not None:
        reader.start(timeout)
    read = getattr(stream, "read1", None) or stream.read
    chunks: list[bytes] = []
    size = 0
    while size < wanted:
        if time.monotonic() >= deadline:
            raise TimeoutError("request body")
        chunk = read(min(wanted - size, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


# -- the werkzeug server ---------------------------------------------------------------------------
def edge_request_handler(spec: Spec) -> type[WSGIRequestHandler]:
    """werkzeug's request handler with deadlines, errors in the envelope and no request log.

    Subclass it to change more (the proxy passes its upstream's ``Server`` and ``Date``).
    """

    class EdgeRequestHandler(WSGIRequestHandler):
        reader: DeadlineReader

        @property
        def limits(self) -> Limits:
            """The server's (an :class:`EdgeServer`), else the defaults."""
            limits: Limits = getattr(self.server, "limits", DEFAULT_LIMITS)
            return limits

        def setup(self) -> None:
            super().setup()
            # Writes time out too (a client that does not read); reads go by the deadline.
            self.connection.settimeout(self.limits.read_timeout)
            self.reader = DeadlineReader(self.connection, self.connection.gettimeout())
            self.rfile = io.BufferedReader(self.reader, 1 << 16)

        def handle_one_request(self) -> None:
            # The request line and headers within one read timeout from now (for a kept-alive
            # connection, the wait for its next request counts).
            self.reader.start(self.limits.read_timeout)
            super().handle_one_request()

        def handle_expect_100(self) -> bool:
            return True  # werkzeug sends its own "100 Continue": never twice

        def make_environ(self) -> dict[str, Any]:
            environ = super().make_environ()
            environ[DEADLINE_READER] = self.reader
            return environ

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

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass  # no line per request (a log line is one more place a secret could land)

        def log_error(self, format: str, *args: Any) -> None:
            if format.startswith("Request timed out"):
                return  # a connection closed after --read-timeout
            super().log_error(format, *args)

        def connection_dropped(
            self, error: BaseException, environ: dict[str, Any] | None = None
        ) -> None:
            self.close_connection = True  # never wait for another request on this one

    return EdgeRequestHandler


class EdgeServer(ThreadedWSGIServer):
    """werkzeug's threaded server: a thread per connection, up to ``limits.max_connections``;
    beyond, ``503 Too many connections`` at once."""

    request_queue_size = 1024  # the listen backlog, as granian's

    def __init__(
        self,
        host: str,
        port: int,
        app: WsgiApp,
        *,
        handler: type[WSGIRequestHandler],
        limits: Limits,
        spec: Spec,
    ) -> None:
        super().__init__(host, port, app, handler=handler)
        self.limits = limits
        self.refusal = refusal_bytes(spec)
        self._active = 0
        self._active_lock = threading.Lock()

    @property
    def active_connections(self) -> int:
        """Connections held now."""
        return self._active

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._active_lock:
            full = self._active >= self.limits.max_connections
            if not full:
                self._active += 1
        if full:
            _send_and_close(request, self.refusal)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            with self._active_lock:
                self._active -= 1
            raise

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._active_lock:
                self._active -= 1


def make_edge_server(
    app: WsgiApp,
    host: str,
    port: int,
    *,
    spec: Spec,
    limits: Limits = DEFAULT_LIMITS,
    cross_site: CrossSite = DEFAULT_CROSS_SITE,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    handler: type[WSGIRequestHandler] | None = None,
    server_class: type[EdgeServer] = EdgeServer,
) -> EdgeServer:
    """``app`` behind the guard and the body reader, on a bound werkzeug server (not serving yet).

    ``port`` 0 picks one. ``handler`` must subclass :func:`edge_request_handler` (default: that
    class for ``spec``); ``server_class`` may subclass :class:`EdgeServer` for more hooks.
    :class:`ServingError` when it cannot listen.
    """
    if port:
        check_bindable(host, port)  # werkzeug would print its own message and exit
    uploads = UploadBudget(limits.max_inflight_body_bytes)
    body_first = ReadBodyFirst(app, spec, limits.read_timeout, max_body_bytes, uploads)
    wrapped = guarded(body_first, spec, host, cross_site)  # refuses before the body is read
    try:
        return server_class(
            host,
            port,
            wrapped,
            handler=handler or edge_request_handler(spec),
            limits=limits,
            spec=spec,
        )
    except (OSError, SystemExit) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "address not available"
        raise ServingError(f"cannot listen on {host}:{port}: {reason}") from None


def refusal_bytes(spec: Spec) -> bytes:
    """The whole HTTP answer to a connection past ``max_connections``."""
    status, reason, body = error_answer(spec, "tooManyConnections")
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
