"""Dispatch calls: listCalls, createCall, updateCall (northca-api.md §4.4, §5, §6)."""

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
    UNLINKED_MDT_ID,
    advance_clock,
    auth_headers,
    error_of,
    link_both_default_mdts,
    mock_now,
    ok_data,
)

CALLS = f"/mdts/{MDT_ID}/calls"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
CALL_FIELDS = {
    "id",
    "mdt_code",
    "classification",
    "description",
    "location",
    "status",
    "call_type",
    "priority",
    "units_assigned",
    "created_by",
    "created_by_discord_id",
    "created_at",
    "updated_at",
}
PATCHABLE = (
    "classification",
    "description",
    "location",
    "status",
    "call_type",
    "priority",
    "units_assigned",
)
EXAMPLE = {
    "classification": "TRAFFIC STOP",
    "description": "Vehicle stopped for speeding",
    "location": "Mango St & 67th Ave",
    "status": "open",
    "priority": "low",
    "units_assigned": ["ADAM-12"],
}


def _set_clock(client: FlaskClient, now: str = CLOCK_START) -> str:
    data = ok_data(client.post("/__mock/clock", json={"now": now}))
    assert ISO_MS_Z.match(data["now"]), data
    return str(data["now"])


def _create(client: FlaskClient, headers: dict[str, str], body: Any) -> dict[str, Any]:
    data = ok_data(client.post(CALLS, json=body, headers=headers), 201)
    assert isinstance(data, dict)
    return data


