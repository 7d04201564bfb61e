"""Per-operation request checks, compiled once from the spec.

``RequestChecker`` turns a raw body and query string into validated Python values, or raises
``ApiError`` naming the documented example that answers the failure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from mockserver.bodies import is_json_media_type, parse_json
from mockserver.errors import ApiError
from mockserver.schemas import LazyViolations, SchemaCache, SchemaValidator, Violation
from mockserver.spec import Operation, Parameter

_INTEGER = re.compile(r"-?[0-9]{1,18}")  # longer ones are out of any range, and slow to parse


#: Maps a parsed body and its schema violations (empty when valid) to the error to answer.
BodyRule = Callable[[Any, Sequence[Violation]], ApiError | None]


def schema_violations_rule(body: Any, violations: Sequence[Violation]) -> ApiError | None:
    """Default rule: any schema violation is ``invalidBody``, naming up to three fields and
    problems (joined by "; ")."""
    if violations:
        return ApiError("invalidBody", "; ".join(v.describe() for v in violations[:3]))
    return None


class _QueryParameter:
    def __init__(self, parameter: Parameter, validator: SchemaValidator) -> None:
        self.name = parameter.name
        self.required = parameter.required
        self.type = parameter.schema.get("type")
        self.default = parameter.schema.get("default")
        self.error = parameter.error_example or "invalidBody"
        self.validator = validator

    def parse(self, raw: str | None) -> Any:
        if raw is None:
            if self.required:
                raise ApiError(self.error, f"{self.name}: required")
            return self.default
        value: Any = raw
        if self.type == "integer":
            if not _INTEGER.fullmatch(raw):
                raise ApiError(self.error, f"{self.name}: expected an integer, got {raw!r}")
            value = int(raw)
        if not self.validator.is_valid(value):
            problem = self.validator.violations(value, limit=1)[0].message
            raise ApiError(self.error, f"{self.name}: {problem}")
        return value


class RequestChecker:
    """Body and query checks of one operation."""

    def __init__(self, op: Operation, schemas: SchemaCache, rule: BodyRule | None) -> None:
        self.op = op
        self.body_validator = (
            schemas.for_node(op.body_schema_ref) if op.body_schema_ref is not None else None
        )
        self.rule = rule or schema_violations_rule
        self.query = [
            _QueryParameter(parameter, schemas.for_node(parameter.schema))
            for parameter in op.parameters
            if parameter.location == "query"
        ]

    def body(self, raw: bytes, content_type: str | None) -> Any:
        """The validated body of ``raw`` (None when an optional body is absent)."""
        if self.body_validator is None:
            return None
        if not raw:
            if self.op.body_required:
                raise ApiError("invalidJson", "body: a JSON body is required")
            return None
        if not is_json_media_type(content_type):
            raise ApiError(
                "invalidJson", f"content-type: expected application/json, got {content_type!r}"
            )
        try:
            body = parse_json(raw)
        except (ValueError, RecursionError) as exc:
            raise ApiError("invalidJson", f"body: {exc}") from None
        violations: Sequence[Violation] = (
            () if self.body_validator.is_valid(body) else LazyViolations(self.body_validator, body)
        )
        error = self.rule(body, violations)
        if error is not None:
            raise error
        return body

    def query_values(self, args: Mapping[str, str]) -> dict[str, Any]:
        # ``name in args`` first: a missing key makes werkzeug's ``get`` build an exception.
        return {
            checker.name: checker.parse(args.get(checker.name) if checker.name in args else None)
            for checker in self.query
        }
