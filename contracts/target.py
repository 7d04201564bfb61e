"""Targets: where the checks send requests (a URL, or a WSGI app in-process), and what comes back.

The checks see only :class:`Target` and :class:`Exchange` (one request and its answer), so the
same workflows run against a real server, ``northca-mock serve`` or ``create_app()``. A target
sends partner-API requests (``send``) and control-plane requests (``control``), and says where
schemathesis can reach it (``served``: a URL, or None when it cannot be served; that stage is then
reported as skipped).
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlencode, urlsplit

from contracts import transport
from contracts.transport import TargetUnreachable

__all__ = ["Auth", "Exchange", "HttpTarget", "Target", "TargetUnreachable", "WsgiTarget"]

#: Placeholder for a body that is not JSON (``send(..., raw=b"{")``).
JSON_TYPE = "application/json"


@dataclass(frozen=True)
class Auth:
    """Who calls: partner key, guild, actor, the MDT linked to the guild, and its owner."""

    partner_key: str
    guild: str
    mdt: str
    actor: str | None = None
    owner: str | None = None

    def headers(
        self, *, actor: str | bool | None = True, guild: str | None = None
    ) -> dict[str, str]:
        """Partner headers; ``actor=False`` drops the actor, a string replaces it."""
        headers = {"x-partner-key": self.partner_key, "x-discord-guild": guild or self.guild}
        who = self.actor if actor is True else (None if actor is False else actor)
        if who:
            headers["x-discord-actor"] = who
        return headers


def _lookup(headers: Mapping[str, str], name: str) -> str | None:
    lowered = name.lower()
    return next((v for k, v in headers.items() if k.lower() == lowered), None)


@dataclass
class Exchange:
    """One request and the answer to it."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int
    headers: dict[str, str]
    body: bytes
    operation_id: str | None = None
    _json: Any = field(default=None, repr=False)
    _parsed: bool = field(default=False, repr=False)

    @property
    def json(self) -> Any:
        """The answer parsed as JSON, or None."""
        if not self._parsed:
            self._parsed = True
            try:
                self._json = json.loads(self.body)
            except ValueError:
                self._json = None
        return self._json

    @property
    def data(self) -> Any:
        payload = self.json
        return payload.get("data") if isinstance(payload, dict) else None

    @property
    def error(self) -> Any:
        payload = self.json
        return payload.get("error") if isinstance(payload, dict) else None

    def header(self, name: str) -> str | None:
        """An answer header, by name in any casing."""
        return _lookup(self.headers, name)

    def request_header(self, name: str) -> str | None:
        """A header of the request as sent, by name in any casing."""
        return _lookup(self.request_headers, name)

    def received(self) -> str:
        """A short description of the answer (status and body)."""
        text = self.body.decode("utf-8", "replace")
        return f"{self.status} {text[:300]}{'...' if len(text) > 300 else ''}"

    def curl(self) -> str:
        """A curl command that sends the same request."""
        parts = ["curl", "-i", "-X", self.method, shlex.quote(self.url)]
        for name, value in self.request_headers.items():
            parts += ["-H", shlex.quote(f"{name}: {value}")]
        if self.request_body is not None:
            parts += ["--data-raw", shlex.quote(self.request_body.decode("utf-8", "replace"))]
        return " ".join(parts)


class Target(Protocol):
    """Anything that can answer partner-API requests."""

    base_url: str

    def send(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        json_body: Any = None,
        raw: bytes | None = None,
        content_type: str | None = None,
    ) -> Exchange: ...

    def control(self, method: str, path: str, json: Any = None) -> Exchange:
        """A request to the mock's control plane (``/__mock/...``, outside the base path);
        raise NotImplementedError if the target has none."""
        ...

    def served(self) -> AbstractContextManager[str | None]:
        """While the block runs, the base URL schemathesis may send to; None if it cannot be
        served (return ``contextlib.nullcontext()``)."""
        ...


