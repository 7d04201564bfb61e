"""A WSGI app served through granian's RSGI interface: headers as sent, the body read first.

granian's own WSGI worker reads the body on the request thread, with no timeout, and names
both ``x_partner_key`` and ``x-partner-key`` ``HTTP_X_PARTNER_KEY``. Over RSGI the body is read
asynchronously, so :class:`WsgiOverRsgi` can

- drop header names with an underscore, as werkzeug's server does (they would otherwise be
  read as their dashed forms), and name the headers whose value granian could not read (a byte
  outside ASCII) so that the app refuses the request (:mod:`mockserver.request_rules`);
- read the whole body (at most the size limit plus one byte) within the read timeout before the
  app runs: a stalled upload is answered ``408`` and closed, and never holds a request thread
  or a lock while the others wait;
- then call the WSGI app: on the event loop itself with one request thread (the fastest), or on
  a pool of ``threads`` threads.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from mockserver.request_rules import UNREADABLE_HEADERS
from mockserver.spec import Spec
from mockserver.upload_budget import UploadBudget
from mockserver.wsgi_call import read_all

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

_BASE_ENVIRON: dict[str, Any] = {
    "GATEWAY_INTERFACE": "CGI/1.1",
    "SCRIPT_NAME": "",
    "SERVER_SOFTWARE": "northca-mock (granian)",
    "wsgi.errors": sys.stderr,
    "wsgi.input_terminated": True,
    "wsgi.multiprocess": False,
    "wsgi.run_once": False,
    "wsgi.version": (1, 0),
}
#: How often body reads are checked against their deadline (a timeout may be this much late).
SWEEP_SECONDS = 0.25
_UNPREFIXED = {"content-type": "CONTENT_TYPE", "content-length": "CONTENT_LENGTH"}


class _BodyTooLarge(Exception):
    pass


class WsgiOverRsgi:
    """The RSGI application object granian calls (``__rsgi__``)."""

    def __init__(
        self,
        app: WsgiApp,
        spec: Spec | None,
        *,
        refusal: Callable[[dict[str, Any]], tuple[int, list[tuple[str, str]], bytes] | None]
        | None = None,
        read_timeout: float,
        max_body_bytes: int,
        threads: int = 1,
        uploads: UploadBudget | None = None,
    ) -> None:
        self.app = app
        self.spec = spec
        self.refusal = refusal
        self.read_timeout = read_timeout
        self.max_body_bytes = max_body_bytes
        #: Bytes of bodies held at once (a body that does not fit: 503 ``tooManyUploads``).
        self.uploads = uploads or UploadBudget()
        self.threads = threads
        self._pool = (
            ThreadPoolExecutor(threads, thread_name_prefix="northca-request")
            if threads > 1
            else None
        )
        self._base = {**_BASE_ENVIRON, "wsgi.multithread": threads > 1}
        self._header_keys: dict[str, str | None] = {}
        #: Body reads in flight: deadline and awaitable, by id (see ``_sweep``).
        self._reading: dict[int, tuple[float, Any]] = {}
        self._sweeper: asyncio.TimerHandle | None = None
        #: The 408 of a body that is late, built once (the spec's ``requestTimeout``).
        example = spec.shared_error("requestTimeout") if spec is not None else None
        status, message = (example.status, example.message) if example else (408, "Request timeout")
        self._timeout_answer = _closing_answer(status, message)
        busy = spec.shared_error("tooManyUploads") if spec is not None else None
        self._busy_answer = _closing_answer(
            *((busy.status, busy.message) if busy else (503, "Too many uploads in flight"))
        )

    # -- RSGI ------------------------------------------------------------------------------------
    def __rsgi_init__(self, loop: asyncio.AbstractEventLoop) -> None:
        return None

    def __rsgi_del__(self, loop: asyncio.AbstractEventLoop | None) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)

    async def __rsgi__(self, scope: Any, proto: Any) -> None:
        if scope.proto != "http":  # no websockets here
            return
        environ = self._environ(scope)
        if self.refusal is not None:
            refused = self.refusal(environ)
            if refused is not None:  # answered before reading the body
                proto.response_bytes(*refused)
                return
        length_text = environ.get("CONTENT_LENGTH", "")
        chunked = "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
        body = b""
        reserved = 0
        if chunked or length_text not in ("", "0"):
            declared = _int_or_none(length_text)
            if declared is None or declared <= self.max_body_bytes:
                reserved = self.max_body_bytes + 1 if declared is None else max(declared, 0)
                if not self.uploads.take(reserved):
                    proto.response_bytes(*self._busy_answer)  # the body is never read
                    return
                try:
                    if declared is not None:
                        # hyper delivers the declared length, no more: one await, timed by the
                        # sweeper (asyncio.wait_for would cost a third of a request).
                        body = await self._read_declared(proto)
                    else:  # chunked: piece by piece, up to the limit
                        body = await asyncio.wait_for(self._read(proto), self.read_timeout)
                except (asyncio.TimeoutError, TimeoutError, asyncio.CancelledError):
                    self.uploads.give(reserved)
                    proto.response_bytes(*self._timeout_answer)
                    return
                except _BodyTooLarge as too_large:
                    body = too_large.args[0]
                except Exception:  # the client went away mid-body: nobody to answer
                    self.uploads.give(reserved)
                    return
            # else: the app answers 413 from the declared length without reading anything
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            if self._pool is None:
                status, headers, content = self._call(environ)
            else:
                loop = asyncio.get_running_loop()
                status, headers, content = await loop.run_in_executor(
                    self._pool, self._call, environ
                )
        finally:
            if reserved:
                self.uploads.give(reserved)
        proto.response_bytes(status, headers, content)

    # -- parts -----------------------------------------------------------------------------------
    def _environ(self, scope: Any) -> dict[str, Any]:
        server_host, _, server_port = scope.server.rpartition(":")
        client_host, _, client_port = scope.client.rpartition(":")
        path: str = scope.path
        environ: dict[str, Any] = {
            **self._base,
            "REQUEST_METHOD": scope.method,
            "PATH_INFO": path if path.isascii() else path.encode("utf-8").decode("latin-1"),
            "QUERY_STRING": scope.query_string,
            "SERVER_NAME": server_host.strip("[]"),
            "SERVER_PORT": server_port,
            "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
            "REMOTE_ADDR": client_host.strip("[]"),
            "REMOTE_PORT": client_port,
            "wsgi.url_scheme": scope.scheme,
        }
        sent = getattr(scope, "raw_path", None)  # only over ASGI (asgi_bridge): the path as sent
        if sent:
            environ["RAW_URI"] = sent.decode("latin-1")
        keys = self._header_keys
        headers = scope.headers
        items = headers.items()
        names = headers.keys()
        present = {name for name, _ in items}
        # granian leaves out the values it cannot read as text (a byte outside ASCII): name
        # them, so the app refuses the request instead of serving it without them (an empty
        # list: every value here is ASCII, the app need not look).
        environ[UNREADABLE_HEADERS] = (
            [name for name in names if name not in present] if len(present) != len(names) else []
        )
        for name, value in items:
            key = keys.get(name, "")
            if key == "":
                key = _environ_key(name)
                if len(keys) < 1024:
                    keys[name] = key
            if key is None:
                continue
            previous = environ.get(key)
            environ[key] = value if previous is None else f"{previous},{value}"
        return environ

    async def _read_declared(self, proto: Any) -> bytes:
        """The whole body, or ``TimeoutError`` when it is not in within the read timeout."""
        reading = proto()
        key = id(reading)
        self._reading[key] = (time.monotonic() + self.read_timeout, reading)
        if self._sweeper is None:
            self._sweeper = asyncio.get_running_loop().call_later(SWEEP_SECONDS, self._sweep)
        try:
            body: bytes = await reading
        except asyncio.CancelledError:
            if self._reading.pop(key, None) is None:  # cancelled by the sweeper
                raise TimeoutError("request body") from None
            raise
        finally:
            self._reading.pop(key, None)
        return body

    def _sweep(self) -> None:
        """Cancel the body reads past their deadline; run again while any is in flight."""
        now = time.monotonic()
        for key, (deadline, reading) in list(self._reading.items()):
            if deadline <= now:
                del self._reading[key]
                reading.cancel()
        self._sweeper = (
            asyncio.get_running_loop().call_later(SWEEP_SECONDS, self._sweep)
            if self._reading
            else None
        )

    async def _read(self, proto: Any) -> bytes:
        limit = self.max_body_bytes
        chunks: list[bytes] = []
        size = 0
        async for chunk in proto:
            chunks.append(chunk)
            size += len(chunk)
            if size > limit:  # the app reads limit + 1 bytes and answers 413
                raise _BodyTooLarge(b"".join(chunks)[: limit + 1])
        return b"".join(chunks)

    def _call(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        started: list[Any] = []

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Any:
            started[:] = [status, headers]
            return lambda data: None

        content = read_all(self.app(environ, start_response))
        status, headers = started
        return int(status.split(" ", 1)[0]), list(headers), content


def _closing_answer(status: int, message: str) -> tuple[int, list[tuple[str, str]], bytes]:
    """An envelope answer after which the connection is closed."""
    return (
        status,
        [("content-type", "application/json"), ("connection", "close")],
        json.dumps({"ok": False, "error": message}, separators=(",", ":")).encode(),
    )


def _environ_key(name: str) -> str | None:
    """The environ key of a header; None for names with an underscore (dropped, like werkzeug)."""
    if "_" in name:
        return None
    lowered = name.lower()
    return _UNPREFIXED.get(lowered) or "HTTP_" + lowered.upper().replace("-", "_")


def _int_or_none(text: str) -> int | None:
    try:
        return int(text)
    except ValueError:
        return None
