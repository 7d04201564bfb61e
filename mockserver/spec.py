"""Load ``openapi.yaml`` once and index what the mock needs from it.

Everything the server says about the API (paths, methods, statuses, error strings, schemas)
comes from here, so the spec stays the single source of truth.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from mockserver.errors import NorthcaMockError

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
#: libyaml's safe loader when PyYAML was built with it (ten times faster), else the Python one.
YAML_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_PARAM_IN_PATH = re.compile(r"\{([^}/]+)\}")


class SpecError(NorthcaMockError, ValueError):
    """The spec is missing something the mock relies on."""


def default_spec_path() -> Path:
    """Where the packaged ``openapi.yaml`` is (inside the wheel, or the source checkout)."""
    packaged = Path(__file__).resolve().parent / "openapi.yaml"
    if packaged.is_file():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / "openapi.yaml"
    if checkout.is_file():
        return checkout
    raise SpecError(f"openapi.yaml not found at {packaged} or {checkout}")


@dataclass(frozen=True)
class ErrorExample:
    """One named error example: the status it is documented under and its exact string."""

    name: str
    status: int
    message: str


@dataclass(frozen=True)
class ResponseExample:
    """One named example of a documented response, with its status and evidence."""

    status: int
    name: str
    value: Any
    #: ``x-northca-evidence`` of the example: ``documented`` unless the spec says otherwise.
    evidence: str = "documented"

    @property
    def is_error(self) -> bool:
        """A non-2xx example in the error envelope (``ok: false`` with an ``error`` string)."""
        return (
            not 200 <= self.status < 300
            and isinstance(self.value, Mapping)
            and self.value.get("ok") is False
        )

    @property
    def message(self) -> str:
        return str(self.value["error"])


def response_examples(status: int, response: Mapping[str, Any]) -> Iterator[ResponseExample]:
    """The JSON examples (those with a ``value``) of one response whose ``$ref``s are resolved.

    The one walker of the spec's examples: error indexing, ``Prefer`` and the contract checks
    all read them through it.
    """
    media = response.get("content", {}).get("application/json", {})
    for name, example in media.get("examples", {}).items():
        if isinstance(example, Mapping) and "value" in example:
            evidence = str(example.get("x-northca-evidence", "documented"))
            yield ResponseExample(status, name, example["value"], evidence)


@dataclass(frozen=True)
class Parameter:
    name: str
    location: str
    required: bool
    schema: Mapping[str, Any]
    error_example: str | None = None  # ``x-northca-error``: the example answering a bad value


@dataclass(frozen=True)
class Operation:
    """An operation of the spec, with its references resolved."""

    operation_id: str
    method: str
    path: str
    tags: tuple[str, ...]
    parameters: tuple[Parameter, ...]
    body_schema_ref: Mapping[str, Any] | None
    body_required: bool
    body_fields: tuple[str, ...]
    success_status: int
    statuses: frozenset[int]
    errors: Mapping[str, ErrorExample]
    raw: Mapping[str, Any] = field(repr=False)
    raw_responses: Mapping[str, Mapping[str, Any]] = field(repr=False, default_factory=dict)
    #: Route-level responses attached to the operation (components with ``x-northca-status``:
    #: 413, 503, ...): listed for clients, but not the operation's own ``statuses``, ``errors``
    #: or ``examples()``, so no check or ``Prefer`` takes them for the operation's answers.
    route_responses: Mapping[str, Mapping[str, Any]] = field(repr=False, default_factory=dict)

    @property
    def path_params(self) -> tuple[str, ...]:
        return tuple(_PARAM_IN_PATH.findall(self.path))

    def has_query(self, name: str) -> bool:
        """Whether the operation declares the query parameter ``name``."""
        return any(p.location == "query" and p.name == name for p in self.parameters)

    def examples(self) -> Iterator[ResponseExample]:
        """Every JSON example of every documented response, in the spec's order."""
        for code, response in self.raw_responses.items():
            yield from response_examples(int(code), response)

    def error(self, name: str) -> ErrorExample:
        try:
            return self.errors[name]
        except KeyError:
            raise SpecError(f"{self.operation_id} documents no error example {name!r}") from None


