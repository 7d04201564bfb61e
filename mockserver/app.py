"""The Flask app: routes from the spec's paths, one compiled view per operationId.

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

import re
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from flask import Flask, Request, Response, current_app, request
from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    MethodNotAllowed,
    RequestEntityTooLarge,
)
from werkzeug.routing import Rule

from mockserver import guard, inspector
from mockserver.bodies import read_body, reject_oversized
from mockserver.bugs import plant_bugs
from mockserver.clock import Clock
from mockserver.control import (
    NAMESPACE_HEADER,
    control_plane,
    control_spec,
    render_control_http_error,
)
from mockserver.direct_dispatch import DirectDispatch, DirectView
from mockserver.envelopes import envelope, render_error, success
from mockserver.errors import ApiError
from mockserver.faults import forced_response, parse_prefer
from mockserver.handlers.registry import Call
from mockserver.journal import ENTRY_OVERHEAD, Exchange, clip, environ_headers
from mockserver.limits import (
    DEFAULT_JOURNAL_MAX_BODY_BYTES,
    DEFAULT_JOURNAL_MAX_BYTES,
    DEFAULT_MAX_ERRORS,
    DEFAULT_MAX_MDTS,
    DEFAULT_MAX_NAMESPACES,
    DEFAULT_MAX_RECORD_BYTES,
    DEFAULT_MAX_WORLD_LINKS,
    Limits,
)
from mockserver.raw_path import RawPathRouting, SegmentConverter
from mockserver.request_rules import RequestRules
from mockserver.seams import ResponsePostProcessor, Seams
from mockserver.server import (
    DEFAULT_MAX_BODY_BYTES,
    EXTENSION,
    MockServer,
    WorldSource,
    server_of,
)
from mockserver.spec import Operation, load_spec
from mockserver.spec_documents import SPEC_EXTENSION, spec_documents
from mockserver.state import State
from mockserver.validation import RequestChecker
from mockserver.world import World, load_world

__all__ = ["DEFAULT_MAX_BODY_BYTES", "MockServer", "WorldSource", "create_app", "server_of"]

CONTROL_PREFIX = "/__mock/"
#: Where werkzeug's server puts the connection's socket, and where a view asks to break it.
SOCKET_ENVIRON = "werkzeug.socket"
CONNECTION_FAULT_ENVIRON = "northca.connection_fault"
NAMESPACE_ENVIRON = "HTTP_" + NAMESPACE_HEADER.upper().replace("-", "_")
PREFER_ENVIRON = "HTTP_PREFER"
_PATH_PARAM = re.compile(r"\{([^}/]+)\}")


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
    seams: Seams | None = None,
    journal_max_bytes: int = DEFAULT_JOURNAL_MAX_BYTES,
    journal_max_body_bytes: int = DEFAULT_JOURNAL_MAX_BODY_BYTES,
    max_namespaces: int = DEFAULT_MAX_NAMESPACES,
    max_mdts: int = DEFAULT_MAX_MDTS,
    max_world_links: int = DEFAULT_MAX_WORLD_LINKS,
    max_errors: int = DEFAULT_MAX_ERRORS,
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
) -> Flask:
    """A Flask app serving the spec's operations from ``world``.

    :param spec_path: the OpenAPI file (None: the packaged ``openapi.yaml``).
    :param world: a world file path, a dict, a loaded ``World``, or None for the default world.
    :param clock: the clock of the default namespace (None: real time, controllable later).
    :param id_seed: makes generated ids reproducible.
    :param max_body_bytes: request bodies larger than this are answered 413.
    :param admin_token: when set, ``/__mock/`` needs it in ``x-mock-admin-token``.
    :param state_file: read now, written by ``POST /__mock/snapshot`` and
        ``MockServer.save_state()``.
    :param allow_connection_faults: lets fault plans reset or drop connections (werkzeug
        server only).
    :param bugs: names of planted defects (``mockserver.bugs``), so the contract checks can be
        shown to catch them; never use it for anything else. An unknown name is an
        ``UnknownBugError``.
    :param seams: what to build the app from beyond spec and world (authenticator, request
        checker and state factories, handler overrides, response post-processors); see
        ``mockserver.seams``. Planted bugs are added to a copy of it.
    :param journal_max_bytes: each namespace's journal keeps its newest entries within this
        many bytes.
    :param journal_max_body_bytes: a journaled body longer than this is cut (and marked).
    :param max_namespaces: namespaces the mock holds, the default one included; a request
        for a new one past it is answered ``namespaceLimitReached`` (503).
    :param max_mdts: MDTs of a world (start, state file, ``POST /__mock/world``).
    :param max_world_links: link records a world makes (a link without ``partner`` counts
        once per partner).
    :param max_errors: unexpected exceptions kept in ``server.errors`` (the newest).
    :param max_record_bytes: bytes of records, events and link requests each namespace writes
        (as JSON) until its reset; a write past it is answered ``recordStorageFull`` (507).
    """
    limits = Limits(
        journal_max_bytes=journal_max_bytes,
        journal_max_body_bytes=journal_max_body_bytes,
        max_namespaces=max_namespaces,
        max_mdts=max_mdts,
        max_world_links=max_world_links,
        max_errors=max_errors,
        max_record_bytes=max_record_bytes,
    )
    spec = load_spec(spec_path)
    world_model = world if isinstance(world, World) else load_world(world, spec, limits)
    chosen = plant_bugs(seams or Seams(), tuple(bugs))
    server = MockServer(
        spec,
        world_model,
        clock=clock,
        id_seed=id_seed,
        admin_token=admin_token,
        state_file=state_file,
        max_body_bytes=max_body_bytes,
        allow_connection_faults=allow_connection_faults,
        seams=chosen,
        limits=limits,
    )

    app = Flask("mockserver")
    app.config["MAX_CONTENT_LENGTH"] = max_body_bytes
    app.url_map.merge_slashes = False
    # Route on the path as sent: an id with ``/`` or ``%`` stays one segment (raw_path).
    app.url_map.converters["default"] = SegmentConverter
    app.wsgi_app = RawPathRouting(app.wsgi_app)  # type: ignore[method-assign]
    app.extensions[EXTENSION] = server
    app.extensions[SPEC_EXTENSION] = spec
    paths, views = _register_operations(app, server)
    app.register_blueprint(control_plane)
    inspector.register(app)
    guard.install(app, control_spec)  # control-plane writes are JSON only (415)
    app.register_blueprint(spec_documents)
    app.register_error_handler(HTTPException, _render_http_error)
    if chosen.post_processors:
        app.after_request(_post_processing(server, chosen.post_processors))
    else:  # last: it takes the hooks registered so far as the app's own
        app.wsgi_app = DirectDispatch(app, app.wsgi_app, paths, views)  # type: ignore[method-assign]
    # Non-ASCII header values and WebSocket upgrades: refused alike on every server.
    app.wsgi_app = RequestRules(app.wsgi_app, spec)  # type: ignore[method-assign]
    return app


# -- routing ---------------------------------------------------------------------------------
def _register_operations(
    app: Flask, server: MockServer
) -> tuple[list[tuple[str, str, str]], dict[str, tuple[Callable[..., Response], DirectView]]]:
    """Rules and views of the spec's operations; returns them for :class:`DirectDispatch`."""
    prefixes = dict.fromkeys(["", server.spec.base_path])
    paths: list[tuple[str, str, str]] = []
    views: dict[str, tuple[Callable[..., Response], DirectView]] = {}
    for op in server.spec.operations.values():
        for prefix in prefixes:
            rule = Rule(
                prefix + _PATH_PARAM.sub(r"<\1>", op.path),
                endpoint=op.operation_id,
                methods=[op.method],
            )
            rule.methods = {op.method}  # no implicit HEAD or OPTIONS: undeclared means 405
            app.url_map.add(rule)
            paths.append((op.operation_id, op.method, prefix + op.path))
        direct = _view_for(server, op)
        view = _flask_view(direct)
        view.__name__ = op.operation_id
        app.view_functions[op.operation_id] = view
        views[op.operation_id] = (view, direct)
    return paths, views


