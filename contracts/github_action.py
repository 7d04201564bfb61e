"""The GitHub Action (``action.yml``): ``northca-contracts check`` from the action's inputs, its
verdict, violations and coverage table in the job summary, and its exit status passed through.

``python -m contracts.github_action`` reads the inputs from ``INPUT_<NAME>`` variables (``url``,
``partner-key``, ... as ``INPUT_URL``, ``INPUT_PARTNER_KEY``) and writes the summary to
``$GITHUB_STEP_SUMMARY`` (to stdout without it). An empty ``url`` starts ``northca-mock serve``
(default world, 127.0.0.1, a free port) for the run; the credentials left empty are then the
world's.
"""

from __future__ import annotations

import os
import random
import re
import shlex
import subprocess
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

INPUTS = (
    "url",
    "partner-key",
    "guild",
    "mdt",
    "actor",
    "second-mdt",
    "second-owner",
    "include-destructive",
    "seed",
    "report-dir",
    "args",
)
#: Inputs passed as the ``check`` flag of the same name when they are not empty.
FLAGS = ("partner-key", "guild", "mdt", "actor", "second-mdt", "second-owner")
DEFAULT_REPORT_DIR = "northca-contracts-report"
REPORTS = ("junit.xml", "coverage.md", "coverage.json")
MOCK_START_SECONDS = 60.0
_READY = re.compile(r"^northca-mock serving (http://\S+)")
_PARTNER_KEY_HEADER = re.compile(r"(x-partner-key:\s*)[^'\"\s]+", re.IGNORECASE)
_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off", "")


class ActionError(ValueError):
    """The action cannot run the check: an unusable input, a mock that did not start (exit 2)."""


def read_inputs(env: Mapping[str, str]) -> dict[str, str]:
    """The action's inputs, from ``INPUT_<NAME>`` (upper case, ``-`` as ``_``), stripped."""
    return {name: env.get("INPUT_" + name.upper().replace("-", "_"), "").strip() for name in INPUTS}


def _flag_on(name: str, value: str) -> bool:
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise ActionError(f"input {name} must be true or false, got {value!r}")


def check_arguments(
    inputs: Mapping[str, str], url: str, seed: int, report_dir: Path, defaults: Mapping[str, str]
) -> list[str]:
    """The arguments of ``northca-contracts check``; ``defaults`` fill the empty credentials."""
    argv = ["check", "--url", url]
    for name in FLAGS:
        value = inputs.get(name, "") or defaults.get(name, "")
        if value:
            argv += [f"--{name}", value]
    argv += ["--seed", str(seed), "--report-dir", str(report_dir)]
    if _flag_on("include-destructive", inputs.get("include-destructive", "")):
        argv.append("--include-destructive")
    try:
        argv += shlex.split(inputs.get("args", ""))
    except ValueError as exc:
        raise ActionError(f"input args: {exc}") from exc
    return argv


def parse_seed(value: str) -> int:
    """The ``seed`` input, or a random one (shown in the summary, to repeat the run)."""
    if not value:
        return random.randrange(2**31)
    try:
        return int(value)
    except ValueError:
        raise ActionError(f"input seed must be an integer, got {value!r}") from None


def mock_credentials() -> dict[str, str]:
    """Partner key, guild, MDT and actor (its owner) of the mock's default world."""
    from mockserver.world import load_world

    world = load_world()
    link = world.links[0]
    owner = world.mdts[link.mdt_id].owner_discord_id or ""
    return {
        "partner-key": next(iter(world.partner_keys)),
        "guild": link.guild_id,
        "mdt": link.mdt_id,
        "actor": owner,
    }


@contextmanager
def started_mock(log: Path) -> Iterator[str]:
    """``northca-mock serve`` on 127.0.0.1 and a free port, for the ``with`` block; its URL."""
    command = [sys.executable, "-m", "mockserver", "serve", "--host", "127.0.0.1", "--port", "0"]
    with log.open("w", encoding="utf-8") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + MOCK_START_SECONDS
        while True:
            lines = log.read_text(encoding="utf-8").splitlines()
            found = next((m.group(1) for m in map(_READY.match, lines) if m), None)
            if found:
                break
            if process.poll() is not None or time.monotonic() > deadline:
                raise ActionError(
                    f"northca-mock serve did not start: {' / '.join(lines[-3:]) or 'no output'}"
                )
            time.sleep(0.05)
        yield found
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Violation:
    rule: str
    operation: str
    expected: str
    received: str
    reproduce: str


def read_violations(junit: Path) -> list[Violation]:
    """The failures of a ``northca-contracts`` JUnit file, in order."""
    found = []
    for failure in ET.parse(junit).getroot().iter("failure"):
        fields: dict[str, str] = {}
        for line in (failure.text or "").splitlines():
            key, _, value = line.partition(": ")
            fields.setdefault(key.strip(), value)
        found.append(
            Violation(
                rule=failure.get("type", "") or fields.get("rule", ""),
                operation=fields.get("operation", ""),
                expected=fields.get("expected", ""),
                received=fields.get("received", ""),
                reproduce=fields.get("reproduce", ""),
            )
        )
    return found


