"""Coverage of a bot's own tests: which documented responses the tests received from the mock.

The pytest plugin (``--northca-coverage``) adds the answers each test's journals counted
(``Journal.tally``) to one :class:`~mockserver.tally.Tally`; :func:`build_report` holds it
against the spec: each operation's success status and each of its documented error examples
(status and exact string) is one documented response. For each one never received, the
report says how to get it: ``mock.prefer(...)``, a fault plan,
or the request that provokes it.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.spec import Spec
from mockserver.tally import Tally

__all__ = ["REQUEST_HINTS", "Documented", "Report", "Tally", "build_report"]

Key = tuple[str, int, str | None]  # (operationId, status, error string or None)

#: The request that provokes an error example, by example name (example names come from the
#: spec; a test checks every key is one). ``internalError`` has none: only ``prefer`` or a fault
#: plan produce it.
REQUEST_HINTS: Mapping[str, str] = {
    "unauthorized": 'leave out the partner key: mock.headers_for(key="")',
    "mdtNotLinked": "an MDT the guild has not linked: mock.second_mdt_id",
    "notOwner": "an x-discord-actor who does not own the MDT",
    "guildMismatch": "a guildId other than x-discord-guild",
    "missingField": "a body without mdt_id",
    "invalidMdt": "an mdt_id no MDT has",
    "invalidJson": "a body that is not JSON",
    "invalidBody": "a body the schema rejects (a field of the wrong type)",
    "invalidLimit": "?limit=0",
    "idExists": "create twice with the same id",
    "linkRequestNotFound": "an unknown link request id",
    "linkRequestDenied": "confirm a request that was denied",
    "linkRequestApproved": "deny a request that was confirmed",
    "linkRequestExpired": "decide a request after mock.advance_clock() past its TTL",
    "callNotFound": "an unknown call id",
    "unitNotFound": "an unknown unit id",
    "expectedUnits": 'a body without "units"',
    "missingId": "a unit without an id",
    "duplicateId": "the same unit id twice in one body",
}
SUCCESS_HINT = "a valid request"
NO_REQUEST_HINT = "prefer or a fault plan only"


@dataclass(frozen=True)
class Documented:
    """One documented response of one operation, and how often the tests received it."""

    operation_id: str
    method: str
    path: str
    status: int
    example: str | None  # the example name (for a success: its first example, if any)
    error: str | None  # the exact error string; None for the success response
    received: int

    @property
    def prefer(self) -> str | None:
        """The handle call whose headers make the mock answer this response."""
        if self.error is None:
            return f"mock.prefer(code={self.status})" if self.example else None
        return f'mock.prefer(example="{self.example}")'

    @property
    def fault_plan(self) -> dict[str, Any] | None:
        """A fault plan that makes every call of the operation answer this error."""
        if self.error is None:
            return None
        return {"operations": {self.operation_id: {"error_rate": 1, "error": self.example}}}

    @property
    def request(self) -> str:
        """What to send to get it without ``prefer`` or a fault plan."""
        if self.error is None:
            return SUCCESS_HINT
        return REQUEST_HINTS.get(self.example or "", NO_REQUEST_HINT)


@dataclass(frozen=True)
class Report:
    documented: tuple[Documented, ...]
    #: (operation, status, error string, count) received but not documented for the operation.
    undocumented: tuple[tuple[str, int, str | None, int], ...]
    operations: int

    @property
    def received(self) -> int:
        return sum(1 for d in self.documented if d.received)

    @property
    def percent(self) -> float:
        return 100.0 * self.received / len(self.documented) if self.documented else 100.0

    def below(self, percent: float) -> bool:
        """Whether the share of documented responses received is below ``percent``."""
        return self.received * 100 < percent * len(self.documented)

    @property
    def called(self) -> list[str]:
        return _unique(d.operation_id for d in self.documented if d.received)

    @property
    def never_called(self) -> list[str]:
        called = set(self.called) | {op for op, *_ in self.undocumented}
        return [op for op in _unique(d.operation_id for d in self.documented) if op not in called]

    def summary(self) -> str:
        return (
            f"your tests received {self.received} of {len(self.documented)} documented responses"
            f" ({self.percent:.1f}%), from {len(self.called)} of {self.operations} operations"
        )

    @property
    def sentence(self) -> str:
        """:meth:`summary` as a sentence."""
        summary = self.summary()
        return summary[0].upper() + summary[1:] + "."

    # -- renderings ------------------------------------------------------------------------
    def terminal_lines(self, width: int = 100) -> list[str]:
        lines = [self.sentence]
        never = self.never_called
        if never:
            lines += textwrap.wrap(
                f"Never called ({len(never)}): " + ", ".join(never),
                width,
                subsequent_indent="  ",
                break_on_hyphens=False,
            )
        gaps = [d for d in self.documented if not d.received and d.operation_id not in never]
        if gaps:
            lines.append("Not received from the operations you called:")
            name_width = max(len(d.example or "") for d in gaps)
            error_width = max(len(d.error or "") for d in gaps) + 2
            current = ""
            for gap in gaps:
                if gap.operation_id != current:
                    current = gap.operation_id
                    lines.append(f"  {gap.operation_id}  {gap.method} {gap.path}")
                error = f'"{gap.error}"' if gap.error else ""
                lines.append(
                    f"    {gap.status} {(gap.example or '-'):<{name_width}}  "
                    f"{error:<{error_width}}  {gap.request}".rstrip()
                )
        errors = [d for d in gaps or self.documented if not d.received and d.error]
        if errors:
            first = errors[0]
            lines += [
                f"Any documented error on demand, e.g. {first.operation_id} {first.status}"
                f" {first.example}:",
                f"  one request: headers={first.prefer}",
                f"  every call:  mock.set_faults({json.dumps(first.fault_plan)})",
            ]
        for op, status, message, n in self.undocumented:
            text = f' "{message}"' if message else ""
            lines.append(f"Received, but not documented for {op}: {status}{text} ({n}x)")
        return lines

    def as_dict(self) -> dict[str, Any]:
        operations: dict[str, dict[str, Any]] = {}
        for d in self.documented:
            op = operations.setdefault(
                d.operation_id,
                {
                    "operation_id": d.operation_id,
                    "method": d.method,
                    "path": d.path,
                    "responses": [],
                    "undocumented": [],
                },
            )
            op["responses"].append(
                {
                    "status": d.status,
                    "example": d.example,
                    "error": d.error,
                    "received": d.received,
                    "prefer": d.prefer,
                    "fault_plan": d.fault_plan,
                    "request": d.request,
                }
            )
        for op_id, status, error, n in self.undocumented:
            operations[op_id]["undocumented"].append(
                {"status": status, "error": error, "received": n}
            )
        return {
            "received": self.received,
            "documented": len(self.documented),
            "percent": round(self.percent, 1),
            "operations_called": len(self.called),
            "operations": list(operations.values()),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2) + "\n"

    def to_markdown(self) -> str:
        lines = [
            "# Northca coverage of your tests",
            "",
            self.sentence,
            "",
            "| operation | status | example | error string | received | how to get it |",
            "|---|---|---|---|---|---|",
        ]
        for d in self.documented:
            how = "" if d.received else _markdown_how(d)
            error = f"`{d.error}`" if d.error else ""
            lines.append(
                f"| `{d.operation_id}` | {d.status} | {d.example or ''} | {error} "
                f"| {d.received} | {how} |"
            )
        for op, status, message, n in self.undocumented:
            lines.append(f"| `{op}` | {status} | (undocumented) | `{message or ''}` | {n} | |")
        return "\n".join(lines) + "\n"

    def render(self, filename: str) -> str:
        """Markdown for a ``.md`` file name, else JSON."""
        return self.to_markdown() if filename.lower().endswith(".md") else self.to_json()


def _markdown_how(d: Documented) -> str:
    parts = [d.request]
    if d.prefer:
        parts.append(f"`{d.prefer}`")
    if d.fault_plan:
        parts.append(f"`mock.set_faults({json.dumps(d.fault_plan)})`")
    return "; ".join(parts).replace("|", "\\|")


def _unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))


def build_report(spec: Spec, tally: Tally) -> Report:
    """Every documented response of ``spec``, with how often ``tally`` saw it."""
    counts: dict[Key, int] = {}
    for (op_id, status, error), n in tally.responses().items():
        if op_id is not None:
            counts[(op_id, status, error)] = n
    documented: list[Documented] = []
    known: set[Key] = set()
    for op in spec.operations.values():
        success_examples = [
            example.name for example in op.examples() if example.status == op.success_status
        ]
        successes = [k for k in counts if k[:2] == (op.operation_id, op.success_status)]
        known.update(successes)
        documented.append(
            Documented(
                op.operation_id,
                op.method,
                op.path,
                op.success_status,
                success_examples[0] if success_examples else None,
                None,
                sum(counts[k] for k in successes),
            )
        )
        for example in op.errors.values():
            key = (op.operation_id, example.status, example.message)
            known.add(key)
            documented.append(
                Documented(
                    op.operation_id,
                    op.method,
                    op.path,
                    example.status,
                    example.name,
                    example.message,
                    counts.get(key, 0),
                )
            )
    undocumented = tuple(
        (op, status, error, n)
        for (op, status, error), n in sorted(counts.items(), key=str)
        if (op, status, error) not in known and op in spec.operations
    )
    return Report(tuple(documented), undocumented, len(spec.operations))
