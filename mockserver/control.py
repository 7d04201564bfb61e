"""The control plane under ``/__mock/``: reset, state, world, clock and the request journal.

It is not part of the partner API and needs no partner key.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, request

from mockserver.clock import parse_iso
from mockserver.world import WorldError

control_plane = Blueprint("northca_control", __name__, url_prefix="/__mock")


def _server() -> Any:
    return current_app.extensions["northca"]


def _ok(data: Any, status: int = 200) -> Response:
    from mockserver.app import envelope

    return envelope(status, {"ok": True, "data": data})


def _bad(message: str) -> Response:
    from mockserver.app import envelope

    return envelope(400, {"ok": False, "error": message})


def _json_object() -> dict[str, Any] | None:
    body = request.get_json(silent=True, force=True)
    return body if isinstance(body, dict) else None


@control_plane.post("/reset")
def reset() -> Response:
    state = _server().state
    state.reset()
    return _ok({"reset": True, "now": state.clock.now()})


@control_plane.get("/state")
def state() -> Response:
    return _ok(_server().state.snapshot())


@control_plane.post("/world")
def world() -> Response:
    body = _json_object()
    if body is None:
        return _bad("Expected a JSON object: the world")
    server = _server()
    try:
        new_world = server.load_world(body)
    except WorldError as exc:
        return _bad(str(exc))
    server.state.load(new_world)
    return _ok({"loaded": True, "mdts": sorted(new_world.mdts)})


@control_plane.post("/clock")
def clock() -> Response:
    body = _json_object()
    state = _server().state
    if body is None or len(body.keys() & {"advance_seconds", "now"}) != 1:
        return _bad('Expected {"advance_seconds": N} or {"now": "<ISO-8601>"}')
    with state.lock:
        if "advance_seconds" in body:
            seconds = body["advance_seconds"]
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                return _bad("advance_seconds: expected a number")
            state.clock.advance(seconds)
        else:
            try:
                state.clock.set(parse_iso(str(body["now"])))
            except ValueError:
                return _bad("now: expected an ISO-8601 timestamp")
        return _ok({"now": state.clock.now()})


@control_plane.get("/requests")
def requests_journal() -> Response:
    state = _server().state
    with state.lock:
        return _ok(list(state.journal))
