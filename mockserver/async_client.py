"""``httpx.AsyncClient`` served in-process: ``NorthcaMock.async_client()``.

Needs httpx (and anyio, which httpx brings): ``pip install 'northca-mock[async]'``. Each request
runs the WSGI app in a worker thread (``anyio.to_thread``), so a fault plan's latency sleeps
there and never blocks the event loop; no socket is opened.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import anyio.to_thread
import httpx

from mockserver.wsgi_call import call_wsgi


class AsyncWSGITransport(httpx.AsyncBaseTransport):
    """An httpx transport that answers from a WSGI app in a worker thread."""

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        headers = list(request.headers.multi_items())
        answer = await anyio.to_thread.run_sync(
            call_wsgi, self.app, request.method, str(request.url), headers, body
        )
        # As a server sends them: WSGI header values are Latin-1 (a diagnostic may quote a
        # non-ASCII id), which httpx would refuse as str.
        raw_headers = [
            (name.encode("latin-1"), value.encode("latin-1")) for name, value in answer.headers
        ]
        return httpx.Response(
            answer.status,
            headers=raw_headers,
            content=answer.body,
            request=request,
            extensions={"reason_phrase": answer.reason.encode("ascii", "replace")},
        )


def async_client(
    app: Callable[..., Any], base_url: str, default_headers: Mapping[str, str], **options: Any
) -> httpx.AsyncClient:
    """An ``httpx.AsyncClient`` for ``app`` at ``base_url``, sending ``default_headers``;
    ``options`` go to ``httpx.AsyncClient`` (their ``headers`` are added to the defaults)."""
    merged = {**default_headers, **(options.pop("headers", None) or {})}
    return httpx.AsyncClient(
        transport=AsyncWSGITransport(app), base_url=base_url, headers=merged, **options
    )
