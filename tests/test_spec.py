"""Static checks of openapi.yaml: no server needed.

The expected values below are hard-coded from northca-api.md (§1, §2, §5, §7) and the seed pages, so
that they act as an independent source: a change to openapi.yaml that drifts from the documented
contract fails here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import pytest
import yaml
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

ROOT = Path(__file__).resolve().parents[1]
SPEC_PATH = ROOT / "openapi.yaml"
SPEC_URI = "urn:northca:openapi"
SEED_URI = "urn:northca:seed"
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
EVIDENCE_LEVELS = {"documented", "partial", "inferred"}


def _seeds_dir() -> Path | None:
    """The verbatim reference pages; absent from an installed package (those tests then skip)."""
    candidates = [os.environ.get("NORTHCA_SEEDS_DIR"), ROOT.parent / "shared" / "seeds"]
    for candidate in candidates:
        if candidate and Path(candidate).is_dir() and any(Path(candidate).glob("*.txt")):
            return Path(candidate)
    return None


SEEDS_DIR = _seeds_dir()
needs_seeds = pytest.mark.skipif(SEEDS_DIR is None, reason="seed pages not available")

# northca-api.md §1: (operationId, METHOD, path, tag, summary, evidence).
OPERATIONS: list[tuple[str, str, str, str, str, str]] = [
    (
        "createLinkRequest",
        "POST",
        "/link-requests",
        "Link Requests",
        "Create a link request",
        "documented",
    ),
    (
        "confirmLinkRequest",
        "POST",
        "/link-requests/{id}/confirm",
        "Link Requests",
        "Confirm (approve) a link request (owner-only)",
        "partial",
    ),
    (
        "denyLinkRequest",
        "POST",
        "/link-requests/{id}/deny",
        "Link Requests",
        "Deny a link request (owner-only)",
        "partial",
    ),
    (
        "listGuildMdts",
        "GET",
        "/guilds/{guildId}/mdts",
        "MDT Links",
        "List linked MDTs for this guild",
        "partial",
    ),
    (
        "unlinkMdt",
        "POST",
        "/mdts/{mdtId}/unlink",
        "MDT Links",
        "Unlink an MDT (owner-only)",
        "partial",
    ),
    ("getMdtInfo", "GET", "/mdts/{mdtId}", "MDT Info", "Get MDT info", "inferred"),
    ("listCalls", "GET", "/mdts/{mdtId}/calls", "Calls", "List dispatch calls", "inferred"),
    ("createCall", "POST", "/mdts/{mdtId}/calls", "Calls", "Create a dispatch call", "partial"),
    (
        "updateCall",
        "PATCH",
        "/mdts/{mdtId}/calls/{callId}",
        "Calls",
        "Update a dispatch call (partial)",
        "partial",
    ),
    (
        "listSceneReports",
        "GET",
        "/mdts/{mdtId}/scene-reports",
        "Scene Reports",
        "List scene reports",
        "inferred",
    ),
    (
        "createSceneReport",
        "POST",
        "/mdts/{mdtId}/scene-reports",
        "Scene Reports",
        "Create a scene report",
        "partial",
    ),
    ("listShifts", "GET", "/mdts/{mdtId}/shifts", "Shifts", "List shifts", "partial"),
    ("createShift", "POST", "/mdts/{mdtId}/shifts", "Shifts", "Create a shift", "documented"),
    ("listTickets", "GET", "/mdts/{mdtId}/tickets", "Tickets", "List tickets", "inferred"),
    ("createTicket", "POST", "/mdts/{mdtId}/tickets", "Tickets", "Create a ticket", "partial"),
    (
        "listActiveUnits",
        "GET",
        "/mdts/{mdtId}/units/active",
        "Active Units",
        "List active units",
        "inferred",
    ),
    (
        "upsertActiveUnits",
        "PUT",
        "/mdts/{mdtId}/units/active",
        "Active Units",
        "Upsert active units (bulk)",
        "documented",
    ),
    (
        "deleteActiveUnit",
        "DELETE",
        "/mdts/{mdtId}/units/active/{unitId}",
        "Active Units",
        "Delete an active unit",
        "inferred",
    ),
    (
        "triggerUnitPanic",
        "POST",
        "/mdts/{mdtId}/units/active/{unitId}/panic",
        "Active Units",
        "Trigger a panic event for an active unit",
        "partial",
    ),
]
OPERATION_IDS = [row[0] for row in OPERATIONS]
SEED_OPERATIONS = {"createLinkRequest", "createShift", "upsertActiveUnits"}
INFERRED_OPERATIONS = {
    "getMdtInfo",
    "listCalls",
    "listSceneReports",
    "listTickets",
    "listActiveUnits",
    "deleteActiveUnit",
}
# Operations 1, 8, 9, 11, 13, 15, 17 and 19 take a JSON body (§4).
JSON_BODY_OPERATIONS = {
    "createLinkRequest",
    "createCall",
    "updateCall",
    "createSceneReport",
    "createShift",
    "createTicket",
    "upsertActiveUnits",
    "triggerUnitPanic",
}
MDT_SCOPED_OPERATIONS = {row[0] for row in OPERATIONS if row[2].startswith("/mdts/{mdtId}")}
LIST_OPERATIONS = {
    "listGuildMdts",
    "listCalls",
    "listSceneReports",
    "listShifts",
    "listTickets",
    "listActiveUnits",
    "upsertActiveUnits",
}
LIMIT_OPERATIONS = {"listCalls", "listSceneReports", "listShifts", "listTickets", "listActiveUnits"}

# northca-api.md §5.1: documented strings (operationId, status, example name, error).
DOCUMENTED_ERRORS: list[tuple[str, int, str, str]] = [
    ("createLinkRequest", 400, "missingField", "Missing required fields: mdt_id"),
    ("createLinkRequest", 400, "invalidMdt", "Invalid mdt_id"),
    ("upsertActiveUnits", 400, "expectedUnits", "Expected { units: [...] }"),
    ("upsertActiveUnits", 400, "missingId", "Each unit must include a non-empty id"),
    ("upsertActiveUnits", 400, "duplicateId", "Duplicate unit id in request body"),
    *[(op, 400, "invalidJson", "Invalid JSON") for op in sorted(JSON_BODY_OPERATIONS)],
    *[(op, 401, "unauthorized", "Unauthorized") for op in OPERATION_IDS],
    *[
        (op, 403, "mdtNotLinked", "MDT not linked to this guild")
        for op in sorted(MDT_SCOPED_OPERATIONS)
    ],
]

# northca-api.md §5.3: project-chosen strings, each marked `x-northca-evidence: inferred`.
INFERRED_ERRORS: list[tuple[str, int, str, str]] = [
    *[
        (op, 400, "invalidBody", "Invalid request body")
        for op in (
            "createLinkRequest",
            "createCall",
            "updateCall",
            "createSceneReport",
            "createShift",
            "createTicket",
        )
    ],
    *[(op, 400, "invalidLimit", "Invalid limit") for op in sorted(LIMIT_OPERATIONS)],
    *[
        (op, 403, "notOwner", "Only the MDT owner can do this")
        for op in ("confirmLinkRequest", "denyLinkRequest", "unlinkMdt")
    ],
    ("listGuildMdts", 403, "guildMismatch", "Guild mismatch"),
    ("confirmLinkRequest", 404, "linkRequestNotFound", "Link request not found"),
    ("denyLinkRequest", 404, "linkRequestNotFound", "Link request not found"),
    ("updateCall", 404, "callNotFound", "Call not found"),
    ("deleteActiveUnit", 404, "unitNotFound", "Unit not found"),
    ("triggerUnitPanic", 404, "unitNotFound", "Unit not found"),
    ("confirmLinkRequest", 409, "linkRequestDenied", "Link request already denied"),
    ("denyLinkRequest", 409, "linkRequestApproved", "Link request already approved"),
    *[
        (op, 409, "idExists", "ID already exists")
        for op in ("createCall", "createSceneReport", "createShift", "createTicket")
    ],
    ("confirmLinkRequest", 410, "linkRequestExpired", "Link request expired"),
    ("denyLinkRequest", 410, "linkRequestExpired", "Link request expired"),
    *[(op, 500, "internalError", "Internal server error") for op in OPERATION_IDS],
]

# Route-level errors that belong to no operation live in components.responses.
ROUTE_ERRORS: list[tuple[str, str, str]] = [
    ("NotFound", "notFound", "Not found"),
    ("MethodNotAllowed", "methodNotAllowed", "Method not allowed"),
]

# §2.3, in this order.
TAGS: list[tuple[str, str]] = [
    (
        "Link Requests",
        "Request and manage linking a Northca MDT to your ER:LC partner integration.",
    ),
    ("MDT Links", "List linked MDTs and unlink (owner-only) in a guild."),
    ("MDT Info", "Read public MDT configuration/info (map, departments, settings)."),
    ("Calls", "Create, list, and update dispatch calls (CAD)."),
    ("Scene Reports", "Create and list scene reports (incident summaries)."),
    ("Shifts", "Create and list shifts (duty sessions)."),
    ("Tickets", "Create and list unit tickets (tasks/citations/notes)."),
    ("Active Units", "Upsert, list, delete active units, and trigger panic events (10-33)."),
]

ACTIVE_UNIT = {
    "id": "ADAM-12",
    "mdt_code": "0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2",
    "officer_name": "B. Bubbleton",
    "officer_badge": "512",
    "department": "Patrol",
    "rank": "PO",
    "status": "10-8",
    "last_seen": "2026-03-01T01:23:45.678Z",
    "created_by_discord_id": None,
    "updated_at": "2026-03-01T01:23:45.678Z",
    "created_at": "2026-03-01T01:23:45.678Z",
}


# --------------------------------------------------------------------------------------------
# helpers


def _load_yaml(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    assert isinstance(data, dict)
    return data


def _seed_documents() -> dict[str, dict[str, Any]]:
    """The OpenAPI fragment (the ````yaml fenced block) of each seed page, by file name."""
    assert SEEDS_DIR is not None
    documents = {}
    for path in sorted(SEEDS_DIR.glob("*.txt")):
        match = re.search(r"^````yaml[^\n]*\n(.*?)^````", path.read_text("utf-8"), re.S | re.M)
        assert match, f"{path.name}: no fenced yaml block"
        documents[path.name] = yaml.safe_load(match.group(1))
    assert len(documents) == 3
    return documents


def _seed_document(prefix: str) -> dict[str, Any]:
    return next(doc for name, doc in _seed_documents().items() if name.startswith(prefix))


def _pointer(*parts: str | int) -> str:
    """A URI fragment for a JSON pointer (escaped per RFC 6901, then percent-encoded)."""
    escaped = [str(part).replace("~", "~0").replace("/", "~1") for part in parts]
    return quote("/" + "/".join(escaped), safe="/~")


def _registry(document: dict[str, Any], uri: str) -> Registry[Any]:
    resource: Resource[Any] = Resource.from_contents(document, default_specification=DRAFT202012)
    registry: Registry[Any] = Registry().with_resource(uri, resource)
    return registry


def _validator(registry: Registry[Any], uri: str, fragment: str) -> Draft202012Validator:
    return Draft202012Validator(
        {"$ref": f"{uri}#{fragment}"},
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )


def _deref(document: dict[str, Any], node: Any) -> Any:
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), ref
        node = document
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def _iter_operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in HTTP_METHODS:
            if method in item:
                yield path, method, item[method]


def _operation_index(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        op["operationId"]: (path, method, op) for path, method, op in _iter_operations(document)
    }


def _walk(
    node: Any, path: tuple[str | int, ...] = ()
) -> Iterator[tuple[tuple[str | int, ...], Any]]:
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, index))


def _named_examples(
    document: dict[str, Any], op_id: str, status: int
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(the response object, its application/json named examples) for one operation and status."""
    _, _, operation = _operation_index(document)[op_id]
    raw = operation["responses"].get(str(status))
    assert raw is not None, f"{op_id}: no {status} response"
    response = _deref(document, raw)
    media = response["content"]["application/json"]
    examples = {name: _deref(document, ex) for name, ex in media.get("examples", {}).items()}
    return response, examples


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return _load_yaml(SPEC_PATH)


