"""``northca-mock proxy``: pass-through, checks, deviations with evidence, failures, secrets.

Northca itself is not reachable from the tests. What stands in for it: a served mock (clean,
or with planted bugs), and a tiny "puppet" WSGI app that answers whatever the test asks it to
(for what no planted bug covers).
"""

from __future__ import annotations

import http.client
import json
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
import yaml

from mockserver.app import create_app
from mockserver.bugs import BUGS
from mockserver.proxy.app import Proxy, create_proxy_app
from mockserver.proxy.forward import Upstream
from mockserver.proxy.serving import make_server
from mockserver.threaded import ThreadedServer
from mockserver.world import default_world_path
from tests.support import DEFAULT, auth_headers

#: The partner key of the worlds behind the proxy: it must never be written anywhere.
SECRET = "sk-live-NEVER-WRITE-7f3a9c2e"
HEADERS = auth_headers(key=SECRET)
SHIFTS = f"/v1/mdts/{DEFAULT.mdt_id}/shifts"
UNITS = f"/v1/mdts/{DEFAULT.mdt_id}/units/active"


def secret_world() -> dict[str, Any]:
    world: dict[str, Any] = yaml.safe_load(default_world_path().read_text(encoding="utf-8"))
    world["partner_keys"] = {SECRET: "Test Partner"}
    return world


@contextmanager
def served(app: Any) -> Iterator[str]:
    server = ThreadedServer(app).start()
    try:
        yield server.url
    finally:
        server.stop()


@contextmanager
def proxying(upstream_url: str, **options: Any) -> Iterator[tuple[Proxy, str]]:
    """A proxy to ``upstream_url`` on its own server (as the CLI runs it), in a thread."""
    timeout = options.pop("timeout", 10.0)
    proxy = Proxy(Upstream(upstream_url, timeout), **options)
    server = make_server(create_proxy_app(proxy), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield proxy, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def mock_behind_proxy(*bugs: str, **options: Any) -> Iterator[tuple[Proxy, str, str]]:
    """A served mock (the secret world, ``bugs`` planted) and a proxy in front of it."""
    with (
        served(create_app(world=secret_world(), bugs=bugs)) as upstream,
        proxying(upstream + "/v1", **options) as (proxy, url),
    ):
        yield proxy, url, upstream


def deviations(url: str) -> dict[str, Any]:
    answer = requests.get(url + "/__mock/deviations", timeout=10)
    assert answer.status_code == 200
    body = answer.json()
    assert set(body) == {"ok", "data"} and body["ok"] is True
    assert set(body["data"]) == {"exchanges", "deviations"}
    data: dict[str, Any] = body["data"]
    return data


def raw(url: str, method: str, path: str, headers: dict[str, str], body: bytes | None = None):
    """(status, reason, header list with repeats, body bytes) over http.client."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request(method, path, body=body, headers=headers)
        answer = connection.getresponse()
        return answer.status, answer.reason, answer.getheaders(), answer.read()
    finally:
        connection.close()


# -- pass-through ----------------------------------------------------------------------------------
PASS_THROUGH = [
    ("GET", f"/v1/mdts/{DEFAULT.mdt_id}", None, HEADERS),
    ("GET", SHIFTS + "?limit=5", None, HEADERS),
    ("GET", f"/mdts/{DEFAULT.mdt_id}/shifts", None, HEADERS),  # without /v1, as serve accepts
    ("POST", SHIFTS, b'{"officer_name": 5}', {**HEADERS, "content-type": "application/json"}),
    ("POST", SHIFTS, b"{", {**HEADERS, "content-type": "application/json"}),
    ("GET", SHIFTS, None, auth_headers(key="wrong")),
    ("GET", SHIFTS + "?limit=0", None, HEADERS),
    ("DELETE", SHIFTS, None, HEADERS),  # 405 with Allow
    ("GET", "/v1/no/such/path", None, HEADERS),
    ("GET", "/v1/mdts/caf%C3%A9/shifts", None, HEADERS),
    ("PUT", UNITS, b'{"units":[{"id":"A"},{"id":"A"}]}', HEADERS),
]


def _without_date(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(name.lower(), value) for name, value in headers if name.lower() != "date"]


def test_answers_pass_through_byte_for_byte() -> None:
    with mock_behind_proxy() as (_, url, upstream):
        for method, path, body, headers in PASS_THROUGH:
            direct = raw(upstream, method, path, headers, body)
            proxied = raw(url, method, path, headers, body)
            assert proxied[:2] == direct[:2], path
            assert _without_date(proxied[2]) == _without_date(direct[2]), path
            assert proxied[3] == direct[3], path
        journal = requests.get(url + "/__mock/requests", timeout=10).json()["data"]
    assert [(e["method"], e["status"]) for e in journal] == [
        (method, status)
        for method, status in [
            ("GET", 200),
            ("GET", 200),
            ("GET", 200),
            ("POST", 400),
            ("POST", 400),
            ("GET", 401),
            ("GET", 400),
            ("DELETE", 405),
            ("GET", 404),
            ("GET", 403),
            ("PUT", 400),
        ]
    ]
    assert journal[0]["operation_id"] == "getMdtInfo"
    assert journal[8]["operation_id"] is None


def _echo_app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers the request headers it got, with repeated and hop-by-hop headers of its own."""
    received = {
        key[5:].replace("_", "-").lower(): value
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    body = json.dumps({"ok": True, "data": {"headers": received, "path": environ["PATH_INFO"]}})
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/json"),
            ("Set-Cookie", "a=1"),
            ("Set-Cookie", "b=2"),
            ("Keep-Alive", "timeout=5"),
            ("X-Northca-Trace", "abc"),
        ],
    )
    return [body.encode()]


