"""Memory is bounded, and a slow upload holds no one up (issue 15: F1 body-before-lock, F5, F6,
F7, F11). Every cap is a ``serve`` flag and a ``create_app`` parameter with a documented answer.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from mockserver import create_app
from mockserver.app import server_of
from mockserver.handlers.registry import HANDLERS
from mockserver.world import WorldError
from tests.live import LiveMock
from tests.support import DEFAULT, auth_headers

SERVERS = ("granian", "werkzeug")
SHIFTS = f"/mdts/{DEFAULT.mdt_id}/shifts"
NS = "x-mock-namespace"
NAMESPACE_LIMIT = {"ok": False, "error": "Namespace limit reached"}
NAMESPACE_LIMIT_DETAIL = (
    "x-mock-namespace: the mock holds its limit of 3 namespaces (serve --max-namespaces)"
)


def world(mdts: int = 1, partners: int = 1, links: int = 1) -> dict[str, Any]:
    ids = [f"mdt-{index}" for index in range(mdts)]
    return {
        "partner_keys": {f"key-{index}": f"P{index}" for index in range(partners)},
        "mdts": [{"id": mdt_id} for mdt_id in ids],
        "links": [{"mdt_id": ids[0], "guild_id": str(guild)} for guild in range(links)],
    }


# -- F1: the body is read before the namespace lock ----------------------------------------------
# With one granian request thread, that thread itself waits for the body: the read timeout
# (a server setting) is what frees it.
@pytest.mark.parametrize(("server", "threads"), [("granian", "4"), ("werkzeug", "1")])
def test_a_stalled_upload_holds_no_one_up(server: str, threads: str) -> None:
    with LiveMock("--server", server, "--threads", threads) as live:
        stalled = socket.create_connection(live.address, timeout=30)
        try:
            stalled.sendall(
                b"POST /link-requests HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + f"x-partner-key: {DEFAULT.partner_key}\r\nx-discord-guild: 1\r\n".encode()
                + b"content-type: application/json\r\nContent-Length: 10\r\n\r\n{"
            )
            # Same namespace, partner API and control plane: answered at once.
            for _ in range(3):
                created = live.post(SHIFTS, json={}, headers=auth_headers(), timeout=5)
                assert created.status_code == 201
            state = live.get("/__mock/state", timeout=5)
            assert state.status_code == 200
            assert len(state.json()["data"]["mdts"][DEFAULT.mdt_id]["shifts"]) == 3
        finally:
            stalled.close()


# -- F5: the journal is bounded in bytes, bodies are cut and marked ------------------------------
def test_a_long_body_is_journaled_cut_and_marked() -> None:
    app = create_app(journal_max_body_bytes=100)
    client = app.test_client()
    raw = json.dumps({"id": "long", "officer_name": "x" * 500}).encode()
    created = client.post(SHIFTS, data=raw, content_type="application/json", headers=auth_headers())
    assert created.status_code == 201
    short = client.post(SHIFTS, json={"id": "short"}, headers=auth_headers())
    assert short.status_code == 201
    journal = client.get("/__mock/requests").get_json()["data"]
    kept = ("method", "path", "status", "operation_id", "body", "body_truncated")
    assert [{key: entry[key] for key in kept if key in entry} for entry in journal] == [
        {
            "method": "POST",
            "path": SHIFTS,
            "status": 201,
            "operation_id": "createShift",
            "body": raw[:100].decode(),
            "body_truncated": True,
        },
        {
            "method": "POST",
            "path": SHIFTS,
            "status": 201,
            "operation_id": "createShift",
            "body": {"id": "short"},
        },
    ]


def test_the_journal_keeps_its_newest_entries_within_its_bytes() -> None:
    app = create_app(journal_max_bytes=20_000, journal_max_body_bytes=1_000)
    client = app.test_client()
    for index in range(100):
        body = {"id": f"s-{index:03d}", "officer_name": "y" * 5_000}
        assert client.post(SHIFTS, json=body, headers=auth_headers()).status_code == 201
    answer = client.get("/__mock/requests")
    journal = answer.get_json()["data"]
    assert len(answer.data) <= 20_000
    assert 5 <= len(journal) < 100
    assert journal[-1]["body"].startswith('{"id": "s-099", "officer_name": "yyy')
    assert all(entry["body_truncated"] is True for entry in journal)
    # A reset empties it, and it fills again.
    assert client.post("/__mock/reset").status_code == 200
    assert client.get("/__mock/requests").get_json()["data"] == []


@pytest.mark.parametrize("server", SERVERS)
def test_the_journal_cap_holds_on_the_served_mock(server: str) -> None:
    flags = ["--journal-max-bytes", "50000", "--journal-max-body-bytes", "200"]
    with LiveMock("--server", server, *flags) as live:
        for index in range(40):
            body = {"units": [{"id": f"U-{index}-{unit}", "status": "10-8"} for unit in range(400)]}
            upserted = live.request(
                "PUT", f"/mdts/{DEFAULT.mdt_id}/units/active", json=body, headers=auth_headers()
            )
            assert upserted.status_code == 200
        answer = live.get("/__mock/requests")
        assert answer.status_code == 200
        assert len(answer.content) <= 50_000
        journal = answer.json()["data"]
        assert len(journal) == 40
        assert {entry["body_truncated"] for entry in journal} == {True}
        assert {len(entry["body"]) for entry in journal} == {200}


# -- F6: namespaces are capped, and created only after auth --------------------------------------
def test_failed_auth_and_routing_errors_create_no_namespace() -> None:
    app = create_app(admin_token="secret")
    client = app.test_client()
    states = server_of(app).states
    assert client.get(SHIFTS, headers={NS: "a"}).status_code == 401
    assert client.get("/nowhere", headers={**auth_headers(key="wrong"), NS: "b"}).status_code == 401
    assert client.get("/nowhere", headers={**auth_headers(), NS: "c"}).status_code == 404
    assert client.post("/__mock/reset", headers={NS: "d"}).status_code == 401
    assert client.get("/__mock/state", headers={NS: "e"}).status_code == 401
    assert list(states) == [""]
    assert client.get(SHIFTS, headers={**auth_headers(), NS: "f"}).status_code == 200
    assert list(states) == ["", "f"]
    assert [
        entry["status"]
        for entry in client.get(
            "/__mock/requests", headers={NS: "f", "x-mock-admin-token": "secret"}
        ).get_json()["data"]
    ] == [200]


def test_a_new_namespace_past_the_limit_is_503_and_the_others_keep_working() -> None:
    app = create_app(max_namespaces=3)
    client = app.test_client()
    for name in ("one", "two"):
        assert client.get(SHIFTS, headers={**auth_headers(), NS: name}).status_code == 200
    refused = client.post(SHIFTS, json={}, headers={**auth_headers(), NS: "three"})
    assert (refused.status_code, refused.get_json()) == (503, NAMESPACE_LIMIT)
    assert refused.headers["x-northca-mock-detail"] == NAMESPACE_LIMIT_DETAIL
    control = client.get("/__mock/state", headers={NS: "three"})
    assert (control.status_code, control.get_json()) == (503, NAMESPACE_LIMIT)
    assert client.get(SHIFTS, headers={**auth_headers(), NS: "two"}).status_code == 200
    assert client.get("/__mock/state", headers={NS: "one"}).status_code == 200
    assert list(server_of(app).states) == ["", "one", "two"]


@pytest.mark.parametrize("server", SERVERS)
def test_the_namespace_cap_holds_on_the_served_mock(server: str) -> None:
    with LiveMock("--server", server, "--max-namespaces", "3", "--admin-token", "t") as live:
        for name in ("a", "b", "c", "d"):  # unauthenticated: they create nothing
            assert live.get(SHIFTS, headers={NS: name}).status_code == 401
            assert live.get("/__mock/state", headers={NS: name}).status_code == 401
        for name in ("x", "y"):
            assert live.get(SHIFTS, headers={**auth_headers(), NS: name}).status_code == 200
        refused = live.get(SHIFTS, headers={**auth_headers(), NS: "z"})
        assert (refused.status_code, refused.json()) == (503, NAMESPACE_LIMIT)
        assert refused.headers["x-northca-mock-detail"] == NAMESPACE_LIMIT_DETAIL


# -- F7: the world's size is capped --------------------------------------------------------------
def test_too_many_mdts_are_refused_everywhere(tmp_path: Path) -> None:
    message = "mdts: 3 MDTs, more than the limit of 2 (serve --max-mdts)"
    with pytest.raises(WorldError, match=r"^mdts: 3 MDTs, more than the limit of 2 "):
        create_app(world=world(mdts=3), max_mdts=2)
    app = create_app(world=world(mdts=2), max_mdts=2)
    answer = app.test_client().post("/__mock/world", json=world(mdts=3))
    assert (answer.status_code, answer.get_json()) == (400, {"ok": False, "error": message})
    assert sorted(server_of(app).state.world.mdts) == ["mdt-0", "mdt-1"]


def test_partners_times_links_are_capped() -> None:
    message = (
        "links: 6 link records (2 links, a link without partner counting once per partner),"
        " more than the limit of 5 (serve --max-world-links)"
    )
    app = create_app(world=world(partners=3, links=1), max_world_links=5)
    answer = app.test_client().post("/__mock/world", json=world(partners=3, links=2))
    assert (answer.status_code, answer.get_json()) == (400, {"ok": False, "error": message})
    # Exactly at the cap (5 partners x 1 link = 5 link records) is accepted.
    at_cap = create_app(world=world(partners=5, links=1), max_world_links=5)
    assert len(server_of(at_cap).state.links) == 5


@pytest.mark.parametrize("server", SERVERS)
def test_the_world_caps_hold_on_the_served_mock(tmp_path: Path, server: str) -> None:
    seed = tmp_path / "big.json"
    seed.write_text(json.dumps(world(partners=10, links=10)), encoding="utf-8")
    refused = LiveMock("--server", server, "--seed", seed, "--max-world-links", "99")
    with pytest.raises(Exception, match="mock exited with 2 before serving"):
        refused.start()
    assert refused.stderr_lines == [
        "northca-mock: links: 100 link records (10 links, a link without partner counting once"
        " per partner), more than the limit of 99 (serve --max-world-links)"
    ]
    with LiveMock("--server", server, "--max-mdts", "2") as live:
        answer = live.post("/__mock/world", json=world(mdts=3))
        assert (answer.status_code, answer.json()) == (
            400,
            {"ok": False, "error": "mdts: 3 MDTs, more than the limit of 2 (serve --max-mdts)"},
        )


def test_a_state_file_past_the_caps_is_refused(tmp_path: Path) -> None:
    state_file = tmp_path / "s.json"
    app = create_app(state_file=state_file)
    client = app.test_client()
    for name in ("a", "b"):
        assert client.get(SHIFTS, headers={**auth_headers(), NS: name}).status_code == 200
    server_of(app).save_state()
    with pytest.raises(ValueError) as caught:
        create_app(state_file=state_file, max_namespaces=2)
    assert str(caught.value) == (
        f"{state_file}: namespaces: 3 namespaces, more than the limit of 2 (serve --max-namespaces)"
    )
    with pytest.raises(ValueError) as caught:
        create_app(state_file=state_file, max_mdts=1)
    assert str(caught.value) == "mdts: 2 MDTs, more than the limit of 1 (serve --max-mdts)"


# -- F11: server.errors keeps the newest, counts the rest, and a reset clears it -----------------
def test_errors_are_capped_counted_and_cleared_by_reset(monkeypatch: pytest.MonkeyPatch) -> None:
    failures = iter(range(100))

    def boom(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"failure {next(failures)}")

    monkeypatch.setitem(HANDLERS, "listShifts", boom)
    app = create_app(max_errors=3)
    client = app.test_client()
    for _ in range(5):
        assert client.get(SHIFTS, headers=auth_headers()).status_code == 500
    errors = server_of(app).errors
    assert [str(error) for error in errors] == ["failure 2", "failure 3", "failure 4"]
    assert (errors.total, errors.dropped) == (5, 2)
    assert errors.since(4) == [errors[-1]]
    assert client.post("/__mock/reset").status_code == 200
    assert (list(errors), errors.total, errors.dropped) == ([], 5, 5)
    assert client.get(SHIFTS, headers=auth_headers()).status_code == 500
    assert [str(error) for error in errors.since(5)] == ["failure 5"]


def test_sigterm_during_a_stalled_upload_still_writes_the_state_file(tmp_path: Path) -> None:
    """werkzeug only: granian's own shutdown waits for its request threads (a server setting)."""
    state_file = tmp_path / "s.json"
    live = LiveMock("--server", "werkzeug", "--state-file", state_file).start()
    try:
        assert live.post(SHIFTS, json={"id": "kept"}, headers=auth_headers()).status_code == 201
        with socket.create_connection(live.address, timeout=30) as stalled:
            stalled.sendall(
                b"POST /link-requests HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                + f"x-partner-key: {DEFAULT.partner_key}\r\nx-discord-guild: 1\r\n".encode()
                + b"content-type: application/json\r\nContent-Length: 10\r\n\r\n"
            )
            assert live.get("/__mock/state", timeout=5).status_code == 200
            assert live.stop(timeout=5) == 0
    finally:
        live.kill()
    saved = json.loads(state_file.read_text(encoding="utf-8"))
    assert [shift["id"] for shift in saved["namespaces"][""]["mdts"][DEFAULT.mdt_id]["shifts"]] == [
        "kept"
    ]


