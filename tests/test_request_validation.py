"""Request checks shared by every operation: auth, routing, guild link, body, limit, isolation.

Check order (interface, northca-api.md §5.4): 401, then 404/405, then 403 (MDT link), then body
400s, then the `limit` 400, then business rules.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support import DEFAULT, auth_headers, error_of, link_both_default_mdts, ok_data

UNKNOWN_MDT_ID = "5f0c2a9e-7b1d-4e3a-8c6f-1a2b3c4d5e6f"
LIST_PATHS = ("calls", "scene-reports", "shifts", "tickets", "units/active")


def _send(
    client: FlaskClient,
    method: str,
    path: str,
    headers: dict[str, str],
    body: Any = None,
    **kwargs: Any,
) -> Any:
    if body is not None:
        kwargs["json"] = body
    return client.open(path, method=method, headers=headers, **kwargs)


EMPTY_RECORDS: dict[str, list[object]] = {
    "shifts": [],
    "calls": [],
    "scene_reports": [],
    "tickets": [],
    "active_units": [],
    "events": [],
}


def _records_of(client: FlaskClient, mdt_id: str) -> dict[str, Any]:
    records = ok_data(client.get("/__mock/state"))["mdts"][mdt_id]
    return {name: records[name] for name in EMPTY_RECORDS}


# Every MDT-scoped operation, with a body that would be valid.
MDT_OPERATIONS = [
    pytest.param("GET", "/mdts/{m}", None, id="getMdtInfo"),
    pytest.param("GET", "/mdts/{m}/calls", None, id="listCalls"),
    pytest.param("POST", "/mdts/{m}/calls", {"priority": "low"}, id="createCall"),
    pytest.param("PATCH", "/mdts/{m}/calls/c-1", {"status": "closed"}, id="updateCall"),
    pytest.param("GET", "/mdts/{m}/scene-reports", None, id="listSceneReports"),
    pytest.param("POST", "/mdts/{m}/scene-reports", {"title": "x"}, id="createSceneReport"),
    pytest.param("GET", "/mdts/{m}/shifts", None, id="listShifts"),
    pytest.param("POST", "/mdts/{m}/shifts", {"department": "Patrol"}, id="createShift"),
    pytest.param("GET", "/mdts/{m}/tickets", None, id="listTickets"),
    pytest.param("POST", "/mdts/{m}/tickets", {"title": "x"}, id="createTicket"),
    pytest.param("GET", "/mdts/{m}/units/active", None, id="listActiveUnits"),
    pytest.param("PUT", "/mdts/{m}/units/active", {"units": [{"id": "A-1"}]}, id="upsertUnits"),
    pytest.param("DELETE", "/mdts/{m}/units/active/A-1", None, id="deleteActiveUnit"),
    pytest.param("POST", "/mdts/{m}/units/active/A-1/panic", {}, id="triggerUnitPanic"),
    pytest.param("POST", "/mdts/{m}/unlink", None, id="unlinkMdt"),
]

UNAUTHORIZED_HEADERS = [
    pytest.param(auth_headers(key=None), id="missing-key"),
    pytest.param(auth_headers(key="not-a-key"), id="unknown-key"),
    pytest.param(auth_headers(key=""), id="empty-key"),
    pytest.param(auth_headers(guild=None), id="missing-guild"),
    pytest.param(auth_headers(guild=""), id="empty-guild"),
    pytest.param(auth_headers(key=None, guild=None, actor=None), id="no-headers"),
]


# --------------------------------------------------------------------------------------------
# 401


@pytest.mark.parametrize("bad_headers", UNAUTHORIZED_HEADERS)
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", f"/mdts/{DEFAULT.mdt_id}/shifts"),
        ("POST", f"/mdts/{DEFAULT.mdt_id}/calls"),
        ("GET", f"/v1/mdts/{DEFAULT.mdt_id}/units/active"),
        ("POST", "/link-requests"),
        ("GET", "/no-such-path"),
        ("GET", "/"),
        ("GET", f"/v1/mdts/{DEFAULT.mdt_id}/nothing-here"),
    ],
)
def test_401_for_missing_or_bad_key_or_guild(client, bad_headers, method, path):
    response = _send(client, method, path, bad_headers, {"priority": "low"})
    assert error_of(response) == (401, "Unauthorized")


def test_actor_header_is_optional(client):
    assert (
        ok_data(client.get(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers(actor=None)))
        == []
    )


def test_control_plane_needs_no_partner_key(client):
    state = ok_data(client.get("/__mock/state"))
    assert state["mdts"][DEFAULT.mdt_id] == EMPTY_RECORDS


# --------------------------------------------------------------------------------------------
# 403


@pytest.mark.parametrize(
    ("mdt_id", "guild"),
    [
        (UNKNOWN_MDT_ID, DEFAULT.guild_id),
        ("not-a-uuid", DEFAULT.guild_id),
        (DEFAULT.unlinked_mdt_id, DEFAULT.guild_id),
        (DEFAULT.mdt_id, DEFAULT.other_guild_id),
    ],
    ids=["unknown-mdt", "unknown-non-uuid", "unlinked-mdt", "linked-in-other-guild"],
)
@pytest.mark.parametrize(("method", "template", "body"), MDT_OPERATIONS)
def test_403_when_mdt_is_not_linked_to_the_guild(client, mdt_id, guild, method, template, body):
    path = template.format(m=mdt_id)
    response = _send(client, method, path, auth_headers(guild=guild), body)
    assert error_of(response) == (403, "MDT not linked to this guild")
    state = ok_data(client.get("/__mock/state"))
    for records in state["mdts"].values():
        assert records == EMPTY_RECORDS
    assert len(state["links"]) == 1


def test_403_after_linked_mdt_in_other_guild_keeps_default_guild_working(client, headers):
    response = client.get(
        f"/mdts/{DEFAULT.mdt_id}/calls", headers=auth_headers(guild=DEFAULT.other_guild_id)
    )
    assert error_of(response) == (403, "MDT not linked to this guild")
    assert ok_data(client.get(f"/mdts/{DEFAULT.mdt_id}/calls", headers=headers)) == []


# --------------------------------------------------------------------------------------------
# 404 / 405


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/no-such-path"),
        ("GET", "/mdts"),
        ("POST", "/mdts"),
        ("GET", f"/mdts/{DEFAULT.mdt_id}/nothing-here"),
        ("GET", f"/mdts/{DEFAULT.mdt_id}/shifts/extra"),
        ("GET", f"/mdts/{DEFAULT.mdt_id}/shifts/"),
        ("GET", f"/mdts/{DEFAULT.mdt_id}/units"),
        ("GET", f"/mdts/{DEFAULT.mdt_id}/units/active/A-1/panic/now"),
        ("DELETE", f"/mdts/{DEFAULT.mdt_id}/units/active/A-1/extra"),
        ("GET", f"/v2/mdts/{DEFAULT.mdt_id}/shifts"),
        ("GET", f"/v1/v1/mdts/{DEFAULT.mdt_id}/shifts"),
        ("GET", "/v1"),
        ("GET", "/v1/no-such-path"),
        ("GET", "/guilds"),
        ("POST", "/link-requests/abc"),
    ],
)
def test_unknown_path_is_404_not_found(client, headers, method, path):
    response = _send(client, method, path, headers)
    assert error_of(response) == (404, "Not found")
    assert response.mimetype == "application/json"


METHOD_NOT_ALLOWED = [
    ("DELETE", f"/mdts/{DEFAULT.mdt_id}/shifts", {"GET", "POST"}),
    ("PUT", f"/mdts/{DEFAULT.mdt_id}/shifts", {"GET", "POST"}),
    ("GET", "/link-requests", {"POST"}),
    ("DELETE", "/link-requests", {"POST"}),
    ("GET", "/link-requests/abc/confirm", {"POST"}),
    ("GET", "/link-requests/abc/deny", {"POST"}),
    ("POST", f"/guilds/{DEFAULT.guild_id}/mdts", {"GET"}),
    ("GET", f"/mdts/{DEFAULT.mdt_id}/unlink", {"POST"}),
    ("DELETE", f"/mdts/{DEFAULT.mdt_id}", {"GET"}),
    ("PUT", f"/mdts/{DEFAULT.mdt_id}/calls", {"GET", "POST"}),
    ("GET", f"/mdts/{DEFAULT.mdt_id}/calls/c-1", {"PATCH"}),
    ("PUT", f"/mdts/{DEFAULT.mdt_id}/calls/c-1", {"PATCH"}),
    ("DELETE", f"/mdts/{DEFAULT.mdt_id}/scene-reports", {"GET", "POST"}),
    ("PATCH", f"/mdts/{DEFAULT.mdt_id}/tickets", {"GET", "POST"}),
    ("POST", f"/mdts/{DEFAULT.mdt_id}/units/active", {"GET", "PUT"}),
    ("DELETE", f"/mdts/{DEFAULT.mdt_id}/units/active", {"GET", "PUT"}),
    ("GET", f"/mdts/{DEFAULT.mdt_id}/units/active/A-1", {"DELETE"}),
    ("PUT", f"/mdts/{DEFAULT.mdt_id}/units/active/A-1", {"DELETE"}),
    ("GET", f"/mdts/{DEFAULT.mdt_id}/units/active/A-1/panic", {"POST"}),
    ("DELETE", f"/v1/mdts/{DEFAULT.mdt_id}/shifts", {"GET", "POST"}),
    ("GET", "/v1/link-requests", {"POST"}),
]


@pytest.mark.parametrize(("method", "path", "allowed"), METHOD_NOT_ALLOWED)
def test_undeclared_method_is_405_with_allow_header(client, headers, method, path, allowed):
    response = _send(client, method, path, headers)
    assert error_of(response) == (405, "Method not allowed")
    assert response.mimetype == "application/json"
    listed = [item.strip() for item in response.headers["Allow"].split(",")]
    assert sorted(listed) == sorted(allowed), response.headers["Allow"]


# --------------------------------------------------------------------------------------------
# Check order: one request breaking two adjacent rules at a time.


def test_order_401_before_404(client):
    response = client.get("/no-such-path", headers=auth_headers(guild=None))
    assert error_of(response) == (401, "Unauthorized")


def test_order_401_before_405(client):
    response = client.delete(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers(key="nope"))
    assert error_of(response) == (401, "Unauthorized")
    response = client.get("/link-requests", headers=auth_headers(key=None))
    assert error_of(response) == (401, "Unauthorized")


def test_order_401_before_403(client):
    response = client.get(f"/mdts/{DEFAULT.unlinked_mdt_id}/shifts", headers=auth_headers(guild=""))
    assert error_of(response) == (401, "Unauthorized")


def test_order_404_before_403(client, headers):
    response = client.get(f"/mdts/{DEFAULT.unlinked_mdt_id}/nothing-here", headers=headers)
    assert error_of(response) == (404, "Not found")


def test_order_405_before_403(client, headers):
    response = client.delete(f"/mdts/{DEFAULT.unlinked_mdt_id}/shifts", headers=headers)
    assert error_of(response) == (405, "Method not allowed")
    assert sorted(i.strip() for i in response.headers["Allow"].split(",")) == ["GET", "POST"]
    response = client.get(
        f"/mdts/{DEFAULT.mdt_id}/units/active/A-1",
        headers=auth_headers(guild=DEFAULT.other_guild_id),
    )
    assert error_of(response) == (405, "Method not allowed")


def test_order_405_before_body(client, headers):
    response = client.put(
        f"/mdts/{DEFAULT.mdt_id}/shifts", data="{", content_type="application/json", headers=headers
    )
    assert error_of(response) == (405, "Method not allowed")


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("POST", "calls", {"data": "{", "content_type": "application/json"}),
        ("POST", "shifts", {"json": {"foo": 1}}),
        ("POST", "tickets", {"data": "x", "content_type": "text/plain"}),
        ("POST", "scene-reports", {}),
        ("PATCH", "calls/c-1", {"json": []}),
        ("PUT", "units/active", {"json": {"units": "x"}}),
        ("PUT", "units/active", {"json": {"units": [{"id": "A"}, {"id": "A"}]}}),
        ("POST", "units/active/A-1/panic", {"json": {"foo": 1}}),
    ],
)
@pytest.mark.parametrize("mdt_id", [DEFAULT.unlinked_mdt_id, UNKNOWN_MDT_ID])
def test_order_403_before_body(client, headers, method, path, kwargs, mdt_id):
    response = client.open(f"/mdts/{mdt_id}/{path}", method=method, headers=headers, **kwargs)
    assert error_of(response) == (403, "MDT not linked to this guild")


@pytest.mark.parametrize("path", LIST_PATHS)
def test_order_403_before_limit(client, headers, path):
    response = client.get(f"/mdts/{DEFAULT.unlinked_mdt_id}/{path}?limit=0", headers=headers)
    assert error_of(response) == (403, "MDT not linked to this guild")
    response = client.get(
        f"/mdts/{DEFAULT.mdt_id}/{path}?limit=abc",
        headers=auth_headers(guild=DEFAULT.other_guild_id),
    )
    assert error_of(response) == (403, "MDT not linked to this guild")


def test_order_body_before_limit(client, headers):
    """No operation declares both a body and `limit`; a stray `limit` must not win over the body."""
    response = client.post(
        f"/mdts/{DEFAULT.mdt_id}/shifts?limit=0",
        data="{",
        content_type="application/json",
        headers=headers,
    )
    assert error_of(response) == (400, "Invalid JSON")
    response = client.put(
        f"/mdts/{DEFAULT.mdt_id}/units/active?limit=abc", json={}, headers=headers
    )
    assert error_of(response) == (400, "Expected { units: [...] }")


def test_order_body_before_business_rules(client, headers):
    calls = f"/mdts/{DEFAULT.mdt_id}/calls"
    ok_data(client.post(calls, json={"id": "c-1"}, headers=headers), 201)
    # duplicate id (409) and unknown key (400)
    response = client.post(calls, json={"id": "c-1", "foo": 1}, headers=headers)
    assert error_of(response) == (400, "Invalid request body")
    # unknown call (404) and wrong type (400)
    response = client.patch(f"{calls}/nope", json={"priority": 5}, headers=headers)
    assert error_of(response) == (400, "Invalid request body")
    # unknown call (404) and bad JSON (400)
    response = client.patch(
        f"{calls}/nope", data="{", content_type="application/json", headers=headers
    )
    assert error_of(response) == (400, "Invalid JSON")
    # unknown unit (404) and unknown key (400)
    response = client.post(
        f"/mdts/{DEFAULT.mdt_id}/units/active/NOPE/panic", json={"foo": 1}, headers=headers
    )
    assert error_of(response) == (400, "Invalid request body")


@pytest.mark.parametrize("path", LIST_PATHS)
def test_limit_is_checked_on_every_list(client, headers, path):
    response = client.get(f"/mdts/{DEFAULT.mdt_id}/{path}?limit=101", headers=headers)
    assert error_of(response) == (400, "Invalid limit")


# --------------------------------------------------------------------------------------------
# Every answer is JSON


@pytest.mark.parametrize(
    ("method", "path", "headers_", "kwargs", "status"),
    [
        ("GET", f"/mdts/{DEFAULT.mdt_id}/shifts", auth_headers(), {}, 200),
        ("POST", f"/mdts/{DEFAULT.mdt_id}/shifts", auth_headers(), {"json": {}}, 201),
        ("POST", f"/mdts/{DEFAULT.mdt_id}/shifts", auth_headers(), {"data": "{"}, 400),
        ("GET", f"/mdts/{DEFAULT.mdt_id}/shifts?limit=0", auth_headers(), {}, 400),
        ("GET", f"/mdts/{DEFAULT.mdt_id}/shifts", auth_headers(key=None), {}, 401),
        ("GET", f"/mdts/{DEFAULT.unlinked_mdt_id}/shifts", auth_headers(), {}, 403),
        ("PATCH", f"/mdts/{DEFAULT.mdt_id}/calls/nope", auth_headers(), {"json": {}}, 404),
        ("GET", "/nope", auth_headers(), {}, 404),
        ("GET", "/nope", auth_headers(guild=None), {}, 401),
        ("GET", "/favicon.ico", auth_headers(), {}, 404),
        ("GET", "/link-requests", auth_headers(), {}, 405),
        ("DELETE", f"/v1/mdts/{DEFAULT.mdt_id}/shifts", auth_headers(), {}, 405),
        ("POST", "/__mock/reset", {}, {}, 200),
        ("GET", "/__mock/state", {}, {}, 200),
    ],
)
def test_every_answer_is_a_json_envelope(client, method, path, headers_, kwargs, status):
    response = client.open(path, method=method, headers=headers_, **kwargs)
    assert response.status_code == status, response.data
    assert response.mimetype == "application/json"
    assert b"<html" not in response.data.lower()
    assert b"<!doctype" not in response.data.lower()
    body = response.get_json()
    assert isinstance(body, dict)
    assert body["ok"] is (status < 400)
    assert ("data" in body) if status < 400 else isinstance(body["error"], str)


# --------------------------------------------------------------------------------------------
# /v1 prefix


def test_v1_prefix_serves_the_same_state(client, headers):
    root = f"/mdts/{DEFAULT.mdt_id}/calls"
    created = ok_data(client.post(f"/v1{root}", json={"priority": "low"}, headers=headers), 201)
    assert ok_data(client.get(root, headers=headers)) == [created]
    second = ok_data(client.post(root, json={"priority": "high"}, headers=headers), 201)
    assert ok_data(client.get(f"/v1{root}", headers=headers)) == [second, created]
    patched = ok_data(client.patch(f"/v1{root}/{created['id']}", json={}, headers=headers))
    assert ok_data(client.get(root, headers=headers)) == [patched, second]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", f"/mdts/{DEFAULT.mdt_id}", None, 200),
        ("GET", f"/mdts/{DEFAULT.mdt_id}/shifts", None, 200),
        ("POST", f"/mdts/{DEFAULT.mdt_id}/shifts", {"department": "Patrol"}, 201),
        ("POST", f"/mdts/{DEFAULT.mdt_id}/tickets", {"title": "Tow request"}, 201),
        ("POST", f"/mdts/{DEFAULT.mdt_id}/scene-reports", {"title": "Incident Summary"}, 201),
        ("PUT", f"/mdts/{DEFAULT.mdt_id}/units/active", {"units": [{"id": "ADAM-12"}]}, 200),
        ("GET", f"/guilds/{DEFAULT.guild_id}/mdts", None, 200),
        ("GET", f"/mdts/{DEFAULT.unlinked_mdt_id}/shifts", None, 403),
        ("GET", f"/mdts/{DEFAULT.mdt_id}/shifts?limit=0", None, 400),
        ("POST", f"/mdts/{DEFAULT.mdt_id}/units/active/NOPE/panic", {}, 404),
    ],
)
def test_v1_prefix_answers_like_the_root(client, headers, method, path, body, status):
    at_root = _send(client, method, path, headers, body)
    ok_data(client.post("/__mock/reset"))
    under_v1 = _send(client, method, f"/v1{path}", headers, body)
    assert at_root.status_code == under_v1.status_code == status
    root_body, v1_body = at_root.get_json(), under_v1.get_json()
    if status >= 400:
        assert root_body == v1_body
    else:
        assert root_body["ok"] is v1_body["ok"] is True
        assert type(root_body["data"]) is type(v1_body["data"])


# --------------------------------------------------------------------------------------------
# Isolation between MDTs


def test_records_of_one_mdt_are_never_visible_through_another(client, headers):
    link_both_default_mdts(client)
    a, b = f"/mdts/{DEFAULT.mdt_id}", f"/mdts/{DEFAULT.unlinked_mdt_id}"
    call = ok_data(client.post(f"{a}/calls", json={"priority": "low"}, headers=headers), 201)
    ok_data(client.post(f"{a}/shifts", json={"department": "Patrol"}, headers=headers), 201)
    ok_data(client.post(f"{a}/scene-reports", json={"title": "x"}, headers=headers), 201)
    ok_data(client.post(f"{a}/tickets", json={"title": "x"}, headers=headers), 201)
    ok_data(client.put(f"{a}/units/active", json={"units": [{"id": "ADAM-12"}]}, headers=headers))
    ok_data(client.post(f"{a}/units/active/ADAM-12/panic", json={}, headers=headers))

    for path in LIST_PATHS:
        assert ok_data(client.get(f"{b}/{path}", headers=headers)) == [], path
        assert len(ok_data(client.get(f"{a}/{path}", headers=headers))) == 1, path
    assert ok_data(client.get(f"{b}/shifts?department=Patrol", headers=headers)) == []

    response = client.patch(f"{b}/calls/{call['id']}", json={"status": "x"}, headers=headers)
    assert error_of(response) == (404, "Call not found")
    response = client.delete(f"{b}/units/active/ADAM-12", headers=headers)
    assert error_of(response) == (404, "Unit not found")
    response = client.post(f"{b}/units/active/ADAM-12/panic", json={}, headers=headers)
    assert error_of(response) == (404, "Unit not found")

    assert _records_of(client, DEFAULT.unlinked_mdt_id) == EMPTY_RECORDS
    a_records = _records_of(client, DEFAULT.mdt_id)
    assert [c["id"] for c in a_records["calls"]] == [call["id"]]
    assert a_records["calls"][0]["status"] == "open"
    assert len(a_records["events"]) == 1


def test_same_unit_id_in_two_mdts_are_separate_units(client, headers):
    link_both_default_mdts(client)
    a, b = f"/mdts/{DEFAULT.mdt_id}/units/active", f"/mdts/{DEFAULT.unlinked_mdt_id}/units/active"
    (in_a,) = ok_data(
        client.put(a, json={"units": [{"id": "ADAM-12", "rank": "PO"}]}, headers=headers)
    )
    (in_b,) = ok_data(
        client.put(b, json={"units": [{"id": "ADAM-12", "rank": "SGT"}]}, headers=headers)
    )
    assert (in_a["mdt_code"], in_b["mdt_code"]) == (DEFAULT.mdt_id, DEFAULT.unlinked_mdt_id)
    ok_data(client.delete(f"{b}/ADAM-12", headers=headers))
    assert ok_data(client.get(a, headers=headers)) == [in_a]
    assert ok_data(client.get(b, headers=headers)) == []
