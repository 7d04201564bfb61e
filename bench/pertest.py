"""The cost of a test: a reset, then 5 requests (2 creates, a list, an upsert, a documented error).

    python -m bench.pertest [--tests 1000] [--runs 3] [--workers 8]

Each way a user would write that test, run ``--tests`` times in a loop, the best of ``--runs``,
counted in CPU time of the whole process (client, mock and, over the socket, the server thread):
CPU time is what a test costs, and holds on a machine shared with other jobs where wall time
does not:

- ``inprocess``: the ``northca_inprocess`` fixture's handle (``prepare``: namespaces dropped,
  world loaded and reset) and its ``session`` (a ``requests.Session`` served in-process);
- ``socket``: the ``northca_mock`` handle (the same, over the plugin's server thread on
  127.0.0.1);
- ``responses``: the same 5 requests answered by ``responses`` stubs registered in the test (no
  state, no validation): what a user would otherwise pick;
- ``xdist``: tests of the socket kind in a pytest session with ``-n --workers``, each worker in
  its own namespace of one ``northca-mock serve``: the CPU time of pytest, its workers and the
  server per test, pytest included, its start-up left out (the difference between a session of
  ``--tests`` tests and one of a tenth of them).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.mix import FIVE_UNITS, HEADERS, MDT_ID, SHIFT

ROOT = Path(__file__).resolve().parent.parent
V1 = "/v1"
#: The 5 requests of the test: (method, path, JSON body, documented status).
REQUESTS: tuple[tuple[str, str, Any, int], ...] = (
    ("POST", f"/mdts/{MDT_ID}/shifts", SHIFT, 201),
    ("POST", f"/mdts/{MDT_ID}/shifts", SHIFT, 201),
    ("GET", f"/mdts/{MDT_ID}/shifts?limit=20", None, 200),
    ("PUT", f"/mdts/{MDT_ID}/units/active", FIVE_UNITS, 200),
    ("PUT", f"/mdts/{MDT_ID}/units/active", {"units": "ADAM-12"}, 400),
)


def _five(session: Any, base: str, headers: Mapping[str, str]) -> None:
    for method, path, body, status in REQUESTS:
        answer = session.request(method, base + path, json=body, headers=headers)
        if answer.status_code != status:
            raise AssertionError(f"{method} {path}: {answer.status_code}, expected {status}")


def _timed(run_one: Callable[[], None], tests: int, runs: int) -> float:
    """CPU microseconds per test (this process, every thread), the best of ``runs`` loops."""
    for _ in range(min(tests, 50)):  # warm-up
        run_one()
    best = float("inf")
    for _ in range(runs):
        started = time.process_time()
        for _ in range(tests):
            run_one()
        best = min(best, (time.process_time() - started) / tests * 1e6)
    return best


def inprocess(tests: int, runs: int) -> float:
    from mockserver.testing import build_app, prepare

    app = build_app(None, None)

    def one() -> None:
        mock = prepare(app, None)
        _five(mock.session, mock.v1_url, mock.headers)
        mock.close()

    return _timed(one, tests, runs)


def socket(tests: int, runs: int) -> float:
    from mockserver.testing import ServerThread, build_app, prepare

    app = build_app(None, None)
    thread = ServerThread(app).start()
    try:

        def one() -> None:
            mock = prepare(app, None).over(thread.url)
            _five(mock.session, mock.v1_url, mock.headers)
            mock.close()

        return _timed(one, tests, runs)
    finally:
        thread.stop()


def stubbed(tests: int, runs: int) -> float:
    import requests
    import responses

    base = "http://northca.test" + V1
    answers = [
        {"ok": True, "data": {"id": "s-1", **SHIFT}},
        {"ok": True, "data": {"id": "s-2", **SHIFT}},
        {"ok": True, "data": []},
        {"ok": True, "data": FIVE_UNITS["units"]},
        {"ok": False, "error": "Invalid request body"},
    ]

    def one() -> None:
        with responses.RequestsMock() as stubs, requests.Session() as session:
            for (method, path, _, status), answer in zip(REQUESTS, answers, strict=True):
                stubs.add(method, base + path, json=answer, status=status)
            _five(session, base, HEADERS)

    return _timed(one, tests, runs)


_SUITE = """
import pytest

