"""A TypeScript bot flow, typed from ``openapi.yaml`` by openapi-typescript and sent with
openapi-fetch, is strict-clean and runs against the mock.

``tests/node/bot_flow.mts`` and the README's TypeScript example are compiled with
``tsc --strict --noEmit`` beside the types generated once per module, must hold no non-null
assertion (``!``) and no cast (``as``), and the flow then runs with node against both HTTP
servers. The tools are the ones pinned in ``tests/node/package-lock.json`` (``make node-tools``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.live import LiveMock
from tests.node_tools import NODE_DIR, ROOT, node_bin, run_tool

FLOW = NODE_DIR / "bot_flow.mts"
README = ROOT / "README.md"


def readme_example() -> str:
    """The README's first TypeScript block."""
    blocks = re.findall(r"```ts\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    assert blocks, "README.md has no ```ts block"
    return str(blocks[0])


ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder with the flow, its tsconfig and the types generated from openapi.yaml."""
    tools = node_bin()
    folder = tmp_path_factory.mktemp("typescript")
    for name in ("bot_flow.mts", "tsconfig.json"):
        (folder / name).write_bytes((NODE_DIR / name).read_bytes())
    (folder / "readme_example.mts").write_text(readme_example(), encoding="utf-8")
    (folder / "node_modules").symlink_to(NODE_DIR / "node_modules")
    generated = run_tool(
        [tools / "openapi-typescript", ROOT / "openapi.yaml", "-o", folder / "northca.d.ts"],
        cwd=folder,
    )
    assert generated.returncode == 0, generated.stdout + generated.stderr
    assert "warn" not in (generated.stdout + generated.stderr).lower(), generated.stderr
    yield folder


def _code(source: str) -> str:
    """The source without comments and string literals."""
    source = re.sub(r"//[^\n]*", "", source)
    return re.sub(r"\"(?:\\.|[^\"\\])*\"|`(?:\\.|[^`\\])*`", '""', source)


@pytest.mark.parametrize("source", ["flow", "readme"])
def test_no_non_null_assertion_and_no_cast(source: str) -> None:
    code = _code(FLOW.read_text(encoding="utf-8") if source == "flow" else readme_example())
    assert re.findall(r"[\w\)\]]!(?!=)", code) == []
    assert re.findall(r"\bas\s+(?!const\b)", code) == []
    assert "<any>" not in code and ": any" not in code


def test_tsc_strict_accepts_the_flow_and_the_readme_example(project: Path) -> None:
    tsc = project / "node_modules" / ".bin" / "tsc"
    result = run_tool([tsc, "--strict", "--noEmit", "-p", project / "tsconfig.json"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""  # tsc prints nothing when there is no error


@pytest.mark.parametrize("server", ["granian", "werkzeug"])
def test_the_flow_runs_against_the_mock(project: Path, server: str) -> None:
    tsc = project / "node_modules" / ".bin" / "tsc"
    out = project / f"out-{server}"
    emitted = run_tool([tsc, "-p", project / "tsconfig.json", "--outDir", out], project)
    assert emitted.returncode == 0, emitted.stdout + emitted.stderr
    with LiveMock("--server", server) as live:
        env = {"NORTHCA_URL": live.url + "/v1"}
        result = run_tool(["node", out / "bot_flow.mjs"], project, timeout=60, env=env)
        assert result.returncode == 0, result.stdout + result.stderr
        journal = live.get("/__mock/requests").json()["data"]
    seen = json.loads(result.stdout)
    assert seen["request"]["status"] == "pending"
    assert ISO_MS_Z.match(seen["request"]["expires"]), seen
    assert seen["approved"] == "approved"
    assert seen["departments"] == ["Patrol", "Traffic"]
    assert seen["call"]["status"] == "closed"
    assert seen["unitIds"] == ["ADAM-12", "LINCOLN-3"]
    assert seen["panic"]["unit"] == "ADAM-12" and ISO_MS_Z.match(seen["panic"]["at"])
    assert seen["deleted"] is True
    assert seen["shifts"] == [seen["shift"]]
    assert seen["duplicate"] == {"status": 400, "error": "Duplicate unit id in request body"}
    assert seen["tooLarge"] == {"status": 413, "error": "Request body too large"}
    # Every request carried the key and the guild set once on the client.
    assert [entry["operation_id"] for entry in journal] == [
        "createLinkRequest", "confirmLinkRequest", "getMdtInfo", "createCall", "updateCall",
        "upsertActiveUnits", "triggerUnitPanic", "deleteActiveUnit", "createShift", "listShifts",
        "upsertActiveUnits", "createTicket",
    ]  # fmt: skip
    assert {entry["headers"]["x-discord-guild"] for entry in journal} == {"123456789012345678"}