@pytest.fixture(scope="module")
def registry(spec: dict[str, Any]) -> Registry[Any]:
    return _registry(spec, SPEC_URI)


# --------------------------------------------------------------------------------------------
# the spec loads in every tool


def test_spec_validates_with_openapi_spec_validator(spec: dict[str, Any]) -> None:
    from openapi_spec_validator import OpenAPIV31SpecValidator, validate

    assert spec["openapi"] == "3.1.0"
    validate(spec, cls=OpenAPIV31SpecValidator)


def test_spec_loads_in_openapi_core() -> None:
    from openapi_core import OpenAPI

    api = OpenAPI.from_file_path(str(SPEC_PATH))
    api.check_spec()
    paths = api.spec / "paths"
    operation_ids = {
        (paths / path / method / "operationId").read_str()
        for path in paths.keys()  # noqa: SIM118 (SchemaPath is not iterable over keys)
        for method in HTTP_METHODS
        if method in (paths / path)
    }
    assert operation_ids == set(OPERATION_IDS)


def test_schemathesis_lists_all_operations() -> None:
    import schemathesis
    from schemathesis.core.result import Ok

    schema = schemathesis.openapi.from_path(str(SPEC_PATH))
    found = set()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        found.add(
            (operation.definition.raw["operationId"], operation.method.upper(), operation.path)
        )
    assert found == {(op_id, method, path) for op_id, method, path, *_ in OPERATIONS}
    assert len(found) == 19