from bench.pertest import REQUESTS, _five


@pytest.mark.parametrize("n", range({tests}))
def test_realistic(n, northca_server_url):
    import requests

    headers = {{**{headers}, "x-mock-namespace": northca_server_url[1]}}
    requests.post(northca_server_url[0] + "/__mock/reset", headers=headers)
    with requests.Session() as session:
        _five(session, northca_server_url[0] + "/v1", headers)
"""

_CONFTEST = """
import os
import resource

import pytest


@pytest.fixture(scope="session")
def northca_server_url(worker_id):
    return os.environ["NORTHCA_URL"], worker_id
"""


def xdist(tests: int, workers: int) -> float:
    """CPU microseconds per test of pytest sessions with ``-n workers`` against one serve:
    (session of ``tests`` - session of ``tests // 10``) / the tests between them."""
    from bench.servers import free_port

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "mockserver", "serve", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=ROOT,
    )
    try:
        assert server.stdout is not None
        server.stdout.readline()  # its URL, once it answers
        few = max(1, tests // 10)
        spent: dict[int, float] = {}
        server_before = _cpu_of(server.pid)
        spent[few] = _session_cpu(few, workers, port) + _cpu_of(server.pid) - server_before
        server_before = _cpu_of(server.pid)
        spent[tests] = _session_cpu(tests, workers, port) + _cpu_of(server.pid) - server_before
        return (spent[tests] - spent[few]) / (tests - few) * 1e6
    finally:
        server.terminate()
        server.wait(10)


def _session_cpu(tests: int, workers: int, port: int) -> float:
    """CPU seconds of one pytest session (and its workers) of ``tests`` tests."""
    with tempfile.TemporaryDirectory() as folder:
        suite = Path(folder)
        (suite / "test_realistic.py").write_text(
            textwrap.dedent(_SUITE).format(tests=tests, headers=dict(HEADERS))
        )
        (suite / "conftest.py").write_text(textwrap.dedent(_CONFTEST))
        env = {**os.environ, "NORTHCA_URL": f"http://127.0.0.1:{port}", "PYTHONPATH": str(ROOT)}
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        command += ["-p", "no:northca", "-n", str(workers), str(suite)]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(command, env=env, cwd=folder, check=True, capture_output=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        return after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def _cpu_of(pid: int) -> float:
    """CPU seconds a running process has used (``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class PerTest:
    tests: int
    inprocess_us: float
    socket_us: float
    responses_us: float
    xdist_us: float | None
    workers: int

    def rows(self) -> list[tuple[str, float, str]]:
        base = self.responses_us
        found = [
            ("`responses` stubs (no state, no validation)", base, "1.00x"),
            ("in-process (`northca_inprocess`)", self.inprocess_us, _x(self.inprocess_us, base)),
            ("over the socket (`northca_mock`)", self.socket_us, _x(self.socket_us, base)),
        ]
        if self.xdist_us is not None:
            found.append(
                (
                    f"{self.workers} namespaces in parallel (pytest -n {self.workers})",
                    self.xdist_us,
                    _x(self.xdist_us, base),
                )
            )
        return found


def _x(value: float, base: float) -> str:
    return f"{value / base:.2f}x"


def measure(tests: int = 1000, runs: int = 3, workers: int = 8, xdist_too: bool = True) -> PerTest:
    return PerTest(
        tests,
        inprocess(tests, runs),
        socket(tests, runs),
        stubbed(tests, runs),
        xdist(tests, workers) if xdist_too else None,
        workers,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tests", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--no-xdist", action="store_true")
    args = parser.parse_args()
    result = measure(args.tests, args.runs, args.workers, not args.no_xdist)
    for name, us, ratio in result.rows():
        print(f"{name:70s} {us:9.0f} CPU us/test  {ratio}")
    print(
        json.dumps(
            {
                "inprocess_over_responses": result.inprocess_us / result.responses_us,
                "socket_over_inprocess": result.socket_us / result.inprocess_us,
            }
        )
    )


if __name__ == "__main__":
    main()
