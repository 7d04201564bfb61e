"""Rules every record collection shares (calls, scene reports, shifts, tickets), as one table.

Creates store every field of the record schema (null when not given), take the id the client
sends (409 ``ID already exists`` when it is taken in this collection of this MDT) or generate a
lowercase UUID4, set ``mdt_code``, ``created_by_discord_id`` (the actor, or null) and
``created_at`` = ``updated_at`` from the request, then apply the documented defaults to the
fields left null. Unknown keys and wrong types are 400 ``Invalid request body``; an unparseable,
missing or non-JSON body is 400 ``Invalid JSON``; neither stores anything. Lists are a bare
array, most recently updated first (later writes first within a millisecond), and honour
``limit`` (1..100, default 50; anything else is 400 ``Invalid limit``).

The table takes paths, fields, examples and defaults from ``openapi.yaml``; ``DOCUMENTED`` pins
the fields and defaults to northca-api.md §4.4-§4.7 once. Rules of one collection alone (PATCH,
the department filter, free-text dates) live in its tag's module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support import (
    CLOCK_START,
    DEFAULT,
    ISO_MS_Z,
    UUID4,
    advance_clock,
    auth_headers,
    body_schema,
    create_record,
    error_of,
    ids_of,
    link_both_default_mdts,
    list_records,
    mock_now,
    ok_data,
    request_example,
    resolve,
    set_clock,
    spec_operation,
)

#: Fields the server sets from the request; a create body may not send them.
SERVER_SET = {
    "mdt_code": DEFAULT.mdt_id,
    "created_by_discord_id": DEFAULT.actor_id,
    "created_at": CLOCK_START,
    "updated_at": CLOCK_START,
}
#: A documented default of "now" is the request's time.
NOW = "now"


@dataclass(frozen=True)
class Collection:
    """One record collection, as the spec describes it."""

    name: str
    create: str  # operationId
    path: str  # of the default MDT
    fields: tuple[str, ...]  # of the record, in schema order
    body_fields: tuple[str, ...]  # a create body may send
    defaults: Mapping[str, str]  # field -> documented default ("now": the request's time)
    example: Mapping[str, Any]  # the create operation's request example
    unknown_key: str  # a field of another collection, unknown to this one
    full_body: Mapping[str, Any]  # every body field, given

    def __str__(self) -> str:
        return self.name

    def path_of(self, mdt_id: str) -> str:
        return self.path.replace(DEFAULT.mdt_id, mdt_id)

    def expected(self, body: Mapping[str, Any], created: Mapping[str, Any]) -> dict[str, Any]:
        """The record a create of ``body`` stores; id and timestamp taken from ``created``."""
        record: dict[str, Any] = {**dict.fromkeys(self.fields), **body}
        now = created["created_at"]
        for name, default in self.defaults.items():
            if record[name] is None:
                record[name] = now if default == NOW else default
        record.update(
            id=created["id"],
            mdt_code=DEFAULT.mdt_id,
            created_by_discord_id=DEFAULT.actor_id,
            created_at=now,
            updated_at=now,
        )
        return record


def _properties(schema: Mapping[str, Any]) -> dict[str, Any]:
    properties = resolve(schema)["properties"]
    assert isinstance(properties, dict)
    return properties


def _created_schema(operation: Mapping[str, Any]) -> Mapping[str, Any]:
    """The ``data`` schema of a 201 success envelope."""
    envelope = resolve(operation["responses"]["201"])["content"]["application/json"]["schema"]
    (data,) = (part["properties"]["data"] for part in envelope["allOf"] if "properties" in part)
    return resolve(data)  # type: ignore[no-any-return]


def _collection(
    name: str, create: str, unknown_key: str, full_body: Mapping[str, Any]
) -> Collection:
    _, template, operation = spec_operation(create)
    body = _properties(body_schema(create))
    defaults = {
        field: match.group(1)
        for field, schema in body.items()
        if (match := re.search(r'Defaults to "([^"]+)"', schema.get("description", "")))
    }
    return Collection(
        name=name,
        create=create,
        path=template.replace("{mdtId}", DEFAULT.mdt_id),
        fields=tuple(_properties(_created_schema(operation))),
        body_fields=tuple(body),
        defaults=defaults,
        example=request_example(create),
        unknown_key=unknown_key,
        full_body=full_body,
    )


COLLECTIONS = [
    _collection(
        "calls",
        "createCall",
        unknown_key="title",
        full_body={
            "id": "call-0001",
            "classification": "PURSUIT",
            "description": None,
            "location": "Mango St & 67th Ave",
            "status": "closed",
            "call_type": "PURSUIT",
            "priority": "high",
            "units_assigned": ["ADAM-12", "LINCOLN-3"],
            "created_by": "Dispatcher Dan",
        },
    ),
    _collection(
        "scene-reports",
        "createSceneReport",
        unknown_key="priority",
        full_body={
            "id": "report-1",
            "title": "Incident Summary",
            "description": "Observed minor property damage.",
            "location": "22 Park Ave",
            "date": "2026-03-01",
            "time": "01:23",
            "officer_name": "B. Bubbleton",
            "officer_badge": "512",
            "status": "SUBMITTED",
            "dispatch_call_id": None,
        },
    ),
    _collection(
        "shifts",
        "createShift",
        unknown_key="rank",
        full_body={
            "id": "shift-1",
            "officer_name": "A. Smith",
            "officer_badge": "144",
            "status": "ended",
            "start_time": "2026-03-01T01:00:00.000Z",
            "end_time": "2026-03-01T02:30:00.000Z",
            "duration_ms": 123,
            "department": "Traffic",
        },
    ),
    _collection(
        "tickets",
        "createTicket",
        unknown_key="location",
        full_body={
            "id": "ticket-1",
            "title": "Citation",
            "description": None,
            "officer_name": "A. Smith",
            "officer_badge": "144",
            "officer_callsign": "LINCOLN-3",
            "status": "closed",
            "priority": "high",
        },
    ),
]

#: The record fields and create defaults northca-api.md documents (§4.4-§4.7, §6).
DOCUMENTED: dict[str, tuple[set[str], dict[str, str]]] = {
    "calls": (
        {
            "classification",
            "description",
            "location",
            "status",
            "call_type",
            "priority",
            "units_assigned",
            "created_by",
        },
        {"status": "open"},
    ),
    "scene-reports": (
        {
            "title",
            "description",
            "location",
            "date",
            "time",
            "officer_name",
            "officer_badge",
            "status",
            "dispatch_call_id",
        },
        {"status": "DRAFT"},
    ),
    "shifts": (
        {
            "officer_name",
            "officer_badge",
            "status",
            "start_time",
            "end_time",
            "duration_ms",
            "department",
        },
        {"status": "active", "start_time": NOW},
    ),
    "tickets": (
        {
            "title",
            "description",
            "officer_name",
            "officer_badge",
            "officer_callsign",
            "status",
            "priority",
        },
        {"status": "open"},
    ),
}
AUDIT = {"id", "mdt_code", "created_by_discord_id", "created_at", "updated_at"}


@pytest.fixture(params=COLLECTIONS, ids=str)
def coll(request: pytest.FixtureRequest) -> Collection:
    return request.param  # type: ignore[no-any-return]


def _create(
    client: FlaskClient, headers: dict[str, str], coll: Collection, body: Any
) -> dict[str, Any]:
    return create_record(client, headers, coll.path, body)


def _listed(
    client: FlaskClient, headers: dict[str, str], coll: Collection, query: str = ""
) -> list[str]:
    return ids_of(list_records(client, headers, coll.path, query))


def _rejected(client: FlaskClient, headers: dict[str, str], coll: Collection, body: Any) -> None:
    """The create is 400 ``Invalid request body`` and stores nothing."""
    response = client.post(coll.path, json=body, headers=headers)
    assert error_of(response) == (400, "Invalid request body"), body
    assert list_records(client, headers, coll.path) == []


# --------------------------------------------------------------------------------------------
# The table against the documentation


def test_the_spec_documents_the_collections_as_northca_api_md_does(coll):
    fields, defaults = DOCUMENTED[coll.name]
    assert set(coll.fields) == fields | AUDIT
    assert set(coll.body_fields) == fields | {"id"}
    assert dict(coll.defaults) == defaults
    assert set(coll.full_body) == set(coll.body_fields)
    assert coll.unknown_key not in coll.fields
    assert set(coll.example) <= set(coll.body_fields)


# --------------------------------------------------------------------------------------------
# Creates


def test_create_example_returns_201_with_the_full_record(client, headers, coll):
    before = set_clock(client)
    record = _create(client, headers, coll, coll.example)
    after = mock_now(client)

    assert UUID4.match(record["id"]), record["id"]
    assert ISO_MS_Z.match(record["created_at"]), record
    assert before <= record["created_at"] <= after
    assert record == coll.expected(coll.example, record)
    assert list_records(client, headers, coll.path) == [record]


@pytest.mark.parametrize("nulls", ["absent", "status-null", "all-null"])
def test_create_stores_omitted_fields_as_null_and_applies_the_defaults(
    client, headers, coll, nulls
):
    body = {
        "absent": {},
        "status-null": {"status": None},
        "all-null": {field: None for field in coll.body_fields if field != "id"},
    }[nulls]
    before = set_clock(client)
    record = _create(client, headers, coll, body)
    after = mock_now(client)
    assert before <= record["created_at"] <= after
    assert record == coll.expected({}, record)


def test_create_stores_every_field_as_given(client, headers, coll):
    record = _create(client, headers, coll, coll.full_body)
    assert record == {
        **coll.full_body,
        "mdt_code": DEFAULT.mdt_id,
        "created_by_discord_id": DEFAULT.actor_id,
        "created_at": record["created_at"],
        "updated_at": record["created_at"],
    }
    assert list_records(client, headers, coll.path) == [record]


@pytest.mark.parametrize("actor", [None, "444444444444444444"], ids=["no-actor", "other-actor"])
def test_create_records_the_actor_or_null(client, coll, actor):
    record = _create(client, auth_headers(actor=actor), coll, coll.example)
    assert record["created_by_discord_id"] == actor


def test_generated_ids_are_distinct_lowercase_uuid4(client, headers, coll):
    ids = [_create(client, headers, coll, {})["id"] for _ in range(5)]
    assert len(set(ids)) == 5
    for record_id in ids:
        assert UUID4.match(record_id), record_id


def test_duplicate_client_id_is_409_and_keeps_the_first_record(client, headers, coll):
    first = _create(client, headers, coll, {**coll.example, "id": "record-1"})
    response = client.post(coll.path, json={"id": "record-1"}, headers=headers)
    assert error_of(response) == (409, "ID already exists")
    assert list_records(client, headers, coll.path) == [first]


def test_duplicate_of_a_generated_id_is_409(client, headers, coll):
    first = _create(client, headers, coll, {})
    response = client.post(coll.path, json={"id": first["id"]}, headers=headers)
    assert error_of(response) == (409, "ID already exists")
    assert list_records(client, headers, coll.path) == [first]


def test_same_client_id_is_allowed_in_another_mdt(client, headers, coll):
    link_both_default_mdts(client)
    a = _create(client, headers, coll, {**coll.example, "id": "shared-id"})
    other = coll.path_of(DEFAULT.unlinked_mdt_id)
    b = create_record(client, headers, other, {"id": "shared-id"})
    assert (b["id"], b["mdt_code"]) == ("shared-id", DEFAULT.unlinked_mdt_id)
    assert list_records(client, headers, coll.path) == [a]
    assert list_records(client, headers, other) == [b]


def test_id_taken_in_another_collection_is_free_in_this_one(client, headers, coll):
    for other in COLLECTIONS:
        if other is not coll:
            _create(client, headers, other, {"id": "shared"})
    assert _create(client, headers, coll, {"id": "shared"})["id"] == "shared"


def test_create_accepts_json_with_charset(client, headers, coll):
    response = client.post(
        coll.path,
        data='{"status": "x"}',
        content_type="application/json; charset=utf-8",
        headers=headers,
    )
    assert ok_data(response, 201)["status"] == "x"


UNKNOWN_KEYS = [
    pytest.param(coll, key, alone, id=f"{coll}-{key}-{'alone' if alone else 'with-example'}")
    for coll in COLLECTIONS
    for key in ["foo", coll.unknown_key, *sorted(set(coll.fields) - set(coll.body_fields))]
    for alone in (True, False)
]


@pytest.mark.parametrize(("coll", "key", "alone"), UNKNOWN_KEYS)
def test_create_with_unknown_key_is_invalid_request_body(client, headers, coll, key, alone):
    value = SERVER_SET.get(key, "bar")
    _rejected(client, headers, coll, {key: value} if alone else {**coll.example, key: value})


#: One value of each JSON type (and an array of numbers); a field gets those its type refuses.
SAMPLES: list[Any] = [5, 2.5, True, "x", ["x"], [12], {"a": 1}, None]
JSON_TYPES = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array"}


def _accepts(schema: Mapping[str, Any], value: Any) -> bool:
    """Whether ``value`` has a type ``schema`` allows (types and array items only)."""
    schema = resolve(schema)
    allowed = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
    kind = "null" if value is None else JSON_TYPES.get(type(value), "object")
    if kind not in allowed and not (kind == "integer" and "number" in allowed):
        return False
    return kind != "array" or all(_accepts(schema["items"], item) for item in value)


WRONG_TYPES = [
    pytest.param(coll, field, id=f"{coll}-{field}")
    for coll in COLLECTIONS
    for field in coll.body_fields
]


@pytest.mark.parametrize(("coll", "field"), WRONG_TYPES)
def test_create_with_wrong_type_is_invalid_request_body(client, headers, coll, field):
    schema = _properties(body_schema(coll.create))[field]
    wrong = [value for value in SAMPLES if not _accepts(schema, value)]
    assert len(wrong) >= 4, (field, wrong)
    for value in wrong:
        _rejected(client, headers, coll, {field: value})
        _rejected(client, headers, coll, {**coll.example, field: value})


@pytest.mark.parametrize("body", [[], ["example"], "x", 5, True], ids=repr)
def test_create_with_non_object_body_is_invalid_request_body(client, headers, coll, body):
    _rejected(client, headers, coll, [coll.example] if body == ["example"] else body)


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{", "application/json"),
        ("", "application/json"),
        (None, None),
        ('{"id": "x"}', "text/plain"),
        ('{"id": NaN}', "application/json"),
    ],
    ids=["truncated", "empty", "no-body", "text-plain", "nan"],
)
def test_create_with_bad_json_is_invalid_json(client, headers, coll, data, content_type):
    kwargs: dict[str, Any] = {"headers": headers}
    if data is not None:
        kwargs["data"] = data
    if content_type is not None:
        kwargs["content_type"] = content_type
    assert error_of(client.post(coll.path, **kwargs)) == (400, "Invalid JSON")
    assert _listed(client, headers, coll) == []


# --------------------------------------------------------------------------------------------
# Lists


def test_list_is_empty_in_the_default_world(client, headers, coll):
    assert _listed(client, headers, coll) == []


def test_list_is_newest_first(client, headers, coll):
    set_clock(client)
    ids = []
    for _ in range(3):
        ids.append(_create(client, headers, coll, {})["id"])
        advance_clock(client, 1)
    assert _listed(client, headers, coll) == ids[::-1]


def test_later_writes_come_first_within_one_millisecond(client, headers, coll):
    ids = [_create(client, headers, coll, {})["id"] for _ in range(6)]
    assert _listed(client, headers, coll) == ids[::-1]


def test_list_orders_by_updated_at_not_by_write_order(client, headers, coll):
    set_clock(client, "2026-03-01T02:00:00.000Z")
    late = _create(client, headers, coll, {})["id"]
    set_clock(client, "2026-03-01T01:00:00.000Z")
    early = _create(client, headers, coll, {})["id"]
    assert _listed(client, headers, coll) == [late, early]


@pytest.mark.parametrize(("limit", "count"), [(1, 1), (2, 2), (100, 3)])
def test_list_limit(client, headers, coll, limit, count):
    ids = [_create(client, headers, coll, {})["id"] for _ in range(3)]
    assert _listed(client, headers, coll, f"?limit={limit}") == ids[::-1][:count]


def test_list_default_limit_is_50(client, headers, coll):
    ids = [_create(client, headers, coll, {})["id"] for _ in range(51)]
    assert _listed(client, headers, coll) == ids[::-1][:50]
    assert _listed(client, headers, coll, "?limit=100") == ids[::-1]


@pytest.mark.parametrize("limit", ["0", "101", "abc", "2.5", "-1", "", "1e2", " 5"])
def test_list_invalid_limit(client, headers, coll, limit):
    response = client.get(f"{coll.path}?limit={limit}", headers=headers)
    assert error_of(response) == (400, "Invalid limit")