# --------------------------------------------------------------------------------------------
# operations


def test_operation_table(spec: dict[str, Any]) -> None:
    index = _operation_index(spec)
    assert sorted(index) == sorted(OPERATION_IDS)
    for op_id, method, path, tag, summary, evidence in OPERATIONS:
        found_path, found_method, operation = index[op_id]
        assert (found_method.upper(), found_path) == (method, path), op_id
        assert operation["tags"] == [tag], op_id
        assert operation["summary"] == summary, op_id
        assert operation["x-northca-evidence"] == evidence, op_id


@pytest.mark.parametrize("op_id", OPERATION_IDS)
def test_operation_is_complete(spec: dict[str, Any], op_id: str) -> None:
    top_level_tags = [tag["name"] for tag in spec["tags"]]
    _, _, operation = _operation_index(spec)[op_id]
    assert operation["operationId"] == op_id
    assert len(operation["tags"]) == 1 and operation["tags"][0] in top_level_tags
    assert isinstance(operation.get("summary"), str) and operation["summary"].strip()
    assert {"401", "500"} <= set(operation["responses"])
    assert operation["x-northca-evidence"] in EVIDENCE_LEVELS
    if op_id in SEED_OPERATIONS:
        assert operation["x-northca-evidence"] == "documented"
    if op_id in INFERRED_OPERATIONS:
        assert operation["x-northca-evidence"] == "inferred"


