"""Link requests: createLinkRequest, confirmLinkRequest and denyLinkRequest (ops 1-3)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from flask.testing import FlaskClient

from mockserver import create_app
from mockserver.clock import Clock
from tests.support import (
    ALREADY_APPROVED,
    ALREADY_DENIED,
    DEFAULT,
    EXPIRED,
    NOT_FOUND,
    NOT_LINKED,
    NOT_OWNER,
    UUID4,
    advance_clock,
    auth_headers,
    error_of,
    mdt_info,
    mock_state,
    ok_data,
    parse_ts,
    world,
    world_mdt,
)

UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
REQUESTER_ID = "444444444444444444"
LINK_REQUEST_FIELDS = {
    "id",
    "partner",
    "mdt_id",
    "guild_id",
    "status",
    "requester_discord_id",
    "owner_discord_id",
    "created_at",
    "expires_at",
    "decided_at",
}

MISSING_FIELD = "Missing required fields: mdt_id"
INVALID_MDT = "Invalid mdt_id"
INVALID_JSON = "Invalid JSON"
INVALID_BODY = "Invalid request body"


def _world(ttl: int, owner: str | None) -> dict[str, Any]:
    """A world with one unlinked MDT owned by `owner`."""
    info = mdt_info("Maple County Police", map="Maple County", departments=("Patrol",))
    return world(world_mdt(DEFAULT.unlinked_mdt_id, owner, info), ttl=ttl)


def _create(
    client: FlaskClient,
    mdt_id: str = DEFAULT.unlinked_mdt_id,
    *,
    guild: str = DEFAULT.guild_id,
    actor: str | None = REQUESTER_ID,
    prefix: str = "",
) -> dict[str, Any]:
    response = client.post(
        f"{prefix}/link-requests",
        json={"mdt_id": mdt_id},
        headers=auth_headers(guild=guild, actor=actor),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["ok"] is True
    data: dict[str, Any] = body["data"]
    return data


def _decide(
    client: FlaskClient,
    request_id: str,
    verb: str,
    *,
    guild: str = DEFAULT.guild_id,
    actor: str | None = DEFAULT.unlinked_mdt_owner_id,
    prefix: str = "",
) -> Any:
    return client.post(
        f"{prefix}/link-requests/{request_id}/{verb}",
        headers=auth_headers(guild=guild, actor=actor),
    )


def _set_now(client: FlaskClient, now: str) -> None:
    response = client.post("/__mock/clock", json={"now": now})
    assert response.status_code == 200, response.get_json()


def _state_request(client: FlaskClient, request_id: str) -> dict[str, Any]:
    state = mock_state(client)
    matches = [item for item in state["link_requests"] if item["id"] == request_id]
    assert len(matches) == 1, state["link_requests"]
    found: dict[str, Any] = matches[0]
    return found


def _shifts_status(client: FlaskClient, mdt_id: str, guild: str) -> int:
    response = client.get(f"/mdts/{mdt_id}/shifts", headers=auth_headers(guild=guild))
    if response.status_code != 200:
        assert error_of(response) == (403, NOT_LINKED)
    return response.status_code


# --------------------------------------------------------------------------------------------
# createLinkRequest


def test_create_returns_201_with_pending_link_request(client: FlaskClient) -> None:
    response = client.post(
        "/link-requests",
        json={"mdt_id": DEFAULT.unlinked_mdt_id},
        headers=auth_headers(actor=REQUESTER_ID),
    )
    data = ok_data(response, 201)
    assert set(data) >= LINK_REQUEST_FIELDS
    assert UUID4.match(data["id"]), data["id"]
    assert data["partner"] == DEFAULT.partner_name
    assert data["mdt_id"] == DEFAULT.unlinked_mdt_id
    assert data["guild_id"] == DEFAULT.guild_id
    assert data["status"] == "pending"
    assert data["requester_discord_id"] == REQUESTER_ID
    assert data["owner_discord_id"] == DEFAULT.unlinked_mdt_owner_id
    assert data["decided_at"] is None
    created = parse_ts(data["created_at"])
    expires = parse_ts(data["expires_at"])
    assert expires - created == timedelta(seconds=DEFAULT.link_request_ttl_seconds)


def test_create_takes_guild_from_header(client: FlaskClient) -> None:
    data = _create(client, guild=DEFAULT.other_guild_id)
    assert data["guild_id"] == DEFAULT.other_guild_id


def test_create_without_actor_has_null_requester(client: FlaskClient) -> None:
    data = _create(client, actor=None)
    assert data["requester_discord_id"] is None


def test_create_copies_owner_of_linked_mdt(client: FlaskClient) -> None:
    # Creating a request for an MDT that is already linked still answers 201 (Decisions, op 1).
    data = _create(client, DEFAULT.mdt_id)
    assert data["mdt_id"] == DEFAULT.mdt_id
    assert data["owner_discord_id"] == DEFAULT.actor_id
    assert data["status"] == "pending"


def test_create_twice_gives_two_distinct_pending_requests(client: FlaskClient) -> None:
    first = _create(client)
    second = _create(client)
    assert first["id"] != second["id"]
    assert second["status"] == "pending"
    ids = {item["id"] for item in client.get("/__mock/state").get_json()["data"]["link_requests"]}
    assert ids == {first["id"], second["id"]}


def test_create_uses_the_mock_clock(client: FlaskClient) -> None:
    _set_now(client, "2030-01-02T03:04:05.000Z")
    data = _create(client)
    created = parse_ts(data["created_at"])
    start = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert start <= created < start + timedelta(seconds=30)
    assert parse_ts(data["expires_at"]) == created + timedelta(
        seconds=DEFAULT.link_request_ttl_seconds
    )


def test_create_is_recorded_in_state(client: FlaskClient) -> None:
    data = _create(client)
    assert _state_request(client, data["id"]) == data


def test_create_ttl_comes_from_the_world() -> None:
    client = create_app(world=_world(60, DEFAULT.unlinked_mdt_owner_id)).test_client()
    data = _create(client)
    assert parse_ts(data["expires_at"]) - parse_ts(data["created_at"]) == timedelta(seconds=60)


def test_create_for_mdt_without_owner_has_null_owner() -> None:
    client = create_app(world=_world(DEFAULT.link_request_ttl_seconds, None)).test_client()
    data = _create(client)
    assert data["owner_discord_id"] is None
    # Nobody can confirm or deny it: a null owner matches no actor.
    for actor in (DEFAULT.unlinked_mdt_owner_id, REQUESTER_ID, None):
        for verb in ("confirm", "deny"):
            assert error_of(_decide(client, data["id"], verb, actor=actor)) == (403, NOT_OWNER)


@pytest.mark.parametrize(
    "body",
    [{}, {"mdt_id": None}, {"mdt_id": ""}],
    ids=["absent", "null", "empty"],
)
def test_create_missing_mdt_id(client: FlaskClient, body: dict[str, Any]) -> None:
    response = client.post("/link-requests", json=body, headers=auth_headers())
    assert error_of(response) == (400, MISSING_FIELD)
    assert response.mimetype == "application/json"


@pytest.mark.parametrize(
    "mdt_id",
    [
        UNKNOWN_ID,
        "not-an-mdt",
        123,
        12.5,
        True,
        ["0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2"],
        {"id": DEFAULT.mdt_id},
    ],
    ids=["unknown-uuid", "garbage", "int", "float", "bool", "list", "object"],
)
def test_create_invalid_mdt_id(client: FlaskClient, mdt_id: Any) -> None:
    response = client.post("/link-requests", json={"mdt_id": mdt_id}, headers=auth_headers())
    assert error_of(response) == (400, INVALID_MDT)


def test_create_invalid_mdt_creates_nothing(client: FlaskClient) -> None:
    client.post("/link-requests", json={"mdt_id": UNKNOWN_ID}, headers=auth_headers())
    assert client.get("/__mock/state").get_json()["data"]["link_requests"] == []


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ('{"mdt_id": ', "application/json"),
        ("not json at all", "application/json"),
        ("", "application/json"),
        (None, None),
        (json.dumps({"mdt_id": DEFAULT.unlinked_mdt_id}), "text/plain"),
        (json.dumps({"mdt_id": DEFAULT.unlinked_mdt_id}), None),
    ],
    ids=["truncated", "garbage", "empty-body", "no-body", "text-plain", "no-content-type"],
)
def test_create_invalid_json(
    client: FlaskClient, data: str | None, content_type: str | None
) -> None:
    kwargs: dict[str, Any] = {"headers": auth_headers()}
    if data is not None:
        kwargs["data"] = data
    if content_type is not None:
        kwargs["content_type"] = content_type
    response = client.post("/link-requests", **kwargs)
    assert error_of(response) == (400, INVALID_JSON)
    assert client.get("/__mock/state").get_json()["data"]["link_requests"] == []


@pytest.mark.parametrize(
    "body",
    [
        {"mdt_id": DEFAULT.unlinked_mdt_id, "extra": 1},
        {"mdt_id": DEFAULT.unlinked_mdt_id, "guild_id": DEFAULT.other_guild_id},
    ],
    ids=["extra", "guild_id"],
)
def test_create_extra_keys_are_invalid_body(client: FlaskClient, body: dict[str, Any]) -> None:
    response = client.post("/link-requests", json=body, headers=auth_headers())
    assert error_of(response) == (400, INVALID_BODY)
    assert client.get("/__mock/state").get_json()["data"]["link_requests"] == []


def test_create_unauthorized_before_body_checks(client: FlaskClient) -> None:
    response = client.post(
        "/link-requests", data="{", content_type="application/json", headers=auth_headers(key=None)
    )
    assert error_of(response) == (401, "Unauthorized")
    response = client.post(
        "/link-requests", json={"mdt_id": DEFAULT.unlinked_mdt_id}, headers=auth_headers(guild=None)
    )
    assert error_of(response) == (401, "Unauthorized")


def test_create_served_under_v1(client: FlaskClient) -> None:
    data = _create(client, prefix="/v1")
    assert data["status"] == "pending"
    response = client.post("/v1/link-requests", json={}, headers=auth_headers())
    assert error_of(response) == (400, MISSING_FIELD)


# --------------------------------------------------------------------------------------------
# confirmLinkRequest


def test_confirm_approves_and_links(client: FlaskClient) -> None:
    created = _create(client)
    assert _shifts_status(client, DEFAULT.unlinked_mdt_id, DEFAULT.guild_id) == 403
    data = ok_data(_decide(client, created["id"], "confirm"))
    assert data["status"] == "approved"
    assert data.get("already") in (None, False)
    decided = parse_ts(data["decided_at"])
    assert parse_ts(created["created_at"]) <= decided < parse_ts(created["expires_at"])
    for field in LINK_REQUEST_FIELDS - {"status", "decided_at"}:
        assert data[field] == created[field], field
    assert _state_request(client, created["id"])["status"] == "approved"
    assert _shifts_status(client, DEFAULT.unlinked_mdt_id, DEFAULT.guild_id) == 200
    assert _shifts_status(client, DEFAULT.unlinked_mdt_id, DEFAULT.other_guild_id) == 403


def test_confirm_link_appears_in_guild_list_and_state(client: FlaskClient) -> None:
    created = _create(client)
    decided = ok_data(_decide(client, created["id"], "confirm"))
    listing = ok_data(client.get(f"/guilds/{DEFAULT.guild_id}/mdts", headers=auth_headers()))
    mine = [item for item in listing if item["mdt_id"] == DEFAULT.unlinked_mdt_id]
    assert len(mine) == 1
    assert mine[0]["guild_id"] == DEFAULT.guild_id
    assert mine[0]["owner_discord_id"] == DEFAULT.unlinked_mdt_owner_id
    assert mine[0]["link_request_id"] == created["id"]
    assert parse_ts(mine[0]["linked_at"]) >= parse_ts(decided["created_at"])
    links = client.get("/__mock/state").get_json()["data"]["links"]
    state_links = [link for link in links if link["mdt_id"] == DEFAULT.unlinked_mdt_id]
    assert len(state_links) == 1
    assert state_links[0]["partner"] == DEFAULT.partner_name
    assert state_links[0]["guild_id"] == DEFAULT.guild_id
    assert state_links[0]["link_request_id"] == created["id"]


def test_confirm_twice_answers_already(client: FlaskClient) -> None:
    created = _create(client)
    first = ok_data(_decide(client, created["id"], "confirm"))
    advance_clock(client, 30)
    second = ok_data(_decide(client, created["id"], "confirm"))
    assert second["already"] is True
    assert second["status"] == "approved"
    assert second["decided_at"] == first["decided_at"]
    assert second["id"] == created["id"]
    assert _shifts_status(client, DEFAULT.unlinked_mdt_id, DEFAULT.guild_id) == 200


def test_confirm_already_approved_after_ttl_still_answers_already(client: FlaskClient) -> None:
    created = _create(client)
    ok_data(_decide(client, created["id"], "confirm"))
    advance_clock(client, DEFAULT.link_request_ttl_seconds + 60)
    again = ok_data(_decide(client, created["id"], "confirm"))
    assert again["already"] is True
    assert again["status"] == "approved"
    assert _state_request(client, created["id"])["status"] == "approved"


def test_deny_after_confirm_is_conflict(client: FlaskClient) -> None:
    created = _create(client)
    ok_data(_decide(client, created["id"], "confirm"))
    assert error_of(_decide(client, created["id"], "deny")) == (409, ALREADY_APPROVED)
    assert _state_request(client, created["id"])["status"] == "approved"
    assert _shifts_status(client, DEFAULT.unlinked_mdt_id, DEFAULT.guild_id) == 200


# --------------------------------------------------------------------------------------------
# denyLinkRequest


def test_deny_marks_denied_and_creates_no_link(client: FlaskClient) -> None:
    created = _create(client)
    data = ok_data(_decide(client, created["id"], "deny"))
    assert data["status"] == "denied"
    assert data.get("already") in (None, False)
    decided = parse_ts(data["decided_at"])
    assert parse_ts(created["created_at"]) <= decided < parse_ts(created["expires_at"])
    for field in LINK_REQUEST_FIELDS - {"status", "decided_at"}:
        assert data[field] == created[field], field
    assert _state_request(client, created["id"])["status"] == "denied"
    assert _shifts_status(client, DEFAULT.unlinked_mdt_id, DEFAULT.guild_id) == 403


def test_confirm_after_deny_is_conflict(client: FlaskClient) -> None:
    created = _create(client)
    ok_data(_decide(client, created["id"], "deny"))
    assert error_of(_decide(client, created["id"], "confirm")) == (409, ALREADY_DENIED)
    assert _state_request(client, created["id"])["status"] == "denied"
    assert _shifts_status(client, DEFAULT.unlinked_mdt_id, DEFAULT.guild_id) == 403


def test_deny_twice_answers_already(client: FlaskClient) -> None:
    created = _create(client)
    first = ok_data(_decide(client, created["id"], "deny"))
    advance_clock(client, 30)
    second = ok_data(_decide(client, created["id"], "deny"))
    assert second["already"] is True
    assert second["status"] == "denied"
    assert second["decided_at"] == first["decided_at"]


def test_deny_already_denied_after_ttl_still_answers_already(client: FlaskClient) -> None:
    created = _create(client)
    ok_data(_decide(client, created["id"], "deny"))
    advance_clock(client, DEFAULT.link_request_ttl_seconds + 60)
    again = ok_data(_decide(client, created["id"], "deny"))
    assert again["already"] is True
    assert again["status"] == "denied"


# --------------------------------------------------------------------------------------------
# Expiry


@pytest.mark.parametrize("verb", ["confirm", "deny"])
def test_expired_request_answers_410_and_is_marked_expired(client: FlaskClient, verb: str) -> None:
    created = _create(client)
    advance_clock(client, DEFAULT.link_request_ttl_seconds + 1)
    assert error_of(_decide(client, created["id"], verb)) == (410, EXPIRED)
    stored = _state_request(client, created["id"])
    assert stored["status"] == "expired"
    assert stored["decided_at"] is not None
    parse_ts(stored["decided_at"])
    # Expired is final: both decisions keep answering 410.
    for again in ("confirm", "deny", verb):
        assert error_of(_decide(client, created["id"], again)) == (410, EXPIRED)
    assert _state_request(client, created["id"])["status"] == "expired"
    assert _shifts_status(client, DEFAULT.unlinked_mdt_id, DEFAULT.guild_id) == 403


@pytest.mark.parametrize("verb", ["confirm", "deny"])
def test_expiry_at_exact_boundary(client: FlaskClient, verb: str) -> None:
    created = _create(client)
    # now == expires_at (the clock then keeps running): expires_at <= now means expired.
    _set_now(client, created["expires_at"])
    assert error_of(_decide(client, created["id"], verb)) == (410, EXPIRED)
    assert _state_request(client, created["id"])["status"] == "expired"


@pytest.mark.parametrize("verb", ["confirm", "deny"])
def test_not_expired_just_before_boundary(client: FlaskClient, verb: str) -> None:
    created = _create(client)
    _set_now(client, _ms_before(created["expires_at"], 2000))
    data = ok_data(_decide(client, created["id"], verb))
    assert data["status"] == ("approved" if verb == "confirm" else "denied")


def _ms_before(ts: str, millis: int) -> str:
    moment = parse_ts(ts) - timedelta(milliseconds=millis)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@pytest.mark.parametrize("verb", ["confirm", "deny"])
def test_expiry_boundary_with_a_stopped_clock(verb: str) -> None:
    # create_app's `clock` option (not in the interface doc) with a clock that does not run,
    # so "now == expires_at" is exact: 1 ms before it is still pending, at it is expired.
    client = create_app(clock=Clock(source=lambda: 1_800_000_000.0)).test_client()
    early = _create(client)
    _set_now(client, _ms_before(early["expires_at"], 1))
    assert ok_data(_decide(client, early["id"], verb))["status"] in ("approved", "denied")
    late = _create(client)
    _set_now(client, late["expires_at"])
    assert error_of(_decide(client, late["id"], verb)) == (410, EXPIRED)
    assert _state_request(client, late["id"])["status"] == "expired"


def test_expiry_uses_the_world_ttl() -> None:
    client = create_app(world=_world(60, DEFAULT.unlinked_mdt_owner_id)).test_client()
    first = _create(client)
    advance_clock(client, 61)
    assert error_of(_decide(client, first["id"], "confirm")) == (410, EXPIRED)
    second = _create(client)
    advance_clock(client, 30)
    assert ok_data(_decide(client, second["id"], "confirm"))["status"] == "approved"


# --------------------------------------------------------------------------------------------
# Owner and guild checks


@pytest.mark.parametrize("verb", ["confirm", "deny"])
@pytest.mark.parametrize(
    "actor", [DEFAULT.actor_id, REQUESTER_ID, None], ids=["other", "requester", "none"]
)
def test_only_the_owner_can_decide(client: FlaskClient, verb: str, actor: str | None) -> None:
    created = _create(client)
    assert error_of(_decide(client, created["id"], verb, actor=actor)) == (403, NOT_OWNER)
    assert _state_request(client, created["id"])["status"] == "pending"
    assert _shifts_status(client, DEFAULT.unlinked_mdt_id, DEFAULT.guild_id) == 403


@pytest.mark.parametrize("verb", ["confirm", "deny"])
def test_unknown_request_is_not_found(client: FlaskClient, verb: str) -> None:
    assert error_of(_decide(client, UNKNOWN_ID, verb)) == (404, NOT_FOUND)
    assert error_of(_decide(client, "not-a-uuid", verb)) == (404, NOT_FOUND)


@pytest.mark.parametrize("verb", ["confirm", "deny"])
def test_request_from_another_guild_is_not_found(client: FlaskClient, verb: str) -> None:
    created = _create(client, guild=DEFAULT.guild_id)
    response = _decide(client, created["id"], verb, guild=DEFAULT.other_guild_id)
    assert error_of(response) == (404, NOT_FOUND)
    assert _state_request(client, created["id"])["status"] == "pending"
    # The request is still decidable in its own guild.
    assert ok_data(_decide(client, created["id"], verb, guild=DEFAULT.guild_id))["status"] in (
        "approved",
        "denied",
    )


@pytest.mark.parametrize("verb", ["confirm", "deny"])
def test_not_found_comes_before_owner_check(client: FlaskClient, verb: str) -> None:
    assert error_of(_decide(client, UNKNOWN_ID, verb, actor=None)) == (404, NOT_FOUND)
    assert error_of(_decide(client, UNKNOWN_ID, verb, actor=DEFAULT.actor_id)) == (404, NOT_FOUND)
    created = _create(client)
    response = _decide(
        client, created["id"], verb, guild=DEFAULT.other_guild_id, actor=DEFAULT.actor_id
    )
    assert error_of(response) == (404, NOT_FOUND)


@pytest.mark.parametrize("verb", ["confirm", "deny"])
@pytest.mark.parametrize("decided_by", ["confirm", "deny"])
def test_owner_check_comes_before_state(client: FlaskClient, verb: str, decided_by: str) -> None:
    created = _create(client)
    ok_data(_decide(client, created["id"], decided_by))
    # already / 409 would be the state answer; a non-owner gets 403 first.
    assert error_of(_decide(client, created["id"], verb, actor=DEFAULT.actor_id)) == (
        403,
        NOT_OWNER,
    )
    assert error_of(_decide(client, created["id"], verb, actor=None)) == (403, NOT_OWNER)


@pytest.mark.parametrize("verb", ["confirm", "deny"])
def test_owner_check_comes_before_expiry(client: FlaskClient, verb: str) -> None:
    created = _create(client)
    advance_clock(client, DEFAULT.link_request_ttl_seconds + 1)
    assert error_of(_decide(client, created["id"], verb, actor=DEFAULT.actor_id)) == (
        403,
        NOT_OWNER,
    )
    assert error_of(_decide(client, created["id"], verb)) == (410, EXPIRED)


@pytest.mark.parametrize("verb", ["confirm", "deny"])
def test_decide_unauthorized_first(client: FlaskClient, verb: str) -> None:
    created = _create(client)
    response = client.post(
        f"/link-requests/{created['id']}/{verb}",
        headers=auth_headers(key="wrong-key", actor=DEFAULT.unlinked_mdt_owner_id),
    )
    assert error_of(response) == (401, "Unauthorized")
    response = client.post(
        f"/link-requests/{UNKNOWN_ID}/{verb}",
        headers=auth_headers(guild=None, actor=DEFAULT.unlinked_mdt_owner_id),
    )
    assert error_of(response) == (401, "Unauthorized")
    assert _state_request(client, created["id"])["status"] == "pending"


# --------------------------------------------------------------------------------------------
# /v1


def test_confirm_and_deny_served_under_v1(client: FlaskClient) -> None:
    first = _create(client, prefix="/v1")
    data = ok_data(_decide(client, first["id"], "confirm", prefix="/v1"))
    assert data["status"] == "approved"
    assert ok_data(_decide(client, first["id"], "confirm", prefix="/v1"))["already"] is True
    assert error_of(_decide(client, first["id"], "deny", prefix="/v1")) == (409, ALREADY_APPROVED)
    assert error_of(_decide(client, UNKNOWN_ID, "deny", prefix="/v1")) == (404, NOT_FOUND)
    second = _create(client, prefix="/v1")
    assert ok_data(_decide(client, second["id"], "deny", prefix="/v1"))["status"] == "denied"
    response = _decide(client, second["id"], "confirm", prefix="/v1")
    assert error_of(response) == (409, ALREADY_DENIED)
    third = _create(client)
    assert error_of(_decide(client, third["id"], "confirm", prefix="/v1", actor=None)) == (
        403,
        NOT_OWNER,
    )
    advance_clock(client, DEFAULT.link_request_ttl_seconds + 1)
    assert error_of(_decide(client, third["id"], "confirm", prefix="/v1")) == (410, EXPIRED)
    response = client.get(f"/v1/mdts/{DEFAULT.unlinked_mdt_id}/shifts", headers=auth_headers())
    assert response.status_code == 200
