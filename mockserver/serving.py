"""HTTP servers for the standalone mock, one process (the state is in memory).

- ``granian`` (default, chosen by measurement: see ``bench/RESULTS.md``): granian's Rust HTTP
  server with its WSGI worker running as a thread of this process, so the app object, its state
  and the shutdown hook stay here.
- ``werkzeug``: the edge server of :mod:`mockserver.edge` (werkzeug's threaded server, as the
  pytest plugin's and the proxy's); no native code, slower.

Both stop on SIGINT or SIGTERM and return, so the caller can write the state file; when
clients keep the server from stopping for :data:`STOP_GRACE_SECONDS`, ``run``'s
``on_forced_stop`` runs to its end (it stops applying requests, then writes the state file
whole, however long that takes) and the process exits.

Both put the same limits on clients (:class:`Limits`): a request's headers, and then its body,
must arrive within ``read_timeout`` (an idle keep-alive connection is closed after it), at most
``max_connections`` are held at once, and the body is read whole before the app runs, so no
lock is ever held while a client is slow. Both also put :class:`~mockserver.guard.CrossSiteGuard`
in front of the app.
"""

from __future__ import annotations

import os
import signal
import socket
import struct
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from types import FrameType
from typing import TYPE_CHECKING, Any

from mockserver.edge import (
    DEFAULT_CROSS_SITE,
    DEFAULT_LIMITS,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_READ_TIMEOUT,
    CrossSite,
    EdgeServer,
    Limits,
    ServingError,
    check_bindable,
    edge_request_handler,
    guarded,
    make_edge_server,
)
from mockserver.spec import Spec
from mockserver.upload_budget import UploadBudget

if TYPE_CHECKING:
    from flask import Flask

__all__ = [
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_READ_TIMEOUT",
    "CrossSite",
    "Limits",
    "ServingError",
    "base_url",
    "run",
    "warn_if_exposed",
]

SERVERS = ("granian", "werkzeug")
DEFAULT_SERVER = "granian"
#: One request thread: measured fastest (about twice 2 or 4 threads, which contend for the GIL
#: and stretch p99 to hundreds of ms). Fault-plan latency then delays every request: raise it.
DEFAULT_THREADS = 1
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


def run(
    app: Flask,
    host: str,
    port: int,
    *,
    server: str = DEFAULT_SERVER,
    threads: int = DEFAULT_THREADS,
    on_ready: Callable[[str, int], None] = lambda host, port: None,
    limits: Limits = DEFAULT_LIMITS,
    cross_site: CrossSite = DEFAULT_CROSS_SITE,
    on_forced_stop: Callable[[], None] | None = None,
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM; ``on_ready(host, port)`` once it accepts.

    When clients keep the server from stopping for :data:`STOP_GRACE_SECONDS` after the
    signal, ``on_forced_stop()`` runs to its end (it should stop applying requests, then write
    the state file) and the process exits: 0, or 1 if it raised.
    """
    if server not in SERVERS:
        raise ServingError(f"unknown server {server!r} (choose from {', '.join(SERVERS)})")
    mock = app.extensions.get("northca")
    if mock is not None:
        mock.request_threads = threads if server == "granian" else None
    limits = replace(limits, max_connections=_raise_file_limit(limits.max_connections))
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
        saving = self.on_forced_stop is not None
        print(
            f"northca-mock: clients kept the server busy {STOP_GRACE_SECONDS:g} s after the stop"
            " signal; stopping anyway" + (" once the state file is written" if saving else ""),
            file=sys.stderr,
            flush=True,
        )
        code = 0
        if self.on_forced_stop is not None:
            try:  # in this thread, whole, however long it takes: it is what the stop is for
                self.on_forced_stop()
            except Exception as exc:  # reported, and the exit code says so
                print(
                    f"northca-mock: the state file could not be written: {exc}",
                    file=sys.stderr,
                    flush=True,
                )
                code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _free_port(host: str) -> int:
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        port: int = probe.getsockname()[1]
        return port


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


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
def _max_body_bytes(app: Flask) -> int:
    mock = app.extensions.get("northca")
    limit: int = mock.max_body_bytes if mock is not None else 1 << 20
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

    from mockserver.asgi_bridge import AsgiFront
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
    check_bindable(host, port)
    mock = app.extensions.get("northca")
    front = _guarded(app, app, host, cross_site)
    bridge = WsgiOverRsgi(
        front,
        mock.spec if mock is not None else None,
        refusal=getattr(front, "refusal", None),
        read_timeout=limits.read_timeout,
        max_body_bytes=_max_body_bytes(app),
        threads=threads,
        uploads=UploadBudget(limits.max_inflight_body_bytes),
    )
    server = InProcessGranian(
        target="mockserver",  # unused: the loader below hands over the app itself
        address=host,
        port=port,
        # ASGI, not RSGI: only its scope keeps the path as sent (raw_path), which routing needs.
        interface=Interfaces.ASGINL,
        # HTTP/1 only: with protocol detection, a connection that never sends a byte is never
        # timed out, and enough of them stop granian from accepting.
        http=HTTPModes.http1,
        # An upgrade request reaches the app as plain HTTP, which answers it in the envelope.
        websockets=False,
        http1_settings=HTTP1Settings(header_read_timeout=round(limits.read_timeout * 1000)),
        backpressure=limits.max_connections,
        workers=1,
        blocking_threads=1,
        runtime_threads=1,
        log_enabled=False,
    )

    front = AsgiFront(bridge)

    def loader(*args: Any, **kwargs: Any) -> Any:
        return front

    _announce_when_accepting(host, port, on_ready)
    try:
        server.serve(target_loader=loader, wrap_loader=False)
    finally:
        bridge.__rsgi_del__(None)  # no lifespan over ASGINL: the thread pool stops here


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
    import logging

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    wsgi_app: Any = app
    if _allows_connection_faults(app):
        wsgi_app = _BreakConnections(app)
    server = make_edge_server(
        wsgi_app,
        host,
        port,
        spec=_spec_of(app),
        limits=limits,
        cross_site=cross_site,
        max_body_bytes=_max_body_bytes(app),
        server_class=_ResettingServer,
    )

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


def _spec_of(app: Flask) -> Spec:
    """The spec behind the mock's app (the packaged one for another app: the bench baseline)."""
    mock = app.extensions.get("northca")
    if mock is not None:
        spec: Spec = mock.spec
        return spec
    from mockserver.spec import load_spec

    return load_spec()


def _guarded(wsgi_app: Any, app: Flask, host: str, cross_site: CrossSite) -> Any:
    """``wsgi_app`` behind the cross-site guard (only the mock's app: not the bench baseline)."""
    mock = app.extensions.get("northca")
    if mock is None:
        return wsgi_app
    return guarded(wsgi_app, mock.spec, host, cross_site)


_check_bindable = check_bindable  # the name the proxy's server imports


def _envelope_handler(app: Flask) -> type[Any]:
    """werkzeug's request handler of :mod:`mockserver.edge` for this app's spec."""
    return edge_request_handler(_spec_of(app))


class _ResettingServer(EdgeServer):
    def shutdown_request(self, request: Any) -> None:
        """Close a connection a fault plan resets without a FIN first, so the peer gets RST."""
        if request.fileno() in _RESET_ON_CLOSE:
            _RESET_ON_CLOSE.discard(request.fileno())
            self.close_request(request)
        else:
            super().shutdown_request(request)


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
