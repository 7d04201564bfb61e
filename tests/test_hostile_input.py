"""Hostile input over the socket: every answer is a documented status in the JSON envelope,
never HTML, never 5xx; the server keeps serving; rejected requests change nothing.

Requests that are not valid HTTP are rejected by the HTTP server before any operation is chosen;
they are checked on both servers (``--server granian`` and ``werkzeug``) against the spec's
route-level responses. Then the schemathesis negative-data run (coverage and fuzzing phases,
every check) over the socket.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.generation import GenerationMode

from mockserver.control import control_spec
from mockserver.spec import load_spec
from tests.live import ROOT, LiveMock, RawResponse, raw_request
from tests.support import DEFAULT

SPEC = load_spec(None)
CONTROL = control_spec()
LIMIT = 1 << 20
AUTH: list[tuple[str, str | bytes]] = [
    ("x-partner-key", DEFAULT.partner_key),
    ("x-discord-guild", DEFAULT.guild_id),
    ("x-discord-actor", DEFAULT.actor_id),
]
JSON_CT: list[tuple[str, str | bytes]] = [("content-type", "application/json")]
M = f"/mdts/{DEFAULT.mdt_id}"
# Route-level responses of the spec (components with x-northca-status; attached to operations
# for clients, but not among an operation's own responses): any route may answer them.
ROUTE_LEVEL = {404, 405, 413}


def documented_statuses(op_id: str | None) -> set[int]:
    if op_id is None:
        return {401} | ROUTE_LEVEL
    spec = CONTROL if op_id in CONTROL.operations else SPEC
    statuses = {int(code) for code in spec.operations[op_id].raw_responses}
    return statuses | ROUTE_LEVEL


@dataclass
class Case:
    id: str
    method: str
    target: str | bytes
    body: bytes = b""
    status: int = 400
    error: str | None = "Invalid JSON"
    op: str | None = "createShift"
    headers: list[tuple[str, str | bytes]] = field(default_factory=lambda: AUTH + JSON_CT)
    #: For control-plane messages written by the mock: the prefix naming the key.
    error_prefix: str | None = None


def shift(body: bytes, **kwargs: Any) -> Case:
    return Case(kwargs.pop("id"), "POST", f"{M}/shifts", body, **kwargs)


def units(body: bytes, **kwargs: Any) -> Case:
    kwargs.setdefault("op", "upsertActiveUnits")
    return Case(kwargs.pop("id"), "PUT", f"{M}/units/active", body, **kwargs)


def link_request(body: bytes, **kwargs: Any) -> Case:
    kwargs.setdefault("op", "createLinkRequest")
    return Case(kwargs.pop("id"), "POST", "/link-requests", body, **kwargs)


def nested_arrays(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def nested_objects(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


def chunked(body: bytes, size: int = 1 << 18) -> bytes:
    out = b""
    for start in range(0, len(body), size):
        part = body[start : start + size]
        out += f"{len(part):x}\r\n".encode() + part + b"\r\n"
    return out + b"0\r\n\r\n"


EXPECTED_UNITS = "Expected { units: [...] }"
UNIT_ID_ERROR = "Each unit must include a non-empty id"
TOO_LARGE = "Request body too large"
VALID_MDT = DEFAULT.unlinked_mdt_id.encode()

CASES: list[Any] = [
    # -- malformed and truncated JSON -------------------------------------------------------
    shift(b'{"officer_name": }', id="malformed-value"),
    shift(b'{"officer_name": "A"', id="truncated-object"),
    units(b'{"units":[{"id":"A"}', id="truncated-units"),
    shift(b"{} {}", id="trailing-garbage"),
    shift(b"{'officer_name': 'A'}", id="single-quotes"),
    shift(b'{"officer_name": "A" /* c */}', id="comment"),
    shift(b'{"officer_name": "A",}', id="trailing-comma"),
    shift(b"", id="empty-body"),
    shift(b"   \n\t ", id="whitespace-body"),
    link_request(b'{"mdt_id": "' + VALID_MDT, id="truncated-link-request"),
    # -- invalid UTF-8 and unpaired surrogates ------------------------------------------------
    shift(b'{"officer_name": "\xff\xfe"}', id="invalid-utf8"),
    shift(b'{"officer_name": "\xc0\xaf"}', id="overlong-utf8"),
    shift(b'{"officer_name": "\xed\xa0\x80"}', id="utf8-encoded-surrogate"),
    shift(b'{"officer_name": "\\ud800"}', id="escaped-lone-surrogate"),
    units(b'{"units":[{"id":"\\udc00"}]}', id="escaped-lone-surrogate-unit-id"),
    link_request(b'{"mdt_id": "\xff"}', id="invalid-utf8-link-request"),
    # -- wrong and missing content types -----------------------------------------------------
    shift(
        b'{"officer_name": "A"}', id="text-plain", headers=[*AUTH, ("content-type", "text/plain")]
    ),
    shift(b'{"officer_name": "A"}', id="no-content-type", headers=list(AUTH)),
    link_request(
        b"mdt_id=" + VALID_MDT,
        id="form-urlencoded",
        headers=[*AUTH, ("content-type", "application/x-www-form-urlencoded")],
    ),
    shift(
        b'--b\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n--b--\r\n',
        id="multipart",
        headers=[*AUTH, ("content-type", "multipart/form-data; boundary=b")],
    ),
    shift(b"{}", id="json-lookalike-type", headers=[*AUTH, ("content-type", "application/jsonx")]),
    shift(b"{}", id="garbage-content-type", headers=[*AUTH, ("content-type", ";;;")]),
    units(b'{"units": []}', id="xml-content-type", headers=[*AUTH, ("content-type", "text/xml")]),
    # -- bodies over the size limit ------------------------------------------------------------
    shift(b"[" * (LIMIT + 1), id="over-limit-by-one", status=413, error=TOO_LARGE),
    units(b" " * (5 * LIMIT), id="over-limit-5mib", status=413, error=TOO_LARGE),
    Case(
        "over-limit-on-bodiless-op",
        "POST",
        f"{M}/unlink",
        b"x" * (2 * LIMIT),
        status=413,
        error=TOO_LARGE,
        op="unlinkMdt",
    ),
    Case(
        "over-limit-chunked",
        "POST",
        f"{M}/shifts",
        chunked(b'{"officer_name": "' + b"a" * (3 * LIMIT) + b'"}'),
        status=413,
        error=TOO_LARGE,
        headers=[*AUTH, *JSON_CT, ("Transfer-Encoding", "chunked")],
    ),
    Case(
        "over-limit-control-plane",
        "POST",
        "/__mock/world",
        b"[" * (2 * LIMIT),
        status=413,
        error=TOO_LARGE,
        op="setMockWorld",
        headers=list(JSON_CT),
    ),
    # -- deep nesting and large arrays ---------------------------------------------------------
    shift(nested_arrays(100_000), id="nested-arrays-100k"),
    shift(nested_objects(100_000), id="nested-objects-100k"),
    units(b'{"units":' + nested_arrays(100_000) + b"}", id="nested-units-100k"),
    Case(
        "nested-300-in-a-field",
        "POST",
        f"{M}/calls",
        b'{"units_assigned":' + nested_arrays(300) + b"}",
        error="Invalid JSON",
        op="createCall",
    ),
    units(
        b'{"units":[{"id":"A","rank":' + nested_arrays(900) + b"}]}",
        id="nested-900-in-a-unit",
        error="Invalid JSON",
    ),
    Case(
        "nested-100k-control-world",
        "POST",
        "/__mock/world",
        nested_arrays(100_000),
        error="Expected a JSON object: the world",
        op="setMockWorld",
        headers=list(JSON_CT),
    ),
    Case(
        "nested-100k-control-clock",
        "POST",
        "/__mock/clock",
        nested_objects(100_000),
        error='Expected {"advance_seconds": N} or {"now": "<ISO-8601>"}',
        op="setMockClock",
        headers=list(JSON_CT),
    ),
    units(
        b'{"units":[' + b",".join([b"0"] * 50_000) + b"]}",
        id="units-50k-ints",
        error=EXPECTED_UNITS,
    ),
    Case(
        "call-50k-units-assigned",
        "POST",
        f"{M}/calls",
        b'{"units_assigned":[' + b",".join([b"1"] * 50_000) + b"]}",
        error="Invalid request body",
        op="createCall",
    ),
    units(
        b'{"units":[' + b",".join(b'{"id":"U%d"}' % i for i in range(40_000)) + b',{"id":""}]}',
        id="units-40k-last-empty-id",
        error=UNIT_ID_ERROR,
    ),
    units(
        b'{"units":[' + b",".join(b'{"id":"U%d"}' % i for i in range(40_000)) + b',{"id":"U0"}]}',
        id="units-40k-last-duplicate",
        error="Duplicate unit id in request body",
    ),
    shift(
        b"[" + b",".join([b"{}"] * 200_000) + b"]",
        id="top-level-200k-array",
        error="Invalid request body",
    ),
    # -- headers ----------------------------------------------------------------------------
    Case(  # a header value with a byte outside ASCII: refused alike on every server (issue 19)
        "partner-key-non-latin",
        "GET",
        f"{M}/shifts",
        status=400,
        error="Malformed HTTP request",
        op="listShifts",
        headers=[("x-partner-key", "t\xe9st-key".encode()), ("x-discord-guild", DEFAULT.guild_id)],
    ),
    Case(
        "guild-empty",
        "GET",
        f"{M}/shifts",
        status=401,
        error="Unauthorized",
        op="listShifts",
        headers=[("x-partner-key", DEFAULT.partner_key), ("x-discord-guild", "")],
    ),
    # -- ids: unicode, traversal, NUL ---------------------------------------------------------
    Case(
        "call-id-dotdot-encoded",
        "PATCH",
        f"{M}/calls/%2e%2e",
        b"{}",
        404,
        "Call not found",
        "updateCall",
    ),
    Case("call-id-nul", "PATCH", f"{M}/calls/%00", b"{}", 404, "Call not found", "updateCall"),
    Case(
        "call-id-emoji",
        "PATCH",
        f"{M}/calls/%F0%9F%98%80",
        b"{}",
        404,
        "Call not found",
        "updateCall",
    ),
    Case(  # one segment: the id "../../etc/passwd", which no call has
        "call-id-traversal-slashes",
        "PATCH",
        f"{M}/calls/..%2F..%2Fetc%2Fpasswd",
        b"{}",
        404,
        "Call not found",
        "updateCall",
    ),
    Case(
        "unit-id-raw-dotdot-path",
        "DELETE",
        f"{M}/units/active/../../etc/passwd",
        b"",
        404,
        "Not found",
        None,
        headers=list(AUTH),
    ),
    Case(
        "unit-id-emoji",
        "DELETE",
        f"{M}/units/active/%F0%9F%98%80",
        b"",
        404,
        "Unit not found",
        "deleteActiveUnit",
        headers=list(AUTH),
    ),
    Case(
        "unit-id-invalid-utf8",
        "DELETE",
        f"{M}/units/active/%ff%fe",
        b"",
        404,
        "Unit not found",
        "deleteActiveUnit",
        headers=list(AUTH),
    ),
    Case(
        "panic-unit-nul",
        "POST",
        f"{M}/units/active/%00/panic",
        b"{}",
        404,
        "Unit not found",
        "triggerUnitPanic",
    ),
    Case(
        "link-request-dotdot",
        "POST",
        "/link-requests/%2e%2e/confirm",
        b"",
        404,
        "Link request not found",
        "confirmLinkRequest",
        headers=list(AUTH),
    ),
    Case(
        "link-request-nul",
        "POST",
        "/link-requests/%00/deny",
        b"",
        404,
        "Link request not found",
        "denyLinkRequest",
        headers=list(AUTH),
    ),
    Case(
        "link-request-emoji",
        "POST",
        "/link-requests/%F0%9F%94%97/confirm",
        b"",
        404,
        "Link request not found",
        "confirmLinkRequest",
        headers=list(AUTH),
    ),
    Case(
        "mdt-id-dotdot",
        "GET",
        "/mdts/%2e%2e/shifts",
        b"",
        403,
        "MDT not linked to this guild",
        "listShifts",
        headers=list(AUTH),
    ),
    Case(
        "mdt-id-emoji",
        "GET",
        "/mdts/%F0%9F%98%80",
        b"",
        403,
        "MDT not linked to this guild",
        "getMdtInfo",
        headers=list(AUTH),
    ),
    Case(
        "guild-id-dotdot",
        "GET",
        "/guilds/%2e%2e/mdts",
        b"",
        403,
        "Guild mismatch",
        "listGuildMdts",
        headers=list(AUTH),
    ),
    Case(
        "path-dotdot-to-other-route",
        "GET",
        f"/mdts/../mdts/{DEFAULT.mdt_id}/shifts",
        b"",
        404,
        "Not found",
        None,
        headers=list(AUTH),
    ),
    link_request(
        b'{"mdt_id": "../../etc/passwd"}', id="mdt-id-traversal-body", error="Invalid mdt_id"
    ),
    link_request(b'{"mdt_id": "\\u0000"}', id="mdt-id-nul-body", error="Invalid mdt_id"),
    link_request(b'{"mdt_id": "\xf0\x9f\x98\x80"}', id="mdt-id-emoji-body", error="Invalid mdt_id"),
    # -- duplicate keys (the last one wins, as in most parsers) --------------------------------
    units(b'{"units":[{"id":"A"}],"units":"x"}', id="duplicate-key-units", error=EXPECTED_UNITS),
    link_request(
        b'{"mdt_id":"' + VALID_MDT + b'","mdt_id":""}',
        id="duplicate-key-mdt-id",
        error="Missing required fields: mdt_id",
    ),
    units(b'{"units":[{"id":"A","id":""}]}', id="duplicate-key-unit-id", error=UNIT_ID_ERROR),
    # -- numbers out of range, NaN and Infinity ------------------------------------------------
    shift(b'{"duration_ms": 1e400}', id="float-overflow", error="Invalid request body"),
    shift(b'{"duration_ms": -1e400}', id="float-overflow-negative", error="Invalid request body"),
    shift(b'{"duration_ms": ' + b"9" * 5000 + b"}", id="int-over-4300-digits"),
    units(b'{"units":[{"id":"A","status":1e400}]}', id="float-overflow-unit", error=EXPECTED_UNITS),
    shift(b'{"duration_ms": NaN}', id="nan-literal"),
    shift(b'{"duration_ms": Infinity}', id="infinity-literal"),
    shift(b'{"duration_ms": -Infinity}', id="minus-infinity-literal"),
    units(b'{"units":[{"id":"A","rank":NaN}]}', id="nan-in-units"),
    link_request(b'{"mdt_id": Infinity}', id="infinity-link-request"),
    Case(
        "limit-float-overflow",
        "GET",
        f"{M}/shifts?limit=1e400",
        b"",
        400,
        "Invalid limit",
        "listShifts",
        headers=list(AUTH),
    ),
    Case(
        "limit-huge-int",
        "GET",
        f"{M}/shifts?limit=" + "9" * 5000,
        b"",
        400,
        "Invalid limit",
        "listShifts",
        headers=list(AUTH),
    ),
    Case(
        "limit-20-digits",
        "GET",
        f"{M}/calls?limit=99999999999999999999",
        b"",
        400,
        "Invalid limit",
        "listCalls",
        headers=list(AUTH),
    ),
    Case(
        "limit-nul",
        "GET",
        f"{M}/tickets?limit=%00",
        b"",
        400,
        "Invalid limit",
        "listTickets",
        headers=list(AUTH),
    ),
    Case(
        "limit-arabic-digits",
        "GET",
        f"{M}/tickets?limit=%D9%A1%D9%A0",
        b"",
        400,
        "Invalid limit",
        "listTickets",
        headers=list(AUTH),
    ),
    Case(
        "clock-float-overflow",
        "POST",
        "/__mock/clock",
        b'{"advance_seconds": 1e400}',
        400,
        CONTROL.operations["setMockClock"].error("clockOutOfRange").message,
        "setMockClock",
        headers=list(JSON_CT),
    ),
    Case(
        "clock-out-of-range",
        "POST",
        "/__mock/clock",
        b'{"advance_seconds": 1e300}',
        400,
        CONTROL.operations["setMockClock"].error("clockOutOfRange").message,
        "setMockClock",
        headers=list(JSON_CT),
    ),
    Case(
        "clock-nan",
        "POST",
        "/__mock/clock",
        b'{"advance_seconds": NaN}',
        400,
        'Expected {"advance_seconds": N} or {"now": "<ISO-8601>"}',
        "setMockClock",
        headers=list(JSON_CT),
    ),
    Case(
        "world-ttl-infinite",
        "POST",
        "/__mock/world",
        b"",
        400,
        None,
        "setMockWorld",
        headers=list(JSON_CT),
        error_prefix="link_request_ttl_seconds: ",
    ),
    Case(
        "world-ttl-out-of-range",
        "POST",
        "/__mock/world",
        b"",
        400,
        None,
        "setMockWorld",
        headers=list(JSON_CT),
        error_prefix="link_request_ttl_seconds: ",
    ),
    Case(
        "faults-nan-rate",
        "POST",
        "/__mock/faults",
        b'{"operations": {"*": {"error_rate": NaN}}}',
        400,
        "Expected a JSON object: the fault plan",
        "setMockFaults",
        headers=list(JSON_CT),
    ),
]


def case_id(case: Any) -> str:
    return case.id if isinstance(case, Case) else str(case)


@pytest.fixture(scope="module")
def live() -> Iterator[LiveMock]:
    with LiveMock() as mock:
        yield mock


def default_world() -> dict[str, Any]:
    import yaml

    from mockserver.world import default_world_path

    world: dict[str, Any] = yaml.safe_load(default_world_path().read_text(encoding="utf-8"))
    return world


DEFAULT_WORLD = default_world()


def seed(live: LiveMock) -> None:
    """The default world (a case may have replaced it) with something in every collection, so
    that a rejected request has something to damage."""
    assert live.post("/__mock/world", json=DEFAULT_WORLD).status_code == 200
    headers = dict(AUTH)
    assert live.post(f"{M}/shifts", json={"id": "s-1"}, headers=headers).status_code == 201
    assert live.post(f"{M}/calls", json={"id": "c-1"}, headers=headers).status_code == 201
    units_body = {"units": [{"id": "ADAM-12", "status": "10-8"}]}
    assert live.request("PUT", f"{M}/units/active", json=units_body, headers=headers).ok
    created = live.post("/link-requests", json={"mdt_id": DEFAULT.unlinked_mdt_id}, headers=headers)
    assert created.status_code == 201


def world_with_ttl(ttl: bytes) -> bytes:
    """The default world as JSON with a raw (possibly out-of-range) TTL literal."""
    text = json.dumps({**DEFAULT_WORLD, "link_request_ttl_seconds": 900})
    return text.replace(
        '"link_request_ttl_seconds": 900', '"link_request_ttl_seconds": ' + ttl.decode()
    ).encode()


for _case in CASES:
    if isinstance(_case, Case) and _case.id == "world-ttl-infinite":
        _case.body = world_with_ttl(b"1e400")
    if isinstance(_case, Case) and _case.id == "world-ttl-out-of-range":
        _case.body = world_with_ttl(b"1e300")


def state(live: LiveMock) -> dict[str, Any]:
    response = live.get("/__mock/state")
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()["data"]
    data.pop("now")
    return data


def assert_envelope(response: RawResponse) -> dict[str, Any]:
    text = response.body.decode("utf-8", "replace")
    assert "<html" not in text.lower() and "<!doctype" not in text.lower(), text[:300]
    assert response.status < 500, text[:300]
    assert response.content_type.split(";")[0] == "application/json", response.headers
    body: dict[str, Any] = json.loads(response.body)
    assert body["ok"] is False, body
    assert isinstance(body["error"], str), body
    assert "Traceback" not in text
    return body


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_hostile_request_is_answered_in_the_envelope(live: LiveMock, case: Case) -> None:
    seed(live)
    before = state(live)
    try:
        response = raw_request(live.address, case.method, case.target, case.headers, case.body)
        assert response.status in documented_statuses(case.op), (response.status, response.body)
        if case.status < 400:  # an xfail case expecting the app's normal answer
            assert response.status == case.status, response.body[:300]
        else:
            body = assert_envelope(response)
            assert response.status == case.status, body
            if case.error is not None:
                assert body["error"] == case.error, body
            if case.error_prefix is not None:
                assert body["error"].startswith(case.error_prefix), body
    finally:
        assert live.healthy()
    assert state(live) == before
    # And reading everything back still works (nothing unrenderable was stored).
    for kind in ("shifts", "calls", "units/active", "tickets", "scene-reports"):
        listed = live.get(f"{M}/{kind}", headers=dict(AUTH))
        assert listed.status_code == 200, (kind, listed.text[:200])


def test_header_just_under_the_line_limit_reaches_the_app(live: LiveMock) -> None:
    seed(live)
    headers = [*AUTH, ("x-filler", "a" * 60_000)]
    response = raw_request(live.address, "GET", f"{M}/shifts", headers)
    assert response.status == 200
    assert [s["id"] for s in json.loads(response.body)["data"]] == ["s-1"]


def test_hostile_ids_are_stored_verbatim_and_reachable(live: LiveMock) -> None:
    seed(live)
    headers = dict(AUTH)
    odd_ids = ["...", "%2e%2e", "a\u0000b", "../x", "\U0001f600", "<script>", "' OR 1=1 --"]
    odd_ids.append("\u202e")
    response = live.request(
        "PUT", f"{M}/units/active", json={"units": [{"id": i} for i in odd_ids]}, headers=headers
    )
    assert response.status_code == 200
    assert [u["id"] for u in response.json()["data"]] == odd_ids
    for unit_id in odd_ids:
        # Raw requests: `requests` would resolve "." segments before sending.
        path = f"{M}/units/active/{quote(unit_id, safe='').replace('.', '%2E')}"
        panic = raw_request(live.address, "POST", path + "/panic", AUTH + JSON_CT, b"{}")
        assert panic.status == 200, (unit_id, panic.body)
        assert json.loads(panic.body)["data"]["unit_id"] == unit_id
        deleted = raw_request(live.address, "DELETE", path, AUTH)
        assert deleted.status == 200, (unit_id, deleted.body)
        assert json.loads(deleted.body)["data"] == {"deleted": True, "unit_id": unit_id}
    remaining = live.get(f"{M}/units/active", headers=headers).json()["data"]
    assert [u["id"] for u in remaining] == ["ADAM-12"]


def test_large_valid_array_is_accepted_under_the_limit(live: LiveMock) -> None:
    seed(live)
    count = 30_000
    body = {"units": [{"id": f"U{i}"} for i in range(count)]}
    assert len(json.dumps(body)) < LIMIT
    response = live.request("PUT", f"{M}/units/active", json=body, headers=dict(AUTH))
    assert response.status_code == 200
    assert len(response.json()["data"]) == count
    listed = live.get(f"{M}/units/active?limit=100", headers=dict(AUTH)).json()["data"]
    assert len(listed) == 100
    assert live.healthy()


def test_duplicate_keys_last_one_wins_when_valid(live: LiveMock) -> None:
    seed(live)
    response = raw_request(
        live.address,
        "POST",
        f"{M}/shifts",
        AUTH + JSON_CT,
        b'{"id": "first", "id": "second", "officer_name": "A"}',
    )
    assert response.status == 201
    assert json.loads(response.body)["data"]["id"] == "second"


# -- schemathesis: negative data over the socket -------------------------------------------------
CONFIG = SchemathesisConfig.from_path(ROOT / "schemathesis.toml")
schema = schemathesis.openapi.from_path(ROOT / "openapi.yaml", config=CONFIG)
schema.config.generation.update(modes=[GenerationMode.NEGATIVE], max_examples=15)  # type: ignore[list-item]
schema.config.phases.update(phases=["coverage", "fuzzing"])


@pytest.fixture(scope="module")
def negative_target(live: LiveMock) -> str:
    assert live.post("/__mock/reset").status_code == 200
    return live.url + "/v1"


@schema.parametrize()
def test_negative_data_over_the_socket(case: Any, negative_target: str) -> None:
    case.call_and_validate(base_url=negative_target)


def test_negative_run_uses_the_shared_settings() -> None:
    assert Path(ROOT / "schemathesis.toml").is_file()
    modes = schema.config.generation.modes
    assert modes == [GenerationMode.NEGATIVE]
    phases = schema.config.phases
    assert phases.coverage.enabled and phases.fuzzing.enabled
    assert not phases.examples.enabled and not phases.stateful.enabled


# -- malformed HTTP: rejected by the HTTP server before any operation is chosen -------------------
#: (id, method, target, headers, what the app would answer if the server let it through).
MALFORMED_HTTP = [
    (
        "guild-with-nul",
        "GET",
        f"{M}/shifts",
        [
            ("x-partner-key", DEFAULT.partner_key),
            ("x-discord-guild", DEFAULT.guild_id.encode() + b"\0"),
        ],
    ),
    ("header-line-over-64k", "GET", f"{M}/shifts", [*AUTH, ("x-filler", "a" * 70_000)]),
    ("over-100-headers", "GET", f"{M}/shifts", [*AUTH, *((f"x-h{i}", "1") for i in range(120))]),
    ("request-line-over-64k", "GET", f"{M}/shifts?x=" + "a" * 70_000, list(AUTH)),
    ("unit-id-raw-bytes", "DELETE", M.encode() + b"/units/active/\xff\xfe", list(AUTH)),
    ("mdt-id-raw-nul", "GET", b"/mdts/\x00/shifts", list(AUTH)),
]
#: Route-level answers the spec documents for requests that are not valid HTTP.
PROTOCOL_ERRORS = {
    400: "Malformed HTTP request",
    414: "Request line too long",
    431: "Request headers too large",
}


@pytest.fixture(scope="module", params=["granian", "werkzeug"])
def any_server(request: pytest.FixtureRequest) -> Iterator[tuple[str, LiveMock]]:
    with LiveMock("--server", request.param) as mock:
        yield request.param, mock


@pytest.mark.parametrize(
    ("method", "target", "headers"),
    [case[1:] for case in MALFORMED_HTTP],
    ids=[case[0] for case in MALFORMED_HTTP],
)
def test_malformed_http_is_rejected_without_html_or_5xx(
    any_server: tuple[str, LiveMock], method: str, target: Any, headers: Any
) -> None:
    """Either the app answers (the server accepted the request) or a documented route-level
    rejection: in the envelope with werkzeug; with an empty body from granian, whose HTTP layer
    cannot be given one (documented on the spec's route-level responses)."""
    server, live = any_server
    before = state(live)
    response = raw_request(live.address, method, target, headers, b"")
    text = response.body.decode("utf-8", "replace")
    assert response.status < 500 and "<html" not in text.lower(), (response.status, text[:200])
    if response.status in PROTOCOL_ERRORS and (server == "werkzeug" or response.body):
        body = assert_envelope(response)
        assert body["error"] == PROTOCOL_ERRORS[response.status], body
    elif response.status in PROTOCOL_ERRORS:
        assert server == "granian" and response.body == b"", response
    else:  # it reached the app: a documented answer of the operation, in the envelope
        assert response.status in documented_statuses("listShifts") | documented_statuses(
            "deleteActiveUnit"
        ), response.status
        assert response.content_type.split(";")[0] == "application/json"
    assert live.healthy()
    assert state(live) == before
