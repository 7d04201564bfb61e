"""Coverage of the spec: operations x documented statuses x documented error strings exercised."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from contracts.spec import ContractSpec


class Coverage:
    """Collects every (operation, status, error string) a run saw; renders Markdown and JSON."""

    def __init__(self, spec: ContractSpec, redact: Callable[[str], str] = str) -> None:
        self.spec = spec
        self.redact = redact  # applied to every error string it keeps (the partner key out)
        self._lock = threading.Lock()
        self.statuses: dict[str, set[int]] = {op: set() for op in spec.operations}
        self.messages: dict[str, set[str]] = {op: set() for op in spec.operations}

    def record(self, operation_id: str | None, status: int, error: Any = None) -> None:
        if operation_id not in self.statuses:
            return
        with self._lock:
            self.statuses[operation_id].add(status)
            if isinstance(error, str):
                self.messages[operation_id].add(self.redact(error))

    def as_dict(self) -> dict[str, Any]:
        operations = []
        totals = {"statuses": [0, 0], "errors": [0, 0]}
        for op_id, op in self.spec.operations.items():
            statuses = {str(s): s in self.statuses[op_id] for s in sorted(op.statuses)}
            errors = [
                {
                    "name": e.name,
                    "status": e.status,
                    "error": e.message,
                    "evidence": e.evidence,
                    "exercised": bool(
                        e.message in self.messages[op_id] and e.status in self.statuses[op_id]
                    ),
                }
                for e in self.spec.errors[op_id].values()
            ]
            undocumented = sorted(self.statuses[op_id] - set(op.statuses))
            totals["statuses"][0] += sum(statuses.values())
            totals["statuses"][1] += len(statuses)
            totals["errors"][0] += sum(1 for e in errors if e["exercised"])
            totals["errors"][1] += len(errors)
            operations.append(
                {
                    "operation_id": op_id,
                    "method": op.method,
                    "path": op.path,
                    "statuses": statuses,
                    "undocumented_statuses_seen": undocumented,
                    "errors": errors,
                }
            )
        return {
            "spec": str(self.spec.path),
            "totals": {
                "statuses_exercised": totals["statuses"][0],
                "statuses_documented": totals["statuses"][1],
                "errors_exercised": totals["errors"][0],
                "errors_documented": totals["errors"][1],
            },
            "operations": operations,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2)

    def to_markdown(self) -> str:
        data = self.as_dict()
        t = data["totals"]
        lines = [
            "# Spec coverage",
            "",
            "Documented statuses exercised: "
            f"**{t['statuses_exercised']}/{t['statuses_documented']}**; documented error strings "
            f"exercised: **{t['errors_exercised']}/{t['errors_documented']}**.",
            "",
            "| operation | method | path | statuses (exercised ✓ / not ✗) | error strings |",
            "|---|---|---|---|---|",
        ]
        for op in data["operations"]:
            statuses = " ".join(f"{s}{'✓' if hit else '✗'}" for s, hit in op["statuses"].items())
            if op["undocumented_statuses_seen"]:
                statuses += (
                    " (undocumented seen: "
                    + ", ".join(map(str, op["undocumented_statuses_seen"]))
                    + ")"
                )
            errors = "<br>".join(
                f"{'✓' if e['exercised'] else '✗'} {e['status']} `{e['error']}`"
                + (" *(inferred)*" if e["evidence"] == "inferred" else "")
                for e in op["errors"]
            )
            lines.append(
                f"| `{op['operation_id']}` | {op['method']} | `{op['path']}` "
                f"| {statuses} | {errors} |"
            )
        return "\n".join(lines) + "\n"
