"""Where a request's CPU goes in ``northca-mock serve``: flame graphs and a table of stages.

    python -m bench.profile [--duration 4] [--ops create_shift ...]     (make profile)

For each operation of the mix, one ``northca-mock serve`` under wrk (16 connections) while
py-spy (pinned in ``requirements.txt``) samples it: once into ``bench/flame-<op>.svg`` (a
flame graph), once as collapsed stacks, which give each stage its share of the Python samples.
The server's CPU time per request is read from ``/proc`` (user + system, all threads) over the
same run; a stage's microseconds per request are its share of the samples times that CPU time.
Samples of a thread with no Python frame on its stack are granian's own Rust code (HTTP parsing
and writing); Rust threads py-spy does not see at all are spread over every stage.

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
    ("HTTP server and bridge (Python)", "granian/", ""),
    ("HTTP server and bridge (Python)", "selectors.py", ""),
    ("HTTP server and bridge (Python)", "threading.py", ""),
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
    "HTTP server and bridge (Python)": 80,
    "guard": 8,
    "routing": 15,
    "auth": 8,
    "fault plan": 4,
    "validation": 30,
    "handler": 30,
    "store": 35,
    "envelope": 15,
    "journal": 20,
    "view (the pipeline's own code)": 15,
    "other": 20,
}


#: What was done about the stages that cost more than their share (written under the table).
FIXES = [
    "## Budgets and what was done",
    "",
    "The mock's own stages (guard to journal) together must cost less than a plain Flask app's "
    "dispatch on the same server, so each has a budget above. The stages that were over it:",
    "",
    "- **routing**: Flask's request context, URL adapter, hooks and response processing cost "
    "more than all the checks. `mockserver.direct_dispatch` now sends a partner request whose "
    "method and path match one operation straight to its compiled view; Flask still routes "
    "everything else (control plane, 404, 405, swapped views, user hooks).",
    "- **envelope**: werkzeug copied the headers and wrapped the body in a closing iterator for "
    "every answer; direct answers now go to the server as status, header list and bytes.",
    "- **journal**: an entry was built as nested dicts (lower-cased headers, the response body "
    "decoded to text) for every request, though most are never read. It now keeps an "
    "`Exchange` (the environ's header pairs with secrets already redacted, the answer's bytes "
    "as sent, no copy) and builds the entry when read; its `Tally` counts answers as they are "
    "recorded, so neither coverage scans the journal.",
    "- **HTTP server and bridge**: granian schedules every request onto the asyncio loop from "
    "its Rust thread (`call_soon_threadsafe`, a write to the loop's self-pipe); with uvloop "
    "installed (now a dependency) granian runs on it and that hand-off costs less.",
    "",
    "The Python and Rust parts of granian itself, and werkzeug's `Request` (kept: its `args` and "
    "`path` are what Flask would give the same request), are the largest rows left.",
]


def stage_of(stack: Sequence[str]) -> str:
    """The stage of one sampled stack (frames root first, as py-spy writes them); a thread
    sampled with no Python frame is granian's own (Rust) code."""
    if not stack:
        return ORDER[0]
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
            frames = [
                frame
                for frame in stack.split(";")
                if frame and not frame.startswith(("process ", "thread "))
            ]
            found[stage_of(frames)] += int(count)
    return found


@dataclass
class Profiled:
    op: str
    requests: int
    cpu_us: float  # the server's CPU time per request
    samples: Counter[str]

    def stages_us(self) -> dict[str, float]:
        total = sum(self.samples.values()) or 1
        return {stage: self.cpu_us * n / total for stage, n in self.samples.items()}


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
                        read_collapsed(raw))  # fmt: skip
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
    totals = " | ".join(f"**{r.cpu_us:.0f}**" for r in rows)
    lines.append(f"| **total (CPU per request)** | | {totals} |")
    lines.append("| requests sampled | | " + " | ".join(f"{r.requests:,}" for r in rows) + " |")
    lines += ["", "A stage over its budget (µs per request, any operation) is marked **!**.", ""]
    lines += FIXES
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