def test_a_test_handle_still_reports_errors_dropped_or_cleared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from mockserver.testing import INPROCESS_URL, NorthcaMock, NorthcaServerError

    monkeypatch.setitem(HANDLERS, "listShifts", lambda call: 1 / 0)
    app = create_app(max_errors=2)
    mock = NorthcaMock(app, INPROCESS_URL, in_process=True)
    client = app.test_client()
    for _ in range(3):
        assert client.get(SHIFTS, headers=auth_headers()).status_code == 500
    assert [type(error) for error in mock.errors] == [ZeroDivisionError, ZeroDivisionError]
    assert client.post("/__mock/reset").status_code == 200
    assert client.get(SHIFTS, headers=auth_headers()).status_code == 500
    with pytest.raises(NorthcaServerError) as caught:
        mock.check_errors()
    assert str(caught.value) == (
        "the Northca mock raised 4 unexpected exception(s) (answered 500):\n"
        "ZeroDivisionError: division by zero\n"
        "(3 of them no longer kept: see max_errors)\n"
        "requests answered 500:\n"
        f"  GET {SHIFTS} -> 500 (listShifts)"
    )
    mock.check_errors()  # reported once


# -- issue 19 item 14: every control endpoint of a namespace answers the cap's 503 ---------------
#: A body each control write accepts, so that only the namespace cap can refuse it.
_CONTROL_BODIES: dict[str, Any] = {
    "setMockWorld": world(),
    "setMockClock": {"advance_seconds": 1},
    "setMockFaults": {"operations": {}},
    "setMockSimulation": {"events_per_minute": 0},
}


