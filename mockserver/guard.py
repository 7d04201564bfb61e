"""Cross-site safety of the served mock: ``Host``, ``Origin``, opt-in CORS, JSON-only writes.

A web page the developer visits must not drive the mock on their machine:

- ``Host`` must be exactly one ``host[:port]`` (else 400, RFC 9112) naming this machine
  (``localhost``, ``127.x.y.z``, ``[::1]``) or the bound address, unless ``--allowed-host``
  widens it (DNS rebinding: a page's own name pointed at 127.0.0.1);
- an ``Origin`` header, when present, must be the mock's own origin or a ``--cors`` origin;
- control-plane writes must be ``application/json`` (a cross-site "simple" request cannot be);
- ``--cors ORIGIN`` answers preflights and adds CORS headers on the partner API for that origin.

:class:`CrossSiteGuard` is WSGI middleware put around the app by ``serving`` (sockets only: an
in-process client is the test's own code). :func:`install` adds the JSON-write rule to the app
itself, so it holds in-process too. Every answer is a documented route-level response.
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, request

from mockserver.bodies import is_json_media_type
from mockserver.envelopes import DETAIL_HEADER, detail_header_value, error_envelope
from mockserver.spec import Spec

CONTROL_PREFIX = "/__mock/"
#: Methods and headers a browser may use on the partner API, answered to a preflight.
CORS_METHODS = "GET, POST, PUT, PATCH, DELETE"
CORS_HEADERS = (
    "content-type, x-partner-key, x-discord-guild, x-discord-actor, x-mock-namespace, prefer"
)
CORS_EXPOSED = "Allow, Preference-Applied"
CORS_MAX_AGE = "600"
ANY_HOST = "*"

StartResponse = Callable[..., Any]
Environ = dict[str, Any]
#: A whole answer: status, headers, body.
Answer = tuple[int, list[tuple[str, str]], bytes]


class GuardError(ValueError):
    """A ``--allowed-host`` or ``--cors`` value that cannot be used."""


def normalize_origin(value: str) -> str:
    """``scheme://host[:port]`` in lower case, or :class:`GuardError`."""
    parts = urlsplit(value.strip())
    if (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
    ):
        raise GuardError(f"--cors {value!r}: expected an origin such as http://localhost:3000")
    try:
        port = parts.port
    except ValueError:
        raise GuardError(f"--cors {value!r}: invalid port") from None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    return f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")


def host_name(header: str) -> str:
    """The name part of a ``Host`` header: no port, no brackets, lower case, no final dot."""
    value = header.strip().lower()
    if value.startswith("["):
        name = value[1 : value.find("]")] if "]" in value else value[1:]
    else:
        name = value.rsplit(":", 1)[0] if value.count(":") == 1 else value
    return name.removesuffix(".")


#: ``host[:port]`` of a ``Host`` header: a bracketed IPv6 address, or a name of letters, digits,
#: ``-``, ``.`` and ``_`` (DNS names and IPv4 addresses), then an optional port.
_HOST = re.compile(
    r"(?:\[(?P<ip6>[0-9A-Fa-f:.]+)\]|(?P<name>[A-Za-z0-9._-]+))(?::(?P<port>\d{0,5}))?"
)


def parse_host(header: str) -> str | None:
    """The name of a ``Host`` header as :func:`host_name` gives it, or None when the header is
    not exactly one ``host[:port]`` (two ``Host`` headers arrive joined by a comma)."""
    match = _HOST.fullmatch(header.strip())
    if match is None:
        return None
    port = match.group("port")
    if port and int(port) > 65535:
        return None
    ip6 = match.group("ip6")
    if ip6 is not None:
        try:
            ipaddress.IPv6Address(ip6)
        except ValueError:
            return None
        return ip6.lower()
    return match.group("name").lower().removesuffix(".")


