"""The proxy's HTTP server: ``serve``'s werkzeug server, passing the upstream's headers through.

Threaded (one thread per connection): a slow upstream holds one thread, not the proxy. It is
``serving.werkzeug_server``, so it has ``serve``'s limits and answers: headers and then the body
within ``--read-timeout`` (408), at most ``--max-connections`` connections (503), the body read
whole before the app runs, and the Host/Origin guard (403). The request handler differs from
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
from types import FrameType
from typing import TYPE_CHECKING, Any

from mockserver.serving import (
    CrossSite,
    Limits,
    _check_bindable,
    _envelope_handler,
    _raise_file_limit,
    werkzeug_server,
)

if TYPE_CHECKING:
    from flask import Flask
    from werkzeug.serving import BaseWSGIServer


def _handler(app: Flask) -> type[Any]:
    base: type[Any] = _envelope_handler(app)

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


#: ``serve``'s defaults: ``--read-timeout``, ``--max-connections``, no extra host or origin.
DEFAULT_LIMITS = Limits()
NO_CROSS_SITE = CrossSite()


def make_server(
    app: Flask,
    host: str,
    port: int,
    limits: Limits = DEFAULT_LIMITS,
    cross_site: CrossSite = NO_CROSS_SITE,
) -> BaseWSGIServer:
    """The proxy's server, bound (``port`` 0 picks one) but not yet serving."""
    if port:
        _check_bindable(host, port)  # werkzeug would print and exit instead of raising
    server: BaseWSGIServer = werkzeug_server(
        app, host, port, limits, cross_site, handler=_handler(app)
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
    limits = Limits(limits.read_timeout, _raise_file_limit(limits.max_connections))
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
