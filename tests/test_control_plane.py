"""The mock's control plane under /__mock/: reset, state, world, clock and the request journal."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support import (
    DEFAULT,
    ISO_MS_Z,
    auth_headers,
    error_of,
    link,
    mdt_info,
    mock_state,
    ok_data,
    parse_ts,
    world,
    world_mdt,
)

RECORD_KINDS = {"shifts", "calls", "scene_reports", "tickets", "active_units", "events"}
NEW_KEY = "fresh-key"
NEW_PARTNER = "Fresh Partner"
NEW_MDT_ID = "5e0c9a1b-7d2f-4b3a-8c6e-1f2a3b4c5d6e"
NEW_OWNER_ID = "555555555555555555"


def _real_now() -> datetime:
    return datetime.now(timezone.utc)


def _journal(client: FlaskClient) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = ok_data(client.get("/__mock/requests"))
    return data


def _clock(client: FlaskClient, body: Any) -> Any:
    return client.post("/__mock/clock", json=body)


def _new_world() -> dict[str, Any]:
    info = mdt_info("State Patrol", departments=("State Patrol",))
    return world(
        world_mdt(NEW_MDT_ID, NEW_OWNER_ID, info),
        links=[link(NEW_MDT_ID)],
        partner_keys={NEW_KEY: NEW_PARTNER},
        ttl=120,
    )


def _make_changes(client: FlaskClient) -> None:
    """Touch every part of the state: records, events, link requests, links, clock, journal."""
    mdt, headers = f"/mdts/{DEFAULT.mdt_id}", auth_headers()
    ok_data(
        client.post(f"{mdt}/shifts", json={"officer_name": "B. Bubbleton"}, headers=headers), 201
    )
    ok_data(client.put(f"{mdt}/units/active", json={"units": [{"id": "ADAM-12"}]}, headers=headers))
    panic = {"address": "67 Mango Place"}
    ok_data(client.post(f"{mdt}/units/active/ADAM-12/panic", json=panic, headers=headers))
    request = {"mdt_id": DEFAULT.unlinked_mdt_id}
    request_id = ok_data(client.post("/link-requests", json=request, headers=headers), 201)["id"]
    owner = auth_headers(actor=DEFAULT.unlinked_mdt_owner_id)
    ok_data(client.post(f"/link-requests/{request_id}/confirm", headers=owner))
    ok_data(client.post(f"{mdt}/unlink", headers=headers))
    ok_data(_clock(client, {"advance_seconds": 86_400}))


# --------------------------------------------------------------------------------------------
# state


def test_state_of_the_default_world(client: FlaskClient) -> None:
    before = _real_now()
    state = mock_state(client)
    assert set(state) >= {"now", "links", "link_requests", "mdts"}
    now = parse_ts(state["now"])
    assert before - timedelta(seconds=1) <= now <= _real_now() + timedelta(seconds=1)
    assert len(state["links"]) == 1
    link = state["links"][0]
    assert set(link) >= {
        "partner",
        "guild_id",
        "mdt_id",
        "owner_discord_id",
        "link_request_id",
        "linked_at",
    }
    assert link["partner"] == DEFAULT.partner_name
    assert link["guild_id"] == DEFAULT.guild_id
    assert link["mdt_id"] == DEFAULT.mdt_id
    assert link["owner_discord_id"] == DEFAULT.actor_id
    assert ISO_MS_Z.match(link["linked_at"])
    assert state["link_requests"] == []
    assert set(state["mdts"]) == {DEFAULT.mdt_id, DEFAULT.unlinked_mdt_id}
    for mdt_id, records in state["mdts"].items():
        assert set(records) == RECORD_KINDS, mdt_id
        assert all(records[kind] == [] for kind in RECORD_KINDS), mdt_id


def test_state_shows_records_and_events(client: FlaskClient) -> None:
    response = client.post(
        f"/mdts/{DEFAULT.mdt_id}/shifts",
        json={"officer_name": "B. Bubbleton"},
        headers=auth_headers(),
    )
    shift = ok_data(response, 201)
    client.put(
        f"/mdts/{DEFAULT.mdt_id}/units/active",
        json={"units": [{"id": "ADAM-12"}]},
        headers=auth_headers(),
    )
    panic = ok_data(
        client.post(
            f"/mdts/{DEFAULT.mdt_id}/units/active/ADAM-12/panic",
            json={"address": "67 Mango Place"},
            headers=auth_headers(),
        )
    )
    records = mock_state(client)["mdts"][DEFAULT.mdt_id]
    assert records["shifts"] == [shift]
    assert [unit["id"] for unit in records["active_units"]] == ["ADAM-12"]
    assert len(records["events"]) == 1
    event = records["events"][0]
    assert event["type"] == "panic"
    assert event["unit_id"] == "ADAM-12"
    assert event["address"] == "67 Mango Place"
    assert event["ts"] == panic["ts"]
    assert event["actor"] == DEFAULT.actor_id
    assert mock_state(client)["mdts"][DEFAULT.unlinked_mdt_id]["shifts"] == []


def test_state_shows_link_requests(client: FlaskClient) -> None:
    response = client.post(
        "/link-requests", json={"mdt_id": DEFAULT.unlinked_mdt_id}, headers=auth_headers()
    )
    created = ok_data(response, 201)
    assert mock_state(client)["link_requests"] == [created]


# --------------------------------------------------------------------------------------------
# reset


def test_reset_returns_to_the_world(client: FlaskClient) -> None:
    initial = mock_state(client)
    _make_changes(client)
    changed = mock_state(client)
    assert changed["link_requests"] != []
    assert changed["mdts"][DEFAULT.mdt_id]["shifts"] != []
    assert _journal(client) != []

    ok_data(client.post("/__mock/reset"))

    state = mock_state(client)
    assert state["link_requests"] == []
    assert state["mdts"] == initial["mdts"]
    assert [(link["mdt_id"], link["guild_id"]) for link in state["links"]] == [
        (DEFAULT.mdt_id, DEFAULT.guild_id)
    ]
    now = parse_ts(state["now"])
    assert abs(now - _real_now()) < timedelta(seconds=5)
    assert _journal(client) == []
    response = client.get(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers())
    assert ok_data(response) == []
    response = client.get(f"/mdts/{DEFAULT.unlinked_mdt_id}/shifts", headers=auth_headers())
    assert error_of(response) == (403, "MDT not linked to this guild")


def test_reset_keeps_a_replaced_world(client: FlaskClient) -> None:
    ok_data(client.post("/__mock/world", json=_new_world()))
    ok_data(client.post("/__mock/reset"))
    response = client.get(f"/mdts/{NEW_MDT_ID}", headers=auth_headers(key=NEW_KEY))
    assert ok_data(response)["name"] == "State Patrol"
    assert error_of(client.get(f"/mdts/{DEFAULT.mdt_id}", headers=auth_headers())) == (
        401,
        "Unauthorized",
    )


# --------------------------------------------------------------------------------------------
# world


def test_world_replace(client: FlaskClient) -> None:
    _make_changes(client)
    ok_data(client.post("/__mock/world", json=_new_world()))
    state = mock_state(client)
    assert state["link_requests"] == []
    assert set(state["mdts"]) == {NEW_MDT_ID}
    assert [(link["partner"], link["mdt_id"]) for link in state["links"]] == [
        (NEW_PARTNER, NEW_MDT_ID)
    ]
    assert abs(parse_ts(state["now"]) - _real_now()) < timedelta(seconds=5)
    assert _journal(client) == []
    # The old key is gone, the new one works.
    response = client.get(
        f"/guilds/{DEFAULT.guild_id}/mdts", headers=auth_headers(key=DEFAULT.partner_key)
    )
    assert error_of(response) == (401, "Unauthorized")
    response = client.get(f"/guilds/{DEFAULT.guild_id}/mdts", headers=auth_headers(key=NEW_KEY))
    assert [item["mdt_id"] for item in ok_data(response)] == [NEW_MDT_ID]
    # The new world's TTL applies.
    response = client.post(
        "/link-requests", json={"mdt_id": NEW_MDT_ID}, headers=auth_headers(key=NEW_KEY)
    )
    created = ok_data(response, 201)
    assert created["partner"] == NEW_PARTNER
    assert parse_ts(created["expires_at"]) - parse_ts(created["created_at"]) == timedelta(
        seconds=120
    )


@pytest.mark.parametrize(
    ("mutate", "key"),
    [
        (lambda world: world.pop("partner_keys"), "partner_keys"),
        (lambda world: world.update(partner_keys={NEW_KEY: 5}), "partner_keys"),
        (lambda world: world.update(bogus_key=1), "bogus_key"),
        (lambda world: world["links"].append({"mdt_id": "nope", "guild_id": "1"}), "links[1]"),
        (lambda world: world["mdts"].append(dict(world["mdts"][0])), "mdts[1].id"),
    ],
    ids=["missing-partner-keys", "bad-partner-name", "unknown-key", "unknown-mdt", "duplicate"],
)
def test_world_invalid_is_rejected_and_keeps_the_old_world(
    client: FlaskClient, mutate: Any, key: str
) -> None:
    world = _new_world()
    mutate(world)
    response = client.post("/__mock/world", json=world)
    status, error = error_of(response)
    assert status == 400
    assert key in error
    assert response.mimetype == "application/json"
    # The old world is still served.
    response = client.get(f"/guilds/{DEFAULT.guild_id}/mdts", headers=auth_headers())
    assert [item["mdt_id"] for item in ok_data(response)] == [DEFAULT.mdt_id]


def test_world_not_json_is_rejected(client: FlaskClient) -> None:
    response = client.post("/__mock/world", data="{not json", content_type="application/json")
    assert error_of(response)[0] == 400
    response = client.post("/__mock/world", json=[1, 2])
    assert error_of(response)[0] == 400
    listing = ok_data(client.get(f"/guilds/{DEFAULT.guild_id}/mdts", headers=auth_headers()))
    assert [item["mdt_id"] for item in listing] == [DEFAULT.mdt_id]


# --------------------------------------------------------------------------------------------
# clock


def test_clock_advance(client: FlaskClient) -> None:
    before = parse_ts(mock_state(client)["now"])
    now = parse_ts(ok_data(_clock(client, {"advance_seconds": 3600}))["now"])
    assert before + timedelta(seconds=3600) <= now < before + timedelta(seconds=3605)
    again = parse_ts(ok_data(_clock(client, {"advance_seconds": 0.5}))["now"])
    assert now + timedelta(milliseconds=500) <= again < now + timedelta(seconds=5)
    assert parse_ts(mock_state(client)["now"]) >= again


def test_clock_set_now_keeps_running(client: FlaskClient) -> None:
    data = ok_data(_clock(client, {"now": "2030-01-02T03:04:05.678Z"}))
    target = datetime(2030, 1, 2, 3, 4, 5, 678_000, tzinfo=timezone.utc)
    now = parse_ts(data["now"])
    assert target <= now < target + timedelta(seconds=5)
    later = parse_ts(mock_state(client)["now"])
    assert now <= later < target + timedelta(seconds=5)
    # Records take the mock clock's time.
    response = client.post(
        f"/mdts/{DEFAULT.mdt_id}/shifts",
        json={"officer_name": "B. Bubbleton"},
        headers=auth_headers(),
    )
    created = parse_ts(ok_data(response, 201)["created_at"])
    assert target <= created < target + timedelta(seconds=5)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2030-01-02T03:04:05Z", datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
        ("2030-01-02T04:04:05+01:00", datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)),
    ],
    ids=["no-millis", "offset"],
)
def test_clock_set_now_accepts_iso_8601(client: FlaskClient, text: str, expected: datetime) -> None:
    now = parse_ts(ok_data(_clock(client, {"now": text}))["now"])
    assert expected <= now < expected + timedelta(seconds=5)


def test_clock_can_go_back_to_the_past(client: FlaskClient) -> None:
    now = parse_ts(ok_data(_clock(client, {"now": "2001-02-03T04:05:06.000Z"}))["now"])
    assert now < datetime(2001, 2, 3, 4, 5, 11, tzinfo=timezone.utc)


def test_reset_returns_clock_to_real_time(client: FlaskClient) -> None:
    ok_data(_clock(client, {"now": "2030-01-02T03:04:05.678Z"}))
    ok_data(client.post("/__mock/reset"))
    assert abs(parse_ts(mock_state(client)["now"]) - _real_now()) < timedelta(seconds=5)


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"advance_seconds": "ten"},
        {"advance_seconds": None},
        {"advance_seconds": [1]},
        {"now": "not a date"},
        {"now": 12345},
        {"now": ""},
        {"bogus": 1},
        [1],
    ],
    ids=[
        "empty",
        "advance-string",
        "advance-null",
        "advance-list",
        "now-garbage",
        "now-number",
        "now-empty",
        "unknown-key",
        "array",
    ],
)
def test_clock_bad_input(client: FlaskClient, body: Any) -> None:
    before = parse_ts(mock_state(client)["now"])
    response = _clock(client, body)
    status, error = error_of(response)
    assert status == 400
    assert error
    assert response.mimetype == "application/json"
    # The clock did not move.
    assert abs(parse_ts(mock_state(client)["now"]) - before) < timedelta(seconds=5)


def test_clock_body_not_json(client: FlaskClient) -> None:
    response = client.post("/__mock/clock", data="{", content_type="application/json")
    assert error_of(response)[0] == 400
    response = client.post("/__mock/clock", data="advance_seconds=5", content_type="text/plain")
    assert error_of(response)[0] == 415  # control-plane writes are JSON only


# --------------------------------------------------------------------------------------------
# requests journal


def test_journal_records_partner_requests_in_order(client: FlaskClient) -> None:
    assert _journal(client) == []
    client.get(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers())
    client.get("/__mock/state")
    client.post("/link-requests", json={}, headers=auth_headers())
    _clock(client, {"advance_seconds": 1})
    client.get("/no/such/route", headers=auth_headers())
    client.get(f"/v1/mdts/{DEFAULT.mdt_id}", headers=auth_headers())
    client.delete(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers())
    client.get(f"/mdts/{DEFAULT.unlinked_mdt_id}/calls", headers=auth_headers())
    journal = _journal(client)
    assert [
        (entry["method"], entry["path"], entry["status"], entry["operation_id"])
        for entry in journal
    ] == [
        ("GET", f"/mdts/{DEFAULT.mdt_id}/shifts", 200, "listShifts"),
        ("POST", "/link-requests", 400, "createLinkRequest"),
        ("GET", "/no/such/route", 404, None),
        ("GET", f"/v1/mdts/{DEFAULT.mdt_id}", 200, "getMdtInfo"),
        ("DELETE", f"/mdts/{DEFAULT.mdt_id}/shifts", 405, None),
        ("GET", f"/mdts/{DEFAULT.unlinked_mdt_id}/calls", 403, "listCalls"),
    ]
    for entry in journal:
        assert set(entry) >= {"method", "path", "status", "operation_id", "timestamp", "body"}
        assert ISO_MS_Z.match(entry["timestamp"]), entry
    stamps = [entry["timestamp"] for entry in journal]
    assert stamps == sorted(stamps)


def test_journal_has_unauthorized_requests(client: FlaskClient) -> None:
    client.get(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers(key=None))
    journal = _journal(client)
    assert [(entry["method"], entry["path"], entry["status"]) for entry in journal] == [
        ("GET", f"/mdts/{DEFAULT.mdt_id}/shifts", 401)
    ]


def test_journal_skips_control_plane(client: FlaskClient) -> None:
    mock_state(client)
    _clock(client, {"advance_seconds": 1})
    _clock(client, {"bogus": 1})
    client.post("/__mock/world", json={"bogus": 1})
    client.post("/__mock/reset")
    _journal(client)
    assert _journal(client) == []


def test_journal_timestamps_follow_the_mock_clock(client: FlaskClient) -> None:
    ok_data(_clock(client, {"now": "2030-01-02T03:04:05.000Z"}))
    client.get(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers())
    (entry,) = _journal(client)
    stamp = parse_ts(entry["timestamp"])
    target = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)
    assert target <= stamp < target + timedelta(seconds=5)


# --------------------------------------------------------------------------------------------
# no partner key needed


@pytest.mark.parametrize(
    "header_args",
    [{"key": None, "guild": None, "actor": None}, {"key": "wrong", "guild": None}],
    ids=["no-headers", "wrong-key"],
)
def test_control_plane_needs_no_partner_key(client: FlaskClient, header_args: Any) -> None:
    headers = auth_headers(**header_args)
    ok_data(client.get("/__mock/state", headers=headers))
    ok_data(client.get("/__mock/requests", headers=headers))
    ok_data(client.post("/__mock/clock", json={"advance_seconds": 5}, headers=headers))
    ok_data(client.post("/__mock/reset", headers=headers))
    ok_data(client.post("/__mock/world", json=_new_world(), headers=headers))
