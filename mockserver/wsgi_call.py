"""One HTTP request answered by a WSGI app in this process: the core of the in-process clients
(``testing.WSGIAdapter`` for requests, ``async_client.AsyncWSGITransport`` for httpx)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from werkzeug.datastructures import Headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

from mockserver.answer import Answer


def read_all(app_iter: Iterable[bytes]) -> bytes:
    """The whole body of a WSGI answer; the iterable is closed as WSGI requires."""
    try:
        return b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()


def call_wsgi(
    app: Callable[..., Any],
    method: str,
    url: str,
    headers: Iterable[tuple[str, str]],
    body: bytes | None,
) -> Answer:
    """Run ``app`` on one request (as a WSGI server would) and read its whole answer."""
    parts = urlsplit(url)
    request_headers = Headers(list(headers))
    builder = EnvironBuilder(
        path=parts.path or "/",
        base_url=f"{parts.scheme}://{parts.netloc}",
        query_string=parts.query,
        method=method,
        headers=request_headers,
        data=body or b"",
        content_type=request_headers.get("Content-Type"),
    )
    try:
        app_iter, status, response_headers = run_wsgi_app(app, builder.get_environ())
        content = read_all(app_iter)
    finally:
        builder.close()
    code, _space, reason = status.partition(" ")
    return Answer(int(code), reason, list(response_headers.items()), content)
