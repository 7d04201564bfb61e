"""The Flask app: routes from the spec's paths, one handler per operationId.

Every partner request goes through the same checks, in this order (see ARCHITECTURE.md):
1. auth: partner key and guild header -> 401 (also before a 404 or 405);
2. routing: unknown path -> 404, undeclared method -> 405 with ``Allow``;
2b. ``Prefer`` and the fault plan may answer or delay here;
3. guild link of ``{mdtId}`` operations -> 403;
4. body (JSON, then schema and operation rules) -> 400;
5. query parameters -> 400;
6. the handler's business rules -> 403 / 404 / 409 / 410, or the documented success.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge
from werkzeug.routing import Rule

from mockserver import persistence
from mockserver.clock import Clock
from mockserver.control import NAMESPACE_HEADER, control_plane
from mockserver.errors import ApiError
from mockserver.faults import FaultPlan, FaultPlanError, forced_response, parse_prefer
from mockserver.handlers import BODY_RULES, HANDLERS, Call, Caller
from mockserver.journal import JsonResponse, request_headers, response_payload
from mockserver.schemas import SchemaCache
from mockserver.spec import Operation, Spec, SpecError, load_spec
from mockserver.state import State
from mockserver.validation import RequestChecker, read_body, reject_oversized
from mockserver.world import RECORD_SCHEMAS, World, load_world

logger = logging.getLogger("mockserver")
CONTROL_PREFIX = "/__mock/"
#: Where werkzeug's server puts the connection's socket, and where a view asks to break it.
SOCKET_ENVIRON = "werkzeug.socket"
CONNECTION_FAULT_ENVIRON = "northca.connection_fault"
NAMESPACE_ENVIRON = "HTTP_" + NAMESPACE_HEADER.upper().replace("-", "_")
PREFER_ENVIRON = "HTTP_PREFER"
DEFAULT_MAX_BODY_BYTES = 1 << 20
_PATH_PARAM = re.compile(r"\{([^}/]+)\}")
WorldSource = str | Path | Mapping[str, Any] | World | None


class MockServer:
    """The spec, the compiled checks and the state behind one app."""

    def __init__(
        self,
        spec: Spec,
        world: World,
        *,
        clock: Clock | None = None,
        id_seed: int | None = None,
        admin_token: str | None = None,
        state_file: str | Path | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        allow_connection_faults: bool = False,
    ) -> None:
        check_handlers(spec)
        self.max_body_bytes = max_body_bytes
        #: Fault plans may reset or drop connections (needs a server that exposes its socket).
        self.allow_connection_faults = allow_connection_faults
        #: Request threads of the HTTP server, when it has a fixed number (set by ``serving``).
        self.request_threads: int | None = None
        self.check_faults(world.faults)
        self.spec = spec
        self.schemas = SchemaCache(spec)
        self.record_fields = {
            kind: spec.schema_fields(schema) for kind, schema in RECORD_SCHEMAS.items()
        }
        self.world = world
        self._id_seed = id_seed
        self._namespaces_lock = threading.Lock()
        #: State per namespace (``x-mock-namespace``); "" is the default namespace.
        self.states: dict[str, State] = {
            "": State(world, self.record_fields, clock=clock, id_seed=id_seed)
        }
        self.checkers = {
            op_id: RequestChecker(op, self.schemas, BODY_RULES.get(op_id))
            for op_id, op in spec.operations.items()
        }
        #: Unexpected exceptions raised while serving (each was answered with a 500).
        self.errors: list[BaseException] = []
        #: When set, the control plane needs it in ``x-mock-admin-token``.
        self.admin_token = admin_token
        self.state_file = Path(state_file) if state_file is not None else None
        if self.state_file is not None:
            persistence.load(self, self.state_file)

    def authenticate(self, state: State, environ: Mapping[str, Any]) -> Caller:
        """Who is calling: a known ``x-partner-key`` and a non-empty ``x-discord-guild``, or 401."""
        key = environ.get("HTTP_X_PARTNER_KEY")
        partner = state.world.partner_keys.get(key) if key else None
        guild = environ.get("HTTP_X_DISCORD_GUILD")
        if partner is None or not guild:
            raise ApiError("unauthorized", "x-partner-key and x-discord-guild are required")
        return Caller(partner, guild, environ.get("HTTP_X_DISCORD_ACTOR") or None)

    def save_state(self) -> None:
        """Write every namespace to the state file (atomically), if there is one."""
        if self.state_file is not None:
            persistence.save(self, self.state_file)

    @property
    def state(self) -> State:
        """The default namespace's state."""
        return self.states[""]

    def state_for(self, namespace: str | None) -> State:
        """The state of a namespace, created from the server's world on first use."""
        name = namespace or ""
        state = self.states.get(name)
        if state is None:
            with self._namespaces_lock:
                state = self.states.get(name)
                if state is None:
                    state = State(self.world, self.record_fields, id_seed=self._id_seed)
                    self.states[name] = state
        return state

    def load_world(self, source: WorldSource) -> World:
        world = source if isinstance(source, World) else load_world(source, self.spec)
        self.check_faults(world.faults)
        return world

    def check_faults(self, plan: FaultPlan) -> None:
        """Connection faults only when the mock was started with them allowed."""
        if plan.breaks_connections and not self.allow_connection_faults:
            raise FaultPlanError(
                "faults: connection faults are off (start the mock with"
                " --allow-connection-faults --server werkzeug)"
            )


