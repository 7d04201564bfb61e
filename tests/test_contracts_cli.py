"""``northca-contracts check`` against a mock served over HTTP: exit codes, output, reports."""

from __future__ import annotations

import json
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from contracts import rules
from contracts.cli import main
from mockserver import create_app
from mockserver.threaded import served
from tests.support import DEFAULT


def args(url: str, *extra: str) -> list[str]:
    return [
        "check", "--url", url, "--partner-key", DEFAULT.partner_key, "--guild", DEFAULT.guild_id,
        "--mdt", DEFAULT.mdt_id, "--actor", DEFAULT.actor_id, "--seed", "5", *extra,
    ]  # fmt: skip


@pytest.fixture
def mock_url() -> Iterator[str]:
    with served(create_app()) as url:
        yield url


def test_conforming_target_exits_0_and_writes_reports(
    mock_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junit = tmp_path / "junit.xml"
    code = main(
        args(mock_url, "--include-destructive", "--stage", "workflows", "--stage", "stateful",
             "--junit", str(junit), "--report-dir", str(tmp_path / "report"))
    )  # fmt: skip
    out = capsys.readouterr().out
    assert code == 0, out
    assert "CONFORMS" in out and "== workflows" in out
    suites = ET.parse(junit).getroot()
    assert suites.tag == "testsuites"
    assert [s.get("failures") for s in suites.iter("testsuite")] == ["0", "0"]
    coverage = json.loads((tmp_path / "report" / "coverage.json").read_text())
    assert coverage["totals"]["errors_exercised"] > 0
    assert "| `upsertActiveUnits` |" in (tmp_path / "report" / "coverage.md").read_text()


def test_violation_exits_1_naming_rule_and_curl(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with served(create_app(bugs=["wrong-error-string"])) as url:
        code = main(args(url, "--stage", "workflows", "--junit", str(tmp_path / "j.xml")))
    out = capsys.readouterr().out
    assert code == 1
    assert "units.duplicate-id in upsertActiveUnits" in out
    assert f"   meaning: {rules.UNITS_DUPLICATE_ID.description}\n" in out
    assert "reproduce: curl -i -X PUT" in out
    assert "Duplicate unit id in request body" in out
    assert ET.parse(tmp_path / "j.xml").getroot().find(".//failure") is not None


def test_unreachable_target_exits_2_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(args(f"http://127.0.0.1:{port}")) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("northca-contracts: target unreachable") and "\n" not in err


def test_refused_key_and_bad_usage_exit_2(
    mock_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad_key = args(mock_url)
    bad_key[bad_key.index(DEFAULT.partner_key)] = "nope"
    assert main(bad_key) == 2
    assert "refuses" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["check", "--url", mock_url])
    assert exit_info.value.code == 2
