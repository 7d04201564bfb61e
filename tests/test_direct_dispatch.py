"""Partner requests answered without Flask's dispatch answer exactly as Flask's would."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, Response

from mockserver import create_app
from tests.support import DEFAULT, auth_headers

SHIFTS = f"/v1/mdts/{DEFAULT.mdt_id}/shifts"
UNITS = f"/mdts/{DEFAULT.mdt_id}/units/active"


def test_partner_requests_skip_flask_and_the_rest_goes_through_it() -> None:
    app = create_app()
    dispatcher: Any = app.wsgi_app.app  # type: ignore[attr-defined]  # inside RequestRules
    through_flask: list[str] = []

    def fallback(environ: dict[str, Any], start_response: Any) -> Any:
        through_flask.append(environ["PATH_INFO"])
        return dispatcher.fallback_of_test(environ, start_response)

    dispatcher.fallback_of_test, dispatcher.fallback = dispatcher.fallback, fallback
    client = app.test_client()
    assert client.get(SHIFTS, headers=auth_headers()).status_code == 200
    assert client.put(UNITS, headers=auth_headers(), json={"units": []}).status_code == 200
    assert through_flask == []
    assert client.get("/__mock/requests").status_code == 200
    assert client.get(SHIFTS + "/x", headers=auth_headers()).status_code == 404
    assert through_flask == ["/__mock/requests", SHIFTS + "/x"]


def test_a_users_app_wide_hooks_still_see_partner_requests() -> None:
    app = create_app()
    seen: list[tuple[str, int]] = []

    @app.after_request
    def remember(response: Response) -> Response:
        seen.append((str(app.name), response.status_code))
        response.headers["x-seen"] = "yes"
        return response

    answer = app.test_client().get(SHIFTS, headers=auth_headers())
    assert (answer.status_code, answer.headers.get("x-seen")) == (200, "yes")
    assert seen == [("mockserver", 200)]


def _both(app: Flask, method: str, path: str, **kwargs: Any) -> tuple[Any, Any]:
    """The same request answered directly, then through Flask (the dispatcher's fallback)."""
    client = app.test_client()
    direct = client.open(path, method=method, **kwargs)
    dispatcher: Any = app.wsgi_app.app  # type: ignore[attr-defined]  # inside RequestRules
    app.wsgi_app.app = dispatcher.fallback  # type: ignore[attr-defined]
    try:
        through_flask = client.open(path, method=method, **kwargs)
    finally:
        app.wsgi_app.app = dispatcher  # type: ignore[attr-defined]
    return direct, through_flask


@pytest.mark.parametrize(
    ("method", "path", "kwargs"),
    [
        ("GET", SHIFTS, {"headers": auth_headers()}),
        ("GET", SHIFTS + "?limit=0", {"headers": auth_headers()}),
        ("GET", SHIFTS, {"headers": auth_headers(key="wrong")}),
        ("PUT", UNITS, {"headers": auth_headers(), "json": {"units": "ADAM-12"}}),
        ("PUT", UNITS, {"headers": auth_headers(), "data": b"{", "content_type": "text/plain"}),
        ("GET", f"/mdts/{DEFAULT.unlinked_mdt_id}/calls", {"headers": auth_headers()}),
        ("GET", "/mdts/\u00e9t\u00e9/shifts", {"headers": auth_headers()}),
        ("GET", SHIFTS + "/", {"headers": auth_headers()}),
        ("HEAD", SHIFTS, {"headers": auth_headers()}),
        ("DELETE", SHIFTS, {"headers": auth_headers()}),
        ("GET", "/v1/mdts//shifts", {"headers": auth_headers()}),
    ],
)
def test_answers_equal_flasks(method: str, path: str, kwargs: dict[str, Any]) -> None:
    app = create_app()
    direct, through_flask = _both(app, method, path, **kwargs)
    assert direct.status_code == through_flask.status_code
    assert direct.get_data() == through_flask.get_data()
    assert sorted(direct.headers.items()) == sorted(through_flask.headers.items())
    journal = app.test_client().get("/__mock/requests").get_json()["data"]
    first, second = journal[-2], journal[-1]
    for key in ("method", "path", "query", "headers", "status", "operation_id", "body", "detail"):
        assert first[key] == second[key], key
    assert first["response"] == second["response"]
