"""Issue 19, the HTTP servers' edges: on granian, werkzeug, in-process and the fixture's server.

Non-ASCII header values, trickled headers and bodies (slowloris), WebSocket upgrades, a strict
``Host``, one ``100 Continue``, a non-ASCII ``--admin-token``, and the fixture's thread server
guarded like ``serve``.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import requests

from mockserver.app import create_app
from mockserver.threaded import ThreadedServer
from tests.live import LiveMock, raw_request, serve_and_exit
from tests.support import DEFAULT

SERVERS = ["granian", "werkzeug"]
READ_TIMEOUT = 1.5
SHIFTS = f"/mdts/{DEFAULT.mdt_id}/shifts"
AUTH = [("x-partner-key", DEFAULT.partner_key), ("x-discord-guild", DEFAULT.guild_id)]
JSON = [("content-type", "application/json")]
MALFORMED = {"ok": False, "error": "Malformed HTTP request"}
NO_WEBSOCKET = {"ok": False, "error": "WebSocket not supported"}
TIMEOUT_408 = {"ok": False, "error": "Request timeout"}
#: ``café`` as a client may send it: Latin-1 (what ``requests`` does with a str) or UTF-8.
CAFE = {"latin-1": "café".encode("latin-1"), "utf-8": "café".encode()}
WEBSOCKET = [
    ("Upgrade", "websocket"),
    ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
    ("Sec-WebSocket-Version", "13"),
]


@pytest.fixture(scope="module", params=SERVERS)
def live(request: pytest.FixtureRequest) -> Iterator[LiveMock]:
    with LiveMock("--server", request.param, "--read-timeout", str(READ_TIMEOUT)) as mock:
        yield mock


def answer_of(live: LiveMock, *args: object, **kwargs: object) -> tuple[int, object]:
    response = raw_request(live.address, *args, **kwargs)  # type: ignore[arg-type]
    return response.status, json.loads(response.body)


def shift_ids(live: LiveMock, namespace: str | None = None) -> list[str]:
    headers = dict(AUTH) | ({"x-mock-namespace": namespace} if namespace else {})
    response = live.get(SHIFTS, headers=headers)
    assert response.status_code == 200, response.text
    return [shift["id"] for shift in response.json()["data"]]


# -- 1. non-ASCII header values --------------------------------------------------------------
@pytest.mark.parametrize("encoding", CAFE)
def test_non_ascii_namespace_is_refused_not_read_as_the_default(
    live: LiveMock, encoding: str
) -> None:
    """The issue's reproduction: a reset meant for ``café`` wiped the default namespace."""
    assert live.post("/__mock/reset").status_code == 200
    kept = live.post(SHIFTS, json={"id": "kept"}, headers=dict(AUTH))
    assert kept.status_code == 201
    namespace = [("x-mock-namespace", CAFE[encoding])]
    reset = answer_of(live, "POST", "/__mock/reset", namespace)
    created = answer_of(live, "POST", SHIFTS, [*AUTH, *JSON, *namespace], b'{"id":"x"}')
    assert (reset, created) == ((400, MALFORMED), (400, MALFORMED))
    assert shift_ids(live) == ["kept"]
    assert live.get("/__mock/namespaces").json()["data"] == {"namespaces": [""]}


@pytest.mark.parametrize("encoding", CAFE)
def test_non_ascii_actor_is_refused(live: LiveMock, encoding: str) -> None:
    assert live.post("/__mock/reset").status_code == 200
    headers = [*AUTH, *JSON, ("x-discord-actor", CAFE[encoding])]
    assert answer_of(live, "POST", SHIFTS, headers, b'{"id":"a"}') == (400, MALFORMED)
    assert shift_ids(live) == []


def test_non_ascii_header_names_the_header_in_the_diagnostic(live: LiveMock) -> None:
    response = raw_request(live.address, "GET", SHIFTS, [*AUTH, ("x-discord-actor", b"\xe9")])
    assert response.headers["x-northca-mock-detail"] == (
        "header x-discord-actor: a byte outside ASCII in its value"
    )


def test_non_ascii_header_is_refused_in_process() -> None:
    client = create_app().test_client()
    response = client.get(SHIFTS, headers={**dict(AUTH), "x-mock-namespace": "café"})
    assert (response.status_code, response.get_json()) == (400, MALFORMED)
    assert client.get("/__mock/namespaces").get_json()["data"] == {"namespaces": [""]}


# -- 10. slowloris: a total deadline for headers and for the body ---------------------------------
def trickle(sock: socket.socket, data: bytes, interval: float, stop: threading.Event) -> None:
    """Send ``data`` one byte at a time, ``interval`` seconds apart, until refused or stopped."""
    for byte in data:
        if stop.wait(interval):
            return
        try:
            sock.sendall(bytes([byte]))
        except OSError:
            return


