"""Forward one request to the upstream and read its whole answer, with one deadline and a cap.

The request is written and the answer parsed by ``h11`` (a strict HTTP/1.1 state machine) on a
plain socket, so that:

- one deadline (``--timeout``) covers the whole exchange: connect, status line, headers, any
  number of ``1xx`` answers, and the body; each read waits only for what is left of it;
- the body is read up to ``max_body_bytes`` (``--max-body-bytes``), never beyond;
- an answer that is not valid HTTP/1.1 (a bare CR in a header, conflicting ``Content-Length``
  values, a body shorter than its length, a bad status line) is an :class:`UpstreamError`, never
  an answer; ``1xx`` answers are skipped and a repeated equal ``Content-Length`` is made one,
  each noted in :attr:`Forwarded.notes`.

Nothing is followed, decoded or re-encoded: redirects come back as they are, header order and
repeated headers are kept. Hop-by-hop headers are dropped both ways, as RFC 9110 §7.6.1 asks of
an intermediary: ``Connection`` and every header it names, ``Proxy-Connection``, ``Keep-Alive``,
``TE``, ``Transfer-Encoding``, ``Upgrade`` (and ``Trailer``). ``Host`` names the upstream.
"""

from __future__ import annotations

import base64
import re
import socket
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import h11

from mockserver.answer import Answer

