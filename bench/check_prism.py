"""``make check-prism``: the checker against Stoplight Prism serving our unmodified openapi.yaml.

Prism is stateless (it answers the spec's examples, or data generated from its schemas), so a
correct checker must fail it; every violation it reports must be a true statement about Prism.
This starts ``prism mock openapi.yaml`` on a free loopback port, runs ``northca-contracts check``
against its root with the default world's credentials, a fixed seed and run id, and writes the
result to ``docs/checker-vs-prism.md`` (per rule: count, operations, one expected/received).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from bench.servers import PRISM, ROOT

DOC = ROOT / "docs" / "checker-vs-prism.md"
SEED = 1
START_TIMEOUT = 60.0
RUN_TIMEOUT = 600.0
#: The default world (README "The default world"): what the mock would be started with.
CREDENTIALS = (
    "--partner-key", "test-key", "--guild", "123456789012345678",
    "--mdt", "0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2", "--actor", "222222222222222222",
    "--include-destructive", "--second-mdt", "9b1d3f2e-5a47-4c8e-9f10-2d6c7b8a9e01",
    "--second-owner", "333333333333333333",
)  # fmt: skip


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def prism_serving(spec: Path) -> Iterator[str]:
    """``prism mock SPEC`` on a free port until the block ends; yields its URL."""
    if not PRISM.exists():
        raise SystemExit(f"check-prism: {PRISM} is missing (cd bench && npm ci)")
    port = free_port()
    argv = [str(PRISM), "mock", str(spec), "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*argv, "-v", "error"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("check-prism: prism did not start") from None
                time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@dataclass
class RuleResult:
    rule: str
    count: int = 0
    operations: set[str] = field(default_factory=set)
    expected: str = ""
    received: str = ""


def summarise(junit: Path) -> list[RuleResult]:
    """Per rule: how often it fired, on which operations, and its first expected/received."""
    by_rule: dict[str, RuleResult] = {}
    for node in ET.parse(junit).getroot().iter("failure"):
        fields: dict[str, str] = {}
        for line in (node.text or "").splitlines():
            key, _, value = line.partition(": ")
            fields.setdefault(key, value)
        rule = node.get("type", "")
        result = by_rule.setdefault(
            rule, RuleResult(rule, expected=fields["expected"], received=fields["received"])
        )
        result.count += 1
        result.operations.add(fields.get("operation", ""))
    return sorted(by_rule.values(), key=lambda r: r.rule)


def _cell(text: str, limit: int = 140) -> str:
    text = " ".join(text.split()).replace("|", "\\|")
    return f"`{text[:limit]}{'...' if len(text) > limit else ''}`".replace("``", "")


def markdown(results: Sequence[RuleResult], *, code: int, verdict: str, seconds: float) -> str:
    version = json.loads((ROOT / "bench" / "package.json").read_text())["dependencies"]
    lines = [
        "# The checker against Prism",
        "",
        "`make check-prism` runs `northca-contracts check` (seed "
        f"{SEED}, `--include-destructive` with the second MDT, the default world's credentials)"
        f" against Stoplight Prism {version['@stoplight/prism-cli']} serving the unmodified"
        " `openapi.yaml` at its root; the preflight finds the API there.",
        "",
        "Prism is stateless: it answers each operation with the spec's first example (or data"
        " generated from the schema), never stores a write, accepts any partner key value, answers"
        " requests it finds invalid with its own 400/422 bodies and sends no `Allow` with a 405."
        " A correct checker must therefore fail it; each violation below is what Prism answered,"
        " quoted.",
        "",
        f"Exit status {code}; {verdict}; {seconds:.0f} s.",
        "",
        "| rule | count | operations | expected | received (first) |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        ops = ", ".join(sorted(r.operations))
        lines.append(
            f"| `{r.rule}` | {r.count} | {_cell(ops, 90)} | {_cell(r.expected)} |"
            f" {_cell(r.received)} |"
        )
    return "\n".join(lines) + "\n"


def run(spec: Path = ROOT / "openapi.yaml", doc: Path = DOC) -> int:
    """Check Prism and write ``doc``; returns the checker's exit status (1 is expected)."""
    with tempfile.TemporaryDirectory() as tmp, prism_serving(spec) as url:
        started = time.monotonic()
        argv = [sys.executable, "-m", "contracts", "check", "--url", url, *CREDENTIALS]
        argv += ["--seed", str(SEED), "--run-id", "prism", "--report-dir", tmp]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=RUN_TIMEOUT)
        seconds = time.monotonic() - started
        junit = Path(tmp) / "junit.xml"
        if done.returncode not in (0, 1) or not junit.exists():
            print(done.stdout[-2000:], done.stderr[-2000:], file=sys.stderr)
            return 2
        verdict = done.stdout.strip().splitlines()[-1].split(" [")[0].split(":")[0]
        doc.write_text(
            markdown(summarise(junit), code=done.returncode, verdict=verdict, seconds=seconds),
            encoding="utf-8",
        )
    print(f"check-prism: exit {done.returncode}, {verdict}; written to {doc}")
    return 0 if done.returncode == 1 else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(run())
