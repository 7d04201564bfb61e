"""The mutation harness works: a planted mutant is killed, the unmutated code is not, and
mutants that need no run are recognised (``make mutation``, docs/mutation.md)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from cosmic_ray import work_item
from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import MutationSpec, WorkerOutcome, WorkItem, WorkResult

from contracts import rules
from mutation import prefilter, report

ROOT = Path(__file__).resolve().parent.parent
UNITS = Path("mockserver/handlers/active_units.py")
DUPLICATE_CHECK = 'if unit["id"] in seen:'


def copy_of_mockserver(where: Path) -> Path:
    shutil.copytree(ROOT / "mockserver", where / "mockserver")
    shutil.copy2(ROOT / "openapi.yaml", where / "openapi.yaml")
    return where


def verdict(copy: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m mutation.kill`` judging the ``mockserver`` in ``copy``."""
    env = {**os.environ, "PYTHONPATH": str(copy), "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mutation.kill", *args],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_planted_mutant_is_killed_by_the_rule_it_breaks(tmp_path: Path) -> None:
    copy = copy_of_mockserver(tmp_path)
    units = copy / UNITS
    source = units.read_text(encoding="utf-8")
    assert source.count(DUPLICATE_CHECK) == 1
    units.write_text(source.replace(DUPLICATE_CHECK, "if False:"), encoding="utf-8")
    done = verdict(copy, "--stage", "workflows")
    assert done.returncode == 1, done.stderr
    assert f"killed by {rules.UNITS_DUPLICATE_ID.name}" in done.stderr, done.stderr


def test_the_unmutated_code_survives_every_stage_the_campaign_runs(tmp_path: Path) -> None:
    done = verdict(copy_of_mockserver(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stderr.startswith("survived: no violation"), done.stderr


def spec(operator: str, line: int, col: int, occurrence: int = 0) -> MutationSpec:
    return MutationSpec(UNITS, operator, occurrence, (line, col), (line, col + 1))


def line_and_column(text: str) -> tuple[int, int]:
    source = (ROOT / UNITS).read_text(encoding="utf-8").splitlines()
    line = next(n for n, s in enumerate(source, 1) if text in s)
    return line, source[line - 1].index(text)


def test_a_mutant_inside_an_annotation_needs_no_run() -> None:
    line, col = line_and_column("ApiError | None:")
    mutation = spec("core/ReplaceBinaryOperator_BitOr_Add", line, col + len("ApiError "))
    assert prefilter.reason_to_skip(ROOT, mutation) == prefilter.ANNOTATION


def test_a_mutant_that_does_not_compile_needs_no_run_and_a_real_one_does() -> None:
    link_requests = Path("mockserver/handlers/link_requests.py")
    source = (ROOT / link_requests).read_text(encoding="utf-8").splitlines()
    line = next(n for n, s in enumerate(source, 1) if "{**request," in s)
    unpacking = MutationSpec(
        link_requests, "core/ReplaceBinaryOperator_Pow_Add", 0, (line, 0), (line, 1)
    )
    assert prefilter.reason_to_skip(ROOT, unpacking) == prefilter.INVALID
    line, col = line_and_column(DUPLICATE_CHECK)
    assert prefilter.reason_to_skip(ROOT, spec("core/AddNot", line, col)) is None


def test_the_report_counts_and_lists_survivors(tmp_path: Path) -> None:
    session = tmp_path / "session.sqlite"
    outcomes = {
        "a": WorkResult(WorkerOutcome.NORMAL, "", work_item.TestOutcome.KILLED, "-x\n+y"),
        "b": WorkResult(
            WorkerOutcome.NORMAL, "", work_item.TestOutcome.SURVIVED, "--- a\n+++ b\n-x\n+y"
        ),
        "c": WorkResult(WorkerOutcome.SKIPPED, prefilter.ANNOTATION),
    }
    with use_db(str(session), WorkDB.Mode.create) as db:
        for number, job in enumerate(["a", "b", "c", "d"]):
            db.add_work_item(WorkItem.single(job, spec("core/AddNot", 10 + number, 4)))
        for job, result in outcomes.items():
            db.set_result(job, result)
    summary = report.load(session)
    assert (summary.killed, summary.survived, summary.pending) == (1, 1, 1)
    assert summary.skipped == {prefilter.ANNOTATION: 1}
    assert summary.share_killed == 0.5
    report.write(summary, tmp_path / "out")
    survivors = (tmp_path / "out" / "survivors.md").read_text(encoding="utf-8")
    assert f"## S1. `{UNITS}:11` core/AddNot #0\n\n```diff\n-x\n+y\n```" in survivors
