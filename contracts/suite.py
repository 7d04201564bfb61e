"""The workflow registry: a :class:`Workflow` is a named business-rule check that
:mod:`contracts.workflows` registers with ``@workflow``; ``WORKFLOWS`` holds them in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from contracts import rules
from contracts.context import CheckContext, StopWorkflow
from contracts.events import Failure
from contracts.target import TargetUnreachable

WorkflowFunction = Callable[[CheckContext], None]


@dataclass(frozen=True)
class Workflow:
    """A named business-rule check."""

    name: str
    function: WorkflowFunction
    description: str
    destructive: bool = False
    needs_clock: bool = False
    needs_second_mdt: bool = False

    def skip_reason(self, ctx: CheckContext) -> str | None:
        if self.destructive and not ctx.include_destructive:
            return "changes links (confirm/deny/unlink): opt in with --include-destructive"
        if self.needs_clock and not ctx.clock_control:
            return "needs the mock's clock control (POST /__mock/clock)"
        if self.needs_second_mdt and not ctx.config.second_mdt:
            return "needs a second MDT the target knows: pass --second-mdt ID --second-owner ACTOR"
        return None

    def run(self, ctx: CheckContext) -> list[Failure]:
        """Run against ``ctx``; returns the failures (also left in ``ctx.failures``)."""
        try:
            self.function(ctx)
        except StopWorkflow:
            pass
        except TargetUnreachable:
            raise  # not a finding: the run stops (exit 2)
        except Exception as exc:  # a crash of the workflow is reported, never raised
            ctx.fail(
                rules.WORKFLOW_ERROR,
                "the workflow to run to its end",
                f"{type(exc).__name__}: {exc}",
            )
        return ctx.failures


WORKFLOWS: dict[str, Workflow] = {}


def workflow(
    name: str,
    *,
    destructive: bool = False,
    needs_clock: bool = False,
    needs_second_mdt: bool = False,
) -> Callable[[WorkflowFunction], WorkflowFunction]:
    def register(function: WorkflowFunction) -> WorkflowFunction:
        doc = (function.__doc__ or name).strip().splitlines()[0]
        WORKFLOWS[name] = Workflow(name, function, doc, destructive, needs_clock, needs_second_mdt)
        return function

    return register
