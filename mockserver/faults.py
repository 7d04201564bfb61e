"""Failures on demand, in the API's own format.

- ``Prefer: code=500`` or ``Prefer: code=400, example=invalidMdt`` (Prism's syntax; the
  example alone works too) forces a documented
  response of the operation; ``Preference-Applied`` says when it was honoured.
- A fault plan (control plane or world file) adds latency, fixed or random within a range, and
  documented errors at a rate, per operation, drawn from a seeded generator so runs repeat.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.errors import NorthcaMockError
from mockserver.gate import UnstorableError, check_storable
from mockserver.spec import Operation

PREFER_HEADER = "Prefer"
_PREFERENCE = re.compile(r"\s*(code|example)\s*=\s*\"?([^\",;\s]+)\"?\s*")
ANY_OPERATION = "*"


class FaultPlanError(NorthcaMockError, ValueError):
    """A fault plan that cannot be used; the message names the key."""


def parse_prefer(header: str | None) -> dict[str, str]:
    """The ``code`` and ``example`` preferences of a ``Prefer`` header (others are ignored)."""
    if not header:
        return {}
    found: dict[str, str] = {}
    for part in re.split(r"[,;]", header):
        match = _PREFERENCE.fullmatch(part)
        if match:
            found[match.group(1)] = match.group(2)
    return found


@dataclass(frozen=True)
class ForcedResponse:
    status: int
    body: Any
    applied: str


def forced_response(op: Operation, prefer: Mapping[str, str]) -> ForcedResponse | None:
    """The documented response ``prefer`` asks for, or None when the operation has none such."""
    name = prefer.get("example")
    code = prefer.get("code")
    for example in op.examples():
        if name is not None and example.name != name:
            continue
        if code is not None and str(example.status) != code:
            continue
        applied = ", ".join(f"{key}={prefer[key]}" for key in ("code", "example") if key in prefer)
        return ForcedResponse(example.status, example.value, applied)
    return None


#: Connection-level faults: ``reset`` aborts the TCP connection (RST), ``empty`` closes it
#: without an answer. Opt-in (``--allow-connection-faults``), and only where the server hands the
#: app its socket (``--server werkzeug``).
CONNECTION_FAULTS = ("reset", "empty")


@dataclass(frozen=True)
class OperationFaults:
    """Latency range in milliseconds, the rate of answering with a documented error, and the
    rate of breaking the connection instead of answering."""

    latency_ms: tuple[float, float] = (0.0, 0.0)
    error_rate: float = 0.0
    error: str = "internalError"
    connection: str | None = None
    connection_rate: float = 0.0


@dataclass(frozen=True)
class Draw:
    delay_seconds: float
    error: str | None
    connection: str | None = None


class FaultPlan:
    """Per-operation faults (``"*"`` for every operation) drawn from a seeded generator."""

    def __init__(
        self, operations: Mapping[str, OperationFaults] | None = None, seed: int | None = None
    ) -> None:
        self.operations = dict(operations or {})
        self.seed = seed
        self._random = random.Random(seed)

    def fresh(self) -> FaultPlan:
        """The same plan with its generator back at the seed."""
        return FaultPlan(self.operations, self.seed)

    @property
    def active(self) -> bool:
        return bool(self.operations)

    def draw(self, operation_id: str) -> Draw:
        faults = self.operations.get(operation_id) or self.operations.get(ANY_OPERATION)
        if faults is None:
            return Draw(0.0, None)
        low, high = faults.latency_ms
        delay = (low if low == high else self._random.uniform(low, high)) / 1000
        error = (
            faults.error
            if faults.error_rate and self._random.random() < faults.error_rate
            else None
        )
        connection = (
            faults.connection
            if faults.connection_rate and self._random.random() < faults.connection_rate
            else None
        )
        return Draw(delay, error, connection)

    @property
    def adds_latency(self) -> bool:
        return any(faults.latency_ms[1] > 0 for faults in self.operations.values())

    @property
    def breaks_connections(self) -> bool:
        return any(faults.connection for faults in self.operations.values())

    def describe(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "operations": {
                op_id: {
                    "latency_ms": list(faults.latency_ms),
                    "error_rate": faults.error_rate,
                    "error": faults.error,
                    **(
                        {"connection": faults.connection, "connection_rate": faults.connection_rate}
                        if faults.connection
                        else {}
                    ),
                }
                for op_id, faults in self.operations.items()
            },
        }

    @classmethod
    def parse(
        cls, raw: Any, operations: Mapping[str, Operation], where: str = "faults"
    ) -> FaultPlan:
        """Read ``{"seed": N, "operations": {opId or "*": {latency_ms, error_rate, error}}}``."""
        if raw is None:
            return cls()
        try:  # a plan is written to state files and read back (``GET /__mock/faults`` too)
            check_storable(raw, where)
        except UnstorableError as exc:
            raise FaultPlanError(str(exc)) from None
        if not isinstance(raw, Mapping):
            raise FaultPlanError(f"{where}: expected a mapping with seed and operations")
        unknown = set(raw) - {"seed", "operations"}
        if unknown:
            raise FaultPlanError(f"{where}: unknown key {sorted(unknown)[0]!r}")
        seed = raw.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise FaultPlanError(f"{where}.seed: expected an integer")
        ops = raw.get("operations", {})
        if not isinstance(ops, Mapping):
            raise FaultPlanError(f"{where}.operations: expected a mapping of operationId -> faults")
        parsed = {}
        for op_id, spec in ops.items():
            at = f"{where}.operations.{op_id}"
            if op_id != ANY_OPERATION and op_id not in operations:
                raise FaultPlanError(f"{at}: unknown operationId")
            parsed[op_id] = _operation_faults(spec, at, operations.get(op_id), operations)
        return cls(parsed, seed)


def _operation_faults(
    raw: Any, where: str, op: Operation | None, operations: Mapping[str, Operation]
) -> OperationFaults:
    if not isinstance(raw, Mapping):
        raise FaultPlanError(f"{where}: expected a mapping with latency_ms, error_rate, error")
    unknown = set(raw) - {"latency_ms", "error_rate", "error", "connection", "connection_rate"}
    if unknown:
        raise FaultPlanError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    connection = raw.get("connection")
    if connection is not None and connection not in CONNECTION_FAULTS:
        raise FaultPlanError(f"{where}.connection: expected one of {', '.join(CONNECTION_FAULTS)}")
    connection_rate = raw.get("connection_rate", 1 if connection else 0)
    if (
        isinstance(connection_rate, bool)
        or not isinstance(connection_rate, (int, float))
        or not 0 <= connection_rate <= 1
    ):
        raise FaultPlanError(f"{where}.connection_rate: expected a number from 0 to 1")
    latency = raw.get("latency_ms", 0)
    if isinstance(latency, (int, float)) and not isinstance(latency, bool):
        low = high = float(latency)
    elif (
        isinstance(latency, list)
        and len(latency) == 2
        and all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in latency)
    ):
        low, high = float(latency[0]), float(latency[1])
    else:
        raise FaultPlanError(f"{where}.latency_ms: expected a number or [min, max]")
    if not 0 <= low <= high <= 60_000:  # false for NaN too
        raise FaultPlanError(f"{where}.latency_ms: expected 0 <= min <= max <= 60000")
    rate = raw.get("error_rate", 0)
    if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0 <= rate <= 1:
        raise FaultPlanError(f"{where}.error_rate: expected a number from 0 to 1")
    error = raw.get("error", "internalError")
    targets = [op] if op is not None else list(operations.values())
    if not isinstance(error, str) or any(error not in target.errors for target in targets):
        raise FaultPlanError(f"{where}.error: {error!r} is not an error example of the operation")
    return OperationFaults((low, high), float(rate), error, connection, float(connection_rate))
