"""The wheel: it carries the spec (``mockserver/openapi.yaml``), and installed bare into a fresh
venv it brings the mock and the fixture without the contracts toolkit."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

from mockserver import __version__
from mockserver.spec import default_spec_path
from tests.install_size import build_wheel, fresh_venv, installed, pip_install

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
    return build_wheel(tmp_path_factory.mktemp("wheel"))


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


@needs_checkout
def test_dist_builds_an_sdist_and_a_wheel_from_it(tmp_path: Path) -> None:
    """What ``make dist`` runs: the sdist holds the sources, tests (and the mutation harness they
    test) and docs; the wheel built from it the packages and the spec."""
    command = [
        sys.executable,
        "-m",
        "build",
        "--no-isolation",
        "--outdir",
        str(tmp_path),
        str(ROOT),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    (sdist,) = tmp_path.glob("northca_mock-*.tar.gz")
    (built,) = tmp_path.glob("northca_mock-*.whl")
    with tarfile.open(sdist) as archive:
        top = {name.split("/")[1] for name in archive.getnames() if name.count("/")}
    assert top == {
        "mockserver", "contracts", "mutation", "tests", "openapi.yaml", "schemathesis.toml",
        "action.yml", "README.md", "ARCHITECTURE.md", "Makefile", "pyproject.toml", "PKG-INFO",
        ".gitignore", "docs", "mkdocs.yml",
    }  # fmt: skip
    with zipfile.ZipFile(built) as archive:
        top = {name.split("/")[0] for name in archive.namelist()}
        assert archive.read("mockserver/openapi.yaml") == REPO_SPEC.read_bytes()
    assert top == {"mockserver", "contracts", f"northca_mock-{__version__}.dist-info"}


USER_TESTS = """
import requests


def test_over_a_socket(northca_mock):
    api, mdt, h = northca_mock.v1_url, northca_mock.mdt_id, northca_mock.headers
    shift = {"officer_name": "B. Bubbleton", "department": "Patrol", "status": "active"}
    r = requests.post(f"{api}/mdts/{mdt}/shifts", json=shift, headers=h)
    assert r.status_code == 201 and r.json()["data"]["officer_name"] == "B. Bubbleton"
    r = requests.put(f"{api}/mdts/{mdt}/units/active", json={"units": [{"id": "A"}, {"id": "A"}]},
                     headers=h)
    assert r.status_code == 400 and r.json()["error"] == "Duplicate unit id in request body"
    assert northca_mock.requests.operation_ids == ["createShift", "upsertActiveUnits"]


def test_in_process(northca_inprocess):
    mock = northca_inprocess
    r = mock.session.get(f"{mock.v1_url}/mdts/{mock.mdt_id}", headers=mock.headers)
    assert r.status_code == 200 and r.json()["ok"] is True
    mock.requests.assert_called("getMdtInfo", times=1)
    assert mock.state()["mdts"][mock.mdt_id]["shifts"] == []  # reset since the other test
"""


@needs_checkout
def test_bare_wheel_in_a_fresh_venv(wheel: Path, tmp_path: Path) -> None:
    """pytest 9 and the bare wheel: no contracts toolkit; a user's fixture tests pass; ``serve``
    and ``northca-contracts`` explain themselves."""
    venv = tmp_path / "venv"
    python = fresh_venv(venv)
    pip_install(python, str(wheel), "pytest>=9,<10")
    names = {name.lower() for name in installed(python)}
    assert not names & {"schemathesis", "hypothesis", "httpx", "openapi-core"}, sorted(names)
    assert {"northca-mock", "flask", "jsonschema_rs", "requests", "granian"} <= names
    user = tmp_path / "user"
    user.mkdir()
    (user / "test_bot.py").write_text(USER_TESTS, encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "PYTHON"))}

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, cwd=user, env=env, capture_output=True, text=True, timeout=120, check=False
        )

    tests = run(str(python), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_bot.py")
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "2 passed" in tests.stdout
    version = run(str(python), "-c", "import pytest; print(pytest.version_tuple[0])")
    assert version.stdout == "9\n"
    contracts = run(str(venv / "bin" / "northca-contracts"), "check", "--help")
    assert (contracts.returncode, contracts.stdout) == (2, "")
    assert contracts.stderr == (
        "northca-contracts: the contracts toolkit is not installed (no schemathesis, hypothesis):"
        " install northca-mock[contracts] (from a checkout: pip install '.[contracts]')\n"
    )
    serve = run(str(venv / "bin" / "northca-mock"), "serve", "--help")
    assert serve.returncode == 0 and "--port" in serve.stdout, serve.stderr
