"""The spec travels with the code: the wheel carries ``mockserver/openapi.yaml`` and the server
finds it without the source checkout."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from mockserver.spec import default_spec_path

ROOT = Path(__file__).resolve().parents[1]
REPO_SPEC = ROOT / "openapi.yaml"
PROBE = (
    "import mockserver, contracts; "
    "from mockserver.spec import default_spec_path; "
    "print(default_spec_path())"
)

needs_checkout = pytest.mark.skipif(
    not (ROOT / "pyproject.toml").is_file(), reason="not running from a source checkout"
)


@needs_checkout
def test_default_spec_path_is_the_repository_spec() -> None:
    path = default_spec_path()
    assert path.is_file()
    assert path.read_bytes() == REPO_SPEC.read_bytes()


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    result = subprocess.run(
        [*command, "--quiet", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    (built,) = out.glob("northca_mock-*.whl")
    return built


@needs_checkout
def test_wheel_contents(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        assert archive.read("mockserver/openapi.yaml") == REPO_SPEC.read_bytes()
        archive_bytes = {name: archive.read(name) for name in names if "/assets/" in name}
    assert "mockserver/__init__.py" in names
    assert "mockserver/spec.py" in names
    assert "contracts/__init__.py" in names
    # The inspector's page travels with it (no build step: the files as they are in the tree).
    for asset in ("index.html", "app.js", "app.css"):
        name = f"mockserver/inspector/assets/{asset}"
        assert archive_bytes[name] == (ROOT / name).read_bytes(), name
    # The code packages only: no tests, no venv, no seeds.
    assert not any(name.startswith(("tests/", ".venv/")) for name in names)


@needs_checkout
def test_unpacked_wheel_finds_its_own_spec(wheel: Path, tmp_path: Path) -> None:
    unpacked = tmp_path / "site"
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(unpacked)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(unpacked)}
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    printed = Path(result.stdout.strip())
    assert printed.is_relative_to(unpacked.resolve()), printed
    assert printed.read_bytes() == REPO_SPEC.read_bytes()
