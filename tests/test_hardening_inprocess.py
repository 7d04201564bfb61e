"""Issue 15 regressions without a socket: JSON-only control writes (F8), the clock's end (F11)."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient

from mockserver import create_app
from mockserver.clock import MAX_CLOCK_MS, Clock, format_ms, parse_iso
from mockserver.guard import host_name, is_loopback
from tests.support import DEFAULT, auth_headers

UNSUPPORTED = {"ok": False, "error": "Expected Content-Type: application/json"}
OUT_OF_RANGE = {
    "ok": False,
    "error": "The clock must stay between 1970-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z",
}
FAULTS = '{"seed":1,"operations":{"*":{"latency_ms":60000,"error_rate":1}}}'


@pytest.fixture
def client() -> FlaskClient:
    return create_app().test_client()


# -- F8: control-plane writes are JSON -----------------------------------------------------------
@pytest.mark.parametrize("path", ["/__mock/faults", "/__mock/world", "/__mock/clock"])
@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None]
)
def test_control_write_without_json_content_type_is_415(
    client: FlaskClient, path: str, content_type: str | None
) -> None:
    before = client.get("/__mock/faults").get_json()
    headers = {} if content_type is None else {"Content-Type": content_type}
    response = client.post(path, data=FAULTS, headers=headers)
    assert (response.status_code, response.get_json()) == (415, UNSUPPORTED)
    assert response.headers["x-northca-mock-detail"] == f"Content-Type: {content_type or '(none)'}"
    assert client.get("/__mock/faults").get_json() == before


@pytest.mark.parametrize("path", ["/__mock/reset", "/__mock/snapshot"])
def test_bare_post_without_body_is_still_accepted(client: FlaskClient, path: str) -> None:
    assert client.post(path).status_code in (200, 409)  # 409: no --state-file
    text = client.post(path, data="", headers={"Content-Type": "text/plain"})
    assert text.status_code == 415


def test_json_variants_are_accepted(client: FlaskClient) -> None:
    for content_type in (
        "application/json",
        "application/json; charset=utf-8",
        "application/x+json",
    ):
        response = client.post("/__mock/faults", data=FAULTS, content_type=content_type)
        assert response.status_code == 200, content_type


def test_partner_api_is_not_touched_by_the_control_rule(client: FlaskClient) -> None:
    response = client.post(
        f"/mdts/{DEFAULT.mdt_id}/shifts",
        data='{"id":"x"}',
        headers={**auth_headers(), "Content-Type": "text/plain"},
    )
    assert response.status_code != 415


def test_in_process_clients_keep_working(client: FlaskClient) -> None:
    """The Flask test client (Host ``localhost``) goes through no Host or Origin check."""
    response = client.get(
        f"/mdts/{DEFAULT.mdt_id}/shifts", headers={**auth_headers(), "Origin": "http://x"}
    )
    assert response.status_code == 200


# -- host names ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("header", "name", "loopback"),
    [
        ("localhost", "localhost", True),
        ("LocalHost.:4010", "localhost", True),
        ("127.0.0.1:4010", "127.0.0.1", True),
        ("127.200.0.9", "127.200.0.9", True),
        ("[::1]:4010", "::1", True),
        ("[::1", "::1", True),
        ("0.0.0.0", "0.0.0.0", False),
        ("localhost.evil.example", "localhost.evil.example", False),
        ("127.0.0.1.nip.io", "127.0.0.1.nip.io", False),
        ("", "", False),
    ],
)
def test_host_names(header: str, name: str, loopback: bool) -> None:
    assert host_name(header) == name
    assert is_loopback(name) is loopback


# -- F11: the clock ends in 9999 -------------------------------------------------------------------
def test_clock_near_the_end_stops_at_the_last_instant(client: FlaskClient) -> None:
    moved = client.post("/__mock/clock", json={"now": "9999-12-31T23:59:59.500Z"})
    assert moved.status_code == 200
    real = [0.0]
    ticking = Clock(lambda: real[0])
    ticking.set(MAX_CLOCK_MS - 500)
    real[0] = 3600.0  # an hour later
    assert ticking.now_ms() == MAX_CLOCK_MS
    assert ticking.now() == "9999-12-31T23:59:59.999Z"
    assert format_ms(MAX_CLOCK_MS + 86_400_000) == "9999-12-31T23:59:59.999Z"


def test_link_request_created_at_the_end_of_time_never_answers_500(client: FlaskClient) -> None:
    assert client.post("/__mock/clock", json={"now": "9999-12-31T23:59:59.500Z"}).status_code == 200
    created = client.post(
        "/link-requests",
        json={"mdt_id": DEFAULT.mdt_id},
        headers=auth_headers(),
    )
    assert created.status_code == 201, created.get_json()
    data = created.get_json()["data"]
    assert data["expires_at"] == "9999-12-31T23:59:59.999Z"
    assert parse_iso(data["expires_at"]) == MAX_CLOCK_MS
    state = client.get("/__mock/state")
    assert state.status_code == 200
    assert state.get_json()["data"]["now"].startswith("9999-12-31T23:59:59.")


@pytest.mark.parametrize(
    "body",
    [
        {"now": "1969-12-31T23:59:59.999Z"},
        {"advance_seconds": 1e30},
        {"advance_seconds": -1e30},
    ],
)
def test_clock_beyond_its_range_is_a_documented_400(client: FlaskClient, body: object) -> None:
    response = client.post("/__mock/clock", json=body)
    assert (response.status_code, response.get_json()) == (
        400,
        OUT_OF_RANGE,
    )


def test_advancing_past_the_end_is_a_documented_400(client: FlaskClient) -> None:
    assert client.post("/__mock/clock", json={"now": "9999-12-31T23:00:00Z"}).status_code == 200
    response = client.post("/__mock/clock", json={"advance_seconds": 7200})
    assert (response.status_code, response.get_json()) == (
        400,
        OUT_OF_RANGE,
    )
    assert client.get("/__mock/state").get_json()["data"]["now"].startswith("9999-12-31T23:")
