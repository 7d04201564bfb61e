"""The contract view of ``openapi.yaml``: operations, documented statuses and error strings.

Built on :mod:`mockserver.spec` (the same loader the mock uses), plus what a checker needs on top:
the evidence level of each error example (``x-northca-evidence``), which decides whether a check
may compare the exact string or only the status, and the fields declared ``format: date-time``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from mockserver.spec import HTTP_METHODS, Operation, Spec, load_spec


@dataclass(frozen=True)
class DocumentedError:
    """A named error example of one operation."""

    operation_id: str
    name: str
    status: int
    message: str
    evidence: str  # documented | partial | inferred

    @property
    def exact(self) -> bool:
        """Whether a check may compare the string (not only the status)."""
        return self.evidence != "inferred"


class ContractSpec:
    """The spec as the contract checks read it."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.spec: Spec = load_spec(path)
        self.path = self.spec.source
        self.errors: dict[str, dict[str, DocumentedError]] = {
            op_id: dict(self._errors(op)) for op_id, op in self.spec.operations.items()
        }

    @property
    def operations(self) -> Mapping[str, Operation]:
        return self.spec.operations

    @property
    def base_path(self) -> str:
        return self.spec.base_path

    def operation(self, operation_id: str) -> Operation:
        return self.spec.operations[operation_id]

    def error(self, operation_id: str, name: str) -> DocumentedError:
        """The error example ``name`` of an operation (KeyError if it documents none)."""
        return self.errors[operation_id][name]

    def route_error(self, name: str) -> DocumentedError:
        """A route-level error (``notFound``, ``methodNotAllowed``) from the shared components."""
        shared = self.spec.shared_error(name)
        return DocumentedError("(routing)", name, shared.status, shared.message, "inferred")

    def methods_of(self, path: str) -> frozenset[str]:
        """Methods the spec declares for a path template."""
        item = self.spec.document["paths"][path]
        return frozenset(m.upper() for m in HTTP_METHODS if m in item)

    def has_limit(self, operation_id: str) -> bool:
        return any(p.name == "limit" for p in self.operation(operation_id).parameters)

    @cached_property
    def date_time_fields(self) -> frozenset[str]:
        """Names of every property declared ``format: date-time`` in the component schemas."""
        found: set[str] = set()

        def walk(node: Any) -> None:
            if isinstance(node, Mapping):
                for name, prop in (node.get("properties") or {}).items():
                    if isinstance(prop, Mapping) and prop.get("format") == "date-time":
                        found.add(name)
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)

        walk(self.spec.components.get("schemas", {}))
        return frozenset(found)

    def _errors(self, op: Operation) -> Iterator[tuple[str, DocumentedError]]:
        for example in op.examples():
            if example.is_error:
                yield (
                    example.name,
                    DocumentedError(
                        op.operation_id,
                        example.name,
                        example.status,
                        example.message,
                        example.evidence,
                    ),
                )
