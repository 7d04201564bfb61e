"""Every error body is exactly ``{"ok": false, "error": "..."}``; the diagnostic is a header.

The same cases run in-process (Flask's test client) and against ``northca-mock serve`` on both
HTTP servers (``--server werkzeug`` and ``--server granian``): every error path of every
operation (auth, guild link, body, query, handler, every documented example forced with
``Prefer``, the fault plan), the route-level 404/405/413 and the control plane's errors.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests

from mockserver.app import create_app
from mockserver.envelopes import DETAIL_HEADER
from tests.live import LiveMock
from tests.support import DEFAULT, PATH_VALUES, auth_headers, filled_path, resolve, spec_document

pytest_plugins = ["pytester"]

ANY_DETAIL = "<any>"
METHODS = ("get", "put", "post", "delete", "patch")


@dataclass(frozen=True)
class Operation:
    """An operation read from openapi.yaml as a plain document, not through the mock's loader
    (so a loader bug cannot hide a wrong string): its route, and its named error examples."""

    operation_id: str
    method: str
    path: str
    has_body: bool
    has_limit: bool
    errors: tuple[tuple[str, int, str], ...]  # (example name, status, error string)


def spec_operations() -> Iterator[Operation]:
    for path, item in spec_document()["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if not isinstance(op, dict):
                continue
            parameters = [
                resolve(p) for p in [*item.get("parameters", []), *op.get("parameters", [])]
            ]
            errors = []
            for status, response in op.get("responses", {}).items():
                if not str(status).isdigit() or int(status) < 400:
                    continue
                if "x-northca-status" in resolve(response):
                    continue  # a route-level answer, attached for clients: not the operation's
                media = resolve(response).get("content", {}).get("application/json", {})
                for name, example in (media.get("examples") or {}).items():
                    value = resolve(example).get("value")
                    if isinstance(value, dict) and value.get("ok") is False:
                        errors.append((name, int(status), str(value["error"])))
            yield Operation(
                op["operationId"],
                method.upper(),
                path,
                "requestBody" in op,
                any(p.get("in") == "query" and p.get("name") == "limit" for p in parameters),
                tuple(errors),
            )


@dataclass(frozen=True)
class Case:
    """One request that must be answered with exactly ``{"ok": false, "error": error}``."""

    name: str
    method: str
    path: str
    status: int
    error: str
    #: The expected ``x-northca-mock-detail``: a string, ANY_DETAIL, or None (no header).
    detail: str | None
    headers: dict[str, str] = field(default_factory=auth_headers)
    body: bytes | None = None
    content_type: str = "application/json"


def partner_cases() -> Iterator[Case]:
    """The error paths of every operation, and of the routes outside them."""
    for op in spec_operations():
        path = filled_path(op.path)
        tag = op.operation_id
        method = op.method
        body = b"{}" if op.has_body else None
        unauthorized = "Unauthorized"
        yield Case(
            f"{tag}-no-key",
            method,
            path,
            401,
            unauthorized,
            "x-partner-key: missing",
            auth_headers(key=None),
            body,
        )
        yield Case(
            f"{tag}-unknown-key",
            method,
            path,
            401,
            unauthorized,
            "x-partner-key: unknown key",
            auth_headers(key="not-a-key"),
            body,
        )
        yield Case(
            f"{tag}-no-guild",
            method,
            path,
            401,
            unauthorized,
            "x-discord-guild: missing or empty",
            auth_headers(guild=None),
            body,
        )
        if "{mdtId}" in op.path:
            unlinked = filled_path(op.path, mdtId=DEFAULT.unlinked_mdt_id)
            not_linked = "MDT not linked to this guild"
            yield Case(
                f"{tag}-not-linked", method, unlinked, 403, not_linked, ANY_DETAIL, body=body
            )
        if op.has_body:
            yield Case(f"{tag}-bad-json", method, path, 400, "Invalid JSON", ANY_DETAIL, body=b"{")
        if op.has_limit:
            yield Case(
                f"{tag}-bad-limit", method, path + "?limit=0", 400, "Invalid limit", ANY_DETAIL
            )
        for name, status, error in op.errors:
            headers = {**auth_headers(), "Prefer": f"example={name}"}
            yield Case(f"{tag}-prefer-{name}", method, path, status, error, None, headers, body)
    units = f"/mdts/{DEFAULT.mdt_id}/units/active"
    yield Case(
        "duplicate-unit-ids",
        "PUT",
        units,
        400,
        "Duplicate unit id in request body",
        ANY_DETAIL,
        body=b'{"units": [{"id": "u1"}, {"id": "u1"}]}',
    )
    yield Case(
        "unknown-call", "PATCH", f"/mdts/{DEFAULT.mdt_id}/calls/nope", 404, "Call not found", None,
        body=b"{}",
    )  # fmt: skip
    yield Case("unknown-unit", "DELETE", units + "/nope", 404, "Unit not found", None)
    yield Case(
        "unknown-link-request",
        "POST",
        f"/link-requests/{PATH_VALUES['id']}/confirm",
        404,
        "Link request not found",
        None,
    )
    yield Case(
        "unknown-path", "GET", "/v1/nope", 404, "Not found", "path: no operation at /v1/nope"
    )
    yield Case(
        "unknown-path-no-key",
        "GET",
        "/nope",
        401,
        "Unauthorized",
        "x-partner-key: missing",
        auth_headers(key=None),
    )
    yield Case(
        "undeclared-method",
        "DELETE",
        f"/mdts/{DEFAULT.mdt_id}/shifts",
        405,
        "Method not allowed",
        None,
    )
    yield Case(
        "too-large",
        "POST",
        f"/mdts/{DEFAULT.mdt_id}/shifts",
        413,
        "Request body too large",
        "body: larger than 1048576 bytes",
        body=b"[" + b" " * (1 << 20) + b"]",
    )
    yield Case("bad-content-type", "POST", f"/mdts/{DEFAULT.mdt_id}/shifts", 400, "Invalid JSON",
               ANY_DETAIL, body=b"{}", content_type="text/plain")  # fmt: skip


def control_cases() -> Iterator[Case]:
    none: dict[str, str] = {}
    yield Case(
        "world-not-object", "POST", "/__mock/world", 400, "Expected a JSON object: the world",
        None, none, b"[]",
    )  # fmt: skip
    yield Case(
        "clock-empty", "POST", "/__mock/clock", 400,
        'Expected {"advance_seconds": N} or {"now": "<ISO-8601>"}', None, none, b"{}",
    )  # fmt: skip
    yield Case(
        "snapshot-without-file", "POST", "/__mock/snapshot", 409,
        "No state file configured (start the mock with --state-file)", None, none,
    )  # fmt: skip
    yield Case(
        "control-unknown", "GET", "/__mock/nope", 404, "Not found",
        "path: no operation at /__mock/nope", none,
    )  # fmt: skip
    yield Case("control-method", "GET", "/__mock/reset", 405, "Method not allowed", None, none)


CASES = [*partner_cases(), *control_cases()]
Send = Callable[[Case], tuple[int, dict[str, str], Any]]


def check(case: Case, status: int, headers: dict[str, str], body: Any) -> None:
    assert status == case.status, (case.name, status, body)
    assert body == {"ok": False, "error": case.error}, case.name
    assert set(body) == {"ok", "error"}
    detail = {k.lower(): v for k, v in headers.items()}.get(DETAIL_HEADER)
    if case.detail is None:
        assert detail is None, (case.name, detail)
    elif case.detail == ANY_DETAIL:
        assert detail, case.name
    else:
        assert detail == case.detail, case.name
    assert DEFAULT.partner_key not in (detail or "")


@pytest.fixture(scope="module")
def in_process() -> Send:
    app = create_app()

    def send(case: Case) -> tuple[int, dict[str, str], Any]:
        client = app.test_client()
        response = client.open(
            case.path,
            method=case.method,
            headers={**case.headers, "Content-Type": case.content_type},
            data=case.body,
        )
        return response.status_code, dict(response.headers), response.get_json()

    return send


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_error_bodies_in_process(in_process: Send, case: Case) -> None:
    check(case, *in_process(case))


@pytest.mark.parametrize("server", ["werkzeug", "granian"])
def test_error_bodies_on_both_servers(server: str) -> None:
    with LiveMock("--server", server) as live:
        for case in CASES:
            # A fresh connection per case: no keep-alive race with the server closing one.
            response = requests.request(
                case.method,
                live.url + case.path,
                headers={**case.headers, "Content-Type": case.content_type, "Connection": "close"},
                data=case.body,
                timeout=30,
            )
            check(case, response.status_code, dict(response.headers), response.json())
        faulted = live.post(
            "/__mock/faults",
            json={"operations": {"*": {"error_rate": 1.0, "error": "internalError"}}},
        )
        assert faulted.status_code == 200
        injected = Case(
            "fault-plan", "GET", f"/mdts/{DEFAULT.mdt_id}/shifts", 500, "Internal server error",
            "injected by the mock's fault plan",
        )  # fmt: skip
        response = live.get(injected.path, headers=injected.headers)
        check(injected, response.status_code, dict(response.headers), response.json())
        journal = live.get("/__mock/requests").json()["data"]
        assert journal[-1]["detail"] == "injected by the mock's fault plan"


def test_the_journal_keeps_the_diagnostic_not_the_key() -> None:
    client = create_app().test_client()
    client.get(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers(key="secret-wrong-key"))
    client.get(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers(guild=None))
    client.get(f"/mdts/{DEFAULT.mdt_id}/shifts?limit=500", headers=auth_headers())
    client.get(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers())
    journal = client.get("/__mock/requests").get_json()["data"]
    assert [(e["status"], e["detail"]) for e in journal] == [
        (401, "x-partner-key: unknown key"),
        (401, "x-discord-guild: missing or empty"),
        (400, "limit: 500 is greater than the maximum of 100"),
        (200, None),
    ]
    assert "secret-wrong-key" not in repr(journal)


def test_admin_token_refusal_is_exact() -> None:
    client = create_app(admin_token="s3cret").test_client()
    response = client.get("/__mock/state")
    assert response.status_code == 401
    assert set(response.get_json()) == {"ok", "error"}


def test_a_bot_test_copying_the_documented_bodies_passes(pytester: pytest.Pytester) -> None:
    """Done when: a new user's test asserting the documented bodies passes with the fixture."""
    pytester.makepyfile(
        test_documented_bodies=textwrap.dedent(
            """
            import requests

            def test_documented_bodies(northca_mock):
                units = f"{northca_mock.url}/v1/mdts/{northca_mock.mdt_id}/units/active"
                duplicate = {"units": [{"id": "u1"}, {"id": "u1"}]}
                body = requests.put(units, json=duplicate, headers=northca_mock.headers).json()
                assert body == {"ok": False, "error": "Duplicate unit id in request body"}
                body = requests.get(units, headers={"x-discord-guild": "1"}).json()
                assert body == {"ok": False, "error": "Unauthorized"}
            """
        )
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
