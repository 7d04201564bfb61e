"""What a run emits: the engine sends events; reporters (console, JUnit, coverage) read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from contracts.target import TargetUnreachable


@dataclass(frozen=True)
class Failure:
    """One violated rule: where, which rule, expected vs received, and how to reproduce it."""

    check: str  # the workflow or schemathesis test that found it
    rule: str  # a contracts.rules name, e.g. "units.duplicate-id"
    operation: str  # operationId, or "(routing)"
    expected: str
    received: str
    curl: str = ""
    stage: str = "workflows"
    message: str = ""  # what the finder said besides expected/received (schemathesis' title)

    def summary(self) -> str:
        return f"[{self.rule}] {self.operation}: expected {self.expected}; received {self.received}"


@dataclass(frozen=True)
class RunStarted:
    target: str
    seed: int
    run_id: str
    stages: tuple[str, ...]


@dataclass(frozen=True)
class StageStarted:
    stage: str  # schemathesis | workflows | stateful
    total: int


@dataclass(frozen=True)
class CheckStarted:
    stage: str
    name: str


@dataclass(frozen=True)
class CheckFinished:
    """A workflow, a schemathesis operation/phase, or the state machine, with its failures."""

    stage: str
    name: str
    failures: tuple[Failure, ...]
    duration: float
    skipped: str | None = None  # why it did not run
    requests: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures and self.skipped is None


@dataclass(frozen=True)
class StageFinished:
    stage: str
    duration: float


@dataclass(frozen=True)
class RunFinished:
    failures: tuple[Failure, ...]
    duration: float
    coverage: Any = None  # contracts.coverage.Coverage
    checks: tuple[CheckFinished, ...] = field(default=())
    #: Why the run stopped before its end (the target stopped answering), or None.
    aborted: str | None = None

    @property
    def ok(self) -> bool:
        return not self.failures and self.aborted is None


class CheckInterrupted(TargetUnreachable):
    """The target stopped answering during a check: ``partial`` holds what it found so far."""

    def __init__(self, cause: TargetUnreachable, partial: CheckFinished) -> None:
        super().__init__(str(cause))
        self.partial = partial


Event = RunStarted | StageStarted | CheckStarted | CheckFinished | StageFinished | RunFinished