def _flask_view(direct: DirectView) -> Callable[..., Response]:
    """The Flask view of a compiled view (routing by Flask, e.g. with post-processors)."""

    def view(**path: str) -> Response:
        return direct(request._get_current_object(), path)  # type: ignore[attr-defined]

    return view


def _view_for(server: MockServer, op: Operation) -> DirectView:
    """The view of one operation: the whole check pipeline, then the handler, then the journal.

    It takes the request and the path parameters, reads the WSGI environ directly and renders
    every error itself (an exception never escapes it): Flask's proxies and exception machinery
    cost more than the checks. The seams are read here, once.
    """
    checker = server.checkers[op.operation_id]
    handler = server.seams.handler(op.operation_id)
    authenticate = server.authenticate
    mdt_scoped = "mdtId" in op.path_params
    has_query = bool(checker.query)
    success_status = op.success_status
    max_body_bytes = server.max_body_bytes
    journal_body_bytes = server.limits.journal_max_body_bytes

    def view(req: Request, path: dict[str, str]) -> Response:
        try:
            return answer(req, path)
        except Exception as unexpected:  # journaling itself failed: answer anyway
            return _escaped(server, req, op, unexpected)

    def answer(req: Request, path: dict[str, str]) -> Response:
        environ = req.environ
        namespace = environ.get(NAMESPACE_ENVIRON)
        try:
            state = server.states.existing(namespace)
        except Exception as unexpected:
            return _unexpected(server, op, req, unexpected)
        body: Any = None
        raw = b""
        try:
            # Auth first, against a state as a new namespace would start: a request that
            # fails it never creates a namespace.
            caller = authenticate(state or server.states.prototype, environ)
            if state is None:
                state = server.state_for(namespace)
            injected = _injected_response(server, state, op, environ)
            if injected is not None:
                response = injected
            else:
                # The body is read (and its size checked) before the lock: a slow upload
                # holds no one else up. Its errors still come in the documented order.
                raw, too_large = _read_body_early(environ, checker, max_body_bytes)
                with state.lock:
                    now_ms = state.clock.now_ms()
                    if state.activity is not None:
                        state.activity.catch_up(state, state.clock.settled_ms())
                    if (
                        mdt_scoped
                        and state.link(caller.partner, caller.guild, path["mdtId"]) is None
                    ):
                        raise ApiError(
                            "mdtNotLinked", "mdtId: not linked to this guild for your partner key"
                        )
                    if too_large:
                        raise RequestEntityTooLarge()
                    body = checker.body(raw, environ.get("CONTENT_TYPE"))
                    query = checker.query_values(req.args) if has_query else {}
                    call = Call(op, state, caller, path, query, body, now_ms)
                    response = success(success_status, handler(call))
        except ApiError as error:
            response = render_error(server.spec, op, error.name, error.detail)
        except RequestEntityTooLarge:
            response = _too_large(server, op)
        except Exception as unexpected:
            response = _unexpected(server, op, req, unexpected)
        if state is not None:
            record_in_journal(
                state,
                req,
                op.operation_id,
                response,
                body,
                raw,
                journal_body_bytes,
            )
        return response

    return view


