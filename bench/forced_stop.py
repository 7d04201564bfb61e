"""SIGTERM with a large state and a stalled upload: every acknowledged write must survive.

``python -m bench.forced_stop [--records 150000] [granian werkzeug]`` writes a state file of
N shift records (about 1 KB each), starts ``serve`` on a copy, acknowledges 5 more writes,
opens an upload that never sends its body, sends SIGTERM and reports the start and stop times,
the exit code and how many of the 5 writes the file kept.
"""

from __future__ import annotations

import argparse
import json
import shutil
import signal
import socket
import tempfile
import time
from pathlib import Path

from mockserver import create_app
from mockserver.app import server_of
from tests.live import LiveMock
from tests.support import DEFAULT, auth_headers

SHIFTS = f"/mdts/{DEFAULT.mdt_id}/shifts"
STALLED_UPLOAD = (
    f"POST /link-requests HTTP/1.1\r\nHost: 127.0.0.1\r\nx-partner-key: {DEFAULT.partner_key}\r\n"
    "x-discord-guild: 1\r\ncontent-type: application/json\r\nContent-Length: 10\r\n\r\n"
).encode()


def write_state(path: Path, records: int) -> None:
    """A state file of the default world with ``records`` shifts of about 1 KB each."""
    app = create_app()
    answer = app.test_client().post(SHIFTS, json={"id": "x"}, headers=auth_headers())
    sample = answer.get_json()["data"]
    dump = server_of(app).state.dump()
    dump["mdts"][DEFAULT.mdt_id]["shifts"] = [
        {**sample, "id": f"s-{index:07d}", "officer_name": "Officer " + "x" * 740}
        for index in range(records)
    ]
    payload = {
        "format": "northca-mock-state",
        "version": 1,
        "written_at": sample["created_at"],
        "namespaces": {"": dump},
    }
    path.write_text(json.dumps(payload, separators=(",", ":")), encoding="utf-8")


def measure(server: str, source: Path, folder: Path) -> str:
    state = folder / f"{server}.json"
    shutil.copy(source, state)
    began = time.monotonic()
    mock = LiveMock("--server", server, "--state-file", state, "--read-timeout", "60")
    mock.start(timeout=900)
    started = time.monotonic() - began
    for index in range(5):
        answer = mock.post(SHIFTS, json={"id": f"ack-{index}"}, headers=auth_headers())
        assert answer.status_code == 201, answer.text
    with socket.create_connection(mock.address) as stalled:
        stalled.sendall(STALLED_UPLOAD)
        time.sleep(0.3)
        began = time.monotonic()
        code = mock.stop(signal.SIGTERM, timeout=900)
        stopped = time.monotonic() - began
    saved = json.loads(state.read_text(encoding="utf-8"))
    ids = {shift["id"] for shift in saved["namespaces"][""]["mdts"][DEFAULT.mdt_id]["shifts"]}
    kept = sum(f"ack-{index}" in ids for index in range(5))
    return (
        f"{server}: {state.stat().st_size / 1e6:.0f} MB, {len(ids)} records; start {started:.1f} s,"
        f" stop {stopped:.1f} s, exit {code}, acknowledged writes kept {kept}/5"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=150_000)
    parser.add_argument("servers", nargs="*", default=["granian", "werkzeug"])
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        source = folder / "source.json"
        write_state(source, args.records)
        for server in args.servers:
            print(measure(server, source, folder), flush=True)


if __name__ == "__main__":
    main()
