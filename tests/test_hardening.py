"""Issue 15 regressions over real sockets, on both servers (127.0.0.1 only, small bounded loops).

F1 a stalled upload, F2 idle connections, SIGTERM while clients hang, F8 Host/Origin/CORS,
F9 an empty admin token, F10 underscore header names.
"""

from __future__ import annotations

import json
import resource
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from mockserver.spec import load_spec
from tests.live import LiveMock, raw_request, serve_and_exit
from tests.support import DEFAULT, auth_headers

SERVERS = ["granian", "werkzeug"]
READ_TIMEOUT = 1.5
SPEC = load_spec()
SHIFTS = f"/mdts/{DEFAULT.mdt_id}/shifts"
STALLED_UPLOAD = (
    f"POST /link-requests HTTP/1.1\r\nHost: 127.0.0.1\r\nx-partner-key: {DEFAULT.partner_key}\r\n"
    "x-discord-guild: 1\r\ncontent-type: application/json\r\nContent-Length: 10\r\n\r\n"
)


def envelope(name: str) -> dict[str, object]:
    return {"ok": False, "error": SPEC.shared_error(name).message}


@pytest.fixture(scope="module", params=SERVERS)
def live(request: pytest.FixtureRequest) -> Iterator[LiveMock]:
    args = ["--server", request.param, "--read-timeout", str(READ_TIMEOUT)]
    with LiveMock(*args, "--cors", "http://dash.example:3000") as mock:
        yield mock


def read_answer(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    """Everything the server sends until it closes, and when it closed (seconds from now)."""
    started = time.monotonic()
    sock.settimeout(limit)
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data, time.monotonic() - started
        data += chunk


# -- F1: a stalled upload ------------------------------------------------------------------------
def test_stalled_upload_blocks_nobody_and_is_answered_408(live: LiveMock) -> None:
    with socket.create_connection(live.address) as stalled:
        stalled.sendall(STALLED_UPLOAD.encode())
        time.sleep(0.2)  # the server now waits for the 10 bytes
        started = time.monotonic()
        partner = live.get(SHIFTS, headers=auth_headers(), timeout=READ_TIMEOUT)
        created = live.post(SHIFTS, json={"id": "after-stall"}, headers=auth_headers())
        control = live.get("/__mock/requests", timeout=READ_TIMEOUT)
        assert time.monotonic() - started < READ_TIMEOUT
        assert (partner.status_code, created.status_code, control.status_code) == (200, 201, 200)
        data, closed_after = read_answer(stalled, READ_TIMEOUT + 5)
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body) == envelope("requestTimeout")
    assert closed_after < READ_TIMEOUT + 1


def test_stalled_upload_with_request_threads() -> None:
    """granian with --threads 2 (the app on a thread pool): same answer, nobody waits."""
    mock = LiveMock("--threads", "2", "--read-timeout", str(READ_TIMEOUT))
    with mock, socket.create_connection(mock.address) as stalled:
        stalled.sendall(STALLED_UPLOAD.encode())
        time.sleep(0.2)
        started = time.monotonic()
        assert mock.get(SHIFTS, headers=auth_headers(), timeout=READ_TIMEOUT).status_code == 200
        assert time.monotonic() - started < READ_TIMEOUT
        data, _ = read_answer(stalled, READ_TIMEOUT + 5)
    assert data.startswith(b"HTTP/1.1 408 ")


def test_trickled_body_gets_the_same_total_timeout(live: LiveMock) -> None:
    with socket.create_connection(live.address) as slow:
        slow.sendall(STALLED_UPLOAD.encode())
        for _ in range(4):  # one byte per half timeout: never idle for a whole timeout
            time.sleep(READ_TIMEOUT / 2)
            try:
                slow.sendall(b" ")
            except OSError:
                break
        data, _ = read_answer(slow, 5)
    assert data.startswith(b"HTTP/1.1 408 ")


def test_silent_connection_is_closed_after_the_read_timeout(live: LiveMock) -> None:
    with socket.create_connection(live.address) as silent:
        data, closed_after = read_answer(silent, READ_TIMEOUT + 5)
    assert data == b""
    assert closed_after < READ_TIMEOUT + 1


def test_idle_keep_alive_connection_is_closed_after_the_read_timeout(live: LiveMock) -> None:
    request = f"GET /__mock/faults HTTP/1.1\r\nHost: 127.0.0.1:{live.address[1]}\r\n\r\n"
    with socket.create_connection(live.address) as kept:
        kept.sendall(request.encode())
        data, closed_after = read_answer(kept, READ_TIMEOUT + 5)
    assert data.startswith(b"HTTP/1.1 200 ")
    assert closed_after < READ_TIMEOUT + 1


# -- F2: many idle connections -------------------------------------------------------------------
IDLE = 1100


