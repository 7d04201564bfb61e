"""State files: written on ``POST /__mock/snapshot`` and on SIGTERM, restored at the next start,
always whole on disk (atomic replace), and refused with a one-line reason when unreadable."""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mockserver import create_app, persistence
from mockserver.app import server_of
from tests.live import ROOT, LiveMock, serve_and_exit, wait_until
from tests.support import DEFAULT, auth_headers

NS = "x-mock-namespace"
FORMAT = "northca-mock-state"


def without_now(state: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in state.items() if key != "now"}


def offset_seconds(state: dict[str, Any]) -> float:
    now = dt.datetime.fromisoformat(state["now"].replace("Z", "+00:00"))
    return (now - dt.datetime.now(dt.timezone.utc)).total_seconds()


def populate(live: LiveMock) -> dict[str, Any]:
    """Records, link requests (pending, approved, denied), a link and an unlink, a moved clock,
    and a second namespace. Returns what each namespace's state and lists look like."""
    owner = auth_headers()
    other_owner = auth_headers(actor=DEFAULT.unlinked_mdt_owner_id)
    base = f"/mdts/{DEFAULT.mdt_id}"
    for index in range(6):  # several in the same millisecond: the order must survive
        response = live.post(f"{base}/shifts", json={"officer_name": f"O{index}"}, headers=owner)
        assert response.status_code == 201
    units = {"units": [{"id": f"U-{i}", "status": "10-8"} for i in range(4)]}
    assert live.request("PUT", f"{base}/units/active", json=units, headers=owner).ok
    assert live.request(
        "PUT", f"{base}/units/active", json={"units": [{"id": "U-1"}]}, headers=owner
    ).ok
    call = live.post(f"{base}/calls", json={"id": "c-1", "location": "X"}, headers=owner)
    assert call.status_code == 201
    assert live.request("PATCH", f"{base}/calls/c-1", json={"status": "closed"}, headers=owner).ok
    assert live.post(f"{base}/units/active/U-2/panic", json={"address": "A"}, headers=owner).ok
    request_ids = []
    for _ in range(3):
        created = live.post(
            "/link-requests", json={"mdt_id": DEFAULT.unlinked_mdt_id}, headers=owner
        )
        assert created.status_code == 201
        request_ids.append(created.json()["data"]["id"])
    confirmed = live.post(f"/link-requests/{request_ids[0]}/confirm", headers=other_owner)
    assert confirmed.status_code == 200
    denied = live.post(f"/link-requests/{request_ids[1]}/deny", headers=other_owner)
    assert denied.status_code == 200
    unlinked = live.post(f"{base}/unlink", headers=owner)
    assert unlinked.status_code == 200
    # The newly linked MDT gets a record too.
    ticket = live.post(
        f"/mdts/{DEFAULT.unlinked_mdt_id}/tickets", json={"title": "T"}, headers=other_owner
    )
    assert ticket.status_code == 201
    clock = live.post("/__mock/clock", json={"advance_seconds": 3600})
    assert clock.status_code == 200
    # Namespace "blue": its own shift, clock and link request.
    blue = {NS: "blue"}
    assert live.post(f"{base}/shifts", json={"id": "b-1"}, headers={**owner, **blue}).ok
    assert live.post("/__mock/clock", json={"advance_seconds": -7200}, headers=blue).ok
    assert live.post(
        "/link-requests", json={"mdt_id": DEFAULT.unlinked_mdt_id}, headers={**owner, **blue}
    ).ok
    return observe(live)


def observe(live: LiveMock) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for name in ("", "blue"):
        headers = {NS: name} if name else {}
        state = live.get("/__mock/state", headers=headers).json()["data"]
        shifts = live.get(
            f"/mdts/{DEFAULT.mdt_id}/shifts", headers={**auth_headers(), **headers}
        ).json()
        seen[name] = {
            "state": without_now(state),
            "offset": offset_seconds(state),
            "shifts": shifts,
        }
    return seen


def assert_same_world(restored: dict[str, Any], saved: dict[str, Any]) -> None:
    for name in ("", "blue"):
        assert restored[name]["state"] == saved[name]["state"], name
        assert restored[name]["shifts"] == saved[name]["shifts"], name
        assert abs(restored[name]["offset"] - saved[name]["offset"]) < 30, name
    assert saved[""]["offset"] > 3000
    assert saved["blue"]["offset"] < -6000


def read_state(path: Path) -> dict[str, Any]:
    payload: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    assert payload["format"] == FORMAT
    assert payload["version"] == 1
    return payload