def _list(client: FlaskClient, headers: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    data = ok_data(client.get(CALLS + query, headers=headers))
    assert isinstance(data, list)
    return data


# --------------------------------------------------------------------------------------------
# createCall


def test_create_example_returns_201_with_the_full_record(client, headers):
    before = _set_clock(client)
    call = _create(client, headers, EXAMPLE)
    after = mock_now(client)

    assert set(call) == CALL_FIELDS
    assert UUID4.match(call["id"]), call["id"]
    assert ISO_MS_Z.match(call["created_at"]), call
    assert call["created_at"] == call["updated_at"]
    assert before <= call["created_at"] <= after
    assert call == {
        **EXAMPLE,
        "id": call["id"],
        "mdt_code": MDT_ID,
        "call_type": None,
        "created_by": None,
        "created_by_discord_id": ACTOR_ID,
        "created_at": call["created_at"],
        "updated_at": call["created_at"],
    }


@pytest.mark.parametrize("body", [{}, {"status": None}], ids=["absent", "null"])
def test_create_defaults_status_to_open_and_stores_omitted_fields_as_null(client, headers, body):
    call = _create(client, headers, body)
    assert set(call) == CALL_FIELDS
    assert call["status"] == "open"
    for field in ("classification", "description", "location", "call_type", "priority"):
        assert call[field] is None, field
    assert call["units_assigned"] is None
    assert call["created_by"] is None


def test_create_stores_explicit_nulls_and_created_by(client, headers):
    body = {
        "classification": None,
        "description": None,
        "location": None,
        "call_type": None,
        "priority": None,
        "units_assigned": None,
        "created_by": "Dispatcher Dan",
    }
    call = _create(client, headers, body)
    for field, value in body.items():
        assert call[field] == value, field
    assert call["status"] == "open"


def test_create_without_actor_sets_created_by_discord_id_null(client):
    call = _create(client, auth_headers(actor=None), EXAMPLE)
    assert call["created_by_discord_id"] is None


def test_create_with_other_actor_records_that_actor(client):
    call = _create(client, auth_headers(actor="444444444444444444"), {})
    assert call["created_by_discord_id"] == "444444444444444444"


def test_created_call_is_listed_unchanged(client, headers):
    call = _create(client, headers, EXAMPLE)
    assert _list(client, headers) == [call]


def test_generated_ids_are_distinct_lowercase_uuid4(client, headers):
    ids = [_create(client, headers, {})["id"] for _ in range(5)]
    assert len(set(ids)) == 5
    for call_id in ids:
        assert UUID4.match(call_id), call_id


def test_client_supplied_id_is_honoured(client, headers):
    call = _create(client, headers, {"id": "call-0001", "priority": "high"})
    assert call["id"] == "call-0001"
    assert [c["id"] for c in _list(client, headers)] == ["call-0001"]


def test_duplicate_client_id_is_409_and_keeps_the_first_record(client, headers):
    first = _create(client, headers, {"id": "call-0001", "priority": "low"})
    response = client.post(CALLS, json={"id": "call-0001", "priority": "high"}, headers=headers)
    assert error_of(response) == (409, "ID already exists")
    assert _list(client, headers) == [first]


def test_duplicate_of_a_generated_id_is_409(client, headers):
    first = _create(client, headers, {})
    response = client.post(CALLS, json={"id": first["id"]}, headers=headers)
    assert error_of(response) == (409, "ID already exists")


def test_same_client_id_is_allowed_in_another_mdt(client, headers):
    link_both_default_mdts(client)
    a = _create(client, headers, {"id": "shared-id", "priority": "low"})
    response = client.post(
        f"/mdts/{UNLINKED_MDT_ID}/calls", json={"id": "shared-id"}, headers=headers
    )
    b = ok_data(response, 201)
    assert b["id"] == "shared-id"
    assert b["mdt_code"] == UNLINKED_MDT_ID
    assert _list(client, headers) == [a]
    other = ok_data(client.get(f"/mdts/{UNLINKED_MDT_ID}/calls", headers=headers))
    assert other == [b]


def test_create_accepts_json_with_charset(client, headers):
    response = client.post(
        CALLS,
        data='{"priority": "low"}',
        content_type="application/json; charset=utf-8",
        headers=headers,
    )
    assert ok_data(response, 201)["priority"] == "low"


@pytest.mark.parametrize(
    "body",
    [
        {"foo": "bar"},
        {"classification": "TRAFFIC STOP", "mdt_code": MDT_ID},
        {"created_by_discord_id": ACTOR_ID},
        {"created_at": CLOCK_START},
        {"updated_at": CLOCK_START},
    ],
    ids=["foo", "mdt_code", "created_by_discord_id", "created_at", "updated_at"],
)
def test_create_with_unknown_key_is_invalid_request_body(client, headers, body):
    response = client.post(CALLS, json=body, headers=headers)
    assert error_of(response) == (400, "Invalid request body")
    assert _list(client, headers) == []


@pytest.mark.parametrize(
    "body",
    [
        {"priority": 5},
        {"status": True},
        {"classification": ["TRAFFIC STOP"]},
        {"units_assigned": "ADAM-12"},
        {"units_assigned": [12]},
        {"id": 5},
        {"id": None},
        {"created_by": 1},
        [],
        [EXAMPLE],
        "x",
        5,
    ],
    ids=[
        "priority-int",
        "status-bool",
        "classification-array",
        "units-string",
        "units-int-items",
        "id-int",
        "id-null",
        "created_by-int",
        "empty-array",
        "array",
        "string",
        "number",
    ],
)
def test_create_with_wrong_type_is_invalid_request_body(client, headers, body):
    response = client.post(CALLS, json=body, headers=headers)
    assert error_of(response) == (400, "Invalid request body")
    assert _list(client, headers) == []


# --------------------------------------------------------------------------------------------
# updateCall


def test_patch_example_applies_fields_and_refreshes_updated_at(client, headers):
    _set_clock(client)
    call = _create(client, headers, EXAMPLE)
    later = advance_clock(client, 60)
    response = client.patch(
        f"{CALLS}/{call['id']}", json={"status": "closed", "priority": "high"}, headers=headers
    )
    updated = ok_data(response)
    after = mock_now(client)
    assert updated == {
        **call,
        "status": "closed",
        "priority": "high",
        "updated_at": updated["updated_at"],
    }
    assert ISO_MS_Z.match(updated["updated_at"])
    assert later <= updated["updated_at"] <= after
    assert updated["updated_at"] > call["updated_at"]
    assert _list(client, headers) == [updated]


def test_patch_applies_every_listed_field_including_null(client, headers):
    call = _create(client, headers, EXAMPLE)
    changes = {
        "classification": "PURSUIT",
        "description": None,
        "location": "22 Park Ave",
        "status": "closed",
        "call_type": "PURSUIT",
        "priority": None,
        "units_assigned": ["ADAM-12", "LINCOLN-3"],
    }
    assert set(changes) == set(PATCHABLE)
    updated = ok_data(client.patch(f"{CALLS}/{call['id']}", json=changes, headers=headers))
    assert updated == {**call, **changes, "updated_at": updated["updated_at"]}
    cleared = ok_data(
        client.patch(f"{CALLS}/{call['id']}", json={"units_assigned": None}, headers=headers)
    )
    assert cleared["units_assigned"] is None
    assert _list(client, headers) == [cleared]


def test_patch_ignores_keys_outside_the_listed_fields(client, headers):
    _set_clock(client)
    call = _create(client, headers, EXAMPLE)
    advance_clock(client, 5)
    body = {
        "id": "something-else",
        "mdt_code": "other",
        "created_at": "2000-01-01T00:00:00.000Z",
        "updated_at": "2000-01-01T00:00:00.000Z",
        "created_by": "Somebody",
        "created_by_discord_id": "999999999999999999",
        "foo": {"nested": [1, 2]},
        "location": "67 Mango Place",
    }
    updated = ok_data(client.patch(f"{CALLS}/{call['id']}", json=body, headers=headers))
    assert updated == {
        **call,
        "location": "67 Mango Place",
        "updated_at": updated["updated_at"],
    }
    assert updated["updated_at"] > call["updated_at"]
    assert _list(client, headers) == [updated]
    response = client.patch(f"{CALLS}/something-else", json={}, headers=headers)
    assert error_of(response) == (404, "Call not found")


def test_patch_empty_object_refreshes_only_updated_at(client, headers):
    _set_clock(client)
    call = _create(client, headers, EXAMPLE)
    advance_clock(client, 30)
    updated = ok_data(client.patch(f"{CALLS}/{call['id']}", json={}, headers=headers))
    assert updated["updated_at"] > call["updated_at"]
    assert {k: v for k, v in updated.items() if k != "updated_at"} == {
        k: v for k, v in call.items() if k != "updated_at"
    }


def test_patch_by_other_or_no_actor_keeps_created_by_discord_id(client, headers):
    call = _create(client, headers, {})
    updated = ok_data(
        client.patch(
            f"{CALLS}/{call['id']}", json={"status": "closed"}, headers=auth_headers(actor=None)
        )
    )
    assert updated["created_by_discord_id"] == ACTOR_ID
    again = ok_data(
        client.patch(
            f"{CALLS}/{call['id']}",
            json={"status": "open"},
            headers=auth_headers(actor="444444444444444444"),
        )
    )
    assert again["created_by_discord_id"] == ACTOR_ID


@pytest.mark.parametrize(
    "body",
    [
        {"priority": 5},
        {"status": False},
        {"classification": {"a": 1}},
        {"units_assigned": "ADAM-12"},
        {"units_assigned": [1, 2]},
        {"location": ["22 Park Ave"]},
        {"status": "closed", "description": 3},
    ],
    ids=[
        "priority-int",
        "status-bool",
        "classification-object",
        "units-string",
        "units-int-items",
        "location-array",
        "one-bad-of-two",
    ],
)
def test_patch_listed_field_with_wrong_type_is_invalid_request_body(client, headers, body):
    call = _create(client, headers, EXAMPLE)
    response = client.patch(f"{CALLS}/{call['id']}", json=body, headers=headers)
    assert error_of(response) == (400, "Invalid request body")
    assert _list(client, headers) == [call]


@pytest.mark.parametrize("body", [[], ["status"], "x", 5, True], ids=repr)
def test_patch_non_object_body_is_invalid_request_body(client, headers, body):
    call = _create(client, headers, EXAMPLE)
    response = client.patch(f"{CALLS}/{call['id']}", json=body, headers=headers)
    assert error_of(response) == (400, "Invalid request body")
    assert _list(client, headers) == [call]


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{", "application/json"),
        ("", "application/json"),
        (None, None),
        ('{"status": "closed"}', "text/plain"),
    ],
    ids=["truncated", "empty", "no-body", "text-plain"],
)
def test_patch_with_bad_json_is_invalid_json(client, headers, data, content_type):
    call = _create(client, headers, EXAMPLE)
    kwargs: dict[str, Any] = {"headers": headers}
    if data is not None:
        kwargs["data"] = data
    if content_type is not None:
        kwargs["content_type"] = content_type
    response = client.patch(f"{CALLS}/{call['id']}", **kwargs)
    assert error_of(response) == (400, "Invalid JSON")
    assert _list(client, headers) == [call]