def enough_open_files(count: int) -> None:
    """Let this test process hold ``count`` sockets, or skip."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.skip(f"the open-files limit ({hard}) is under {wanted}")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def test_a_thousand_idle_connections_do_not_lock_out_a_new_client(live: LiveMock) -> None:
    enough_open_files(IDLE)
    idle: list[socket.socket] = []
    try:
        for _ in range(IDLE):
            idle.append(socket.create_connection(live.address, timeout=5))
        time.sleep(0.2)
        started = time.monotonic()
        response = requests.get(live.url + "/__mock/faults", timeout=READ_TIMEOUT)
        assert response.status_code == 200
        assert time.monotonic() - started < READ_TIMEOUT
    finally:
        for sock in idle:
            sock.close()


@pytest.mark.parametrize("server", SERVERS)
def test_connection_limit(server: str) -> None:
    """Past --max-connections: werkzeug answers 503 at once; granian serves the new client
    once the read timeout has closed an idle connection."""
    args = ["--server", server, "--read-timeout", "1", "--max-connections", "4"]
    with LiveMock(*args) as mock:
        idle = [socket.create_connection(mock.address, timeout=5) for _ in range(4)]
        try:
            time.sleep(0.2)
            started = time.monotonic()
            answer = raw_request(mock.address, "GET", "/__mock/faults", timeout=5)
            waited = time.monotonic() - started
        finally:
            for sock in idle:
                sock.close()
    if server == "werkzeug":
        assert (answer.status, json.loads(answer.body)) == (503, envelope("tooManyConnections"))
        assert waited < 0.5
    else:
        assert answer.status == 200
        assert waited < 1 + 1


# -- SIGTERM whatever the clients do -------------------------------------------------------------
@pytest.mark.parametrize("server", SERVERS)
def test_sigterm_stops_within_5s_with_a_stalled_upload_and_writes_the_state(
    server: str, tmp_path: Path
) -> None:
    state_file = tmp_path / "state.json"
    mock = LiveMock("--server", server, "--state-file", str(state_file), "--read-timeout", "60")
    with mock:
        assert mock.post(SHIFTS, json={"id": "kept"}, headers=auth_headers()).status_code == 201
        stalled = socket.create_connection(mock.address)
        stalled.sendall(STALLED_UPLOAD.encode())
        slow_faults = {"operations": {"listShifts": {"latency_ms": 30000}}}
        assert mock.post("/__mock/faults", json=slow_faults).status_code == 200
        delayed = socket.create_connection(mock.address)
        delayed.sendall(
            f"GET {SHIFTS} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-partner-key: {DEFAULT.partner_key}\r\n"
            f"x-discord-guild: {DEFAULT.guild_id}\r\n\r\n".encode()
        )
        time.sleep(0.3)
        started = time.monotonic()
        code = mock.stop(signal.SIGTERM, timeout=10)
        stopped_after = time.monotonic() - started
        stalled.close()
        delayed.close()
    assert stopped_after < 5
    assert code in (0, 1)
    saved = json.loads(state_file.read_text())
    dumped = json.dumps(saved)
    assert '"kept"' in dumped
    assert mock.stdout_lines[-1] == "northca-mock stopped"


# -- F8: Host, Origin and CORS over the socket ---------------------------------------------------
@pytest.mark.parametrize(
    "host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "localhost.evil"]
)
def test_foreign_host_is_refused(live: LiveMock, host: str) -> None:
    for path in (SHIFTS, "/__mock/state"):
        answer = raw_request(live.address, "GET", path, [("Host", host), *auth()])
        assert answer.status == 403
        body = json.loads(answer.body)
        assert {"ok": body["ok"], "error": body["error"]} == envelope("forbiddenHost")


def auth() -> list[tuple[str, str]]:
    return [("x-partner-key", DEFAULT.partner_key), ("x-discord-guild", DEFAULT.guild_id)]


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST:1234", "127.0.0.1", "127.1.2.3", "[::1]"])
def test_loopback_hosts_are_served(live: LiveMock, host: str) -> None:
    answer = raw_request(live.address, "GET", SHIFTS, [("Host", host), *auth()])
    assert answer.status == 200


def test_dns_rebinding_cannot_read_the_state(live: LiveMock) -> None:
    response = requests.get(
        live.url + "/__mock/state", headers={"Host": "attacker.example:4010"}, timeout=10
    )
    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden host"


def test_cross_site_fault_plan_is_refused_and_not_applied(live: LiveMock) -> None:
    """The issue's reproduction: a text/plain POST from a foreign origin."""
    plan = (
        '{"seed":1,"operations":{"*":{"latency_ms":60000,"error_rate":1,"error":"internalError"}}}'
    )
    response = requests.post(
        live.url + "/__mock/faults",
        headers={"Origin": "http://evil.example", "Content-Type": "text/plain"},
        data=plan,
        timeout=10,
    )
    assert response.status_code == 403
    assert response.json()["error"] == "Forbidden origin"
    assert live.get("/__mock/faults").json()["data"]["operations"] == {}


