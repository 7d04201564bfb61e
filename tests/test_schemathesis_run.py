"""The documented ``schemathesis run`` (README, ``schemathesis.toml``) against one live mock is not
hollow: every operation reaches its success status, and schemathesis warns of no operation that
only ever got 401/403 (as it did while ``unlinkMdt`` took the link away from the rest). The
documented settings as they are (with fewer examples, confirm or deny may never get a pending
request): about a minute on two idle cores."""

from __future__ import annotations

import subprocess
import sys

from mockserver.spec import load_spec
from tests.live import ROOT, LiveMock

UNLINK_NAMESPACE = "schemathesis-unlink"  # schemathesis.toml's namespace for unlinkMdt


def seen_statuses(live: LiveMock, namespace: str | None = None) -> dict[str, set[int]]:
    headers = {"x-mock-namespace": namespace} if namespace else {}
    coverage = live.get("/__mock/coverage", headers=headers).json()["data"]
    return {
        op["operation_id"]: {r["status"] for r in op["responses"] if r["seen"]}
        for op in coverage["operations"]
    }


def test_documented_run_reaches_every_success_status() -> None:
    with LiveMock() as live:
        done = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", "openapi.yaml",
             "--url", f"{live.url}/v1", "--phases", "examples,coverage,fuzzing,stateful",
             "--checks", "all", "--seed", "1"],
            cwd=ROOT, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        seen = seen_statuses(live)
        for operation_id, statuses in seen_statuses(live, UNLINK_NAMESPACE).items():
            seen[operation_id] |= statuses
    out = done.stdout
    assert done.returncode == 0, out[-3000:]
    assert "returned only 401/403 responses" not in out, out[-3000:]
    missing = {
        operation_id: sorted(seen[operation_id])
        for operation_id, operation in load_spec().operations.items()
        if operation.success_status not in seen[operation_id]
    }
    assert missing == {}
