"""The control plane under ``/__mock/`` (documented in ``control.yaml``).

Reset, state, world, clock, journal, fault plan and state-file snapshots, per namespace
(``x-mock-namespace``). It is not part of the partner API and needs no partner key; when the
mock was started with an admin token it needs ``x-mock-admin-token``.
"""

from __future__ import annotations

import hmac
import math
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Response, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from mockserver.bodies import parse_json, read_body
from mockserver.clock import MAX_CLOCK_MS, parse_iso
from mockserver.envelopes import error_envelope, render_error, success
from mockserver.faults import FaultPlan, FaultPlanError
from mockserver.namespaces import NamespaceLimitError
from mockserver.server import MockServer, server_of
from mockserver.simulation import SimulationError, simulation_view, start_simulation
from mockserver.spec import Spec, load_spec
from mockserver.world import WorldError

if TYPE_CHECKING:
    from mockserver.state import State

control_plane = Blueprint("northca_control", __name__, url_prefix="/__mock")
NAMESPACE_HEADER = "x-mock-namespace"
ADMIN_TOKEN_HEADER = "x-mock-admin-token"


def control_spec_path() -> Path:
    return Path(__file__).resolve().parent / "control.yaml"


@cache
def control_spec() -> Spec:
    """The control plane's own OpenAPI document: its paths, statuses and error strings."""
    return load_spec(control_spec_path())


def _server() -> MockServer:
    return server_of(current_app)


def _state() -> State:
    """The request's namespace, with what its simulation had due applied."""
    state = _server().state_for(request.headers.get(NAMESPACE_HEADER))
    state.settle()
    return state


def _ok(data: Any) -> Response:
    return success(200, data)


def _error(operation_id: str, name: str, message: str | None = None) -> Response:
    """The control operation's documented error ``name``; ``message`` replaces its string."""
    return error_envelope(control_spec().operations[operation_id].error(name), message=message)


def _json_object() -> dict[str, Any] | None:
    """The body as a JSON object, parsed as strictly as partner bodies; None otherwise."""
    try:
        body = parse_json(read_body(request.environ, _server().max_body_bytes))
    except (ValueError, RecursionError):
        return None
    return body if isinstance(body, dict) else None


@control_plane.before_request
def require_admin_token() -> Response | None:
    """None when the request may use the control plane, else the 401 answer."""
    expected = _server().admin_token
    if expected is None:
        return None
    given = request.headers.get(ADMIN_TOKEN_HEADER, "")
    if hmac.compare_digest(given.encode(), expected.encode()):
        return None
    return error_envelope(control_spec().shared_error("adminTokenRequired"))


def render_control_http_error(server: MockServer, error: HTTPException) -> Response:
    """404, 405 and 413 under ``/__mock/`` (no partner key needed); 500 for anything else."""
    if isinstance(error, MethodNotAllowed):
        allowed = ", ".join(sorted(error.valid_methods or ()))
        return render_error(server.spec, None, "methodNotAllowed", None, {"Allow": allowed})
    if isinstance(error, RequestEntityTooLarge):
        detail = f"body: larger than {server.max_body_bytes} bytes"
        return render_error(server.spec, None, "payloadTooLarge", detail)
    if error.code == 404:
        return render_error(server.spec, None, "notFound", f"path: no operation at {request.path}")
    return _unexpected(error)


def _http_error(error: HTTPException) -> Response:
    return render_control_http_error(_server(), error)


def _namespace_limit(error: NamespaceLimitError) -> Response:
    """A new namespace past ``--max-namespaces``."""
    example = control_spec().shared_error("namespaceLimitReached")
    return error_envelope(example, detail=error.detail)


def _unexpected(error: BaseException) -> Response:
    """A failure of the control plane itself: 500 in the envelope, kept in ``server.errors``."""
    server = _server()
    original = getattr(error, "original_exception", None) or error
    server.record_unexpected(original, f"{request.method} {request.path}")
    return render_error(server.spec, None, "internalError")


