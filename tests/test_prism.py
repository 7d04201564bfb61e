"""Prism (pinned in ``tests/node``), serving ``openapi.yaml`` unchanged, answers every documented
error of every operation with its own status and string, exactly as the mock does.

For each named error example, both get ``Prefer: code=<status>, example=<name>`` (Prism's
syntax, which the mock also reads) on a valid request; for each documented error status, both
get ``Prefer: code=<status>`` and answer its first example. The two answers must be equal, and
equal to the example. (With a schema-level ``example`` on ``ErrorEnvelope``, Prism answered
``Unauthorized`` to every ``code=`` alone.)
"""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from mockserver import create_app
from mockserver.spec import Operation, ResponseExample, load_spec
from tests.node_tools import NODE_DIR, ROOT, node_bin
from tests.support import DEFAULT, auth_headers, filled_path, request_example

SPEC = load_spec()
START_TIMEOUT = 60.0
ERRORS = [
    (op, example)
    for op in SPEC.operations.values()
    for example in op.examples()
    if example.is_error
]

#: (operation, its first error example of each status)
FIRST_OF_STATUS = [
    (op, example)
    for op in SPEC.operations.values()
    for example in {e.status: e for e in reversed(list(op.examples())) if e.is_error}.values()
]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def prism() -> Iterator[str]:
    """The URL of ``prism mock openapi.yaml`` on a free loopback port."""
    port = _free_port()
    command = [str(node_bin() / "prism"), "mock", "--host", "127.0.0.1", "--port", str(port)]
    process = subprocess.Popen(
        [*command, str(ROOT / "openapi.yaml")],
        cwd=NODE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            assert process.poll() is None, "prism exited"
            try:
                requests.get(url + "/link-requests", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "prism did not start"
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _request(op: Operation, prefer: str) -> dict[str, Any]:
    """A request Prism finds valid, with this ``Prefer`` header."""
    headers = {**auth_headers(), "Prefer": prefer}
    request: dict[str, Any] = {"method": op.method, "headers": headers, "timeout": 30}
    if op.body_schema_ref is not None:
        request["json"] = request_example(op.operation_id)
    return request


def _both(prism: str, op: Operation, prefer: str) -> tuple[tuple[int, Any], tuple[int, Any]]:
    """(status, body) from Prism and from the mock for the same request."""
    path = filled_path(op.path, mdtId=DEFAULT.mdt_id, guildId=DEFAULT.guild_id)
    request = _request(op, prefer)
    theirs = requests.request(url=prism + path, **request)
    ours = (
        create_app()
        .test_client()
        .open(path, method=op.method, headers=request["headers"], json=request.get("json"))
    )
    return (theirs.status_code, theirs.json()), (ours.status_code, ours.get_json())


@pytest.mark.parametrize(
    ("op", "example"), ERRORS, ids=[f"{op.operation_id}-{e.name}" for op, e in ERRORS]
)
def test_prism_answers_each_named_error_as_the_mock_does(
    prism: str, op: Operation, example: ResponseExample
) -> None:
    theirs, ours = _both(prism, op, f"code={example.status}, example={example.name}")
    expected = (example.status, {"ok": False, "error": example.message})
    assert theirs == ours == expected


@pytest.mark.parametrize(
    ("op", "example"),
    FIRST_OF_STATUS,
    ids=[f"{op.operation_id}-{e.status}" for op, e in FIRST_OF_STATUS],
)
def test_prism_answers_each_error_status_as_the_mock_does(
    prism: str, op: Operation, example: ResponseExample
) -> None:
    theirs, ours = _both(prism, op, f"code={example.status}")
    expected = (example.status, {"ok": False, "error": example.message})
    assert theirs == ours == expected
