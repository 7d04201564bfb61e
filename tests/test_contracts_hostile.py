"""The checker against hostile targets: a trickled answer, a 300 MB body and an endless body each
end the run within the request deadline or the byte cap, as a transport.* violation and exit 2
with one line, and the checker's memory stays under 500 MB."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import requests

from contracts.cli import main
from contracts.relay import relaying
from contracts.target import HttpTarget
from contracts.transport import AnswerOutOfBounds
from mockserver import create_app
from mockserver.threaded import served
from tests.hostile_target import HostileServer
from tests.live import ROOT
from tests.support import DEFAULT

CREDENTIALS = (
    "--partner-key", DEFAULT.partner_key, "--guild", DEFAULT.guild_id, "--mdt", DEFAULT.mdt_id,
    "--actor", DEFAULT.actor_id, "--seed", "5",
)  # fmt: skip
RSS_LIMIT_KB = 500 * 1024
#: ``northca-contracts`` that writes its own peak RSS (KiB) to $RSS_FILE when it ends: VmHWM of
#: /proc/self/status (``ru_maxrss`` would carry the peak of the process it was forked from, here
#: an xdist worker that may have grown large, across exec).
MEASURED = """
import os, sys
from contracts.cli import main
try:
    code = main(sys.argv[1:])
finally:
    with open("/proc/self/status") as status:
        peak = next(line.split()[1] for line in status if line.startswith("VmHWM:"))
    with open(os.environ["RSS_FILE"], "w") as out:
        out.write(peak)
sys.exit(code)
"""


@pytest.mark.parametrize(
    ("mode", "rule", "received"),
    [
        ("trickle", "transport.timeout", "received no whole answer after 2."),
        ("huge", "transport.too-large", "received Content-Length: 314572800"),
        ("endless", "transport.too-large", "received more than 16777216 bytes"),
    ],
)
def test_hostile_target_ends_the_run_in_bounds(
    mode: str, rule: str, received: str, tmp_path: Path
) -> None:
    rss_file = tmp_path / "rss"
    with HostileServer(mode) as server:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", MEASURED, "check", "--url", server.url, *CREDENTIALS,
             "--request-timeout", "2"],
            cwd=ROOT, capture_output=True, text=True, timeout=60,
            env={**os.environ, "RSS_FILE": str(rss_file)},
        )  # fmt: skip
        elapsed = time.monotonic() - started
    peak_kb = int(rss_file.read_text())
    assert done.returncode == 2, done.stderr
    [line] = done.stderr.splitlines()
    assert line.startswith(f"northca-contracts: answer out of bounds: {rule}: GET {server.url}/v1/")
    assert received in line
    assert elapsed < 20
    assert peak_kb < RSS_LIMIT_KB


def test_bounds_hold_on_one_request() -> None:
    with HostileServer("trickle") as server:
        started = time.monotonic()
        with pytest.raises(AnswerOutOfBounds) as raised:
            HttpTarget(server.url, timeout=0.5).send("GET", "/x", headers={"x-partner-key": "k"})
        assert time.monotonic() - started < 2
    assert raised.value.rule == "transport.timeout"
    assert raised.value.expected == "a whole answer within 0.5 s (--request-timeout)"
    assert raised.value.curl == f"curl -i -X GET {server.url}/x -H 'x-partner-key: k'"
    with HostileServer("endless") as server, pytest.raises(AnswerOutOfBounds) as raised:
        HttpTarget(server.url, max_bytes=100_000).send("GET", "/x")
    assert raised.value.received == "more than 100000 bytes"


def trickling_tickets(app: Any) -> Any:
    """The mock, except that creating a ticket trickles its answer."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "POST" and environ["PATH_INFO"].endswith("/tickets"):
            start_response("200 OK", [("Content-Type", "application/json")])
            return trickle()
        result: Iterable[bytes] = app(environ, start_response)
        return result

    def trickle() -> Iterable[bytes]:
        for _ in range(100):
            time.sleep(0.05)
            yield b" "

    return wsgi


def test_answer_out_of_bounds_mid_run_is_a_violation_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "junit.xml"
    with served(trickling_tickets(create_app())) as url:
        code = main(
            ["check", "--url", url, *CREDENTIALS, "--stage", "workflows", "--workflow", "lists",
             "--request-timeout", "1", "--junit", str(junit)]
        )  # fmt: skip
    captured = capsys.readouterr()
    assert code == 2
    [line] = captured.err.splitlines()
    assert line.startswith(
        f"northca-contracts: answer out of bounds: transport.timeout: POST {url}/v1/mdts/"
    )
    assert "; its answer broke a bound during workflows lists, " in line
    assert "1) transport.timeout in (transport) (workflows lists)" in captured.out
    failure = ET.parse(junit).getroot().find(".//failure[@type='transport.timeout']")
    assert failure is not None and "expected: a whole answer within 1 s" in str(failure.text)


def test_schemathesis_stage_is_bounded_too(capsys: pytest.CaptureFixture[str]) -> None:
    started = time.monotonic()
    with served(trickling_tickets(create_app())) as url:
        code = main(
            ["check", "--url", url, *CREDENTIALS, "--stage", "schemathesis",
             "--max-examples", "2", "--request-timeout", "1"]
        )  # fmt: skip
    elapsed = time.monotonic() - started
    captured = capsys.readouterr()
    assert code == 2
    [line] = captured.err.splitlines()
    assert line.startswith(
        f"northca-contracts: answer out of bounds: transport.timeout: POST {url}/v1/mdts/"
    )
    assert "; its answer broke a bound during schemathesis " in line
    assert "transport.timeout in (transport)" in captured.out
    assert elapsed < 60


def test_relay_passes_every_method_through_unchanged() -> None:
    headers = {"x-partner-key": DEFAULT.partner_key, "x-discord-guild": DEFAULT.guild_id}
    with served(create_app()) as url, relaying(5, 1 << 20) as (proxy, relay):
        session = requests.Session()
        session.proxies["all"] = proxy
        answer = session.request("QUERY", f"{url}/v1/mdts/{DEFAULT.mdt_id}", headers=headers)
        created = session.post(
            f"{url}/v1/mdts/{DEFAULT.mdt_id}/shifts", headers=headers, json={"id": "relay-1"}
        )
    assert (answer.status_code, answer.json()) == (
        405,
        {"ok": False, "error": "Method not allowed"},
    )
    assert answer.headers["Allow"] == "GET"
    assert created.status_code == 201 and created.json()["data"]["id"] == "relay-1"
    assert relay.broken == []
