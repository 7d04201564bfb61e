"""Start-up time to the first answered request, idle memory, and import overhead."""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bench.mix import HEADERS, OPS
from bench.servers import Running, ServerSpec, free_port, parse_server_name, request

_IMPORT_PROBE = r"""
import importlib, json, sys, time
import pytest  # pytest is loaded before any plugin
try:
    import _hypothesis_pytestplugin  # pytest loads hypothesis' plugin too
except ImportError:
    pass
module = sys.argv[1]
start = time.perf_counter()
importlib.import_module(module)
print(json.dumps({"seconds": time.perf_counter() - start}))
"""

_ENTRY_POINTS = r"""
import json
from importlib.metadata import entry_points
print(json.dumps(sorted(
    ep.value.split(":")[0] for ep in entry_points(group="pytest11")
    if ep.dist is not None and ep.dist.name.replace("_", "-") == "northca-mock"
)))
"""


@dataclass
class Startup:
    name: str
    server: str
    seconds: list[float]
    idle_rss: list[int]

    @property
    def median_seconds(self) -> float:
        return statistics.median(self.seconds)

    @property
    def median_rss(self) -> float:
        return statistics.median(self.idle_rss)


def measure_startup(
    name: str, repeats: int, log_dir: Path, prism_log: str, world: Path | None = None
) -> Startup:
    """Spawn, wait for the first answer, touch every op once, settle, read RSS, stop."""
    seconds, rss = [], []
    spec: ServerSpec | None = None
    for _ in range(repeats):
        port = free_port()
        spec = parse_server_name(name, port, prism_log)
        if world is not None:
            spec = ServerSpec(
                name + "-100k", spec.kind, spec.server, (*spec.argv, "--seed", str(world))
            )
        running = Running(spec, port, log_dir)
        try:
            seconds.append(running.wait_ready(timeout=120))
            for op in OPS:
                request(running.port, op.method, op.target, op.body_bytes, op.all_headers)
            time.sleep(1.0)
            rss.append(running.rss_bytes())
        finally:
            running.stop()
    assert spec is not None
    return Startup(spec.name, spec.server, seconds, rss)


def import_overhead(repeats: int = 5) -> dict[str, float]:
    """Median seconds to import each module in a fresh interpreter where pytest is loaded."""
    plugins = json.loads(
        subprocess.run(
            [sys.executable, "-c", _ENTRY_POINTS], capture_output=True, text=True, check=True
        ).stdout
    )
    modules = [
        *(f"{plugin} (pytest11 plugin)" for plugin in plugins),
        "mockserver",
        "mockserver.app",
    ]
    found = {}
    for label in modules:
        module = label.split(" ")[0]
        runs = []
        for _ in range(repeats):
            out = subprocess.run(
                [sys.executable, "-c", _IMPORT_PROBE, module],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            runs.append(json.loads(out)["seconds"])
        found[label] = statistics.median(runs)
    return found


def create_app_seconds(repeats: int = 3) -> float:
    """In-process: ``create_app()`` (spec load, validators compiled, world), warm imports."""
    probe = (
        "import time, mockserver.app as m; t = time.perf_counter(); m.create_app(); "
        "print(time.perf_counter() - t)"
    )
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", probe], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(repeats)
    ]
    return statistics.median(runs)


__all__ = ["HEADERS", "Startup", "create_app_seconds", "import_overhead", "measure_startup"]
