"""What no server may let through, checked by the app itself (so in-process clients get it too).

- A header value with a byte outside ASCII is ``400 Malformed HTTP request``. granian cannot
  read such a value at all (it drops it, so ``x-mock-namespace: café`` would land in the default
  namespace); werkzeug reads it as Latin-1. Refusing it on every server is the one way they
  agree. The RSGI bridge reports the headers granian dropped in :data:`UNREADABLE_HEADERS`.
- A WebSocket upgrade (``Upgrade: websocket``) is ``400 WebSocket not supported``: the API is
  plain HTTP. Other upgrades (``h2c``) are ignored, as HTTP/1.1 allows, and answered normally.

Both are route-level answers of the spec, decided before the namespace, auth or routing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

from mockserver.envelopes import DETAIL_HEADER, detail_header_value
from mockserver.spec import Spec

Environ = dict[str, Any]
WsgiApp = Callable[[Environ, Callable[..., Any]], Iterable[bytes]]
#: Environ key: names of the headers whose value the server could not read (granian drops
#: them); an empty list vouches that every value the environ holds is ASCII.
UNREADABLE_HEADERS = "northca.unreadable_headers"
_UNPREFIXED = ("CONTENT_TYPE", "CONTENT_LENGTH")
_REASONS = {400: "Bad Request"}


def refusal_of(environ: Environ) -> tuple[str, str] | None:
    """``(error name, diagnostic)`` of a request no server may let through, or None."""
    unreadable = environ.get(UNREADABLE_HEADERS)
    if unreadable is None:  # not vouched for by the server: look at every value
        unreadable = [
            key.removeprefix("HTTP_").lower().replace("_", "-")
            for key, value in environ.items()
            if (key.startswith("HTTP_") or key in _UNPREFIXED)
            and isinstance(value, str)
            and not value.isascii()
        ]
    if unreadable:
        return "malformedRequest", f"header {unreadable[0]}: a byte outside ASCII in its value"
    upgrade = environ.get("HTTP_UPGRADE")
    if upgrade is not None and "websocket" in upgrade.lower():
        return "websocketNotSupported", f"Upgrade: {upgrade[:100]}"
    return None


class RequestRules:
    """WSGI middleware answering :func:`refusal_of` requests before the app sees them."""

    def __init__(self, app: WsgiApp, spec: Spec) -> None:
        self.app = app
        self.spec = spec

    def __call__(self, environ: Environ, start_response: Callable[..., Any]) -> Iterable[bytes]:
        refused = refusal_of(environ)
        if refused is None:
            return self.app(environ, start_response)
        name, detail = refused
        example = self.spec.shared_error(name)
        body = json.dumps({"ok": False, "error": example.message}, separators=(",", ":")).encode()
        start_response(
            f"{example.status} {_REASONS.get(example.status, 'Error')}",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                (DETAIL_HEADER, detail_header_value(detail)),
                ("Connection", "close"),
            ],
        )
        return [body]
