"""Planted bugs: named defects a mock can be started with, to prove the contract checks catch them.

Each bug wraps what the built app already has (view functions, request hooks, request checkers,
state methods of this one instance); none edits the app's code or the handlers. They exist only
so that ``tests/test_contracts_bugs.py`` can show that ``northca-contracts check`` fails on each.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from flask import Response, request

from mockserver.errors import ApiError

if TYPE_CHECKING:
    from flask import Flask

    from mockserver.app import MockServer
    from mockserver.handlers import Caller
    from mockserver.state import State

Planter = Callable[["Flask", "MockServer"], None]

#: Bug name -> function that plants it into an app.
BUGS: dict[str, Planter] = {}
#: Bug name -> what the planted defect does.
DESCRIPTIONS: dict[str, str] = {}

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_LIST_OPERATIONS = ("listCalls", "listSceneReports", "listShifts", "listTickets", "listActiveUnits")


class PlantedBugError(RuntimeError):
    """Raised on purpose by a planted bug (the mock answers it with a 500)."""


class _QuietPlantedBugs(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return not isinstance(exc, PlantedBugError)


def plant_bugs(app: Flask, server: MockServer, names: Iterable[str]) -> None:
    """Plant each named bug; an unknown name is a ValueError listing the known ones."""
    for name in names:
        try:
            planter = BUGS[name]
        except KeyError:
            known = ", ".join(sorted(BUGS)) or "none"
            raise ValueError(f"unknown bug {name!r} (known: {known})") from None
        planter(app, server)


def _bug(name: str, description: str) -> Callable[[Planter], Planter]:
    def register(planter: Planter) -> Planter:
        BUGS[name] = planter
        DESCRIPTIONS[name] = description
        return planter

    return register


# -- helpers ---------------------------------------------------------------------------------
def _json_of(response: Response) -> Any:
    if response.mimetype != "application/json":
        return None
    try:
        return json.loads(response.get_data())
    except ValueError:
        return None


def _set_json(response: Response, payload: Any) -> None:
    response.set_data(json.dumps(payload, ensure_ascii=False, separators=(",", ":")))


def _on_every_state(server: MockServer, patch: Callable[[State], None]) -> None:
    """Apply ``patch`` to the default state and to every state created later (namespaces)."""
    patched: set[int] = set()

    def once(state: State) -> State:
        if id(state) not in patched:
            patched.add(id(state))
            patch(state)
        return state

    once(server.state)
    state_for = getattr(server, "state_for", None)
    if state_for is not None:

        def patched_state_for(*args: Any, **kwargs: Any) -> State:
            return once(state_for(*args, **kwargs))

        server.state_for = patched_state_for  # type: ignore[method-assign]


def _wrap_view(
    app: Flask, operation_id: str, around: Callable[[Callable[..., Any], dict[str, str]], Any]
) -> None:
    original = app.view_functions[operation_id]

    def view(**path: str) -> Any:
        return around(original, path)

    view.__name__ = operation_id
    app.view_functions[operation_id] = view


# -- the bugs --------------------------------------------------------------------------------
@_bug("wrong-error-string", "`Duplicate unit id in request body` is answered as `Duplicate id`")
def _wrong_error_string(app: Flask, server: MockServer) -> None:
    @app.after_request
    def rename(response: Response) -> Response:
        payload = _json_of(response)
        if (
            isinstance(payload, dict)
            and payload.get("error") == "Duplicate unit id in request body"
        ):
            payload["error"] = "Duplicate id"
            _set_json(response, payload)
        return response


@_bug("accepts-duplicate-unit-ids", "an upsert repeating a unit id is accepted (200)")
def _accepts_duplicate_unit_ids(app: Flask, server: MockServer) -> None:
    checker = server.checkers["upsertActiveUnits"]
    original = checker.rule

    def rule(body: Any, violations: Any) -> ApiError | None:
        error = original(body, violations)
        return None if error is not None and error.name == "duplicateId" else error

    checker.rule = rule


@_bug("ignores-partner-key", "any x-partner-key (or none) is accepted")
def _ignores_partner_key(app: Flask, server: MockServer) -> None:
    original = server.authenticate

    def lenient(state: State, environ: Mapping[str, Any]) -> Caller:
        keys = state.world.partner_keys
        if environ.get("HTTP_X_PARTNER_KEY") not in keys:
            environ = {**environ, "HTTP_X_PARTNER_KEY": next(iter(keys))}
        return original(state, environ)

    server.authenticate = lenient  # type: ignore[method-assign]


@_bug("skips-guild-link-check", "MDT-scoped operations work in any guild")
def _skips_guild_link_check(app: Flask, server: MockServer) -> None:
    def patch(state: State) -> None:
        original = state.link

        def link(partner: str, guild_id: str, mdt_id: str) -> dict[str, Any] | None:
            found = original(partner, guild_id, mdt_id)
            if found is None and mdt_id in state.mdts:
                owner = state.world.mdts[mdt_id].owner_discord_id
                return {"mdt_id": mdt_id, "guild_id": guild_id, "owner_discord_id": owner}
            return found

        state.link = link  # type: ignore[method-assign]

    _on_every_state(server, patch)


@_bug("lists-not-newest-first", "list operations answer oldest first")
def _lists_not_newest_first(app: Flask, server: MockServer) -> None:
    def reverse(view: Callable[..., Any], path: dict[str, str]) -> Any:
        response = view(**path)
        payload = _json_of(response)
        if isinstance(payload, dict) and isinstance(payload.get("data"), list):
            payload["data"].reverse()
            _set_json(response, payload)
        return response

    for operation_id in _LIST_OPERATIONS:
        _wrap_view(app, operation_id, reverse)


@_bug("limit-ignored", "list operations ignore `limit` (it is still validated)")
def _limit_ignored(app: Flask, server: MockServer) -> None:
    for operation_id in _LIST_OPERATIONS:
        checker = server.checkers[operation_id]
        original = checker.query_values

        def query_values(args: Any, original: Callable[[Any], dict[str, Any]] = original) -> Any:
            values = original(args)
            if "limit" in values:
                values["limit"] = 1_000_000
            return values

        checker.query_values = query_values  # type: ignore[method-assign]


@_bug("dates-not-iso8601", "timestamps in success answers are `DD/MM/YYYY HH:MM:SS`")
def _dates_not_iso8601(app: Flask, server: MockServer) -> None:
    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: convert(item) for key, item in value.items()}
        if isinstance(value, list):
            return [convert(item) for item in value]
        if isinstance(value, str) and _ISO.match(value):
            moment = time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
            return time.strftime("%d/%m/%Y %H:%M:%S", moment)
        return value

    @app.after_request
    def reformat(response: Response) -> Response:
        payload = _json_of(response)
        if isinstance(payload, dict) and payload.get("ok") is True and "data" in payload:
            payload["data"] = convert(payload["data"])
            _set_json(response, payload)
        return response


@_bug("500-on-invalid-json", "an unparseable body is answered 500 instead of 400 `Invalid JSON`")
def _500_on_invalid_json(app: Flask, server: MockServer) -> None:
    logging.getLogger("mockserver").addFilter(_QuietPlantedBugs())
    for checker in server.checkers.values():
        original = checker.body

        def body(
            raw: bytes | Callable[[], bytes],
            content_type: str | None,
            original: Callable[..., Any] = original,
        ) -> Any:
            try:
                return original(raw, content_type)
            except ApiError as error:
                if error.name == "invalidJson":
                    raise PlantedBugError("could not parse the body") from error
                raise

        checker.body = body  # type: ignore[method-assign]


@_bug("undocumented-status", "createTicket answers 202, a status the spec does not document")
def _undocumented_status(app: Flask, server: MockServer) -> None:
    def accepted(view: Callable[..., Any], path: dict[str, str]) -> Any:
        response = view(**path)
        if response.status_code == 201:
            response.status_code = 202
        return response

    _wrap_view(app, "createTicket", accepted)


@_bug("missing-allow-on-405", "405 answers carry no `Allow` header")
def _missing_allow_on_405(app: Flask, server: MockServer) -> None:
    @app.after_request
    def drop_allow(response: Response) -> Response:
        if response.status_code == 405:
            response.headers.pop("Allow", None)
        return response


@_bug("envelope-without-ok", 'success answers lack the `"ok": true` of the envelope')
def _envelope_without_ok(app: Flask, server: MockServer) -> None:
    @app.after_request
    def drop_ok(response: Response) -> Response:
        payload = _json_of(response)
        if isinstance(payload, dict) and payload.get("ok") is True:
            del payload["ok"]
            _set_json(response, payload)
        return response


@_bug("confirm-by-non-owner", "confirm succeeds whoever the actor is (no owner check)")
def _confirm_by_non_owner(app: Flask, server: MockServer) -> None:
    def as_owner(view: Callable[..., Any], path: dict[str, str]) -> Any:
        found = server.state.link_requests.get(path.get("id", ""))
        if found is not None and found["owner_discord_id"] is not None:
            request.environ["HTTP_X_DISCORD_ACTOR"] = found["owner_discord_id"]
        return view(**path)

    _wrap_view(app, "confirmLinkRequest", as_owner)


@_bug("expired-request-confirmable", "link requests never expire (confirm after the TTL works)")
def _expired_request_confirmable(app: Flask, server: MockServer) -> None:
    def patch(state: State) -> None:
        def never_expire(request_id: str, now_ms: int) -> dict[str, Any]:
            return state.link_requests[request_id]

        state.expire_if_due = never_expire  # type: ignore[method-assign]

    _on_every_state(server, patch)