def check_handlers(spec: Spec) -> None:
    """Every operation of the spec has a handler, and every handler an operation."""
    missing = sorted(set(spec.operations) - set(HANDLERS))
    orphans = sorted(set(HANDLERS) - set(spec.operations))
    if missing or orphans:
        raise SpecError(
            f"operations without handler: {missing}; handlers without operation: {orphans}"
        )


def create_app(
    spec_path: str | Path | None = None,
    world: WorldSource = None,
    *,
    clock: Clock | None = None,
    id_seed: int | None = None,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    admin_token: str | None = None,
    state_file: str | Path | None = None,
    allow_connection_faults: bool = False,
    bugs: Iterable[str] = (),
) -> Flask:
    """A Flask app serving the spec's operations from ``world`` (the default world if None).

    ``clock`` and ``id_seed`` make time and generated ids controllable; ``max_body_bytes`` caps
    request bodies (413 beyond); ``admin_token`` protects ``/__mock/``; ``state_file`` is read
    now and written by ``POST /__mock/snapshot`` and ``MockServer.save_state()``;
    ``allow_connection_faults`` lets fault plans reset or drop connections (werkzeug server).
    ``bugs`` plants named defects (see ``mockserver.bugs``) so the contract checks can be shown
    to catch them; never use it for anything else.
    """
    spec = load_spec(spec_path)
    world_model = world if isinstance(world, World) else load_world(world, spec)
    server = MockServer(
        spec,
        world_model,
        clock=clock,
        id_seed=id_seed,
        admin_token=admin_token,
        state_file=state_file,
        max_body_bytes=max_body_bytes,
        allow_connection_faults=allow_connection_faults,
    )

    app = Flask("mockserver")
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.url_map.merge_slashes = False
    app.extensions["northca"] = server
    _register_operations(app, server)
    app.register_blueprint(control_plane)
    app.register_error_handler(HTTPException, _render_http_error)
    app.register_error_handler(Exception, _render_unexpected_error)
    bugs = tuple(bugs)
    if bugs:
        from mockserver.bugs import plant_bugs

        plant_bugs(app, server, bugs)
    return app


def server_of(app: Flask) -> MockServer:
    server: MockServer = app.extensions["northca"]
    return server


def _current() -> MockServer:
    return server_of(current_app)


