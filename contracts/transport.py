"""One HTTP request with one deadline and a cap on the answer's bytes, for hostile targets.

A target may trickle its answer a byte at a time, send 300 MB, or never end its body. Per-read
socket timeouts do not bound any of these, so every request gets a watchdog: at the deadline it
shuts the socket down, whatever the request is doing (connecting, sending, reading headers or
body). The body is read in pieces and given up past ``max_bytes`` (or at once when
``Content-Length`` announces more). Beyond either bound the request raises
:class:`AnswerOutOfBounds`, naming the rule it breaks (``transport.timeout``,
``transport.too-large``).
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from contracts import rules

#: Defaults of ``--request-timeout`` and ``--max-answer-bytes``.
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_BYTES = 16 * 1024 * 1024
TIMEOUT_RULE, TOO_LARGE_RULE = rules.TRANSPORT_TIMEOUT.name, rules.TRANSPORT_TOO_LARGE.name
_PIECE = 64 * 1024


class TargetUnreachable(ConnectionError):
    """The target did not answer at all (or, as :class:`AnswerOutOfBounds`, not within bounds)."""


@dataclass(frozen=True)
class Answer:
    """An answer read whole: status, headers (repeated ones joined with ``, ``), body."""

    status: int
    headers: dict[str, str]
    body: bytes


class AnswerOutOfBounds(TargetUnreachable):
    """The answer broke a bound: ``rule`` is ``transport.timeout`` or ``transport.too-large``."""

    def __init__(self, rule: str, expected: str, received: str, request: str) -> None:
        super().__init__(f"{rule}: {request}: expected {expected}; received {received}")
        self.rule, self.expected, self.received, self.request = rule, expected, received, request
        self.curl = ""  # set by the target, which knows the request's headers


def broken_bound(exc: BaseException | None) -> AnswerOutOfBounds | None:
    """The :class:`AnswerOutOfBounds` in ``exc``'s chain of causes, if any."""
    while exc is not None:
        if isinstance(exc, AnswerOutOfBounds):
            return exc
        exc = exc.__cause__
    return None


class _Watchdog:
    """Shuts the connection's socket down at the deadline."""

    def __init__(self, connection: http.client.HTTPConnection, seconds: float) -> None:
        self.connection = connection
        #: The socket once connected: http.client hands it to a response that reads to EOF.
        self.sock: socket.socket | None = None
        self.fired = threading.Event()
        self.timer = threading.Timer(seconds, self._fire)
        self.timer.daemon = True

    def _fire(self) -> None:
        self.fired.set()
        sock = self.sock or self.connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> _Watchdog:
        self.timer.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.timer.cancel()


def request(
    method: str,
    url: str,
    headers: dict[str, str],
    body: bytes | None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Answer:
    """Send one request; the whole answer within ``timeout`` seconds and ``max_bytes`` bytes.

    Raises :class:`AnswerOutOfBounds` beyond either bound, :class:`TargetUnreachable` when the
    target does not answer at all.
    """
    parts = urlsplit(url)
    kind = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = kind(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
    target = parts.path or "/"
    if parts.query:
        target += f"?{parts.query}"
    label = f"{method} {url}"
    started = time.monotonic()
    read = 0
    try:
        with _Watchdog(connection, timeout) as watchdog:
            try:
                connection.connect()
                watchdog.sock = connection.sock
                # http.client writes the head and the body apart: no Nagle/delayed-ACK stall
                connection.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                connection.request(method, target, body=body, headers=headers)
                response = connection.getresponse()
                declared = response.getheader("content-length")
                if declared is not None and declared.isdigit() and int(declared) > max_bytes:
                    raise _too_large(max_bytes, f"Content-Length: {declared}", label)
                pieces: list[bytes] = []
                while piece := response.read1(_PIECE):
                    read += len(piece)
                    if read > max_bytes:
                        raise _too_large(max_bytes, f"more than {max_bytes} bytes", label)
                    pieces.append(piece)
            except AnswerOutOfBounds:
                raise
            except (OSError, http.client.HTTPException) as exc:
                if watchdog.fired.is_set():
                    raise _timeout(timeout, time.monotonic() - started, read, label) from exc
                reason = type(exc).__name__
                raise TargetUnreachable(f"cannot reach {parts.netloc} ({reason})") from exc
            if watchdog.fired.is_set():  # the shutdown can read as the end of the body
                raise _timeout(timeout, time.monotonic() - started, read, label)
    finally:
        connection.close()
    joined: dict[str, str] = {}
    for name, value in response.getheaders():
        joined[name] = f"{joined[name]}, {value}" if name in joined else value
    return Answer(response.status, joined, b"".join(pieces))


def _timeout(timeout: float, elapsed: float, read: int, label: str) -> AnswerOutOfBounds:
    return AnswerOutOfBounds(
        TIMEOUT_RULE,
        f"a whole answer within {timeout:g} s (--request-timeout)",
        f"no whole answer after {elapsed:.1f} s ({read} body bytes read)",
        label,
    )


def _too_large(max_bytes: int, received: str, label: str) -> AnswerOutOfBounds:
    return AnswerOutOfBounds(
        TOO_LARGE_RULE,
        f"an answer of at most {max_bytes} bytes (--max-answer-bytes)",
        received,
        label,
    )
