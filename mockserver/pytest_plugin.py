"""pytest plugin: the Northca mock as fixtures, over a socket or in-process.

Loaded automatically once ``northca-mock`` is installed (entry point ``pytest11`` ``northca``;
``-p no:northca`` turns it off). Importing it imports neither Flask nor the mock: that happens when
a test first asks for a ``northca_*`` fixture.

Fixtures (the mock is built once per session, per xdist worker, and reset before every test):

- ``northca_mock``: a :class:`~mockserver.testing.NorthcaMock` served on ``127.0.0.1`` and a free
  port by a thread;
- ``northca_inprocess``: the same handle without a socket (``url`` is ``http://northca-mock.local``,
  reached through ``.session`` or ``.client``); ``northca_app`` and ``northca_client`` are its Flask
  app and test client;
- ``northca_world``: the world of one test (None: the session's world). Override it, or mark a test
  with ``@pytest.mark.northca_world("world.yaml" | {...})``.

An unexpected exception inside the mock (answered 500) fails the test that caused it, with the
mock's traceback.

``--northca-coverage`` prints which documented responses (operations x statuses x error strings)
the tests received from the mock, and how to reach the others; ``--northca-coverage-fail-under
PCT`` fails the session below that share; ``--northca-coverage-report FILE`` writes it (JSON, or
Markdown for ``.md``). Under xdist, the workers' counts are merged.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

    from mockserver.bot_coverage import Report, Tally
    from mockserver.testing import NorthcaMock, ServerThread

_OPTIONS = {
    "northca_spec": "OpenAPI file of the Northca mock (default: the packaged openapi.yaml)",
    "northca_seed": "world file (YAML or JSON) of the Northca mock (default: the packaged world)",
}
_HANDLE = pytest.StashKey["NorthcaMock"]()
_TALLY: pytest.StashKey[Tally] = pytest.StashKey()
_REPORT: pytest.StashKey[Report] = pytest.StashKey()
_WORKER_KEY = "northca_coverage"  # in xdist's workeroutput


def _percent(value: str) -> float:
    import argparse

    try:
        percent = float(value)
    except ValueError:
        percent = -1.0
    if not 0 <= percent <= 100:
        raise argparse.ArgumentTypeError(f"expected a percentage from 0 to 100, got {value!r}")
    return percent


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("northca", "Northca mock (northca-mock)")
    for name, text in _OPTIONS.items():
        group.addoption(
            "--" + name.replace("_", "-"), dest=name, metavar="PATH", default=None, help=text
        )
        parser.addini(name, text + "; relative to the ini file", default="")
    group.addoption(
        "--northca-coverage",
        action="store_true",
        dest="northca_coverage",
        help="print which documented responses of the Northca API your tests received from the"
        " mock (operations x statuses x error strings), and how to reach the others",
    )
    group.addoption(
        "--northca-coverage-fail-under",
        dest="northca_coverage_fail_under",
        metavar="PCT",
        type=_percent,
        default=None,
        help="fail the session if the tests received less than PCT%% of the documented responses",
    )
    group.addoption(
        "--northca-coverage-report",
        dest="northca_coverage_report",
        metavar="FILE",
        default=None,
        help="write the Northca coverage report to FILE: Markdown if it ends in .md, else JSON",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "northca_world(world, generate={...}): run this test against another world of the Northca"
        " mock: a YAML/JSON path (relative to the test file) or a dict; or a generated world,"
        " with the options of `northca-mock world generate` (seed, mdts, guilds, records_per_mdt,"
        " maps, now, days)",
    )
    if (
        config.getoption("northca_coverage")
        or config.getoption("northca_coverage_fail_under") is not None
        or config.getoption("northca_coverage_report")
    ):
        from mockserver.bot_coverage import Tally

        config.stash[_TALLY] = Tally()


# -- coverage of the tests ---------------------------------------------------------------------
@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: add a finished worker's counts."""
    tally = node.config.stash.get(_TALLY, None)
    dumped = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if tally is not None and dumped:
        tally.merge(dumped)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Send the counts to the controller (xdist worker), or build, write and check the report."""
    config = session.config
    tally = config.stash.get(_TALLY, None)
    if tally is None or config.option.collectonly:
        return
    workeroutput = getattr(config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_KEY] = tally.dump()
        return
    from mockserver.bot_coverage import build_report
    from mockserver.spec import load_spec

    report = build_report(load_spec(option_path(config, "northca_spec")), tally)
    config.stash[_REPORT] = report
    target = config.getoption("northca_coverage_report")
    if target:
        path = config.invocation_params.dir / str(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(report.render(path.name), encoding="utf-8")
    fail_under = config.getoption("northca_coverage_fail_under")
    if fail_under is not None and report.below(fail_under) and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(
    terminalreporter: pytest.TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    report = config.stash.get(_REPORT, None)
    if report is None:
        return
    write = terminalreporter.write_line
    if config.getoption("northca_coverage"):
        terminalreporter.write_sep("=", "Northca coverage")
        for line in report.terminal_lines(max(terminalreporter._tw.fullwidth, 60)):
            write(line)
    target = config.getoption("northca_coverage_report")
    if target:
        write(f"Northca coverage report written to {target}")
    fail_under = config.getoption("northca_coverage_fail_under")
    if fail_under is not None and report.below(fail_under):
        terminalreporter.write_line(
            f"FAIL: {report.summary()}, below --northca-coverage-fail-under {fail_under:g}%",
            red=True,
            bold=True,
        )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """Fail the test with the mock's own exception if the mock raised while it ran."""
    __tracebackhide__ = True
    try:
        yield
    except BaseException as exc:
        mock = item.stash.get(_HANDLE, None)
        failed = isinstance(exc, (Exception, pytest.fail.Exception))  # not skip, xfail, exit
        if mock is not None and failed:
            mock.check_errors(test_failure=exc)
        raise
    mock = item.stash.get(_HANDLE, None)
    if mock is not None:
        mock.check_errors()


