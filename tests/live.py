"""A live mock for the socket-level tests: ``python -m mockserver serve`` on 127.0.0.1, port 0.

``LiveMock`` starts the CLI as a subprocess, waits (bounded) for its ``northca-mock serving
http://...`` line, parses the URL, and stops it with SIGTERM (SIGKILL only if it hangs).
``raw_request`` sends bytes exactly as given over a socket, for requests that ``requests`` would
refuse to build (NUL bytes, undecodable paths, huge headers).
"""

from __future__ import annotations

import contextlib
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import requests

ROOT = Path(__file__).resolve().parents[1]
SERVING = re.compile(r"northca-mock (?:proxy )?serving (http://[^\s,]+)")
START_TIMEOUT = 20.0
STOP_TIMEOUT = 15.0


class LiveMockError(RuntimeError):
    """The mock did not start, or did not stop, in time."""


class LiveMock:
    """The mock CLI as a subprocess; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        *args: str | Path,
        host: str | None = "127.0.0.1",
        env: Mapping[str, str] | None = None,
        subcommand: str = "serve",
    ) -> None:
        """``args`` go to ``subcommand`` (``serve`` or ``proxy``); ``host=None`` leaves
        ``--host`` to the CLI's default."""
        self.subcommand = subcommand
        self.args = [str(arg) for arg in args]
        if host is not None and "--host" not in self.args:
            self.args = ["--host", host, *self.args]
        if "--port" not in self.args:
            self.args = [*self.args, "--port", "0"]
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.process: subprocess.Popen[str] | None = None
        self.url = ""
        self.stdout_lines: list[str] = []
        self.stderr_lines: list[str] = []
        self._lines: queue.Queue[str | None] = queue.Queue()
        self._readers: list[threading.Thread] = []
        self.session = requests.Session()

    # -- lifecycle ---------------------------------------------------------------------------
    @property
    def command(self) -> list[str]:
        return [sys.executable, "-m", "mockserver", self.subcommand, *self.args]

    def start(self, timeout: float = START_TIMEOUT) -> LiveMock:
        self.process = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        assert self.process.stdout is not None and self.process.stderr is not None
        self._readers = [
            threading.Thread(
                target=self._read, args=(self.process.stdout, self.stdout_lines, True), daemon=True
            ),
            threading.Thread(
                target=self._read, args=(self.process.stderr, self.stderr_lines, False), daemon=True
            ),
        ]
        for reader in self._readers:
            reader.start()
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.kill()
                raise LiveMockError(f"no 'serving' line within {timeout}s: {self.output()}")
            try:
                line = self._lines.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue
            if line is None:
                self.process.wait(timeout=STOP_TIMEOUT)
                raise LiveMockError(
                    f"mock exited with {self.process.returncode} before serving: {self.output()}"
                )
            match = SERVING.search(line)
            if match:
                self.url = match.group(1)
                return self

    def _read(self, stream: IO[str], sink: list[str], signal_lines: bool) -> None:
        for line in stream:
            sink.append(line.rstrip("\n"))
            if signal_lines:
                self._lines.put(line)
        if signal_lines:
            self._lines.put(None)

    def stop(self, signum: int = signal.SIGTERM, timeout: float = STOP_TIMEOUT) -> int:
        """Send ``signum`` and wait for the exit code (SIGKILL after ``timeout``)."""
        self.session.close()
        process = self.process
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(signum)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=timeout)
                raise LiveMockError(f"mock ignored signal {signum}: {self.output()}") from None
        for reader in self._readers:
            reader.join(timeout=timeout)
        return process.returncode

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=STOP_TIMEOUT)

    def output(self) -> str:
        return "stdout: {!r} stderr: {!r}".format(
            "\n".join(self.stdout_lines), "\n".join(self.stderr_lines)
        )

    def __enter__(self) -> LiveMock:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        finally:
            self.kill()

    # -- requests ----------------------------------------------------------------------------
    @property
    def address(self) -> tuple[str, int]:
        host, _, port = self.url.removeprefix("http://").rstrip("/").rpartition(":")
        return host, int(port)

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.session.request(method, self.url + path, **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("POST", path, **kwargs)

    def healthy(self) -> bool:
        """The server still answers a control-plane read with its JSON envelope."""
        response = requests.get(self.url + "/__mock/faults", timeout=10)
        return response.status_code == 200 and response.json()["ok"] is True


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def raw_request(
    address: tuple[str, int],
    method: str,
    target: bytes | str,
    headers: Sequence[tuple[str, str | bytes]] = (),
    body: bytes = b"",
    timeout: float = 30.0,
) -> RawResponse:
    """Send one HTTP/1.1 request byte for byte (``Connection: close``) and read the answer.

    ``Host`` is the address's host unless ``headers`` name one.
    """
    if isinstance(target, str):
        target = target.encode("latin-1")
    lines = [method.encode() + b" " + target + b" HTTP/1.1"]
    if not any(name.lower() == "host" for name, _ in headers):
        lines.append(f"Host: {address[0]}".encode())
    for name, value in headers:
        raw_value = value if isinstance(value, bytes) else value.encode("latin-1")
        lines.append(name.encode("latin-1") + b": " + raw_value)
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(b"Content-Length: " + str(len(body)).encode())
    lines.append(b"Connection: close")
    payload = b"\r\n".join(lines) + b"\r\n\r\n" + body
    with socket.create_connection(address, timeout=timeout) as sock:
        # The server may answer and close before reading everything.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(payload)
        data = b""
        while not _complete(data):
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    return parse_response(data)


def _complete(data: bytes) -> bool:
    """A whole answer has arrived (the server may keep the socket open after it)."""
    head, found, body = data.partition(b"\r\n\r\n")
    if not found:
        return False
    match = re.search(rb"(?im)^content-length:\s*(\d+)\s*$", head)
    if match:
        return len(body) >= int(match.group(1))
    return False


def parse_response(data: bytes) -> RawResponse:
    head, _, body = data.partition(b"\r\n\r\n")
    if not head:
        raise AssertionError("no HTTP answer (connection closed without a response)")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    status = int(status_line.split(" ", 2)[1])
    headers: dict[str, str] = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = _dechunk(body)
    return RawResponse(status, headers, body)


def _dechunk(data: bytes) -> bytes:
    out = b""
    while data:
        size_line, _, data = data.partition(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += data[:size]
        data = data[size + 2 :]
    return out


def serve_and_exit(*args: str | Path) -> subprocess.CompletedProcess[str]:
    """Run ``northca-mock serve --port 0 ARGS`` for an answer at start (a refusal, exit 2)."""
    return subprocess.run(
        [sys.executable, "-m", "mockserver", "serve", "--port", "0", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )


def wait_until(predicate: Any, timeout: float = 10.0, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())
