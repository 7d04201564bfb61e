"""Fresh virtual environments for the packaging tests, and what an install weighs.

``python -m tests.install_size`` (``make install-size``) builds the wheel, installs it bare and
with every user-facing extra into two new venvs, and prints the number of packages and their size.
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INSTALLED = (
    "import importlib.metadata as m, json; "
    "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))"
)


def run(command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    """Run ``command``; fail with its output if it fails."""
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        output = result.stdout + result.stderr
        raise AssertionError(f"{command} exited {result.returncode}\n{output}")
    return result


def build_wheel(out: Path) -> Path:
    """The project's wheel, built from this checkout (hatchling from the dev extra)."""
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
    run([*command, "--quiet", "-w", str(out), str(ROOT)], timeout=300)
    (built,) = out.glob("northca_mock-*.whl")
    return built


def fresh_venv(path: Path) -> Path:
    """A new venv without pip (this pip installs into it); its python."""
    run([sys.executable, "-m", "venv", "--without-pip", str(path)], timeout=120)
    return path / "bin" / "python"


def pip_install(python: Path, *requirements: str) -> None:
    """``pip install`` into the venv of ``python`` with this interpreter's pip."""
    command = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    run([*command, *requirements], timeout=600)


def installed(python: Path) -> dict[str, str]:
    """Distribution name -> version, in the venv of ``python``."""
    found: dict[str, str] = json.loads(run([str(python), "-c", INSTALLED], timeout=60).stdout)
    return found


def site_packages_bytes(venv: Path) -> int:
    """The sum of the sizes of the files in the venv's site-packages."""
    (site,) = (venv / "lib").glob("python*/site-packages")
    return sum(f.stat().st_size for f in site.rglob("*") if f.is_file() and not f.is_symlink())


def measure(wheel: Path, extras: str, where: Path) -> tuple[int, float]:
    """(packages besides northca-mock, MB) of ``wheel[extras]`` installed into a new venv."""
    python = fresh_venv(where)
    pip_install(python, f"northca-mock{extras} @ {wheel.as_uri()}")
    packages = [name for name in installed(python) if name != "northca-mock"]
    return len(packages), site_packages_bytes(where) / 1e6


def main() -> int:
    pip = run([sys.executable, "-m", "pip", "--version"], timeout=60).stdout.split()[1]
    print(
        f"Python {platform.python_version()}, pip {pip}, {platform.system()} {platform.machine()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        wheel = build_wheel(Path(tmp))
        for label, extras in (
            ("bare", ""),
            ("contracts", "[contracts]"),
            ("full", "[contracts,async]"),
        ):
            count, megabytes = measure(wheel, extras, Path(tmp) / label)
            print(f"{label:<10} northca-mock{extras}: {count} packages, {megabytes:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
