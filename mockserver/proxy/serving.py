"""The proxy's HTTP server: ``serve``'s werkzeug server, passing the upstream's headers through.

Threaded (one thread per connection): a slow upstream holds one thread, not the proxy. It is
``edge.make_edge_server``, so it has ``serve``'s limits and answers: one deadline for the headers
and one for the body (408), at most ``--max-connections`` connections (503), the body read whole
before the app runs, and the Host/Origin guard (403). The request handler differs from
``serve``'s in one way: ``http.server`` writes its own ``Server`` and ``Date`` before the app's
headers, so the upstream's would be sent twice; here they are written only when the answer has
none (a 502/504 or a control-plane answer of the proxy). Requests are not logged (a log line is
one more place a secret could land). It stops on SIGINT or SIGTERM and returns, so the caller
can write the reports.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import replace
from types import FrameType
from typing import TYPE_CHECKING, Any

from mockserver.edge import (
    DEFAULT_CROSS_SITE,
    DEFAULT_LIMITS,
    CrossSite,
    Limits,
    edge_request_handler,
    make_edge_server,
)
from mockserver.serving import _raise_file_limit
from mockserver.spec import Spec

if TYPE_CHECKING:
    from flask import Flask
    from werkzeug.serving import BaseWSGIServer


def _handler(spec: Spec) -> type[Any]:
    base: type[Any] = edge_request_handler(spec)

    class PassThroughHandler(base):  # type: ignore[misc]
        _names: set[str] | None = None

        def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
            pass

        def send_response(self, code: int, message: str | None = None) -> None:
            self.send_response_only(code, message)
            self._names = set()

        def send_header(self, keyword: str, value: str) -> None:
            if self._names is not None:
                self._names.add(keyword.lower())
            super().send_header(keyword, value)

        def end_headers(self) -> None:
            names, self._names = self._names, None
            if names is not None:
                if "server" not in names:
                    super().send_header("Server", self.version_string())
                if "date" not in names:
                    super().send_header("Date", self.date_time_string())
            super().end_headers()

    return PassThroughHandler


NO_CROSS_SITE = DEFAULT_CROSS_SITE


def make_server(
    app: Flask,
    host: str,
    port: int,
    limits: Limits = DEFAULT_LIMITS,
    cross_site: CrossSite = NO_CROSS_SITE,
) -> BaseWSGIServer:
    """The proxy's server, bound (``port`` 0 picks one) but not yet serving."""
    proxy = app.extensions["northca_proxy"]
    server: BaseWSGIServer = make_edge_server(
        app,
        host,
        port,
        spec=proxy.spec,
        limits=limits,
        cross_site=cross_site,
        max_body_bytes=proxy.max_body_bytes,
        handler=_handler(proxy.spec),
    )
    return server


def run(
    app: Flask,
    host: str,
    port: int,
    on_ready: Callable[[str, int], None],
    limits: Limits = DEFAULT_LIMITS,
    cross_site: CrossSite = NO_CROSS_SITE,
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM; ``on_ready(host, port)`` once it listens."""
    limits = replace(limits, max_connections=_raise_file_limit(limits.max_connections))
    server = make_server(app, host, port, limits, cross_site)

    def stop(signum: int, frame: FrameType | None) -> None:
        threading.Thread(target=server.shutdown, name="northca-proxy-stop", daemon=True).start()

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        on_ready(host, int(server.server_address[1]))
        server.serve_forever()
    finally:
        server.server_close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