def test_end_to_end_headers_pass_and_hop_by_hop_headers_do_not() -> None:
    sent = {
        **HEADERS,
        "x-custom": "kept",
        "Connection": "x-private",
        "X-Private": "dropped: named by Connection",
        "TE": "trailers",
    }
    with served(_echo_app) as upstream, proxying(upstream + "/base") as (_, url):
        status, _, headers, body = raw(url, "GET", "/v1/guilds/1/mdts?x=1", sent)
    assert status == 200
    echoed = json.loads(body)["data"]
    assert echoed["path"] == "/base/guilds/1/mdts"
    forwarded = echoed["headers"]
    assert forwarded["x-partner-key"] == SECRET  # the upstream needs it
    assert forwarded["x-discord-guild"] == DEFAULT.guild_id
    assert forwarded["x-custom"] == "kept"
    assert "x-private" not in forwarded and "te" not in forwarded
    assert forwarded["host"] == urlsplit(upstream).netloc
    names = [name.lower() for name, _ in headers]
    assert [v for n, v in headers if n.lower() == "set-cookie"] == ["a=1", "b=2"]
    assert "keep-alive" not in names
    assert ("x-northca-trace", "abc") in [(n.lower(), v) for n, v in headers]


# -- the getting-started flow, clean upstream --------------------------------------------------
def test_a_clean_upstream_shows_no_deviation() -> None:
    with mock_behind_proxy() as (proxy, url, _):
        _flow(url)
        found = deviations(url)
    assert found == {"exchanges": 14, "deviations": []}
    assert proxy.log.upstream_failures == {}


def _flow(url: str) -> None:
    """One request per tag and the usual errors (like the getting-started curl flow)."""
    session = requests.Session()
    session.headers.update(HEADERS)
    created = session.post(
        url + "/v1/link-requests", json={"mdt_id": "9b1d3f2e-5a47-4c8e-9f10-2d6c7b8a9e01"}
    ).json()["data"]
    confirm = f"{url}/v1/link-requests/{created['id']}/confirm"
    session.post(confirm, headers={"x-discord-actor": "333333333333333333"})
    session.get(url + f"/v1/guilds/{DEFAULT.guild_id}/mdts")
    session.get(url + f"/v1/mdts/{DEFAULT.mdt_id}")
    session.post(url + f"/v1/mdts/{DEFAULT.mdt_id}/calls", json={"classification": "TRAFFIC STOP"})
    session.post(url + f"/v1/mdts/{DEFAULT.mdt_id}/scene-reports", json={"title": "Incident"})
    session.post(url + SHIFTS, json={"officer_name": "B. Bubbleton", "department": "Patrol"})
    session.post(url + f"/v1/mdts/{DEFAULT.mdt_id}/tickets", json={"title": "Tow request"})
    session.put(url + UNITS, json={"units": [{"id": "ADAM-12", "status": "10-8"}]})
    session.put(url + UNITS, json={"units": [{"id": "A"}, {"id": "A"}]})
    session.get(url + SHIFTS + "?limit=1")
    session.get(url + SHIFTS, headers={"x-partner-key": ""})
    session.delete(url + SHIFTS)
    session.get(url + "/v1/nope")


