"""The test handle (``NorthcaMock``) beyond the basics: the journal's query, headers and response,
``calls`` filters, ``prefer``, fault plans, the world as a mapping, the second MDT and
namespaces. In-process, through ``mockserver.testing.prepare`` as the plugin uses it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from mockserver.faults import FaultPlanError
from mockserver.journal import REDACTED, request_headers
from mockserver.tally import Tally
from mockserver.testing import NorthcaMock, build_app, default_world, prepare
from tests.support import DEFAULT

SHIFT = {"officer_name": "B. Bubbleton", "department": "Patrol"}


@pytest.fixture(scope="module")
def base_app() -> Flask:
    return build_app(None, None)


@pytest.fixture
def mock(base_app: Flask) -> NorthcaMock:
    return prepare(base_app, None)


def get(mock: NorthcaMock, path: str, **kwargs: Any) -> Any:
    kwargs.setdefault("headers", mock.headers)
    return mock.session.get(mock.v1_url + path.format(mdt=mock.mdt_id), **kwargs)


def post(mock: NorthcaMock, path: str, **kwargs: Any) -> Any:
    kwargs.setdefault("headers", mock.headers)
    return mock.session.post(mock.v1_url + path.format(mdt=mock.mdt_id), **kwargs)


# -- the journal -----------------------------------------------------------------------------------
def test_journal_entry_has_query_redacted_headers_and_response(mock: NorthcaMock) -> None:
    assert get(mock, "/mdts/{mdt}/shifts?department=Patrol&limit=5").status_code == 200
    (entry,) = mock.requests.entries()
    assert entry["query"] == "department=Patrol&limit=5"
    assert json.loads(entry["response"]["body"]) == {"ok": True, "data": []}
    assert entry["response"]["status"] == 200
    headers = entry["headers"]
    assert headers["x-partner-key"] == REDACTED == "[redacted]"
    assert (headers["x-discord-guild"], headers["x-discord-actor"]) == (
        DEFAULT.guild_id,
        DEFAULT.actor_id,
    )
    assert DEFAULT.partner_key not in repr(mock.requests.entries())


def test_journal_keeps_the_error_answered(mock: NorthcaMock) -> None:
    r = post(
        mock,
        "/mdts/{mdt}/shifts",
        data="{",
        headers={**mock.headers, "content-type": "application/json"},
    )
    assert r.status_code == 400
    (entry,) = mock.requests.entries()
    assert entry["query"] == ""
    assert json.loads(entry["response"]["body"]) == r.json()
    assert r.json() == {"ok": False, "error": "Invalid JSON"}
    assert entry["detail"] == r.headers["x-northca-mock-detail"]
    assert entry["headers"]["content-type"] == "application/json"


def test_the_control_plane_journal_shows_the_same_fields(mock: NorthcaMock) -> None:
    get(mock, "/mdts/{mdt}/shifts?department=Traffic")
    (entry,) = mock.client.get("/__mock/requests").get_json()["data"]
    assert entry == mock.requests.entries()[0]
    assert entry["headers"]["x-partner-key"] == REDACTED


def test_calls_filter_on_query_headers_and_error(mock: NorthcaMock) -> None:
    get(mock, "/mdts/{mdt}/shifts?department=Patrol")
    get(mock, "/mdts/{mdt}/shifts?department=Traffic&department=Patrol")
    get(mock, "/mdts/{mdt}/shifts?limit=0")
    get(mock, "/mdts/{mdt}/shifts", headers=mock.headers_for(actor=DEFAULT.unlinked_mdt_owner_id))
    calls = mock.requests.calls
    assert len(calls("listShifts")) == 4
    assert [e["query"] for e in calls(query="department=Patrol")] == [
        "department=Patrol",
        "department=Traffic&department=Patrol",
    ]
    assert [e["query"] for e in calls(query={"department": "Patrol"})] == [
        "department=Patrol",
        "department=Traffic&department=Patrol",
    ]
    assert [e["query"] for e in calls(query={"department": ["Traffic", "Patrol"]})] == [
        "department=Traffic&department=Patrol"
    ]
    assert [e["query"] for e in calls(error="Invalid limit")] == ["limit=0"]
    (other,) = calls(headers={"X-Discord-Actor": DEFAULT.unlinked_mdt_owner_id})
    assert other["query"] == ""
    assert len(calls(headers={"x-partner-key": REDACTED})) == 4
    assert calls(headers={"x-partner-key": DEFAULT.partner_key}) == []


# -- prefer ----------------------------------------------------------------------------------------
def test_prefer_returns_the_headers_that_force_a_documented_answer(mock: NorthcaMock) -> None:
    headers = mock.prefer(example="idExists")
    assert headers == {**mock.headers, "Prefer": "example=idExists"}
    r = post(mock, "/mdts/{mdt}/shifts", json=SHIFT, headers=headers)
    assert (r.status_code, r.json()) == (409, {"ok": False, "error": "ID already exists"})
    assert mock.prefer(code=500)["Prefer"] == "code=500"
    both = mock.prefer(code=400, example="invalidJson", operation="createShift")
    assert both["Prefer"] == "code=400, example=invalidJson"
    r = post(mock, "/mdts/{mdt}/shifts", json=SHIFT, headers=both)
    assert (r.status_code, r.json()["error"]) == (400, "Invalid JSON")
    assert r.headers["Preference-Applied"] == "code=400, example=invalidJson"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"example": "nope"},
            "prefer(example='nope'): not an example of any operation; documented: acknowledged,",
        ),
        (
            {"code": 418},
            "prefer(code=418): no documented example of any operation; documented: 200, 201, 400,",
        ),
        (
            {"example": "idExists", "operation": "listShifts"},
            "prefer(example='idExists'): not an example of operation listShifts; documented:"
            " internalError, invalidLimit, mdtNotLinked, unauthorized",
        ),
        (
            {"code": 404, "example": "idExists"},
            "prefer(code=404, example='idExists'): idExists is documented under 409",
        ),
        ({"example": "idExists", "operation": "nope"}, "prefer(operation='nope'): not an"),
        ({}, "prefer(): give code=, example= or both"),
    ],
)
def test_prefer_rejects_what_the_spec_does_not_document(
    mock: NorthcaMock, kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError) as raised:
        mock.prefer(**kwargs)
    assert str(raised.value).startswith(message)


# -- fault plans -----------------------------------------------------------------------------------
def test_set_faults_applies_until_cleared_or_reset(mock: NorthcaMock) -> None:
    plan = {"seed": 1, "operations": {"listShifts": {"error_rate": 1, "error": "mdtNotLinked"}}}
    described = mock.set_faults(plan)
    assert described == mock.client.get("/__mock/faults").get_json()["data"]
    assert described["operations"]["listShifts"]["error"] == "mdtNotLinked"
    r = get(mock, "/mdts/{mdt}/shifts")
    assert (r.status_code, r.json()["error"]) == (403, "MDT not linked to this guild")
    mock.clear_faults()
    assert get(mock, "/mdts/{mdt}/shifts").status_code == 200
    mock.set_faults(plan)
    mock.reset()
    assert get(mock, "/mdts/{mdt}/shifts").status_code == 200


@pytest.mark.parametrize(
    "plan",
    [
        {"operations": {"nope": {}}},
        {"operations": {"listShifts": {"error": "idExists", "error_rate": 1}}},
        {"seed": "x"},
        {"operations": {"listShifts": {"connection": "reset"}}},
    ],
)
def test_set_faults_checks_as_the_control_plane_does(mock: NorthcaMock, plan: Any) -> None:
    answer = mock.client.post("/__mock/faults", json=plan)
    assert answer.status_code == 400
    with pytest.raises(FaultPlanError) as raised:
        mock.set_faults(plan)
    assert str(raised.value) == answer.get_json()["error"]
    assert mock.client.get("/__mock/faults").get_json()["data"]["operations"] == {}


# -- the world -------------------------------------------------------------------------------------
def test_world_is_a_typed_mapping_of_the_world_file(mock: NorthcaMock) -> None:
    world = mock.world
    assert world["links"] == [
        {"mdt_id": DEFAULT.mdt_id, "guild_id": DEFAULT.guild_id, "partner": None}
    ]
    assert world["partner_keys"] == {DEFAULT.partner_key: "Test Partner"}
    assert [mdt["id"] for mdt in world["mdts"]] == [DEFAULT.mdt_id, DEFAULT.unlinked_mdt_id]
    assert world["mdts"][1]["owner_discord_id"] == DEFAULT.unlinked_mdt_owner_id
    assert (world["records"], world["faults"], world["link_request_ttl_seconds"]) == ({}, {}, 900)
    assert (mock.second_mdt_id, mock.second_owner_id) == (
        DEFAULT.unlinked_mdt_id,
        DEFAULT.unlinked_mdt_owner_id,
    )


def test_world_round_trips_through_set_world(mock: NorthcaMock) -> None:
    seeded = default_world(
        records={DEFAULT.mdt_id: {"shifts": [{"id": "s-1", **SHIFT}]}},
        faults={"seed": 3, "operations": {"getMdtInfo": {"latency_ms": 1}}},
    )
    first = mock.set_world(seeded)
    assert first["records"][DEFAULT.mdt_id]["shifts"][0]["id"] == "s-1"
    again = mock.set_world(mock.world)
    assert again == first
    assert [s["id"] for s in get(mock, "/mdts/{mdt}/shifts").json()["data"]] == ["s-1"]


def test_second_mdt_is_empty_in_a_one_mdt_world(mock: NorthcaMock) -> None:
    one = default_world()
    one["mdts"] = one["mdts"][:1]
    mock.set_world(one)
    assert (mock.second_mdt_id, mock.second_owner_id) == ("", "")


# -- namespaces ------------------------------------------------------------------------------------
def test_a_namespace_handle_has_its_own_journal_state_clock_and_faults(mock: NorthcaMock) -> None:
    team = mock.namespace("team-a")
    assert team.namespace_name == "team-a" and mock.namespace_name is None
    assert team.headers == {**mock.headers, "x-mock-namespace": "team-a"}
    assert post(team, "/mdts/{mdt}/shifts", json=SHIFT).status_code == 201
    team.set_faults({"operations": {"getMdtInfo": {"error_rate": 1}}})
    team.set_clock("2030-01-01T00:00:00Z")
    assert team.requests.operation_ids == ["createShift"]
    assert mock.requests.operation_ids == []
    assert len(team.state()["mdts"][DEFAULT.mdt_id]["shifts"]) == 1
    assert mock.state()["mdts"][DEFAULT.mdt_id]["shifts"] == []
    assert team.now().startswith("2030-01-01") and not mock.now().startswith("2030")
    assert get(team, "/mdts/{mdt}").status_code == 500
    assert get(mock, "/mdts/{mdt}").status_code == 200
    assert team.session.headers["x-mock-namespace"] == "team-a"  # the session is bound too
    assert (
        team.session.get(f"{team.url}/mdts/{DEFAULT.mdt_id}", headers=mock.headers).status_code
        == 500
    )
    team.reset()
    assert team.state()["mdts"][DEFAULT.mdt_id]["shifts"] == [] and len(team.requests) == 0


def test_a_namespace_starts_from_the_tests_world_and_ends_with_the_test(base_app: Flask) -> None:
    other = default_world(partner_keys={"other-key": "Other Partner"})
    mock = prepare(base_app, other)
    team = mock.namespace("team-b")
    assert team.partner_key == "other-key"
    assert post(team, "/mdts/{mdt}/shifts", json=SHIFT).status_code == 201
    following = prepare(base_app, None).namespace("team-b")
    assert following.partner_key == DEFAULT.partner_key
    assert (
        following.state()["mdts"][DEFAULT.mdt_id]["shifts"] == [] and len(following.requests) == 0
    )
    with pytest.raises(ValueError, match="non-empty string"):
        mock.namespace("")


# -- what the handle forgets goes to the sink (the coverage tally) ---------------------------------
def test_reset_set_world_and_clear_hand_the_journal_to_the_sink(base_app: Flask) -> None:
    seen: list[str] = []

    def sink(tally: Tally) -> None:
        seen.extend(str(op) for (op, _, _), n in tally.counts.items() for _ in range(n))

    mock = prepare(base_app, None, sink)
    get(mock, "/mdts/{mdt}")
    mock.reset()
    get(mock, "/mdts/{mdt}/shifts")
    mock.set_world(None)
    post(mock, "/mdts/{mdt}/shifts", json=SHIFT)
    mock.requests.clear()
    team = mock.namespace("t")
    get(team, "/mdts/{mdt}/units/active")
    get(mock, "/mdts/{mdt}/calls")
    assert seen == ["getMdtInfo", "listShifts", "createShift"]
    mock.drain_journals()
    assert sorted(seen[3:]) == ["listActiveUnits", "listCalls"]
    mock.drain_journals()
    assert len(seen) == 5


def test_journal_headers_redact_every_secret_and_keep_empty_values() -> None:
    environ = {
        "HTTP_X_PARTNER_KEY": "k",
        "HTTP_X_MOCK_ADMIN_TOKEN": "t",
        "HTTP_AUTHORIZATION": "Bearer b",
        "HTTP_X_DISCORD_GUILD": "",
        "CONTENT_TYPE": "application/json",
        "CONTENT_LENGTH": "",
        "PATH_INFO": "/v1/mdts",
        "wsgi.input": object(),
    }
    assert request_headers(environ) == {
        "x-partner-key": REDACTED,
        "x-mock-admin-token": REDACTED,
        "authorization": REDACTED,
        "x-discord-guild": "",
        "content-type": "application/json",
    }
