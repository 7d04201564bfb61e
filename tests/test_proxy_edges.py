"""The proxy at its edges: hostile upstreams and clients (``tests.hostile``), bounded time and
memory, malformed answers, and secrets kept out of everything it writes.

The proxy runs on its own werkzeug server only (``serve --server`` does not apply), over a
socket (no in-process client forwards). Statuses and bodies are the documented ones, as literals.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from mockserver.proxy.app import Proxy, create_proxy_app
from mockserver.proxy.forward import Upstream
from mockserver.proxy.serving import make_server
from mockserver.serving import Limits
from tests.hostile import (
    HostileUpstream,
    Peer,
    answer,
    connect,
    exchange,
    gzip_bomb,
    head,
    idle_connections,
    peak_rss,
    read_all,
    request_bytes,
    send_slowly,
)
from tests.live import LiveMock
from tests.support import DEFAULT, auth_headers
from tests.test_proxy import _shift

KEY = "sk-live-ECHOED-9d41b7"
HEADERS = auth_headers(key=KEY)
SHIFTS = f"/v1/mdts/{DEFAULT.mdt_id}/shifts"
UNREACHABLE = {"ok": False, "error": "Upstream unreachable"}
TIMED_OUT = {"ok": False, "error": "Upstream timed out"}
TOO_LARGE = {"ok": False, "error": "Request body too large"}
REQUEST_TIMEOUT = {"ok": False, "error": "Request timeout"}
TOO_MANY = {"ok": False, "error": "Too many connections"}


@contextmanager
def proxy_to(
    upstream: str,
    *,
    timeout: float = 5.0,
    max_body_bytes: int = 1 << 20,
    limits: Limits | None = None,
    **options: Any,
) -> Iterator[tuple[Proxy, tuple[str, int], str]]:
    """A proxy to ``upstream`` on its server, in a thread: (proxy, address, base URL)."""
    proxy = Proxy(Upstream(upstream, timeout, max_body_bytes), **options)
    server = make_server(create_proxy_app(proxy), "127.0.0.1", 0, limits or Limits())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    address = ("127.0.0.1", int(server.server_address[1]))
    try:
        yield proxy, address, f"http://127.0.0.1:{address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def get(address: tuple[str, int], path: str = SHIFTS, timeout: float = 30.0) -> Any:
    return exchange(address, request_bytes("GET", path, list(HEADERS.items())), timeout)


def raw_headers(data: bytes) -> list[tuple[str, str]]:
    """Every header line of the answer in ``data``, repeats kept."""
    head_part = data.partition(b"\r\n\r\n")[0].decode("latin-1")
    return [
        (name.strip().lower(), value.strip())
        for name, _, value in (line.partition(":") for line in head_part.split("\r\n")[1:])
    ]


def deviations(url: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = requests.get(url + "/__mock/deviations", timeout=10).json()[
        "data"
    ]["deviations"]
    return found


def of_rule(url: str, rule: str) -> list[tuple[int, str]]:
    return [(d["status"], d["actual"]) for d in deviations(url) if d["rule"] == rule]


OK_LIST = json.dumps({"ok": True, "data": []}).encode()


# -- item 9: malformed upstream answers are never forwarded as valid ------------------------------
def test_a_103_is_skipped_and_the_final_answer_forwarded() -> None:
    def script(peer: Peer) -> None:
        peer.send(head("103 Early Hints", [("Link", "</a.css>; rel=preload")]))
        peer.send(head("100 Continue"))
        peer.send(answer(OK_LIST))

    with HostileUpstream(script) as upstream, proxy_to(upstream.url + "/v1") as (proxy, a, url):
        got = get(a)
        assert (got.status, json.loads(got.body)) == (200, {"ok": True, "data": []})
        assert of_rule(url, "envelope.http") == [
            (200, "a 103 answer before the final one (skipped)"),
            (200, "a 100 answer before the final one (skipped)"),
        ]
        assert proxy.errors == []


def test_a_body_shorter_than_its_length_is_a_502_not_a_hang() -> None:
    def script(peer: Peer) -> None:
        peer.send(head("200 OK", [("Content-Type", "application/json"), ("Content-Length", "100")]))
        peer.send(b'{"ok":true')

    with HostileUpstream(script) as upstream, proxy_to(upstream.url + "/v1") as (_, a, url):
        started = time.monotonic()
        got = get(a, timeout=10)
        assert time.monotonic() - started < 3
        assert (got.status, json.loads(got.body)) == (502, UNREACHABLE)
        [(status, actual)] = of_rule(url, "envelope.http")
        assert status == 200
        assert actual.startswith("not valid HTTP/1.1: peer closed connection without sending")


def test_two_equal_content_lengths_are_forwarded_once() -> None:
    def script(peer: Peer) -> None:
        length = str(len(OK_LIST))
        peer.send(
            head(
                "200 OK",
                [
                    ("Content-Type", "application/json"),
                    ("Content-Length", length),
                    ("Content-Length", length),
                ],
            )
            + OK_LIST
        )

    with HostileUpstream(script) as upstream, proxy_to(upstream.url + "/v1") as (_, a, url):
        with connect(a) as sock:
            sock.sendall(request_bytes("GET", SHIFTS, list(HEADERS.items())))
            data, _ = read_all(sock, 10)
        lengths = [v for n, v in raw_headers(data) if n == "content-length"]
        assert lengths == [str(len(OK_LIST))]
        assert data.endswith(b"\r\n\r\n" + OK_LIST)
        twice = "Content-Length sent twice (forwarded once)"
        assert of_rule(url, "envelope.http") == [(200, twice)]


def test_two_different_content_lengths_are_a_502() -> None:
    def script(peer: Peer) -> None:
        peer.send(head("200 OK", [("Content-Length", "2"), ("Content-Length", "5")]) + b"{}")

    with HostileUpstream(script) as upstream, proxy_to(upstream.url + "/v1") as (_, a, url):
        got = get(a)
        assert (got.status, json.loads(got.body)) == (502, UNREACHABLE)
        assert of_rule(url, "envelope.http") == [
            (502, "not valid HTTP/1.1: conflicting Content-Length headers")
        ]


def test_a_bare_cr_in_a_header_is_a_502_and_splits_off_no_cookie() -> None:
    def script(peer: Peer) -> None:
        peer.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            b"X-Note: a\rSet-Cookie: session=stolen\r\n"
            b"Content-Length: " + str(len(OK_LIST)).encode() + b"\r\n\r\n" + OK_LIST
        )

    with HostileUpstream(script) as upstream, proxy_to(upstream.url + "/v1") as (_, a, url):
        with connect(a) as sock:
            sock.sendall(request_bytes("GET", SHIFTS, list(HEADERS.items())))
            data, _ = read_all(sock, 10)
        assert [n for n, _ in raw_headers(data) if n == "set-cookie"] == []
        assert data.startswith(b"HTTP/1.1 502 ")
        assert json.loads(data.partition(b"\r\n\r\n")[2]) == UNREACHABLE
        [(status, actual)] = of_rule(url, "envelope.http")
        assert status == 502 and actual.startswith("not valid HTTP/1.1: ")


@pytest.mark.parametrize(
    ("body", "actual", "checked"),
    [
        # no "data": the registered checks still run on them (envelope.success)
        (b'{"ok":true,"n":NaN}', "NaN is not JSON", True),
        (b'{"ok":true,"n":-Infinity}', "-Infinity is not JSON", True),
        (
            b'{"ok":true,"n":"\\ud800"}',
            "a string holds a lone UTF-16 surrogate: cannot be checked",
            False,
        ),
        (b"[" * 100_000 + b"]" * 100_000, "nested deeper than 64 levels: too deep to check", False),
    ],
    ids=["nan", "infinity", "lone-surrogate", "deep"],
)
def test_json_that_is_not_strict_is_reported(body: bytes, actual: str, checked: bool) -> None:
    with (
        HostileUpstream(lambda peer: peer.send(answer(body))) as upstream,
        proxy_to(upstream.url + "/v1") as (proxy, a, url),
    ):
        got = get(a)
        assert (got.status, got.body) == (200, body)  # forwarded as it came
        assert of_rule(url, "envelope.strict-json") == [(200, actual)]
        other = [d["rule"] for d in deviations(url) if d["rule"] != "envelope.strict-json"]
        assert ("envelope.success" in other) is checked  # too deep: no check ran at all
        assert checked or other == []
        assert proxy.errors == []


# -- item 7: the upstream --timeout covers the whole exchange -------------------------------------
STATUS_LINE = b"HTTP/1.1 200 OK\r\n"


def _informational(peer: Peer) -> None:
    for _ in range(20):
        peer.send(head("103 Early Hints"))
        peer.hold(0.3)


TRICKLES = {
    "status-line": lambda peer: peer.trickle(STATUS_LINE, 0.2),
    "headers": lambda peer: (peer.send(STATUS_LINE), peer.trickle(b"X-Slow: " + b"a" * 40, 0.2)),
    "informational": _informational,
    "body": lambda peer: (
        peer.send(head("200 OK", [("Content-Length", "40")])),
        peer.trickle(b"x" * 40, 0.2),
    ),
    "silence": lambda peer: peer.hold(30),
}


@pytest.mark.parametrize("trickle", TRICKLES, ids=list(TRICKLES))
def test_a_trickling_upstream_gets_a_504_at_the_timeout(trickle: str) -> None:
    with (
        HostileUpstream(TRICKLES[trickle]) as upstream,
        proxy_to(upstream.url + "/v1", timeout=1.0) as (_, a, _url),
    ):
        started = time.monotonic()
        got = get(a, timeout=30)
        took = time.monotonic() - started
        assert (got.status, json.loads(got.body)) == (504, TIMED_OUT)
        assert 0.9 < took < 2.0


# -- item 7: the proxy as a hardened server -------------------------------------------------------
def _silent(peer: Peer) -> None:
    peer.send(answer(OK_LIST))


def test_a_silent_or_stalled_client_is_closed_at_the_read_timeout() -> None:
    with (
        HostileUpstream(_silent) as upstream,
        proxy_to(upstream.url + "/v1", limits=Limits(read_timeout=1.0)) as (_, a, _url),
        connect(a) as silent,
        connect(a) as stalled,
    ):
        stalled.sendall(b"GET " + SHIFTS.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for sock in (silent, stalled):
            data, took = read_all(sock, 10)
            assert (data, took < 2.5) == (b"", True)


def test_trickled_headers_are_closed_at_the_read_timeout() -> None:
    # One deadline for the request line and headers, however many bytes trickle in.
    with (
        HostileUpstream(_silent) as upstream,
        proxy_to(upstream.url + "/v1", limits=Limits(read_timeout=1.0)) as (_, a, _url),
        connect(a) as sock,
    ):
        head = b"GET " + SHIFTS.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 60
        threading.Thread(target=send_slowly, args=(sock, head, 0.1, 6), daemon=True).start()
        data, took = read_all(sock, 10)
        assert (data, took < 2.5) == (b"", True)


@pytest.mark.parametrize("how", ["stalled", "trickled", "chunked"])
def test_a_slow_body_is_a_408_at_the_read_timeout(how: str) -> None:
    headers = [*HEADERS.items(), ("Content-Type", "application/json")]
    if how == "chunked":
        headers.append(("Transfer-Encoding", "chunked"))
    else:
        headers.append(("Content-Length", "200"))
    with (
        HostileUpstream(_silent) as upstream,
        proxy_to(upstream.url + "/v1", limits=Limits(read_timeout=1.0)) as (_, a, _url),
    ):
        with connect(a) as sock:
            sock.sendall(request_bytes("POST", SHIFTS, headers) + b"5\r\n{")
            if how != "stalled":
                threading.Thread(
                    target=send_slowly, args=(sock, b"x" * 50, 0.2, 5), daemon=True
                ).start()
            data, took = read_all(sock, 10)
        assert data.startswith(b"HTTP/1.1 408 ")
        assert json.loads(data.partition(b"\r\n\r\n")[2]) == REQUEST_TIMEOUT
        assert took < 2.5
        assert upstream.connections == 0


def test_connections_past_the_cap_get_503() -> None:
    limits = Limits(read_timeout=10.0, max_connections=4)
    with (
        HostileUpstream(_silent) as upstream,
        proxy_to(upstream.url + "/v1", limits=limits) as (_, a, _url),
        idle_connections(a, 4),
    ):
        time.sleep(0.2)  # let the server accept them
        before = threading.active_count()
        for _ in range(20):
            refused = exchange(a, request_bytes("GET", SHIFTS, list(HEADERS.items())), 5)
            assert (refused.status, json.loads(refused.body)) == (503, TOO_MANY)
        assert threading.active_count() <= before


def test_a_foreign_host_is_refused_before_forwarding() -> None:
    with HostileUpstream(_silent) as upstream, proxy_to(upstream.url + "/v1") as (_, a, _url):
        got = exchange(a, b"GET /v1/mdts HTTP/1.1\r\nHost: evil.example\r\n\r\n")
        assert (got.status, json.loads(got.body)) == (403, {"ok": False, "error": "Forbidden host"})
        assert upstream.connections == 0


# -- item 8: bounded bodies -----------------------------------------------------------------------
CAP = 64 << 10


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
def test_a_request_over_the_cap_is_a_413_and_not_forwarded(chunked: bool) -> None:
    body = b"x" * (CAP + 1)
    headers = [*HEADERS.items(), ("Content-Type", "application/json")]
    if chunked:
        headers.append(("Transfer-Encoding", "chunked"))
        payload = f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n"
    else:
        headers.append(("Content-Length", str(len(body))))
        payload = body
    with (
        HostileUpstream(_silent) as upstream,
        proxy_to(upstream.url + "/v1", max_body_bytes=CAP) as (_, a, _url),
    ):
        got = exchange(a, request_bytes("POST", SHIFTS, headers) + payload)
        assert (got.status, json.loads(got.body)) == (413, TOO_LARGE)
        assert upstream.connections == 0


@pytest.mark.parametrize("framing", ["content-length", "until-close"])
def test_an_answer_over_the_cap_is_a_502_and_a_deviation(framing: str) -> None:
    def script(peer: Peer) -> None:
        declared = [("Content-Length", str(200 << 20))] if framing == "content-length" else []
        peer.send(head("200 OK", [("Content-Type", "application/json"), *declared]))
        peer.endless()

    with (
        HostileUpstream(script) as upstream,
        proxy_to(upstream.url + "/v1", max_body_bytes=CAP) as (_, a, url),
    ):
        got = get(a)
        assert (got.status, json.loads(got.body)) == (502, UNREACHABLE)
        assert of_rule(url, "envelope.size") == [(200, f"answer body over {CAP} bytes")]


def test_a_gzip_bomb_is_too_large_to_check_and_never_expanded() -> None:
    bomb = gzip_bomb(64 << 20)

    def script(peer: Peer) -> None:
        headers = [
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
            ("Content-Length", str(len(bomb))),
        ]
        peer.send(head("200 OK", headers) + bomb)

    with (
        HostileUpstream(script) as upstream,
        proxy_to(upstream.url + "/v1", max_body_bytes=CAP) as (proxy, a, url),
    ):
        got = get(a)
        assert (got.status, got.body) == (200, bomb)  # forwarded unchanged
        assert [(d["rule"], d["actual"]) for d in deviations(url)] == [
            ("envelope.size", "larger once decompressed: too large to check (not expanded)")
        ]
        assert proxy.errors == []


# -- item 6: one hostile record does not lose the recorded world ----------------------------------
def test_a_record_that_cannot_be_written_is_left_out_counted_and_reported(tmp_path: Path) -> None:
    good = _shift("shift-good", "2026-03-01T00:00:00.000Z")
    bad = {**_shift("shift-bad", "2026-03-01T00:00:01.000Z"), "officer_name": "\ud800"}
    body = json.dumps({"ok": True, "data": [bad, good]}).encode()  # "\ud800" escaped: valid JSON
    world_file = tmp_path / "world.json"
    with (
        HostileUpstream(lambda peer: peer.send(answer(body))) as upstream,
        proxy_to(upstream.url + "/v1", record=world_file) as (proxy, a, url),
    ):
        assert get(a).status == 200
        snapshot = requests.post(url + "/__mock/snapshot", timeout=10)
        assert (snapshot.status_code, snapshot.json()) == (
            200,
            {"ok": True, "data": {"written": [str(world_file)]}},
        )
        assert of_rule(url, "envelope.strict-json") == [
            (200, "a string holds a lone UTF-16 surrogate: cannot be checked")
        ]
    world = json.loads(world_file.read_text(encoding="utf-8"))
    assert world["records"] == {DEFAULT.mdt_id: {"shifts": [good]}}
    assert proxy.recorder is not None and proxy.recorder.rejected == 1


# -- item 12: the partner key and URL userinfo are never written ---------------------------------
def _echo_key(peer: Peer) -> None:
    """Echoes the partner key: in a record of a list, and in an error message."""
    key = re.search(rb"(?im)^x-partner-key: *(\S+)", peer.request)
    echoed = key.group(1).decode() if key else "none"
    if peer.request.startswith(b"GET "):
        shift = {**_shift("shift-1", "2026-03-01T00:00:00.000Z"), "officer_name": echoed}
        peer.send(answer(json.dumps({"ok": True, "data": [shift]}).encode()))
    else:
        error = {"ok": False, "error": f"Invalid partner key {echoed}"}
        peer.send(answer(json.dumps(error).encode(), "401 Unauthorized"))


def test_an_echoed_partner_key_is_redacted_from_everything_written(tmp_path: Path) -> None:
    world_file = tmp_path / "world.json"
    with (
        HostileUpstream(_echo_key) as upstream,
        proxy_to(upstream.url + "/v1", record=world_file, report_dir=tmp_path) as (_, a, url),
    ):
        assert get(a).status == 200
        posted = json.dumps({"officer_name": KEY}).encode()
        headers = [*HEADERS.items(), ("Content-Type", "application/json")]
        headers.append(("Content-Length", str(len(posted))))
        assert exchange(a, request_bytes("POST", SHIFTS, headers, posted)).status == 401
        live = [requests.get(url + f"/__mock/{what}", timeout=10).text for what in WRITTEN]
        assert requests.post(url + "/__mock/snapshot", timeout=10).status_code == 200
    files = [p.read_text(encoding="utf-8") for p in (world_file, *REPORTS(tmp_path))]
    assert [KEY in text for text in live + files] == [False] * 5
    assert "Invalid partner key ${NORTHCA_PARTNER_KEY}" in live[0]  # the deviation is kept
    assert json.loads(files[0])["records"][DEFAULT.mdt_id]["shifts"][0]["officer_name"] == (
        "${NORTHCA_PARTNER_KEY}"
    )


WRITTEN = ("deviations", "requests")


def REPORTS(directory: Path) -> list[Path]:
    return [directory / "deviations.json", directory / "deviations.md"]


def test_upstream_userinfo_is_sent_as_basic_auth_and_never_printed(tmp_path: Path) -> None:
    password = "hunter2-NEVER-PRINT"
    with HostileUpstream(lambda peer: peer.send(answer(OK_LIST))) as upstream:
        target = upstream.url.replace("http://", f"http://bot:{password}@") + "/v1"
        with LiveMock("--upstream", target, "--report-dir", tmp_path, subcommand="proxy") as live:
            answered = requests.get(live.url + SHIFTS, headers=HEADERS, timeout=10)
            assert answered.status_code == 200
        basic = base64.b64encode(f"bot:{password}".encode()).decode()
        assert f"\r\nAuthorization: Basic {basic}\r\n".encode() in upstream.requests[0]
    written = [p.read_text(encoding="utf-8") for p in REPORTS(tmp_path)]
    assert [password in text for text in [live.output(), *written]] == [False] * 3
    assert json.loads(written[0])["upstream"] == upstream.url + "/v1"


# -- item 8: the proxy process's peak memory stays bounded ----------------------------------------
MEMORY_CAP = 1 << 20
#: Peak RSS growth allowed over the idle proxy: a few copies of the 1 MiB cap, not the attack.
MEMORY_GROWTH = 48 << 20


def _big_answer(peer: Peer) -> None:
    if b"/gzip " in peer.request.split(b"\r\n", 1)[0]:
        headers = [("Content-Encoding", "gzip"), ("Content-Length", str(len(BOMB[0])))]
        peer.send(head("200 OK", [("Content-Type", "application/json"), *headers]) + BOMB[0])
        return
    peer.send(head("200 OK", [("Content-Type", "application/json"), ("Content-Length", "2e8")]))
    peer.endless(most=200 << 20)


BOMB: list[bytes] = []


def _stream_request(address: tuple[str, int], chunked: bool) -> int:
    """A 200 MB request; the status the proxy answered."""
    size = 200 << 20
    framing = ("Transfer-Encoding", "chunked") if chunked else ("Content-Length", str(size))
    headers = [*HEADERS.items(), ("Content-Type", "application/json"), framing]
    with connect(address) as sock:
        sock.sendall(request_bytes("POST", SHIFTS, headers))
        piece = b"x" * (1 << 16)
        if chunked:
            piece = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
        sent = 0
        try:
            while sent < size:
                sock.sendall(piece)
                sent += len(piece)
        except OSError:
            pass
        data, _ = read_all(sock, 10)
    return int(data.split(b" ", 2)[1])


def test_peak_memory_of_the_proxy_stays_bounded_under_big_bodies() -> None:
    if not Path("/proc/self/status").exists():
        pytest.skip("reads VmHWM from /proc (Linux)")
    BOMB[:] = [gzip_bomb(256 << 20)]  # 256 MiB of zeros in about 250 KB
    with HostileUpstream(_big_answer) as upstream:
        args = ["--upstream", upstream.url + "/v1", "--max-body-bytes", str(MEMORY_CAP)]
        # werkzeug reads what follows a refused body until a read waits --read-timeout
        with LiveMock(*args, "--read-timeout", "2", subcommand="proxy") as live:
            assert live.process is not None
            address = live.address
            baseline = peak_rss(live.process.pid)
            bomb = exchange(address, request_bytes("GET", "/v1/gzip", list(HEADERS.items())))
            assert (bomb.status, bomb.body) == (200, BOMB[0])  # forwarded, not expanded
            big = exchange(address, request_bytes("GET", SHIFTS, list(HEADERS.items())))
            assert (big.status, json.loads(big.body)) == (502, UNREACHABLE)
            assert _stream_request(address, chunked=False) == 413
            assert _stream_request(address, chunked=True) == 413
            growth = peak_rss(live.process.pid) - baseline
    assert growth < MEMORY_GROWTH, f"peak RSS grew {growth >> 20} MiB"
