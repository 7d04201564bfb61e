"""Drive one server with wrk: one operation (or the whole mix) for a fixed time.

The Lua script sends the exact bytes of ``bench.mix``, counts every status per thread and
prints one JSON line in ``done``: requests, duration, latency percentiles, statuses, socket
errors.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.mix import Op

HOST = "127.0.0.1"
_MARK = "WRKJSON "

_COMMON = r"""
local threads = {}
function setup(thread) table.insert(threads, thread) end
statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end
function done(summary, latency, requests)
  local agg = {}
  for _, t in ipairs(threads) do
    for status, n in pairs(t:get("statuses")) do agg[status] = (agg[status] or 0) + n end
  end
  local parts = {}
  for status, n in pairs(agg) do table.insert(parts, string.format('"%d":%d', status, n)) end
  local e = summary.errors
  io.write(string.format(
    '__MARK__{"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,' ..
    '"mean_us":%.1f,"max_us":%d,"statuses":{%s},' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"timeout":%d}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.mean, latency.max, table.concat(parts, ","),
    e.connect, e.read, e.write, e.timeout))
end
""".replace("__MARK__", _MARK)


def _lua_string(value: str | bytes) -> str:
    data = value.encode() if isinstance(value, str) else value
    return '"' + "".join(f"\\{byte:03d}" for byte in data) + '"'


def _format(op: Op) -> str:
    headers = ", ".join(
        f"[{_lua_string(name)}] = {_lua_string(value)}" for name, value in op.all_headers.items()
    )
    body = _lua_string(op.body_bytes) if op.body is not None else "nil"
    return f"wrk.format({_lua_string(op.method)}, {_lua_string(op.target)}, {{{headers}}}, {body})"


def lua_script(ops: Sequence[Op]) -> str:
    """A script sending ``ops`` in turn (one op: a fixed request, prebuilt once per thread)."""
    formats = ",\n  ".join(_format(op) for op in ops)
    return (
        f"local prebuilt = nil\nlocal index = 0\n"
        f"function request()\n"
        f"  if prebuilt == nil then prebuilt = {{\n  {formats}\n  }} end\n"
        f"  index = index % #prebuilt + 1\n"
        f"  return prebuilt[index]\n"
        f"end\n" + _COMMON
    )


@dataclass
class WrkResult:
    requests: int
    duration_us: int
    p50_us: int
    p90_us: int
    p99_us: int
    mean_us: float
    max_us: int
    statuses: dict[int, int]
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.requests / (self.duration_us / 1e6) if self.duration_us else 0.0

    def unexpected(self, expected: Sequence[int]) -> int:
        """Answers whose status is not the documented one, plus socket errors."""
        wrong = sum(n for status, n in self.statuses.items() if status not in expected)
        return wrong + sum(self.errors.values())


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError("wrk not found (make bench installs it: apt-get install wrk)")
    return found


def run_wrk(
    port: int,
    ops: Sequence[Op],
    *,
    duration: int,
    connections: int,
    threads: int = 1,
    timeout: int = 5,
) -> WrkResult:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua_script(ops))
    try:
        argv = [
            wrk_binary(), f"-t{threads}", f"-c{connections}", f"-d{duration}s",
            f"--timeout={timeout}s", "-s", script.name, f"http://{HOST}:{port}/",
        ]  # fmt: skip
        completed = subprocess.run(
            argv, capture_output=True, text=True, timeout=duration + timeout + 30, check=False
        )
    finally:
        Path(script.name).unlink(missing_ok=True)
    for line in completed.stdout.splitlines():
        if line.startswith(_MARK):
            data = json.loads(line[len(_MARK) :])
            data["statuses"] = {int(k): v for k, v in data["statuses"].items()}
            return WrkResult(**data)
    raise RuntimeError(f"wrk gave no result: {completed.stdout[-500:]} {completed.stderr[-500:]}")
