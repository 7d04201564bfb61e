"""Planted bugs: named defects a mock can be started with, to prove the contract checks catch them.

Each bug is a small modifier: a frozen ``PlantedBug`` dataclass naming what it adds to the app's
declared seams (``mockserver.seams``) before the app is built. None edits a live object, the
app's code or the handlers. ``tests/test_contracts_bugs.py`` shows that ``northca-contracts
check`` fails on each; users calibrate the checker with them (``northca-mock serve --bug NAME``).
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from mockserver.clock import format_ms, parse_iso
from mockserver.errors import ApiError, NorthcaMockError
from mockserver.handlers.registry import Call, Caller, Handler
from mockserver.seams import Authenticator, ResponsePostProcessor, Seams
from mockserver.state import State
from mockserver.store import RawJson, RecordTable
from mockserver.validation import RequestChecker

if TYPE_CHECKING:
    from flask import Response

    from mockserver.schemas import SchemaCache, Violation
    from mockserver.spec import Operation
    from mockserver.validation import BodyRule

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_T = TypeVar("_T")


class PlantedBugError(RuntimeError):
    """Raised on purpose by a planted bug (the mock answers it with a 500)."""


class UnknownBugError(NorthcaMockError, ValueError):
    """``--bug`` named no planted bug."""


@dataclass(frozen=True)
class PlantedBug:
    """A named defect, as what it adds to the seams an app is about to be built from."""

    name: str
    description: str
    #: Appended to ``Seams.post_processors``.
    post_processor: ResponsePostProcessor | None = None
    #: Put on top of ``Seams.checker_class`` (a ``RequestChecker`` subclass).
    checker: type[RequestChecker] | None = None
    #: Put on top of ``Seams.state_class`` (a ``State`` subclass).
    state: type[State] | None = None
    #: Wraps ``Seams.authenticate``.
    authenticator: Callable[[Authenticator], Authenticator] | None = None
    #: ``(operationId, wrapper)``: wraps the handler of that operation.
    handler: tuple[str, Callable[[Handler], Handler]] | None = None
    #: Added to ``Seams.quiet_errors``.
    quiet: tuple[type[BaseException], ...] = ()

    def apply(self, seams: Seams) -> None:
        if self.post_processor is not None:
            seams.post_processors.append(self.post_processor)
        if self.checker is not None:
            seams.checker_class = _extend(seams.checker_class, self.checker)
        if self.state is not None:
            seams.state_class = _extend(seams.state_class, self.state)
        if self.authenticator is not None:
            seams.authenticate = self.authenticator(seams.authenticate)
        if self.handler is not None:
            operation_id, wrap = self.handler
            seams.handlers[operation_id] = wrap(seams.handler(operation_id))
        seams.quiet_errors = (*seams.quiet_errors, *self.quiet)


def plant_bugs(seams: Seams, names: Sequence[str]) -> Seams:
    """A copy of ``seams`` with each named bug applied (``seams`` itself when there is none)."""
    if not names:
        return seams
    planted = dataclasses.replace(
        seams, handlers=dict(seams.handlers), post_processors=list(seams.post_processors)
    )
    for name in names:
        try:
            bug = BUGS[name]
        except KeyError:
            known = ", ".join(sorted(BUGS)) or "none"
            raise UnknownBugError(f"unknown bug {name!r} (known: {known})") from None
        bug.apply(planted)
    return planted


def describe_bugs() -> Iterable[tuple[str, str]]:
    """``(name, description)`` of every planted bug, by name."""
    return ((name, BUGS[name].description) for name in sorted(BUGS))


# -- helpers ---------------------------------------------------------------------------------
def _extend(base: type[_T], mixin: type[_T]) -> type[_T]:
    """``mixin`` on top of ``base`` (itself possibly extended by another bug)."""
    if base is mixin.__mro__[1]:
        return mixin
    extended: type[_T] = type(mixin.__name__, (mixin, base), {})
    return extended


def _json_of(response: Response) -> Any:
    if response.mimetype != "application/json":
        return None
    try:
        return json.loads(response.get_data())
    except ValueError:
        return None


def _set_json(response: Response, payload: Any) -> None:
    response.set_data(json.dumps(payload, ensure_ascii=False, separators=(",", ":")))


# -- what the bugs do ------------------------------------------------------------------------
def _rename_duplicate_id(op: Operation | None, response: Response) -> Response:
    payload = _json_of(response)
    if isinstance(payload, dict) and payload.get("error") == "Duplicate unit id in request body":
        payload["error"] = "Duplicate id"
        _set_json(response, payload)
    return response


def _passing_duplicate_ids(strict: BodyRule) -> BodyRule:
    """``strict`` without its ``duplicateId`` answer."""

    def lenient(body: Any, violations: Sequence[Violation]) -> ApiError | None:
        error = strict(body, violations)
        return None if error is not None and error.name == "duplicateId" else error

    return lenient


class _AcceptsDuplicates(RequestChecker):
    def __init__(self, op: Operation, schemas: SchemaCache, rule: BodyRule | None) -> None:
        super().__init__(op, schemas, rule)
        self.rule = _passing_duplicate_ids(self.rule)


def _any_partner_key(strict: Authenticator) -> Authenticator:
    def lenient(state: State, environ: Mapping[str, Any]) -> Caller:
        keys = state.world.partner_keys
        if environ.get("HTTP_X_PARTNER_KEY") not in keys:
            environ = {**environ, "HTTP_X_PARTNER_KEY": next(iter(keys))}
        return strict(state, environ)

    return lenient


class _LinkedEverywhere(State):
    def link(self, partner: str, guild_id: str, mdt_id: str) -> dict[str, Any] | None:
        found = super().link(partner, guild_id, mdt_id)
        if found is None and mdt_id in self.mdts:
            owner = self.world.mdts[mdt_id].owner_discord_id
            return {"mdt_id": mdt_id, "guild_id": guild_id, "owner_discord_id": owner}
        return found


def _oldest_first(op: Operation | None, response: Response) -> Response:
    """List operations (the ones the spec gives a ``limit``) answer in reverse."""
    payload = _json_of(response) if op is not None and op.has_query("limit") else None
    if isinstance(payload, dict) and isinstance(payload.get("data"), list):
        payload["data"].reverse()
        _set_json(response, payload)
    return response


class _LimitIgnored(RequestChecker):
    def query_values(self, args: Mapping[str, str]) -> dict[str, Any]:
        values = super().query_values(args)
        if "limit" in values:
            values["limit"] = 1_000_000
        return values


def _day_first(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _day_first(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_day_first(item) for item in value]
    if isinstance(value, str) and _ISO.match(value):
        moment = time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
        return time.strftime("%d/%m/%Y %H:%M:%S", moment)
    return value


def _dates_day_first(op: Operation | None, response: Response) -> Response:
    payload = _json_of(response)
    if isinstance(payload, dict) and payload.get("ok") is True and "data" in payload:
        payload["data"] = _day_first(payload["data"])
        _set_json(response, payload)
    return response


class _FailsOnInvalidJson(RequestChecker):
    def body(self, raw: bytes, content_type: str | None) -> Any:
        try:
            return super().body(raw, content_type)
        except ApiError as error:
            if error.name == "invalidJson":
                raise PlantedBugError("could not parse the body") from error
            raise


def _ticket_accepted(op: Operation | None, response: Response) -> Response:
    if op is not None and op.operation_id == "createTicket" and response.status_code == 201:
        response.status_code = 202
    return response


def _drop_allow(op: Operation | None, response: Response) -> Response:
    if response.status_code == 405:
        response.headers.pop("Allow", None)
    return response


def _drop_ok(op: Operation | None, response: Response) -> Response:
    payload = _json_of(response)
    if isinstance(payload, dict) and payload.get("ok") is True:
        del payload["ok"]
        _set_json(response, payload)
    return response


def _as_owner(confirm: Handler) -> Handler:
    def confirm_as_owner(call: Call) -> Any:
        found = call.state.link_requests.get(call.path.get("id", ""))
        if found is not None and found["owner_discord_id"] is not None:
            call.caller = call.caller._replace(actor=found["owner_discord_id"])
        return confirm(call)

    return confirm_as_owner


class _NeverExpires(State):
    def expire_if_due(self, request_id: str, now_ms: int) -> dict[str, Any]:
        return self.link_requests[request_id]


def _touch_on_conflict(create: Handler) -> Handler:
    def create_touching(call: Call) -> Any:
        body = call.body if isinstance(call.body, dict) else {}
        table = call.table("calls")
        taken = table.get(body["id"]) if isinstance(body.get("id"), str) else None
        if taken is not None:  # the 409 still refreshes the record it collides with
            # (always visibly: a millisecond later at least, even on a fast machine)
            stamp = max(call.now_ms, parse_iso(str(taken["updated_at"])) + 1)
            table.put({**taken, "updated_at": format_ms(stamp)}, stamp)
        return create(call)

    return create_touching


def _patch_not_stored(update: Handler) -> Handler:
    def update_in_answer_only(call: Call) -> Any:
        table = call.table("calls")
        old = table.get(call.path.get("callId", ""))
        answer = update(call)
        if old is not None:  # the answer shows the change; the store goes back to before
            table.put(old, parse_iso(str(old["updated_at"])))
        return answer

    return update_in_answer_only


def _patch_keeps_updated_at(update: Handler) -> Handler:
    def update_without_stamp(call: Call) -> Any:
        table = call.table("calls")
        call_id = call.path.get("callId", "")
        old = table.get(call_id)
        answer = update(call)
        new = table.get(call_id)
        if old is None or new is None:
            return answer
        stamp = old["updated_at"]
        return table.put({**new, "updated_at": stamp}, parse_iso(stamp))

    return update_without_stamp


def _upsert_resets_created_at(upsert: Handler) -> Handler:
    def upsert_restamping(call: Call) -> Any:
        table = call.table("active_units")
        before = {}
        for unit in call.body["units"]:
            known = table.get(unit["id"])
            if known is not None:
                before[unit["id"]] = parse_iso(str(known["created_at"]))
        upsert(call)
        restamped = []
        for unit in call.body["units"]:
            record = table.get(unit["id"])
            if record is None:
                continue
            if unit["id"] in before:  # a re-upsert: created_at becomes now (visibly, always)
                stamp = max(call.now_ms, before[unit["id"]] + 1)
                record = {**record, "created_at": format_ms(stamp)}
            restamped.append(table.put(record, call.now_ms))
        return RawJson.array(restamped)

    return upsert_restamping


def _integers_as_strings(create: Handler) -> Handler:
    def create_with_strings(call: Call) -> Any:
        if isinstance(call.body, dict):
            call.body = {
                k: str(v) if isinstance(v, int) and not isinstance(v, bool) else v
                for k, v in call.body.items()
            }
        return create(call)

    return create_with_strings


class _RepeatsReachTheHandler(RequestChecker):
    """Lets a batch repeating a unit id through to the handler (which then rejects it late)."""

    # A class of its own (not _AcceptsDuplicates): planted bugs stack their checkers as mixins.
    def __init__(self, op: Operation, schemas: SchemaCache, rule: BodyRule | None) -> None:
        super().__init__(op, schemas, rule)
        self.rule = _passing_duplicate_ids(self.rule)


def _upsert_until_repeat(upsert: Handler) -> Handler:
    def upsert_partially(call: Call) -> Any:
        seen: set[str] = set()
        units = call.body["units"]
        for index, unit in enumerate(units):
            if unit["id"] in seen:  # the units before the repeat are kept, then the 400
                call.body = {"units": units[:index]}
                upsert(call)
                raise ApiError("duplicateId", f"units.{index}.id repeats")
            seen.add(unit["id"])
        return upsert(call)

    return upsert_partially


class _EveryGuildsLinks(State):
    def guild_links(self, partner: str, guild_id: str) -> list[dict[str, Any]]:
        found = [link for (p, _, _), link in self.links.items() if p == partner]
        found.sort(key=lambda link: link["_order"], reverse=True)
        return found


class _SharedTables(State):
    def table(self, mdt_id: str, kind: str) -> RecordTable:
        return super().table(min(self.mdts), kind)

    def read_table(self, mdt_id: str, kind: str) -> RecordTable:
        return super().read_table(min(self.mdts), kind)


# -- the bugs --------------------------------------------------------------------------------
#: Bug name -> the modifier that plants it.
BUGS: dict[str, PlantedBug] = {
    bug.name: bug
    for bug in (
        PlantedBug(
            "wrong-error-string",
            "`Duplicate unit id in request body` is answered as `Duplicate id`",
            post_processor=_rename_duplicate_id,
        ),
        PlantedBug(
            "accepts-duplicate-unit-ids",
            "an upsert repeating a unit id is accepted (200)",
            checker=_AcceptsDuplicates,
        ),
        PlantedBug(
            "ignores-partner-key",
            "any x-partner-key (or none) is accepted",
            authenticator=_any_partner_key,
        ),
        PlantedBug(
            "skips-guild-link-check",
            "MDT-scoped operations work in any guild",
            state=_LinkedEverywhere,
        ),
        PlantedBug(
            "lists-not-newest-first",
            "list operations answer oldest first",
            post_processor=_oldest_first,
        ),
        PlantedBug(
            "limit-ignored",
            "list operations ignore `limit` (it is still validated)",
            checker=_LimitIgnored,
        ),
        PlantedBug(
            "dates-not-iso8601",
            "timestamps in success answers are `DD/MM/YYYY HH:MM:SS`",
            post_processor=_dates_day_first,
        ),
        PlantedBug(
            "500-on-invalid-json",
            "an unparseable body is answered 500 instead of 400 `Invalid JSON`",
            checker=_FailsOnInvalidJson,
            quiet=(PlantedBugError,),
        ),
        PlantedBug(
            "undocumented-status",
            "createTicket answers 202, a status the spec does not document",
            post_processor=_ticket_accepted,
        ),
        PlantedBug(
            "missing-allow-on-405",
            "405 answers carry no `Allow` header",
            post_processor=_drop_allow,
        ),
        PlantedBug(
            "envelope-without-ok",
            'success answers lack the `"ok": true` of the envelope',
            post_processor=_drop_ok,
        ),
        PlantedBug(
            "confirm-by-non-owner",
            "confirm succeeds whoever the actor is (no owner check)",
            handler=("confirmLinkRequest", _as_owner),
        ),
        PlantedBug(
            "expired-request-confirmable",
            "link requests never expire (confirm after the TTL works)",
            state=_NeverExpires,
        ),
        PlantedBug(
            "rejected-create-touches-record",
            "createCall with a taken id answers 409 but refreshes the record it collides with",
            handler=("createCall", _touch_on_conflict),
        ),
        PlantedBug(
            "patch-not-stored",
            "updateCall answers the patched call but keeps the old one",
            handler=("updateCall", _patch_not_stored),
        ),
        PlantedBug(
            "patch-keeps-updated-at",
            "updateCall leaves `updated_at` as it was",
            handler=("updateCall", _patch_keeps_updated_at),
        ),
        PlantedBug(
            "upsert-resets-created-at",
            "re-upserting a unit sets its `created_at` to the time of the upsert",
            handler=("upsertActiveUnits", _upsert_resets_created_at),
        ),
        PlantedBug(
            "integers-stored-as-strings",
            "createShift stores integers (`duration_ms`) as strings",
            handler=("createShift", _integers_as_strings),
        ),
        PlantedBug(
            "partial-upsert",
            "an upsert repeating a unit id answers 400 but keeps the units before the repeat",
            checker=_RepeatsReachTheHandler,
            handler=("upsertActiveUnits", _upsert_until_repeat),
        ),
        PlantedBug(
            "guild-list-shows-every-guild",
            "a guild's MDT list shows the partner's MDTs of every guild",
            state=_EveryGuildsLinks,
        ),
        PlantedBug(
            "records-shared-across-mdts",
            "every MDT reads and writes the same record tables",
            state=_SharedTables,
        ),
    )
}