def read_until_closed(sock: socket.socket, limit: float) -> tuple[bytes, float]:
    started = time.monotonic()
    sock.settimeout(limit)
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    return data, time.monotonic() - started


TRICKLED_HEADERS = (
    b"GET /__mock/faults HTTP/1.1\r\nHost: 127.0.0.1\r\nx-filler: " + b"a" * 40 + b"\r\n\r\n"
)
TRICKLED_CHUNKED_BODY = b"1\r\n{\r\n" * 40 + b"0\r\n\r\n"
CHUNKED_HEAD = (
    f"POST {SHIFTS} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-partner-key: {DEFAULT.partner_key}\r\n"
    f"x-discord-guild: {DEFAULT.guild_id}\r\ncontent-type: application/json\r\n"
    "Transfer-Encoding: chunked\r\n\r\n"
).encode()


def test_trickled_headers_are_cut_at_the_read_timeout(live: LiveMock) -> None:
    stop = threading.Event()
    with socket.create_connection(live.address) as slow:
        sender = threading.Thread(target=trickle, args=(slow, TRICKLED_HEADERS, 0.3, stop))
        sender.start()
        try:
            data, closed_after = read_until_closed(slow, READ_TIMEOUT + 10)
        finally:
            stop.set()
            sender.join()
    assert data == b""  # late headers: closed without an answer, as documented
    assert closed_after < READ_TIMEOUT + 1


def test_trickled_chunked_body_is_answered_408_at_the_read_timeout(live: LiveMock) -> None:
    stop = threading.Event()
    with socket.create_connection(live.address) as slow:
        slow.sendall(CHUNKED_HEAD)
        sender = threading.Thread(target=trickle, args=(slow, TRICKLED_CHUNKED_BODY, 0.3, stop))
        sender.start()
        try:
            data, closed_after = read_until_closed(slow, READ_TIMEOUT + 10)
        finally:
            stop.set()
            sender.join()
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 "), data[:200]
    assert json.loads(body) == TIMEOUT_408
    assert closed_after < READ_TIMEOUT + 1


@pytest.mark.parametrize("server", SERVERS)
def test_trickling_clients_do_not_hold_the_connection_cap(server: str) -> None:
    """The issue's reproduction, scaled down: every connection trickles headers at 1 byte/s."""
    args = ["--server", server, "--read-timeout", str(READ_TIMEOUT), "--max-connections", "4"]
    stop = threading.Event()
    with LiveMock(*args) as mock:
        slow = [socket.create_connection(mock.address) for _ in range(4)]
        senders = [
            threading.Thread(target=trickle, args=(sock, TRICKLED_HEADERS, 1.0, stop))
            for sock in slow
        ]
        for sender in senders:
            sender.start()
        try:
            time.sleep(READ_TIMEOUT + 1)
            answer = raw_request(mock.address, "GET", "/__mock/faults", timeout=5)
        finally:
            stop.set()
            for sender in senders:
                sender.join()
            for sock in slow:
                sock.close()
    assert answer.status == 200, answer.body


# -- 13. WebSocket upgrades ------------------------------------------------------------------------
@pytest.mark.parametrize("path", [SHIFTS, "/__mock/state", "/no/such/path"])
def test_websocket_upgrade_is_a_documented_400(live: LiveMock, path: str) -> None:
    assert answer_of(live, "GET", path, [*AUTH, *WEBSOCKET]) == (400, NO_WEBSOCKET)
    bare = [*AUTH, ("Upgrade", "websocket"), ("Connection", "Upgrade")]
    assert answer_of(live, "GET", path, bare) == (400, NO_WEBSOCKET)
    assert live.healthy()


def test_other_upgrades_are_ignored(live: LiveMock) -> None:
    assert live.post("/__mock/reset").status_code == 200
    h2c = [("Upgrade", "h2c"), ("Connection", "Upgrade, HTTP2-Settings"), ("HTTP2-Settings", "")]
    assert answer_of(live, "GET", SHIFTS, [*AUTH, *h2c]) == (200, {"ok": True, "data": []})


def test_websocket_upgrade_in_process() -> None:
    app = create_app()
    client = app.test_client()
    for path in (SHIFTS, "/__mock/state"):
        response = client.get(path, headers={**dict(AUTH), **dict(WEBSOCKET)})
        assert (response.status_code, response.get_json()) == (400, NO_WEBSOCKET)
    assert app.extensions["northca"].errors.total == 0


# -- 15. smaller ones ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "host",
    ["[::1]evil.example", "[::1]:80x", "localhost:80,evil.example", "[::1],evil.example", "a b"],
)
def test_host_is_parsed_strictly(live: LiveMock, host: str) -> None:
    assert answer_of(live, "GET", SHIFTS, [("Host", host), *AUTH]) == (400, MALFORMED)


