"""Safe defaults: loopback binding, the admin token on /__mock/, no stack traces in answers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient

from mockserver import create_app
from mockserver.app import server_of
from mockserver.handlers import HANDLERS
from mockserver.state import State
from tests.live import LiveMock
from tests.support import DEFAULT, auth_headers

TOKEN = "s3cret-token"
ADMIN = "x-mock-admin-token"
SHIFTS = f"/mdts/{DEFAULT.mdt_id}/shifts"

# Every control-plane endpoint, with a body that would succeed.
CONTROL = [
    ("POST", "/__mock/reset", None),
    ("GET", "/__mock/state", None),
    ("POST", "/__mock/world", {"partner_keys": {"test-key": "Test Partner"}}),
    ("POST", "/__mock/clock", {"advance_seconds": 60}),
    ("GET", "/__mock/requests", None),
    ("GET", "/__mock/faults", None),
    ("POST", "/__mock/faults", {"seed": 1, "operations": {}}),
    ("POST", "/__mock/snapshot", None),
]


# -- binding -------------------------------------------------------------------------------------
def test_default_host_is_loopback_without_warning() -> None:
    live = LiveMock(host=None)
    with live:
        assert live.url.startswith("http://127.0.0.1:")
        assert live.get("/__mock/faults").status_code == 200
    assert live.process is not None and live.process.returncode == 0
    assert not any("warning" in line for line in live.stderr_lines), live.stderr_lines


def test_binding_all_interfaces_warns_on_stderr() -> None:
    live = LiveMock(host="0.0.0.0")
    with live:
        assert live.url.startswith("http://0.0.0.0:")
    assert live.process is not None and live.process.returncode == 0
    assert live.stderr_lines == [
        "northca-mock: warning: listening on 0.0.0.0, not only this machine"
    ]


# -- admin token ---------------------------------------------------------------------------------
@pytest.fixture
def guarded() -> FlaskClient:
    return create_app(admin_token=TOKEN).test_client()


def control(client: FlaskClient, method: str, path: str, body: Any, **headers: str) -> Any:
    return client.open(path, method=method, json=body, headers=headers)


@pytest.mark.parametrize(("method", "path", "body"), CONTROL, ids=[p for _, p, _ in CONTROL])
@pytest.mark.parametrize("token", [None, "", "wrong", TOKEN + "x", TOKEN[:-1], TOKEN.upper()])
def test_control_plane_needs_the_token(
    guarded: FlaskClient, method: str, path: str, body: Any, token: str | None
) -> None:
    headers = {} if token is None else {ADMIN: token}
    client = guarded
    client.post(SHIFTS, json={"id": "keep"}, headers=auth_headers())
    before = control(client, "GET", "/__mock/state", None, **{ADMIN: TOKEN}).get_json()["data"]
    response = control(client, method, path, body, **headers)
    assert response.status_code == 401
    assert response.content_type == "application/json"
    assert response.get_json() == {"ok": False, "error": "Admin token required"}
    after = control(client, "GET", "/__mock/state", None, **{ADMIN: TOKEN}).get_json()["data"]
    before.pop("now")
    after.pop("now")
    assert after == before


@pytest.mark.parametrize(("method", "path", "body"), CONTROL, ids=[p for _, p, _ in CONTROL])
def test_control_plane_works_with_the_token(
    guarded: FlaskClient, method: str, path: str, body: Any
) -> None:
    response = control(guarded, method, path, body, **{ADMIN: TOKEN})
    if path == "/__mock/snapshot":  # no --state-file here
        assert response.status_code == 409
        assert response.get_json()["error"] == (
            "No state file configured (start the mock with --state-file)"
        )
    else:
        assert response.status_code == 200
        assert response.get_json()["ok"] is True


def test_unknown_control_path_is_a_plain_404_envelope(guarded: FlaskClient) -> None:
    for headers in ({}, {ADMIN: TOKEN}):
        response = guarded.get("/__mock/nope", headers=headers)
        assert response.status_code == 404
        assert response.content_type == "application/json"
        assert response.get_json()["error"] == "Not found"


def test_partner_api_needs_no_admin_token(guarded: FlaskClient) -> None:
    created = guarded.post(SHIFTS, json={"officer_name": "A"}, headers=auth_headers())
    assert created.status_code == 201
    listed = guarded.get(SHIFTS, headers=auth_headers())
    assert listed.status_code == 200
    assert [s["id"] for s in listed.get_json()["data"]] == [created.get_json()["data"]["id"]]
    # A token does not replace the partner key.
    response = guarded.get(SHIFTS, headers={ADMIN: TOKEN})
    assert response.status_code == 401
    assert response.get_json()["error"] == "Unauthorized"


def test_without_token_option_control_plane_is_open() -> None:
    client = create_app().test_client()
    assert client.get("/__mock/state").status_code == 200
    assert client.get("/__mock/state", headers={ADMIN: "anything"}).status_code == 200


@pytest.fixture(scope="module")
def live_guarded() -> Iterator[LiveMock]:
    with LiveMock("--admin-token", TOKEN) as live:
        yield live


def test_admin_token_over_the_socket(live_guarded: LiveMock) -> None:
    denied = live_guarded.get("/__mock/state")
    assert denied.status_code == 401
    assert denied.headers["content-type"] == "application/json"
    assert denied.json() == {"ok": False, "error": "Admin token required"}
    allowed = live_guarded.get("/__mock/state", headers={ADMIN: TOKEN})
    assert allowed.status_code == 200
    partner = live_guarded.get("/v1" + SHIFTS, headers=auth_headers())
    assert partner.status_code == 200
    assert partner.json() == {"ok": True, "data": []}


# -- no stack traces -----------------------------------------------------------------------------
TRACE_MARKERS = ("Traceback", 'File "', "RuntimeError", "planted failure", "<html", "<!DOCTYPE")


def assert_clean_500(response: Any) -> None:
    assert response.status_code == 500
    assert response.content_type == "application/json"
    assert response.get_json() == {"ok": False, "error": "Internal server error"}
    text = response.get_data(as_text=True)
    for marker in TRACE_MARKERS:
        assert marker not in text


def boom(*args: Any, **kwargs: Any) -> Any:
    raise RuntimeError("planted failure: secret /etc/passwd detail")


def test_exception_in_a_handler_is_a_clean_500(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(HANDLERS, "listShifts", boom)
    app = create_app()
    client = app.test_client()
    assert_clean_500(client.get(SHIFTS, headers=auth_headers()))
    assert_clean_500(client.get("/v1" + SHIFTS, headers=auth_headers()))
    errors = server_of(app).errors
    assert len(errors) == 2
    assert all(isinstance(error, RuntimeError) for error in errors)
    # The server keeps serving, and the failure is journaled with its status.
    assert client.get(f"/mdts/{DEFAULT.mdt_id}", headers=auth_headers()).status_code == 200
    journal = client.get("/__mock/requests").get_json()["data"]
    assert [entry["status"] for entry in journal] == [500, 500, 200]


def test_exception_in_the_control_plane_is_a_clean_500(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(State, "snapshot", boom)
    client = create_app().test_client()
    assert_clean_500(client.get("/__mock/state"))
    assert client.post("/__mock/reset").status_code == 200


def test_exception_before_routing_is_a_clean_500(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app()
    monkeypatch.setattr(server_of(app).states, "existing", boom)
    assert_clean_500(app.test_client().get(SHIFTS, headers=auth_headers()))


def test_exception_creating_a_namespace_is_a_clean_500(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app()
    monkeypatch.setattr(server_of(app), "state_for", boom)
    headers = {**auth_headers(), "x-mock-namespace": "new"}
    assert_clean_500(app.test_client().get(SHIFTS, headers=headers))


def test_exception_while_validating_is_a_clean_500(monkeypatch: pytest.MonkeyPatch) -> None:
    app = create_app()
    checker = server_of(app).checkers["createShift"]
    monkeypatch.setattr(checker, "body", boom)
    client = app.test_client()
    assert_clean_500(client.post(SHIFTS, json={}, headers=auth_headers()))
    listed = client.get(SHIFTS, headers=auth_headers())
    assert listed.get_json() == {"ok": True, "data": []}


def test_app_is_not_in_debug_mode() -> None:
    app = create_app()
    assert app.debug is False
    assert app.config["PROPAGATE_EXCEPTIONS"] in (None, False)
