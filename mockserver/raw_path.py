"""Routing on the path as the client sent it, so that an id holding ``/`` or ``%`` stays one
path segment.

A WSGI server puts the percent-decoded path in ``PATH_INFO``: ``/units/active/1A%2F12`` and
``/units/active/1A/12`` look alike there. werkzeug's server and test client keep the path as
sent in ``RAW_URI`` / ``REQUEST_URI``, and the granian bridge sets them from ASGI's
``raw_path``. :class:`RawPathRouting` rewrites ``PATH_INFO`` from that raw path: each segment
decoded, then only ``%`` and ``/`` escaped again (``%25``, ``%2F``), so the router splits on the
client's own slashes and :class:`SegmentConverter` gives the handler the decoded value. Without
a raw path (or one that does not decode to ``PATH_INFO``, e.g. behind a rewriting middleware),
``PATH_INFO`` is used as it is, with only its ``%`` escaped: the same rules, fewer ids.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote, unquote, unquote_to_bytes

from werkzeug.routing import BaseConverter

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: Environ keys that servers use for the request target as sent (path and query).
RAW_KEYS = ("RAW_URI", "REQUEST_URI")


def raw_path(environ: dict[str, Any]) -> str | None:
    """The path of the request target as sent (still percent-encoded), when the server kept
    it and it decodes to ``PATH_INFO``; else None."""
    if environ.get("SCRIPT_NAME"):  # mounted: the raw target holds the mount's path too
        return None
    for key in RAW_KEYS:
        target = environ.get(key)
        if target:
            break
    else:
        return None
    path = target.split("?", 1)[0].split("#", 1)[0]
    if not path.startswith("/"):  # absolute-form (``GET http://host/path``)
        scheme, _sep, rest = path.partition("://")
        path = "/" + rest.partition("/")[2] if scheme and rest else ""
    wanted = environ.get("PATH_INFO", "").encode("latin-1")
    return path if unquote_to_bytes(path) == wanted else None


def routing_path(environ: dict[str, Any]) -> str:
    """``PATH_INFO`` for the router: segments decoded, with ``%`` and ``/`` inside them escaped."""
    path_info: str = environ.get("PATH_INFO", "")
    raw = raw_path(environ)
    if raw is None:
        return path_info.replace("%", "%25")
    segments = (
        unquote_to_bytes(segment).replace(b"%", b"%25").replace(b"/", b"%2F")
        for segment in raw.split("/")
    )
    return b"/".join(segments).decode("latin-1")


class RawPathRouting:
    """WSGI middleware: route on the raw path (see the module docstring)."""

    def __init__(self, app: WsgiApp) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        environ["PATH_INFO"] = routing_path(environ)
        return self.app(environ, start_response)


class SegmentConverter(BaseConverter):
    """One path segment (no ``/``), decoded from :func:`routing_path`'s escapes."""

    part_isolating = True

    def to_python(self, value: str) -> str:
        return unquote(value)

    def to_url(self, value: str) -> str:
        return quote(value, safe="")
