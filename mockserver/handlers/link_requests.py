"""Link Requests: create, confirm and deny; the lifecycle pending -> approved | denied | expired."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mockserver.clock import format_ms
from mockserver.errors import ApiError
from mockserver.handlers.registry import Call, body_rule, handles
from mockserver.schemas import Violation
from mockserver.store import Record


@body_rule("createLinkRequest")
def create_body_rule(body: Any, violations: Sequence[Violation]) -> ApiError | None:
    """``mdt_id`` first (absent, null or "" -> missingField; not a string -> invalidMdt)."""
    if not isinstance(body, dict):
        return ApiError("invalidBody", "body: expected a JSON object")
    mdt_id = body.get("mdt_id")
    if mdt_id is None or mdt_id == "":
        return ApiError("missingField", "mdt_id: required")
    if not isinstance(mdt_id, str):
        return ApiError("invalidMdt", "mdt_id: expected a string")
    if violations:
        return ApiError("invalidBody", "; ".join(v.describe() for v in violations[:3]))
    return None


@handles("createLinkRequest")
def create_link_request(call: Call) -> Any:
    mdt = call.state.world.mdts.get(call.body["mdt_id"])
    if mdt is None:
        raise ApiError("invalidMdt", "mdt_id: no MDT has this id")
    ttl_ms = int(call.state.world.link_request_ttl_seconds * 1000)
    request_id = call.state.ids.new()
    while request_id in call.state.link_requests:
        request_id = call.state.ids.new()
    request = {
        "id": request_id,
        "partner": call.partner,
        "mdt_id": mdt.id,
        "guild_id": call.guild,
        "status": "pending",
        "requester_discord_id": call.actor,
        "owner_discord_id": mdt.owner_discord_id,
        "created_at": call.now,
        "expires_at": format_ms(call.now_ms + ttl_ms),
        "decided_at": None,
    }
    call.state.add_link_request(request)
    # The expiry is written within 1970-9999: created at the clock's end, the request is due
    # at once, and every read after agrees with the answer (expires_at <= now is expired).
    return call.state.expire_if_due(request_id, call.now_ms)


def _decidable(call: Call) -> Record:
    """The request, after the checks shared by confirm and deny: 404, then owner-only 403."""
    request_id = call.path["id"]
    request = call.state.link_requests.get(request_id)
    if request is None or request["guild_id"] != call.guild or request["partner"] != call.partner:
        raise ApiError("linkRequestNotFound")
    if call.actor is None or call.actor != request["owner_discord_id"]:
        raise ApiError("notOwner", "x-discord-actor: must be the MDT owner")
    return call.state.expire_if_due(request_id, call.now_ms)


#: The error for deciding a request that another decision (or expiry) already settled.
_SETTLED = {
    "approved": "linkRequestApproved",
    "denied": "linkRequestDenied",
    "expired": "linkRequestExpired",
}


def _decide(call: Call, status: str) -> Record:
    """The request decided as ``status``; the same decision again answers it with ``already``,
    a request settled otherwise is refused."""
    request = _decidable(call)
    if request["status"] == status:
        return {**request, "already": True}
    if request["status"] in _SETTLED:
        raise ApiError(_SETTLED[request["status"]])
    decided = {**request, "status": status, "decided_at": call.now}
    call.state.link_requests[request["id"]] = decided
    return decided


@handles("confirmLinkRequest")
def confirm_link_request(call: Call) -> Any:
    approved = _decide(call, "approved")
    if not approved.get("already"):
        call.state.add_link(
            call.partner,
            call.guild,
            approved["mdt_id"],
            approved["owner_discord_id"],
            approved["id"],
            call.now_ms,
        )
    return approved


@handles("denyLinkRequest")
def deny_link_request(call: Call) -> Any:
    return _decide(call, "denied")