def _cell(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text.replace("|", "\\|") or " "


def _code(text: str) -> str:
    return f"`{text}`" if text and "`" not in text else _cell(text)


def summary_markdown(
    status: int, target: str, seed: int, report_dir: Path, problem: str = ""
) -> str:
    """The job summary: verdict, violations (table, then how to reproduce each), coverage."""
    junit, coverage = report_dir / "junit.xml", report_dir / "coverage.md"
    violations = read_violations(junit) if status in (0, 1) and junit.is_file() else []
    if status == 0 and junit.is_file():
        verdict = "conforms"
    elif status == 1 and violations:
        verdict = f"{len(violations)} violation(s)"
    else:
        verdict = f"did not complete (exit {status})"
    lines = [
        f"## Northca contract check: {verdict}",
        "",
        f"Target {target} · seed `{seed}` (input `seed` repeats the run) · reports in "
        f"`{report_dir}`",
        "",
    ]
    if problem:
        lines += ["```", problem.strip(), "```", ""]
    if violations:
        lines += [
            "### Violations",
            "",
            "| # | rule | operation | expected | received |",
            "|---|---|---|---|---|",
        ]
        for number, v in enumerate(violations, 1):
            lines.append(
                f"| {number} | {_code(v.rule)} | {_code(v.operation)} | {_cell(v.expected)} "
                f"| {_cell(v.received)} |"
            )
        reproduce = [(n, v.reproduce) for n, v in enumerate(violations, 1) if v.reproduce]
        if reproduce:
            lines += ["", "<details><summary>Reproduce</summary>", ""]
            for number, command in reproduce:
                lines += [f"{number}.", "", "```sh", redact_partner_key(command), "```", ""]
            lines += ["</details>"]
        lines.append("")
    if status in (0, 1) and coverage.is_file():
        table = coverage.read_text(encoding="utf-8").splitlines()
        if table and table[0].startswith("# "):
            table = ["### " + table[0][2:], *table[1:]]
        lines += [*table, ""]
    return "\n".join(lines)


def run(env: Mapping[str, str], argv_prefix: Sequence[str] | None = None) -> int:
    """Run the check the inputs describe, write the summary; the check's exit status."""
    command = list(argv_prefix or [sys.executable, "-m", "contracts"])
    inputs = read_inputs(env)
    report_dir = Path(inputs["report-dir"] or DEFAULT_REPORT_DIR).absolute()
    seed, target, status, problem = 0, f"`{inputs['url']}`", 2, ""
    try:
        seed = parse_seed(inputs["seed"])
        with tempfile.TemporaryDirectory() as tmp:
            if inputs["url"]:
                status, problem = _check(command, inputs, inputs["url"], seed, report_dir, {})
            else:
                with started_mock(Path(tmp) / "mock.log") as url:
                    target = f"`{url}` (northca-mock, started by the action)"
                    status, problem = _check(
                        command, inputs, url, seed, report_dir, mock_credentials()
                    )
    except ActionError as exc:
        problem = f"northca-contracts: {exc}"
        print(problem, file=sys.stderr)
    _write_summary(env, summary_markdown(status, target, seed, report_dir, problem))
    return status


def _check(
    command: list[str],
    inputs: Mapping[str, str],
    url: str,
    seed: int,
    report_dir: Path,
    defaults: Mapping[str, str],
) -> tuple[int, str]:
    argv = check_arguments(inputs, url, seed, report_dir, defaults)
    for name in REPORTS:  # a report in the summary is always this run's
        (report_dir / name).unlink(missing_ok=True)
    print("northca-contracts", shlex.join(redacted(argv)), flush=True)
    result = subprocess.run([*command, *argv], stderr=subprocess.PIPE, text=True, check=False)
    sys.stderr.write(result.stderr)
    reported = (report_dir / "junit.xml").is_file()
    problem = "" if result.returncode in (0, 1) and reported else result.stderr[-4000:]
    return result.returncode, problem


def redact_partner_key(command: str) -> str:
    """A reproduce command with its ``x-partner-key`` value replaced by ``***``."""
    return _PARTNER_KEY_HEADER.sub(r"\1***", command)


def redacted(argv: Sequence[str]) -> list[str]:
    """``argv`` with the value of ``--partner-key`` replaced: a partner key is never printed."""
    return [
        "***" if index and argv[index - 1] == "--partner-key" else arg
        for index, arg in enumerate(argv)
    ]


def _write_summary(env: Mapping[str, str], text: str) -> None:
    path = env.get("GITHUB_STEP_SUMMARY")
    if not path:
        print(text)
        return
    with open(path, "a", encoding="utf-8") as out:
        out.write(text + "\n")


def main() -> int:
    try:
        return run(os.environ)
    except Exception:  # a failure of this script is not a verdict on the target (exit 1)
        traceback.print_exc()
        return 2


if __name__ == "__main__":
    sys.exit(main())