def test_json_body_operations(spec: dict[str, Any]) -> None:
    with_body = {
        op_id
        for op_id, (_, _, operation) in _operation_index(spec).items()
        if "application/json" in _deref(spec, operation.get("requestBody", {})).get("content", {})
    }
    assert with_body == JSON_BODY_OPERATIONS


def test_limit_parameter(spec: dict[str, Any]) -> None:
    limit = spec["components"]["parameters"]["Limit"]
    assert (limit["name"], limit["in"], limit.get("required", False)) == ("limit", "query", False)
    assert limit["schema"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 50}
    for op_id, (_, _, operation) in _operation_index(spec).items():
        refs = {param.get("$ref") for param in operation.get("parameters", [])}
        has_limit = "#/components/parameters/Limit" in refs
        assert has_limit == (op_id in LIMIT_OPERATIONS), op_id


def test_every_evidence_marker_is_known(spec: dict[str, Any]) -> None:
    for path, node in _walk(spec):
        if isinstance(node, dict) and "x-northca-evidence" in node:
            assert node["x-northca-evidence"] in EVIDENCE_LEVELS, path


# --------------------------------------------------------------------------------------------
# error catalogue


@pytest.mark.parametrize(("op_id", "status", "name", "error"), DOCUMENTED_ERRORS)
def test_documented_error_example(
    spec: dict[str, Any], op_id: str, status: int, name: str, error: str
) -> None:
    _, examples = _named_examples(spec, op_id, status)
    assert name in examples, f"{op_id} {status}: no example {name!r} in {sorted(examples)}"
    assert examples[name]["value"] == {"ok": False, "error": error}
    # A documented string is never presented as a project decision.
    assert examples[name].get("x-northca-evidence") != "inferred"


@pytest.mark.parametrize(("op_id", "status", "name", "error"), INFERRED_ERRORS)
def test_inferred_error_example(
    spec: dict[str, Any], op_id: str, status: int, name: str, error: str
) -> None:
    response, examples = _named_examples(spec, op_id, status)
    assert name in examples, f"{op_id} {status}: no example {name!r} in {sorted(examples)}"
    example = examples[name]
    assert example["value"] == {"ok": False, "error": error}
    evidence = example.get("x-northca-evidence", response.get("x-northca-evidence"))
    assert evidence == "inferred", f"{op_id} {status} {name}: evidence {evidence!r}"


