"""A bot flow through the client openapi-python-client (pinned in the dev extra) generates from
``openapi.yaml`` passes ``mypy --strict`` with no cast and no ``Unset`` check, and runs against
both HTTP servers.

The flow is ``tests/python_client/bot_flow.py``; the client is generated once for the module.
openapi-python-client needs Python >= 3.11, so the module is skipped on 3.10.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.live import LiveMock

pytest.importorskip("openapi_python_client", reason="openapi-python-client needs Python >= 3.11")

ROOT = Path(__file__).resolve().parents[1]
FLOW = ROOT / "tests" / "python_client" / "bot_flow.py"
TIMEOUT = 180.0


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder holding the generated package ``northca_generated_client``."""
    folder = tmp_path_factory.mktemp("python-client")
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump({"post_hooks": []}))
    command = [sys.executable, "-m", "openapi_python_client", "generate", "--meta", "none"]
    command += ["--path", str(ROOT / "openapi.yaml"), "--config", str(config)]
    command += ["--output-path", str(folder / "northca_generated_client")]
    result = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in (result.stdout + result.stderr).lower(), result.stdout
    return folder


def _run(command: list[str], folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command,
        cwd=folder,  # no project config: mypy runs with --strict alone
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        check=False,
        env={"PATH": "/usr/bin:/bin", **env},
    )


def test_the_flow_has_no_cast_and_no_unset_check() -> None:
    source = FLOW.read_text(encoding="utf-8")
    assert "cast(" not in source and "type: ignore" not in source
    assert "from northca_generated_client.types" not in source  # where Unset lives
    # The only narrowing is an error answer's: isinstance(..., ErrorEnvelope).
    checked = re.findall(r"isinstance\([^,]+,\s*(\w+)\)", source)
    assert checked and set(checked) == {"ErrorEnvelope"}, checked


def test_mypy_strict_accepts_the_flow(generated: Path) -> None:
    mypy = [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(FLOW)]
    result = _run(mypy, generated, MYPYPATH=str(generated))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Success: no issues found in 1 source file"), result.stdout


@pytest.mark.parametrize("server", ["granian", "werkzeug"])
def test_the_flow_runs_against_the_mock(generated: Path, server: str) -> None:
    with LiveMock("--server", server) as live:
        result = _run(
            [sys.executable, str(FLOW), live.url + "/v1"], generated, PYTHONPATH=str(generated)
        )
    assert result.returncode == 0, result.stdout + result.stderr
    seen = json.loads(result.stdout)
    assert (seen["request"], seen["approved"]) == ("pending", "approved")
    assert seen["expires"] is not None
    assert seen["departments"] == ["Patrol", "Traffic"]
    assert seen["call"] == [True, "closed"]
    assert seen["units"] == ["ADAM-12", "LINCOLN-3"]
    assert seen["panic"][0] == "ADAM-12"
    assert seen["deleted"] is True
    assert seen["shifts"] is True
    assert seen["started"] is not None
    assert seen["too_large"] == [413, "Request body too large"]