@pytest.mark.parametrize("second", ["evil.example", "127.0.0.1"])
def test_two_host_headers_are_refused(live: LiveMock, second: str) -> None:
    headers = [("Host", "[::1]"), ("Host", second), *AUTH]
    assert answer_of(live, "GET", SHIFTS, headers) == (400, MALFORMED)


@pytest.mark.parametrize("host", ["[::1]:4010", "localhost:", "127.0.0.1:80", "LOCALHOST."])
def test_valid_loopback_hosts_still_pass(live: LiveMock, host: str) -> None:
    assert live.post("/__mock/reset").status_code == 200
    assert answer_of(live, "GET", SHIFTS, [("Host", host), *AUTH]) == (
        200,
        {"ok": True, "data": []},
    )


def test_one_100_continue(live: LiveMock) -> None:
    body = b'{"id":"continued"}'
    head = (
        f"POST {SHIFTS} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-partner-key: {DEFAULT.partner_key}\r\n"
        f"x-discord-guild: {DEFAULT.guild_id}\r\ncontent-type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n"
    ).encode()
    assert live.post("/__mock/reset").status_code == 200
    with socket.create_connection(live.address, timeout=10) as sock:
        sock.sendall(head)
        interim = b""
        while b"\r\n\r\n" not in interim:
            interim += sock.recv(1)
        sock.sendall(body)
        rest, _ = read_until_closed(sock, 10)
    assert interim == b"HTTP/1.1 100 Continue\r\n\r\n"
    assert rest.count(b"100 Continue") == 0
    assert rest.startswith(b"HTTP/1.1 201 "), rest[:200]


@pytest.mark.parametrize("token", ["tökén", "tok\u2603", "tok\x7f", " tok"])
def test_admin_token_that_http_cannot_carry_is_refused_at_start(token: str) -> None:
    result = serve_and_exit("--admin-token", token)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "northca-mock: --admin-token must be printable ASCII, without spaces at either end:"
        " a header cannot carry it\n"
    )


# -- 16. the fixture's thread server is an edge server too -----------------------------------------
@pytest.fixture(scope="module")
def thread_server() -> Iterator[ThreadedServer]:
    from mockserver.edge import Limits

    server = ThreadedServer(create_app(), limits=Limits(read_timeout=READ_TIMEOUT)).start()
    yield server
    server.stop()


def test_thread_server_refuses_a_cross_site_reset(thread_server: ThreadedServer) -> None:
    url = thread_server.url
    assert requests.post(f"{url}{SHIFTS}", json={"id": "kept"}, headers=dict(AUTH)).ok
    cross_site = requests.post(
        f"{url}/__mock/reset",
        headers={"Origin": "http://evil.example", "Content-Type": "text/plain"},
        data="{}",
        timeout=10,
    )
    rebound = requests.post(f"{url}/__mock/reset", headers={"Host": "evil.example"}, timeout=10)
    assert (cross_site.status_code, cross_site.json()) == (
        403,
        {"ok": False, "error": "Forbidden origin"},
    )
    assert (rebound.status_code, rebound.json()) == (403, {"ok": False, "error": "Forbidden host"})
    listed = requests.get(f"{url}{SHIFTS}", headers=dict(AUTH), timeout=10).json()["data"]
    assert [shift["id"] for shift in listed] == ["kept"]


def test_thread_server_times_out_a_stalled_upload(thread_server: ThreadedServer) -> None:
    head = (
        f"POST {SHIFTS} HTTP/1.1\r\nHost: 127.0.0.1\r\nx-partner-key: {DEFAULT.partner_key}\r\n"
        f"x-discord-guild: {DEFAULT.guild_id}\r\ncontent-type: application/json\r\n"
        "Content-Length: 10\r\n\r\n"
    ).encode()
    with socket.create_connection((thread_server.host, thread_server.port)) as stalled:
        stalled.sendall(head)
        data, closed_after = read_until_closed(stalled, READ_TIMEOUT + 10)
    head_line, _, body = data.partition(b"\r\n\r\n")
    assert head_line.startswith(b"HTTP/1.1 408 ")
    assert json.loads(body) == TIMEOUT_408
    assert closed_after < READ_TIMEOUT + 1


def test_thread_server_cuts_a_silent_connection(thread_server: ThreadedServer) -> None:
    with socket.create_connection((thread_server.host, thread_server.port)) as silent:
        data, closed_after = read_until_closed(silent, READ_TIMEOUT + 10)
    assert (data, closed_after < READ_TIMEOUT + 1) == (b"", True)
