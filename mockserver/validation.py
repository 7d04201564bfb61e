"""Per-operation request checks, compiled once from the spec.

``RequestChecker`` turns a raw body and query string into validated Python values, or raises
``ApiError`` naming the documented example that answers the failure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_content_length, get_input_stream

from mockserver.errors import ApiError
from mockserver.handlers.registry import BodyRule, schema_violations_rule
from mockserver.schemas import LazyViolations, SchemaCache, SchemaValidator, Violation
from mockserver.spec import Operation, Parameter

_INTEGER = re.compile(r"-?[0-9]{1,18}")  # longer ones are out of any range, and slow to parse
_JSON_MEDIA = re.compile(r"^application/(?:[\w.+-]+\+)?json$")


def reject_oversized(environ: Mapping[str, Any], limit: int) -> None:
    """413 when the declared ``Content-Length`` is over ``limit`` (read or not)."""
    length = get_content_length(environ)  # type: ignore[arg-type]
    if length is not None and length > limit:
        raise RequestEntityTooLarge()


def read_body(environ: Mapping[str, Any], limit: int) -> bytes:
    """The request body, at most ``limit`` bytes: 413 beyond, chunked bodies included."""
    reject_oversized(environ, limit)
    stream = get_input_stream(environ, max_content_length=None)  # type: ignore[arg-type]
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise RequestEntityTooLarge()
    return b"".join(chunks)


def is_json_media_type(content_type: str | None) -> bool:
    """``application/json`` or ``application/*+json``, parameters (charset) allowed."""
    if not content_type:
        return False
    return bool(_JSON_MEDIA.match(content_type.split(";", 1)[0].strip().lower()))


#: Deeper bodies are answered ``Invalid JSON``: no Northca payload nests beyond a few levels,
#: and deep nesting only exhausts recursion in the parser and the schema validator.
MAX_JSON_DEPTH = 64


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """Strict JSON (RFC 8259): UTF-8 only, no NaN or Infinity, no lone surrogate, bounded depth.

    Raises ``ValueError`` (with a readable message) for anything else.
    """
    text = raw.decode("utf-8")  # strict: invalid UTF-8 and encoded surrogates are errors
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth(text) > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    value = json.loads(text, parse_constant=_reject_constant)
    if "\\u" in text:
        try:  # escaped lone surrogates (\ud800) parse, but can never be sent back as UTF-8
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("a string holds a lone UTF-16 surrogate") from None
    return value


def _depth(text: str) -> int:
    """The deepest bracket nesting outside strings (a cheap scan, before parsing)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                return deepest
        elif char in "]}":
            depth -= 1
    return deepest


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

    def body(self, raw: bytes | Callable[[], bytes], content_type: str | None) -> Any:
        """The validated body (None when an optional body is absent).

        ``raw`` may be a function that reads it: operations without a body never read one.
        """
        if self.body_validator is None:
            return None
        if callable(raw):
            raw = raw()
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
