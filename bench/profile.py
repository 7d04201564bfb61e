"""Where a request's CPU goes in ``northca-mock serve``: flame graphs and a table of stages.

    python -m bench.profile [--duration 4] [--ops create_shift ...]     (make profile)

For each operation of the mix, one ``northca-mock serve`` under wrk (16 connections) while
py-spy (pinned in ``requirements.txt``) samples it: once into ``bench/flame-<op>.svg`` (a
flame graph), once as collapsed stacks, which give each stage its share of the Python samples.
The server's CPU time per request is read from ``/proc`` (user + system, all threads) over the
same run; a stage's microseconds per request are its share of the Python samples times the
Python CPU per request (the samples py-spy found on CPU over the run), and what is left of the
server's CPU time is granian's own (Rust: HTTP parsing and writing, outside Python).

A stack counts for the innermost frame that names a stage (:data:`STAGES`); frames of libraries
(werkzeug, json, threading ...) count for the stage that called them. Writes ``bench/PROFILE.md``.
"""

from __future__ import annotations

import argparse
import subprocess
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.mix import OPS, Op
from bench.servers import BENCH, VENV_BIN, Running, ServerSpec, free_port, mock_cli
from bench.wrk import run_wrk

#: (stage, file fragment, function or "" for any): the first rule a frame matches names its
#: stage; a stack counts for its innermost frame that matches one.
STAGES: tuple[tuple[str, str, str], ...] = (
    ("store", "mockserver/store.py", ""),
    ("handler", "mockserver/handlers/", ""),
    ("validation", "mockserver/validation.py", ""),
    ("validation", "mockserver/schemas.py", ""),
    ("validation", "mockserver/bodies.py", ""),
    ("auth", "mockserver/auth.py", ""),
    ("auth", "mockserver/namespaces.py", ""),
    ("auth", "mockserver/state.py", "link"),
    ("envelope", "mockserver/envelopes.py", ""),
    ("envelope", "werkzeug/wrappers/response.py", "__call__"),
    ("journal", "mockserver/journal.py", ""),
    ("journal", "mockserver/tally.py", ""),
    ("journal", "mockserver/app.py", "record_in_journal"),
    ("fault plan", "mockserver/faults.py", ""),
    ("fault plan", "mockserver/app.py", "_injected_response"),
    ("routing", "mockserver/direct_dispatch.py", ""),
    ("routing", "flask/app.py", ""),
    ("view (the pipeline's own code)", "mockserver/app.py", ""),
    ("guard", "mockserver/guard.py", ""),
    ("HTTP server and bridge (Python)", "mockserver/rsgi_bridge.py", ""),
    ("HTTP server and bridge (Python)", "mockserver/serving.py", ""),
    ("HTTP server and bridge (Python)", "asyncio/", ""),
)
ORDER = (
    "HTTP server (granian, outside Python)",
    "HTTP server and bridge (Python)",
    "guard",
    "routing",
    "auth",
    "fault plan",
    "validation",
    "handler",
    "store",
    "envelope",
    "journal",
    "view (the pipeline's own code)",
    "other",
)
RATE = 250  # samples per second
#: Microseconds of server CPU per request each stage may spend, any operation (None: not ours
#: to budget). A stage over its budget is flagged in the table.
BUDGETS: dict[str, float | None] = {
    "HTTP server (granian, outside Python)": None,
    "HTTP server and bridge (Python)": 60,
    "guard": 8,
    "routing": 15,
    "auth": 8,
    "fault plan": 4,
    "validation": 30,
    "handler": 30,
    "store": 30,
    "envelope": 15,
    "journal": 20,
    "view (the pipeline's own code)": 15,
    "other": 20,
}


def stage_of(stack: Sequence[str]) -> str:
    """The stage of one sampled stack (frames root first, as py-spy writes them)."""
    for frame in reversed(stack):
        for stage, fragment, function in STAGES:
            if fragment in frame and (not function or frame.startswith(function + " ")):
                return stage
    return "other"