@pytest.mark.parametrize(("component", "name", "error"), ROUTE_ERRORS)
def test_route_error_component(spec: dict[str, Any], component: str, name: str, error: str) -> None:
    response = spec["components"]["responses"][component]
    example = response["content"]["application/json"]["examples"][name]
    assert example["value"] == {"ok": False, "error": error}
    assert example.get("x-northca-evidence", response.get("x-northca-evidence")) == "inferred"
    if component == "MethodNotAllowed":
        assert "Allow" in response["headers"]


def test_error_strings_are_unique_per_response(spec: dict[str, Any]) -> None:
    """The mock looks errors up by name, and a test matches the string: no two names may share
    one string within a response, and every error example uses the error envelope."""
    for op_id in OPERATION_IDS:
        _, _, operation = _operation_index(spec)[op_id]
        for status in operation["responses"]:
            if not status.startswith(("4", "5")):
                continue
            _, examples = _named_examples(spec, op_id, int(status))
            strings = [example["value"]["error"] for example in examples.values()]
            assert strings, f"{op_id} {status}: no named example"
            assert len(strings) == len(set(strings)), f"{op_id} {status}: {strings}"


# --------------------------------------------------------------------------------------------
# examples validate against their own schemas


def _example_sites(document: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    """(label, schema fragment, example value) for every example in the document."""
    for path, node in _walk(document):
        if not isinstance(node, dict) or len(path) < 1:
            continue
        parent_key = path[-2] if len(path) >= 2 else None
        # Parameter, header and media type objects: a `schema` next to `example`/`examples`.
        if isinstance(node.get("schema"), dict) and parent_key != "properties":
            schema_fragment = _pointer(*path, "schema")
            if "example" in node:
                yield _pointer(*path, "example"), schema_fragment, node["example"]
            for name, example in node.get("examples", {}).items():
                example = _deref(document, example)
                if "value" in example:
                    yield _pointer(*path, "examples", name), schema_fragment, example["value"]
    for fragment, schema in _schema_objects(document):
        if "example" in schema:
            yield f"{fragment}/example", fragment, schema["example"]
        for index, example in enumerate(schema.get("examples", [])):
            yield f"{fragment}/examples/{index}", fragment, example


def _schema_objects(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(fragment, schema) of every schema object: component and inline roots, and subschemas."""
    roots: list[tuple[str | int, ...]] = [
        ("components", "schemas", name)
        for name in document.get("components", {}).get("schemas", {})
    ]
    for path, node in _walk(document):
        if (
            path
            and path[-1] == "schema"
            and isinstance(node, dict)
            and path[-2:-1] != ("properties",)
        ):
            roots.append(path)
    seen: set[str] = set()

    def visit(path: tuple[str | int, ...], schema: Any) -> Iterator[tuple[str, dict[str, Any]]]:
        if not isinstance(schema, dict) or "$ref" in schema:
            return
        fragment = _pointer(*path)
        if fragment in seen:
            return
        seen.add(fragment)
        yield fragment, schema
        for key in ("properties", "patternProperties", "$defs"):
            for name, sub in schema.get(key, {}).items():
                yield from visit((*path, key, name), sub)
        for key in ("items", "additionalProperties", "not", "contains", "propertyNames"):
            if isinstance(schema.get(key), dict):
                yield from visit((*path, key), schema[key])
        for key in ("allOf", "anyOf", "oneOf", "prefixItems"):
            for index, sub in enumerate(schema.get(key, [])):
                yield from visit((*path, key, index), sub)

    for root in roots:
        root_schema: Any = document
        for part in root:
            root_schema = root_schema[part]
        yield from visit(root, root_schema)


def test_format_checker_checks_date_time() -> None:
    checker = Draft202012Validator.FORMAT_CHECKER
    assert checker.conforms("2026-03-01T01:23:45.678Z", "date-time")
    assert not checker.conforms("2026-03-01 01:23", "date-time")


def test_every_example_validates(spec: dict[str, Any], registry: Registry[Any]) -> None:
    sites = list(_example_sites(spec))
    failures: list[str] = []
    for label, fragment, value in sites:
        errors = sorted(_validator(registry, SPEC_URI, fragment).iter_errors(value), key=str)
        failures.extend(
            f"{label}: {error.message} at {list(error.absolute_path)}" for error in errors
        )
    assert not failures, "\n".join(failures)
    labels = {label for label, _, _ in sites}
    # Not vacuous: parameters, request bodies, responses and schema-level examples were all seen.
    assert len(sites) >= 50
    assert any("/parameters/" in label and label.endswith("/example") for label in labels)
    assert any("/requestBody/" in label for label in labels)
    assert any("/responses/" in label and "/examples/" in label for label in labels)
    assert "/components/schemas/UpsertActiveUnitsBody/example" in labels


def test_example_validation_catches_a_bad_example(registry: Registry[Any]) -> None:
    fragment = _pointer(
        "paths", "/mdts/{mdtId}/units/active/{unitId}/panic", "post", "responses", "200",
        "content", "application/json", "schema",
    )  # fmt: skip
    validator = _validator(registry, SPEC_URI, fragment)
    good: dict[str, Any] = {
        "ok": True,
        "data": {"panicked": True, "unit_id": "ADAM-12", "ts": "2026-03-01T01:23:45.678Z"},
    }
    assert validator.is_valid(good)
    assert not validator.is_valid({"ok": True, "data": {**good["data"], "ts": "yesterday"}})
    assert not validator.is_valid({"ok": True, "data": {**good["data"], "panicked": "yes"}})
    assert not validator.is_valid({"ok": False, "data": good["data"]})


# --------------------------------------------------------------------------------------------
# seed defects fixed


def test_no_nullable_keyword(spec: dict[str, Any]) -> None:
    offenders = [
        path for path, node in _walk(spec) if isinstance(node, dict) and "nullable" in node
    ]
    assert not offenders


def _success_fragment(document: dict[str, Any], op_id: str) -> str:
    path, method, operation = _operation_index(document)[op_id]
    status = next(code for code in operation["responses"] if code.startswith("2"))
    response = operation["responses"][status]
    if "$ref" in response:  # a shared response: point at its definition
        prefix = str(response["$ref"]).removeprefix("#")
    else:
        prefix = _pointer("paths", path, method, "responses", status)
    return prefix + _pointer("content", "application/json", "schema")


def test_envelope_accepts_array_data(spec: dict[str, Any], registry: Registry[Any]) -> None:
    validator = _validator(registry, SPEC_URI, _success_fragment(spec, "upsertActiveUnits"))
    second = {**ACTIVE_UNIT, "id": "LINCOLN-3", "officer_name": "", "rank": None}
    for data in ([ACTIVE_UNIT, second], [ACTIVE_UNIT], []):
        errors = list(validator.iter_errors({"ok": True, "data": data}))
        assert not errors, errors
    # The narrowing still bites: wrong item types, a null or an object payload are rejected.
    assert not validator.is_valid({"ok": True, "data": [{**ACTIVE_UNIT, "id": 12}]})
    assert not validator.is_valid({"ok": True, "data": [{**ACTIVE_UNIT, "last_seen": "soon"}]})
    assert not validator.is_valid({"ok": True, "data": None})
    assert not validator.is_valid({"ok": True, "data": {"units": []}})
    assert not validator.is_valid({"ok": True})


@pytest.mark.parametrize("op_id", OPERATION_IDS)
def test_success_envelope_shape(spec: dict[str, Any], registry: Registry[Any], op_id: str) -> None:
    validator = _validator(registry, SPEC_URI, _success_fragment(spec, op_id))
    assert not validator.is_valid({"ok": True, "data": None})
    if op_id in LIST_OPERATIONS:
        assert validator.is_valid({"ok": True, "data": []})
        assert not validator.is_valid({"ok": True, "data": {}})
    else:
        assert not validator.is_valid({"ok": True, "data": []})


def _success_schema(document: dict[str, Any], op_id: str) -> dict[str, Any]:
    node: Any = document
    for part in _success_fragment(document, op_id).split("/")[1:]:
        node = node[unquote(part).replace("~1", "/").replace("~0", "~")]
    return dict(node)


@pytest.mark.parametrize("op_id", OPERATION_IDS)
def test_success_branch_requires_data(spec: dict[str, Any], op_id: str) -> None:
    """Generators that read each `allOf` branch alone (openapi-typescript) see `data` required."""
    envelope, branch = _success_schema(spec, op_id)["allOf"]
    assert envelope == {"$ref": "#/components/schemas/OkEnvelope"}
    assert branch["type"] == "object"
    assert branch["required"] == ["data"]
    assert set(branch["properties"]) == {"data"}


@needs_seeds
def test_seed_envelope_rejects_every_array_payload() -> None:
    """§7.1: the seed's upsert 200 schema demands `data` be an object and an array at once."""
    seed = _seed_document("002_")
    registry = _registry(seed, SEED_URI)
    fragment = _pointer(
        "paths", "/mdts/{mdtId}/units/active", "put", "responses", "200",
        "content", "application/json", "schema",
    )  # fmt: skip
    validator = _validator(registry, SEED_URI, fragment)
    second = {**ACTIVE_UNIT, "id": "LINCOLN-3"}
    for data in ([], [ACTIVE_UNIT], [ACTIVE_UNIT, second], [{"id": "X"}]):
        assert not validator.is_valid({"ok": True, "data": data}), data
    # ... and every object payload too: the two branches of allOf contradict each other.
    assert not validator.is_valid({"ok": True, "data": {}})
    base_data = seed["components"]["schemas"]["OkEnvelope"]["properties"]["data"]
    response = seed["paths"]["/mdts/{mdtId}/units/active"]["put"]["responses"]["200"]
    schema = response["content"]["application/json"]["schema"]
    narrowed = schema["allOf"][1]["properties"]["data"]
    assert (base_data["type"], narrowed["type"]) == ("object", "array")


@needs_seeds
def test_seeds_use_nullable_which_strict_31_ignores() -> None:
    """§7.2: in the seeds a `nullable: true` field still rejects null under 2020-12."""
    seed = _seed_document("001_")
    assert any(isinstance(n, dict) and n.get("nullable") is True for _, n in _walk(seed))
    validator = _validator(_registry(seed, SEED_URI), SEED_URI, "/components/schemas/Shift")
    assert not validator.is_valid({"id": "x", "officer_name": None})


def test_spec_accepts_null_where_seeds_meant_nullable(registry: Registry[Any]) -> None:
    validator = _validator(registry, SPEC_URI, "/components/schemas/Shift")
    fields = ["mdt_code", "officer_name", "officer_badge", "status", "start_time", "end_time"]
    fields += ["duration_ms", "department", "created_by_discord_id", "updated_at", "created_at"]
    assert validator.is_valid({"id": "x", **dict.fromkeys(fields)})
    assert not validator.is_valid({"id": None, **dict.fromkeys(fields)})


MAPS = ["ER:LC", "ER:LC Roadmap", "Maple County"]


def test_no_enum_lists_null(spec: dict[str, Any]) -> None:
    """A nullable enum is `anyOf: [{$ref: <enum>}, {type: 'null'}]`: one enum for generators."""
    enums = [
        (path, node) for path, node in _walk(spec) if isinstance(node, dict) and "enum" in node
    ]
    assert len(enums) >= 2  # not vacuous: the link request status and the MDT map
    assert [path for path, node in enums if None in node["enum"]] == []
    assert [path for path, node in enums if isinstance(node.get("type"), list)] == []


def test_mdt_map_is_one_nullable_enum(spec: dict[str, Any], registry: Registry[Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert schemas["MdtMap"]["type"] == "string"
    assert schemas["MdtMap"]["enum"] == MAPS
    assert schemas["MdtInfo"]["properties"]["map"] == {
        "anyOf": [{"$ref": "#/components/schemas/MdtMap"}, {"type": "null"}]
    }
    # The same values as the seed-style `type: [string, "null"]` enum that listed null.
    validator = _validator(registry, SPEC_URI, "/components/schemas/MdtInfo")
    info: dict[str, Any] = {"id": "x", "name": None, "logo_url": None, "settings": {}}
    info |= {"departments": [], "divisions": []}
    for value in [*MAPS, None]:
        assert validator.is_valid({**info, "map": value}), value
    for bad in ("er:lc", "", "Liberty County", 3, ["ER:LC"]):
        assert not validator.is_valid({**info, "map": bad}), bad


def test_non_empty_ids(registry: Registry[Any]) -> None:
    """§7.3 and §11: empty unit ids and mdt_ids are schema-invalid."""
    upsert = _validator(registry, SPEC_URI, "/components/schemas/UpsertActiveUnitsBody")
    assert upsert.is_valid({"units": [{"id": "ADAM-12"}]})
    assert not upsert.is_valid({"units": [{"id": ""}]})
    link = _validator(registry, SPEC_URI, "/components/schemas/CreateLinkRequestBody")
    assert link.is_valid({"mdt_id": "x"})
    assert not link.is_valid({"mdt_id": ""})


# --------------------------------------------------------------------------------------------
# global facts equal the seed pages


def test_tags(spec: dict[str, Any]) -> None:
    assert [(tag["name"], tag["description"].strip()) for tag in spec["tags"]] == TAGS


@needs_seeds
def test_global_facts_equal_seeds(spec: dict[str, Any]) -> None:
    seeds = list(_seed_documents().values())
    for key in ("openapi", "info", "servers", "security", "tags"):
        assert all(seed[key] == seeds[0][key] for seed in seeds), f"seeds disagree on {key}"
    seed = seeds[0]
    assert spec["openapi"] == seed["openapi"]
    # Added (listed deviations): contact and license, and the guild header as a security scheme.
    added = {"contact", "license"}
    info = {k: v for k, v in spec["info"].items() if not k.startswith("x-") and k not in added}
    assert info == seed["info"]
    assert set(spec["info"]) - set(seed["info"]) - {"x-northca-evidence-levels"} == {
        "contact",
        "license",
        "x-northca-deviations",
    }
    assert spec["servers"] == seed["servers"]
    assert seed["security"] == [{"PartnerKey": []}]
    assert spec["security"] == [{"PartnerKey": [], "DiscordGuild": []}]
    assert spec["tags"] == seed["tags"]
    schemes = spec["components"]["securitySchemes"]
    assert {"PartnerKey": schemes["PartnerKey"]} == seed["components"]["securitySchemes"]
    guild = seed["components"]["parameters"]["XDiscordGuild"]
    assert {k: schemes["DiscordGuild"][k] for k in ("type", "in", "name")} == {
        "type": "apiKey",
        "in": guild["in"],
        "name": guild["name"],
    }


@needs_seeds
def test_seed_operations_keep_their_wording(spec: dict[str, Any]) -> None:
    for seed in _seed_documents().values():
        ((path, item),) = seed["paths"].items()
        ((method, seed_op),) = item.items()
        operation = spec["paths"][path][method]
        for key in ("tags", "summary", "description"):
            assert operation[key] == seed_op[key], (path, method, key)
        # The only change: the guild header is the `DiscordGuild` security scheme (a listed
        # deviation), so a generated client sets it once.
        guild = {"$ref": "#/components/parameters/XDiscordGuild"}
        assert operation["parameters"] == [p for p in seed_op["parameters"] if p != guild]
        assert operation["requestBody"] == seed_op["requestBody"]
        assert set(seed_op["responses"]) <= set(operation["responses"])
        for name, param in seed["components"]["parameters"].items():
            if name != "XDiscordGuild":
                assert spec["components"]["parameters"][name] == param, name


# --------------------------------------------------------------------------------------------
# deviations


def test_deviations_are_listed(spec: dict[str, Any]) -> None:
    deviations = spec["info"]["x-northca-deviations"]
    assert isinstance(deviations, list) and deviations
    for deviation in deviations:
        assert set(deviation) == {"what", "why"}, deviation
        assert isinstance(deviation["what"], str) and deviation["what"].strip()
        assert isinstance(deviation["why"], str) and deviation["why"].strip()
    whats = [deviation["what"] for deviation in deviations]
    # Each fix of §7 and §11 is named by one entry.
    for needle in ("OkEnvelope", "nullable", "UpsertActiveUnitsBody", "CreateLinkRequestBody",
                   "x-discord-guild", "operationId", "MdtMap", "`allOf` branch"):  # fmt: skip
        assert any(needle in what for what in whats), needle


def test_deviations_are_applied(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    assert "type" not in schemas["OkEnvelope"]["properties"]["data"]
    assert schemas["OkEnvelope"]["properties"]["data"]["not"] == {"type": "null"}
    unit_id = schemas["UpsertActiveUnitsBody"]["properties"]["units"]["items"]["properties"]["id"]
    assert unit_id["minLength"] == 1
    assert schemas["CreateLinkRequestBody"]["properties"]["mdt_id"]["minLength"] == 1
    assert "XDiscordGuild" not in spec["components"]["parameters"]
    assert spec["components"]["securitySchemes"]["DiscordGuild"]["name"] == "x-discord-guild"
    assert "example" not in schemas["ErrorEnvelope"]
