"""The inspector, measured by Lighthouse (pinned in tests/lighthouse) in Debian's Chromium.

With live data (partner requests, a pending link request) and a running simulation, the page must
not jump as polled data arrives (cumulative layout shift at most 0.1), log no console error, and
score at least 0.95 for accessibility and best practices, on a phone's viewport and a desktop's.
``make test`` installs Lighthouse (``make lighthouse``) and Chromium; without them
this test skips, except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import ROOT, LiveMock
from tests.support import DEFAULT, auth_headers

LIGHTHOUSE = ROOT / "tests" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CHROMIUM = Path("/usr/bin/chromium")
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run"
    " --disable-background-networking --disable-component-update --disable-sync"
)


def _missing() -> str | None:
    if shutil.which("node") is None:
        return "node is missing"
    if not LIGHTHOUSE.is_file():
        return f"{LIGHTHOUSE} is missing: run `make lighthouse`"
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing: run `make browser`"
    return None


@pytest.fixture(scope="module")
def busy_mock() -> Iterator[LiveMock]:
    problem = _missing()
    if problem is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(problem)
        pytest.skip(problem)
    with LiveMock("--simulate", "120", "--simulate-seed", "2") as mock:
        shifts = f"/mdts/{DEFAULT.mdt_id}/shifts"
        for index in range(5):
            shift = {"officer_name": f"Officer {index}", "department": "Patrol"}
            assert mock.post(shifts, json=shift, headers=auth_headers()).status_code == 201
        assert mock.get(shifts + "?limit=0", headers=auth_headers()).status_code == 400
        link = mock.post(
            "/link-requests", json={"mdt_id": DEFAULT.unlinked_mdt_id}, headers=auth_headers()
        )
        assert link.status_code == 201
        assert mock.post("/__mock/clock", json={"advance_seconds": 300}).status_code == 200
        yield mock


@pytest.mark.parametrize("form_factor", ["mobile", "desktop"])
def test_the_inspector_stays_still_clean_and_accessible(
    busy_mock: LiveMock, form_factor: str, tmp_path: Path
) -> None:
    report = tmp_path / "lighthouse.json"
    command = [
        str(LIGHTHOUSE),
        f"{busy_mock.url}/__mock/",
        "--output=json",
        f"--output-path={report}",
        "--only-categories=accessibility,best-practices,performance",
        f"--chrome-flags={CHROME_FLAGS}",
        "--quiet",
    ]
    if form_factor == "desktop":
        command.append("--preset=desktop")
    done = subprocess.run(
        command,
        env={**os.environ, "CHROME_PATH": str(CHROMIUM)},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(report.read_text(encoding="utf-8"))
    audits, scores = result["audits"], {k: v["score"] for k, v in result["categories"].items()}
    shifts = [
        item.get("node", {}).get("selector")
        for item in audits["layout-shifts"].get("details", {}).get("items", [])
    ]
    assert audits["cumulative-layout-shift"]["numericValue"] <= 0.1, shifts
    assert audits["errors-in-console"]["score"] == 1, audits["errors-in-console"].get("details")
    assert scores["accessibility"] >= 0.95, _failing(result, "accessibility")
    assert scores["best-practices"] >= 0.95, _failing(result, "best-practices")


def _failing(result: dict[str, object], category: str) -> list[str]:
    """The audits of a category that did not pass, for the assertion message."""
    categories = result["categories"]
    audits = result["audits"]
    assert isinstance(categories, dict) and isinstance(audits, dict)
    refs = categories[category]["auditRefs"]
    return [r["id"] for r in refs if audits[r["id"]].get("score") not in (None, 1)]
