"""The checker on implementations other than ours: another base path, a target that dies
mid-run, schemathesis findings in the same shape as every other finding."""

from __future__ import annotations

import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from contracts import (
    Auth,
    CheckOptions,
    HttpTarget,
    TargetUnreachable,
    WsgiTarget,
    rules,
    run_check,
)
from contracts.cli import main
from contracts.events import CheckFinished, Event, Failure, RunFinished
from contracts.redact import PLACEHOLDER
from contracts.reporters import ConsoleReporter, FileReporter, junit_xml
from contracts.runner import Reporter
from contracts.schemathesis_run import STATEFUL_LABEL
from mockserver import create_app
from mockserver.threaded import served
from tests.live import LiveMock
from tests.support import DEFAULT

SERVERS = ["granian", "werkzeug"]
AUTH = Auth(DEFAULT.partner_key, DEFAULT.guild_id, DEFAULT.mdt_id, actor=DEFAULT.actor_id)
FAST = ("--stage", "workflows", "--workflow", "auth", "--workflow", "lists")


def args(url: str, *extra: str) -> list[str]:
    return [
        "check", "--url", url, "--partner-key", DEFAULT.partner_key, "--guild", DEFAULT.guild_id,
        "--mdt", DEFAULT.mdt_id, "--actor", DEFAULT.actor_id, "--seed", "5", *extra,
    ]  # fmt: skip


