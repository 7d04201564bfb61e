"""Ids of the default world and small helpers shared by the tests."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class DefaultWorld:
    """The partner, guild, actor and MDTs of the default world (``default_world.json``)."""

    partner_key: str = "test-key"
    partner_name: str = "Test Partner"
    guild_id: str = "123456789012345678"
    other_guild_id: str = "876543210987654321"
    actor_id: str = "222222222222222222"
    mdt_id: str = "0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2"
    unlinked_mdt_id: str = "9b1d3f2e-5a47-4c8e-9f10-2d6c7b8a9e01"
    unlinked_mdt_owner_id: str = "333333333333333333"
    link_request_ttl_seconds: int = 900


DEFAULT = DefaultWorld()
#: Path parameters filled so that the MDT is linked and the rest is unknown.
PATH_VALUES = {
    "mdtId": DEFAULT.mdt_id,
    "guildId": DEFAULT.guild_id,
    "id": "00000000-0000-4000-8000-000000000000",
    "callId": "no-such-call",
    "unitId": "no-such-unit",
}


def filled_path(template: str, **values: str) -> str:
    """``template`` with its ``{name}`` parameters from ``values``, else from PATH_VALUES."""
    for name, value in {**PATH_VALUES, **values}.items():
        template = template.replace("{" + name + "}", value)
    return template


#: Error strings of the MDT link flow, as the spec documents them.
NOT_FOUND = "Link request not found"
NOT_OWNER = "Only the MDT owner can do this"
EXPIRED = "Link request expired"
ALREADY_DENIED = "Link request already denied"
ALREADY_APPROVED = "Link request already approved"
NOT_LINKED = "MDT not linked to this guild"
#: An active unit's body, as a client sends it.
ADAM_12 = {
    "id": "ADAM-12",
    "officer_name": "B. Bubbleton",
    "officer_badge": "512",
    "department": "Patrol",
    "rank": "PO",
    "status": "10-8",
}


def auth_headers(
    *,
    key: str | None = DEFAULT.partner_key,
    guild: str | None = DEFAULT.guild_id,
    actor: str | None = DEFAULT.actor_id,
) -> dict[str, str]:
    """Headers of a partner request; pass None to leave one out."""
    headers = {"x-partner-key": key, "x-discord-guild": guild, "x-discord-actor": actor}
    return {name: value for name, value in headers.items() if value is not None}


def error_of(response: Any) -> tuple[int, str]:
    """(status, error string) of an error envelope; asserts the envelope's shape."""
    body = response.get_json()
    assert body is not None, response.data
    assert body["ok"] is False, body
    assert isinstance(body["error"], str), body
    return response.status_code, body["error"]


#: ISO-8601 UTC with milliseconds and ``Z``, the format of every timestamp the API writes.
ISO_MS_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")
#: A server-generated id: a lowercase UUID4.
UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
#: A fixed time to set the mock clock to (the panic example's ``ts``).
CLOCK_START = "2026-03-01T01:23:45.678Z"


def ok_data(response: Any, status: int = 200) -> Any:
    """``data`` of a success envelope; asserts the status, JSON and the envelope."""
    body = response.get_json()
    assert response.status_code == status, (response.status_code, body)
    assert response.mimetype == "application/json", response.mimetype
    assert body["ok"] is True, body
    return body["data"]


def parse_ts(text: str) -> datetime:
    """The instant of an API timestamp; asserts its format (``ISO_MS_Z``)."""
    assert ISO_MS_Z.match(text), text
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def set_clock(client: Any, now: str = CLOCK_START) -> str:
    """Set the mock clock through the control plane; returns its new ``now``."""
    return str(ok_data(client.post("/__mock/clock", json={"now": now}))["now"])


def advance_clock(client: Any, seconds: float) -> str:
    """Move the mock clock forward through the control plane; returns its new ``now``."""
    return str(ok_data(client.post("/__mock/clock", json={"advance_seconds": seconds}))["now"])


def mock_state(client: Any) -> dict[str, Any]:
    """The whole state of the default namespace (``GET /__mock/state``)."""
    data = ok_data(client.get("/__mock/state"))
    assert isinstance(data, dict), data
    return data


def mock_now(client: Any) -> str:
    """The mock clock's ``now`` as ``/__mock/state`` reports it."""
    return str(mock_state(client)["now"])


