"""The world as plain, typed data: what ``NorthcaMock.world`` returns.

The same shape as a world file (and :func:`mockserver.testing.default_world`), so
``mock.set_world(mock.world)`` loads the same world again.
"""

from __future__ import annotations

from typing import Any, TypedDict

from mockserver.world import World


class MdtData(TypedDict):
    id: str
    owner_discord_id: str | None
    info: dict[str, Any]


class LinkData(TypedDict):
    mdt_id: str
    guild_id: str
    #: None: linked for every partner of the world.
    partner: str | None


class WorldData(TypedDict):
    """A world: partner keys, MDTs, guild links, seed records per MDT and its fault plan."""

    partner_keys: dict[str, str]
    link_request_ttl_seconds: float
    mdts: list[MdtData]
    links: list[LinkData]
    #: Seed records per MDT id and collection (``shifts``, ``calls``, ...), completed to every
    #: schema field; the live records are in ``NorthcaMock.state()``.
    records: dict[str, dict[str, list[dict[str, Any]]]]
    #: The fault plan, as ``POST /__mock/faults`` takes it (``{}`` for none).
    faults: dict[str, Any]


def world_data(world: World) -> WorldData:
    """A new :class:`WorldData` of ``world`` (its records decoded afresh)."""
    return {
        "partner_keys": dict(world.partner_keys),
        "link_request_ttl_seconds": world.link_request_ttl_seconds,
        "mdts": [
            {"id": mdt.id, "owner_discord_id": mdt.owner_discord_id, "info": dict(mdt.info)}
            for mdt in world.mdts.values()
        ],
        "links": [
            {"mdt_id": link.mdt_id, "guild_id": link.guild_id, "partner": link.partner}
            for link in world.links
        ],
        "records": {
            mdt_id: {kind: table.in_write_order() for kind, table in kinds.items()}
            for mdt_id, kinds in world.records.items()
        },
        "faults": world.faults.describe() if world.faults.active else {},
    }
