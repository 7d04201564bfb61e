"""The GitHub Action (``action.yml``), run locally: each step's ``run`` in bash, as a runner would
(``bash --noprofile --norc -eo pipefail``), its ``${{ ... }}`` expressions substituted, in a fake
``GITHUB_*`` environment; against a mock the action starts itself, and a mock with a planted bug.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from contracts.github_action import (
    INPUTS,
    ActionError,
    check_arguments,
    read_inputs,
    read_violations,
    redact_partner_key,
    redacted,
    run,
)
from tests.live import LiveMock
from tests.support import DEFAULT

ROOT = Path(__file__).resolve().parents[1]
ACTION: dict[str, Any] = yaml.safe_load((ROOT / "action.yml").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")
BASH = ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c"]
# Quick stages: the workflows run the business rules and every documented error string.
QUICK = "--stage workflows"


@dataclass(frozen=True)
class StepResult:
    name: str
    returncode: int
    stdout: str
    stderr: str


def substitute(text: str, inputs: dict[str, str]) -> str:
    """``${{ inputs.NAME }}`` and ``${{ github.action_path }}``; any other expression fails."""

    def value(match: re.Match[str]) -> str:
        expression = match.group(1)
        if expression == "github.action_path":
            return str(ROOT)
        name = expression.removeprefix("inputs.")
        assert name != expression and name in inputs, f"unexpected expression {expression!r}"
        return inputs[name]

    return EXPRESSION.sub(value, text)


class Runner:
    """A fake runner: one workspace, one ``RUNNER_TEMP``, a ``python3`` and nothing else of ours
    on ``PATH``."""

    def __init__(self, base: Path, temp: Path) -> None:
        self.workspace = base / "workspace"
        self.temp = temp
        tools = base / "tools"
        for folder in (self.workspace, tools):
            folder.mkdir()
        (tools / "python3").symlink_to(Path(sys.executable).resolve())
        keep = {k: v for k, v in os.environ.items() if not k.startswith(("GITHUB_", "INPUT_"))}
        for name in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME"):
            keep.pop(name, None)
        path = [p for p in keep.get("PATH", "").split(os.pathsep) if ".venv" not in p]
        self.env = {
            **keep,
            "PATH": os.pathsep.join([str(tools), *path]),
            "GITHUB_ACTIONS": "true",
            "GITHUB_WORKSPACE": str(self.workspace),
            "GITHUB_ACTION_PATH": str(ROOT),
            "RUNNER_TEMP": str(self.temp),
            "RUNNER_OS": "Linux",
        }

    def run_step(self, step: dict[str, Any], inputs: dict[str, str], summary: Path) -> StepResult:
        env = {**self.env, "GITHUB_STEP_SUMMARY": str(summary)}
        env.update({k: substitute(str(v), inputs) for k, v in step.get("env", {}).items()})
        assert step["shell"] == "bash"
        result = subprocess.run(
            [*BASH, substitute(step["run"], inputs)],
            cwd=self.workspace,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        return StepResult(step["name"], result.returncode, result.stdout, result.stderr)

    def run_action(self, summary: Path, **given: str) -> list[StepResult]:
        """Every step after the install, with the inputs' defaults and ``given``."""
        inputs = {name: str(spec.get("default", "")) for name, spec in ACTION["inputs"].items()}
        inputs.update({name.replace("_", "-"): value for name, value in given.items()})
        results = []
        for step in ACTION["runs"]["steps"][1:]:
            results.append(self.run_step(step, inputs, summary))
            if results[-1].returncode != 0:
                break
        return results


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runner]:
    """A runner on which the action's install step ran (a venv with northca-mock[contracts]).

    Its ``RUNNER_TEMP``, and so the install, is shared by the xdist workers of one session.
    """
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    temp = shared / "github-action-runner-temp"
    temp.mkdir(exist_ok=True)
    runner = Runner(tmp_path_factory.mktemp("runner"), temp)
    with (shared / "github-action-install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (temp / "installed").exists():
            install = ACTION["runs"]["steps"][0]
            result = runner.run_step(install, {}, runner.temp / "install-summary.md")
            assert result.returncode == 0, result.stdout + result.stderr
            (temp / "installed").touch()
        fcntl.flock(lock, fcntl.LOCK_UN)
    yield runner


# -- the metadata --------------------------------------------------------------------------------
def test_action_metadata() -> None:
    assert ACTION["runs"]["using"] == "composite"
    assert tuple(ACTION["inputs"]) == INPUTS
    assert all(spec["required"] is False for spec in ACTION["inputs"].values())
    install, check = ACTION["runs"]["steps"]
    assert '"$GITHUB_ACTION_PATH[contracts]"' in install["run"]
    # Every input reaches the check as INPUT_<NAME>, through env (never pasted into the script).
    assert check["env"] == {
        "INPUT_" + name.upper().replace("-", "_"): "${{ inputs." + name + " }}" for name in INPUTS
    }
    assert "${{" not in install["run"] + check["run"]


# -- the arguments -------------------------------------------------------------------------------
def test_inputs_become_check_arguments(tmp_path: Path) -> None:
    env = {
        "INPUT_URL": " http://127.0.0.1:8000 ",
        "INPUT_PARTNER_KEY": "secret-key",
        "INPUT_GUILD": DEFAULT.guild_id,
        "INPUT_MDT": DEFAULT.mdt_id,
        "INPUT_SECOND_MDT": DEFAULT.unlinked_mdt_id,
        "INPUT_INCLUDE_DESTRUCTIVE": "TRUE",
        "INPUT_ARGS": "--stage workflows --workflow 'units upsert'",
    }
    inputs = read_inputs(env)
    assert inputs["url"] == "http://127.0.0.1:8000" and inputs["second-owner"] == ""
    argv = check_arguments(inputs, inputs["url"], 5, tmp_path, {"actor": DEFAULT.actor_id})
    assert argv == [
        "check", "--url", "http://127.0.0.1:8000", "--partner-key", "secret-key",
        "--guild", DEFAULT.guild_id, "--mdt", DEFAULT.mdt_id, "--actor", DEFAULT.actor_id,
        "--second-mdt", DEFAULT.unlinked_mdt_id, "--seed", "5", "--report-dir", str(tmp_path),
        "--include-destructive", "--stage", "workflows", "--workflow", "units upsert",
    ]  # fmt: skip
    assert redacted(argv)[4] == "***" and "secret-key" not in redacted(argv)
    # Only the non-empty optional inputs become flags.
    inputs["second-owner"] = "333333333333333333"
    argv = check_arguments(inputs, inputs["url"], 5, tmp_path, {})
    assert argv[argv.index("--second-owner") + 1] == "333333333333333333"
    assert "--second-owner" not in check_arguments(read_inputs({}), "http://x", 1, tmp_path, {})


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("INCLUDE_DESTRUCTIVE", "maybe", "input include-destructive must be true or false"),
        ("ARGS", "--workflow 'open", "input args: No closing quotation"),
    ],
)
def test_unusable_inputs_are_refused(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(ActionError) as caught:
        check_arguments(read_inputs({f"INPUT_{name}": value}), "http://x", 1, tmp_path, {})
    assert str(caught.value).startswith(message)


def test_reproduce_commands_lose_the_partner_key() -> None:
    command = "curl -i -X GET 'http://h/v1/mdts/x' -H 'X-Partner-Key: abc-123' -H 'x-a: b'"
    assert redact_partner_key(command) == (
        "curl -i -X GET 'http://h/v1/mdts/x' -H 'X-Partner-Key: ***' -H 'x-a: b'"
    )


# -- the action, run -----------------------------------------------------------------------------
def test_against_the_mock_the_action_starts(runner: Runner, tmp_path: Path) -> None:
    summary, reports = tmp_path / "summary.md", tmp_path / "reports"
    (result,) = runner.run_action(
        summary, seed="7", include_destructive="true", report_dir=str(reports), args=QUICK
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CONFORMS" in result.stdout
    assert DEFAULT.partner_key not in result.stdout + result.stderr  # the command line shows ***
    text = summary.read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "## Northca contract check: conforms"
    assert re.fullmatch(
        r"Target `http://127\.0\.0\.1:\d+` \(northca-mock, started by the action\) · seed `7`"
        r" \(input `seed` repeats the run\) · reports in `.*/reports`",
        lines[2],
    )
    assert "### Violations" not in text
    assert "### Spec coverage" in lines
    assert "| `createLinkRequest` | POST | `/link-requests` |" in text
    assert {p.name for p in reports.iterdir()} == {"coverage.md", "coverage.json", "junit.xml"}
    assert read_violations(reports / "junit.xml") == []


def test_against_a_mock_with_a_planted_bug(runner: Runner, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    with LiveMock("--bug", "wrong-error-string") as mock:
        (result,) = runner.run_action(
            summary,
            url=mock.url,
            partner_key=DEFAULT.partner_key,
            guild=DEFAULT.guild_id,
            mdt=DEFAULT.mdt_id,
            actor=DEFAULT.actor_id,
            seed="3",
            report_dir="out",
            args=QUICK,
        )
    assert result.returncode == 1, result.stdout + result.stderr
    text = summary.read_text(encoding="utf-8")
    violations = read_violations(runner.workspace / "out" / "junit.xml")
    assert [v.rule for v in violations] == ["units.duplicate-id"]
    assert text.startswith("## Northca contract check: 1 violation(s)\n\n")
    assert f"Target `{mock.url}` · seed `3`" in text
    table = text.split("### Violations\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert table[:2] == [
        "| # | rule | operation | expected | received |",
        "|---|---|---|---|---|",
    ]
    assert table[2].startswith("| 1 | `units.duplicate-id` | `upsertActiveUnits` | ")
    assert "Duplicate unit id in request body" in table[2]
    assert len(table) == 3
    reproduce = text.split("<details><summary>Reproduce</summary>", 1)[1]
    assert "curl -i -X PUT" in reproduce and "x-partner-key: ***" in reproduce.lower()
    assert DEFAULT.partner_key not in text
    assert "### Spec coverage" in text


def test_an_unreachable_target_exits_2(runner: Runner, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    (result,) = runner.run_action(
        summary, url="http://127.0.0.1:9", partner_key="k", guild="1", mdt="m", seed="1"
    )
    assert result.returncode == 2
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## Northca contract check: did not complete (exit 2)\n")
    assert "northca-contracts: target unreachable" in text
    assert "### Spec coverage" not in text


def test_a_refused_input_exits_2_with_a_summary(runner: Runner, tmp_path: Path) -> None:
    summary = tmp_path / "summary.md"
    (result,) = runner.run_action(summary, include_destructive="maybe", seed="1")
    assert result.returncode == 2
    assert result.stderr == (
        "northca-contracts: input include-destructive must be true or false, got 'maybe'\n"
    )
    text = summary.read_text(encoding="utf-8")
    assert text.startswith("## Northca contract check: did not complete (exit 2)\n")


def test_a_check_that_crashed_is_no_verdict(tmp_path: Path) -> None:
    """Exit 1 without a report (a traceback, not violations), and a stale report left from an
    earlier run: the summary says the check did not complete, with its stderr."""
    reports = tmp_path / "reports"
    reports.mkdir()
    (reports / "junit.xml").write_text("<testsuites/>", encoding="utf-8")
    (reports / "coverage.md").write_text("# Spec coverage\n", encoding="utf-8")
    summary = tmp_path / "summary.md"
    env = {
        "INPUT_URL": "http://127.0.0.1:9",
        "INPUT_SEED": "4",
        "INPUT_REPORT_DIR": str(reports),
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    crash = [
        sys.executable,
        "-c",
        "import sys; sys.stderr.write('Traceback: boom\\n'); sys.exit(1)",
    ]
    assert run(env, crash) == 1
    assert not (reports / "junit.xml").exists() and not (reports / "coverage.md").exists()
    assert summary.read_text(encoding="utf-8") == (
        "## Northca contract check: did not complete (exit 1)\n\n"
        f"Target `http://127.0.0.1:9` · seed `4` (input `seed` repeats the run) · reports in"
        f" `{reports}`\n\n```\nTraceback: boom\n```\n\n"
    )