def read_collapsed(path: Path) -> Counter[str]:
    """Samples per stage from py-spy's ``--format raw`` (collapsed stacks)."""
    found: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            frames = [frame for frame in stack.split(";") if not frame.startswith("process ")]
            frames = [frame for frame in frames if not frame.startswith("thread ")]
            found[stage_of(frames)] += int(count)
    return found


@dataclass
class Profiled:
    op: str
    requests: int
    cpu_us: float  # the server's CPU time per request
    samples: Counter[str]
    duration: float

    @property
    def python_us(self) -> float:
        """Python CPU per request: the samples on CPU, at RATE per second."""
        return min(self.cpu_us, sum(self.samples.values()) / RATE / self.requests * 1e6)

    def stages_us(self) -> dict[str, float]:
        total = sum(self.samples.values()) or 1
        found = {stage: self.python_us * n / total for stage, n in self.samples.items()}
        found[ORDER[0]] = self.cpu_us - self.python_us
        return found


def _pyspy(pid: int, duration: int, out: Path, fmt: str) -> subprocess.Popen[bytes]:
    argv = [str(VENV_BIN / "py-spy"), "record", "--pid", str(pid), "--duration", str(duration)]
    argv += ["--rate", str(RATE), "--nonblocking", "--format", fmt, "--output", str(out)]
    return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def profile_op(op: Op, duration: int, out_dir: Path) -> Profiled:
    port = free_port()
    server = Running(ServerSpec("mock-serve", "mock", "northca-mock serve", mock_cli(port)), port,
                     out_dir / "logs")  # fmt: skip
    try:
        server.wait_ready()
        run_wrk(port, [op], duration=1, connections=16)  # warm-up
        flame = _pyspy(server.process.pid, duration, BENCH / f"flame-{op.name}.svg", "flamegraph")
        run_wrk(port, [op], duration=duration, connections=16)
        flame.wait(60)
        server.reset()
        raw = out_dir / f"stacks-{op.name}.txt"
        collapsed = _pyspy(server.process.pid, duration, raw, "raw")
        time.sleep(0.3)  # py-spy attached
        cpu_before = server.cpu_seconds()
        result = run_wrk(port, [op], duration=duration, connections=16)
        cpu = server.cpu_seconds() - cpu_before
        collapsed.wait(60)
        return Profiled(op.name, result.requests, cpu / result.requests * 1e6,
                        read_collapsed(raw), duration)  # fmt: skip
    finally:
        server.stop()


def render(rows: Sequence[Profiled], note: str) -> str:
    lines = [
        "# Where a request's CPU goes",
        "",
        "Written by `make profile` (`python -m bench.profile`); see its docstring for the method.",
        note,
        "",
        "Flame graphs (py-spy, open in a browser): "
        + ", ".join(f"[{row.op}](flame-{row.op}.svg)" for row in rows),
        "",
        "Microseconds of the server's CPU per request, by stage:",
        "",
        "| stage | budget | " + " | ".join(row.op for row in rows) + " |",
        "|---|---:|" + "---:|" * len(rows),
    ]
    tables = [row.stages_us() for row in rows]
    for stage in ORDER:
        budget = BUDGETS.get(stage)
        cells = []
        for table in tables:
            spent = table.get(stage, 0.0)
            over = budget is not None and spent > budget
            cells.append(f"**{spent:.0f} !**" if over else f"{spent:.0f}")
        shown = "-" if budget is None else f"{budget:.0f}"
        lines.append(f"| {stage} | {shown} | " + " | ".join(cells) + " |")
    lines.append(
        "| **total (CPU per request)** | " + " | ".join(f"**{r.cpu_us:.0f}**" for r in rows) + " |"
    )
    lines.append("| requests sampled | " + " | ".join(f"{r.requests:,}" for r in rows) + " |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=4, help="seconds of wrk per sample run")
    parser.add_argument("--ops", nargs="+", default=[op.name for op in OPS])
    parser.add_argument("--out", type=Path, default=BENCH / "PROFILE.md")
    parser.add_argument("--note", default="", help="a line on the machine and its load")
    args = parser.parse_args(argv)
    ops = [op for op in OPS if op.name in args.ops]
    out_dir = BENCH / "out"
    rows = [profile_op(op, args.duration, out_dir) for op in ops]
    text = render(rows, args.note)
    args.out.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