# -- routing ---------------------------------------------------------------------------------
def _register_operations(app: Flask, server: MockServer) -> None:
    prefixes = dict.fromkeys(["", server.spec.base_path])
    for op in server.spec.operations.values():
        for prefix in prefixes:
            rule = Rule(
                prefix + _PATH_PARAM.sub(r"<\1>", op.path),
                endpoint=op.operation_id,
                methods=[op.method],
            )
            rule.methods = {op.method}  # no implicit HEAD or OPTIONS: undeclared means 405
            app.url_map.add(rule)
        app.view_functions[op.operation_id] = _view_for(server, op)


def _view_for(server: MockServer, op: Operation) -> Callable[..., Response]:
    """The view of one operation: the whole check pipeline, then the handler, then the journal.

    It reads the WSGI environ directly and renders errors itself: Flask's proxies and exception
    machinery cost more than the checks.
    """
    checker = server.checkers[op.operation_id]
    handler = HANDLERS[op.operation_id]
    mdt_scoped = "mdtId" in op.path_params
    has_query = bool(checker.query)
    success_status = op.success_status
    max_body_bytes = server.max_body_bytes

    def view(**path: str) -> Response:
        req = request._get_current_object()  # type: ignore[attr-defined]
        environ = req.environ
        state = server.state_for(environ.get(NAMESPACE_ENVIRON))
        body: Any = None
        try:
            caller = server.authenticate(state, environ)
            injected = _injected_response(server, state, op, environ)
            if injected is not None:
                response = injected
            else:
                with state.lock:
                    now_ms = state.clock.now_ms()
                    if (
                        mdt_scoped
                        and state.link(caller.partner, caller.guild, path["mdtId"]) is None
                    ):
                        raise ApiError(
                            "mdtNotLinked", "mdtId: not linked to this guild for your partner key"
                        )
                    if checker.body_validator is None:
                        reject_oversized(environ, max_body_bytes)
                    body = checker.body(
                        lambda: read_body(environ, max_body_bytes), environ.get("CONTENT_TYPE")
                    )
                    query = checker.query_values(req.args) if has_query else {}
                    call = Call(op, state, caller, path, query, body, now_ms)
                    response = envelope(success_status, {"ok": True, "data": handler(call)})
        except ApiError as error:
            response = render_error(server, op, error.name, error.detail)
        except RequestEntityTooLarge:
            response = _too_large(server, op, req)
        except Exception as unexpected:
            response = _unexpected(server, op, req, unexpected)
        record_in_journal(state, req, op.operation_id, response.status_code, body, response)
        return response

    view.__name__ = op.operation_id
    return view


def _injected_response(
    server: MockServer, state: State, op: Operation, environ: Mapping[str, Any]
) -> Response | None:
    """``Prefer`` forcing a documented response, then the fault plan's latency and errors."""
    prefer = parse_prefer(environ.get(PREFER_ENVIRON))
    if prefer:
        forced = forced_response(op, prefer)
        if forced is not None:
            return envelope(forced.status, forced.body, {"Preference-Applied": forced.applied})
    if state.faults.active:
        with state.lock:
            draw = state.faults.draw(op.operation_id)
        if draw.delay_seconds:
            time.sleep(draw.delay_seconds)
        if draw.connection is not None:
            return _break_connection(server, environ, draw.connection)
        if draw.error is not None:
            raise ApiError(draw.error, "injected by the mock's fault plan")
    return None


def _break_connection(server: MockServer, environ: Mapping[str, Any], kind: str) -> Response:
    """Ask the server to drop this connection (``connection_faults.BreakConnections`` does it).

    The returned response is never sent; the journal records status 0 (no HTTP answer).
    """
    if not server.allow_connection_faults or SOCKET_ENVIRON not in environ:
        raise ApiError("internalError", "connection faults need --allow-connection-faults")
    environ[CONNECTION_FAULT_ENVIRON] = kind  # type: ignore[index]
    return Response(status=500)