HOP_BY_HOP = frozenset(
    {
        "connection",
        "proxy-connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
DEFAULT_TIMEOUT = 30.0
#: Answer bodies (and request bodies) larger than this are refused (``--max-body-bytes``).
DEFAULT_MAX_BODY_BYTES = 8 << 20
#: The longest status line plus headers accepted from the upstream.
MAX_HEAD_BYTES = 64 << 10
_CHUNK = 1 << 16
_CONTENT_LENGTH_LINE = re.compile(rb"(?im)^content-length[ \t]*:")
_INFORMATIONAL = re.compile(rb"HTTP/\d\.\d 1\d\d")


class UpstreamError(Exception):
    """The upstream gave no usable answer.

    ``kind``: ``unreachable`` (502: no connection, or no valid HTTP answer), ``malformed`` (502:
    an answer that breaks HTTP/1.1), ``too_large`` (502: a body over the cap) or ``timeout``
    (504). ``status`` is the upstream's status when its head was read.
    """

    def __init__(self, kind: str, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class Forwarded:
    """The upstream's final answer, and what was made valid on the way (``notes``)."""

    answer: Answer
    notes: list[str] = field(default_factory=list)


def end_to_end(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """``headers`` without the hop-by-hop ones (RFC 9110 §7.6.1)."""
    pairs = list(headers)
    named = {
        option.strip().lower()
        for name, value in pairs
        if name.lower() == "connection"
        for option in value.split(",")
    }
    return [(n, v) for n, v in pairs if n.lower() not in HOP_BY_HOP and n.lower() not in named]


def without_userinfo(url: str) -> str:
    """``url`` with any ``user:password@`` removed (what may be printed or written)."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


class Upstream:
    """The base URL requests go to (``https://api.northca.dev/v1``), the timeout and the cap.

    ``url`` never holds userinfo; ``user:password@`` in the given URL is sent as HTTP Basic
    authorization (unless the client sends its own) and kept in :attr:`secrets`.
    """

    def __init__(
        self,
        url: str,
        timeout: float = DEFAULT_TIMEOUT,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--upstream must be an http(s) URL, not {without_userinfo(url)!r}")
        self.url = without_userinfo(url).rstrip("/")
        self.scheme = parts.scheme
        self.host = parts.hostname
        try:
            self.port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ValueError(f"--upstream {self.url!r}: invalid port") from None
        self.base_path = parts.path.rstrip("/")
        self.netloc = parts.netloc.rpartition("@")[2]
        self.timeout = timeout
        self.max_body_bytes = max_body_bytes
        userinfo = parts.netloc.rpartition("@")[0] if "@" in parts.netloc else ""
        #: What must never be written: the URL's userinfo, raw and decoded.
        self.secrets = tuple(
            s for s in {userinfo, unquote(userinfo), unquote(parts.password or "")} if s
        )
        self._basic = (
            "Basic " + base64.b64encode(unquote(userinfo).encode()).decode() if userinfo else None
        )
        if self._basic:
            self.secrets += (self._basic.split()[1],)

    def _connect(self, deadline: float) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=_left(deadline))
        if self.scheme == "https":
            context = ssl.create_default_context()
            sock = context.wrap_socket(sock, server_hostname=self.host)
        return sock

    def forward(
        self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> Forwarded:
        """Send ``method`` to ``base_path + target`` (path and query) and read the answer.

        Raises :class:`UpstreamError` (see its kinds).
        """
        deadline = time.monotonic() + self.timeout
        sock: socket.socket | None = None
        try:
            sock = self._connect(deadline)
            client = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD_BYTES)
            _send_all(sock, client.send(self._request(method, target, headers, body)), deadline)
            if body:
                _send_all(sock, client.send(h11.Data(data=body)), deadline)
            _send_all(sock, client.send(h11.EndOfMessage()), deadline)
            return self._read(sock, client, deadline)
        except _Timeout:
            raise UpstreamError("timeout", f"no answer within {self.timeout:g} s") from None
        except TimeoutError:
            raise UpstreamError("timeout", f"no answer within {self.timeout:g} s") from None
        except h11.LocalProtocolError as exc:
            raise UpstreamError("unreachable", f"cannot send the request: {exc}") from None
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            raise UpstreamError("unreachable", f"{self.netloc}: {reason}") from None
        finally:
            if sock is not None:
                sock.close()

    def _request(
        self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> h11.Request:
        sent: list[tuple[bytes, bytes]] = [(b"Host", self.netloc.encode("idna"))]
        names = set()
        for name, value in end_to_end(headers):
            lower = name.lower()
            if lower not in ("host", "content-length", "expect"):
                names.add(lower)
                sent.append((name.encode("latin-1"), value.encode("latin-1")))
        if self._basic and "authorization" not in names:
            sent.append((b"Authorization", self._basic.encode()))
        if body or method in ("POST", "PUT", "PATCH"):
            sent.append((b"Content-Length", str(len(body)).encode()))
        sent.append((b"Connection", b"close"))
        path = (self.base_path + target).encode("latin-1")
        return h11.Request(method=method.encode("latin-1"), target=path, headers=sent)

    def _read(self, sock: socket.socket, client: h11.Connection, deadline: float) -> Forwarded:
        notes: list[str] = []
        head = bytearray()  # the first bytes of the answer, to look for repeated headers
        response: h11.Response | None = None
        chunks: list[bytes] = []
        size = 0
        try:
            while True:
                event = client.next_event()
                if event is h11.NEED_DATA:
                    data = _receive(sock, deadline)
                    if response is None and len(head) <= MAX_HEAD_BYTES:
                        head += data
                    client.receive_data(data)
                elif isinstance(event, h11.InformationalResponse):
                    notes.append(f"a {event.status_code} answer before the final one (skipped)")
                elif isinstance(event, h11.Response):
                    response = event
                    if _repeated_length(bytes(head)):
                        notes.append("Content-Length sent twice (forwarded once)")
                elif isinstance(event, h11.Data):
                    size += len(event.data)
                    if size > self.max_body_bytes:
                        raise UpstreamError(
                            "too_large",
                            f"answer body over {self.max_body_bytes} bytes",
                            response.status_code if response is not None else None,
                        )
                    chunks.append(bytes(event.data))
                elif isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)) and response:
                    return Forwarded(_answer(response, b"".join(chunks)), notes)
                else:
                    raise h11.RemoteProtocolError(f"unexpected {type(event).__name__}")
        except h11.RemoteProtocolError as exc:
            if not head:
                reason = f"{self.netloc}: closed without an answer"
                raise UpstreamError("unreachable", reason) from None
            status = response.status_code if response is not None else None
            raise UpstreamError("malformed", f"not valid HTTP/1.1: {exc}", status) from None


class _Timeout(Exception):
    """The deadline passed."""


def _left(deadline: float) -> float:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise _Timeout
    return remaining


def _send_all(sock: socket.socket, data: bytes | None, deadline: float) -> None:
    view = memoryview(data or b"")
    while view:
        sock.settimeout(_left(deadline))
        sent = sock.send(view[:_CHUNK])
        view = view[sent:]


def _receive(sock: socket.socket, deadline: float) -> bytes:
    sock.settimeout(_left(deadline))
    try:
        return sock.recv(_CHUNK)
    except ConnectionResetError:
        return b""  # as a close: h11 says whether the answer was complete


def _repeated_length(head: bytes) -> bool:
    """Whether the final answer's head (after any ``1xx`` heads) names ``Content-Length`` twice."""
    start = 0
    while True:
        end = head.find(b"\r\n\r\n", start)
        block = head[start : end if end != -1 else len(head)]
        if end == -1 or not _INFORMATIONAL.match(block):
            return len(_CONTENT_LENGTH_LINE.findall(block)) > 1
        start = end + 4


def _answer(response: h11.Response, body: bytes) -> Answer:
    headers = [
        (name.decode("latin-1"), value.decode("latin-1"))
        for name, value in response.headers.raw_items()
    ]
    return Answer(
        response.status_code, response.reason.decode("latin-1"), end_to_end(headers), body
    )