def answer_errors_as_documented(blueprint: Blueprint) -> None:
    """Answer ``blueprint``'s errors as the control plane's: 404, 405 and 413 in the envelope,
    the namespace cap's 503, and 500 (kept in ``server.errors``) for anything else. Every
    blueprint under ``/__mock/`` that reads a namespace registers these."""
    blueprint.register_error_handler(HTTPException, _http_error)
    blueprint.register_error_handler(NamespaceLimitError, _namespace_limit)
    blueprint.register_error_handler(Exception, _unexpected)


answer_errors_as_documented(control_plane)


@control_plane.post("/reset")
def reset() -> Response:
    state = _state()
    state.reset()
    _server().errors.clear()
    return _ok({"reset": True, "now": state.clock.now()})


@control_plane.get("/state")
def state() -> Response:
    return _ok(_state().snapshot())


@control_plane.post("/world")
def world() -> Response:
    body = _json_object()
    if body is None:
        return _error("setMockWorld", "expectedWorld")
    try:
        new_world = _server().load_world(body)
    except (WorldError, FaultPlanError) as exc:
        return _error("setMockWorld", "expectedWorld", str(exc))
    _state().load(new_world)
    return _ok({"loaded": True, "mdts": sorted(new_world.mdts)})


@control_plane.post("/clock")
def clock() -> Response:
    body = _json_object()
    state = _state()
    if body is None or len(body.keys() & {"advance_seconds", "now"}) != 1 or len(body) != 1:
        return _error("setMockClock", "expectedClock")
    with state.lock:
        if "advance_seconds" in body:
            seconds = body["advance_seconds"]
            if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
                return _error("setMockClock", "expectedClock", "advance_seconds: expected a number")
            if not math.isfinite(seconds) or abs(seconds) > MAX_CLOCK_MS / 1000:
                return _error("setMockClock", "clockOutOfRange")
            target_ms = state.clock.now_ms() + round(seconds * 1000)
        else:
            try:
                target_ms = parse_iso(str(body["now"]))
            except (ValueError, OverflowError):
                return _error("setMockClock", "expectedClock", "now: expected an ISO-8601 time")
        if not 0 <= target_ms <= MAX_CLOCK_MS:
            return _error("setMockClock", "clockOutOfRange")
        if "advance_seconds" in body:  # from the settled time too (see Clock.settled_ms)
            state.clock.advance(body["advance_seconds"])
        else:
            state.clock.set(target_ms)
        state.settle(moved=True)  # the events of the time skipped, at once
        return _ok({"now": state.clock.now()})


@control_plane.get("/simulation")
def get_simulation() -> Response:
    return _ok(simulation_view(_state()))


@control_plane.post("/simulation")
def set_simulation() -> Response:
    body = _json_object()
    if body is None:
        return _error("setMockSimulation", "expectedSimulation")
    state = _state()
    try:
        with state.lock:
            start_simulation(_server(), state, body)
            return _ok(simulation_view(state))
    except SimulationError as exc:
        return _error("setMockSimulation", "expectedSimulation", str(exc))


@control_plane.get("/requests")
def requests_journal() -> Response:
    state = _state()
    with state.lock:
        return _ok(list(state.journal))


@control_plane.get("/faults")
def get_faults() -> Response:
    return _ok(_state().faults.describe())


@control_plane.post("/faults")
def set_faults() -> Response:
    body = _json_object()
    if body is None:
        return _error("setMockFaults", "expectedFaults")
    try:
        plan = FaultPlan.parse(body, _server().spec.operations)
        _server().check_faults(plan)
    except FaultPlanError as exc:
        return _error("setMockFaults", "expectedFaults", str(exc))
    state = _state()
    with state.lock:
        state.faults = plan
    described = plan.describe()
    threads = _server().request_threads
    if threads == 1 and plan.adds_latency:
        described["warning"] = (
            "the server has one request thread: every request waits while one is delayed"
            " (start the mock with --threads N)"
        )
    return _ok(described)


@control_plane.post("/snapshot")
def snapshot() -> Response:
    server = _server()
    if server.state_file is None:
        return _error("snapshotMockState", "noStateFile")
    server.save_state()
    return _ok({"written": str(server.state_file), "namespaces": sorted(server.states)})
