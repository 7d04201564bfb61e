"""A bounded HTTP proxy on loopback for the schemathesis stage.

schemathesis reads every answer whole, with a timeout per socket read only, so a target that
trickles or sends an endless body would hold it forever or fill memory. Its requests are sent
through this relay instead (schemathesis' ``proxy`` setting): each one is forwarded with
:func:`contracts.transport.request` (one deadline, a byte cap). The first answer beyond a bound is
kept in :attr:`Relay.broken`; that request and every later one are reset without an answer, so
schemathesis stops at once (it treats a reset connection as a server gone away), and the runner
reports the bound as a ``transport.*`` violation.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from contracts import transport

#: Headers of one connection (RFC 9110 section 7.6.1), and what the relay sets itself.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)


class Relay:
    """Forwards absolute-form requests within ``timeout`` and ``max_bytes``."""

    def __init__(self, timeout: float, max_bytes: int) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.broken: list[transport.AnswerOutOfBounds] = []
        self._lock = threading.Lock()

    def forward(
        self, method: str, url: str, headers: dict[str, str], body: bytes | None
    ) -> transport.Answer | None:
        """The target's answer, or None once a bound was broken (this request or before)."""
        if self.broken:
            return None
        try:
            return transport.request(
                method, url, headers, body, timeout=self.timeout, max_bytes=self.max_bytes
            )
        except transport.AnswerOutOfBounds as exc:
            with self._lock:
                self.broken.append(exc)
            return None


def _handler(relay: Relay) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are two writes: no delayed-ACK stall

        def __getattr__(self, name: str) -> Any:
            """Every method is relayed (``QUERY`` too), never answered 501 by the relay."""
            if name.startswith("do_"):
                return self._relay
            raise AttributeError(name)

        def log_message(self, format: str, *args: object) -> None:
            pass

        def _relay(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length and hasattr(socket, "TCP_QUICKACK"):  # ACK the head now: a client that
                # writes head and body apart (Nagle) would otherwise wait for a delayed ACK
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            answer = relay.forward(self.command, self.path, headers, body)
            if answer is None:  # reset: schemathesis stops instead of waiting on every request
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                return
            self.send_response_only(answer.status)
            for name, value in answer.headers.items():
                if name.lower() not in HOP_BY_HOP:
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)

    return Handler


@contextmanager
def relaying(timeout: float, max_bytes: int) -> Iterator[tuple[str, Relay]]:
    """A relay on 127.0.0.1 and a free port while the block runs: (its proxy URL, the relay)."""
    relay = Relay(timeout, max_bytes)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(relay))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="northca-relay", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", relay
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
