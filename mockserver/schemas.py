"""JSON Schema validators compiled once from the spec's schemas (jsonschema-rs)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, overload

import jsonschema_rs

from mockserver.spec import Spec


@dataclass(frozen=True)
class Violation:
    """One schema failure: where in the instance, which keyword, and a readable message."""

    path: tuple[str | int, ...]
    keyword: str
    message: str

    @property
    def field(self) -> str:
        return ".".join(str(part) for part in self.path) or "body"

    def describe(self) -> str:
        return f"{self.field}: {self.message}"


class SchemaValidator:
    """A compiled validator for one schema node of the spec (``$ref``s resolve in the spec)."""

    def __init__(self, spec: Spec, node: Mapping[str, Any]) -> None:
        root = {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            **node,
            "components": spec.components,
        }
        self._validator = jsonschema_rs.validator_for(root, validate_formats=True)

    def is_valid(self, instance: Any) -> bool:
        return bool(self._validator.is_valid(instance))

    def violations(self, instance: Any, limit: int = 3) -> list[Violation]:
        """The first ``limit`` violations (an answer names a few; finding all can be slow)."""
        found = []
        for error in islice(self._validator.iter_errors(instance), limit):
            keyword = str(error.schema_path[-1]) if error.schema_path else ""
            found.append(Violation(tuple(error.instance_path), keyword, error.message))
        return found

    def first_problem(self, instance: Any, where: str) -> str | None:
        """The first violation as ``where[0].field: message``; None when ``instance`` is valid."""
        found = self.violations(instance, limit=1)
        if not found:
            return None
        path = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in found[0].path
        )
        return f"{where}{path}: {found[0].message}"


class LazyViolations(Sequence[Violation]):
    """The violations of an instance known to be invalid, computed on first use.

    Operation rules often answer from the body's shape alone (``Expected { units: [...] }``);
    they then never pay for collecting violations.
    """

    def __init__(self, validator: SchemaValidator, instance: Any) -> None:
        self._validator = validator
        self._instance = instance
        self._found: list[Violation] | None = None

    def _violations(self) -> list[Violation]:
        if self._found is None:
            self._found = self._validator.violations(self._instance)
        return self._found

    def __bool__(self) -> bool:
        return True  # only built for invalid instances

    def __len__(self) -> int:
        return len(self._violations())

    @overload
    def __getitem__(self, index: int) -> Violation: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Violation]: ...

    def __getitem__(self, index: int | slice) -> Violation | Sequence[Violation]:
        return self._violations()[index]


class SchemaCache:
    """Compiles each schema node once per spec."""

    def __init__(self, spec: Spec) -> None:
        self._spec = spec
        self._compiled: dict[str, SchemaValidator] = {}

    def for_node(self, node: Mapping[str, Any]) -> SchemaValidator:
        key = repr(sorted(node.items())) if "$ref" not in node else node["$ref"]
        validator = self._compiled.get(key)
        if validator is None:
            validator = self._compiled[key] = SchemaValidator(self._spec, node)
        return validator

    def component(self, name: str) -> SchemaValidator:
        return self.for_node({"$ref": f"#/components/schemas/{name}"})
