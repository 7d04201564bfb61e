"""``northca-mock world generate``: valid, plausible, reproducible worlds that `serve` accepts."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver import create_app
from mockserver.cli import main
from mockserver.clock import parse_iso
from mockserver.spec import load_spec
from mockserver.world import RECORD_SCHEMAS, load_world
from mockserver.world_generate import GenerateOptions, generate_world
from tests.support import auth_headers, ok_data

SPEC = load_spec()
NOW = "2026-12-08T00:00:00.000Z"
DAY_MS = 24 * 3600 * 1000
CALLSIGN = re.compile(r"^(ADAM|BOY|CHARLES|DAVID|EDWARD|FRANK|GEORGE|HENRY|IDA|JOHN|KING|"
                      r"LINCOLN|MARY|NORA|OCEAN|PAUL|QUEEN|ROBERT|SAM|TOM|UNION|VICTOR|"
                      r"WILLIAM|X-RAY|YOUNG|ZEBRA)-([1-9]\d?)$")  # fmt: skip
TEN_CODE = re.compile(r"^10-\d{1,2}$")
SNOWFLAKE = re.compile(r"^\d{17,20}$")


def generated(**options: Any) -> dict[str, Any]:
    return generate_world(GenerateOptions(now=NOW, **options), SPEC)


def generate_cli(tmp_path: Path, name: str, *args: str) -> Path:
    out = tmp_path / name
    assert main(["world", "generate", "--now", NOW, *args, "-o", str(out)]) == 0
    return out


# -- reproducible ---------------------------------------------------------------------------------
def test_the_same_seed_gives_byte_identical_files(tmp_path: Path) -> None:
    for suffix in ("json", "yaml"):
        first = generate_cli(tmp_path, f"a.{suffix}", "--seed", "4", "--mdts", "4")
        second = generate_cli(tmp_path, f"b.{suffix}", "--seed", "4", "--mdts", "4")
        assert first.read_bytes() == second.read_bytes()
    other = generate_cli(tmp_path, "c.json", "--seed", "5", "--mdts", "4")
    assert other.read_bytes() != (tmp_path / "a.json").read_bytes()


def test_the_same_seed_gives_the_same_world_in_a_new_process(tmp_path: Path) -> None:
    out = generate_cli(tmp_path, "here.json", "--seed", "11", "--mdts", "2")
    there = subprocess.run(
        [sys.executable, "-m", "mockserver", "world", "generate", "--seed", "11", "--mdts", "2",
         "--now", NOW],
        capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    assert there.stdout == out.read_bytes()


# -- valid at every size --------------------------------------------------------------------------
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32),
    mdts=st.integers(1, 6),
    records=st.integers(0, 120),
    days=st.integers(1, 30),
)
def test_every_generated_world_passes_the_world_check(
    seed: int, mdts: int, records: int, days: int
) -> None:
    world = generated(seed=seed, mdts=mdts, records_per_mdt=records, days=days)
    load_world(world, SPEC)  # raises WorldError on any problem
    assert len(world["mdts"]) == mdts
    linked = {link["mdt_id"] for link in world["links"]}
    assert 1 <= len(linked) <= mdts
    if mdts >= 2:
        assert len(linked) < mdts  # some MDTs stay unlinked, for the link flow
    now_ms = parse_iso(NOW)
    for mdt in world["mdts"]:
        collections = world["records"].get(mdt["id"], {})
        assert sum(len(items) for items in collections.values()) == records
        for kind, items in collections.items():
            ids = [item["id"] for item in items]
            assert len(set(ids)) == len(ids), f"{kind}: ids repeat"
            for item in items:
                created, updated = parse_iso(item["created_at"]), parse_iso(item["updated_at"])
                assert now_ms - days * DAY_MS <= created <= updated < now_ms
                assert item["mdt_code"] == mdt["id"]


def test_a_large_world_has_every_collection_and_exact_counts() -> None:
    world = generated(seed=3, mdts=2, records_per_mdt=1000)
    for collections in world["records"].values():
        assert set(collections) == set(RECORD_SCHEMAS)
        assert sum(len(items) for items in collections.values()) == 1000
    load_world(world, SPEC)


# -- plausible ------------------------------------------------------------------------------------
def test_records_read_like_er_lc_and_maple_county() -> None:
    world = generated(seed=8, mdts=3, records_per_mdt=200)
    maps = {mdt["info"]["map"] for mdt in world["mdts"]}
    assert maps == set(SPEC.components["schemas"]["MdtMap"]["enum"])
    assert all(SNOWFLAKE.match(mdt["owner_discord_id"]) for mdt in world["mdts"])
    assert all(SNOWFLAKE.match(link["guild_id"]) for link in world["links"])
    for collections in world["records"].values():
        for unit in collections["active_units"]:
            assert CALLSIGN.match(unit["id"]), unit["id"]
            assert TEN_CODE.match(unit["status"]), unit["status"]
            assert unit["officer_badge"].isdigit()  # badges are strings of digits
        for call in collections["calls"]:
            assert call["priority"] in {"low", "medium", "high"}
            assert call["classification"].isupper()
            assert call["units_assigned"] and all(CALLSIGN.match(u) for u in call["units_assigned"])
            assert re.search(r"\d|&", call["location"]), call["location"]  # number, corner, postal
        for shift in collections["shifts"]:
            assert shift["status"] in {"active", "ended"}
            if shift["status"] == "ended":
                start, end = parse_iso(shift["start_time"]), parse_iso(shift["end_time"])
                assert shift["duration_ms"] == end - start > 0
            else:
                assert shift["end_time"] is None and shift["duration_ms"] is None
        call_ids = {call["id"] for call in collections["calls"]}
        assert all(r["dispatch_call_id"] in call_ids for r in collections["scene_reports"])


def test_maps_can_be_chosen() -> None:
    world = generated(seed=1, mdts=3, maps=("Maple County",))
    assert {mdt["info"]["map"] for mdt in world["mdts"]} == {"Maple County"}


# -- served as written ----------------------------------------------------------------------------
def test_serve_lists_each_collection_in_the_files_order(tmp_path: Path) -> None:
    path = generate_cli(tmp_path, "w.json", "--seed", "2", "--mdts", "3", "--records-per-mdt", "80")
    world = json.loads(path.read_text(encoding="utf-8"))
    client = create_app(world=path).test_client()
    link = world["links"][0]
    headers = auth_headers(guild=link["guild_id"])
    paths = {"shifts": "shifts", "calls": "calls", "scene_reports": "scene-reports",
             "tickets": "tickets", "active_units": "units/active"}  # fmt: skip
    for kind, path_part in paths.items():
        listed = ok_data(
            client.get(f"/v1/mdts/{link['mdt_id']}/{path_part}?limit=100", headers=headers)
        )
        assert listed == world["records"][link["mdt_id"]][kind], kind


def test_an_unlinked_generated_mdt_can_be_linked(tmp_path: Path) -> None:
    world = generated(seed=6, mdts=3)
    linked = {link["mdt_id"] for link in world["links"]}
    (unlinked,) = (mdt for mdt in world["mdts"] if mdt["id"] not in linked)
    client = create_app(world=world).test_client()
    guild = world["links"][0]["guild_id"]
    asked = client.post(
        "/v1/link-requests", json={"mdt_id": unlinked["id"]}, headers=auth_headers(guild=guild)
    )
    request = ok_data(asked, 201)
    confirm = client.post(
        f"/v1/link-requests/{request['id']}/confirm",
        headers=auth_headers(guild=guild, actor=unlinked["owner_discord_id"]),
    )
    assert ok_data(confirm)["status"] == "approved"


# -- bad options ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--mdts", "0"], "--mdts 0: expected 1 to 10000"),
        (["--mdts", "2", "--guilds", "3"], "--guilds 3: expected 1 to --mdts (2)"),
        (["--records-per-mdt", "-1"], "--records-per-mdt -1: expected 0 to 100000"),
        (
            ["--map", "Nowhere"],
            "--map 'Nowhere': expected one of ER:LC, ER:LC Roadmap, Maple County",
        ),
        (["--now", "yesterday"], "--now 'yesterday': expected an ISO-8601 time"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    args: list[str], line: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "never.json"
    assert main(["world", "generate", *args, "-o", str(out)]) == 2
    assert capsys.readouterr().err == f"northca-mock world generate: {line}\n"
    assert not out.exists()


def test_generation_needs_nothing_beyond_the_bare_install(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "for name in ('schemathesis', 'hypothesis', 'httpx', 'anyio', 'openapi_core', 'faker'):\n"
        "    sys.modules[name] = None\n"
        "from mockserver.cli import main\n"
        f"out = {str(tmp_path / 'w.json')!r}\n"
        "sys.exit(main(['world', 'generate', '--seed', '1', '-o', out]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    load_world(tmp_path / "w.json", SPEC)
