"""A tiny hostile HTTP server on a raw socket, for the checker's bounds (the proxy's hostile
upstream is ``tests.hostile``): it answers every request by trickling a body forever, announcing
a 300 MB body and sending it, or sending an endless chunked body. It reads only the request's
head and stops with the ``with`` block."""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType

HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
MODES = ("trickle", "huge", "endless")


class HostileServer:
    """``HostileServer(mode)`` on 127.0.0.1 and a free port; ``url`` is its root."""

    def __init__(self, mode: str) -> None:
        assert mode in MODES
        self.mode = mode
        self.stopped = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def __enter__(self) -> HostileServer:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stopped.set()
        self.listener.close()

    def _accept(self) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client:
            try:
                head = b""
                while b"\r\n\r\n" not in head:
                    piece = client.recv(65536)
                    if not piece:
                        return
                    head += piece
                getattr(self, f"_{self.mode}")(client)
            except OSError:
                return

    def _trickle(self, client: socket.socket) -> None:
        client.sendall(HEAD + b"Content-Length: 1000000\r\n\r\n")
        while not self.stopped.is_set():
            client.sendall(b" ")
            time.sleep(0.05)

    def _huge(self, client: socket.socket) -> None:
        client.sendall(HEAD + b"Content-Length: 314572800\r\n\r\n")
        zeros = b"0" * 65536
        for _ in range(314572800 // len(zeros)):
            if self.stopped.is_set():
                return
            client.sendall(zeros)

    def _endless(self, client: socket.socket) -> None:
        client.sendall(HEAD + b"Transfer-Encoding: chunked\r\n\r\n")
        chunk = b"10000\r\n" + b"1" * 65536 + b"\r\n"
        while not self.stopped.is_set():
            client.sendall(chunk)
