"""What the model-based state machines share: how they report a violation, and how they run.

A machine raises :class:`ContractViolation` at the first answer its model did not predict;
:func:`run_machine` runs one bound machine class with hypothesis and turns that into the
check's result.
"""

from __future__ import annotations

import time

import hypothesis
from hypothesis.stateful import RuleBasedStateMachine

from contracts import rules
from contracts.checks import expected_error
from contracts.context import CheckContext
from contracts.events import CheckFinished, CheckInterrupted, Failure
from contracts.rules import Rule
from contracts.target import Exchange, TargetUnreachable

STAGE = "stateful"


class ContractViolation(AssertionError):
    def __init__(self, failure: Failure) -> None:
        super().__init__(failure.summary())
        self.failure = failure


def model_violation(
    check: str, rule: Rule, ex: Exchange | None, expected: str
) -> ContractViolation:
    """The failure a model-based machine reports: its rule, the exchange, what it expected."""
    return ContractViolation(
        Failure(
            check=check,
            rule=rule.name,
            operation=(ex.operation_id if ex else None) or "(model)",
            expected=expected,
            received=ex.received() if ex else "",
            curl=ex.curl() if ex else "",
            stage=STAGE,
        )
    )


class ModelMachine(RuleBasedStateMachine):
    """A state machine bound to one check context; subclasses set ``ctx`` and ``name``."""

    ctx: CheckContext
    name: str
    #: The first violation any run of the class found (reported even if hypothesis' replay of
    #: the failing program then behaves differently: the target keeps its state).
    first: ContractViolation | None = None

    def violation(self, rule: Rule, ex: Exchange | None, expected: str) -> ContractViolation:
        found = model_violation(self.name, rule, ex, expected)
        if type(self).first is None:
            type(self).first = found
        return found

    def check(self, ok: bool, rule: Rule, ex: Exchange | None, expected: str) -> None:
        if not ok:
            raise self.violation(rule, ex, expected)

    def expect_error(self, ex: Exchange, rule: Rule, name: str) -> None:
        """The documented error ``name`` (:func:`contracts.checks.expected_error`)."""
        violation = expected_error(ex, self.ctx.spec, name, rule)
        if violation is not None:
            raise self.violation(rule, ex, violation.expected)


def _add_found(
    ctx: CheckContext, failures: list[Failure], machine_class: type[object] | None
) -> None:
    """Add the machine's first violation (when ``machine_class`` is given) and the read-back's
    failures, once per rule and operation."""
    first = getattr(machine_class, "first", None)
    if isinstance(first, ContractViolation) and first.failure not in failures:
        failures.append(first.failure)
    seen = {(f.rule, f.operation) for f in failures}
    for found in ctx.failures:
        if (found.rule, found.operation) not in seen:
            seen.add((found.rule, found.operation))
            failures.append(found)


def run_machine(
    ctx: CheckContext,
    machine_class: type[RuleBasedStateMachine],
    *,
    seed: int,
    max_examples: int,
    steps: int,
    shrink: bool = True,
) -> CheckFinished:
    """Run one bound machine class; a violation is reported once (after shrinking, if
    ``shrink``: the report shows the failing exchange, so shrinking only simplifies it)."""
    started = time.monotonic()
    machine = hypothesis.seed(seed)(machine_class)
    settings = hypothesis.settings(
        max_examples=max_examples,
        stateful_step_count=steps,
        deadline=None,
        database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        report_multiple_bugs=False,
        phases=[p for p in hypothesis.Phase if shrink or p is not hypothesis.Phase.shrink],
    )
    failures: list[Failure] = []
    try:
        try:
            hypothesis.stateful.run_state_machine_as_test(machine, settings=settings)
        except Exception as exc:
            if ctx.config.gone is not None and not isinstance(
                exc, (TargetUnreachable, ContractViolation)
            ):
                raise ctx.config.gone from exc
            raise
    except ContractViolation as violation:
        failures.append(violation.failure)
    except TargetUnreachable as gone:
        _add_found(ctx, failures, machine_class)
        partial = CheckFinished(
            STAGE, ctx.check, tuple(failures), time.monotonic() - started, None, ctx.requests
        )
        raise CheckInterrupted(gone, partial) from gone
    except Exception as exc:
        first = getattr(machine_class, "first", None)
        if isinstance(first, ContractViolation):
            failures.append(first.failure)
        else:
            failures.append(
                Failure(
                    ctx.check,
                    rules.WORKFLOW_ERROR.name,
                    "(model)",
                    "the state machine to run",
                    f"{type(exc).__name__}: {exc}",
                    stage=STAGE,
                )
            )
    _add_found(ctx, failures, None)
    return CheckFinished(
        STAGE, ctx.check, tuple(failures), time.monotonic() - started, None, ctx.requests
    )
