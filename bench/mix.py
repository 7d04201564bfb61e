"""The request mix every server is driven with: the same bytes to the mock, Prism and the baseline.

Ids are those of the default world (``mockserver/worlds/default.yaml``), which Prism's examples
also use, so every server answers each request with the documented success (or, for
``invalid``, the documented 400).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

PARTNER_KEY = "test-key"
GUILD_ID = "123456789012345678"
ACTOR_ID = "222222222222222222"
MDT_ID = "0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2"
UNLINKED_MDT_ID = "9b1d3f2e-5a47-4c8e-9f10-2d6c7b8a9e01"

HEADERS: Mapping[str, str] = {
    "x-partner-key": PARTNER_KEY,
    "x-discord-guild": GUILD_ID,
    "x-discord-actor": ACTOR_ID,
}


@dataclass(frozen=True)
class Op:
    """One request of the mix and the status every correct server answers it with."""

    name: str
    operation_id: str
    method: str
    path: str
    body: Any = None
    expected_status: int = 200
    query: str = ""
    headers: Mapping[str, str] = field(default_factory=lambda: dict(HEADERS))

    @property
    def target(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")

    @property
    def body_bytes(self) -> bytes:
        if self.body is None:
            return b""
        return json.dumps(self.body, separators=(",", ":")).encode()

    @property
    def all_headers(self) -> dict[str, str]:
        headers = dict(self.headers)
        if self.body is not None:
            headers["content-type"] = "application/json"
        return headers


SHIFT = {
    "officer_name": "B. Bubbleton",
    "officer_badge": "512",
    "department": "Patrol",
    "status": "active",
}
FIVE_UNITS = {
    "units": [
        {
            "id": f"ADAM-{n}",
            "officer_name": f"Officer {n}",
            "department": "Patrol",
            "status": "10-8",
        }
        for n in range(1, 6)
    ]
}

OPS: tuple[Op, ...] = (
    Op("list_shifts", "listShifts", "GET", f"/mdts/{MDT_ID}/shifts", query="limit=20"),
    Op("create_shift", "createShift", "POST", f"/mdts/{MDT_ID}/shifts", SHIFT, 201),
    Op("upsert_5_units", "upsertActiveUnits", "PUT", f"/mdts/{MDT_ID}/units/active", FIVE_UNITS),
    Op(
        "create_link_request",
        "createLinkRequest",
        "POST",
        "/link-requests",
        {"mdt_id": UNLINKED_MDT_ID},
        201,
    ),
    # A schema violation every validating server rejects: units must be an array.
    Op(
        "invalid_body",
        "upsertActiveUnits",
        "PUT",
        f"/mdts/{MDT_ID}/units/active",
        {"units": "ADAM-12"},
        400,
    ),
)
OPS_BY_NAME: Mapping[str, Op] = {op.name: op for op in OPS}
#: One wrk run cycles through every op above, in this order, on each connection.
MIX = "mix"
