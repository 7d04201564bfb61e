"""Every module the package imports at run time is a declared dependency, and the mock needs no
extra: read from the source's imports (every ``import``, in functions too, outside
``if TYPE_CHECKING:``) and the installed metadata of ``northca-mock``."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import packages_distributions, requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
OWN = {"mockserver", "contracts"}
#: What the mock (``mockserver``) may import: the bare install, and in a function only, the
#: ``async`` extra. ``contracts`` may import the bare install and its own extra.
EXTRAS_OF: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # package: (extras for module-level imports, extras for imports inside functions)
    "mockserver": ((), ("async",)),
    "contracts": (("contracts",), ("contracts",)),
}
#: Modules of the package that only a function imports, when an extra is installed: their own
#: module-level imports count as that extra's.
OPTIONAL_MODULES = {"mockserver/async_client.py": "async"}


@dataclass(frozen=True)
class Import:
    module: str  # top-level name, e.g. "yaml"
    where: str  # file:line
    lazy: bool  # inside a function


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def imports_of(path: Path, root: Path = ROOT) -> list[Import]:
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for other in node.orelse:
                visit(other, lazy)
            return
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            where = f"{path.relative_to(root)}:{node.lineno}"  # type: ignore[attr-defined]
            found.append(Import(name.split(".")[0], where, lazy))
        inner = lazy or isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(ast.parse(path.read_text(encoding="utf-8")), lazy=False)
    return found


def package_imports(package: str) -> list[Import]:
    return [i for path in sorted((ROOT / package).rglob("*.py")) for i in imports_of(path)]


def declared(extras: tuple[str, ...]) -> set[str]:
    """Canonical names of the distributions the bare install plus ``extras`` bring."""
    names: set[str] = set()
    for line in requires("northca-mock") or []:
        requirement = Requirement(line)
        marker = requirement.marker
        # A platform marker alone (uvloop's) holds for the bare install; an extra's needs it.
        if marker is None or any(marker.evaluate({"extra": e}) for e in ("", *extras)):
            names.add(canonicalize_name(requirement.name))
    return names


def third_party(found: list[Import]) -> dict[str, list[Import]]:
    """Distribution (canonical name) -> the imports that need it."""
    owners = packages_distributions()
    needed: dict[str, list[Import]] = {}
    for item in found:
        if item.module in sys.stdlib_module_names or item.module in OWN:
            continue
        dists = owners.get(item.module)
        assert dists, f"{item.where}: no installed distribution provides {item.module!r}"
        needed.setdefault(canonicalize_name(dists[0]), []).append(item)
    return needed


def test_the_walker_sees_function_level_imports_and_skips_type_checking(tmp_path: Path) -> None:
    source = tmp_path / "probe.py"
    source.write_text(
        "from typing import TYPE_CHECKING\nimport yaml\nif TYPE_CHECKING:\n    import flask\n"
        "else:\n    import json\ndef f():\n    import requests.utils\n",
        encoding="utf-8",
    )
    found = [(i.module, i.lazy) for i in imports_of(source, tmp_path)]
    assert found == [("typing", False), ("yaml", False), ("json", False), ("requests", True)]


def test_declared_extras() -> None:
    bare = declared(())
    assert {"flask", "werkzeug", "pyyaml", "jsonschema-rs", "requests", "pytest", "granian"} <= (
        bare
    )
    assert not bare & {"schemathesis", "hypothesis", "httpx", "openapi-core"}
    assert declared(("contracts",)) - bare == {"schemathesis", "hypothesis"}
    assert declared(("async",)) - bare == {"httpx", "anyio"}


@pytest.mark.parametrize("package", sorted(EXTRAS_OF))
def test_every_run_time_import_is_declared(package: str) -> None:
    top_extras, lazy_extras = EXTRAS_OF[package]
    top, lazy = declared(top_extras), declared(top_extras + lazy_extras)

    def allowed(item: Import) -> set[str]:
        extra = OPTIONAL_MODULES.get(item.where.split(":")[0])
        if extra is not None:
            return declared((*top_extras, extra))
        return lazy if item.lazy else top

    undeclared = [
        f"{item.where}: {item.module} ({dist})"
        for dist, items in third_party(package_imports(package)).items()
        for item in items
        if dist not in allowed(item)
    ]
    assert undeclared == []


def test_the_mock_imports_nothing_of_the_contracts_toolkit() -> None:
    """Only the proxy reuses the contract checks (``contracts.checks`` and what it imports, none
    of which needs the extra: ``tests/test_proxy.py`` runs it with schemathesis blocked)."""
    found = [
        f"{i.where}: {i.module}"
        for i in package_imports("mockserver")
        if i.module in {"schemathesis", "hypothesis"}
        or (i.module == "contracts" and not str(i.where).startswith("mockserver/proxy/"))
    ]
    assert found == []


POISON = """
import sys
from importlib.abc import MetaPathFinder


class NoContractsExtra(MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("schemathesis", "hypothesis"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


sys.meta_path.insert(0, NoContractsExtra())
"""


def without_contracts_extra(tmp_path: Path) -> dict[str, str]:
    """An environment in which ``import schemathesis`` and ``import hypothesis`` fail."""
    (tmp_path / "sitecustomize.py").write_text(POISON, encoding="utf-8")
    return {**os.environ, "PYTHONPATH": str(tmp_path)}


@pytest.mark.parametrize(
    "command",
    [
        [str(Path(sys.executable).parent / "northca-contracts"), "check", "--help"],
        [sys.executable, "-m", "contracts"],
    ],
    ids=["northca-contracts", "python -m contracts"],
)
def test_without_the_extra_northca_contracts_says_how_to_install_it(
    tmp_path: Path, command: list[str]
) -> None:
    result = subprocess.run(
        command,
        env=without_contracts_extra(tmp_path),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "northca-contracts: the contracts toolkit is not installed (no schemathesis, hypothesis):"
        " install northca-mock[contracts] (from a checkout: pip install '.[contracts]')\n"
    )


def test_with_the_extra_northca_contracts_runs() -> None:
    result = subprocess.run(
        [str(Path(sys.executable).parent / "northca-contracts"), "check", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: northca-contracts check")


def test_the_mock_serves_and_its_fixture_works_without_the_extra(tmp_path: Path) -> None:
    """In-process, with the extra unimportable: the app answers and the handle works."""
    (tmp_path / "test_user.py").write_text(
        "def test_bot(northca_inprocess):\n"
        "    mock = northca_inprocess\n"
        "    r = mock.session.get(f'{mock.v1_url}/mdts/{mock.mdt_id}', headers=mock.headers)\n"
        "    assert r.status_code == 200 and r.json()['ok'] is True\n"
        "    mock.requests.assert_called('getMdtInfo', times=1)\n"
        "    import sys\n"
        "    assert not {'contracts', 'schemathesis', 'hypothesis'} & set(sys.modules)\n",
        encoding="utf-8",
    )
    env = without_contracts_extra(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
         "-p", "no:hypothesispytest", "-p", "no:schemathesis", "test_user.py"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout
