"""``make bench``: the mock beside Prism and a plain Flask baseline, in one run.

    python -m bench.run [--rounds 3] [--duration 2] [--connections 16] [--survey] [--quick]

1. HTTP: every server started at once on 127.0.0.1; wrk drives each operation of the mix (and
   the whole mix) against each server for ``--duration`` seconds, servers interleaved over
   ``--rounds`` rounds in a rotating order so machine drift cancels; medians over rounds.
   Every answer's status is counted: a status other than the documented one is flagged.
2. In-process: one request through the Flask test client and through a bare WSGI call, mock
   against baseline; a cProfile breakdown of the mock's request path.
3. Start-up to the first answered request and idle memory (mock, Prism); import overhead.
4. Records: list latency with 100 and 100,000 stored shifts (in-process and over HTTP) and the
   standalone mock's memory holding 100,000 shifts.
5. Sustained writes: ``--sustained-seconds`` of creates against one ``northca-mock serve``, in
   windows of ``--window`` seconds, never reset: throughput, p99 and max per window, RSS per
   stored shift (``--sustained`` runs this part alone).

Results go to stdout and ``bench/RESULTS.md`` (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from bench import inprocess, pertest, startup, sustained
from bench.mix import MIX, OPS, Op
from bench.servers import PRISM, ROOT, Running, free_port, parse_server_name, request
from bench.sustained import InProcessResult, SustainedResult
from bench.wrk import WrkResult, run_wrk, wrk_binary

OUT = ROOT / "bench" / "out"
LOGS = OUT / "logs"
#: The default lineup: Prism, the mock as shipped, and mock and baseline on each candidate server.
DEFAULT_SERVERS = (
    "prism",
    "mock-serve",
    "plain-granian",
    "plain-granian-cli",
    "mock-werkzeug",
    "plain-werkzeug",
)
#: ``--survey`` adds these: other servers and thread counts for ``serve``.
SURVEY_SERVERS = (
    "mock-granian:4",
    "plain-granian:4",
    "mock-waitress",
    "plain-waitress",
    "mock-cheroot",
    "plain-cheroot",
)
MIX_EXPECTED = tuple(sorted({op.expected_status for op in OPS}))
#: The operations of the Prism target: create, list, upsert and the error path.
TARGET_OPS = ("create_shift", "list_shifts", "upsert_5_units", "invalid_body")


SUSTAINED_HEADING = "## Sustained writes"


def sustained_expected() -> int:
    return next(op.expected_status for op in OPS if op.name == sustained.OPERATION)


def sustained_checks(s: SustainedResult) -> list[tuple[str, str, bool | None]]:
    checks: list[tuple[str, str, bool | None]] = [
        (
            "sustained writes: last window >= 0.9x the first (req/s)",
            f"{s.throughput_ratio:.2f}x",
            s.throughput_ratio >= 0.9,
        ),
        (
            "sustained writes: p99 <= 10 ms in every window",
            f"{s.worst_p99_ms:.2f} ms (worst)",
            s.worst_p99_ms <= 10,
        ),
        (
            "sustained writes: RSS growth per stored shift <= 2x its JSON",
            f"{s.rss_ratio:.2f}x",
            s.rss_ratio <= 2,
        ),
    ]
    if s.problems:
        checks.append(("sustained writes: every create answered 201 and stored", "no", False))
    return checks


def splice_section(text: str, section: str, heading: str) -> str:
    """``text`` with its ``heading`` section (up to the next ``## ``) replaced by ``section``;
    appended before ``## Targets`` (or at the end) when it has none."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if line == heading), None)
    if start is None:
        start = next((i for i, line in enumerate(lines) if line == "## Targets"), len(lines))
        end = start
    else:
        end = next(
            (i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines)
        )
    return "\n".join([*lines[:start], *section.splitlines(), *lines[end:]]) + "\n"


@dataclass
class Cell:
    """All rounds of one (server, operation)."""

    runs: list[WrkResult] = field(default_factory=list)
    #: The server's CPU time (process tree, user + system) per answered request, per run.
    cpu_us: list[float] = field(default_factory=list)

    @property
    def cpu_us_per_request(self) -> float:
        return statistics.median(self.cpu_us) if self.cpu_us else 0.0

    @property
    def rps(self) -> float:
        return statistics.median(run.rps for run in self.runs)

    @property
    def p50_ms(self) -> float:
        return statistics.median(run.p50_us for run in self.runs) / 1000

    @property
    def p99_ms(self) -> float:
        return statistics.median(run.p99_us for run in self.runs) / 1000

    @property
    def requests(self) -> int:
        return sum(run.requests for run in self.runs)

    def unexpected(self, op_name: str) -> int:
        if op_name == MIX:
            return sum(run.unexpected(MIX_EXPECTED) for run in self.runs)
        expected = (next(op for op in OPS if op.name == op_name).expected_status,)
        return sum(run.unexpected(expected) for run in self.runs)

    def statuses(self) -> dict[int, int]:
        total: dict[int, int] = {}
        for run in self.runs:
            for status, count in run.statuses.items():
                total[status] = total.get(status, 0) + count
        return total


Results = dict[str, dict[str, Cell]]  # server name -> op name -> cell


# -- correctness -----------------------------------------------------------------------------
def check_answers(running: Running) -> list[str]:
    """One request per op: the documented status and the API's envelope."""
    problems = []
    for op in OPS:
        status, body = request(running.port, op.method, op.target, op.body_bytes, op.all_headers)
        ok = isinstance(body, dict) and body.get("ok") is (200 <= status < 300)
        if status != op.expected_status or not ok:
            problems.append(f"{running.spec.name} {op.name}: {status} {str(body)[:120]}")
    running.reset()
    return problems


# -- HTTP load -------------------------------------------------------------------------------
def http_load(servers: Sequence[Running], args: argparse.Namespace, ops: Sequence[str]) -> Results:
    results: Results = {s.spec.name: {op: Cell() for op in ops} for s in servers}
    plan = {op.name: [op] for op in OPS}
    plan[MIX] = list(OPS)
    print(f"warm-up: {args.warmup} s of the mix per server", flush=True)
    for running in servers:
        run_wrk(running.port, plan[MIX], duration=args.warmup, connections=args.connections)
        running.reset()
    total = args.rounds * len(ops) * len(servers)
    done = 0
    for round_number in range(args.rounds):
        for op_index, op_name in enumerate(ops):
            shift = (round_number + op_index) % len(servers)
            for running in [*servers[shift:], *servers[:shift]]:
                running.reset()
                cpu = running.cpu_seconds()
                result = run_wrk(
                    running.port,
                    plan[op_name],
                    duration=args.duration,
                    connections=args.connections,
                    threads=args.wrk_threads,
                )
                cpu = running.cpu_seconds() - cpu
                cell = results[running.spec.name][op_name]
                cell.runs.append(result)
                cell.cpu_us.append(cpu / max(1, result.requests) * 1e6)
                done += 1
                print(
                    f"[{done}/{total}] round {round_number + 1} {op_name:20} "
                    f"{running.spec.name:16} {result.rps:8.0f} req/s  "
                    f"p50 {result.p50_us / 1000:6.2f} ms  p99 {result.p99_us / 1000:7.2f} ms  "
                    f"{dict(sorted(result.statuses.items()))}",
                    flush=True,
                )
    return results


# -- records ---------------------------------------------------------------------------------
@dataclass
class RecordsResult:
    in_process: list[inprocess.ListRow]
    http: dict[str, dict[str, Cell]]
    startup_100k: startup.Startup | None
    rss_100k_after_lists: int


def records(args: argparse.Namespace) -> RecordsResult:
    print("records: list latency at 100 and 100,000 shifts (in-process)", flush=True)
    rows = inprocess.list_latency(calls=args.calls // 2)
    worlds = {}
    for size in (100, 100_000):
        path = OUT / f"world-{size}-shifts.json"
        path.write_text(json.dumps(inprocess.world_with_shifts(size)))
        worlds[size] = path
    print("records: standalone mock holding 100,000 shifts (start-up, memory)", flush=True)
    startup_100k = startup.measure_startup(
        "mock-serve", 1, LOGS, args.prism_log, world=worlds[100_000]
    )
    list_op = next(op for op in OPS if op.operation_id == "listShifts")
    queries = {"limit=20": list_op, "department=Patrol&limit=50": list_op}
    http: dict[str, dict[str, Cell]] = {}
    servers = []
    for size, world in worlds.items():
        port = free_port()
        spec = parse_server_name("mock-serve", port, args.prism_log)
        spec = type(spec)(
            f"mock-serve-{size}", spec.kind, spec.server, (*spec.argv, "--seed", str(world))
        )
        servers.append(Running(spec, port, LOGS))
    rss_after = 0
    try:
        for running in servers:
            running.wait_ready(timeout=120)
        for _ in range(2):
            for query, op in queries.items():
                for running in servers:
                    variant = Op(op.name, op.operation_id, op.method, op.path, query=query)
                    result = run_wrk(
                        running.port,
                        [variant],
                        duration=args.duration,
                        connections=args.connections,
                    )
                    http.setdefault(running.spec.name, {}).setdefault(query, Cell()).runs.append(
                        result
                    )
        rss_after = servers[1].rss_bytes()
    finally:
        for running in servers:
            running.stop()
    return RecordsResult(rows, http, startup_100k, rss_after)


# -- environment -----------------------------------------------------------------------------
def _cmd(argv: Sequence[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return "not found"
    return (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr) else "?"


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "not installed"


def environment() -> dict[str, str]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu}, {os.cpu_count()} cores, {mem_kb / 1e6:.1f} GB RAM, "
        f"{platform.system()} {platform.release()}",
        "load average at start": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "flask / werkzeug": f"{_version('flask')} / {_version('werkzeug')}",
        "jsonschema-rs / openapi-core": f"{_version('jsonschema-rs')} / {_version('openapi-core')}",
        "granian / waitress / cheroot": f"{_version('granian')} / {_version('waitress')} / "
        f"{_version('cheroot')}",
        "node / prism": f"{_cmd(['node', '--version'])} / {_cmd([str(PRISM), '--version'])}",
        "wrk": _cmd([wrk_binary(), "-v"]).split(" [")[0],
    }


# -- report ----------------------------------------------------------------------------------
def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "n/a"


def _geomean(values: Sequence[float]) -> float:
    return statistics.geometric_mean(values) if values else 0.0


def _mb(value: float) -> str:
    return f"{value / 1e6:.0f} MB"


@dataclass
class Report:
    env: dict[str, str]
    args: argparse.Namespace
    http: Results
    server_labels: dict[str, str]
    ops: list[str]
    costs: list[inprocess.CostRow] | None = None
    profile: dict[str, dict[str, float]] | None = None
    startups: list[startup.Startup] = field(default_factory=list)
    imports: dict[str, float] = field(default_factory=dict)
    create_app_s: float | None = None
    records: RecordsResult | None = None
    sustained: SustainedResult | None = None
    pertest: pertest.PerTest | None = None
    sustained_in_process: InProcessResult | None = None
    idle_rss: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)

    def add(self, *lines: str) -> None:
        self.lines.extend(lines)

    def render(self) -> str:
        a = self.args
        self.add(
            "# Benchmark results",
            "",
            "Written by `make bench` (`python -m bench.run`); see [README.md](README.md) for "
            "what each figure means.",
            "",
            "| | |",
            "|---|---|",
            *(f"| {key} | {value} |" for key, value in self.env.items()),
            f"| settings | wrk `-t{a.wrk_threads} -c{a.connections}`, {a.duration} s per run, "
            f"{a.rounds} rounds interleaved, {a.warmup} s warm-up; medians over rounds |",
            "",
        )
        if self.problems:
            self.add("**Wrong answers before the load test:**", "")
            self.add(*(f"- {p}" for p in self.problems), "")
        self._http()
        self._ratios()
        self._inprocess()
        self._pertest()
        self._startup()
        self._records()
        self._sustained()
        self._targets()
        return "\n".join(self.lines) + "\n"

    def _http(self) -> None:
        if not self.http:
            return
        self.add(
            "## HTTP throughput and latency",
            "",
            "`unexpected` counts answers whose status is not the documented one (plus socket "
            "errors); a row with any is flagged **!** and its req/s is not throughput.",
            "",
            "*CPU µs/req*: the server's CPU time (all its processes and threads) per answer, "
            "which other jobs on the machine disturb far less than req/s.",
            "",
            "| operation | server | runs on | req/s | p50 ms | p99 ms | CPU µs/req | requests "
            "| unexpected |",
            "|---|---|---|---:|---:|---:|---:|---:|---:|",
        )
        for op in self.ops:
            for name, cells in self.http.items():
                cell = cells[op]
                bad = cell.unexpected(op)
                flag = f"**{bad}** ! {cell.statuses()}" if bad else "0"
                self.add(
                    f"| {op} | {name} | {self.server_labels[name]} | {cell.rps:,.0f} | "
                    f"{cell.p50_ms:.2f} | {cell.p99_ms:.2f} | {cell.cpu_us_per_request:.0f} | "
                    f"{cell.requests:,} | {flag} |"
                )
        self.add("")

    def _ratios(self) -> None:
        if not self.http:
            return
        mocks = [name for name in self.http if name.startswith("mock-")]
        columns: list[tuple[str, str, str]] = []
        if "prism" in self.http:
            columns += [(m, "prism", f"{m} / prism") for m in mocks]
        for mock in mocks:
            server = mock.removeprefix("mock-")
            plain = "plain-granian" if server == "serve" else f"plain-{server}"
            if plain in self.http:
                columns.append((mock, plain, f"{mock} / {plain}"))
            if server == "serve" and "plain-granian-cli" in self.http:
                columns.append((mock, "plain-granian-cli", f"{mock} / plain-granian-cli"))
        if not columns:
            return
        self.add(
            "## Ratios (req/s)",
            "",
            "Targets: `northca-mock serve` >= 2.5x Prism (geometric mean of create, list, upsert "
            "and the error path), >= 0.95x plain Flask on the same server and >= 1.2x plain Flask "
            "on the granian CLI.",
            "",
            "| operation | " + " | ".join(label for _, _, label in columns) + " |",
            "|---|" + "---:|" * len(columns),
        )
        for op in self.ops:
            cells = [_ratio(self.http[a][op].rps, self.http[b][op].rps) for a, b, _ in columns]
            self.add(f"| {op} | " + " | ".join(cells) + " |")
        geo = [
            f"{_geomean([self.http[a][op].rps / self.http[b][op].rps for op in self.ops]):.2f}x"
            for a, b, _ in columns
        ]
        self.add("| **geometric mean** | " + " | ".join(geo) + " |", "")
        self._cpu_ratios(columns)

    def _cpu_ratios(self, columns: list[tuple[str, str, str]]) -> None:
        """The baseline's CPU per request over the mock's: above 1, the mock costs less."""
        self.add(
            "### The same, from CPU per request",
            "",
            "The other server's CPU time per answer over the mock's (above 1: the mock spends "
            "less), medians over rounds.",
            "",
            "| operation | " + " | ".join(label for _, _, label in columns) + " |",
            "|---|" + "---:|" * len(columns),
        )
        for op in self.ops:
            cells = [
                _ratio(self.http[b][op].cpu_us_per_request, self.http[a][op].cpu_us_per_request)
                for a, b, _ in columns
            ]
            self.add(f"| {op} | " + " | ".join(cells) + " |")
        self.add("")

    def _inprocess(self) -> None:
        if self.costs:
            self.add(
                "## In-process cost per request",
                "",
                "Microseconds per request, best of 5 batches. *test client*: `app.test_client()`"
                " (what a user's pytest suite pays); *WSGI*: the app called with a prebuilt "
                "environ (the app's own cost). Target: mock <= 1.5x plain (test client).",
                "",
                "| operation | mock, test client | plain, test client | ratio | mock, WSGI | "
                "plain, WSGI | ratio |",
                "|---|---:|---:|---:|---:|---:|---:|",
            )
            for row in self.costs:
                self.add(
                    f"| {row.op} | {row.mock_client_us:.0f} | {row.plain_client_us:.0f} | "
                    f"{row.client_ratio:.2f}x | {row.mock_wsgi_us:.0f} | {row.plain_wsgi_us:.0f} "
                    f"| {row.wsgi_ratio:.2f}x |"
                )
            self.add("")
        profile = self.profile
        if profile:
            labels = sorted({label for shares in profile.values() for label in shares})
            labels.sort(key=lambda label: -sum(s.get(label, 0.0) for s in profile.values()))
            ops = list(profile)
            self.add(
                "### Where the mock's request time goes (cProfile self time, us per request)",
                "",
                "cProfile inflates Python-heavy code; read the shares, not the absolute values. "
                "Listings: `bench/out/profile-<operation>.txt`.",
                "",
                "| component | " + " | ".join(ops) + " |",
                "|---|" + "---:|" * len(ops),
            )
            for label in labels:
                values = " | ".join(f"{profile[op].get(label, 0):.0f}" for op in ops)
                self.add(f"| {label} | {values} |")
            self.add("")

    def _pertest(self) -> None:
        t = self.pertest
        if t is None:
            return
        self.add(
            "## The cost of a test",
            "",
            f"A reset, then 5 requests (2 creates, a list, an upsert, a documented error), "
            f"{t.tests:,} times; CPU microseconds per test (the whole process: client, mock and "
            f"server thread), best of the runs; see [pertest.py](pertest.py). The last row is a "
            f"pytest session with `-n {t.workers}`, each worker in its own namespace of one "
            f"`northca-mock serve`: pytest's CPU per test is in it, its start-up is not.",
            "",
            "| how | CPU µs per test | / `responses` |",
            "|---|---:|---:|",
            *(f"| {name} | {us:,.0f} | {ratio} |" for name, us, ratio in t.rows()),
            "",
        )

    def _startup(self) -> None:
        if self.startups:
            self.add(
                "## Start-up and memory at idle",
                "",
                "Spawn to first answered request (median of runs); resident memory of the whole "
                "process tree after one request of each operation and 1 s idle.",
                "",
                "| server | runs on | start-up s (runs) | idle RSS |",
                "|---|---|---:|---:|",
            )
            for s in self.startups:
                runs = ", ".join(f"{x:.2f}" for x in s.seconds)
                self.add(
                    f"| {s.name} | {s.server} | {s.median_seconds:.2f} ({runs}) | "
                    f"{_mb(s.median_rss)} |"
                )
            self.add("")
        if self.idle_rss:
            self.add(
                "Resident memory of the load-test servers just after start-up (before load): "
                + ", ".join(f"{name} {_mb(rss)}" for name, rss in self.idle_rss.items()),
                "",
            )
        if self.imports or self.create_app_s is not None:
            self.add(
                "## Import overhead",
                "",
                "Fresh interpreter with pytest (and hypothesis' plugin) already imported; median "
                "of 5. Target: the plugin <= 50 ms.",
                "",
                "| import | ms |",
                "|---|---:|",
            )
            self.add(*(f"| `{m}` | {s * 1000:.0f} |" for m, s in self.imports.items()))
            if self.create_app_s is not None:
                self.add(
                    f"| `create_app()` after imports (not an import) | "
                    f"{self.create_app_s * 1000:.0f} |"
                )
            self.add("")

    def _records(self) -> None:
        r = self.records
        if r is None:
            return
        self.add(
            "## Lists with 100 and 100,000 stored shifts",
            "",
            "In-process (bare WSGI call, us per request). Target: 100,000 <= 2x 100.",
            "",
            "| query | 100 shifts | 100,000 shifts | ratio |",
            "|---|---:|---:|---:|",
        )
        for row in r.in_process:
            self.add(
                f"| {row.query} | {row.small_us:.0f} | {row.large_us:.0f} | {row.ratio:.2f}x |"
            )
        self.add("")
        if r.http:
            self.add(
                "Over HTTP (`northca-mock serve --seed` a world of that size; median of 2 runs):",
                "",
                "| query | server | req/s | p50 ms | p99 ms |",
                "|---|---|---:|---:|---:|",
            )
            for name, cells in r.http.items():
                for query, cell in cells.items():
                    self.add(
                        f"| {query} | {name} | {cell.rps:,.0f} | {cell.p50_ms:.2f} | "
                        f"{cell.p99_ms:.2f} |"
                    )
            self.add("")
        if r.startup_100k:
            s = r.startup_100k
            self.add(
                f"Standalone mock holding 100,000 shifts: start-up {s.median_seconds:.2f} s "
                f"(loads and validates the world), RSS {_mb(s.median_rss)} at idle, "
                f"{_mb(r.rss_100k_after_lists)} after the list runs. Target: <= 200 MB.",
                "",
            )

    def _sustained(self) -> None:
        s = self.sustained
        if s is None:
            return
        load = " ".join(f"{x:.2f}" for x in s.load_start)
        load_end = " ".join(f"{x:.2f}" for x in s.load_end)
        self.add(
            SUSTAINED_HEADING,
            "",
            f"`create_shift` at full speed (wrk `-t1 -c{self.args.connections}`) against one "
            f"`northca-mock serve`, {len(s.windows)} windows of {s.window_seconds} s back to "
            f"back, never reset (load average {load} at the first window, {load_end} after "
            "the last).",
            "",
            "*server CPU* is the CPU time the server used per answered request in the window "
            "(less sensitive than req/s to other jobs on a shared machine).",
            "",
            "| window | req/s | vs first | p50 ms | p99 ms | max ms | server CPU us/req | "
            "unexpected |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|",
        )
        first = s.windows[0].rps
        for number, (w, cpu) in enumerate(zip(s.windows, s.cpu_us, strict=True), 1):
            bad = w.unexpected((sustained_expected(),))
            self.add(
                f"| {number} | {w.rps:,.0f} | {_ratio(w.rps, first)} | {w.p50_us / 1000:.2f} | "
                f"{w.p99_us / 1000:.2f} | {w.max_us / 1000:.1f} | {cpu:,.0f} | {bad} |"
            )
        self.add(
            "",
            f"At the end: {s.shifts:,} shifts stored ({s.acknowledged:,} creates acknowledged), "
            f"RSS {_mb(s.rss_end)}, {_mb(s.rss_idle)} when it had started. Per stored shift, "
            f"whose JSON is {s.json_bytes:,.0f} B: RSS growth {s.growth_per_shift:,.0f} B "
            f"(**{s.rss_ratio:.2f}x**); whole RSS {s.rss_per_shift:,.0f} B "
            f"({s.total_ratio:.2f}x, the start-up memory spread over the shifts).",
            "",
        )
        if s.problems:
            self.add(*(f"- **{problem}**" for problem in s.problems), "")
        p = self.sustained_in_process
        if p is not None:
            batches = ", ".join(f"{us:.0f}" for us in p.cpu_us)
            self.add(
                f"In-process, the same creates through the app's WSGI callable, "
                f"{len(p.cpu_us)} batches of {p.batch:,} (CPU time, so other jobs on the machine "
                f"change it little): {batches} us of CPU per create ({p.cpu_ratio:.2f}x from the "
                f"first batch to the last); {p.full_collections} full garbage collections, "
                f"{p.total_pause_ms:.0f} ms in all, the longest {p.longest_pause_ms:.0f} ms.",
                "",
            )
        self.add("| target | measured | met |", "|---|---|---|")
        for label, value, met in sustained_checks(s):
            self.add(f"| {label} | {value} | {'yes' if met else '**no**'} |")
        self.add("")

    def sustained_only(self) -> str:
        """The sustained section alone, with the machine and conditions (``--sustained``)."""
        self.add(
            SUSTAINED_HEADING,
            "",
            "Written by `make bench BENCH_ARGS=--sustained` (the sections above are from the last "
            "full run, maybe on another day). Compare ratios within this section.",
            "",
        )
        self.add(*(f"- {key}: {value}" for key, value in self.env.items()), "")
        heading = len(self.lines)
        self._sustained()
        del self.lines[heading : heading + 2]  # the heading is already written
        return "\n".join(self.lines)

    def _targets(self) -> None:
        checks: list[tuple[str, str, bool | None]] = []
        ops5 = [op for op in self.ops if op != MIX]
        h = self.http
        four = [op for op in TARGET_OPS if op in ops5]
        if "prism" in h and "mock-serve" in h and four:
            g = _geomean([h["mock-serve"][op].rps / h["prism"][op].rps for op in four])
            checks.append(
                (
                    "mock-serve >= 2.5x Prism (geomean: " + ", ".join(four) + ")",
                    f"{g:.2f}x",
                    g >= 2.5,
                )
            )
        if "plain-granian" in h and "mock-serve" in h:
            g = _geomean([h["mock-serve"][op].rps / h["plain-granian"][op].rps for op in ops5])
            checks.append(
                ("mock-serve >= 0.95x plain Flask on the same server", f"{g:.2f}x", g >= 0.95)
            )
            p99, p99_op = max(
                (h["mock-serve"][op].p99_ms / h["plain-granian"][op].p99_ms, op) for op in ops5
            )
            checks.append(
                (
                    "mock-serve p99 <= plain Flask's on the same server, worst operation",
                    f"{p99:.2f}x ({p99_op})",
                    p99 <= 1,
                )
            )
        if "plain-granian-cli" in h and "mock-serve" in h:
            g = _geomean([h["mock-serve"][op].rps / h["plain-granian-cli"][op].rps for op in ops5])
            checks.append(
                ("mock-serve >= 1.2x plain Flask on the granian CLI", f"{g:.2f}x", g >= 1.2)
            )
        for name in h:
            wrong = sum(h[name][op].unexpected(op) for op in self.ops)
            if name.startswith("mock") and wrong:
                checks.append((f"{name}: every answer correct", f"{wrong} wrong", False))
        if self.costs:
            worst = max(row.client_ratio for row in self.costs)
            checks.append(
                (
                    "in-process (test client) <= 1.5x plain, worst operation",
                    f"{worst:.2f}x",
                    worst <= 1.5,
                )
            )
        by_name = {s.name: s for s in self.startups}
        if "mock-serve" in by_name:
            s = by_name["mock-serve"]
            prism = by_name.get("prism")
            beside = f" (Prism {prism.median_seconds:.2f} s)" if prism else ""
            checks.append(
                (
                    "start-up to first answer <= 0.3 s",
                    f"{s.median_seconds:.2f} s{beside}",
                    s.median_seconds <= 0.3,
                )
            )
            if prism:
                checks.append(
                    (
                        "idle RSS <= Prism's",
                        f"{_mb(s.median_rss)} vs {_mb(prism.median_rss)}",
                        s.median_rss <= prism.median_rss,
                    )
                )
        plugin = [s for m, s in self.imports.items() if "pytest11" in m]
        if plugin:
            checks.append(
                ("plugin import <= 50 ms", f"{max(plugin) * 1000:.0f} ms", max(plugin) <= 0.05)
            )
        elif "mockserver.app" in self.imports:
            ms = self.imports["mockserver.app"] * 1000
            checks.append(
                (
                    "import overhead <= 50 ms (no pytest11 plugin registered: "
                    "`mockserver.app` measured)",
                    f"{ms:.0f} ms",
                    ms <= 50,
                )
            )
        if self.records:
            worst_list = max(r.ratio for r in self.records.in_process if "Nobody" not in r.query)
            checks.append(
                (
                    "list at 100,000 <= 2x list at 100 (limit / matching filter)",
                    f"{worst_list:.2f}x",
                    worst_list <= 2,
                )
            )
            nobody = [r for r in self.records.in_process if "Nobody" in r.query]
            if nobody:
                checks.append(
                    (
                        "... filter matching nothing (scans the store)",
                        f"{nobody[0].ratio:.0f}x",
                        nobody[0].ratio <= 2,
                    )
                )
            if self.records.startup_100k:
                rss = max(self.records.startup_100k.median_rss, self.records.rss_100k_after_lists)
                checks.append(("RSS with 100,000 records <= 200 MB", _mb(rss), rss <= 200e6))
        if self.pertest:
            t = self.pertest
            inproc = t.inprocess_us / t.responses_us
            sock = t.socket_us / t.inprocess_us
            checks.append(
                ("a test in-process <= 3x the `responses` stub", f"{inproc:.2f}x", inproc <= 3)
            )
            checks.append(("a test over the socket <= 2x in-process", f"{sock:.2f}x", sock <= 2))
        if self.sustained:
            checks += sustained_checks(self.sustained)
        if not checks:
            return
        self.add("## Targets", "", "| target | measured | met |", "|---|---|---|")
        for label, value, met in checks:
            self.add(f"| {label} | {value} | {'yes' if met else '**no**'} |")
        self.add("")


# -- main ------------------------------------------------------------------------------------
def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=2, help="seconds per wrk run")
    parser.add_argument("--warmup", type=int, default=3, help="seconds of mix per server first")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--wrk-threads", type=int, default=1)
    parser.add_argument("--servers", nargs="+", default=list(DEFAULT_SERVERS))
    parser.add_argument("--survey", action="store_true", help="add " + ", ".join(SURVEY_SERVERS))
    parser.add_argument("--ops", nargs="+", default=[*(op.name for op in OPS), MIX])
    parser.add_argument(
        "--prism-log", default="silent", help="Prism -v level (silent is its fastest)"
    )
    parser.add_argument("--calls", type=int, default=400, help="in-process calls per batch")
    parser.add_argument("--startup-runs", type=int, default=3)
    parser.add_argument(
        "--tests", type=int, default=1000, help="tests per run of the per-test cost"
    )
    parser.add_argument(
        "--skip",
        nargs="*",
        default=[],
        choices=["http", "inprocess", "pertest", "startup", "records", "sustained"],
    )
    parser.add_argument(
        "--sustained", action="store_true", help="only the sustained-write run (skip the rest)"
    )
    parser.add_argument(
        "--sustained-seconds", type=int, default=60, help="seconds of creates, never reset"
    )
    parser.add_argument("--window", type=int, default=10, help="seconds per sustained window")
    parser.add_argument("--quick", action="store_true", help="1 round of 1 s: a smoke run")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "RESULTS.md")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.duration, args.warmup, args.startup_runs = 1, 1, 1, 1
        args.calls, args.tests = 100, 100
    if args.survey:
        args.servers = [*args.servers, *SURVEY_SERVERS]
    if args.sustained:
        args.skip = ["http", "inprocess", "pertest", "startup", "records"]
    elif args.quick:
        args.sustained_seconds, args.window = 6, 1
    if "prism" in args.servers and "http" not in args.skip and not PRISM.exists():
        sys.exit(f"{PRISM} missing: run `make bench` (npm installs Prism into bench/node_modules)")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    began = time.perf_counter()
    OUT.mkdir(parents=True, exist_ok=True)
    env = environment()
    if args.sustained:  # neither Prism nor the other servers take part
        for key in ("node / prism", "granian / waitress / cheroot"):
            env.pop(key, None)
        env["granian"] = _version("granian")
    print("\n".join(f"{k}: {v}" for k, v in env.items()), flush=True)
    report = Report(env, args, {}, {}, list(args.ops))

    if "http" not in args.skip:
        ports = [free_port() for _ in args.servers]
        specs = [
            parse_server_name(n, p, args.prism_log)
            for n, p in zip(args.servers, ports, strict=True)
        ]
        report.server_labels = {spec.name: spec.server for spec in specs}
        servers = [Running(spec, port, LOGS) for spec, port in zip(specs, ports, strict=True)]
        try:
            for running in servers:
                running.wait_ready(timeout=120)
                report.idle_rss[running.spec.name] = running.rss_bytes()
            for running in servers:
                report.problems += check_answers(running)
            for problem in report.problems:
                print(f"WRONG ANSWER: {problem}", flush=True)
            report.http = http_load(servers, args, args.ops)
        finally:
            for running in servers:
                running.stop()

    if "inprocess" not in args.skip:
        print("in-process: per-request cost, mock vs plain (test client and WSGI)", flush=True)
        report.costs = inprocess.request_costs(calls=args.calls)
        print("in-process: cProfile of the mock's request path", flush=True)
        report.profile = inprocess.profile_all()

    if "pertest" not in args.skip:
        print(f"the cost of a test: {args.tests} tests, 4 ways", flush=True)
        report.pertest = pertest.measure(args.tests, runs=1 if args.quick else 3)

    if "startup" not in args.skip:
        names = ["mock-serve", "mock-werkzeug", *(["prism"] if "prism" in args.servers else [])]
        for name in names:
            print(f"start-up: {name} x{args.startup_runs}", flush=True)
            report.startups.append(
                startup.measure_startup(name, args.startup_runs, LOGS, args.prism_log)
            )
        print("import overhead", flush=True)
        report.imports = startup.import_overhead()
        report.create_app_s = startup.create_app_seconds()

    if "records" not in args.skip:
        report.records = records(args)

    if "sustained" not in args.skip:
        print(
            f"sustained writes: {args.sustained_seconds} s of creates in {args.window} s windows",
            flush=True,
        )
        report.sustained = sustained.run(
            LOGS,
            seconds=args.sustained_seconds,
            window=args.window,
            connections=args.connections,
        )
        creates = 30_000 if args.quick else 300_000
        print(f"sustained writes in-process: {creates:,} creates", flush=True)
        report.sustained_in_process = sustained.in_process(creates, creates // 6)

    report.env["load average at end"] = " ".join(f"{x:.2f}" for x in os.getloadavg())
    report.env["bench wall time"] = f"{time.perf_counter() - began:.0f} s"
    if args.sustained:
        section = report.sustained_only()
        previous = args.out.read_text() if args.out.exists() else "# Benchmark results\n"
        args.out.write_text(splice_section(previous, section, SUSTAINED_HEADING))
        print("\n" + section)
        print(f"written to {args.out} (its {SUSTAINED_HEADING[3:]} section)")
        return 0
    text = report.render()
    args.out.write_text(text)
    print("\n" + text)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    if shutil.which("wrk") is None:
        sys.exit("wrk not found: run `make bench` (it installs wrk with apt-get)")
    sys.exit(main())
