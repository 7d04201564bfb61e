"""The contract view of ``openapi.yaml``: operations, documented statuses and error strings.

Built on :mod:`mockserver.spec` (the same loader the mock uses), plus what a checker needs on top:
the evidence level of each error example (``x-northca-evidence``), which decides whether a check
may compare the exact string or only the status, and the fields declared ``format: date-time``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from mockserver.errors import ApiError
from mockserver.handlers import BODY_RULES
from mockserver.schemas import SchemaCache, SchemaValidator
from mockserver.spec import HTTP_METHODS, Operation, Spec, load_spec
from mockserver.validation import RequestChecker

_DEFAULTS_TO = re.compile(r'Defaults to "([^"]+)"')


@dataclass(frozen=True)
class RecordKind:
    """A record collection: its create and list operations, a text field, documented defaults."""

    name: str  # the path's last segment, e.g. "scene-reports"
    create: str
    list: str
    text_field: str
    defaults: Mapping[str, str]


def _is_text(name: str, prop: Mapping[str, Any]) -> bool:
    kind = prop.get("type")
    return name != "id" and (kind == "string" or (isinstance(kind, list) and "string" in kind))


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

    @cached_property
    def schemas(self) -> SchemaCache:
        """The spec's schemas, each compiled once (jsonschema-rs)."""
        return SchemaCache(self.spec)

    def response_validator(self, operation_id: str, status: int) -> SchemaValidator | None:
        """The validator of the JSON body the operation documents for ``status`` (None: none)."""
        response = self.operation(operation_id).raw_responses.get(str(status))
        media = (response or {}).get("content", {}).get("application/json") or {}
        schema = media.get("schema")
        return self.schemas.for_node(schema) if isinstance(schema, Mapping) else None

    @cached_property
    def request_checkers(self) -> dict[str, RequestChecker]:
        """The mock's request checks per operation: the spec's body schemas, body rules and
        query parameters."""
        return {
            op_id: RequestChecker(op, self.schemas, BODY_RULES.get(op_id))
            for op_id, op in self.operations.items()
        }

    def refusal(
        self, operation_id: str, body: bytes | None, content_type: str | None, query: str
    ) -> str | None:
        """The documented error the spec's rules answer this request with (None: accepted)."""
        checker = self.request_checkers[operation_id]
        try:
            checker.body(body or b"", content_type)
            checker.query_values({k: v[0] for k, v in parse_qs(query).items()})
        except ApiError as refused:
            return refused.name
        return None

    def limit_bounds(self, operation_id: str) -> tuple[int, int] | None:
        """``(default, maximum)`` of the operation's ``limit`` query parameter (None: no limit)."""
        for parameter in self.operation(operation_id).parameters:
            if parameter.location == "query" and parameter.name == "limit":
                schema = parameter.schema
                return int(schema.get("default", 0)), int(schema.get("maximum", 0))
        return None

    def methods_of(self, path: str) -> frozenset[str]:
        """Methods the spec declares for a path template."""
        item = self.spec.document["paths"][path]
        return frozenset(m.upper() for m in HTTP_METHODS if m in item)

    def has_limit(self, operation_id: str) -> bool:
        return any(p.name == "limit" for p in self.operation(operation_id).parameters)

    # -- sets of operations, derived from what each documents ------------------------------------
    @cached_property
    def list_operations(self) -> tuple[str, ...]:
        """Operations that take a ``limit`` parameter (the paged lists)."""
        return tuple(op_id for op_id in self.operations if self.has_limit(op_id))

    @cached_property
    def body_operations(self) -> tuple[str, ...]:
        """Operations that take a JSON request body."""
        return tuple(op_id for op_id, op in self.operations.items() if op.body_schema_ref)

    @cached_property
    def create_operations(self) -> tuple[str, ...]:
        """Operations whose success is a 201 Created."""
        return tuple(op_id for op_id, op in self.operations.items() if op.success_status == 201)

    def list_showing(self, operation_id: str) -> str | None:
        """The list a write of ``operation_id`` shows up in: the list operation whose path is
        the longest prefix of the write's path (None: the write changes links, not records)."""
        path = self.operation(operation_id).path
        found = [
            op_id
            for op_id in self.list_operations
            if path == self.operation(op_id).path
            or path.startswith(self.operation(op_id).path + "/")
        ]
        return max(found, key=lambda op_id: len(self.operation(op_id).path), default=None)

    def operations_documenting(self, error: str) -> tuple[str, ...]:
        """Operations that document the error example ``error`` (e.g. the owner rule's
        ``notOwner`` 403)."""
        return tuple(op_id for op_id in self.operations if error in self.errors[op_id])

    @cached_property
    def record_kinds(self) -> tuple[RecordKind, ...]:
        """Collections with a create (201) and a list (``limit``) on the same path."""
        lists = {self.operation(op_id).path: op_id for op_id in self.list_operations}
        kinds = []
        for create in self.create_operations:
            path = self.operation(create).path
            if path in lists:
                fields = self.body_properties(create)
                text = next(name for name, prop in fields.items() if _is_text(name, prop))
                kinds.append(
                    RecordKind(
                        path.rsplit("/", 1)[1], create, lists[path], text, self.defaults(create)
                    )
                )
        return tuple(kinds)

    # -- request bodies ----------------------------------------------------------------------
    def body_schema(self, operation_id: str) -> Mapping[str, Any]:
        ref = self.operation(operation_id).body_schema_ref
        schema: Mapping[str, Any] = self.spec.resolve(ref) if ref is not None else {}
        return schema

    def body_properties(self, operation_id: str) -> Mapping[str, Any]:
        properties: Mapping[str, Any] = self.body_schema(operation_id).get("properties", {})
        return properties

    def record_properties(self, operation_id: str) -> Mapping[str, Any]:
        """Properties of the record a success answer holds (``data``, or its items)."""
        op = self.operation(operation_id)
        response = self.spec.resolve(op.raw["responses"][str(op.success_status)])
        schema = self.spec.resolve(response["content"]["application/json"]["schema"])
        for part in schema.get("allOf", [schema]):
            data = self.spec.resolve(self.spec.resolve(part).get("properties", {}).get("data"))
            if isinstance(data, Mapping):
                item = self.spec.resolve(data.get("items", data))
                properties: Mapping[str, Any] = item.get("properties", {})
                if properties:
                    return properties
        return {}

    def defaults(self, operation_id: str) -> dict[str, str]:
        """Body fields whose description says ``Defaults to "<value>"``, with that value."""
        found = {}
        for name, prop in self.body_properties(operation_id).items():
            match = _DEFAULTS_TO.search(str(prop.get("description", "")))
            if match:
                found[name] = match.group(1)
        return found

    def body_example(self, operation_id: str) -> dict[str, Any] | None:
        """The request body's first example, else its schema's example (None: neither)."""
        op = self.operation(operation_id)
        if op.body_schema_ref is None:
            return None
        media = self.spec.resolve(op.raw["requestBody"])["content"]["application/json"]
        for example in media.get("examples", {}).values():
            value = self.spec.resolve(example).get("value")
            if isinstance(value, dict):
                return dict(value)
        example = self.body_schema(operation_id).get("example")
        return dict(example) if isinstance(example, dict) else None

    def minimal_body(self, operation_id: str, bound: Mapping[str, Any]) -> dict[str, Any] | None:
        """The smallest valid body: only the required fields, a value of ``bound`` for those it
        names, else an empty array or object, else the schema example's value."""
        if self.operation(operation_id).body_schema_ref is None:
            return None
        schema = self.body_schema(operation_id)
        example = schema.get("example") or {}
        body: dict[str, Any] = {}
        for name in schema.get("required", ()):
            kind = schema["properties"][name].get("type")
            if name in bound:
                body[name] = bound[name]
            elif kind in ("array", "object"):
                body[name] = [] if kind == "array" else {}
            else:
                body[name] = example.get(name, "")
        return body

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
