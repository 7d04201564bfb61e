"""Dispatch calls: the rules of updateCall and listCalls alone (northca-api.md §4.4, §5, §6).

The rules every record collection shares (creates, ids, unknown keys, types, ordering, ``limit``)
are in ``test_record_lists``.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support import (
    DEFAULT,
    ISO_MS_Z,
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
    set_clock,
)

CALLS = f"/mdts/{DEFAULT.mdt_id}/calls"
#: The fields updateCall applies: the ones its body schema declares.
PATCHABLE = tuple(body_schema("updateCall")["properties"])
EXAMPLE = request_example("createCall")


def _create(client: FlaskClient, headers: dict[str, str], body: Any) -> dict[str, Any]:
    return create_record(client, headers, CALLS, body)


def _list(client: FlaskClient, headers: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    return list_records(client, headers, CALLS, query)


# --------------------------------------------------------------------------------------------
# updateCall


def test_patch_example_applies_fields_and_refreshes_updated_at(client, headers):
    set_clock(client)
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
    set_clock(client)
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
    set_clock(client)
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
    assert updated["created_by_discord_id"] == DEFAULT.actor_id
    again = ok_data(
        client.patch(
            f"{CALLS}/{call['id']}",
            json={"status": "open"},
            headers=auth_headers(actor="444444444444444444"),
        )
    )
    assert again["created_by_discord_id"] == DEFAULT.actor_id


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
        f"/mdts/{DEFAULT.unlinked_mdt_id}/calls/{call['id']}",
        json={"status": "closed"},
        headers=headers,
    )
    assert error_of(response) == (404, "Call not found")
    assert _list(client, headers) == [call]


# --------------------------------------------------------------------------------------------
# listCalls


def test_list_is_newest_updated_first_and_patch_moves_to_front(client, headers):
    set_clock(client)
    ids = []
    for n in range(3):
        ids.append(_create(client, headers, {"description": f"call {n}"})["id"])
        advance_clock(client, 1)
    assert ids_of(_list(client, headers)) == ids[::-1]

    ok_data(client.patch(f"{CALLS}/{ids[0]}", json={"status": "closed"}, headers=headers))
    assert ids_of(_list(client, headers)) == [ids[0], ids[2], ids[1]]
    ok_data(client.patch(f"{CALLS}/{ids[1]}", json={}, headers=headers))
    assert ids_of(_list(client, headers)) == [ids[1], ids[0], ids[2]]
