"""Spectral (``spectral:oas``) and Redocly (``recommended``), pinned in ``tests/node``, find
nothing in ``openapi.yaml``: no error, no warning, no hint."""

from __future__ import annotations

import json
from pathlib import Path

from tests.node_tools import NODE_DIR, ROOT, node_bin, run_tool

SPEC = ROOT / "openapi.yaml"


def test_spectral_oas_reports_nothing() -> None:
    spectral = node_bin() / "spectral"
    command: list[str | Path] = [spectral, "lint", "--ruleset", NODE_DIR / "spectral.yaml"]
    command += ["--format", "json"]
    result = run_tool([*command, "--fail-severity", "hint", "--quiet", SPEC], cwd=NODE_DIR)
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout) == []


def test_redocly_recommended_reports_nothing() -> None:
    redocly = node_bin() / "redocly"
    command: list[str | Path] = [redocly, "lint", "--config", NODE_DIR / "redocly.yaml"]
    command += ["--format", "json", SPEC]
    result = run_tool(command, cwd=NODE_DIR, env={"REDOCLY_TELEMETRY": "off"})
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads(result.stdout)
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}, report["problems"]