def _read_body_early(
    environ: Mapping[str, Any], checker: RequestChecker, max_body_bytes: int
) -> tuple[bytes, bool]:
    """``(body, too_large)``: the body of an operation that takes one (b"" otherwise), read
    whole; ``too_large`` when it, or the declared ``Content-Length``, is over the limit."""
    try:
        if checker.body_validator is None:
            reject_oversized(environ, max_body_bytes)
            return b"", False
        return read_body(environ, max_body_bytes), False
    except RequestEntityTooLarge:
        return b"", True


def _post_processing(
    server: MockServer, post_processors: list[ResponsePostProcessor]
) -> Callable[[Response], Response]:
    """One ``after_request`` function running the post-processors in order (only if any)."""
    operations = server.spec.operations

    def post_process(response: Response) -> Response:
        op = operations.get(request.endpoint or "")
        for post_processor in post_processors:
            response = post_processor(op, response)
        return response

    return post_process


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
    response: Response,
    body: Any,
    raw: bytes = b"",
    max_body_bytes: int = DEFAULT_JOURNAL_MAX_BODY_BYTES,
) -> None:
    """Append one partner-API request and its answer to the namespace's journal.

    The fields are described in ``mockserver.journal``: secrets in headers are redacted;
    ``body`` is the parsed request body, ``raw`` its bytes as received; past ``max_body_bytes``
    a body is kept as the start of its text, marked as cut.
    """
    environ = req.environ
    fault = environ.get(CONNECTION_FAULT_ENVIRON)
    status = 0 if fault else response.status_code
    data = b"" if fault else response.get_data()
    headers, headers_size = environ_headers(environ)
    answer_headers = response.headers.to_wsgi_list()
    kept, body_bytes, cut = clip(body, raw, max_body_bytes)
    exchange = Exchange(
        req.method,
        req.path,
        environ.get("QUERY_STRING", ""),
        headers,
        status,
        operation_id,
        kept,
        cut,
        answer_headers,
        data,
        max_body_bytes,
        fault,
    )
    size = (
        body_bytes
        + ENTRY_OVERHEAD
        + len(exchange.path)
        + len(exchange.query)
        + headers_size
        + sum(len(name) + len(value) + 6 for name, value in answer_headers)
        + len(exchange.data)
    )
    with state.lock:
        exchange.seq = next(state.journal_seq)
        exchange.now_ms = state.clock.now_ms()
        state.journal.append(exchange, size)


