"""Shifts: listShifts, createShift (seed 001; northca-api.md §3.2, §4.6, §5, §6)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support import (
    ACTOR_ID,
    CLOCK_START,
    ISO_MS_Z,
    MDT_ID,
    advance_clock,
    auth_headers,
    error_of,
    mock_now,
    ok_data,
    set_clock,
)

SHIFTS = f"/mdts/{MDT_ID}/shifts"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
SHIFT_FIELDS = {
    "id",
    "mdt_code",
    "officer_name",
    "officer_badge",
    "status",
    "start_time",
    "end_time",
    "duration_ms",
    "department",
    "created_by_discord_id",
    "updated_at",
    "created_at",
}
# The CreateShiftBody schema example of seed 001, exactly.
SEED_EXAMPLE = {
    "officer_name": "B. Bubbleton",
    "officer_badge": "512",
    "department": "Patrol",
    "status": "active",
}


def _create(client: FlaskClient, headers: dict[str, str], body: Any) -> dict[str, Any]:
    data = ok_data(client.post(SHIFTS, json=body, headers=headers), 201)
    assert isinstance(data, dict)
    return data


def _list(client: FlaskClient, headers: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    data = ok_data(client.get(SHIFTS + query, headers=headers))
    assert isinstance(data, list)
    return data


def _ids(records: list[dict[str, Any]]) -> list[str]:
    return [record["id"] for record in records]


# --------------------------------------------------------------------------------------------
# createShift


def test_seed_example_works_as_written_with_default_headers(client, headers):
    before = set_clock(client)
    shift = _create(client, headers, SEED_EXAMPLE)
    after = mock_now(client)

    assert set(shift) == SHIFT_FIELDS
    assert UUID4.match(shift["id"]), shift["id"]
    for field in ("start_time", "created_at", "updated_at"):
        assert ISO_MS_Z.match(shift[field]), (field, shift)
        assert before <= shift[field] <= after, (field, shift)
    assert shift["created_at"] == shift["updated_at"]
    assert shift == {
        **SEED_EXAMPLE,
        "id": shift["id"],
        "mdt_code": MDT_ID,
        "start_time": shift["start_time"],
        "end_time": None,
        "duration_ms": None,
        "created_by_discord_id": ACTOR_ID,
        "updated_at": shift["created_at"],
        "created_at": shift["created_at"],
    }
    assert _list(client, headers) == [shift]


@pytest.mark.parametrize("body", [{}, {"status": None}], ids=["absent", "null"])
def test_create_defaults_status_active_and_start_time_now(client, headers, body):
    before = set_clock(client)
    shift = _create(client, headers, body)
    after = mock_now(client)
    assert set(shift) == SHIFT_FIELDS
    assert shift["status"] == "active"
    assert ISO_MS_Z.match(shift["start_time"]), shift
    assert before <= shift["start_time"] <= after
    for field in ("officer_name", "officer_badge", "end_time", "duration_ms", "department"):
        assert shift[field] is None, field


def test_start_time_default_follows_the_mock_clock(client, headers):
    set_clock(client, "2031-07-04T12:00:00.000Z")
    shift = _create(client, headers, {})
    assert shift["start_time"].startswith("2031-07-04T12:00:")


def test_create_stores_times_and_duration_as_given(client, headers):
    body = {
        "id": "shift-1",
        "officer_name": "A. Smith",
        "officer_badge": "144",
        "status": "ended",
        "start_time": "2026-03-01T01:00:00.000Z",
        "end_time": "2026-03-01T02:30:00.000Z",
        "duration_ms": 123,
        "department": "Traffic",
    }
    shift = _create(client, headers, body)
    assert shift == {
        **body,
        "mdt_code": MDT_ID,
        "created_by_discord_id": ACTOR_ID,
        "updated_at": shift["created_at"],
        "created_at": shift["created_at"],
    }


def test_end_time_without_duration_is_not_derived(client, headers):
    body = {"start_time": "2026-03-01T01:00:00.000Z", "end_time": "2026-03-01T02:00:00.000Z"}
    shift = _create(client, headers, body)
    assert shift["duration_ms"] is None
    assert shift["end_time"] == "2026-03-01T02:00:00.000Z"


def test_duration_without_end_time_is_not_derived(client, headers):
    shift = _create(client, headers, {"duration_ms": 3_600_000})
    assert shift["end_time"] is None
    assert shift["duration_ms"] == 3_600_000


def test_create_without_actor_sets_created_by_discord_id_null(client):
    shift = _create(client, auth_headers(actor=None), SEED_EXAMPLE)
    assert shift["created_by_discord_id"] is None


def test_generated_ids_are_distinct_lowercase_uuid4(client, headers):
    ids = [_create(client, headers, {})["id"] for _ in range(5)]
    assert len(set(ids)) == 5
    for shift_id in ids:
        assert UUID4.match(shift_id), shift_id


def test_duplicate_client_id_is_409_and_keeps_the_first_record(client, headers):
    first = _create(client, headers, {"id": "shift-1", "department": "Patrol"})
    response = client.post(SHIFTS, json={"id": "shift-1", "department": "Traffic"}, headers=headers)
    assert error_of(response) == (409, "ID already exists")
    assert _list(client, headers) == [first]


@pytest.mark.parametrize(
    "body",
    [
        {"foo": "bar"},
        {**SEED_EXAMPLE, "rank": "PO"},
        {"mdt_code": MDT_ID},
        {"created_at": CLOCK_START},
    ],
    ids=["foo", "rank", "mdt_code", "created_at"],
)
def test_create_with_unknown_key_is_invalid_request_body(client, headers, body):
    response = client.post(SHIFTS, json=body, headers=headers)
    assert error_of(response) == (400, "Invalid request body")
    assert _list(client, headers) == []


@pytest.mark.parametrize(
    "body",
    [
        {"duration_ms": "3600000"},
        {"duration_ms": 2.5},
        {"officer_badge": 512},
        {"department": ["Patrol"]},
        {"status": True},
        {"start_time": 1700000000},
        {"id": 5},
        {"id": None},
        [],
        "x",
    ],
    ids=[
        "duration-string",
        "duration-float",
        "badge-int",
        "department-array",
        "status-bool",
        "start_time-int",
        "id-int",
        "id-null",
        "array",
        "string",
    ],
)
def test_create_with_wrong_type_is_invalid_request_body(client, headers, body):
    response = client.post(SHIFTS, json=body, headers=headers)
    assert error_of(response) == (400, "Invalid request body")
    assert _list(client, headers) == []


# --------------------------------------------------------------------------------------------
# listShifts


def test_list_orders_by_updated_at_not_by_start_time_or_write_order(client, headers):
    set_clock(client, "2026-03-01T02:00:00.000Z")
    late = _create(client, headers, {"start_time": "2026-01-01T00:00:00.000Z"})
    set_clock(client, "2026-03-01T01:00:00.000Z")
    early = _create(client, headers, {"start_time": "2026-12-31T00:00:00.000Z"})
    assert _ids(_list(client, headers)) == [late["id"], early["id"]]


def _seed_departments(client: FlaskClient, headers: dict[str, str]) -> dict[str, str]:
    """Shifts in Patrol, patrol, PATROL, Traffic, none and Patrol again, oldest first."""
    set_clock(client)
    made = {}
    for name, department in [
        ("p1", "Patrol"),
        ("lower", "patrol"),
        ("upper", "PATROL"),
        ("traffic", "Traffic"),
        ("none", None),
        ("p2", "Patrol"),
        ("space", "Patrol "),
    ]:
        made[name] = _create(client, headers, {"department": department})["id"]
        advance_clock(client, 1)
    return made


def test_department_filter_is_exact_and_case_sensitive(client, headers):
    made = _seed_departments(client, headers)
    assert _ids(_list(client, headers, "?department=Patrol")) == [made["p2"], made["p1"]]
    assert _ids(_list(client, headers, "?department=patrol")) == [made["lower"]]
    assert _ids(_list(client, headers, "?department=PATROL")) == [made["upper"]]
    assert _ids(_list(client, headers, "?department=Traffic")) == [made["traffic"]]
    assert _ids(_list(client, headers, "?department=Patrol%20")) == [made["space"]]
    assert _list(client, headers, "?department=Patr") == []
    assert _list(client, headers, "?department=K9") == []
    assert len(_list(client, headers)) == 7


def test_department_filter_returns_full_records(client, headers):
    shift = _create(client, headers, SEED_EXAMPLE)
    _create(client, headers, {**SEED_EXAMPLE, "department": "Traffic"})
    assert _list(client, headers, "?department=Patrol") == [shift]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("?department=Patrol&limit=1", ["p2"]),
        ("?limit=1&department=Patrol", ["p2"]),
        ("?department=Patrol&limit=2", ["p2", "p1"]),
        ("?department=Patrol&limit=100", ["p2", "p1"]),
        ("?department=patrol&limit=1", ["lower"]),
        ("?limit=3", ["space", "p2", "none"]),
    ],
)
def test_department_filter_combines_with_limit(client, headers, query, expected):
    made = _seed_departments(client, headers)
    assert _ids(_list(client, headers, query)) == [made[name] for name in expected]


def test_department_filter_applies_before_limit(client, headers):
    set_clock(client)
    patrol = _create(client, headers, {"department": "Patrol"})["id"]
    for _ in range(3):
        advance_clock(client, 1)
        _create(client, headers, {"department": "Traffic"})
    assert _ids(_list(client, headers, "?department=Patrol&limit=1")) == [patrol]


@pytest.mark.parametrize(
    "query",
    [
        "?limit=0",
        "?limit=101",
        "?limit=abc",
        "?limit=2.5",
        "?limit=-1",
        "?department=Patrol&limit=0",
        "?department=Patrol&limit=abc",
    ],
)
def test_list_invalid_limit(client, headers, query):
    response = client.get(SHIFTS + query, headers=headers)
    assert error_of(response) == (400, "Invalid limit")