class Spec:
    """The loaded spec: raw document, operations by id, and shared error examples."""

    def __init__(self, document: Mapping[str, Any], source: Path | None = None) -> None:
        self.document = document
        self.source = source
        self.operations: dict[str, Operation] = {}
        for path, item in document.get("paths", {}).items():
            for method in HTTP_METHODS:
                if method in item:
                    op = self._operation(path, method, item, item[method])
                    if op.operation_id in self.operations:
                        raise SpecError(f"duplicate operationId {op.operation_id}")
                    self.operations[op.operation_id] = op
        self.shared_errors = self._shared_errors()

    # -- public helpers ---------------------------------------------------------------------
    @property
    def base_path(self) -> str:
        """The path of the first server URL (``/v1``), without a trailing slash."""
        servers = self.document.get("servers") or [{"url": "/"}]
        return urlsplit(str(servers[0]["url"])).path.rstrip("/")

    @property
    def components(self) -> Mapping[str, Any]:
        components: Mapping[str, Any] = self.document.get("components", {})
        return components

    def schema_fields(self, name: str) -> tuple[str, ...]:
        """Declared properties of ``components.schemas[name]``, in the spec's order."""
        return tuple(self.components["schemas"][name].get("properties", {}))

    def shared_error(self, name: str) -> ErrorExample:
        """An error example of a shared response component (e.g. ``notFound``)."""
        try:
            return self.shared_errors[name]
        except KeyError:
            raise SpecError(f"no shared error example {name!r}") from None

    def resolve(self, node: Any) -> Any:
        """Follow local ``$ref``s until a non-reference node is reached."""
        seen: set[str] = set()
        while isinstance(node, Mapping) and "$ref" in node:
            ref = node["$ref"]
            if ref in seen or not ref.startswith("#/"):
                raise SpecError(f"unresolvable reference {ref!r}")
            seen.add(ref)
            node = self.document
            for part in ref[2:].split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node

    # -- indexing ---------------------------------------------------------------------------
    def _operation(
        self, path: str, method: str, item: Mapping[str, Any], raw: Mapping[str, Any]
    ) -> Operation:
        op_id = raw.get("operationId")
        if not op_id:
            raise SpecError(f"{method.upper()} {path} has no operationId")
        params: dict[tuple[str, str], Parameter] = {}
        for node in [*item.get("parameters", []), *raw.get("parameters", [])]:
            p = self.resolve(node)
            location = p["in"]
            name = p["name"].lower() if location == "header" else p["name"]
            params[(location, name)] = Parameter(
                name,
                location,
                bool(p.get("required")),
                p.get("schema", {}),
                p.get("x-northca-error"),
            )
        body_schema_ref = None
        body_required = False
        body_fields: tuple[str, ...] = ()
        if "requestBody" in raw:
            body = self.resolve(raw["requestBody"])
            body_required = bool(body.get("required"))
            media = body.get("content", {}).get("application/json")
            if media is None:
                raise SpecError(f"{op_id}: only application/json request bodies are served")
            body_schema_ref = media["schema"]
            body_fields = tuple(self.resolve(body_schema_ref).get("properties", {}))
        statuses: set[int] = set()
        success: list[int] = []
        errors: dict[str, ErrorExample] = {}
        raw_responses: dict[str, Mapping[str, Any]] = {}
        route_responses: dict[str, Mapping[str, Any]] = {}
        for code, response in raw.get("responses", {}).items():
            if self.is_route_level(response):
                route_responses[str(code)] = self._resolved_response(response)
                continue
            status = int(code)
            statuses.add(status)
            resolved = raw_responses[str(code)] = self._resolved_response(response)
            if 200 <= status < 300:
                success.append(status)
                continue
            for example in response_examples(status, resolved):
                if not example.is_error:
                    continue
                if example.name in errors:
                    raise SpecError(f"{op_id}: error example {example.name!r} is named twice")
                errors[example.name] = ErrorExample(example.name, status, example.message)
        if len(success) != 1:
            raise SpecError(f"{op_id} must document exactly one success status")
        return Operation(
            operation_id=op_id,
            method=method.upper(),
            path=path,
            tags=tuple(raw.get("tags", ())),
            parameters=tuple(params.values()),
            body_schema_ref=body_schema_ref,
            body_required=body_required,
            body_fields=body_fields,
            success_status=success[0],
            statuses=frozenset(statuses),
            errors=errors,
            raw=raw,
            raw_responses=raw_responses,
            route_responses=route_responses,
        )

    def operations_document(self) -> dict[str, Any]:
        """The document with only the operations' own responses: no route-level ones.

        What a checker judges an operation's answers by (schemathesis reads responses from the
        document itself): a 503 or 413 stays a route-level answer, never an operation's. A deep
        copy: its reader may change it (schemathesis does), the loaded spec must not change.
        """
        paths: dict[str, Any] = {}
        for path, item in self.document.get("paths", {}).items():
            paths[path] = dict(item)
            for method in HTTP_METHODS:
                if method in item:
                    responses = item[method].get("responses", {})
                    own = {c: r for c, r in responses.items() if not self.is_route_level(r)}
                    paths[path][method] = {**item[method], "responses": own}
        return copy.deepcopy({**self.document, "paths": paths})

    def is_route_level(self, response: Mapping[str, Any]) -> bool:
        """A reference to a route-level response component (one with ``x-northca-status``)."""
        return "$ref" in response and "x-northca-status" in self.resolve(response)

    def _resolved_response(self, response: Mapping[str, Any]) -> Mapping[str, Any]:
        """The response with its examples' ``$ref``s resolved."""
        resolved = dict(self.resolve(response))
        content = {}
        for media_type, media in resolved.get("content", {}).items():
            examples = {
                name: self.resolve(example) for name, example in media.get("examples", {}).items()
            }
            content[media_type] = {**media, "examples": examples}
        resolved["content"] = content
        return resolved

    def _shared_errors(self) -> dict[str, ErrorExample]:
        """Error examples of response components, with the status they are used under.

        A component used by an operation takes that status; a route-level one (``NotFound``,
        ``MethodNotAllowed``, ...) says its status with ``x-northca-status``, as do the answers
        outside every operation under the document's ``x-northca-route-responses`` (the proxy's
        502 and 504).
        """
        used_as: dict[str, int] = {}
        for path_item in self.document.get("paths", {}).values():
            for method in HTTP_METHODS:
                for code, response in path_item.get(method, {}).get("responses", {}).items():
                    ref = response.get("$ref", "")
                    if ref.startswith("#/components/responses/"):
                        used_as[ref.rsplit("/", 1)[1]] = int(code)
        shared: dict[str, ErrorExample] = {}
        route_responses = self.document.get("x-northca-route-responses", {})
        for component, response in {
            **route_responses,
            **self.components.get("responses", {}),
        }.items():
            status = response.get("x-northca-status", used_as.get(component))
            if status is None:
                continue
            for example in response_examples(int(status), self._resolved_response(response)):
                if example.is_error:
                    shared[example.name] = ErrorExample(example.name, int(status), example.message)
        return shared


def load_document(path: str | Path | None = None) -> tuple[dict[str, Any], Path]:
    """Read a spec file (YAML or JSON) into a dict."""
    source = Path(path) if path is not None else default_spec_path()
    with source.open(encoding="utf-8") as handle:
        document = yaml.load(handle, Loader=YAML_LOADER)
    if not isinstance(document, dict) or "paths" not in document:
        raise SpecError(f"{source} is not an OpenAPI document")
    return document, source


@cache
def _load_cached(path: Path, mtime_ns: int) -> Spec:
    document, source = load_document(path)
    return Spec(document, source)


def load_spec(path: str | Path | None = None) -> Spec:
    """Load and index a spec; the same unchanged file is parsed only once per process."""
    source = (Path(path) if path is not None else default_spec_path()).resolve()
    return _load_cached(source, source.stat().st_mtime_ns)