@pytest.mark.parametrize("call_id", ["no-such-call", "2f4037ea-5c74-4c3e-8a7f-2fbf8d1f6b9f"])
def test_patch_unknown_call_is_404(client, headers, call_id):
    _create(client, headers, EXAMPLE)
    response = client.patch(f"{CALLS}/{call_id}", json={"status": "closed"}, headers=headers)
    assert error_of(response) == (404, "Call not found")


def test_patch_call_of_another_mdt_is_404(client, headers):
    link_both_default_mdts(client)
    call = _create(client, headers, EXAMPLE)
    response = client.patch(
        f"/mdts/{UNLINKED_MDT_ID}/calls/{call['id']}", json={"status": "closed"}, headers=headers
    )
    assert error_of(response) == (404, "Call not found")
    assert _list(client, headers) == [call]


# --------------------------------------------------------------------------------------------
# listCalls


def test_list_is_newest_updated_first_and_patch_moves_to_front(client, headers):
    _set_clock(client)
    ids = []
    for n in range(3):
        ids.append(_create(client, headers, {"description": f"call {n}"})["id"])
        advance_clock(client, 1)
    assert [c["id"] for c in _list(client, headers)] == ids[::-1]

    ok_data(client.patch(f"{CALLS}/{ids[0]}", json={"status": "closed"}, headers=headers))
    assert [c["id"] for c in _list(client, headers)] == [ids[0], ids[2], ids[1]]
    ok_data(client.patch(f"{CALLS}/{ids[1]}", json={}, headers=headers))
    assert [c["id"] for c in _list(client, headers)] == [ids[1], ids[0], ids[2]]