def is_loopback(name: str) -> bool:
    """``localhost`` or a loopback address (127.0.0.0/8, ::1)."""
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class CrossSiteGuard:
    """WSGI middleware: refuses foreign ``Host`` and ``Origin`` values, answers CORS."""

    def __init__(
        self,
        app: Callable[[Environ, StartResponse], Iterable[bytes]],
        spec: Spec,
        *,
        bound_host: str,
        allowed_hosts: Iterable[str] = (),
        cors_origins: Iterable[str] = (),
    ) -> None:
        self.app = app
        self.spec = spec
        hosts = {host_name(host) for host in allowed_hosts}
        self.any_host = ANY_HOST in hosts
        self.allowed_hosts = frozenset(hosts | {host_name(bound_host)})
        self.cors_origins = frozenset(normalize_origin(origin) for origin in cors_origins)

    def host_allowed(self, name: str) -> bool:
        """Whether a parsed ``Host`` name (:func:`parse_host`) may reach the mock."""
        return self.any_host or name in self.allowed_hosts or is_loopback(name)

    def refusal(
        self, environ: Mapping[str, Any]
    ) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """The answer to a request from a foreign ``Host`` or ``Origin``; None to let it in.

        Servers call it before reading the body: a refused request is not worth waiting for.
        """
        host = environ.get("HTTP_HOST")
        if host is not None:
            name = parse_host(host)
            if name is None:
                what = (
                    "two Host headers"
                    if "," in host
                    else f"Host: {host[:200]!r} is not host[:port]"
                )
                return self._refusal("malformedRequest", what)
            if not self.host_allowed(name):
                detail = f"Host: {name[:200]} is not this machine (see --allowed-host)"
                return self._refusal("forbiddenHost", detail)
        origin = environ.get("HTTP_ORIGIN")
        if origin is None or self._same_origin(origin, host):
            return None
        if not self._cors_origin(origin):
            detail = f"Origin: {origin[:200]} is not this mock's own (see --cors)"
            return self._refusal("forbiddenOrigin", detail)
        return None

    @staticmethod
    def _same_origin(origin: str, host: str | None) -> bool:
        return host is not None and origin in (f"http://{host}", f"https://{host}")

    def _cors_origin(self, origin: str) -> bool:
        try:
            return normalize_origin(origin) in self.cors_origins
        except GuardError:
            return False

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        refused = self.refusal(environ)
        if refused is not None:
            status, headers, body = refused
            start_response(f"{status} {_REASONS.get(status, 'Error')}", headers)
            return [body]
        origin = environ.get("HTTP_ORIGIN")
        if origin is None or self._same_origin(origin, environ.get("HTTP_HOST")):
            return self.app(environ, start_response)
        if environ.get("PATH_INFO", "").startswith(CONTROL_PREFIX):
            return self.app(environ, start_response)  # CORS covers the partner API only
        cors = [
            ("Access-Control-Allow-Origin", origin),
            ("Vary", "Origin"),
        ]
        if environ.get("REQUEST_METHOD") == "OPTIONS" and (
            "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in environ
        ):
            start_response(
                "204 No Content",
                [
                    *cors,
                    ("Access-Control-Allow-Methods", CORS_METHODS),
                    ("Access-Control-Allow-Headers", CORS_HEADERS),
                    ("Access-Control-Max-Age", CORS_MAX_AGE),
                    ("Content-Length", "0"),
                ],
            )
            return [b""]

        def with_cors(status: str, headers: list[tuple[str, str]], *exc_info: Any) -> Any:
            return start_response(
                status,
                [*headers, *cors, ("Access-Control-Expose-Headers", CORS_EXPOSED)],
                *exc_info,
            )

        return self.app(environ, with_cors)

    def _refusal(self, name: str, detail: str) -> Answer:
        example = self.spec.shared_error(name)
        payload = {"ok": False, "error": example.message}
        body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            (DETAIL_HEADER, detail_header_value(detail)),
            ("Vary", "Origin"),
            ("Connection", "close"),
        ]
        return example.status, headers, body


_REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    408: "Request Timeout",
    415: "Unsupported Media Type",
}


# -- JSON-only control-plane writes (in the app, so in-process clients get it too) ----------------
def install(app: Flask, control_spec: Callable[[], Spec]) -> None:
    """Answer 415 to a control-plane write whose body is not declared ``application/json``."""

    def require_json_writes() -> Response | None:
        environ = request.environ
        if not environ.get("PATH_INFO", "").startswith(CONTROL_PREFIX):
            return None
        if environ.get("REQUEST_METHOD") in ("GET", "HEAD", "OPTIONS"):
            return None
        content_type = environ.get("CONTENT_TYPE")
        if content_type:
            if is_json_media_type(content_type):
                return None
        elif not _has_body(environ):
            return None  # a bare POST (reset, snapshot) carries nothing to misread
        example = control_spec().shared_error("unsupportedMediaType")
        return error_envelope(example, detail=f"Content-Type: {content_type or '(none)'}"[:200])

    app.before_request(require_json_writes)


def _has_body(environ: Mapping[str, Any]) -> bool:
    length = environ.get("CONTENT_LENGTH") or "0"
    chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
    return chunked or length.strip() not in ("", "0")
