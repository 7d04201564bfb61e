"""Hostile peers for the proxy: an upstream and a client speaking raw bytes over sockets.

- :class:`HostileUpstream`: a tiny raw-socket server; each connection reads the request, then a
  script writes whatever it likes: trickled status lines, lying lengths, ``1xx`` answers, bare
  CRs, gzip bombs, endless bodies, silence.
- The client helpers (:func:`connect`, :func:`send_slowly`, :func:`read_all`) hold connections
  open, trickle bytes and read whatever comes back, with a deadline.
- :func:`peak_rss` reads a process's peak resident memory (Linux ``VmHWM``).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from tests.live import RawResponse, parse_response


class Peer:
    """One connection the hostile upstream accepted: the request it read, and ways to answer."""

    def __init__(self, sock: socket.socket, stopped: threading.Event) -> None:
        self.sock = sock
        self.stopped = stopped
        self.request = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def trickle(self, data: bytes, every: float, size: int = 1) -> None:
        """``data`` ``size`` bytes at a time, one piece every ``every`` seconds."""
        for start in range(0, len(data), size):
            if self.stopped.wait(every):
                return
            self.sock.sendall(data[start : start + size])

    def endless(self, piece: bytes = b"0" * 65536, most: int = 1 << 30) -> None:
        """``piece`` over and over (up to ``most`` bytes), until the proxy stops reading."""
        sent = 0
        while sent < most and not self.stopped.is_set():
            self.sock.sendall(piece)
            sent += len(piece)

    def hold(self, seconds: float) -> None:
        self.stopped.wait(seconds)


Script = Callable[[Peer], None]


def head(status: str = "200 OK", headers: Sequence[tuple[str, str]] = ()) -> bytes:
    """A status line and headers, ending with the empty line."""
    lines = [f"HTTP/1.1 {status}", *(f"{n}: {v}" for n, v in headers), "", ""]
    return "\r\n".join(lines).encode("latin-1")


def answer(body: bytes, status: str = "200 OK", content_type: str = "application/json") -> bytes:
    """A whole, valid answer."""
    headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
    return head(status, headers) + body


def gzip_bomb(size: int) -> bytes:
    """``size`` zero bytes, gzipped (about 1/1000 of ``size``)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b"\0" * (1 << 20)
    parts = [packer.compress(block) for _ in range(size // len(block))]
    return b"".join([*parts, packer.flush()])


class HostileUpstream:
    """A raw-socket HTTP "server" that answers every connection with ``script``."""

    def __init__(self, script: Script) -> None:
        self.script = script
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self.connections = 0
        self.requests: list[bytes] = []
        self.stopped = threading.Event()
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept, daemon=True)

    def __enter__(self) -> HostileUpstream:
        self._acceptor.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopped.set()
        self.listener.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, sock: socket.socket) -> None:
        peer = Peer(sock, self.stopped)
        with sock, contextlib.suppress(OSError):
            sock.settimeout(10)
            peer.request = _read_request(sock)
            self.requests.append(peer.request)
            self.script(peer)
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(2)
            while sock.recv(65536):  # let the proxy close first: no RST on unread bytes
                pass


def _read_request(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk
    head_part, _, body = data.partition(b"\r\n\r\n")
    length = 0
    for line in head_part.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return head_part + b"\r\n\r\n" + body


# -- the hostile client ---------------------------------------------------------------------------
def connect(address: tuple[str, int], timeout: float = 30.0) -> socket.socket:
    return socket.create_connection(address, timeout=timeout)


def send_slowly(sock: socket.socket, data: bytes, every: float, stop_after: float) -> None:
    """``data`` one byte every ``every`` seconds, for at most ``stop_after`` seconds."""
    deadline = time.monotonic() + stop_after
    for byte in data:
        if time.monotonic() > deadline:
            return
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return
        time.sleep(every)


def read_all(sock: socket.socket, timeout: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes (or ``timeout``), and when it closed."""
    start = time.monotonic()
    data = b""
    sock.settimeout(timeout)
    with contextlib.suppress(OSError):
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return data, time.monotonic() - start


def request_bytes(
    method: str, path: str, headers: Sequence[tuple[str, str]] = (), body: bytes = b""
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", *(f"{n}: {v}" for n, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def exchange(address: tuple[str, int], data: bytes, timeout: float = 30.0) -> RawResponse:
    """Send ``data`` whole and parse what comes back before the server closes."""
    with connect(address, timeout) as sock:
        with contextlib.suppress(OSError):
            sock.sendall(data)
        received, _ = read_all(sock, timeout)
    return parse_response(received)


@contextlib.contextmanager
def idle_connections(address: tuple[str, int], count: int) -> Iterator[list[socket.socket]]:
    """``count`` connections that send nothing."""
    socks = [connect(address) for _ in range(count)]
    try:
        yield socks
    finally:
        for sock in socks:
            sock.close()


def peak_rss(pid: int) -> int:
    """The peak resident memory of process ``pid``, in bytes (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise LookupError("no VmHWM")
