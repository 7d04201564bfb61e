"""Differential test: the mock's compiled checks against openapi-core, the reference validator.

The mock validates with jsonschema-rs validators compiled once per operation
(``server_of(app).checkers[operationId]``). openapi-core 0.23 reads the same ``openapi.yaml``
independently. For every operation with a request body or query parameters, hypothesis
generates valid and invalid requests (schema violations, broken JSON, missing bodies, foreign
content types, bad query values); both must agree on accept/reject and on the error class:

- ``json``: the body is missing, not JSON, or not declared as JSON (mock: ``invalidJson``);
- ``schema``: the body is JSON that violates the operation's schema (mock: the operation's
  documented body errors, e.g. ``invalidBody``, ``expectedUnits``, ``missingField``);
- ``query``: a query parameter violates its schema (mock: the parameter's ``x-northca-error``).

The few places where the mock deliberately checks more than a schema can say are listed in
``RULES_BEYOND_SCHEMA``; a generated request hitting one must really break that rule. One
quirk of the reference is overruled: openapi-core casts an integer query value with Python's
``int()``, which takes ``" 5"`` or ``"1_0"``; the mock (and JSON Schema) accept only a plain
decimal integer, so such a value counts as a ``query`` rejection (``_lax_integer_cast``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_core import OpenAPI
from openapi_core.contrib.werkzeug import WerkzeugOpenAPIRequest
from openapi_core.validation.request.exceptions import (
    InvalidRequestBody,
    MissingRequestBodyError,
    ParameterValidationError,
    RequestBodyValidationError,
)
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from mockserver import create_app
from mockserver.app import MockServer, server_of
from mockserver.errors import ApiError
from mockserver.spec import Operation, default_spec_path
from tests.support import auth_headers

Json = Any
ACCEPT = "accept"
JSON, SCHEMA, QUERY = "json", "schema", "query"
#: (operationId, mock error name) -> why a schema cannot express it, and a check that the
#: generated body really breaks that rule.
RULES_BEYOND_SCHEMA: Mapping[tuple[str, str], tuple[str, Callable[[Json], bool]]] = {
    ("upsertActiveUnits", "duplicateId"): (
        "unit ids must be unique within a request (JSON Schema has no uniqueness by key)",
        lambda body: len({u["id"] for u in body["units"]}) < len(body["units"]),
    ),
}
# Bounded: the whole module runs in about 20 s on a quiet 2-core machine.
EXAMPLES_PER_OPERATION = 60


@pytest.fixture(scope="module")
def reference() -> OpenAPI:
    return OpenAPI.from_file_path(str(default_spec_path()))


@pytest.fixture(scope="module")
def mock() -> MockServer:
    return server_of(create_app())


def _operations_under_test() -> list[Operation]:
    from mockserver.spec import load_spec

    spec = load_spec()
    return [
        op
        for op in spec.operations.values()
        if op.body_schema_ref is not None or any(p.location == "query" for p in op.parameters)
    ]


OPERATIONS = _operations_under_test()


# -- generation ------------------------------------------------------------------------------
def _resolve(node: Mapping[str, Any], components: Mapping[str, Any]) -> Mapping[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = components["schemas"][name]
    return node


def _date_times() -> st.SearchStrategy[str]:
    base = datetime(2020, 1, 1, tzinfo=timezone.utc)
    return st.integers(0, 10**11).map(
        lambda ms: (base + timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    )


def valid_value(
    schema: Mapping[str, Any], components: Mapping[str, Any]
) -> st.SearchStrategy[Json]:
    """Instances of the small JSON Schema subset the spec's request schemas use."""
    schema = _resolve(schema, components)
    types = schema.get("type", "object")
    if isinstance(types, list):
        return st.one_of(*(valid_value({**schema, "type": t}, components) for t in types))
    if types == "null":
        return st.none()
    if types == "boolean":
        return st.booleans()
    if types == "integer":
        return st.integers(schema.get("minimum", -(2**53)), schema.get("maximum", 2**53))
    if types == "number":
        return st.floats(allow_nan=False, allow_infinity=False)
    if types == "string":
        if schema.get("format") == "date-time":
            return _date_times()
        return st.text(min_size=schema.get("minLength", 0), max_size=12)
    if types == "array":
        return st.lists(valid_value(schema.get("items", {}), components), max_size=4)
    properties: Mapping[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", ()))
    optional = [name for name in properties if name not in required]
    fixed = {name: valid_value(properties[name], components) for name in required}
    extra: st.SearchStrategy[dict[str, Json]] = st.just({})
    if schema.get("additionalProperties", True) is not False:
        extra = st.dictionaries(
            st.text(max_size=6).filter(lambda key: key not in properties), _scalars(), max_size=2
        )
    return st.tuples(
        st.fixed_dictionaries(fixed),
        st.fixed_dictionaries(
            {}, optional={n: valid_value(properties[n], components) for n in optional}
        ),
        extra,
    ).map(lambda parts: {**parts[2], **parts[1], **parts[0]})


def _scalars() -> st.SearchStrategy[Json]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-1000, 1000),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
    )


