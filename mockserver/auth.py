"""Who is calling: the default authenticator of partner-API requests."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mockserver.errors import ApiError
from mockserver.handlers.registry import Caller
from mockserver.state import State


def authenticate(state: State, environ: Mapping[str, Any]) -> Caller:
    """A known ``x-partner-key`` and a non-empty ``x-discord-guild``, or 401.

    The 401's diagnostic says which header is missing, or that the key is unknown (never the key).
    """
    key = environ.get("HTTP_X_PARTNER_KEY")
    partner = state.world.partner_keys.get(key) if key else None
    guild = environ.get("HTTP_X_DISCORD_GUILD")
    if partner is None or not guild:
        raise ApiError("unauthorized", _unauthorized(key, partner))
    return Caller(partner, guild, environ.get("HTTP_X_DISCORD_ACTOR") or None)


def _unauthorized(key: str | None, partner: str | None) -> str:
    if not key:
        return "x-partner-key: missing"
    if partner is None:
        return "x-partner-key: unknown key"
    return "x-discord-guild: missing or empty"