def test_snapshot_and_sigterm_write_the_state_and_a_restart_restores_it(tmp_path: Path) -> None:
    state_file = tmp_path / "state" / "mock.json"
    live = LiveMock("--state-file", state_file)
    with live:
        assert not state_file.exists()
        saved = populate(live)
        snapshot = live.post("/__mock/snapshot")
        assert snapshot.status_code == 200
        assert snapshot.json() == {
            "ok": True,
            "data": {"written": str(state_file), "namespaces": ["", "blue"]},
        }
        payload = read_state(state_file)
        assert sorted(payload["namespaces"]) == ["", "blue"]
        # Later changes reach the file on SIGTERM.
        late = live.post(
            f"/mdts/{DEFAULT.unlinked_mdt_id}/shifts",
            json={"id": "late"},
            headers=auth_headers(actor=DEFAULT.unlinked_mdt_owner_id),
        )
        assert late.status_code == 201
        saved = observe(live)
    assert live.process is not None and live.process.returncode == 0
    assert live.stdout_lines[-1] == "northca-mock stopped"
    assert list(tmp_path.glob("state/.*.tmp")) == []
    shifts = read_state(state_file)["namespaces"][""]["mdts"][DEFAULT.unlinked_mdt_id]["shifts"]
    assert [s["id"] for s in shifts] == ["late"]

    with LiveMock("--state-file", state_file) as again:
        restored = observe(again)
        assert_same_world(restored, saved)
        # Restored links behave: the unlinked MDT is 403, the approved one works for its owner.
        gone = again.get(f"/mdts/{DEFAULT.mdt_id}", headers=auth_headers())
        assert gone.status_code == 403
        assert gone.json()["error"] == "MDT not linked to this guild"
        linked = again.get(
            f"/mdts/{DEFAULT.unlinked_mdt_id}",
            headers=auth_headers(actor=DEFAULT.unlinked_mdt_owner_id),
        )
        assert linked.status_code == 200
        # Restored link requests keep their state machine.
        requests_ = {r["status"]: r["id"] for r in restored[""]["state"]["link_requests"]}
        repeat = again.post(
            f"/link-requests/{requests_['approved']}/confirm",
            headers=auth_headers(actor=DEFAULT.unlinked_mdt_owner_id),
        )
        assert repeat.status_code == 200
        assert repeat.json()["data"]["already"] is True
        refused = again.post(
            f"/link-requests/{requests_['denied']}/confirm",
            headers=auth_headers(actor=DEFAULT.unlinked_mdt_owner_id),
        )
        assert refused.status_code == 409
        assert refused.json()["error"] == "Link request already denied"
        # A reset still goes back to the world, not to the state file.
        assert again.post("/__mock/reset").status_code == 200
        assert again.get(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers()).json() == {
            "ok": True,
            "data": [],
        }


def test_sigterm_right_after_start_still_stops_cleanly(tmp_path: Path) -> None:
    """The serving line means SIGTERM is handled: exit 0, state written, no traceback."""
    state_file = tmp_path / "mock.json"
    for _ in range(5):
        state_file.unlink(missing_ok=True)
        live = LiveMock("--state-file", state_file)
        live.start()
        code = live.stop()
        assert code == 0, live.output()
        assert live.stdout_lines[-1] == "northca-mock stopped", live.output()
        assert not any("Traceback" in line for line in live.stderr_lines), live.output()
        assert state_file.exists()


def test_snapshot_without_state_file_is_409() -> None:
    client = create_app().test_client()
    response = client.post("/__mock/snapshot")
    assert response.status_code == 409
    assert response.content_type == "application/json"
    assert response.get_json() == {
        "ok": False,
        "error": "No state file configured (start the mock with --state-file)",
    }


def test_snapshot_in_process_round_trips(tmp_path: Path) -> None:
    state_file = tmp_path / "s.json"
    app = create_app(state_file=state_file)
    client = app.test_client()
    for index in range(5):
        client.post(
            f"/mdts/{DEFAULT.mdt_id}/shifts", json={"id": f"s-{index}"}, headers=auth_headers()
        )
    assert client.post("/__mock/snapshot").status_code == 200
    again = create_app(state_file=state_file).test_client()
    listed = again.get(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers()).get_json()["data"]
    assert [s["id"] for s in listed] == [f"s-{i}" for i in range(4, -1, -1)]


# -- crash safety ----------------------------------------------------------------------------
def test_failure_mid_write_keeps_the_old_file_and_no_temp_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_file = tmp_path / "s.json"
    app = create_app(state_file=state_file)
    client = app.test_client()
    client.post(f"/mdts/{DEFAULT.mdt_id}/shifts", json={"id": "old"}, headers=auth_headers())
    assert client.post("/__mock/snapshot").status_code == 200
    old = state_file.read_bytes()
    client.post(f"/mdts/{DEFAULT.mdt_id}/shifts", json={"id": "new"}, headers=auth_headers())

    def full_disk(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full_disk)  # the written temporary file never reaches disk
    with pytest.raises(OSError, match="No space left"):
        persistence.save(server_of(app).states, state_file)
    assert state_file.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]

    response = client.post("/__mock/snapshot")  # the same failure through the endpoint
    assert response.status_code == 500
    assert response.get_json() == {"ok": False, "error": "Internal server error"}
    assert state_file.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.json"]


