"""Tickets: listTickets, createTicket (northca-api.md §4.7, §5, §6, §11)."""

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

TICKETS = f"/mdts/{MDT_ID}/tickets"
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
TICKET_FIELDS = {
    "id",
    "mdt_code",
    "title",
    "description",
    "officer_name",
    "officer_badge",
    "officer_callsign",
    "status",
    "priority",
    "created_by_discord_id",
    "created_at",
    "updated_at",
}
NULLABLE = (
    "title",
    "description",
    "officer_name",
    "officer_badge",
    "officer_callsign",
    "priority",
)
EXAMPLE = {
    "title": "Tow request",
    "description": "Vehicle disabled, needs tow.",
    "officer_name": "B. Bubbleton",
    "officer_callsign": "ADAM-12",
    "status": "open",
    "priority": "low",
}


def _create(client: FlaskClient, headers: dict[str, str], body: Any) -> dict[str, Any]:
    data = ok_data(client.post(TICKETS, json=body, headers=headers), 201)
    assert isinstance(data, dict)
    return data


def _list(client: FlaskClient, headers: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    data = ok_data(client.get(TICKETS + query, headers=headers))
    assert isinstance(data, list)
    return data


def test_create_example_returns_201_with_the_full_record(client, headers):
    before = set_clock(client)
    ticket = _create(client, headers, EXAMPLE)
    after = mock_now(client)

    assert set(ticket) == TICKET_FIELDS
    assert UUID4.match(ticket["id"]), ticket["id"]
    assert ISO_MS_Z.match(ticket["created_at"]), ticket
    assert ticket["created_at"] == ticket["updated_at"]
    assert before <= ticket["created_at"] <= after
    assert ticket == {
        **EXAMPLE,
        "id": ticket["id"],
        "mdt_code": MDT_ID,
        "officer_badge": None,
        "created_by_discord_id": ACTOR_ID,
        "created_at": ticket["created_at"],
        "updated_at": ticket["created_at"],
    }
    assert _list(client, headers) == [ticket]


@pytest.mark.parametrize("body", [{}, {"status": None}], ids=["absent", "null"])
def test_create_defaults_status_to_open(client, headers, body):
    ticket = _create(client, headers, body)
    assert set(ticket) == TICKET_FIELDS
    assert ticket["status"] == "open"
    for field in NULLABLE:
        assert ticket[field] is None, field


def test_create_stores_every_field_as_given(client, headers):
    body = {
        "id": "ticket-1",
        "title": "Citation",
        "description": None,
        "officer_name": "A. Smith",
        "officer_badge": "144",
        "officer_callsign": "LINCOLN-3",
        "status": "closed",
        "priority": "high",
    }
    ticket = _create(client, headers, body)
    assert ticket == {
        **body,
        "mdt_code": MDT_ID,
        "created_by_discord_id": ACTOR_ID,
        "created_at": ticket["created_at"],
        "updated_at": ticket["created_at"],
    }


def test_create_without_actor_sets_created_by_discord_id_null(client):
    ticket = _create(client, auth_headers(actor=None), EXAMPLE)
    assert ticket["created_by_discord_id"] is None


def test_generated_ids_are_distinct_lowercase_uuid4(client, headers):
    ids = [_create(client, headers, {})["id"] for _ in range(5)]
    assert len(set(ids)) == 5
    for ticket_id in ids:
        assert UUID4.match(ticket_id), ticket_id


def test_duplicate_client_id_is_409_and_keeps_the_first_record(client, headers):
    first = _create(client, headers, {"id": "ticket-1", "title": "first"})
    response = client.post(TICKETS, json={"id": "ticket-1", "title": "second"}, headers=headers)
    assert error_of(response) == (409, "ID already exists")
    assert _list(client, headers) == [first]


@pytest.mark.parametrize(
    "body",
    [
        {"foo": "bar"},
        {"title": "Tow request", "mdt_code": MDT_ID},
        {"created_by_discord_id": ACTOR_ID},
        {"location": "22 Park Ave"},
    ],
    ids=["foo", "mdt_code", "created_by_discord_id", "location"],
)
def test_create_with_unknown_key_is_invalid_request_body(client, headers, body):
    response = client.post(TICKETS, json=body, headers=headers)
    assert error_of(response) == (400, "Invalid request body")
    assert _list(client, headers) == []


@pytest.mark.parametrize(
    "body",
    [
        {"title": 5},
        {"status": True},
        {"priority": 1},
        {"officer_badge": 512},
        {"officer_callsign": ["ADAM-12"]},
        {"id": 5},
        {"id": None},
        [],
        "x",
    ],
    ids=[
        "title-int",
        "status-bool",
        "priority-int",
        "badge-int",
        "callsign-array",
        "id-int",
        "id-null",
        "array",
        "string",
    ],
)
def test_create_with_wrong_type_is_invalid_request_body(client, headers, body):
    response = client.post(TICKETS, json=body, headers=headers)
    assert error_of(response) == (400, "Invalid request body")
    assert _list(client, headers) == []
