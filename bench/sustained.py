"""Sustained writes: creates at full speed against ``northca-mock serve``, in back-to-back windows.

One server, never reset during the run: every window adds to the records the previous ones
stored, so a store that slows down as it grows (or a garbage collector walking it) shows as a
falling throughput and a rising p99 from window to window. At the end: the server's resident
memory, the shifts it holds (read back from ``GET /__mock/state``) and what each costs in RSS
against the size of its JSON.
"""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass, field, replace
from pathlib import Path

from bench.mix import MDT_ID, OPS_BY_NAME
from bench.servers import Running, free_port, parse_server_name, request
from bench.wrk import WrkResult, run_wrk

OPERATION = "create_shift"
#: How many stored shifts are re-encoded to measure the average JSON size of one.
JSON_SAMPLE = 2000


@dataclass
class SustainedResult:
    window_seconds: int
    windows: list[WrkResult]
    #: CPU time the server used per answered request in each window (microseconds): the cost
    #: of a request as the store grows, less sensitive than req/s to other jobs on the machine.
    cpu_us: list[float]
    rss_idle: int
    rss_end: int
    shifts: int
    acknowledged: int
    json_bytes: float
    load_start: tuple[float, ...]
    load_end: tuple[float, ...]
    problems: list[str] = field(default_factory=list)

    @property
    def throughput_ratio(self) -> float:
        first, last = self.windows[0].rps, self.windows[-1].rps
        return last / first if first else 0.0

    @property
    def worst_p99_ms(self) -> float:
        return max(window.p99_us for window in self.windows) / 1000

    @property
    def rss_per_shift(self) -> float:
        return self.rss_end / self.shifts if self.shifts else 0.0

    @property
    def growth_per_shift(self) -> float:
        return (self.rss_end - self.rss_idle) / self.shifts if self.shifts else 0.0

    @property
    def rss_ratio(self) -> float:
        """What a stored shift costs (RSS growth) against the size of its JSON."""
        return self.growth_per_shift / self.json_bytes if self.json_bytes else 0.0

    @property
    def total_ratio(self) -> float:
        """The whole RSS per stored shift against its JSON (the start-up memory included)."""
        return self.rss_per_shift / self.json_bytes if self.json_bytes else 0.0


def run(
    log_dir: Path,
    *,
    seconds: int = 60,
    window: int = 10,
    connections: int = 16,
    warmup: int = 2,
) -> SustainedResult:
    """``seconds`` of creates in windows of ``window`` seconds, after a short warm-up of creates.

    RSS is read before the warm-up (the fresh server) and at the end; the warm-up's shifts stay
    stored and count (a reset would leave freed memory for later records to reuse unseen).
    """
    op = OPS_BY_NAME[OPERATION]
    port = free_port()
    spec = parse_server_name("mock-serve", port, "silent")
    # Never reset: the namespace's record bytes (16 MiB by default) must hold the whole run.
    argv = (*spec.argv, "--max-record-bytes", str(4 << 30))
    running = Running(replace(spec, name="mock-serve-sustained", argv=argv), port, log_dir)
    problems: list[str] = []
    try:
        running.wait_ready(timeout=120)
        rss_idle = running.rss_bytes()
        warm = run_wrk(port, [op], duration=warmup, connections=connections) if warmup else None
        load_start = os.getloadavg()
        windows = []
        cpu_us = []
        for number in range(max(1, seconds // window)):
            cpu_before = running.cpu_seconds()
            result = run_wrk(port, [op], duration=window, connections=connections)
            windows.append(result)
            cpu_us.append((running.cpu_seconds() - cpu_before) / max(1, result.requests) * 1e6)
            print(
                f"sustained window {number + 1}: {result.rps:8.0f} req/s  "
                f"p99 {result.p99_us / 1000:7.2f} ms  max {result.max_us / 1000:7.2f} ms  "
                f"server CPU {cpu_us[-1]:5.0f} us/request  "
                f"{dict(sorted(result.statuses.items()))}",
                flush=True,
            )
        load_end = os.getloadavg()
        rss_end = running.rss_bytes()
        acknowledged = sum(
            w.statuses.get(op.expected_status, 0) for w in [*windows, *([warm] if warm else [])]
        )
        shifts, json_bytes = _stored_shifts(port)
        wrong = sum(w.unexpected((op.expected_status,)) for w in windows)
        if wrong:
            problems.append(f"{wrong} answers other than {op.expected_status} (or socket errors)")
        if shifts < acknowledged:
            problems.append(f"{acknowledged} creates acknowledged but {shifts} shifts stored")
    finally:
        running.stop()
    return SustainedResult(
        window,
        windows,
        cpu_us,
        rss_idle,
        rss_end,
        shifts,
        acknowledged,
        json_bytes,
        load_start,
        load_end,
        problems,
    )


def _stored_shifts(port: int) -> tuple[int, float]:
    """Shifts the server holds for the bench MDT, and the mean size of one as the mock's JSON."""
    status, body = request(port, "GET", "/__mock/state", timeout=300)
    if status != 200 or not isinstance(body, dict):
        return 0, 0.0
    shifts = body["data"]["mdts"][MDT_ID]["shifts"]
    sample = shifts[:JSON_SAMPLE]
    sizes = [
        len(json.dumps(shift, ensure_ascii=False, separators=(",", ":")).encode())
        for shift in sample
    ]
    return len(shifts), statistics.fmean(sizes) if sizes else 0.0


@dataclass
class InProcessResult:
    """Creates through the app's WSGI callable, in one process: CPU per create as the store
    grows, and the garbage collector's full passes (what paused requests over HTTP)."""

    batch: int
    cpu_us: list[float]
    full_collections: int
    longest_pause_ms: float
    total_pause_ms: float

    @property
    def cpu_ratio(self) -> float:
        return self.cpu_us[-1] / self.cpu_us[0] if self.cpu_us and self.cpu_us[0] else 0.0


def in_process(creates: int = 300_000, batch: int = 50_000) -> InProcessResult:
    """``creates`` shifts in batches of ``batch``, CPU time per create in each batch.

    CPU time (not wall time) of this process, so other jobs on the machine change it little.
    The app is frozen out of the collector first, as ``northca-mock serve`` does.
    """
    import gc
    import time

    from bench.inprocess import environ_for, mock_app, wsgi_call

    op = OPS_BY_NAME[OPERATION]
    app = mock_app()
    template, body = environ_for(op), op.body_bytes
    gc.collect()
    gc.freeze()
    pauses: list[float] = []
    started = [0.0]

    def watch(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        elif info["generation"] == 2:
            pauses.append(time.perf_counter() - started[0])

    gc.callbacks.append(watch)
    cpu_us = []
    try:
        for _ in range(max(1, creates // batch)):
            began = time.process_time()
            for _ in range(batch):
                wsgi_call(app, template, body)
            cpu_us.append((time.process_time() - began) / batch * 1e6)
            print(f"sustained in-process: {cpu_us[-1]:6.1f} us CPU per create", flush=True)
    finally:
        gc.callbacks.remove(watch)
        gc.unfreeze()
    return InProcessResult(
        batch, cpu_us, len(pauses), max(pauses, default=0.0) * 1000, sum(pauses) * 1000
    )
