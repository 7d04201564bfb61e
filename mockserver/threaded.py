"""One threaded WSGI server helper: an app served by werkzeug on a loopback port, in a thread.

Used by the pytest plugin (``northca_server``) and by the contract checker (a WSGI target served
for the schemathesis stage). Requests are not logged; ``on_error`` sees any exception that
escapes the app before werkzeug turns it into a 500.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

_Server = TypeVar("_Server", bound="ThreadedServer")


class ThreadedServer:
    """``app`` served on ``host`` and a free port (``port=0``) by werkzeug, in a daemon thread."""

    def __init__(
        self,
        app: Any,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        on_error: Callable[[Exception], None] | None = None,
    ) -> None:
        from werkzeug.serving import WSGIRequestHandler, make_server

        class QuietHandler(WSGIRequestHandler):
            def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
                pass

        self.app = app
        self.on_error = on_error
        self._server: BaseWSGIServer = make_server(
            host, port, self._wsgi, threaded=True, request_handler=QuietHandler
        )
        self.host = host
        self.port = int(self._server.server_address[1])
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(
            target=self._server.serve_forever, name=f"northca-mock:{self.port}", daemon=True
        )

    def _wsgi(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        try:
            result: Iterable[bytes] = self.app(environ, start_response)
        except Exception as exc:
            if self.on_error is not None:
                self.on_error(exc)
            raise
        return result

    def start(self: _Server) -> _Server:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@contextmanager
def served(app: Any, path: str = "", *, host: str = "127.0.0.1") -> Iterator[str]:
    """Serve ``app`` while the block runs; yields its URL (``http://host:port`` + ``path``)."""
    server = ThreadedServer(app, host).start()
    try:
        yield server.url + path.rstrip("/")
    finally:
        server.stop()
