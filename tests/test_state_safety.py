"""State files never lose acknowledged data (issue 15: F3, F4, F12).

- F3: snapshots are serialised: an older dump never lands over a newer one.
- F4: one server per state file; a failed start writes nothing; the file keeps its mode; stale
  temporary files are removed at start.
- F12: a state file is checked as strictly as a world: one line naming the key, no traceback.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver import create_app, persistence
from mockserver.app import server_of
from mockserver.persistence import StateFileError
from tests.live import ROOT, LiveMock, serve_and_exit
from tests.support import DEFAULT, auth_headers

SERVERS = ("granian", "werkzeug")
SHIFTS = f"/mdts/{DEFAULT.mdt_id}/shifts"
SERVE = [sys.executable, "-m", "mockserver", "serve"]


def saved_shift_ids(path: Path) -> set[str]:
    payload = json.loads(path.read_text(encoding="utf-8"))
    return {shift["id"] for shift in payload["namespaces"][""]["mdts"][DEFAULT.mdt_id]["shifts"]}


# -- F3: serialised snapshots --------------------------------------------------------------------
def test_a_slow_older_snapshot_never_lands_over_a_newer_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_file = tmp_path / "s.json"
    app = create_app(state_file=state_file)
    write = persistence.write_atomically
    calls = []

    def slow_first_write(path: Path, payload: Any) -> None:
        calls.append(path)
        if len(calls) == 1:
            time.sleep(0.5)  # the first snapshot has dumped, and is slow to write
        write(path, payload)

    monkeypatch.setattr(persistence, "write_atomically", slow_first_write)
    first_status: list[int] = []
    first = threading.Thread(
        target=lambda: first_status.append(app.test_client().post("/__mock/snapshot").status_code)
    )
    first.start()
    time.sleep(0.1)
    client = app.test_client()
    created = client.post(SHIFTS, json={"id": "acknowledged"}, headers=auth_headers())
    assert created.status_code == 201
    assert client.post("/__mock/snapshot").status_code == 200
    first.join()
    assert first_status == [200]
    assert saved_shift_ids(state_file) == {"acknowledged"}


@pytest.mark.parametrize("server", SERVERS)
def test_concurrent_snapshots_keep_every_acknowledged_write(tmp_path: Path, server: str) -> None:
    state_file = tmp_path / "s.json"
    threads = ["--threads", "4"] if server == "granian" else []
    with LiveMock("--server", server, *threads, "--state-file", state_file) as live:
        failures: list[str] = []

        def writer(name: str) -> None:
            session = requests.Session()
            for index in range(15):
                shift_id = f"{name}-{index}"
                created = session.post(
                    live.url + SHIFTS, json={"id": shift_id}, headers=auth_headers(), timeout=30
                )
                snapshot = session.post(live.url + "/__mock/snapshot", timeout=30)
                # A failed assert in a thread would not fail the test: record it instead.
                if (created.status_code, snapshot.status_code) != (201, 200):
                    failures.append(f"{shift_id}: {created.status_code}, {snapshot.status_code}")
                elif shift_id not in saved_shift_ids(state_file):
                    failures.append(shift_id)

        workers = [threading.Thread(target=writer, args=(name,)) for name in "ab"]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        assert failures == []


# -- F4: one writer, no write after a failed start -----------------------------------------------
@pytest.mark.parametrize("server", SERVERS)
def test_a_second_server_on_the_same_file_refuses_with_one_line(
    tmp_path: Path, server: str
) -> None:
    state_file = tmp_path / "s.json"
    with LiveMock("--server", server, "--state-file", state_file) as live:
        assert live.post(SHIFTS, json={"id": "first"}, headers=auth_headers()).status_code == 201
        assert live.post("/__mock/snapshot").status_code == 200
        before = state_file.read_bytes()
        second = serve_and_exit("--server", server, "--state-file", state_file)
        assert second.returncode == 2
        assert second.stdout == ""
        assert second.stderr == (
            f"northca-mock: {state_file}: in use by another northca-mock (pid"
            f" {live.process.pid if live.process else '?'}); stop it or choose another"
            " --state-file\n"
        )
        assert state_file.read_bytes() == before
    assert saved_shift_ids(state_file) == {"first"}


@pytest.mark.parametrize("server", SERVERS)
def test_a_failed_start_leaves_the_state_file_and_its_mode_alone(
    tmp_path: Path, server: str
) -> None:
    state_file = tmp_path / "s.json"
    app = create_app(state_file=state_file)
    app.test_client().post(SHIFTS, json={"id": "kept"}, headers=auth_headers())
    server_of(app).save_state()
    state_file.chmod(0o644)
    before = state_file.read_bytes()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [*SERVE, "--server", server, "--port", str(port), "--state-file", str(state_file)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert (
        result.stderr
        == f"northca-mock: cannot listen on 127.0.0.1:{port}: Address already in use\n"
    )
    assert state_file.read_bytes() == before
    assert state_file.stat().st_mode & 0o777 == 0o644
    # And the lock was released: the next start works.
    with LiveMock("--server", server, "--state-file", state_file) as live:
        listed = live.get(SHIFTS, headers=auth_headers()).json()["data"]
        assert [shift["id"] for shift in listed] == ["kept"]


def test_a_rewrite_keeps_the_file_mode_and_a_new_file_is_private(tmp_path: Path) -> None:
    state_file = tmp_path / "s.json"
    app = create_app(state_file=state_file)
    server_of(app).save_state()
    assert state_file.stat().st_mode & 0o777 == 0o600
    state_file.chmod(0o640)
    assert app.test_client().post("/__mock/snapshot").status_code == 200
    assert state_file.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("server", SERVERS)
def test_stale_temporary_files_are_removed_at_start(tmp_path: Path, server: str) -> None:
    state_file = tmp_path / "s.json"
    stale = [tmp_path / ".s.json.k1ll3d.tmp", tmp_path / ".s.json.0ther.tmp"]
    for path in stale:
        path.write_bytes(b"x" * 1000)
    unrelated = tmp_path / ".t.json.keep.tmp"
    unrelated.write_bytes(b"keep")
    with LiveMock("--server", server, "--state-file", state_file):
        assert not any(path.exists() for path in stale)
    assert unrelated.read_bytes() == b"keep"
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        ".t.json.keep.tmp",
        "s.json",
        "s.json.lock",
    ]


# -- F12: strict state files ---------------------------------------------------------------------
def valid_payload() -> dict[str, Any]:
    app = create_app()
    client = app.test_client()
    client.post(SHIFTS, json={"id": "s-1", "officer_name": "A"}, headers=auth_headers())
    created = client.post("/link-requests", json={"mdt_id": DEFAULT.mdt_id}, headers=auth_headers())
    assert created.status_code == 201
    return {
        "format": "northca-mock-state",
        "version": 1,
        "written_at": "2026-03-01T00:00:00.000Z",
        "namespaces": {"": server_of(app).state.dump()},
    }


def broken(change: Any) -> str:
    payload = valid_payload()
    change(payload["namespaces"][""])
    return json.dumps(payload)


def _set(path: list[Any], value: Any) -> Any:
    def change(dump: dict[str, Any]) -> None:
        target = dump
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


SHIFT0 = ["mdts", DEFAULT.mdt_id, "shifts", 0]
BAD_DUMPS: dict[str, tuple[Any, str]] = {
    "link-to-unknown-mdt": (
        _set(["links", 0, "mdt_id"], "no-such-mdt"),
        "links[0].mdt_id: unknown MDT 'no-such-mdt'",
    ),
    "link-unknown-partner": (
        _set(["links", 0, "partner"], "Someone"),
        "links[0].partner: unknown partner 'Someone'",
    ),
    "link-bad-time": (
        _set(["links", 0, "linked_at"], "yesterday"),
        "links[0].linked_at: expected an ISO-8601 time, got 'yesterday'",
    ),
    "expires-at-garbage": (
        _set(["link_requests", 0, "expires_at"], "garbage"),
        'link_requests[0].expires_at: "garbage" is not a "date-time"',
    ),
    "link-request-unknown-mdt": (
        _set(["link_requests", 0, "mdt_id"], "nope"),
        "link_requests[0].mdt_id: unknown MDT 'nope'",
    ),
    "record-id-number": (
        _set([*SHIFT0, "id"], 12345),
        'mdts.0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2.shifts[0].id: 12345 is not of type "string"',
    ),
    "record-field-object": (
        _set([*SHIFT0, "officer_name"], {"$evil": [1, 2]}),
        "mdts.0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2.shifts[0].officer_name:"
        ' {"$evil":[1,2]} is not of types "null", "string"',
    ),
    "record-time-before-1970": (
        _set([*SHIFT0, "updated_at"], "0001-01-01T00:00:00.000Z"),
        "mdts.0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2.shifts[0].updated_at:"
        " '0001-01-01T00:00:00.000Z' is outside 1970-9999",
    ),
    "records-of-unknown-mdt": (
        _set(["mdts", "ghost"], {"shifts": []}),
        "mdts.ghost: unknown MDT 'ghost'",
    ),
    "clock-offset-text": (
        _set(["clock_offset_ms"], "soon"),
        "clock_offset_ms: expected a whole number, got 'soon'",
    ),
    "clock-offset-past-9999": (
        _set(["clock_offset_ms"], 10**16),
        "clock_offset_ms: puts the clock outside 1970-9999",
    ),
    "unknown-key": (
        _set(["extra"], 1),
        "unknown key 'extra' (allowed: clock_offset_ms, faults, link_requests, links, mdts, world)",
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_DUMPS))
def test_a_bad_state_file_is_refused_naming_the_key(tmp_path: Path, kind: str) -> None:
    change, message = BAD_DUMPS[kind]
    state_file = tmp_path / "s.json"
    state_file.write_text(broken(change), encoding="utf-8")
    with pytest.raises(StateFileError) as caught:
        create_app(state_file=state_file)
    assert str(caught.value) == f"{state_file}: namespace '': {message}"


def test_the_valid_payload_of_these_tests_loads(tmp_path: Path) -> None:
    state_file = tmp_path / "s.json"
    state_file.write_text(json.dumps(valid_payload()), encoding="utf-8")
    app = create_app(state_file=state_file)
    listed = app.test_client().get(SHIFTS, headers=auth_headers()).get_json()["data"]
    assert [shift["id"] for shift in listed] == ["s-1"]


RAW_FILES: dict[str, tuple[Any, str]] = {
    "nesting-200k": (
        lambda: '{"format": "northca-mock-state", "deep": ' + "[" * 200_000 + "]" * 200_000 + "}",
        "not a state file: nested deeper than 80 levels",
    ),
    "nesting-500": (
        lambda: json.dumps({**valid_payload(), "deep": _nested(500)}),
        "not a state file: nested deeper than 80 levels",
    ),
    "clock-offset-1e400": (
        lambda: (
            json.dumps(valid_payload())
            .replace('"clock_offset_ms":0', '"clock_offset_ms":1e400')
            .replace('"clock_offset_ms": 0', '"clock_offset_ms": 1e400')
        ),
        "not valid JSON: number 1e400... is out of range",
    ),
    "nan": (
        lambda: json.dumps(valid_payload()).replace(
            '"clock_offset_ms": 0', '"clock_offset_ms": NaN'
        ),
        "not valid JSON: NaN is not JSON",
    ),
}


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("kind", sorted(RAW_FILES))
def test_a_hostile_state_file_exits_2_with_one_line_and_no_traceback(
    tmp_path: Path, kind: str
) -> None:
    make, message = RAW_FILES[kind]
    state_file = tmp_path / "s.json"
    state_file.write_text(make(), encoding="utf-8")
    before = state_file.read_bytes()
    result = serve_and_exit("--state-file", state_file)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == f"northca-mock: {state_file}: {message}\n"
    assert state_file.read_bytes() == before


@pytest.mark.parametrize("kind", ["link-to-unknown-mdt", "record-field-object"])
def test_the_cli_refuses_a_bad_state_file_in_one_line(tmp_path: Path, kind: str) -> None:
    change, message = BAD_DUMPS[kind]
    state_file = tmp_path / "s.json"
    state_file.write_text(broken(change), encoding="utf-8")
    result = serve_and_exit("--state-file", state_file)
    assert result.returncode == 2
    assert result.stderr == f"northca-mock: {state_file}: namespace '': {message}\n"
    assert os.path.exists(state_file)
