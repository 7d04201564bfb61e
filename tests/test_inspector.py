"""The inspector's server side: the page and its assets, the data endpoints it polls, and the
journal fields it shows (query, redacted headers, response). The page itself runs in a real
browser in test_inspector_browser.py."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask.testing import FlaskClient

from mockserver import create_app
from mockserver.control import control_spec
from mockserver.inspector.routes import ASSETS_DIR
from mockserver.spec import load_spec
from mockserver.tally import Tally
from mockserver.traffic_coverage import traffic_coverage
from tests.support import DEFAULT, auth_headers, error_of, ok_data

TOKEN = "inspector-token"
SHIFTS = f"/mdts/{DEFAULT.mdt_id}/shifts"
DATA_ENDPOINTS = [
    "/__mock/namespaces",
    "/__mock/journal",
    "/__mock/link-requests",
    "/__mock/coverage",
]


def _journal_since(client: FlaskClient, query: str = "", **headers: str) -> Any:
    return ok_data(client.get(f"/__mock/journal{query}", headers=headers))


def _link_request(
    client: FlaskClient, mdt_id: str = DEFAULT.unlinked_mdt_id, **headers: str
) -> Any:
    response = client.post(
        "/link-requests", json={"mdt_id": mdt_id}, headers={**auth_headers(), **headers}
    )
    return ok_data(response, 201)


# -- the page --------------------------------------------------------------------------------
def test_page_is_html_that_loads_only_its_own_two_assets(client: FlaskClient) -> None:
    response = client.get("/__mock/")
    assert response.status_code == 200
    assert response.content_type == "text/html; charset=utf-8"
    # the page as shipped, told which GET /__mock/ data endpoints this server has
    endpoints = "/coverage /faults /journal /link-requests /namespaces /requests /simulation /state"
    assert response.data == (ASSETS_DIR / "index.html").read_bytes().replace(
        b'name="northca-endpoints" content=""',
        f'name="northca-endpoints" content="{endpoints}"'.encode(),
    )
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp
    html = response.get_data(as_text=True)
    assert re.findall(r'(?:src|href)="([^"]*)"', html) == [
        "data:,",
        "/__mock/inspector/app.css",
        "/__mock/inspector/app.js",
    ]
    assert "http" not in html.replace("http-equiv", "")


@pytest.mark.parametrize(
    ("name", "content_type"),
    [("app.js", "text/javascript; charset=utf-8"), ("app.css", "text/css; charset=utf-8")],
)
def test_assets_are_served_with_their_type(client: FlaskClient, name: str, content_type: str):
    response = client.get(f"/__mock/inspector/{name}")
    assert (response.status_code, response.content_type) == (200, content_type)
    assert response.data == (ASSETS_DIR / name).read_bytes()
    assert response.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("name", ["index.html", "routes.py", "..%2Froutes.py", "APP.JS", "x"])
def test_other_files_are_not_served(client: FlaskClient, name: str) -> None:
    response = client.get(f"/__mock/inspector/{name}")
    example = control_spec().operations["getInspectorAsset"].error("noSuchAsset")
    # "..%2F" makes a path no route matches: the route-level 404 (same status and string).
    assert error_of(response) == (example.status, example.message)


def test_assets_load_nothing_from_another_origin() -> None:
    for name in ("index.html", "app.js", "app.css"):
        text = (ASSETS_DIR / name).read_text(encoding="utf-8")
        assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/|@import|url\(", text), name


# -- admin token -----------------------------------------------------------------------------
def test_page_and_assets_need_no_token_but_its_data_does() -> None:
    client = create_app(admin_token=TOKEN).test_client()
    for path in ("/__mock/", "/__mock/inspector/app.js", "/__mock/inspector/app.css"):
        assert client.get(path).status_code == 200, path
    for path in DATA_ENDPOINTS:
        for headers in ({}, {"x-mock-admin-token": TOKEN + "x"}):
            response = client.get(path, headers=headers)
            assert (response.status_code, response.get_json()) == (
                401,
                {"ok": False, "error": "Admin token required"},
            ), path
        ok_data(client.get(path, headers={"x-mock-admin-token": TOKEN}))


# -- journal entries -------------------------------------------------------------------------
def test_journal_entry_keeps_query_redacted_headers_body_and_response(client: FlaskClient):
    headers = {**auth_headers(), "x-mock-admin-token": "not-for-the-journal", "x-extra": "kept"}
    client.post(SHIFTS, json={"id": "s-1", "officer_name": "A"}, headers=headers)
    client.get(f"{SHIFTS}?limit=0", headers=headers)
    created, bad_limit = ok_data(client.get("/__mock/requests"))
    assert created["seq"] + 1 == bad_limit["seq"]
    assert created["query"] == ""
    assert created["body"] == {"id": "s-1", "officer_name": "A"}
    assert created["response"]["status"] == 201
    assert json.loads(created["response"]["body"])["data"]["id"] == "s-1"
    assert created["response"]["detail"] is None
    assert bad_limit["query"] == "limit=0"
    assert bad_limit["headers"]["x-partner-key"] == "[redacted]"
    assert bad_limit["headers"]["x-mock-admin-token"] == "[redacted]"
    assert bad_limit["headers"]["x-discord-guild"] == DEFAULT.guild_id
    assert bad_limit["headers"]["x-discord-actor"] == DEFAULT.actor_id
    assert bad_limit["headers"]["x-extra"] == "kept"
    assert bad_limit["response"]["headers"]["content-type"] == "application/json"
    answer = json.loads(bad_limit["response"]["body"])
    assert (bad_limit["response"]["status"], answer["error"]) == (400, "Invalid limit")
    assert set(answer) == {"ok", "error"}
    assert (
        bad_limit["response"]["detail"]
        == bad_limit["response"]["headers"]["x-northca-mock-detail"]
        == bad_limit["detail"]
        == "limit: 0 is less than the minimum of 1"
    )


def test_no_journal_answer_holds_the_partner_key(client: FlaskClient) -> None:
    client.get(SHIFTS, headers=auth_headers())
    client.get("/no/such/path", headers=auth_headers())
    client.get(SHIFTS, headers=auth_headers(guild=None))
    for path in ("/__mock/requests", "/__mock/journal", "/__mock/coverage"):
        body = client.get(path).get_data(as_text=True)
        assert DEFAULT.partner_key not in body, path
        assert "[redacted]" in body or path == "/__mock/coverage"


# -- journal since ---------------------------------------------------------------------------
def test_journal_since_answers_newer_entries_newest_first(client: FlaskClient) -> None:
    assert _journal_since(client)["entries"] == []
    assert (_journal_since(client)["oldest"], _journal_since(client)["latest"]) == (None, None)
    for n in range(5):
        client.get(f"{SHIFTS}?limit={n + 1}", headers=auth_headers())
    everything = _journal_since(client)
    seqs = [entry["seq"] for entry in everything["entries"]]
    assert seqs == sorted(seqs, reverse=True) and len(seqs) == 5
    assert (everything["oldest"], everything["latest"]) == (seqs[-1], seqs[0])
    assert [e["query"] for e in everything["entries"]] == [f"limit={n}" for n in (5, 4, 3, 2, 1)]
    newer = _journal_since(client, f"?after={seqs[2]}")
    assert [entry["seq"] for entry in newer["entries"]] == seqs[:2]
    assert [e["seq"] for e in _journal_since(client, "?limit=2")["entries"]] == seqs[:2]
    assert _journal_since(client, f"?after={seqs[0]}")["entries"] == []
    assert everything["now"] == everything["now"][:23] + "Z"


def test_journal_seq_goes_on_after_a_reset(client: FlaskClient) -> None:
    client.get(SHIFTS, headers=auth_headers())
    before = _journal_since(client)["latest"]
    ok_data(client.post("/__mock/reset"))
    emptied = _journal_since(client, f"?after={before}")
    assert (emptied["oldest"], emptied["latest"], emptied["entries"]) == (None, None, [])
    client.get(SHIFTS, headers=auth_headers())
    (entry,) = _journal_since(client, f"?after={before}")["entries"]
    assert entry["seq"] == before + 1


@pytest.mark.parametrize(
    "query", ["?after=-1", "?after=x", "?limit=0", "?limit=1001", "?limit=1.5", "?after=%C2%B2"]
)
def test_journal_since_refuses_bad_numbers(client: FlaskClient, query: str) -> None:
    response = client.get(f"/__mock/journal{query}")
    assert (response.status_code, response.get_json()) == (
        400,
        {"ok": False, "error": "Expected after >= 0 and limit from 1 to 1000 (whole numbers)"},
    )


def test_journal_since_is_per_namespace(client: FlaskClient) -> None:
    client.get(SHIFTS, headers={**auth_headers(), "x-mock-namespace": "b"})
    assert _journal_since(client)["entries"] == []
    (entry,) = _journal_since(client, **{"x-mock-namespace": "b"})["entries"]
    assert entry["path"] == SHIFTS


# -- namespaces ------------------------------------------------------------------------------
def test_namespaces_lists_every_namespace_sorted(client: FlaskClient) -> None:
    assert ok_data(client.get("/__mock/namespaces")) == {"namespaces": [""]}
    client.get(SHIFTS, headers={**auth_headers(), "x-mock-namespace": "zeta"})
    client.get("/__mock/state", headers={"x-mock-namespace": "alpha"})
    assert ok_data(client.get("/__mock/namespaces")) == {"namespaces": ["", "alpha", "zeta"]}


# -- link requests ---------------------------------------------------------------------------
def test_pending_link_request_carries_the_owner_headers(client: FlaskClient) -> None:
    created = _link_request(client)
    data = ok_data(client.get("/__mock/link-requests"))
    assert data["link_requests"] == [
        {
            **created,
            "act_as_owner": {
                "x-partner-key": DEFAULT.partner_key,
                "x-discord-guild": DEFAULT.guild_id,
                "x-discord-actor": DEFAULT.unlinked_mdt_owner_id,
            },
        }
    ]
    owner = data["link_requests"][0]["act_as_owner"]
    confirmed = client.post(f"/link-requests/{created['id']}/confirm", headers=owner)
    assert ok_data(confirmed)["status"] == "approved"
    (after,) = ok_data(client.get("/__mock/link-requests"))["link_requests"]
    assert (after["status"], after["act_as_owner"]) == ("approved", None)


def test_link_requests_are_newest_first_and_expire_with_the_clock(client: FlaskClient) -> None:
    first = _link_request(client)
    second = _link_request(client, DEFAULT.mdt_id)
    listed = ok_data(client.get("/__mock/link-requests"))["link_requests"]
    assert [item["id"] for item in listed] == [second["id"], first["id"]]
    ok_data(
        client.post("/__mock/clock", json={"advance_seconds": DEFAULT.link_request_ttl_seconds})
    )
    listed = ok_data(client.get("/__mock/link-requests"))["link_requests"]
    assert [(item["status"], item["act_as_owner"]) for item in listed] == [("expired", None)] * 2
    assert [item["decided_at"] for item in listed] == [second["expires_at"], first["expires_at"]]


def test_no_owner_headers_without_an_owner(client: FlaskClient) -> None:
    world = {
        "partner_keys": {
            "k2": "Other",
            DEFAULT.partner_key: DEFAULT.partner_name,
            "a-key": DEFAULT.partner_name,
        },
        "mdts": [{"id": "m-1"}, {"id": "m-2", "owner_discord_id": "444"}],
    }
    ok_data(client.post("/__mock/world", json=world))
    headers = {**auth_headers(key="k2"), "x-discord-guild": "g"}
    client.post("/link-requests", json={"mdt_id": "m-1"}, headers=headers)
    client.post("/link-requests", json={"mdt_id": "m-2"}, headers=auth_headers())
    listed = ok_data(client.get("/__mock/link-requests"))["link_requests"]
    assert [item["act_as_owner"] for item in listed] == [
        {"x-partner-key": "a-key", "x-discord-guild": DEFAULT.guild_id, "x-discord-actor": "444"},
        None,
    ]


# -- coverage --------------------------------------------------------------------------------
def test_coverage_counts_documented_responses_from_the_journal(client: FlaskClient) -> None:
    client.get(SHIFTS, headers=auth_headers())
    client.get(SHIFTS, headers=auth_headers())
    client.get(f"{SHIFTS}?limit=0", headers=auth_headers())
    client.get(SHIFTS, headers=auth_headers(key="wrong"))
    client.post("/link-requests", json={}, headers=auth_headers())
    client.get("/no/such/path", headers=auth_headers())
    data = ok_data(client.get("/__mock/coverage"))
    operations = {op["operation_id"]: op for op in data["operations"]}
    list_shifts = operations["listShifts"]
    assert (list_shifts["method"], list_shifts["path"], list_shifts["calls"]) == (
        "GET",
        "/mdts/{mdtId}/shifts",
        4,
    )
    seen = {r["status"]: r["seen"] for r in list_shifts["responses"]}
    assert seen == {200: 2, 400: 1, 401: 1, 403: 0, 500: 0}
    (bad_request,) = [r for r in list_shifts["responses"] if r["status"] == 400]
    assert {e["error"]: e["seen"] for e in bad_request["errors"]}["Invalid limit"] == 1
    create = {r["status"]: r for r in operations["createLinkRequest"]["responses"]}
    assert {e["name"]: e["seen"] for e in create[400]["errors"]}["missingField"] == 1
    assert list_shifts["undocumented"] == []
    assert data["totals"] == {
        "requests": 6,
        "operations": len(operations),
        "operations_called": 2,
        "responses_documented": sum(len(op["responses"]) for op in operations.values()),
        "responses_seen": 4,
        "unrouted": 1,
        "no_answer": 0,
    }


def test_coverage_reports_undocumented_statuses() -> None:
    entries: list[dict[str, Any]] = [
        {"operation_id": "listShifts", "status": 418, "response": {"body": "teapot"}},
        {"operation_id": "listShifts", "status": 0},
        {"operation_id": None, "status": 404},
    ]
    tally = Tally()
    tally.add(entries)
    data = traffic_coverage(load_spec(), tally)
    (list_shifts,) = [op for op in data["operations"] if op["operation_id"] == "listShifts"]
    assert list_shifts["undocumented"] == [{"status": 418, "seen": 1}]
    assert list_shifts["calls"] == 1
    assert (data["totals"]["no_answer"], data["totals"]["unrouted"]) == (1, 1)


def test_journal_keeps_response_bodies_up_to_the_limit_and_marks_the_cut() -> None:
    client = create_app(journal_max_body_bytes=10).test_client()
    answer = client.get(SHIFTS, headers=auth_headers(key="wrong"))
    (entry,) = ok_data(client.get("/__mock/requests"))
    assert entry["response"]["body"] == answer.get_data(as_text=True)[:10]
    assert entry["response"]["body_bytes"] == len(answer.data)
    assert entry["response"]["truncated"] is True
    client.get(SHIFTS, headers=auth_headers())
    listed = ok_data(client.get("/__mock/requests"))[1]["response"]
    assert (listed["body"], listed["body_bytes"], listed["truncated"]) == ('{"ok":true', 21, True)


def test_coverage_counts_answers_the_journal_has_dropped() -> None:
    # The journal keeps one entry here; coverage is counted as requests are journaled.
    client = create_app(journal_max_bytes=1).test_client()
    for _ in range(3):
        client.get(SHIFTS, headers=auth_headers())
    client.get(SHIFTS, headers=auth_headers(key="wrong"))
    assert len(ok_data(client.get("/__mock/requests"))) == 1
    data = ok_data(client.get("/__mock/coverage"))
    (list_shifts,) = [op for op in data["operations"] if op["operation_id"] == "listShifts"]
    assert list_shifts["calls"] == 4
    assert {r["status"]: r["seen"] for r in list_shifts["responses"]} == {
        200: 3,
        400: 0,
        401: 1,
        403: 0,
        500: 0,
    }
    assert data["totals"]["requests"] == 4
    client.post("/__mock/reset")
    assert ok_data(client.get("/__mock/coverage"))["totals"]["requests"] == 0
