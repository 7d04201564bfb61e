"""Ids of the default world and small helpers shared by the tests."""

from __future__ import annotations

import re
from typing import Any

PARTNER_KEY = "test-key"
PARTNER_NAME = "Test Partner"
GUILD_ID = "123456789012345678"
OTHER_GUILD_ID = "876543210987654321"
ACTOR_ID = "222222222222222222"
MDT_ID = "0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2"
UNLINKED_MDT_ID = "9b1d3f2e-5a47-4c8e-9f10-2d6c7b8a9e01"
UNLINKED_MDT_OWNER_ID = "333333333333333333"
LINK_REQUEST_TTL_SECONDS = 900


def auth_headers(
    *,
    key: str | None = PARTNER_KEY,
    guild: str | None = GUILD_ID,
    actor: str | None = ACTOR_ID,
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
#: A fixed time to set the mock clock to (the panic example's ``ts``).
CLOCK_START = "2026-03-01T01:23:45.678Z"


def ok_data(response: Any, status: int = 200) -> Any:
    """``data`` of a success envelope; asserts the status and the envelope."""
    body = response.get_json()
    assert response.status_code == status, (response.status_code, body)
    assert body["ok"] is True, body
    return body["data"]


def set_clock(client: Any, now: str = CLOCK_START) -> str:
    """Set the mock clock through the control plane; returns its new ``now``."""
    return str(ok_data(client.post("/__mock/clock", json={"now": now}))["now"])


def advance_clock(client: Any, seconds: float) -> str:
    """Move the mock clock forward through the control plane; returns its new ``now``."""
    return str(ok_data(client.post("/__mock/clock", json={"advance_seconds": seconds}))["now"])


def mock_now(client: Any) -> str:
    """The mock clock's ``now`` as ``/__mock/state`` reports it."""
    return str(ok_data(client.get("/__mock/state"))["now"])


def link_both_default_mdts(client: Any) -> None:
    """Replace the world with one where both default MDTs are linked to the default guild."""

    def info(name: str) -> dict[str, Any]:
        return {
            "name": name,
            "logo_url": None,
            "map": "ER:LC",
            "departments": ["Patrol", "Traffic"],
            "divisions": [],
            "settings": {},
        }

    world = {
        "partner_keys": {PARTNER_KEY: PARTNER_NAME},
        "link_request_ttl_seconds": LINK_REQUEST_TTL_SECONDS,
        "mdts": [
            {"id": MDT_ID, "owner_discord_id": ACTOR_ID, "info": info("A")},
            {"id": UNLINKED_MDT_ID, "owner_discord_id": UNLINKED_MDT_OWNER_ID, "info": info("B")},
        ],
        "links": [
            {"mdt_id": MDT_ID, "guild_id": GUILD_ID},
            {"mdt_id": UNLINKED_MDT_ID, "guild_id": GUILD_ID},
        ],
    }
    ok_data(client.post("/__mock/world", json=world))
