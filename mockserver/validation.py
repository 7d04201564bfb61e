"""Per-operation request checks, compiled once from the spec.

``RequestChecker`` turns a raw body and query string into validated Python values, or raises
``ApiError`` naming the documented example that answers the failure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from mockserver.errors import ApiError
from mockserver.handlers.registry import BodyRule, schema_violations_rule
from mockserver.schemas import SchemaCache, SchemaValidator
from mockserver.spec import Operation, Parameter

_INTEGER = re.compile(r"-?[0-9]+")
_JSON_MEDIA = re.compile(r"^application/(?:[\w.+-]+\+)?json$")


def is_json_media_type(content_type: str | None) -> bool:
    """``application/json`` or ``application/*+json``, parameters (charset) allowed."""
    if not content_type:
        return False
    return bool(_JSON_MEDIA.match(content_type.split(";", 1)[0].strip().lower()))


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """Strict JSON: UTF-8 (or UTF-16/32 with BOM detection), no NaN or Infinity."""
    return json.loads(raw, parse_constant=_reject_constant)


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
        violations = self.validator.violations(value)
        if violations:
            raise ApiError(self.error, f"{self.name}: {violations[0].message}")
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
        """The validated body (None when an optional body is absent)."""
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
        violations = (
            [] if self.body_validator.is_valid(body) else self.body_validator.violations(body)
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
