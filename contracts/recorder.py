"""The failures of one check: recorded once per (rule, operation, expectation)."""

from __future__ import annotations

from contracts.events import Failure
from contracts.rules import Rule
from contracts.target import Exchange

ROUTING = "(routing)"


class Recorder:
    """Collects the :class:`Failure` s of one check (a workflow or a state machine)."""

    def __init__(self, check: str, stage: str = "workflows") -> None:
        self.check = check
        self.stage = stage
        self.failures: list[Failure] = []
        self._seen: set[tuple[str, str, str]] = set()

    def fail(
        self,
        rule: Rule,
        expected: str,
        received: str | None = None,
        exchange: Exchange | None = None,
        *,
        operation: str | None = None,
    ) -> None:
        """Record a failure of ``rule`` (``received`` None: the exchange's status and body)."""
        op = operation or (exchange.operation_id if exchange else None) or ROUTING
        key = (rule.name, op, expected)
        if key in self._seen:
            return
        self._seen.add(key)
        if received is None:
            received = exchange.received() if exchange else ""
        self.failures.append(
            Failure(
                check=self.check,
                rule=rule.name,
                operation=op,
                expected=expected,
                received=received,
                curl=exchange.curl() if exchange else "",
                stage=self.stage,
            )
        )