def _namespaced_control_operations() -> list[Any]:
    from mockserver.control import control_spec

    found = [
        op
        for op in control_spec().operations.values()
        if any(p.location == "header" and p.name == NS for p in op.parameters)
    ]
    assert len(found) >= 10, [op.operation_id for op in found]
    return found


def _walk_control_plane_past_the_cap(send: Any) -> dict[str, tuple[int, Any]]:
    """(status, body) of every namespaced control operation, sent for a namespace past the cap."""
    answers = {}
    for op in _namespaced_control_operations():
        assert op.path_params == ()
        body = _CONTROL_BODIES.get(op.operation_id) if op.body_schema_ref else None
        answers[op.operation_id] = send(op.method, "/__mock" + op.path, body)
    return answers


def _expected_past_the_cap() -> dict[str, tuple[int, Any]]:
    return {op.operation_id: (503, NAMESPACE_LIMIT) for op in _namespaced_control_operations()}


def test_every_namespaced_control_operation_documents_the_cap() -> None:
    # a route-level answer (``x-northca-status``) attached by $ref is listed in route_responses
    documents = {
        op.operation_id: 503 in op.statuses or "503" in op.route_responses
        for op in _namespaced_control_operations()
    }
    assert documents == {op.operation_id: True for op in _namespaced_control_operations()}


