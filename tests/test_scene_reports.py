"""Scene reports: listSceneReports, createSceneReport (northca-api.md §4.5, §5, §6, §11)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support import (
    ACTOR_ID,
    ISO_MS_Z,
    MDT_ID,
    auth_headers,
    error_of,
    mock_now,
    ok_data,
    set_clock,
)

REPORTS = f"/mdts/{MDT_ID}/scene-reports"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
REPORT_FIELDS = {
    "id",
    "mdt_code",
    "title",
    "description",
    "location",
    "date",
    "time",
    "officer_name",
    "officer_badge",
    "status",
    "dispatch_call_id",
    "created_by_discord_id",
    "created_at",
    "updated_at",
}
NULLABLE = (
    "title",
    "description",
    "location",
    "date",
    "time",
    "officer_name",
    "officer_badge",
    "dispatch_call_id",
)
EXAMPLE = {
    "title": "Incident Summary",
    "description": "Observed minor property damage.",
    "location": "22 Park Ave",
    "status": "DRAFT",
    "dispatch_call_id": "2f4037ea-5c74-4c3e-8a7f-2fbf8d1f6b9f",
}


def _create(client: FlaskClient, headers: dict[str, str], body: Any) -> dict[str, Any]:
    data = ok_data(client.post(REPORTS, json=body, headers=headers), 201)
    assert isinstance(data, dict)
    return data


def _list(client: FlaskClient, headers: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    data = ok_data(client.get(REPORTS + query, headers=headers))
    assert isinstance(data, list)
    return data


def test_create_example_returns_201_with_the_full_record(client, headers):
    before = set_clock(client)
    report = _create(client, headers, EXAMPLE)
    after = mock_now(client)

    assert set(report) == REPORT_FIELDS
    assert UUID4.match(report["id"]), report["id"]
    assert ISO_MS_Z.match(report["created_at"]), report
    assert report["created_at"] == report["updated_at"]
    assert before <= report["created_at"] <= after
    assert report == {
        **EXAMPLE,
        "id": report["id"],
        "mdt_code": MDT_ID,
        "date": None,
        "time": None,
        "officer_name": None,
        "officer_badge": None,
        "created_by_discord_id": ACTOR_ID,
        "created_at": report["created_at"],
        "updated_at": report["created_at"],
    }
    assert _list(client, headers) == [report]


@pytest.mark.parametrize("body", [{}, {"status": None}], ids=["absent", "null"])
def test_create_defaults_status_to_upper_case_draft(client, headers, body):
    report = _create(client, headers, body)
    assert set(report) == REPORT_FIELDS
    assert report["status"] == "DRAFT"
    for field in NULLABLE:
        assert report[field] is None, field


def test_create_stores_every_field_as_given(client, headers):
    body = {
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
    }
    report = _create(client, headers, body)
    assert report == {
        **body,
        "mdt_code": MDT_ID,
        "created_by_discord_id": ACTOR_ID,
        "created_at": report["created_at"],
        "updated_at": report["created_at"],
    }


def test_date_and_time_are_plain_strings_stored_verbatim(client, headers):
    report = _create(client, headers, {"date": "yesterday", "time": "around noon"})
    assert (report["date"], report["time"]) == ("yesterday", "around noon")


def test_dispatch_call_id_is_not_checked_against_calls(client, headers):
    assert ok_data(client.get(f"/mdts/{MDT_ID}/calls", headers=headers)) == []
    report = _create(client, headers, {"dispatch_call_id": "no-such-call"})
    assert report["dispatch_call_id"] == "no-such-call"


def test_create_without_actor_sets_created_by_discord_id_null(client):
    report = _create(client, auth_headers(actor=None), EXAMPLE)
    assert report["created_by_discord_id"] is None


def test_generated_ids_are_distinct_lowercase_uuid4(client, headers):
    ids = [_create(client, headers, {})["id"] for _ in range(5)]
    assert len(set(ids)) == 5
    for report_id in ids:
        assert UUID4.match(report_id), report_id


def test_duplicate_client_id_is_409_and_keeps_the_first_record(client, headers):
    first = _create(client, headers, {"id": "report-1", "title": "first"})
    response = client.post(REPORTS, json={"id": "report-1", "title": "second"}, headers=headers)
    assert error_of(response) == (409, "ID already exists")
    assert _list(client, headers) == [first]


def test_id_of_a_call_is_not_taken_for_a_report(client, headers):
    ok_data(client.post(f"/mdts/{MDT_ID}/calls", json={"id": "shared"}, headers=headers), 201)
    assert _create(client, headers, {"id": "shared"})["id"] == "shared"


@pytest.mark.parametrize(
    "body",
    [
        {"foo": "bar"},
        {"title": "Incident Summary", "mdt_code": MDT_ID},
        {"created_by_discord_id": ACTOR_ID},
        {"priority": "low"},
    ],
    ids=["foo", "mdt_code", "created_by_discord_id", "priority"],
)
def test_create_with_unknown_key_is_invalid_request_body(client, headers, body):
    response = client.post(REPORTS, json=body, headers=headers)
    assert error_of(response) == (400, "Invalid request body")
    assert _list(client, headers) == []


@pytest.mark.parametrize(
    "body",
    [
        {"title": 5},
        {"status": True},
        {"date": 20260301},
        {"dispatch_call_id": ["x"]},
        {"officer_badge": 512},
        {"id": 5},
        {"id": None},
        [],
        "x",
    ],
    ids=[
        "title-int",
        "status-bool",
        "date-int",
        "dispatch_call_id-array",
        "badge-int",
        "id-int",
        "id-null",
        "array",
        "string",
    ],
)
def test_create_with_wrong_type_is_invalid_request_body(client, headers, body):
    response = client.post(REPORTS, json=body, headers=headers)
    assert error_of(response) == (400, "Invalid request body")
    assert _list(client, headers) == []
