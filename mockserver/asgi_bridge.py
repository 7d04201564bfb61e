"""granian's ASGI interface in front of :class:`~mockserver.rsgi_bridge.WsgiOverRsgi`.

granian's RSGI scope carries only the percent-decoded path, so ``/units/active/1A%2F12`` and
``/units/active/1A/12`` arrive alike. Its ASGI scope also carries ``raw_path``, the path as
sent, which the bridge hands to the app as ``RAW_URI`` (see :mod:`mockserver.raw_path`).
:class:`AsgiFront` adapts the ASGI scope, ``receive`` and ``send`` to the small part of RSGI the
bridge uses (scope fields, one awaitable for the body, chunks, ``response_bytes``); everything
else (the body read first within the read timeout, headers as sent) stays in the bridge.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from mockserver.rsgi_bridge import WsgiOverRsgi

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class _Headers:
    """The headers as granian's RSGI gives them: every name in :meth:`keys`, and in
    :meth:`items` only the values that are ASCII (the bridge names the others, and the app
    refuses the request: a value is never read one way here and another way elsewhere)."""

    __slots__ = ("_pairs",)

    def __init__(self, pairs: list[tuple[bytes, bytes]]) -> None:
        self._pairs = pairs

    def keys(self) -> list[str]:
        return [name.decode("latin-1") for name, _ in self._pairs]

    def items(self) -> list[tuple[str, str]]:
        return [
            (name.decode("latin-1"), value.decode("ascii"))
            for name, value in self._pairs
            if value.isascii()
        ]


class _Scope:
    """The RSGI scope fields the bridge reads, from an ASGI HTTP scope."""

    __slots__ = (
        "client",
        "headers",
        "http_version",
        "method",
        "path",
        "proto",
        "query_string",
        "raw_path",
        "scheme",
        "server",
    )

    def __init__(self, scope: dict[str, Any]) -> None:
        self.proto = "http"
        self.http_version: str = scope.get("http_version", "1.1")
        self.method: str = scope["method"]
        self.scheme: str = scope.get("scheme", "http")
        self.path: str = scope["path"]
        self.raw_path: bytes | None = scope.get("raw_path")
        self.query_string = scope.get("query_string", b"").decode("latin-1")
        self.server = _address(scope.get("server"))
        self.client = _address(scope.get("client"))
        self.headers = _Headers(scope.get("headers", []))


def _address(pair: Any) -> str:
    if not pair:
        return ":"
    host, port = pair[0], pair[1]
    return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"


class _Protocol:
    """The RSGI protocol calls the bridge makes, over ASGI's ``receive``; the answer is kept."""

    __slots__ = ("_receive", "answer")

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self.answer: tuple[int, list[tuple[str, str]], bytes] | None = None

    def __call__(self) -> asyncio.Future[bytes]:
        """The whole body, as one cancellable awaitable (the bridge's sweeper cancels it)."""
        return asyncio.ensure_future(self._whole())

    async def _whole(self) -> bytes:
        return b"".join([chunk async for chunk in self._chunks()])

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks()

    async def _chunks(self) -> AsyncIterator[bytes]:
        while True:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ConnectionError("the client went away")
            yield message.get("body", b"")
            if not message.get("more_body", False):
                return

    def response_bytes(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.answer = (status, headers, body)


class AsgiFront:
    """The ASGI application granian calls; it runs ``bridge`` and sends its answer."""

    def __init__(self, bridge: WsgiOverRsgi) -> None:
        self.bridge = bridge

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # no websockets, no lifespan (granian's ASGINL)
            return
        protocol = _Protocol(receive)
        await self.bridge.__rsgi__(_Scope(scope), protocol)
        if protocol.answer is None:  # the client went away mid-body: nobody to answer
            return
        status, headers, body = protocol.answer
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (name.encode("latin-1"), value.encode("latin-1")) for name, value in headers
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