def _encode(
    headers: Mapping[str, str] | None, json_body: Any, raw: bytes | None, content_type: str | None
) -> tuple[dict[str, str], bytes | None]:
    out = dict(headers or {})
    body: bytes | None = raw
    if json_body is not None:
        body = json.dumps(json_body).encode()
    if body is not None:
        out["content-type"] = content_type or JSON_TYPE
    return out, body


def _url(base: str, path: str, query: Mapping[str, Any] | None) -> str:
    url = base.rstrip("/") + path
    return f"{url}?{urlencode(query)}" if query else url


@dataclass(frozen=True)
class _Request:
    method: str
    path: str
    query: Mapping[str, Any] | None
    headers: dict[str, str]
    body: bytes | None


class _Target:
    """What :class:`HttpTarget` and :class:`WsgiTarget` share: a subclass answers an encoded
    request (``_answer``) and knows its server's root (``_root``, for the control plane)."""

    base_url: str

    def send(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        query: Mapping[str, Any] | None = None,
        json_body: Any = None,
        raw: bytes | None = None,
        content_type: str | None = None,
    ) -> Exchange:
        sent, body = _encode(headers, json_body, raw, content_type)
        return self._answer(_Request(method, path, query, sent, body))

    def control(self, method: str, path: str, json: Any = None) -> Exchange:
        """A request to the mock's control plane (``/__mock/...``, outside the base path)."""
        return self._root().send(method, path, json_body=json)

    def _answer(self, request: _Request) -> Exchange:
        raise NotImplementedError

    def _root(self) -> _Target:
        raise NotImplementedError


class HttpTarget(_Target):
    """A server reached over HTTP, e.g. ``HttpTarget("http://127.0.0.1:4010/v1")``.

    Every request is bounded (:mod:`contracts.transport`): its whole answer within ``timeout``
    seconds and ``max_bytes`` bytes, else :class:`~contracts.transport.AnswerOutOfBounds`.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = transport.DEFAULT_TIMEOUT,
        max_bytes: int = transport.DEFAULT_MAX_BYTES,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.max_bytes = max_bytes

    def _answer(self, request: _Request) -> Exchange:
        url = _url(self.base_url, request.path, request.query)
        try:
            answer = transport.request(
                request.method,
                url,
                request.headers,
                request.body,
                timeout=self.timeout,
                max_bytes=self.max_bytes,
            )
        except transport.AnswerOutOfBounds as exc:
            sent = Exchange(request.method, url, request.headers, request.body, 0, {}, b"")
            exc.curl = sent.curl()
            raise
        return Exchange(
            request.method,
            url,
            request.headers,
            request.body,
            answer.status,
            answer.headers,
            answer.body,
        )

    def _root(self) -> HttpTarget:
        parts = urlsplit(self.base_url)
        return type(self)(
            f"{parts.scheme}://{parts.netloc}", timeout=self.timeout, max_bytes=self.max_bytes
        )

    def served(self) -> AbstractContextManager[str | None]:
        """The server is already reachable at its own URL."""
        return nullcontext(self.base_url)


class WsgiTarget(_Target):
    """A WSGI app called in-process, e.g. ``WsgiTarget(create_app())``."""

    def __init__(self, app: Any, *, base_path: str = "/v1") -> None:
        from werkzeug.test import Client

        self.app = app
        self.base_url = "http://localhost" + base_path.rstrip("/")
        self.base_path = base_path.rstrip("/")
        self.client = Client(app)

    def _answer(self, request: _Request) -> Exchange:
        answer = self.client.open(
            self.base_path + request.path,
            method=request.method,
            headers=request.headers,
            data=request.body,
            query_string=dict(request.query or {}),
        )
        return Exchange(
            request.method,
            _url(self.base_url, request.path, request.query),
            request.headers,
            request.body,
            answer.status_code,
            dict(answer.headers),
            answer.get_data(),
        )

    def _root(self) -> WsgiTarget:
        root = WsgiTarget(self.app, base_path="")
        root.client = self.client
        return root

    def served(self) -> AbstractContextManager[str | None]:
        """The app served on a loopback port in a thread (:mod:`mockserver.threaded`)."""
        from mockserver.threaded import served

        return served(self.app, self.base_path)