def any_json() -> st.SearchStrategy[Json]:
    return st.recursive(
        _scalars(),
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=6), children, max_size=3)
        ),
        max_leaves=6,
    )


def _wrong_type(
    schema: Mapping[str, Any], components: Mapping[str, Any]
) -> st.SearchStrategy[Json]:
    schema = _resolve(schema, components)
    types = schema.get("type", "object")
    allowed = set(types) if isinstance(types, list) else {types}
    if "integer" in allowed:
        allowed.add("number")
    samples = {
        "null": st.none(),
        "boolean": st.booleans(),
        "integer": st.integers(-5, 5),
        "number": st.floats(0.5, 9.5),
        "string": st.text(max_size=5),
        "array": st.lists(_scalars(), max_size=2),
        "object": st.dictionaries(st.text(max_size=4), _scalars(), max_size=2),
    }
    return st.one_of(*(strategy for name, strategy in samples.items() if name not in allowed))


@st.composite
def invalid_value(
    draw: st.DrawFn, schema: Mapping[str, Any], components: Mapping[str, Any]
) -> Json:
    """A value breaking ``schema`` in exactly one place (which may be deep inside)."""
    schema = _resolve(schema, components)
    types = schema.get("type", "object")
    value = draw(valid_value(schema, components))
    moves = ["type"]
    if isinstance(value, dict):
        properties: Mapping[str, Any] = schema.get("properties", {})
        if schema.get("required"):
            moves.append("drop_required")
        if schema.get("additionalProperties", True) is False:
            moves.append("extra_key")
        if properties:
            moves.append("deep")
    if isinstance(value, list) and "items" in schema:
        moves.append("deep_item")
    if isinstance(value, str) and schema.get("minLength", 0) > 0:
        moves.append("empty")
    if isinstance(value, str) and schema.get("format") == "date-time":
        moves.append("bad_date")
    move = draw(st.sampled_from(moves))
    if move == "type" or (types != "object" and move == "deep"):
        return draw(_wrong_type(schema, components))
    if move == "drop_required":
        del value[draw(st.sampled_from(sorted(schema["required"])))]
    elif move == "extra_key":
        key = draw(st.text(min_size=1, max_size=6).filter(lambda k: k not in schema["properties"]))
        value[key] = draw(_scalars())
    elif move == "deep":
        name = draw(st.sampled_from(sorted(schema["properties"])))
        value[name] = draw(invalid_value(schema["properties"][name], components))
    elif move == "deep_item":
        value = [*value, draw(invalid_value(schema["items"], components))]
        value = draw(st.permutations(value))
    elif move == "empty":
        return ""
    elif move == "bad_date":
        return draw(st.sampled_from(["yesterday", "2026-13-01T00:00:00Z", "2026-01-01", ""]))
    return value


@dataclass(frozen=True)
class Case:
    """One generated request: the defect it was built with, and its parts."""

    defect: str
    body: bytes | None
    content_type: str | None
    query: dict[str, str]


_NOT_JSON = [b"{", b"[1,", b"not json", b'{"a": }', b"\xff\xfe\x00", b"{'a': 1}"]


@st.composite
def cases(draw: st.DrawFn, op: Operation, components: Mapping[str, Any]) -> Case:
    defects = ["valid"]
    body_schema = op.body_schema_ref
    if body_schema is not None:
        defects += ["schema", "schema", "not_json", "content_type", "any_json"]
        if op.body_required:
            defects.append("missing")
    query_params = [p for p in op.parameters if p.location == "query"]
    if any(p.schema.get("type") == "integer" for p in query_params):
        defects += ["query", "query"]
    defect = draw(st.sampled_from(defects))

    body: bytes | None = None
    content_type: str | None = None
    if body_schema is not None:
        content_type = draw(
            st.sampled_from(["application/json", "application/json; charset=utf-8"])
        )
        if defect == "schema":
            value = draw(invalid_value(body_schema, components))
        elif defect == "any_json":
            value = draw(any_json())
        else:
            value = draw(valid_value(body_schema, components))
        body = json.dumps(value).encode()
        if defect == "not_json":
            body = draw(st.sampled_from(_NOT_JSON))
        elif defect == "content_type":
            content_type = draw(
                st.sampled_from(["text/plain", "application/x-www-form-urlencoded"])
            )
        elif defect == "missing":
            body, content_type = None, None
        elif not op.body_required and draw(st.booleans()):
            body, content_type = None, None  # an optional body may be left out

    query: dict[str, str] = {}
    for parameter in query_params:
        schema = parameter.schema
        if schema.get("type") == "integer":
            if defect == "query":
                bad = st.sampled_from(["0", "101", "-3", "abc", "1.5", "", " 5", "1e2", "99999"])
                query[parameter.name] = draw(bad)
            elif draw(st.booleans()):
                lo, hi = schema.get("minimum", 0), schema.get("maximum", 1000)
                query[parameter.name] = str(draw(st.integers(lo, hi)))
        elif draw(st.booleans()):
            query[parameter.name] = draw(
                st.text(
                    st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=8
                )
            )
    return Case(defect, body, content_type, query)


