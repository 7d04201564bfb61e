"""Business rules, one module per tag; importing this package registers every handler."""

from mockserver.handlers import (
    active_units,
    calls,
    link_requests,
    mdt_info,
    mdt_links,
    scene_reports,
    shifts,
    tickets,
)
from mockserver.handlers.registry import BODY_RULES, HANDLERS, Call, Caller

__all__ = [
    "BODY_RULES",
    "HANDLERS",
    "Call",
    "Caller",
    "active_units",
    "calls",
    "link_requests",
    "mdt_info",
    "mdt_links",
    "scene_reports",
    "shifts",
    "tickets",
]