def option_path(config: pytest.Config, name: str) -> Path | None:
    """``--northca-…`` (relative to the invocation directory), else the ini key, else None."""
    value = config.getoption(name)
    if value:
        return config.invocation_params.dir / str(value)
    ini = str(config.getini(name) or "")
    if ini:
        base = config.inipath.parent if config.inipath else config.rootpath
        return base / ini
    return None


# -- session ---------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def _northca_base_app(pytestconfig: pytest.Config) -> Flask:
    from mockserver.testing import build_app

    spec = option_path(pytestconfig, "northca_spec")
    seed = option_path(pytestconfig, "northca_seed")
    return build_app(spec, seed)


@pytest.fixture(scope="session")
def _northca_server_thread(_northca_base_app: Flask) -> Iterator[ServerThread]:
    from mockserver.testing import ServerThread

    thread = ServerThread(_northca_base_app).start()
    yield thread
    thread.stop()


# -- per test --------------------------------------------------------------------------------------
@pytest.fixture
def northca_world(request: pytest.FixtureRequest) -> Any:
    """The world of this test: the ``northca_world`` marker's, else None (the session's world).

    Override it (any scope) to give a module or directory its own world: return a path, a dict or
    None.
    """
    marker = request.node.get_closest_marker("northca_world")
    if marker is None:
        return None
    if len(marker.args) + len(marker.kwargs) != 1 or set(marker.kwargs) - {"world", "generate"}:
        pytest.fail(
            "use @pytest.mark.northca_world(<path or dict>) or northca_world(generate={...})",
            pytrace=False,
        )
    if "generate" in marker.kwargs:
        from mockserver.testing import generated_world

        return generated_world(marker.kwargs["generate"])
    source = marker.args[0] if marker.args else marker.kwargs["world"]
    if isinstance(source, (str, Path)):
        beside = Path(request.node.path).parent / source
        return beside if beside.exists() else Path(source)
    return source


@pytest.fixture
def _northca_test(
    request: pytest.FixtureRequest, _northca_base_app: Flask, northca_world: Any
) -> Iterator[NorthcaMock]:
    from mockserver.testing import prepare

    tally = request.config.stash.get(_TALLY, None)
    mock = prepare(_northca_base_app, northca_world, tally.update if tally is not None else None)
    request.node.stash[_HANDLE] = mock
    yield mock
    __tracebackhide__ = True
    try:
        mock.close()
        mock.check_errors()  # raised while fixtures that use the mock were torn down
    finally:
        mock.drain_journals()  # before the next test's reset: the coverage tally sees them


@pytest.fixture
def northca_mock(
    _northca_test: NorthcaMock, _northca_server_thread: ServerThread
) -> Iterator[NorthcaMock]:
    """The Northca mock on ``127.0.0.1`` and a free port, reset to this test's world.

    ``url`` (with or without ``/v1``), ``headers``, ``partner_key``, ``guild_id``, ``mdt_id``,
    ``owner_id``, ``requests.assert_called(op, times=)``, ``state()``, ``reset()``,
    ``advance_clock(s)``, ``set_world(w)``; see :class:`mockserver.testing.NorthcaMock`.
    """
    mock = _northca_test.over(_northca_server_thread.url)
    yield mock
    mock.close()


@pytest.fixture
def northca_inprocess(_northca_test: NorthcaMock) -> NorthcaMock:
    """The same mock and handle as ``northca_mock`` with no socket: its ``url`` is reached through
    ``.session`` (a ``requests.Session``) or ``.client`` (Flask test client)."""
    return _northca_test


@pytest.fixture
def northca_app(_northca_test: NorthcaMock) -> Flask:
    """The mock's Flask app, reset to this test's world."""
    return _northca_test.app


@pytest.fixture
def northca_client(_northca_test: NorthcaMock) -> FlaskClient:
    """A Flask test client of the mock, reset to this test's world."""
    return _northca_test.client
