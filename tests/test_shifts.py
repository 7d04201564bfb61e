"""Shifts: the rules of createShift and listShifts alone (seed 001; northca-api.md §3.2, §4.6).

The rules every record collection shares (the seed example, defaults, ids, unknown keys, types,
ordering, ``limit``) are in ``test_record_lists``.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support import (
    DEFAULT,
    advance_clock,
    create_record,
    error_of,
    ids_of,
    list_records,
    request_example,
    set_clock,
)

SHIFTS = f"/mdts/{DEFAULT.mdt_id}/shifts"
SEED_EXAMPLE = request_example("createShift")


def _create(client: FlaskClient, headers: dict[str, str], body: Any) -> dict[str, Any]:
    return create_record(client, headers, SHIFTS, body)


def _list(client: FlaskClient, headers: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    return list_records(client, headers, SHIFTS, query)


# --------------------------------------------------------------------------------------------
# createShift


def test_the_spec_example_is_the_seed_example_exactly():
    # The CreateShiftBody schema example of seed 001; test_record_lists creates it.
    assert SEED_EXAMPLE == {
        "officer_name": "B. Bubbleton",
        "officer_badge": "512",
        "department": "Patrol",
        "status": "active",
    }


def test_start_time_default_follows_the_mock_clock(client, headers):
    set_clock(client, "2031-07-04T12:00:00.000Z")
    shift = _create(client, headers, {})
    assert shift["start_time"].startswith("2031-07-04T12:00:")


def test_end_time_without_duration_is_not_derived(client, headers):
    body = {"start_time": "2026-03-01T01:00:00.000Z", "end_time": "2026-03-01T02:00:00.000Z"}
    shift = _create(client, headers, body)
    assert shift["duration_ms"] is None
    assert shift["end_time"] == "2026-03-01T02:00:00.000Z"


def test_duration_without_end_time_is_not_derived(client, headers):
    shift = _create(client, headers, {"duration_ms": 3_600_000})
    assert shift["end_time"] is None
    assert shift["duration_ms"] == 3_600_000


# --------------------------------------------------------------------------------------------
# listShifts


def test_list_orders_by_updated_at_not_by_start_time(client, headers):
    set_clock(client, "2026-03-01T02:00:00.000Z")
    late = _create(client, headers, {"start_time": "2026-01-01T00:00:00.000Z"})
    set_clock(client, "2026-03-01T01:00:00.000Z")
    early = _create(client, headers, {"start_time": "2026-12-31T00:00:00.000Z"})
    assert ids_of(_list(client, headers)) == [late["id"], early["id"]]


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
    assert ids_of(_list(client, headers, "?department=Patrol")) == [made["p2"], made["p1"]]
    assert ids_of(_list(client, headers, "?department=patrol")) == [made["lower"]]
    assert ids_of(_list(client, headers, "?department=PATROL")) == [made["upper"]]
    assert ids_of(_list(client, headers, "?department=Traffic")) == [made["traffic"]]
    assert ids_of(_list(client, headers, "?department=Patrol%20")) == [made["space"]]
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
    assert ids_of(_list(client, headers, query)) == [made[name] for name in expected]


def test_department_filter_applies_before_limit(client, headers):
    set_clock(client)
    patrol = _create(client, headers, {"department": "Patrol"})["id"]
    for _ in range(3):
        advance_clock(client, 1)
        _create(client, headers, {"department": "Traffic"})
    assert ids_of(_list(client, headers, "?department=Patrol&limit=1")) == [patrol]


@pytest.mark.parametrize(
    "query",
    [
        "?department=Patrol&limit=0",
        "?department=Patrol&limit=abc",
    ],
)
def test_department_with_invalid_limit_is_invalid_limit(client, headers, query):
    response = client.get(SHIFTS + query, headers=headers)
    assert error_of(response) == (400, "Invalid limit")