# -- the two verdicts ------------------------------------------------------------------------
def _path(op: Operation) -> str:
    return re.sub(r"\{[^}/]+\}", lambda m: "0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2", op.path)


def reference_verdict(reference: OpenAPI, op: Operation, case: Case) -> str:
    builder = EnvironBuilder(
        base_url="https://api.northca.dev/v1",
        path=_path(op),
        method=op.method,
        headers=list(auth_headers().items()),
        query_string=case.query,
        data=case.body,
        content_type=case.content_type,
    )
    try:
        request = Request(builder.get_environ())
    finally:
        builder.close()
    errors = list(reference.unmarshal_request(WerkzeugOpenAPIRequest(request)).errors)
    if not errors:
        return ACCEPT
    error = errors[0]
    if isinstance(error, ParameterValidationError):
        return QUERY
    if isinstance(error, InvalidRequestBody):
        return SCHEMA
    if isinstance(error, MissingRequestBodyError):
        return JSON
    if isinstance(error, RequestBodyValidationError):
        # MediaTypeNotFound (content type) or MediaTypeDeserializeError (not JSON)
        return JSON
    raise AssertionError(f"unexpected openapi-core error {error!r}")


_DECIMAL = re.compile(r"-?[0-9]+")


def _lax_integer_cast(op: Operation, case: Case) -> bool:
    """A query value openapi-core's ``int()`` casts but that is not a decimal integer."""
    return any(
        p.location == "query"
        and p.schema.get("type") == "integer"
        and p.name in case.query
        and not _DECIMAL.fullmatch(case.query[p.name])
        for p in op.parameters
    )


def mock_verdict(mock: MockServer, op: Operation, case: Case) -> tuple[str, str | None]:
    """The class and the documented error name the mock answers with (the app's order: body,
    then query)."""
    checker = mock.checkers[op.operation_id]
    query_errors = {p.error_example for p in op.parameters if p.location == "query"}
    try:
        checker.body(case.body or b"", case.content_type)
        checker.query_values(case.query)
    except ApiError as error:
        if error.name == "invalidJson":
            return JSON, error.name
        if error.name in query_errors:
            return QUERY, error.name
        return SCHEMA, error.name
    return ACCEPT, None


def _check(reference: OpenAPI, mock: MockServer, op: Operation, case: Case) -> None:
    expected = reference_verdict(reference, op, case)
    if expected == ACCEPT and _lax_integer_cast(op, case):
        expected = QUERY
    got, name = mock_verdict(mock, op, case)
    rule = RULES_BEYOND_SCHEMA.get((op.operation_id, name or ""))
    if rule is not None and expected == ACCEPT:
        reason, broken = rule
        assert broken(json.loads(case.body or b"null")), f"{name} ({reason}) without cause: {case}"
        return
    assert got == expected, (
        f"{op.operation_id}: openapi-core says {expected}, the mock says {got} ({name}) for {case}"
    )


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda op: op.operation_id)
def test_mock_agrees_with_openapi_core(reference: OpenAPI, mock: MockServer, op: Operation) -> None:
    components = mock.spec.components

    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(case=cases(op, components))
    def agree(case: Case) -> None:
        _check(reference, mock, op, case)

    agree()


def test_generation_covers_every_defect(mock: MockServer) -> None:
    """The generator really produces each kind of request the differential test relies on."""
    op = next(op for op in OPERATIONS if op.operation_id == "upsertActiveUnits")
    seen: set[str] = set()

    @settings(max_examples=80, deadline=None, derandomize=True)
    @given(case=cases(op, mock.spec.components))
    def collect(case: Case) -> None:
        seen.add(case.defect)

    collect()
    assert {"valid", "schema", "not_json", "content_type", "missing", "any_json"} <= seen
