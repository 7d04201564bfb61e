"""MDT Links: list a guild's linked MDTs, and unlink (owner-only)."""

from __future__ import annotations

from typing import Any

from mockserver.errors import ApiError
from mockserver.handlers.registry import Call, handles
from mockserver.state import public


@handles("listGuildMdts")
def list_guild_mdts(call: Call) -> Any:
    if call.path["guildId"] != call.guild:
        raise ApiError("guildMismatch", "guildId: must equal x-discord-guild")
    return [public(link) for link in call.state.guild_links(call.partner, call.guild)]


@handles("unlinkMdt")
def unlink_mdt(call: Call) -> Any:
    link = call.state.link(call.partner, call.guild, call.mdt_id)
    if link is None:  # the guild-link check runs first; kept for direct callers
        raise ApiError("mdtNotLinked")
    if call.actor is None or call.actor != link["owner_discord_id"]:
        raise ApiError("notOwner", "x-discord-actor: must be the MDT owner")
    del call.state.links[(call.partner, call.guild, call.mdt_id)]
    return {"unlinked": True, "mdt_id": call.mdt_id}
