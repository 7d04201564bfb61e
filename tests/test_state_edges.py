"""State files at the edges (issue 19: items 2-5 and the state parts of 15).

- 4: a symlinked ``--state-file`` stays a symlink and its target gets the writes; the one-writer
  lock sits on the real file, so another path to it is refused.
- 5: start-up cleanup removes only the temporary files of its own file's writes.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mockserver import atomic_file, create_app, persistence
from mockserver.app import server_of
from mockserver.persistence import StateFileError, StateFileLock
from tests.live import LiveMock, serve_and_exit
from tests.support import DEFAULT, auth_headers

SERVERS = ("granian", "werkzeug")
SHIFTS = f"/mdts/{DEFAULT.mdt_id}/shifts"


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
