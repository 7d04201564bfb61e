"""Forward one request to the upstream and read its whole answer, with one deadline.

The standard library's ``http.client``, not an HTTP client package: the bare install then needs
nothing more, and it does exactly what a byte-exact pass-through needs (no redirects followed,
no body decoded or re-encoded, header order and repeated headers kept).

Hop-by-hop headers are dropped both ways, as RFC 9110 §7.6.1 asks of an intermediary:
``Connection`` and every header it names, ``Proxy-Connection``, ``Keep-Alive``, ``TE``,
``Transfer-Encoding``, ``Upgrade`` (and ``Trailer``). ``Host`` names the upstream.
"""

from __future__ import annotations

import http.client
import ssl
import time
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit

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
_CHUNK = 1 << 16


class UpstreamError(Exception):
    """The upstream gave no HTTP answer: ``kind`` is ``unreachable`` (502) or ``timeout`` (504)."""

    def __init__(self, kind: str, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


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


class Upstream:
    """The base URL requests go to (``https://api.northca.dev/v1``), and the timeout."""

    def __init__(self, url: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"--upstream must be an http(s) URL, not {url!r}")
        self.url = url.rstrip("/")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port or (443 if parts.scheme == "https" else 80)
        self.base_path = parts.path.rstrip("/")
        self.netloc = parts.netloc.rpartition("@")[2]
        self.timeout = timeout

    def _connection(self) -> http.client.HTTPConnection:
        if self.scheme == "https":
            context = ssl.create_default_context()
            return http.client.HTTPSConnection(
                self.host, self.port, timeout=self.timeout, context=context
            )
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def forward(
        self, method: str, target: str, headers: Sequence[tuple[str, str]], body: bytes
    ) -> Answer:
        """Send ``method`` to ``base_path + target`` (path and query) and read the answer.

        Raises ``UpstreamError``: ``timeout`` when the whole exchange takes longer than the
        timeout, ``unreachable`` for any other failure to get an HTTP answer.
        """
        deadline = time.monotonic() + self.timeout
        connection = self._connection()
        try:
            connection.putrequest(
                method, self.base_path + target, skip_host=True, skip_accept_encoding=True
            )
            connection.putheader("Host", self.netloc)
            for name, value in end_to_end(headers):
                if name.lower() not in ("host", "content-length"):
                    connection.putheader(name, value)
            if body or method in ("POST", "PUT", "PATCH"):
                connection.putheader("Content-Length", str(len(body)))
            connection.putheader("Connection", "close")
            connection.endheaders(body or None)
            response = connection.getresponse()
            chunks = []
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("the answer took longer than the timeout")
                if connection.sock is not None:
                    connection.sock.settimeout(remaining)
                chunk = response.read1(_CHUNK)
                if not chunk:
                    break
                chunks.append(chunk)
            return Answer(
                response.status,
                response.reason,
                end_to_end(response.getheaders()),
                b"".join(chunks),
            )
        except TimeoutError as exc:
            raise UpstreamError("timeout", f"no answer within {self.timeout:g} s ({exc})") from None
        except (OSError, http.client.HTTPException) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else repr(exc)
            raise UpstreamError("unreachable", f"{self.netloc}: {reason}") from None
        finally:
            connection.close()