def record_in_journal(
    state: State,
    req: Any,
    operation_id: str | None,
    status: int,
    body: Any,
    response: Response | None = None,
) -> None:
    """Append one partner-API request to the namespace's journal (see ``testing.Journal``)."""
    environ = req.environ
    fault = environ.get(CONNECTION_FAULT_ENVIRON)
    with state.lock:
        state.journal.append(
            {
                "method": req.method,
                "path": req.path,
                "status": 0 if fault else status,
                "operation_id": operation_id,
                "timestamp": state.clock.now(),
                "body": body,
                "query": environ.get("QUERY_STRING", ""),
                "headers": request_headers(environ),
                "response": None if fault else response_payload(response),
                **({"connection_fault": fault} if fault else {}),
            }
        )


# -- rendering -------------------------------------------------------------------------------
def envelope(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    response = JsonResponse(body, status=status, headers=headers, mimetype="application/json")
    response.payload = payload
    return response


def render_error(
    server: MockServer,
    op: Operation | None,
    name: str,
    detail: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The documented answer ``name`` of ``op`` (or of the shared responses), in the envelope."""
    example = op.errors.get(name) if op is not None else None
    if example is None:
        example = server.spec.shared_error(name)
    payload: dict[str, Any] = {"ok": False, "error": example.message}
    if detail:
        payload["detail"] = detail
    return envelope(example.status, payload, headers)


def _too_large(server: MockServer, op: Operation | None, req: Any) -> Response:
    limit = server.max_body_bytes
    return render_error(server, op, "payloadTooLarge", f"body: larger than {limit} bytes")


def _render_http_error(error: HTTPException) -> Response:
    """404 and 405 from routing (after the auth check, which comes first), and 413."""
    server = _current()
    req = request._get_current_object()  # type: ignore[attr-defined]
    if req.path.startswith(CONTROL_PREFIX):
        return _render_control_http_error(server, error)
    state = server.state_for(req.environ.get(NAMESPACE_ENVIRON))
    try:
        server.authenticate(state, req.environ)
        if isinstance(error, MethodNotAllowed):
            allowed = ", ".join(sorted(error.valid_methods or ()))
            response = render_error(server, None, "methodNotAllowed", None, {"Allow": allowed})
        elif isinstance(error, RequestEntityTooLarge):
            response = _too_large(server, None, req)
        elif error.code == 404:
            response = render_error(server, None, "notFound", f"path: no operation at {req.path}")
        else:
            response = _render_unexpected_error(error)
    except ApiError as failure:
        response = render_error(server, None, failure.name, failure.detail)
    record_in_journal(state, req, None, response.status_code, None, response)
    return response


def _render_control_http_error(server: MockServer, error: HTTPException) -> Response:
    if isinstance(error, MethodNotAllowed):
        allowed = ", ".join(sorted(error.valid_methods or ()))
        return render_error(server, None, "methodNotAllowed", None, {"Allow": allowed})
    if isinstance(error, RequestEntityTooLarge):
        return _too_large(server, None, request)
    return render_error(server, None, "notFound", f"path: no operation at {request.path}")


def _unexpected(server: MockServer, op: Operation | None, req: Any, error: Exception) -> Response:
    """A 500 in the envelope, never a traceback; the exception is kept in ``server.errors``."""
    server.errors.append(error)
    logger.error("unexpected error while serving %s %s", req.method, req.path, exc_info=error)
    return render_error(server, op, "internalError")


def _render_unexpected_error(error: Exception) -> Response:
    """An exception that escaped a view (a replaced or wrapped one): 500, journaled."""
    server = _current()
    req = request._get_current_object()  # type: ignore[attr-defined]
    op = server.spec.operations.get(req.endpoint or "")
    response = _unexpected(server, op, req, error)
    if not req.path.startswith(CONTROL_PREFIX):
        try:
            state = server.state_for(req.environ.get(NAMESPACE_ENVIRON))
            record_in_journal(state, req, op.operation_id if op else None, 500, None, response)
        except Exception:  # the state itself is what failed: answer anyway
            logger.exception("could not journal a failed request")
    return response