def test_same_origin_and_cors_origin_are_let_in(live: LiveMock) -> None:
    own = live.url.rstrip("/")
    same = live.post("/__mock/reset", headers={"Origin": own})
    assert same.status_code == 200
    assert "access-control-allow-origin" not in same.headers
    dash = live.get(SHIFTS, headers={**auth_headers(), "Origin": "http://dash.example:3000"})
    assert dash.status_code == 200
    assert dash.headers["access-control-allow-origin"] == "http://dash.example:3000"
    assert dash.headers["vary"] == "Origin"


def test_cors_preflight_only_for_the_configured_origin(live: LiveMock) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "x"}
    ok = live.request(
        "OPTIONS", SHIFTS, headers={"Origin": "http://dash.example:3000", **preflight}
    )
    assert ok.status_code == 204
    assert ok.content == b""
    assert ok.headers["access-control-allow-origin"] == "http://dash.example:3000"
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert "x-partner-key" in ok.headers["access-control-allow-headers"]
    other = live.request("OPTIONS", SHIFTS, headers={"Origin": "http://evil.example", **preflight})
    assert (other.status_code, other.json()["error"]) == (403, "Forbidden origin")
    bare = live.request("OPTIONS", SHIFTS, headers=auth_headers())
    assert bare.status_code == 405


def test_without_cors_no_preflight_is_answered() -> None:
    with LiveMock() as mock:
        response = mock.request(
            "OPTIONS",
            SHIFTS,
            headers={"Origin": "http://dash.example:3000", "Access-Control-Request-Method": "GET"},
        )
    assert (response.status_code, response.json()["error"]) == (403, "Forbidden origin")


@pytest.mark.parametrize("server", SERVERS)
def test_allowed_host_widens_the_host_check(server: str) -> None:
    with LiveMock("--server", server, "--allowed-host", "mock.internal") as mock:
        allowed = raw_request(mock.address, "GET", SHIFTS, [("Host", "mock.internal:80"), *auth()])
        other = raw_request(mock.address, "GET", SHIFTS, [("Host", "other.internal"), *auth()])
    assert (allowed.status, other.status) == (200, 403)


# -- F10: underscore header names ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ([("x_partner_key", DEFAULT.partner_key), ("x-discord-guild", DEFAULT.guild_id)], 401),
        ([("x-partner-key", DEFAULT.partner_key), ("x_discord_guild", DEFAULT.guild_id)], 401),
        (
            [
                ("x-partner-key", "wrong"),
                ("x_partner_key", DEFAULT.partner_key),
                ("x-discord-guild", DEFAULT.guild_id),
            ],
            401,
        ),
        ([("x-partner-key", DEFAULT.partner_key), ("x-discord-guild", DEFAULT.guild_id)], 200),
    ],
    ids=["underscore-key", "underscore-guild", "underscore-beside-dashed", "dashed"],
)
def test_underscore_headers_are_not_read_as_dashed(
    live: LiveMock, headers: list[tuple[str, str]], status: int
) -> None:
    answer = raw_request(live.address, "GET", SHIFTS, headers)
    assert answer.status == status


@pytest.mark.parametrize("server", SERVERS)
def test_underscore_admin_token_is_not_the_admin_token(server: str) -> None:
    with LiveMock("--server", server, "--admin-token", "tok") as mock:
        underscore = raw_request(
            mock.address, "GET", "/__mock/state", [("x_mock_admin_token", "tok")]
        )
        dashed = raw_request(mock.address, "GET", "/__mock/state", [("x-mock-admin-token", "tok")])
    assert (underscore.status, dashed.status) == (401, 200)


# -- F9: an empty admin token --------------------------------------------------------------------
@pytest.mark.parametrize("token", ["", "  "])
def test_empty_admin_token_is_refused_at_start(token: str) -> None:
    result = serve_and_exit("--admin-token", token)
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr == (
        "northca-mock: --admin-token is empty: give a token, or leave the option out to run"
        " without one\n"
    )


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--read-timeout", "0"], "--read-timeout 0: expected seconds in (0, 3600]"),
        (["--max-connections", "0"], "--max-connections 0: expected at least 1"),
        (["--cors", "evil"], "--cors 'evil': expected an origin such as http://localhost:3000"),
        (
            ["--allowed-host", "a/b"],
            "--allowed-host 'a/b': expected a host name or address, or '*'",
        ),
    ],
)
def test_bad_limits_and_guard_options_are_refused_at_start(args: list[str], line: str) -> None:
    result = serve_and_exit(*args)
    assert (result.returncode, result.stderr) == (2, f"northca-mock: {line}\n")
