"""State files at the edges (issue 19: items 2-5 and the state parts of 15).

- 4: a symlinked ``--state-file`` stays a symlink and its target gets the writes; the one-writer
  lock sits on the real file, so another path to it is refused.
- 5: start-up cleanup removes only the temporary files of its own file's writes.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from mockserver import atomic_file, create_app, persistence, serving
from mockserver.app import server_of
from mockserver.persistence import StateFileError, StateFileLock
from tests.live import LiveMock, serve_and_exit, wait_until
from tests.support import DEFAULT, auth_headers

SERVERS = ("granian", "werkzeug")
SHIFTS = f"/mdts/{DEFAULT.mdt_id}/shifts"
STALLED_UPLOAD = (
    f"POST /link-requests HTTP/1.1\r\nHost: 127.0.0.1\r\nx-partner-key: {DEFAULT.partner_key}\r\n"
    "x-discord-guild: 1\r\ncontent-type: application/json\r\nContent-Length: 10\r\n\r\n"
).encode()


def saved_shift_ids(path: Path) -> list[str]:
    payload = json.loads(path.read_text(encoding="utf-8"))
    return [shift["id"] for shift in payload["namespaces"][""]["mdts"][DEFAULT.mdt_id]["shifts"]]


# -- 4: symlinks and the one-writer lock ---------------------------------------------------------
def test_a_write_through_a_symlink_replaces_its_target_and_keeps_the_link(tmp_path: Path) -> None:
    real = tmp_path / "real" / "state.json"
    real.parent.mkdir()
    real.write_text("old", encoding="utf-8")
    real.chmod(0o640)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_file.write_atomically(link, "new")
    assert link.is_symlink()
    assert os.readlink(link) == str(real)
    assert real.read_text(encoding="utf-8") == "new"
    assert real.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.json", "real"]
    assert sorted(p.name for p in real.parent.iterdir()) == ["state.json"]


def test_a_dangling_symlink_gets_its_target_created(tmp_path: Path) -> None:
    real = tmp_path / "state.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    atomic_file.write_atomically(link, "{}")
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "{}"


def test_the_lock_is_on_the_real_file_whatever_the_path(tmp_path: Path) -> None:
    real = tmp_path / "state.json"
    (tmp_path / "link.json").symlink_to(real)
    (tmp_path / "dir").symlink_to(tmp_path)
    first = StateFileLock(tmp_path / "link.json")
    first.acquire()
    try:
        assert first.lock_path == tmp_path / "state.json.lock"
        for other in (real, tmp_path / "dir" / "state.json", tmp_path / "dir" / "link.json"):
            with pytest.raises(StateFileError) as caught:
                StateFileLock(other).acquire()
            assert str(caught.value) == (
                f"{other}: in use by another northca-mock (pid {os.getpid()});"
                " stop it or choose another --state-file"
            )
    finally:
        first.release()
    assert not (tmp_path / "link.json.lock").exists()


@pytest.mark.parametrize("server", SERVERS)
def test_a_symlinked_state_file_gets_the_writes_and_locks_out_its_target(
    tmp_path: Path, server: str
) -> None:
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    with LiveMock("--server", server, "--state-file", link) as live:
        assert live.post(SHIFTS, json={"id": "via-link"}, headers=auth_headers()).status_code == 201
        assert live.post("/__mock/snapshot").status_code == 200
        assert link.is_symlink()
        assert saved_shift_ids(real) == ["via-link"]
        second = serve_and_exit("--server", server, "--state-file", real)
        assert second.returncode == 2
        assert second.stderr == (
            f"northca-mock: {real}: in use by another northca-mock (pid"
            f" {live.process.pid if live.process else '?'}); stop it or choose another"
            " --state-file\n"
        )
        assert live.post(SHIFTS, json={"id": "at-stop"}, headers=auth_headers()).status_code == 201
    assert link.is_symlink()
    assert saved_shift_ids(real) == ["via-link", "at-stop"]


# -- 5: temporary files are unambiguous per target -----------------------------------------------
def test_cleanup_keeps_the_temporaries_of_a_file_whose_name_extends_ours(tmp_path: Path) -> None:
    ours = [tmp_path / ".state.json.k1ll3d.tmp", tmp_path / ".state.json.0123abcd.tmp"]
    theirs = [
        tmp_path / ".state.json.b.0123abcd.tmp",  # a write of state.json.b
        tmp_path / ".state.json.b.c.tmp",  # of state.json.b.c... or state.json.b: never ours
        tmp_path / ".state.json..tmp",
        tmp_path / ".other.json.0123abcd.tmp",
    ]
    for path in [*ours, *theirs]:
        path.write_bytes(b"x")
    removed = persistence.remove_stale_temporaries(tmp_path / "state.json")
    assert sorted(removed) == sorted(ours)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in theirs)


def test_a_temporary_name_belongs_to_its_target_only(tmp_path: Path) -> None:
    for name in ("state.json", "state.json.b", "s", ".hidden", "a.tmp"):
        temporary = atomic_file.temporary_name(tmp_path / name)
        owners = [
            other
            for other in ("state.json", "state.json.b", "s", ".hidden", "a.tmp", "json.b")
            if atomic_file.belongs_to(temporary, tmp_path / other)
        ]
        assert owners == [name]


@pytest.mark.parametrize("server", SERVERS)
def test_a_server_on_a_prefix_name_leaves_the_other_servers_snapshots_alone(
    tmp_path: Path, server: str
) -> None:
    short, long = tmp_path / "state.json", tmp_path / "state.json.b"
    with LiveMock("--server", server, "--state-file", long) as other:
        in_flight = tmp_path / ".state.json.b.0123abcdef012345.tmp"
        in_flight.write_bytes(b"half a snapshot of state.json.b")
        with LiveMock("--server", server, "--state-file", short):
            assert in_flight.exists()
        assert other.post(SHIFTS, json={"id": "b"}, headers=auth_headers()).status_code == 201
        assert other.post("/__mock/snapshot").status_code == 200
    assert saved_shift_ids(long) == ["b"]
    assert saved_shift_ids(short) == []


def test_the_in_process_server_writes_through_a_symlink(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    link = tmp_path / "link.json"
    link.symlink_to(real)
    app = create_app(state_file=link)
    app.test_client().post(SHIFTS, json={"id": "kept"}, headers=auth_headers())
    server_of(app).save_state()
    assert link.is_symlink()
    assert saved_shift_ids(real) == ["kept"]


# -- 15: dangling references in a state file ------------------------------------------------------
def linked_payload() -> dict[str, Any]:
    """A saved default namespace holding an approved request, its link, and a pending one."""
    client = create_app().test_client()
    created = client.post(
        "/link-requests", json={"mdt_id": DEFAULT.unlinked_mdt_id}, headers=auth_headers()
    )
    request_id = created.get_json()["data"]["id"]
    owner = auth_headers(actor=DEFAULT.unlinked_mdt_owner_id)
    confirmed = client.post(f"/link-requests/{request_id}/confirm", headers=owner)
    assert confirmed.status_code == 200
    pending = client.post("/link-requests", json={"mdt_id": DEFAULT.mdt_id}, headers=auth_headers())
    assert pending.status_code == 201
    return {
        "format": "northca-mock-state",
        "version": 1,
        "written_at": "2026-03-01T00:00:00.000Z",
        "namespaces": {"": server_of(client.application).state.dump()},
    }


def approved_link_index(dump: dict[str, Any]) -> int:
    return next(i for i, link in enumerate(dump["links"]) if link["link_request_id"])


DANGLING: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "link-request-unknown-partner": (
        lambda dump: dump["link_requests"][1].update(partner="Nobody"),
        "link_requests[1].partner: unknown partner 'Nobody'",
    ),
    "link-request-without-partner": (
        lambda dump: dump["link_requests"][1].pop("partner"),
        # the spec requires every field of a link request (its schema is checked first)
        'link_requests[1]: "partner" is a required property',
    ),
    "link-request-not-the-owner": (
        lambda dump: dump["link_requests"][1].update(owner_discord_id="1"),
        f"link_requests[1].owner_discord_id: '1' is not the owner of MDT '{DEFAULT.mdt_id}'"
        f" ('{DEFAULT.actor_id}')",
    ),
    "link-of-unknown-request": (
        lambda dump: dump["links"][approved_link_index(dump)].update(link_request_id="ghost"),
        "links[{i}].link_request_id: no approved link request 'ghost' of this partner, guild"
        " and MDT",
    ),
    "link-of-a-pending-request": (
        lambda dump: dump["links"][approved_link_index(dump)].update(
            link_request_id=dump["link_requests"][1]["id"]
        ),
        "links[{i}].link_request_id: no approved link request '{pending}' of this partner,"
        " guild and MDT",
    ),
    "link-twice": (
        lambda dump: dump["links"].append(dict(dump["links"][0])),
        "links[{n}]: MDT '{mdt}' is linked to guild '{guild}' for partner 'Test Partner' twice",
    ),
}


@pytest.mark.parametrize("kind", sorted(DANGLING))
def test_a_state_file_with_a_dangling_reference_is_refused_naming_the_key(
    tmp_path: Path, kind: str
) -> None:
    payload = linked_payload()
    dump = payload["namespaces"][""]
    first = dump["links"][0]
    expected = DANGLING[kind][1].format(
        i=approved_link_index(dump),
        n=len(dump["links"]),
        pending=dump["link_requests"][1]["id"],
        mdt=first["mdt_id"],
        guild=first["guild_id"],
    )
    DANGLING[kind][0](dump)
    state_file = tmp_path / "s.json"
    state_file.write_text(json.dumps(payload), encoding="utf-8")
    with pytest.raises(StateFileError) as caught:
        create_app(state_file=state_file)
    assert str(caught.value) == f"{state_file}: namespace '': {expected}"


def test_the_linked_payload_of_these_tests_loads(tmp_path: Path) -> None:
    payload = linked_payload()
    state_file = tmp_path / "s.json"
    state_file.write_text(json.dumps(payload), encoding="utf-8")
    app = create_app(state_file=state_file)
    assert server_of(app).state.dump() == payload["namespaces"][""] | {
        "clock_offset_ms": server_of(app).state.dump()["clock_offset_ms"]
    }


# -- 15: the link-request TTL at the clock's last millisecond -------------------------------------
LAST_MS = "9999-12-31T23:59:59.999Z"


def test_a_request_created_at_the_clocks_last_millisecond_is_expired_at_once() -> None:
    client = create_app().test_client()
    assert client.post("/__mock/clock", json={"now": LAST_MS}).status_code == 200
    created = client.post(
        "/link-requests", json={"mdt_id": DEFAULT.unlinked_mdt_id}, headers=auth_headers()
    )
    assert created.status_code == 201
    data = created.get_json()["data"]
    assert (data["status"], data["created_at"], data["expires_at"], data["decided_at"]) == (
        "expired",
        LAST_MS,
        LAST_MS,
        LAST_MS,
    )
    stored = client.get("/__mock/state").get_json()["data"]["link_requests"]
    assert stored == [data]
    owner = auth_headers(actor=DEFAULT.unlinked_mdt_owner_id)
    confirm = client.post(f"/link-requests/{data['id']}/confirm", headers=owner)
    assert (confirm.status_code, confirm.get_json()) == (
        410,
        {"ok": False, "error": "Link request expired"},
    )


def test_a_request_created_a_ttl_before_the_clocks_end_is_pending_until_it() -> None:
    client = create_app().test_client()
    ttl_ms = DEFAULT.link_request_ttl_seconds * 1000
    start = "9999-12-31T23:44:59.999Z"  # LAST_MS - 900 s: expires exactly at the clock's end
    assert ttl_ms == 900_000
    assert client.post("/__mock/clock", json={"now": start}).status_code == 200
    created = client.post(
        "/link-requests", json={"mdt_id": DEFAULT.unlinked_mdt_id}, headers=auth_headers()
    )
    data = created.get_json()["data"]
    assert (created.status_code, data["status"], data["expires_at"]) == (201, "pending", LAST_MS)
    assert client.post("/__mock/clock", json={"now": LAST_MS}).status_code == 200
    owner = auth_headers(actor=DEFAULT.unlinked_mdt_owner_id)
    confirm = client.post(f"/link-requests/{data['id']}/confirm", headers=owner)
    assert (confirm.status_code, confirm.get_json()) == (
        410,
        {"ok": False, "error": "Link request expired"},
    )


# -- 2: a forced stop writes the state whole, after the last request it applies ------------------
def test_a_forced_stop_waits_for_the_whole_save_however_long(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    exits: list[int] = []
    monkeypatch.setattr(serving, "STOP_GRACE_SECONDS", 0.05)
    monkeypatch.setattr(os, "_exit", exits.append)
    written = threading.Event()

    def slow_save() -> None:  # a large state: longer than any fixed budget after the grace
        time.sleep(2.5)
        written.set()

    serving._Stopper(slow_save).arm()
    assert wait_until(lambda: bool(exits), timeout=15)
    assert written.is_set()
    assert exits == [0]


def test_a_forced_stop_whose_save_fails_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    exits: list[int] = []
    monkeypatch.setattr(serving, "STOP_GRACE_SECONDS", 0.05)
    monkeypatch.setattr(os, "_exit", exits.append)

    def failing_save() -> None:
        raise OSError(28, "No space left on device")

    serving._Stopper(failing_save).arm()
    assert wait_until(lambda: bool(exits), timeout=15)
    assert exits == [1]
    assert capsys.readouterr().err.splitlines() == [
        "northca-mock: clients kept the server busy 0.05 s after the stop signal; stopping"
        " anyway once the state file is written",
        "northca-mock: the state file could not be written: [Errno 28] No space left on device",
    ]


def test_a_frozen_server_applies_no_request_and_still_dumps(tmp_path: Path) -> None:
    app = create_app(state_file=tmp_path / "s.json")
    server = server_of(app)
    assert (
        app.test_client().post(SHIFTS, json={"id": "acked"}, headers=auth_headers()).status_code
        == 201
    )
    server.freeze()
    answers: list[int] = []

    def late(namespace: str) -> None:
        headers = {**auth_headers(), "x-mock-namespace": namespace}
        answer = app.test_client().post(SHIFTS, json={"id": "late"}, headers=headers)
        answers.append(answer.status_code)

    waiting = [threading.Thread(target=late, args=(name,), daemon=True) for name in ("", "new-one")]
    for thread in waiting:
        thread.start()
    for thread in waiting:
        thread.join(0.5)
    assert [thread.is_alive() for thread in waiting] == [True, True]
    assert answers == []
    server.save_state()  # the freezing thread still dumps and writes
    assert saved_shift_ids(tmp_path / "s.json") == ["acked"]
    assert sorted(server.states) == [""]


@pytest.mark.parametrize("server", SERVERS)
def test_sigterm_with_a_stalled_upload_keeps_every_acknowledged_write(
    tmp_path: Path, server: str
) -> None:
    state_file = tmp_path / "state.json"
    with LiveMock("--server", server, "--state-file", state_file, "--read-timeout", "60") as live:
        for index in range(5):
            created = live.post(SHIFTS, json={"id": f"ack-{index}"}, headers=auth_headers())
            assert created.status_code == 201
        with socket.create_connection(live.address) as stalled:
            stalled.sendall(STALLED_UPLOAD)
            time.sleep(0.3)
            assert live.stop(signal.SIGTERM, timeout=60) == 0
    assert saved_shift_ids(state_file) == [f"ack-{index}" for index in range(5)]
    assert live.stdout_lines[-1] == "northca-mock stopped"
