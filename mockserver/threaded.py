"""One threaded WSGI server helper: an app served by werkzeug on a loopback port, in a thread.

Used by the pytest plugin (``northca_server``) and by the contract checker (a WSGI target served
for the schemathesis stage). It is an edge server (:mod:`mockserver.edge`) like ``serve``'s: the
same read timeout, connection cap and ``Host``/``Origin`` guard, so a web page open while a
test session runs cannot drive it. Requests are not logged; ``on_error`` sees any exception
that escapes the app before werkzeug turns it into a 500.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from mockserver.edge import DEFAULT_LIMITS, DEFAULT_MAX_BODY_BYTES, Limits, make_edge_server
from mockserver.spec import Spec, load_spec
from mockserver.spec_documents import SPEC_EXTENSION

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
        limits: Limits = DEFAULT_LIMITS,
    ) -> None:
        self.app = app
        self.on_error = on_error
        mock = (getattr(app, "extensions", None) or {}).get("northca")
        self._server = make_edge_server(
            self._wsgi,
            host,
            port,
            spec=_spec_of(app),
            limits=limits,
            max_body_bytes=getattr(mock, "max_body_bytes", DEFAULT_MAX_BODY_BYTES),
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


def _spec_of(app: Any) -> Spec:
    """The spec a Flask app of the mock (or the proxy) answers from; else the packaged one."""
    extensions = getattr(app, "extensions", None) or {}
    spec = extensions.get(SPEC_EXTENSION)
    return spec if isinstance(spec, Spec) else load_spec()