# -- one deviation per rule, from the puppet -----------------------------------------------------
def _puppet(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """Answers what the ``x-puppet`` header says: ``{"status", "headers", "body"}``."""
    order = json.loads(environ["HTTP_X_PUPPET"])
    if order.get("sleep"):
        time.sleep(order["sleep"])
    body = order["body"]
    payload = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    headers = order.get("headers", [["Content-Type", "application/json"]])
    start_response(f"{order['status']} X", [tuple(pair) for pair in headers])
    return [payload]


def _shift(shift_id: str, updated_at: str) -> dict[str, Any]:
    return {
        "id": shift_id,
        "mdt_code": DEFAULT.mdt_id,
        "officer_name": "A",
        "officer_badge": None,
        "department": None,
        "status": "active",
        "start_time": updated_at,
        "end_time": None,
        "duration_ms": None,
        "created_by_discord_id": None,
        "created_at": updated_at,
        "updated_at": updated_at,
    }


def _link_request_record(**fields: Any) -> dict[str, Any]:
    """A whole link request record (every field the spec requires), with ``fields`` set."""
    record = {
        "id": "r1",
        "partner": "Test Partner",
        "mdt_id": DEFAULT.unlinked_mdt_id,
        "guild_id": DEFAULT.guild_id,
        "status": "pending",
        "requester_discord_id": None,
        "owner_discord_id": None,
        "created_at": OLD,
        "expires_at": None,
        "decided_at": None,
    }
    return {**record, **fields}


OLD, NEW = "2026-03-01T01:00:00.000Z", "2026-03-01T02:00:00.000Z"
INFO: dict[str, Any] = {
    "id": DEFAULT.mdt_id,
    "name": "X",
    "logo_url": None,
    "map": None,
    "departments": [],
    "divisions": [],
    "settings": {},
}
ERR = {"ok": False, "error": "MDT not linked to this guild"}
NO_KEY = {"x-discord-guild": DEFAULT.guild_id}
JSON = {"content-type": "application/json"}
#: (request: method, path, headers, body; puppet answer: status, body, headers) -> deviations
RULE_CASES: list[tuple[str, tuple[Any, ...], tuple[Any, ...], set[tuple[str, str, str]]]] = [
    (
        "status.documented",
        ("POST", f"/v1/mdts/{DEFAULT.mdt_id}/tickets", JSON, b'{"title": "t"}'),
        (202, {"ok": True, "data": {"id": "t1"}}),
        {("status.documented", "partial", "operation")},
    ),
    (
        "envelope.json",
        ("GET", f"/v1/mdts/{DEFAULT.mdt_id}", {}, None),
        (200, "<html>hi</html>", [["Content-Type", "text/html"]]),
        {("envelope.json", "documented", "envelope")},
    ),
    (
        "envelope.success",
        ("GET", f"/v1/mdts/{DEFAULT.mdt_id}", {}, None),
        (200, {"data": INFO}),
        {("envelope.success", "documented", "envelope"), ("response.schema", "inferred", "schema")},
    ),
    (
        "envelope.error",
        ("GET", f"/v1/mdts/{DEFAULT.mdt_id}", {}, None),
        (403, {"error": "MDT not linked to this guild"}),
        {("envelope.error", "documented", "envelope"), ("response.schema", "documented", "schema")},
    ),
    (
        "response.schema",
        ("GET", f"/v1/mdts/{DEFAULT.mdt_id}", {}, None),
        (200, {"ok": True, "data": {**INFO, "name": 5}}),
        {("response.schema", "inferred", "schema")},
    ),
    (
        # LinkRequest is a seed schema, but its `required` list is ours (partial evidence).
        "response.schema (required)",
        ("POST", "/v1/link-requests", JSON, b'{"mdt_id": "x"}'),
        (
            201,
            {
                "ok": True,
                "data": {k: v for k, v in _link_request_record().items() if k != "partner"},
            },
        ),
        {("response.schema", "partial", "schema")},
    ),
    (
        "format.date-time",
        ("GET", SHIFTS, {}, None),
        (200, {"ok": True, "data": [{**_shift("s1", NEW), "start_time": "yesterday"}]}),
        {("format.date-time", "inferred", "schema"), ("response.schema", "inferred", "schema")},
    ),
    (
        "error.documented",
        ("PUT", UNITS, JSON, b'{"units": [{"id": "A"}, {"id": "A"}]}'),
        (400, {"ok": False, "error": "Duplicate id"}),
        {("error.documented", "partial", "example")},
    ),
    (
        "auth.missing-key",
        ("GET", SHIFTS, {"x-partner-key": ""}, None),
        (200, {"ok": True, "data": []}),
        {("auth.missing-key", "documented", "example")},
    ),
    (
        "auth.missing-guild",
        ("GET", SHIFTS, {"x-discord-guild": ""}, None),
        (200, {"ok": True, "data": []}),
        {("auth.missing-guild", "documented", "example")},
    ),
    (
        "body.invalid-json",
        ("POST", SHIFTS, JSON, b"{"),
        (500, {"ok": False, "error": "Internal server error"}),
        {("body.invalid-json", "documented", "example")},
    ),
    (
        "list.limit",
        ("GET", SHIFTS + "?limit=1", {}, None),
        (200, {"ok": True, "data": [_shift("s2", NEW), _shift("s1", OLD)]}),
        {("list.limit", "inferred", "parameter")},
    ),
    (
        "list.default-limit",
        ("GET", SHIFTS, {}, None),
        (200, {"ok": True, "data": [_shift(f"s{i}", OLD) for i in range(51)]}),
        {("list.default-limit", "inferred", "parameter")},
    ),
    (
        "list.order",
        ("GET", SHIFTS, {}, None),
        (200, {"ok": True, "data": [_shift("s1", OLD), _shift("s2", NEW)]}),
        {("list.order", "partial", "operation")},
    ),
    (
        "routing.allow-header",
        ("DELETE", SHIFTS, {}, None),
        (405, {"ok": False, "error": "Method not allowed"}),
        {("routing.allow-header", "inferred", "response")},
    ),
    (
        "link.owner-only",
        ("POST", "/v1/link-requests/r1/confirm", {"x-discord-actor": "1"}, None),
        (200, {"ok": True, "data": _link_request_record(status="approved", owner_discord_id="2")}),
        {("link.owner-only", "inferred", "example")},
    ),
    (
        "link.expiry",
        ("POST", "/v1/link-requests/r1/confirm", {"x-discord-actor": "2"}, None),
        (
            200,
            {
                "ok": True,
                "data": _link_request_record(
                    status="approved", owner_discord_id="2", expires_at=OLD, decided_at=NEW
                ),
            },
        ),
        {("link.expiry", "inferred", "example")},
    ),
    (
        "request.refused",
        ("PUT", UNITS, JSON, b'{"units": [{"id": "A"}, {"id": "A"}]}'),
        (200, {"ok": True, "data": []}),
        {("request.refused.duplicateId", "documented", "example")},
    ),
    (
        "request.refused (limit)",
        ("GET", SHIFTS + "?limit=0", {}, None),
        (200, {"ok": True, "data": []}),
        {("request.refused.invalidLimit", "inferred", "example")},
    ),
    (
        "none",
        ("GET", SHIFTS, {}, None),
        (200, {"ok": True, "data": [_shift("s2", NEW), _shift("s1", OLD)]}),
        set(),
    ),
]


@pytest.fixture(scope="module")
def puppet_proxy() -> Iterator[tuple[Proxy, str]]:
    with served(_puppet) as upstream, proxying(upstream + "/v1") as found:
        yield found


@pytest.mark.parametrize("case", RULE_CASES, ids=[case[0] for case in RULE_CASES])
def test_each_rule_is_one_deviation_with_its_evidence(
    puppet_proxy: tuple[Proxy, str], case: tuple[str, tuple[Any, ...], tuple[Any, ...], set[Any]]
) -> None:
    proxy, url = puppet_proxy
    _, (method, path, extra, body), answer, expected = case
    order: dict[str, Any] = {"status": answer[0], "body": answer[1]}
    if len(answer) > 2:
        order["headers"] = answer[2]
    headers = {**HEADERS, **extra, "x-puppet": json.dumps(order)}
    before = proxy.log.distinct()
    proxy.log = type(proxy.log)()  # a fresh log per case
    status, _, _, _ = raw(url, method, path, headers, body)
    assert status == answer[0]
    found = deviations(url)
    assert found["exchanges"] == 1
    got = {(d["rule"], d["evidence"], d["part"]) for d in found["deviations"]}
    assert got == expected, (before, found["deviations"])
    for deviation in found["deviations"]:
        assert deviation["method"] == method
        assert deviation["path"] == path.split("?")[0]
        assert deviation["status"] == answer[0]
        assert deviation["spec_location"].startswith("#/")
        assert deviation["expected"] and deviation["actual"] and deviation["count"] == 1


# -- every planted bug a single exchange can show ------------------------------------------------
def _two_shifts(url: str, upstream: str) -> None:
    requests.post(url + SHIFTS, json={"officer_name": "A"}, headers=HEADERS, timeout=10)
    requests.post(upstream + "/__mock/clock", json={"advance_seconds": 5}, timeout=10)
    requests.post(url + SHIFTS, json={"officer_name": "B"}, headers=HEADERS, timeout=10)


def _link_request(url: str) -> str:
    body = {"mdt_id": "9b1d3f2e-5a47-4c8e-9f10-2d6c7b8a9e01"}
    answer = requests.post(url + "/v1/link-requests", json=body, headers=HEADERS, timeout=10)
    request_id: str = answer.json()["data"]["id"]
    return request_id


def _trigger(bug: str, url: str, upstream: str) -> None:
    if bug == "wrong-error-string" or bug == "accepts-duplicate-unit-ids":
        requests.put(url + UNITS, json={"units": [{"id": "A"}, {"id": "A"}]}, headers=HEADERS)
    elif bug == "ignores-partner-key":
        requests.get(url + SHIFTS, headers={"x-discord-guild": DEFAULT.guild_id})
    elif bug in ("lists-not-newest-first", "limit-ignored"):
        _two_shifts(url, upstream)
        requests.get(url + SHIFTS + "?limit=1", headers=HEADERS)
        requests.get(url + SHIFTS, headers=HEADERS)
    elif bug == "integers-stored-as-strings":
        requests.post(url + SHIFTS, json={"officer_name": "A", "duration_ms": 5}, headers=HEADERS)
    elif bug == "dates-not-iso8601":
        requests.post(url + SHIFTS, json={"officer_name": "A"}, headers=HEADERS)
    elif bug == "500-on-invalid-json":
        requests.post(url + SHIFTS, data=b"{", headers={**HEADERS, **JSON})
    elif bug == "undocumented-status":
        requests.post(
            url + f"/v1/mdts/{DEFAULT.mdt_id}/tickets", json={"title": "t"}, headers=HEADERS
        )
    elif bug == "missing-allow-on-405":
        requests.delete(url + SHIFTS, headers=HEADERS)
    elif bug == "envelope-without-ok":
        requests.get(url + f"/v1/mdts/{DEFAULT.mdt_id}", headers=HEADERS)
    elif bug == "confirm-by-non-owner":
        request_id = _link_request(url)
        requests.post(url + f"/v1/link-requests/{request_id}/confirm", headers=HEADERS)
    elif bug == "expired-request-confirmable":
        request_id = _link_request(url)
        requests.post(upstream + "/__mock/clock", json={"advance_seconds": 3600}, timeout=10)
        owner = {**HEADERS, "x-discord-actor": "333333333333333333"}
        requests.post(url + f"/v1/link-requests/{request_id}/confirm", headers=owner)
    else:  # pragma: no cover - the catalogue test below keeps the two lists complete
        raise AssertionError(bug)


#: Each bug one exchange shows, and the rule its deviation names.
SINGLE_EXCHANGE = {
    "wrong-error-string": "error.documented",
    "ignores-partner-key": "auth.missing-key",
    "lists-not-newest-first": "list.order",
    "limit-ignored": "list.limit",
    "dates-not-iso8601": "format.date-time",
    "500-on-invalid-json": "body.invalid-json",
    "undocumented-status": "status.documented",
    "missing-allow-on-405": "routing.allow-header",
    "envelope-without-ok": "envelope.success",
    "confirm-by-non-owner": "link.owner-only",
    "expired-request-confirmable": "link.expiry",
    "accepts-duplicate-unit-ids": "request.refused.duplicateId",
    "integers-stored-as-strings": "response.schema",
}
#: Bugs no single exchange shows, and why.
NOT_SINGLE_EXCHANGE = {
    "skips-guild-link-check": "whether the MDT is linked to the caller's guild is state that the"
    " exchange does not carry (the guild-link workflows catch it)",
    "rejected-create-touches-record": "the answer is the documented 4xx; only a read afterwards"
    " shows the stored change (the contract checker's read-back)",
    "partial-upsert": "the answer is the documented 400; only a read afterwards shows the units"
    " kept",
    "patch-not-stored": "the answer shows the patched call; only a read afterwards shows it was"
    " not stored",
    "patch-keeps-updated-at": "one answer holds no earlier `updated_at` to compare with",
    "upsert-resets-created-at": "one answer cannot tell a re-upsert from a first upsert",
    "guild-list-shows-every-guild": "one answer does not say which guilds each MDT is linked to",
    "records-shared-across-mdts": "one answer does not show what another MDT's list holds",
}


def test_the_bug_catalogue_is_split_in_two() -> None:
    assert set(SINGLE_EXCHANGE) | set(NOT_SINGLE_EXCHANGE) == set(BUGS)
    assert not set(SINGLE_EXCHANGE) & set(NOT_SINGLE_EXCHANGE)


@pytest.mark.parametrize("bug", sorted(SINGLE_EXCHANGE))
def test_each_single_exchange_bug_is_reported(bug: str) -> None:
    with mock_behind_proxy(bug) as (_, url, upstream):
        _trigger(bug, url, upstream)
        rules = {d["rule"] for d in deviations(url)["deviations"]}
    assert SINGLE_EXCHANGE[bug] in rules


@pytest.mark.parametrize("bug", sorted(SINGLE_EXCHANGE))
def test_the_same_requests_to_a_clean_mock_show_nothing(bug: str) -> None:
    with mock_behind_proxy() as (_, url, upstream):
        _trigger(bug, url, upstream)
        assert deviations(url)["deviations"] == []


# -- upstream failures ---------------------------------------------------------------------------
def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_an_unreachable_upstream_is_a_502_and_a_slow_one_a_504(tmp_path: Path) -> None:
    with proxying(f"http://127.0.0.1:{_closed_port()}/v1", report_dir=tmp_path) as (proxy, url):
        answer = requests.get(url + SHIFTS, headers=HEADERS, timeout=10)
        assert answer.status_code == 502
        assert answer.json() == {"ok": False, "error": "Upstream unreachable"}
        assert "Connection refused" in answer.headers["x-northca-mock-detail"]
    with served(_puppet) as upstream, proxying(upstream, timeout=0.5) as (slow, slow_url):
        order = json.dumps({"status": 200, "body": {"ok": True, "data": []}, "sleep": 3})
        started = time.monotonic()
        answer = requests.get(slow_url + SHIFTS, headers={**HEADERS, "x-puppet": order})
        assert time.monotonic() - started < 2.5
        assert answer.status_code == 504
        assert answer.json() == {"ok": False, "error": "Upstream timed out"}
        assert answer.headers["x-northca-mock-detail"].startswith("no answer within 0.5 s")
        assert deviations(slow_url) == {"exchanges": 0, "deviations": []}
        assert slow.log.upstream_failures == {"timeout": 1}
        journal = requests.get(slow_url + "/__mock/requests", timeout=10).json()["data"]
        assert [(e["status"], e["operation_id"]) for e in journal] == [(504, "listShifts")]
    assert proxy.log.upstream_failures == {"unreachable": 1}
    proxy.write_files()
    report = json.loads((tmp_path / "deviations.json").read_text())
    assert report["upstream_failures"] == {"unreachable": 1}
    assert (
        "Upstream failures (answered 502/504 by the proxy): unreachable: 1."
        in (tmp_path / "deviations.md").read_text()
    )


# -- the control plane ---------------------------------------------------------------------------
def test_snapshot_without_files_is_a_409_and_unknown_control_paths_404() -> None:
    with proxying("http://127.0.0.1:9/v1") as (_, url):
        answer = requests.post(url + "/__mock/snapshot", timeout=10)
        assert (answer.status_code, answer.json()) == (
            409,
            {
                "ok": False,
                "error": "Nothing to write (start the proxy with --report-dir or --record)",
            },
        )
        missing = requests.get(url + "/__mock/nope", timeout=10)
        assert (missing.status_code, missing.json()) == (404, {"ok": False, "error": "Not found"})
        wrong = requests.delete(url + "/__mock/deviations", timeout=10)
        assert (wrong.status_code, wrong.json()) == (
            405,
            {"ok": False, "error": "Method not allowed"},
        )
        assert wrong.headers["Allow"] == "GET, HEAD, OPTIONS"


def test_the_proxy_control_document_matches_its_routes() -> None:
    from openapi_spec_validator import validate
    from openapi_spec_validator.readers import read_from_filename

    from mockserver.proxy.app import control_spec, control_spec_path

    document, _ = read_from_filename(str(control_spec_path()))
    validate(document)

    proxy = Proxy(Upstream("http://127.0.0.1:9"))
    app = create_proxy_app(proxy)
    served_routes = {
        (method, re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(("northca_proxy_control.", "northca_inspector."))
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    prefix = control_spec().base_path
    documented = {(op.method, prefix + op.path) for op in control_spec().operations.values()}
    assert served_routes == documented


def test_the_proxy_serves_the_inspector_page() -> None:
    client = create_proxy_app(Proxy(Upstream("http://127.0.0.1:9"))).test_client()
    page = client.get("/__mock/")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert client.get("/__mock/inspector/app.js").status_code == 200
    # Its data: the proxy's journal and deviations; the mock-only panels answer 404 and hide.
    assert client.get("/__mock/deviations").get_json()["data"]["exchanges"] == 0
    assert client.get("/__mock/state").status_code == 404


def test_the_spec_is_served_by_the_proxy_without_a_key() -> None:
    with proxying("http://127.0.0.1:9/v1") as (proxy, url):
        text = requests.get(url + "/openapi.yaml", timeout=10)
        assert text.status_code == 200
        assert text.headers["content-type"].startswith("application/yaml")
        document = requests.get(url + "/openapi.json", timeout=10).json()
    assert yaml.safe_load(text.text) == document
    # The proxy's view: its own 502 and 504 are attached to every operation, and moved from the
    # spec's root `x-northca-route-responses` into components; nothing else changes.
    original = proxy.spec.document
    responses = document["components"]["responses"]
    for name, error in (("UpstreamUnreachable", "Upstream unreachable"),
                        ("UpstreamTimeout", "Upstream timed out")):  # fmt: skip
        assert responses[name] == original["x-northca-route-responses"][name]
        examples = responses[name]["content"]["application/json"]["examples"]
        assert [e["value"] for e in examples.values()] == [{"ok": False, "error": error}]
    assert set(document["x-northca-route-responses"]) == {"CorsPreflight", "WebSocketNotSupported"}
    for path, item in document["paths"].items():
        for method, operation in item.items():
            own = original["paths"][path][method]
            assert operation["responses"].pop("502") == {
                "$ref": "#/components/responses/UpstreamUnreachable"
            }
            assert operation["responses"].pop("504") == {
                "$ref": "#/components/responses/UpstreamTimeout"
            }
            assert operation == own
    assert document["info"] == original["info"]


# -- files, record, replay, secrets --------------------------------------------------------------
def _record_flow(url: str) -> dict[str, Any]:
    """Writes through the proxy, then lists every collection; returns what was listed."""
    session = requests.Session()
    session.headers.update(HEADERS)
    base = f"{url}/v1/mdts/{DEFAULT.mdt_id}"
    session.post(base + "/shifts", json={"officer_name": "A", "department": "Patrol"})
    session.post(base + "/calls", json={"classification": "TRAFFIC STOP"})
    call = session.post(base + "/calls", json={"classification": "PURSUIT"}).json()["data"]
    session.patch(base + f"/calls/{call['id']}", json={"status": "closed"})
    session.post(base + "/scene-reports", json={"title": "Incident"})
    session.post(base + "/tickets", json={"title": "Tow"})
    session.put(base + "/units/active", json={"units": [{"id": "ADAM-12"}, {"id": "LINCOLN-3"}]})
    session.delete(base + "/units/active/LINCOLN-3")
    session.get(base)
    other = "9b1d3f2e-5a47-4c8e-9f10-2d6c7b8a9e01"
    request = session.post(f"{url}/v1/link-requests", json={"mdt_id": other}).json()["data"]
    owner = {"x-discord-actor": "333333333333333333"}
    session.post(f"{url}/v1/link-requests/{request['id']}/confirm", headers=owner)
    listed = {
        kind: session.get(f"{base}/{kind}").json()["data"]
        for kind in ("shifts", "calls", "scene-reports", "tickets", "units/active")
    }
    listed["info"] = session.get(base).json()["data"]
    listed["guild"] = session.get(f"{url}/v1/guilds/{DEFAULT.guild_id}/mdts").json()["data"]
    return listed


def test_a_record_replayed_with_serve_seed_lists_what_the_upstream_listed(tmp_path: Path) -> None:
    from tests.live import LiveMock

    record = tmp_path / "world.json"
    with mock_behind_proxy(record=record) as (proxy, url, _):
        listed = _record_flow(url)
        snapshot = requests.post(url + "/__mock/snapshot", timeout=10).json()
    assert snapshot == {"ok": True, "data": {"written": [str(record)]}}
    world = json.loads(record.read_text())
    assert world["partner_keys"] == {"test-key": "Test Partner"}
    other = "9b1d3f2e-5a47-4c8e-9f10-2d6c7b8a9e01"
    assert world["links"] == [
        {"mdt_id": DEFAULT.mdt_id, "guild_id": DEFAULT.guild_id},
        {"mdt_id": other, "guild_id": DEFAULT.guild_id},
    ]
    assert [(m["id"], m["owner_discord_id"]) for m in world["mdts"]] == [
        (DEFAULT.mdt_id, DEFAULT.actor_id),
        (other, "333333333333333333"),
    ]
    assert [u["id"] for u in world["records"][DEFAULT.mdt_id]["active_units"]] == ["ADAM-12"]
    assert proxy.recorder is not None and proxy.recorder.rejected == 0
    with LiveMock("--seed", record, "--server", "werkzeug") as replay:
        headers = auth_headers()  # the record's key is the default world's test-key
        base = f"/v1/mdts/{DEFAULT.mdt_id}"
        for kind in ("shifts", "calls", "scene-reports", "tickets", "units/active"):
            assert replay.get(f"{base}/{kind}", headers=headers).json()["data"] == listed[kind]
        assert replay.get(base, headers=headers).json()["data"] == listed["info"]
        guild = replay.get(f"/v1/guilds/{DEFAULT.guild_id}/mdts", headers=headers).json()["data"]
        assert [link["mdt_id"] for link in guild] == [link["mdt_id"] for link in listed["guild"]]
        assert replay.get(base, headers=HEADERS).status_code == 401  # the seen key is not in it


def test_the_cli_writes_reports_on_snapshot_and_sigterm_and_never_the_key(tmp_path: Path) -> None:
    from tests.live import LiveMock

    world_file = tmp_path / "secret-world.json"
    world_file.write_text(json.dumps(secret_world()))
    reports, record = tmp_path / "r", tmp_path / "recorded.json"
    with LiveMock("--seed", world_file) as upstream:
        proxy = LiveMock(
            "--upstream",
            upstream.url + "/v1",
            "--report-dir",
            reports,
            "--record",
            record,
            subcommand="proxy",
        )
        with proxy:
            _record_flow(proxy.url)
            requests.get(proxy.url + SHIFTS, headers=auth_headers(key=SECRET + "-wrong"))
            answers = [
                requests.get(proxy.url + path, timeout=10).text
                for path in ("/__mock/deviations", "/__mock/requests")
            ]
            written = requests.post(proxy.url + "/__mock/snapshot", timeout=10).json()["data"]
            assert sorted(written["written"]) == sorted(
                str(p) for p in (reports / "deviations.json", reports / "deviations.md", record)
            )
            for path in (reports / "deviations.json", reports / "deviations.md", record):
                path.unlink()
        assert proxy.process is not None and proxy.process.returncode == 0
    markdown = (reports / "deviations.md").read_text()  # written again on SIGTERM
    assert "## listShifts" in markdown and "## getMdtInfo" in markdown
    document = json.loads((reports / "deviations.json").read_text())
    assert document["exchanges"] == 19
    assert document["deviations"] == []
    outputs = [
        *answers,
        markdown,
        (reports / "deviations.json").read_text(),
        record.read_text(),
        proxy.output(),
    ]
    for text in outputs:
        assert SECRET not in text


def test_the_key_is_in_no_report_even_when_the_answers_deviate(tmp_path: Path) -> None:
    with mock_behind_proxy(
        "ignores-partner-key", "dates-not-iso8601", report_dir=tmp_path, record=tmp_path / "w.json"
    ) as (proxy, url, upstream):
        _trigger("ignores-partner-key", url, upstream)
        _record_flow(url)
        requests.post(url + SHIFTS, data=b"{", headers={**HEADERS, **JSON}, timeout=10)
        answers = [
            requests.get(url + path, timeout=10).text
            for path in ("/__mock/deviations", "/__mock/requests")
        ]
        proxy.write_files()
    assert json.loads(answers[0])["data"]["deviations"]
    for text in [*answers, *(p.read_text() for p in tmp_path.iterdir())]:
        assert SECRET not in text


def test_concurrent_exchanges_are_all_counted() -> None:
    with mock_behind_proxy() as (_, url, _):

        def read() -> None:
            for _ in range(10):
                requests.get(url + SHIFTS, headers=HEADERS, timeout=10)

        threads = [threading.Thread(target=read) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert deviations(url) == {"exchanges": 40, "deviations": []}


def test_actor_header_is_passed_as_sent() -> None:
    with served(_echo_app) as upstream, proxying(upstream) as (_, url):
        echoed = requests.get(url + "/x", headers={**HEADERS}, timeout=10).json()
    assert echoed["data"]["headers"]["x-discord-actor"] == DEFAULT.actor_id


# -- done when: the docs' curl flow through the CLI proxy, and the bare install -----------------
def _getting_started_flow() -> str:
    page = Path(__file__).resolve().parents[1] / "docs" / "getting-started.md"
    section = page.read_text(encoding="utf-8").split("## Try it", 1)[1]
    return section.split("```sh\n", 1)[1].split("```", 1)[0]


@pytest.mark.skipif(shutil.which("curl") is None, reason="the getting-started flow needs curl")
def test_the_getting_started_curl_flow_through_the_proxy_shows_no_deviation(tmp_path: Path) -> None:
    from tests.live import LiveMock

    flow = _getting_started_flow()
    assert "B=http://127.0.0.1:4010/v1" in flow
    with (
        LiveMock() as upstream,
        LiveMock(
            "--upstream", upstream.url + "/v1", "--report-dir", tmp_path / "r", subcommand="proxy"
        ) as proxy,
    ):
        script = flow.replace("http://127.0.0.1:4010", proxy.url)
        ran = subprocess.run(
            ["bash", "-e", "-c", script], capture_output=True, text=True, timeout=60, check=False
        )
        assert ran.returncode == 0, ran.stderr
        assert '"error":"Duplicate unit id in request body"}' in ran.stdout
        found = deviations(proxy.url)
    assert found == {"exchanges": flow.count("curl -s"), "deviations": []}
    assert (tmp_path / "r" / "deviations.md").is_file()  # written on SIGTERM


BARE_INSTALL = """
import sys
for name in ("schemathesis", "hypothesis"):
    sys.modules[name] = None  # as in an install without the [contracts] extra
from mockserver.cli import main
try:
    main(["proxy", "--help"])
except SystemExit as done:
    assert done.code == 0
import requests
from mockserver.app import create_app
from mockserver.threaded import ThreadedServer
from tests.test_proxy import HEADERS, SHIFTS, deviations, proxying, secret_world
upstream = ThreadedServer(create_app(world=secret_world())).start()
with proxying(upstream.url + "/v1") as (proxy, url):
    assert requests.get(url + SHIFTS, headers=HEADERS, timeout=10).status_code == 200
    assert deviations(url) == {"exchanges": 1, "deviations": []}
heavy = ("schemathesis", "hypothesis")
assert not [m for m in sys.modules if m.startswith(heavy) and sys.modules[m]]
print("bare proxy ok")
"""


def test_the_proxy_needs_neither_schemathesis_nor_hypothesis() -> None:
    ran = subprocess.run(
        [sys.executable, "-c", BARE_INSTALL],
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert "usage: northca-mock proxy" in ran.stdout
    assert ran.stdout.strip().endswith("bare proxy ok")


def test_a_failing_check_still_passes_the_answer_and_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import mockserver.proxy.app as proxy_app

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("planted failure")

    monkeypatch.setattr(proxy_app, "run_checks", broken)
    with mock_behind_proxy() as (proxy, url, _):
        answer = requests.get(url + SHIFTS, headers=HEADERS, timeout=10)
        assert (answer.status_code, answer.json()) == (200, {"ok": True, "data": []})
        assert [type(e) for e in proxy.errors] == [RuntimeError]
        monkeypatch.setattr(proxy, "match", broken)
        failed = requests.get(url + SHIFTS, headers=HEADERS, timeout=10)
        assert (failed.status_code, failed.json()) == (
            500,
            {"ok": False, "error": "Internal server error"},
        )


def test_a_port_in_use_is_a_clear_error_and_exit_code_2() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ran = subprocess.run(
            [sys.executable, "-m", "mockserver", "proxy", "--upstream", "http://127.0.0.1:9",
             "--port", str(port)],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert ran.returncode == 2
    assert f"northca-mock: cannot listen on 127.0.0.1:{port}" in ran.stderr


def test_the_proxy_refuses_a_foreign_host_and_origin_like_serve() -> None:
    with mock_behind_proxy() as (_proxy, url, _upstream):
        status, _, _, body = raw(url, "GET", "/__mock/deviations", {"Host": "evil.example:4011"})
        assert (status, json.loads(body)) == (403, {"ok": False, "error": "Forbidden host"})
        status, _, _, body = raw(url, "GET", "/__mock/requests", {"Origin": "http://evil.example"})
        assert (status, json.loads(body)) == (403, {"ok": False, "error": "Forbidden origin"})
        assert requests.get(url + "/__mock/deviations", timeout=10).status_code == 200