def test_every_control_endpoint_answers_the_namespace_cap_in_process() -> None:
    app = create_app(max_namespaces=2)
    client = app.test_client()
    assert client.get(SHIFTS, headers={**auth_headers(), NS: "one"}).status_code == 200

    def send(method: str, path: str, body: Any) -> tuple[int, Any]:
        answer = client.open(path, method=method, json=body, headers={NS: "past"})
        assert answer.headers["x-northca-mock-detail"] == (
            "x-mock-namespace: the mock holds its limit of 2 namespaces (serve --max-namespaces)"
        )
        return answer.status_code, answer.get_json()

    assert _walk_control_plane_past_the_cap(send) == _expected_past_the_cap()
    assert list(server_of(app).states) == ["", "one"]
    assert server_of(app).errors.total == 0


@pytest.mark.parametrize("server", SERVERS)
def test_every_control_endpoint_answers_the_namespace_cap_on_the_served_mock(server: str) -> None:
    with LiveMock("--server", server, "--max-namespaces", "2") as live:
        assert live.get(SHIFTS, headers={**auth_headers(), NS: "one"}).status_code == 200

        def send(method: str, path: str, body: Any) -> tuple[int, Any]:
            answer = live.request(method, path, json=body, headers={NS: "past"}, timeout=10)
            return answer.status_code, answer.json()

        assert _walk_control_plane_past_the_cap(send) == _expected_past_the_cap()
        assert live.get("/__mock/namespaces").json()["data"] == {"namespaces": ["", "one"]}