# -- errors outside the views ----------------------------------------------------------------
def _too_large(server: MockServer, op: Operation | None) -> Response:
    limit = server.max_body_bytes
    return render_error(server.spec, op, "payloadTooLarge", f"body: larger than {limit} bytes")


def _render_http_error(error: HTTPException) -> Response:
    """404 and 405 from routing (after the auth check, which comes first), and 413.

    An exception no compiled view caught (a post-processor's, or a view a test swapped in)
    arrives here as Flask's ``InternalServerError``: see :func:`_escaped`.
    """
    server = server_of(current_app)
    req = request._get_current_object()  # type: ignore[attr-defined]
    if isinstance(error, InternalServerError):
        op = server.spec.operations.get(req.endpoint or "")
        return _escaped(server, req, op, error.original_exception or error)
    if req.path.startswith(CONTROL_PREFIX):
        return render_control_http_error(server, error)
    # Routing errors never create a namespace; they are journaled in an existing one.
    try:
        state = server.states.existing(req.environ.get(NAMESPACE_ENVIRON))
    except Exception as unexpected:
        return _unexpected(server, None, req, unexpected)
    try:
        server.authenticate(state or server.states.prototype, req.environ)
        if isinstance(error, MethodNotAllowed):
            allowed = ", ".join(sorted(error.valid_methods or ()))
            response = render_error(server.spec, None, "methodNotAllowed", None, {"Allow": allowed})
        elif isinstance(error, RequestEntityTooLarge):
            response = _too_large(server, None)
        elif error.code == 404:
            response = render_error(
                server.spec, None, "notFound", f"path: no operation at {req.path}"
            )
        else:
            response = _unexpected(server, None, req, error)
    except ApiError as failure:
        response = render_error(server.spec, None, failure.name, failure.detail)
    except Exception as unexpected:
        response = _unexpected(server, None, req, unexpected)
    if state is not None:
        record_in_journal(
            state, req, None, response, None, b"", server.limits.journal_max_body_bytes
        )
    return response


def _unexpected(
    server: MockServer, op: Operation | None, req: Any, error: BaseException
) -> Response:
    """A 500 in the envelope, never a traceback; the exception is kept in ``server.errors``."""
    server.record_unexpected(error, f"{req.method} {req.path}")
    return render_error(server.spec, op, "internalError")


def _escaped(server: MockServer, req: Any, op: Operation | None, error: BaseException) -> Response:
    """500 in the envelope for an exception that escaped the views, journaled like theirs."""
    response = _unexpected(server, op, req, error)
    if not req.path.startswith(CONTROL_PREFIX):
        try:
            state = server.states.existing(req.environ.get(NAMESPACE_ENVIRON))
            if state is not None:
                record_in_journal(
                    state,
                    req,
                    op.operation_id if op else None,
                    response,
                    None,
                    b"",
                    server.limits.journal_max_body_bytes,
                )
        except Exception as unjournaled:  # the state itself is what failed: answer anyway
            server.record_unexpected(unjournaled, "journaling a failed request")
    return response