def not_found(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    start_response("404 NOT FOUND", [("Content-Type", "application/json")])
    return [b'{"ok":false,"error":"Not found"}']


def root_only(app: Any) -> Any:
    """The mock answering at the root only (its /v1 paths are 404), like Prism."""

    def wsgi(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO", "")).startswith("/v1/"):
            return not_found(environ, start_response)
        result: Iterable[bytes] = app(environ, start_response)
        return result

    return wsgi


def test_preflight_finds_the_api_at_the_root_and_says_so(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with served(root_only(create_app())) as url:
        root = url.removesuffix("/v1")
        code = main(args(root, *FAST))
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith(f"northca-contracts: the API is at {root} (the root)\n")
    assert f"checking {root} (seed 5" in out


@pytest.mark.parametrize("server", SERVERS)
def test_preflight_prefers_the_spec_base_path(
    server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with LiveMock("--server", server) as live:
        code = main(args(live.url, *FAST))
    out = capsys.readouterr().out
    assert code == 0, out
    assert out.startswith(
        f"northca-contracts: the API is at {live.url}/v1 (the spec's base path)\n"
    )


def test_base_path_flag_sets_another_base_path(capsys: pytest.CaptureFixture[str]) -> None:
    app = DispatcherMiddleware(not_found, {"/partner/api": create_app()})
    with served(app) as url:
        root = url.removesuffix("/v1")
        code = main(args(root, "--base-path", "partner/api/", *FAST))
        unset = main(args(root, *FAST))
    captured = capsys.readouterr()
    assert code == 0, captured.out
    assert captured.out.startswith(
        f"northca-contracts: the API is at {root}/partner/api (--base-path)\n"
    )
    assert unset == 2
    assert captured.err.startswith(
        f"northca-contracts: every route answers 404 at {root}/v1 and {root}: "
    )


class Finished(list[RunFinished]):
    """A reporter keeping the RunFinished events it sees."""

    def __call__(self, event: Event) -> None:
        if isinstance(event, RunFinished):
            self.append(event)


class Killer:
    """A reporter that kills the live mock once schemathesis reported a failure."""

    def __init__(self, live: LiveMock) -> None:
        self.live = live
        self.killed_after: list[str] = []

    def __call__(self, event: Event) -> None:
        failures = getattr(event, "failures", ())
        if not self.killed_after and event.__class__.__name__ == "CheckFinished" and failures:
            self.killed_after.append(str(getattr(event, "name", "")))
            self.live.kill()


@pytest.mark.parametrize("server", SERVERS)
def test_target_dying_mid_run_keeps_its_findings_and_reports(server: str, tmp_path: Path) -> None:
    console = io.StringIO()
    finished = Finished()
    with LiveMock("--server", server, "--bug", "undocumented-status") as live:
        killer = Killer(live)
        reporters: list[Reporter] = [
            ConsoleReporter(console),
            FileReporter(tmp_path / "j.xml", tmp_path / "report"),
            killer,
            finished,
        ]
        options = CheckOptions(AUTH, seed=3, max_examples=3, stages=("schemathesis", "workflows"))
        with pytest.raises(TargetUnreachable) as raised:
            run_check(HttpTarget(live.url + "/v1"), options, reporters)
    message = str(raised.value)
    assert killer.killed_after, console.getvalue()
    assert "None" not in message and "\n" not in message
    assert " it stopped answering during schemathesis " in message
    [run] = finished
    assert run.aborted == message and not run.ok
    found = [f for f in run.failures if f.rule == "schemathesis.status_code_conformance"]
    assert found, console.getvalue()
    out = console.getvalue()
    assert "1) schemathesis.status_code_conformance in createTicket" in out
    assert f"STOPPED ({message});" in out
    suites = ET.parse(tmp_path / "j.xml").getroot()
    assert suites.find(".//failure[@type='schemathesis.status_code_conformance']") is not None
    assert suites.find(".//error[@type='target-unreachable']").get("message") == message  # type: ignore[union-attr]
    assert json.loads((tmp_path / "report" / "coverage.json").read_text())["totals"]
    assert (tmp_path / "report" / "junit.xml").read_text() == (tmp_path / "j.xml").read_text()


def test_schemathesis_findings_read_like_every_other_finding() -> None:
    console = io.StringIO()
    reported = Finished()
    with served(create_app(bugs=["undocumented-status"])) as url:
        options = CheckOptions(AUTH, seed=3, max_examples=3, stages=("schemathesis",))
        run_check(
            HttpTarget(url),
            options,
            [ConsoleReporter(console), reported],
        )
    found = [f for r in reported for f in r.failures if f.rule.endswith("status_code_conformance")]
    assert found, console.getvalue()
    failure = found[0]
    assert failure.operation == "createTicket"
    assert failure.expected.startswith("a status the operation documents (201, 400, 401, 403")
    assert failure.received.startswith("202 {")
    assert failure.message.startswith("Undocumented status code: Received: 202")
    assert f' -H "x-partner-key: {PLACEHOLDER}" ' in failure.curl
    assert "Content-Length" not in failure.curl
    assert "[Filtered]" not in console.getvalue()
    assert DEFAULT.partner_key not in console.getvalue()
    assert f"   message: {failure.message}\n" in console.getvalue()
    assert STATEFUL_LABEL  # the stateful phase's scenarios are named, never "None"
    assert " None" not in console.getvalue()


def test_list_limit_message_states_what_was_listed() -> None:
    options = CheckOptions(AUTH, seed=3, stages=("workflows",), workflows=["lists"])
    run = run_check(WsgiTarget(create_app(bugs=["limit-ignored"])), options)
    found = [f for f in run.failures if f.rule == rules.LIST_LIMIT.name]
    assert found
    for failure in found:
        match = re.fullmatch(
            r"exactly (\d) item\(s\) with limit=(\d) \(limit=100 listed (\d+)\)", failure.expected
        )
        assert match is not None, failure.expected
        wanted, limit, listed = map(int, match.groups())
        assert wanted == min(limit, listed) and listed >= 3


def test_junit_holds_fuzzed_bytes_xml_cannot() -> None:
    failure = Failure("c", "envelope.json", "createCall", "JSON", "200 L\x1e]\ud800", "curl \x00")
    check = CheckFinished("workflows", "c\x07", (failure,), 0.0)
    root = ET.fromstring(junit_xml(RunFinished((failure,), 0.0, None, (check,))))
    node = root.find(".//failure")
    assert node is not None and node.text is not None
    assert "received: 200 L\\x1e]\\xd800\nreproduce: curl \\x00\n" in node.text
    assert root.find(".//testcase").get("name") == "c\\x07"  # type: ignore[union-attr]
