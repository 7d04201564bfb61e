"""Start, probe, measure and stop the servers under test (all on 127.0.0.1)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.mix import HEADERS, MDT_ID

HOST = "127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
PRISM = BENCH / "node_modules" / ".bin" / "prism"
VENV_BIN = Path(sys.executable).parent
PROBE_PATH = f"/mdts/{MDT_ID}/shifts"


@dataclass(frozen=True)
class ServerSpec:
    """One server under test: a name for the tables, its command line, what it serves."""

    name: str
    kind: str  # "mock", "plain" or "prism"
    server: str  # the HTTP server it runs on
    argv: tuple[str, ...]
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def resettable(self) -> bool:
        return self.kind in ("mock", "plain")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def mock_cli(port: int, world: Path | None = None) -> tuple[str, ...]:
    """``northca-mock serve``: the standalone mock exactly as users run it."""
    argv = [str(VENV_BIN / "northca-mock"), "serve", "--host", HOST, "--port", str(port)]
    if world is not None:
        argv += ["--seed", str(world)]
    return tuple(argv)


def bench_serve(app: str, server: str, port: int, threads: int | None = None) -> tuple[str, ...]:
    argv = [sys.executable, "-m", "bench.serve", "--server", server, "--app", app]
    argv += ["--port", str(port)]
    if threads:
        argv += ["--threads", str(threads)]
    return tuple(argv)


def prism(port: int, log_level: str) -> tuple[str, ...]:
    spec = str(ROOT / "openapi.yaml")
    return (str(PRISM), "mock", spec, "--host", HOST, "--port", str(port), "-v", log_level)


def parse_server_name(name: str, port: int, prism_log: str) -> ServerSpec:
    """``mock-serve``, ``prism``, or ``<mock|plain>-<server>[:threads]`` (``mock-granian:2``)."""
    if name == "prism":
        return ServerSpec(name, "prism", f"prism (-v {prism_log})", prism(port, prism_log))
    if name == "mock-serve":
        return ServerSpec(name, "mock", "northca-mock serve", mock_cli(port))
    if name == "plain-granian-cli":  # the baseline as granian's own CLI serves a WSGI app
        argv = (str(VENV_BIN / "granian"), "--interface", "wsgi", "--host", HOST,
                "--port", str(port), "--workers", "1", "--no-log",
                "--factory", "bench.apps:plain_app")  # fmt: skip
        return ServerSpec(name, "plain", "granian CLI (WSGI, 1 worker)", argv)
    app, _, server = name.partition("-")
    server, _, threads = server.partition(":")
    if app not in ("mock", "plain") or not server:
        raise ValueError(f"unknown server {name!r}")
    label = server + (f" ({threads} threads)" if threads else "")
    return ServerSpec(name, app, label, bench_serve(app, server, port, int(threads or 0)))


class Running:
    """A started server process (its own process group, so the whole tree stops together)."""

    def __init__(self, spec: ServerSpec, port: int, log_dir: Path) -> None:
        self.spec = spec
        self.port = port
        env = {**os.environ, **spec.env, "PYTHONPATH": str(ROOT)}
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{spec.name.replace(':', '_')}.log"
        self.log = self.log_path.open("wb")
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            spec.argv,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.startup_seconds: float | None = None
        self.reset_failed = False

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Seconds from spawn to the first answered request (any status)."""
        deadline = self.started + timeout
        while time.perf_counter() < deadline:
            if self.process.poll() is not None:
                output = self.log_path.read_text(errors="replace")[-2000:]
                raise RuntimeError(f"{self.spec.name} exited: {output}")
            try:
                request(self.port, "GET", PROBE_PATH, headers=HEADERS, timeout=1.0)
            except OSError:
                time.sleep(0.005)
                continue
            self.startup_seconds = time.perf_counter() - self.started
            return self.startup_seconds
        raise TimeoutError(f"{self.spec.name} did not answer within {timeout} s")

    def rss_bytes(self) -> int:
        """Resident size of the process and all its descendants."""
        return sum(_rss(pid) for pid in [self.process.pid, *_descendants(self.process.pid)])

    def cpu_seconds(self) -> float:
        """User plus system CPU time used so far by the process and all its descendants."""
        return sum(_cpu(pid) for pid in [self.process.pid, *_descendants(self.process.pid)])

    def reset(self) -> bool:
        """Back to the world between runs, so every run starts from the same state."""
        if not self.spec.resettable:
            return True
        status, _ = request(self.port, "POST", "/__mock/reset")
        if status != 200 and not self.reset_failed:
            self.reset_failed = True
            print(f"warning: {self.spec.name}: POST /__mock/reset answered {status}; runs go on")
        return status == 200

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.log.close()


def request(
    port: int,
    method: str,
    target: str,
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
    timeout: float = 10.0,
) -> tuple[int, Any]:
    """(status, parsed JSON body or None) of one request."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, target, body=body or None, headers=dict(headers or {}))
        response = connection.getresponse()
        raw = response.read()
    finally:
        connection.close()
    try:
        return response.status, json.loads(raw) if raw else None
    except ValueError:
        return response.status, None


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    found: list[int] = []
    stack = [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            found.append(child)
            stack.append(child)
    return found


def _cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0
