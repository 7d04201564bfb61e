"""A campaign's result from its cosmic-ray session: the share killed, and every survivor."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cosmic_ray.work_db import WorkDB, use_db
from cosmic_ray.work_item import TestOutcome, WorkerOutcome


@dataclass(frozen=True)
class Survivor:
    """A mutant the checker did not kill."""

    file: str
    line: int
    operator: str
    occurrence: int
    diff: str

    def changed(self) -> str:
        """The diff's changed lines, ``-old`` then ``+new``."""
        lines = self.diff.splitlines()
        return "\n".join(
            line for line in lines if line[:1] in "+-" and line[:3] not in ("+++", "---")
        )


@dataclass
class Summary:
    """Counts of a session's mutants, and its survivors."""

    total: int = 0
    killed: int = 0
    timed_out: int = 0
    survived: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    incompetent: int = 0
    pending: int = 0
    seconds: float | None = None
    survivors: list[Survivor] = field(default_factory=list)

    @property
    def judged(self) -> int:
        """Mutants the checker ran against (killed or survived)."""
        return self.killed + self.survived

    @property
    def share_killed(self) -> float:
        return self.killed / self.judged if self.judged else 0.0

    def line(self) -> str:
        skipped = sum(self.skipped.values())
        return (
            f"killed {self.killed} of {self.judged} mutants ({self.share_killed:.1%});"
            f" {self.survived} survived, {skipped} skipped without a run,"
            f" {self.incompetent} incompetent, {self.pending} not run"
        )


def summarize(db: WorkDB) -> Summary:
    """The summary of an open session."""
    summary = Summary(total=db.num_work_items)
    skipped: Counter[str] = Counter()
    for item, result in db.completed_work_items:
        if result.worker_outcome == WorkerOutcome.SKIPPED:
            skipped[result.output or "skipped"] += 1
        elif result.test_outcome == TestOutcome.SURVIVED:
            summary.survived += 1
            mutation = item.mutations[0]
            summary.survivors.append(
                Survivor(
                    str(mutation.module_path),
                    mutation.start_pos[0],
                    mutation.operator_name,
                    mutation.occurrence,
                    result.diff or "",
                )
            )
        elif result.test_outcome == TestOutcome.KILLED:
            summary.killed += 1
            summary.timed_out += result.output == "timeout"
        else:
            summary.incompetent += 1
    summary.pending = summary.total - summary.killed - summary.survived
    summary.pending -= summary.incompetent + sum(skipped.values())
    summary.skipped = dict(skipped)
    summary.survivors.sort(key=lambda s: (s.file, s.line, s.operator, s.occurrence))
    return summary


def write(summary: Summary, out: Path) -> None:
    """``summary.json`` and ``survivors.md`` (file, line, operator, the change) in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = asdict(summary)
    data["share_killed"] = summary.share_killed
    (out / "summary.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    lines = [f"# Surviving mutants\n\n{summary.line()}\n"]
    for number, survivor in enumerate(summary.survivors, 1):
        lines.append(
            f"## S{number}. `{survivor.file}:{survivor.line}` {survivor.operator}"
            f" #{survivor.occurrence}\n\n```diff\n{survivor.changed()}\n```\n"
        )
    (out / "survivors.md").write_text("\n".join(lines), encoding="utf-8")


def load(session: Path) -> Summary:
    """The summary of the session file ``session``."""
    with use_db(str(session), WorkDB.Mode.open) as db:
        return summarize(db)
