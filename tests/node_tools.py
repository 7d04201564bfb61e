"""The pinned JavaScript tools of ``tests/node/`` (openapi-typescript, openapi-fetch, tsc, Spectral,
Redocly, Prism), installed by ``make node-tools`` from its ``package-lock.json``.

``node_bin()`` makes sure they are installed (``make`` reinstalls only when the lock changed,
one process at a time) and returns their ``.bin`` folder. Without node or npm the calling test
skips, except in CI (``CI=true``), where it fails.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NODE_DIR = ROOT / "tests" / "node"
INSTALL_TIMEOUT = 900.0


def node_bin() -> Path:
    """``tests/node/node_modules/.bin``, installed; skip (fail in CI) without node and npm."""
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        message = f"{' and '.join(missing)} not found: the JavaScript tools cannot run"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    with (NODE_DIR / ".install.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one `npm ci` at a time across xdist workers
        result = subprocess.run(
            ["make", "--no-print-directory", "-s", "node-tools"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=INSTALL_TIMEOUT,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    return NODE_DIR / "node_modules" / ".bin"


def run_tool(
    command: list[str | Path], cwd: Path, timeout: float = 180.0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a tool, capturing its output as text (never raising on its exit status)."""
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env={**os.environ, **(env or {})},
    )
