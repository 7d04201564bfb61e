"""Worlds: loading from a dict, a YAML file or a JSON file, validation, and what a world serves."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from flask.testing import FlaskClient

from mockserver import create_app
from mockserver.world import World, WorldError, load_world
from tests.support import (
    ADAM_12,
    DEFAULT,
    NOT_LINKED,
    NOT_OWNER,
    auth_headers,
    error_of,
    link,
    ok_data,
    parse_ts,
    world,
    world_mdt,
)

NEW_MDT_ID = "5e0c9a1b-7d2f-4b3a-8c6e-1f2a3b4c5d6e"
NEW_OWNER_ID = "555555555555555555"
UNKNOWN_MDT_ID = "00000000-0000-4000-8000-000000000000"


SHIFTS = [
    {
        "id": "shift-old",
        "officer_name": "A. Smith",
        "officer_badge": "144",
        "status": "ended",
        "start_time": "2026-03-01T00:00:00.000Z",
        "end_time": "2026-03-01T01:00:00.000Z",
        "duration_ms": 3_600_000,
        "department": "Traffic",
        "created_at": "2026-03-01T00:00:00.000Z",
        "updated_at": "2026-03-01T01:00:00.000Z",
    },
    {
        "id": "shift-new",
        "officer_name": "B. Bubbleton",
        "officer_badge": "512",
        "status": "active",
        "start_time": "2026-03-01T02:00:00.000Z",
        "end_time": None,
        "duration_ms": None,
        "department": "Patrol",
        "created_at": "2026-03-01T02:00:00.000Z",
        "updated_at": "2026-03-01T02:00:00.000Z",
    },
]
CALL = {
    "id": "call-1",
    "classification": "TRAFFIC STOP",
    "description": "Vehicle stopped for speeding",
    "location": "Mango St & 67th Ave",
    "status": "open",
    "priority": "low",
    "units_assigned": ["ADAM-12"],
    "created_at": "2026-03-01T00:00:00.000Z",
    "updated_at": "2026-03-01T00:00:00.000Z",
}
SCENE_REPORT = {
    "id": "report-1",
    "title": "Incident Summary",
    "description": "Observed minor property damage.",
    "location": "22 Park Ave",
    "status": "DRAFT",
    "created_at": "2026-03-01T00:00:00.000Z",
    "updated_at": "2026-03-01T00:00:00.000Z",
}
TICKET = {
    "id": "ticket-1",
    "title": "Tow request",
    "description": "Vehicle disabled, needs tow.",
    "officer_callsign": "ADAM-12",
    "status": "open",
    "priority": "low",
    "created_at": "2026-03-01T00:00:00.000Z",
    "updated_at": "2026-03-01T00:00:00.000Z",
}
UNIT = {
    **ADAM_12,
    "created_at": "2026-03-01T00:00:00.000Z",
    "updated_at": "2026-03-01T00:00:00.000Z",
}


def _world() -> dict[str, Any]:
    return world(
        world_mdt(DEFAULT.mdt_id, DEFAULT.actor_id, "Liberty County"),
        world_mdt(NEW_MDT_ID, NEW_OWNER_ID, "State Patrol"),
        world_mdt(DEFAULT.unlinked_mdt_id, DEFAULT.unlinked_mdt_owner_id, "Maple County"),
        links=[link(DEFAULT.mdt_id), link(NEW_MDT_ID)],
        ttl=600,
        records={
            DEFAULT.mdt_id: {
                "shifts": copy.deepcopy(SHIFTS),
                "calls": [dict(CALL)],
                "scene_reports": [dict(SCENE_REPORT)],
                "tickets": [dict(TICKET)],
                "active_units": [dict(UNIT)],
            }
        },
    )


def _served(client: FlaskClient) -> None:
    """The world of `_world()` is what the client sees."""
    listing = ok_data(client.get(f"/guilds/{DEFAULT.guild_id}/mdts", headers=auth_headers()))
    assert sorted(item["mdt_id"] for item in listing) == sorted([DEFAULT.mdt_id, NEW_MDT_ID])
    info = ok_data(client.get(f"/mdts/{NEW_MDT_ID}", headers=auth_headers()))
    assert info["name"] == "State Patrol"
    shifts = ok_data(client.get(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers()))
    assert [shift["id"] for shift in shifts] == ["shift-new", "shift-old"]


def _error(world: Any) -> str:
    with pytest.raises(WorldError) as caught:
        load_world(world)
    return str(caught.value)


# --------------------------------------------------------------------------------------------
# Loading


def test_load_world_from_dict() -> None:
    world = load_world(_world())
    assert isinstance(world, World)
    _served(create_app(world=_world()).test_client())


def test_load_world_does_not_change_the_dict() -> None:
    raw = _world()
    load_world(raw)
    assert raw == _world()


def test_load_world_from_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    path.write_text(yaml.safe_dump(_world()), encoding="utf-8")
    assert isinstance(load_world(path), World)
    assert isinstance(load_world(str(path)), World)
    _served(create_app(world=path).test_client())
    _served(create_app(world=str(path)).test_client())


def test_load_world_from_yml_file_with_comments(tmp_path: Path) -> None:
    path = tmp_path / "world.yml"
    path.write_text(
        "# a hand-written world\n"
        "partner_keys:\n"
        f"  {DEFAULT.partner_key}: {DEFAULT.partner_name}\n"
        "mdts:\n"
        f"  - id: {NEW_MDT_ID}\n"
        f'    owner_discord_id: "{NEW_OWNER_ID}"\n'
        "    info: {name: State Patrol, logo_url: null, map: 'ER:LC',"
        " departments: [Patrol], divisions: [], settings: {}}\n"
        "links:\n"
        f'  - {{mdt_id: {NEW_MDT_ID}, guild_id: "{DEFAULT.guild_id}"}}\n',
        encoding="utf-8",
    )
    client = create_app(world=path).test_client()
    info = ok_data(client.get(f"/mdts/{NEW_MDT_ID}", headers=auth_headers()))
    assert info["departments"] == ["Patrol"]


def test_load_world_from_json_file(tmp_path: Path) -> None:
    path = tmp_path / "world.json"
    path.write_text(json.dumps(_world()), encoding="utf-8")
    assert isinstance(load_world(path), World)
    _served(create_app(world=path).test_client())
    _served(create_app(world=str(path)).test_client())


def test_world_error_is_a_value_error() -> None:
    assert issubclass(WorldError, ValueError)


@pytest.mark.parametrize(
    ("ttl", "seconds"), [(None, 900), (600, 600)], ids=["default-is-fifteen-minutes", "world-ttl"]
)
def test_link_request_ttl(ttl: int | None, seconds: int) -> None:
    world = _world()
    assert world["link_request_ttl_seconds"] == 600
    if ttl is None:
        del world["link_request_ttl_seconds"]
    client = create_app(world=world).test_client()
    response = client.post(
        "/link-requests", json={"mdt_id": DEFAULT.unlinked_mdt_id}, headers=auth_headers()
    )
    data = ok_data(response, 201)
    expires, created = parse_ts(data["expires_at"]), parse_ts(data["created_at"])
    assert expires - created == timedelta(seconds=seconds)


# --------------------------------------------------------------------------------------------
# Validation


def test_missing_partner_keys() -> None:
    world = _world()
    del world["partner_keys"]
    assert "partner_keys" in _error(world)


@pytest.mark.parametrize(
    "partner_keys",
    [
        {1: DEFAULT.partner_name},
        {DEFAULT.partner_key: 5},
        {DEFAULT.partner_key: None},
        ["test-key"],
        "test-key",
    ],
    ids=["int-key", "int-name", "null-name", "list", "string"],
)
def test_partner_keys_must_map_strings_to_strings(partner_keys: Any) -> None:
    world = _world()
    world["partner_keys"] = partner_keys
    assert "partner_keys" in _error(world)


def test_non_string_partner_key_in_yaml(tmp_path: Path) -> None:
    path = tmp_path / "world.yaml"
    path.write_text("partner_keys:\n  12345: Test Partner\nmdts: []\n", encoding="utf-8")
    with pytest.raises(WorldError, match="partner_keys"):
        load_world(path)
    with pytest.raises(WorldError, match="partner_keys"):
        create_app(world=path)


def test_duplicate_mdt_id() -> None:
    world = _world()
    world["mdts"][2]["id"] = DEFAULT.mdt_id
    message = _error(world)
    assert "mdts[2].id" in message
    assert DEFAULT.mdt_id in message


def test_empty_mdt_id() -> None:
    world = _world()
    world["mdts"][1]["id"] = ""
    assert "mdts[1].id: expected a non-empty string" in _error(world)


def test_link_to_unknown_mdt() -> None:
    world = _world()
    world["links"][1]["mdt_id"] = UNKNOWN_MDT_ID
    assert f"links[1].mdt_id: unknown MDT '{UNKNOWN_MDT_ID}'" in _error(world)


def test_record_for_unknown_mdt() -> None:
    world = _world()
    world["records"][UNKNOWN_MDT_ID] = {"shifts": []}
    message = _error(world)
    assert f"records.{UNKNOWN_MDT_ID}" in message


@pytest.mark.parametrize(
    ("kind", "index", "field", "value"),
    [
        ("shifts", 0, "duration_ms", "x"),
        ("shifts", 1, "officer_badge", 512),
        ("calls", 0, "units_assigned", "ADAM-12"),
        ("tickets", 0, "title", ["Tow request"]),
        ("active_units", 0, "status", 8),
    ],
    ids=["shift-duration", "shift-badge", "call-units", "ticket-title", "unit-status"],
)
def test_record_failing_its_schema(kind: str, index: int, field: str, value: Any) -> None:
    world = _world()
    world["records"][DEFAULT.mdt_id][kind][index][field] = value
    assert f"records.{DEFAULT.mdt_id}.{kind}[{index}].{field}" in _error(world)


def test_unknown_top_level_key() -> None:
    world = _world()
    world["guilds"] = []
    assert "guilds" in _error(world)


def test_world_error_from_create_app() -> None:
    world = _world()
    world["links"][0]["mdt_id"] = UNKNOWN_MDT_ID
    with pytest.raises(WorldError, match=r"links\[0\]\.mdt_id"):
        create_app(world=world)


@pytest.mark.parametrize("suffix", [".yaml", ".json"])
def test_invalid_world_file(tmp_path: Path, suffix: str) -> None:
    world = _world()
    world["records"][DEFAULT.mdt_id]["shifts"][0]["duration_ms"] = "x"
    path = tmp_path / f"world{suffix}"
    text = json.dumps(world) if suffix == ".json" else yaml.safe_dump(world)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(WorldError, match=rf"records\.{DEFAULT.mdt_id}\.shifts\[0\]\.duration_ms"):
        load_world(path)


# --------------------------------------------------------------------------------------------
# What a world serves


@pytest.mark.parametrize(
    ("path", "records"),
    [
        ("calls", [CALL]),
        ("scene-reports", [SCENE_REPORT]),
        ("tickets", [TICKET]),
        ("units/active", [UNIT]),
        ("shifts", [SHIFTS[1], SHIFTS[0]]),
    ],
)
def test_world_records_are_listed(path: str, records: list[dict[str, Any]]) -> None:
    client = create_app(world=_world()).test_client()
    data = ok_data(client.get(f"/mdts/{DEFAULT.mdt_id}/{path}", headers=auth_headers()))
    assert [item["id"] for item in data] == [record["id"] for record in records]
    for item, record in zip(data, records, strict=True):
        assert item.items() >= record.items(), item


def test_world_records_are_in_state() -> None:
    client = create_app(world=_world()).test_client()
    state = ok_data(client.get("/__mock/state"))
    assert {shift["id"] for shift in state["mdts"][DEFAULT.mdt_id]["shifts"]} == {
        "shift-new",
        "shift-old",
    }
    assert state["mdts"][NEW_MDT_ID]["shifts"] == []


def test_world_records_come_back_after_reset() -> None:
    client = create_app(world=_world()).test_client()
    response = client.post(
        f"/mdts/{DEFAULT.mdt_id}/shifts", json={"officer_name": "C. New"}, headers=auth_headers()
    )
    ok_data(response, 201)
    assert len(ok_data(client.get(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers()))) == 3
    ok_data(client.post("/__mock/reset"))
    _served(client)


def test_world_links_count_as_approved_by_the_owner() -> None:
    client = create_app(world=_world()).test_client()
    assert error_of(
        client.post(f"/mdts/{NEW_MDT_ID}/unlink", headers=auth_headers(actor=DEFAULT.actor_id))
    ) == (403, NOT_OWNER)
    response = client.post(f"/mdts/{NEW_MDT_ID}/unlink", headers=auth_headers(actor=NEW_OWNER_ID))
    assert ok_data(response) == {"unlinked": True, "mdt_id": NEW_MDT_ID}
    response = client.get(f"/mdts/{NEW_MDT_ID}", headers=auth_headers())
    assert error_of(response) == (403, NOT_LINKED)
    listing = ok_data(client.get(f"/guilds/{DEFAULT.guild_id}/mdts", headers=auth_headers()))
    assert [item["mdt_id"] for item in listing] == [DEFAULT.mdt_id]
    assert listing[0]["owner_discord_id"] == DEFAULT.actor_id


def test_world_link_to_ownerless_mdt_cannot_be_unlinked() -> None:
    world = _world()
    world["mdts"][1]["owner_discord_id"] = None
    client = create_app(world=world).test_client()
    for actor in (NEW_OWNER_ID, DEFAULT.actor_id, None):
        response = client.post(f"/mdts/{NEW_MDT_ID}/unlink", headers=auth_headers(actor=actor))
        assert error_of(response) == (403, NOT_OWNER)
    ok_data(client.get(f"/mdts/{NEW_MDT_ID}", headers=auth_headers()))


def test_world_link_only_in_its_guild() -> None:
    client = create_app(world=_world()).test_client()
    response = client.get(f"/mdts/{NEW_MDT_ID}", headers=auth_headers(guild=DEFAULT.other_guild_id))
    assert error_of(response) == (403, NOT_LINKED)
    response = client.get(
        f"/guilds/{DEFAULT.other_guild_id}/mdts", headers=auth_headers(guild=DEFAULT.other_guild_id)
    )
    assert ok_data(response) == []


def test_world_links_are_older_than_new_links() -> None:
    client = create_app(world=_world()).test_client()
    ok_data(client.post("/__mock/clock", json={"advance_seconds": 60}))
    response = client.post(
        "/link-requests", json={"mdt_id": DEFAULT.unlinked_mdt_id}, headers=auth_headers()
    )
    request_id = ok_data(response, 201)["id"]
    response = client.post(
        f"/link-requests/{request_id}/confirm",
        headers=auth_headers(actor=DEFAULT.unlinked_mdt_owner_id),
    )
    ok_data(response)
    listing = ok_data(client.get(f"/guilds/{DEFAULT.guild_id}/mdts", headers=auth_headers()))
    assert listing[0]["mdt_id"] == DEFAULT.unlinked_mdt_id
    assert sorted(item["mdt_id"] for item in listing[1:]) == sorted([DEFAULT.mdt_id, NEW_MDT_ID])
    newest = parse_ts(listing[0]["linked_at"])
    assert all(parse_ts(item["linked_at"]) < newest for item in listing[1:])