WRITER = textwrap.dedent(
    """
    import sys
    from mockserver import create_app
    from mockserver.app import server_of

    app = create_app(state_file=sys.argv[1])
    client = app.test_client()
    headers = {"x-partner-key": "test-key", "x-discord-guild": "123456789012345678"}
    units = {"units": [{"id": f"U-{i:05d}", "status": "10-8", "rank": "PO" * 20}
                       for i in range(int(sys.argv[2]))]}
    response = client.put("/mdts/%s/units/active" % sys.argv[3], json=units, headers=headers)
    assert response.status_code == 200, response.data
    server = server_of(app)
    server.save_state()
    print("ready", flush=True)
    while True:
        server.save_state()
    """
)
UNITS = 6000


def test_sigkill_during_writes_never_leaves_a_corrupt_file(tmp_path: Path) -> None:
    state_file = tmp_path / "big.json"
    rng = random.Random(20260301)
    for attempt in range(4):
        process = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(state_file), str(UNITS), DEFAULT.mdt_id],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
            assert line == "ready\n", (line, process.stderr.read() if process.stderr else "")
            time.sleep(rng.uniform(0.02, 0.4))
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=15)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=15)
            for stream in (process.stdout, process.stderr):
                if stream is not None:
                    stream.close()
        assert process.returncode == -signal.SIGKILL, attempt
        payload = read_state(state_file)  # parses, right format and version
        units = payload["namespaces"][""]["mdts"][DEFAULT.mdt_id]["active_units"]
        assert len(units) == UNITS, attempt
        assert {u["id"] for u in units} == {f"U-{i:05d}" for i in range(UNITS)}
        # And the mock starts from it.
        app = create_app(state_file=state_file)
        listed = app.test_client().get(
            f"/mdts/{DEFAULT.mdt_id}/units/active?limit=100", headers=auth_headers()
        )
        assert listed.status_code == 200
        assert len(listed.get_json()["data"]) == 100
        for leftover in tmp_path.glob(".big.json.*.tmp"):  # a killed writer may leave its temp
            leftover.unlink()


# -- unreadable state files at start -------------------------------------------------------------
def valid_payload() -> dict[str, Any]:
    app = create_app()
    return {
        "format": FORMAT,
        "version": 1,
        "written_at": "2026-03-01T00:00:00.000Z",
        "namespaces": {"": server_of(app).state.dump()},
    }


BROKEN: dict[str, Callable[[], str]] = {
    "truncated": lambda: json.dumps(valid_payload())[:200],
    "empty": lambda: "",
    "not-json": lambda: "state: yes\n",
    "foreign-object": lambda: json.dumps({"hello": "world"}),
    "foreign-list": lambda: json.dumps([1, 2, 3]),
    "wrong-version": lambda: json.dumps({**valid_payload(), "version": 99}),
    "namespaces-not-a-mapping": lambda: json.dumps({**valid_payload(), "namespaces": []}),
    "namespace-without-world": lambda: json.dumps({**valid_payload(), "namespaces": {"": {}}}),
    "namespace-not-a-mapping": lambda: json.dumps({**valid_payload(), "namespaces": {"": 5}}),
    "invalid-world": lambda: json.dumps(
        {**valid_payload(), "namespaces": {"": {"world": {"partner_keys": {}}}}}
    ),
    "record-without-id": lambda: json.dumps(
        {
            **valid_payload(),
            "namespaces": {
                "": {
                    **valid_payload()["namespaces"][""],
                    "mdts": {DEFAULT.mdt_id: {"shifts": [{"officer_name": "no id"}]}},
                }
            },
        }
    ),
    "link-without-partner": lambda: json.dumps(
        {
            **valid_payload(),
            "namespaces": {
                "": {**valid_payload()["namespaces"][""], "links": [{"mdt_id": DEFAULT.mdt_id}]}
            },
        }
    ),
}


@pytest.mark.parametrize("kind", sorted(BROKEN))
def test_unreadable_state_file_exits_2_with_one_line(tmp_path: Path, kind: str) -> None:
    state_file = tmp_path / "broken.json"
    state_file.write_text(BROKEN[kind](), encoding="utf-8")
    before = state_file.read_bytes()
    result = serve_and_exit("--state-file", state_file)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("northca-mock: "), lines
    assert str(state_file) in lines[0] or kind == "invalid-world", lines
    assert "Traceback" not in result.stderr
    assert state_file.read_bytes() == before  # never overwritten by a failed start


def test_state_file_error_is_a_user_error_handled_by_the_cli() -> None:
    import inspect

    from mockserver import cli
    from mockserver.errors import NorthcaMockError

    assert issubclass(persistence.StateFileError, NorthcaMockError)
    assert issubclass(persistence.StateFileError, ValueError)
    source = inspect.getsource(cli.serve)
    assert "NorthcaMockError" in source


def test_missing_state_file_is_an_empty_start(tmp_path: Path) -> None:
    state_file = tmp_path / "new" / "s.json"
    live = LiveMock("--state-file", state_file)
    with live:
        shifts = live.get(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers())
        assert shifts.json() == {"ok": True, "data": []}
    assert wait_until(state_file.exists, timeout=5)
    assert read_state(state_file)["namespaces"][""]["mdts"][DEFAULT.mdt_id]["shifts"] == []