def mdt_info(
    name: str, *, map: str | None = "ER:LC", departments: tuple[str, ...] = ("Patrol", "Traffic")
) -> dict[str, Any]:
    """The ``info`` of a world MDT: no logo, no divisions, no settings."""
    return {
        "name": name,
        "logo_url": None,
        "map": map,
        "departments": list(departments),
        "divisions": [],
        "settings": {},
    }


def world_mdt(mdt_id: str, owner: str | None, info: dict[str, Any] | str) -> dict[str, Any]:
    """An MDT of a world; ``info`` may be just a name (``mdt_info(name)``)."""
    return {
        "id": mdt_id,
        "owner_discord_id": owner,
        "info": mdt_info(info) if isinstance(info, str) else info,
    }


def world(
    *mdts: dict[str, Any],
    links: list[dict[str, Any]] | None = None,
    partner_keys: dict[str, str] | None = None,
    ttl: int = DEFAULT.link_request_ttl_seconds,
    **more: Any,
) -> dict[str, Any]:
    """A world document: the default partner key unless ``partner_keys``, these MDTs and links."""
    return {
        "partner_keys": {DEFAULT.partner_key: DEFAULT.partner_name}
        if partner_keys is None
        else partner_keys,
        "link_request_ttl_seconds": ttl,
        "mdts": list(mdts),
        "links": links or [],
        **more,
    }


def link(mdt_id: str, guild_id: str = DEFAULT.guild_id, **more: str) -> dict[str, Any]:
    return {"mdt_id": mdt_id, "guild_id": guild_id, **more}


def link_both_default_mdts(client: Any) -> None:
    """Replace the world with one where both default MDTs are linked to the default guild."""
    both = world(
        world_mdt(DEFAULT.mdt_id, DEFAULT.actor_id, "A"),
        world_mdt(DEFAULT.unlinked_mdt_id, DEFAULT.unlinked_mdt_owner_id, "B"),
        links=[link(DEFAULT.mdt_id), link(DEFAULT.unlinked_mdt_id)],
    )
    ok_data(client.post("/__mock/world", json=both))


# --------------------------------------------------------------------------------------------
# Records (calls, scene reports, shifts, tickets)


def create_record(client: Any, headers: dict[str, str], path: str, body: Any) -> dict[str, Any]:
    """POST ``body`` to a record collection; asserts the 201 and returns the record."""
    data = ok_data(client.post(path, json=body, headers=headers), 201)
    assert isinstance(data, dict), data
    return data


def list_records(
    client: Any, headers: dict[str, str], path: str, query: str = ""
) -> list[dict[str, Any]]:
    """GET a record collection; asserts the 200 and a bare array."""
    data = ok_data(client.get(path + query, headers=headers))
    assert isinstance(data, list), data
    return data


def ids_of(records: list[dict[str, Any]]) -> list[str]:
    return [record["id"] for record in records]


# --------------------------------------------------------------------------------------------
# The spec, read as a plain document (independent of the mock's own spec loader)

SPEC_PATH = Path(__file__).resolve().parents[1] / "openapi.yaml"


@functools.cache
def spec_document() -> dict[str, Any]:
    document = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def resolve(node: Any) -> Any:
    """Follow local ``$ref``s (``#/a/b``) until a node without one."""
    while isinstance(node, dict) and "$ref" in node:
        target: Any = spec_document()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def spec_operation(operation_id: str) -> tuple[str, str, dict[str, Any]]:
    """(method, path template, operation object) of an operationId."""
    for path, item in spec_document()["paths"].items():
        for method, operation in item.items():
            if isinstance(operation, dict) and operation.get("operationId") == operation_id:
                return method, path, operation
    raise AssertionError(f"no operation {operation_id} in the spec")


def body_schema(operation_id: str) -> dict[str, Any]:
    """The resolved JSON request body schema of an operation."""
    operation = spec_operation(operation_id)[2]
    schema = resolve(resolve(operation["requestBody"])["content"]["application/json"]["schema"])
    assert isinstance(schema, dict)
    return schema


def request_example(operation_id: str) -> dict[str, Any]:
    """The operation's request body example: its first named example, else the schema's."""
    operation = spec_operation(operation_id)[2]
    media = resolve(operation["requestBody"])["content"]["application/json"]
    examples = media.get("examples")
    example = (
        resolve(next(iter(examples.values())))["value"]
        if examples
        else body_schema(operation_id)["example"]
    )
    assert isinstance(example, dict), example
    return dict(example)
