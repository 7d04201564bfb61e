"""Business-rule contracts: named, deterministic workflows for the rules of northca-api.md.

Each workflow creates its own records (ids carry the run id), finds them again, and tolerates
records it did not make, so it holds on a server that already holds data and cannot be reset.
Workflows that confirm, deny or unlink are ``destructive`` (opt-in); the expiry workflow also needs
the mock's clock (``POST /__mock/clock``), which a real server does not have.

Every failure names a rule of :mod:`contracts.rules`; the sets of operations a workflow walks
(lists, creates, bodies, owner-only decisions) come from the spec (:mod:`contracts.spec`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from contracts import rules
from contracts.context import CheckContext
from contracts.spec import RecordKind
from contracts.suite import WORKFLOWS as WORKFLOWS
from contracts.suite import Workflow as Workflow
from contracts.suite import workflow

OWNER_ERROR = "notOwner"  # the owner rule's documented 403


def _valid_body(ctx: CheckContext, operation_id: str) -> Any:
    """The smallest valid body of ``operation_id`` (None if it takes none), for the caller."""
    return ctx.spec.minimal_body(operation_id, {"mdt_id": ctx.auth.mdt})


def _example_body(ctx: CheckContext, operation_id: str) -> dict[str, Any]:
    """The documented example body of ``operation_id`` (an empty one if it has none)."""
    return ctx.spec.body_example(operation_id) or {}


def _path_params(ctx: CheckContext) -> dict[str, str]:
    return {"id": ctx.uid("missing"), "callId": ctx.uid("missing"), "unitId": ctx.uid("missing")}


def _operations(ctx: CheckContext) -> Iterator[str]:
    """Every operation, but the owner-only ones (they change links) only when destructive."""
    owner_only = ctx.spec.operations_documenting(OWNER_ERROR)
    for operation_id in ctx.spec.operations:
        if ctx.include_destructive or operation_id not in owner_only:
            yield operation_id


def _ids(items: Any) -> list[Any]:
    return (
        [item.get("id") for item in items if isinstance(item, dict)]
        if isinstance(items, list)
        else []
    )


def _list(ctx: CheckContext, operation_id: str, rule: rules.Rule, **query: Any) -> list[Any]:
    return ctx.require_list(ctx.call(operation_id, query={"limit": 100, **query}), rule)


def _create(ctx: CheckContext, kind: RecordKind, body: dict[str, Any]) -> dict[str, Any]:
    ex = ctx.call(kind.create, json_body=body)
    return ctx.require_record(ex, rules.RECORDS_CREATE.of(kind.name))


def _kind(ctx: CheckContext, name: str) -> RecordKind:
    return next(k for k in ctx.spec.record_kinds if k.name == name)


def _upsert(ctx: CheckContext, units: list[dict[str, Any]]) -> list[Any]:
    ex = ctx.call("upsertActiveUnits", json_body={"units": units})
    return ctx.require_list(ex, rules.UNITS_UPSERT, "an array of units")


def _pause() -> None:
    """Let the clock move, so records written one after the other get distinct timestamps."""
    time.sleep(0.004)


# -- auth and guild link ---------------------------------------------------------------------
@workflow("auth")
def auth_rules(ctx: CheckContext) -> None:
    """Missing or unknown x-partner-key, or no x-discord-guild: 401 `Unauthorized` everywhere."""
    bad_key = f"ct-{ctx.run_id}-not-a-key"
    variants = {
        rules.AUTH_MISSING_KEY: {"x-discord-guild": ctx.auth.guild},
        rules.AUTH_UNKNOWN_KEY: {"x-partner-key": bad_key, "x-discord-guild": ctx.auth.guild},
        rules.AUTH_MISSING_GUILD: {"x-partner-key": ctx.auth.partner_key},
    }
    for operation_id in _operations(ctx):
        body = _valid_body(ctx, operation_id)
        for rule, headers in variants.items():
            ex = ctx.call(operation_id, path=_path_params(ctx), headers=headers, json_body=body)
            ctx.expect_error(ex, rule, "unauthorized")


@workflow("guild-link")
def guild_link_rules(ctx: CheckContext) -> None:
    """MDT-scoped operations answer 403 `MDT not linked to this guild` in another guild and for an
    unknown MDT; the guild's MDT list includes the linked MDT; a foreign guildId is a 403."""
    other = ctx.other_guild()
    unknown_mdt = ctx.unknown_uuid()
    for operation_id in _operations(ctx):
        if "mdtId" not in ctx.spec.operation(operation_id).path_params:
            continue
        body = _valid_body(ctx, operation_id)
        ex = ctx.call(operation_id, path=_path_params(ctx), guild=other, json_body=body)
        ctx.expect_error(ex, rules.GUILD_OTHER, "mdtNotLinked")
        path = {**_path_params(ctx), "mdtId": unknown_mdt}
        ex = ctx.call(operation_id, path=path, json_body=body)
        ctx.expect_error(ex, rules.GUILD_UNKNOWN_MDT, "mdtNotLinked")
    ex = ctx.call("listGuildMdts")
    data = ctx.require_success(ex, rules.MDT_LINKS_LIST)
    ctx.expect(
        isinstance(data, list)
        and ctx.auth.mdt in [i.get("mdt_id") for i in data if isinstance(i, dict)],
        rules.MDT_LINKS_LIST,
        ex,
        f"an array including mdt_id {ctx.auth.mdt}",
    )
    ex = ctx.call("listGuildMdts", path={"guildId": other})
    ctx.expect_error(ex, rules.MDT_LINKS_GUILD_MISMATCH, "guildMismatch")


@workflow("mdt-info")
def mdt_info(ctx: CheckContext) -> None:
    """The linked MDT's info is an object."""
    ex = ctx.call("getMdtInfo")
    ctx.expect(
        ex.status == 200 and isinstance(ex.data, dict),
        rules.MDT_INFO_READ,
        ex,
        "200 with an object",
    )


# -- link requests ---------------------------------------------------------------------------
def _new_link_request(ctx: CheckContext, rule: rules.Rule) -> dict[str, Any]:
    ex = ctx.call("createLinkRequest", json_body={"mdt_id": ctx.auth.mdt})
    return ctx.require_record(ex, rule, "a link request")


@workflow("link-requests.create")
def link_request_create(ctx: CheckContext) -> None:
    """Create answers 201 `pending` in the caller's guild; documented 400s for bad bodies."""
    rule = rules.LINK_REQUEST_CREATE
    ex = ctx.call("createLinkRequest", json_body={"mdt_id": ctx.auth.mdt})
    data = ctx.require_success(ex, rule)
    expected = {"status": "pending", "mdt_id": ctx.auth.mdt, "guild_id": ctx.auth.guild}
    if ctx.auth.actor:
        expected["requester_discord_id"] = ctx.auth.actor
    wrong = {k: data.get(k) for k, v in expected.items() if data.get(k) != v}
    ctx.expect(not wrong, rule, ex, f"fields {expected}", received=f"{wrong}")
    ctx.expect(not data.get("decided_at"), rule, ex, "decided_at null while pending")
    create = "createLinkRequest"
    ctx.expect_errors(create, rules.LINK_REQUEST_MISSING_MDT, "missingField", {})
    ctx.expect_on(
        create,
        ctx.call(create, json_body={"mdt_id": ""}).status == 400,
        rules.LINK_REQUEST_MISSING_MDT,
        'status 400 for {"mdt_id": ""}',
        "another status",
    )
    unknown = {"mdt_id": ctx.unknown_uuid()}
    ctx.expect_errors(create, rules.LINK_REQUEST_INVALID_MDT, "invalidMdt", unknown)
    extra = {"mdt_id": ctx.auth.mdt, "ct_extra": 1}
    ctx.expect_errors(create, rules.LINK_REQUEST_UNKNOWN_KEY, "invalidBody", extra)


def _owner(ctx: CheckContext, request: dict[str, Any]) -> str:
    return ctx.require_owner(
        ctx.auth.owner or request.get("owner_discord_id"), rules.LINK_REQUEST_OWNER
    )


#: Decision -> (its rule, the final status, the error the other decision then gets).
DECISIONS: dict[str, tuple[rules.Rule, str, str]] = {
    "confirmLinkRequest": (rules.LINK_CONFIRM, "approved", "linkRequestApproved"),
    "denyLinkRequest": (rules.LINK_DENY, "denied", "linkRequestDenied"),
}


@workflow("link-requests.lifecycle", destructive=True)
def link_request_lifecycle(ctx: CheckContext) -> None:
    """Owner-only confirm/deny (403), 404 for unknown or foreign requests, approve then
    `already: true`, 409 for deny-after-approve and confirm-after-deny."""
    first = _new_link_request(ctx, rules.LINK_REQUEST_CREATE)
    owner = _owner(ctx, first)
    stranger = ctx.snowflake(owner, ctx.auth.actor)
    rid = {"id": first["id"]}
    for op in DECISIONS:
        for actor in (stranger, False):
            ctx.expect_error(
                ctx.call(op, path=rid, actor=actor), rules.LINK_OWNER_ONLY, OWNER_ERROR
            )
        ex = ctx.call(op, path=rid, actor=owner, guild=ctx.other_guild())
        ctx.expect_error(ex, rules.LINK_OTHER_GUILD, "linkRequestNotFound")
        ex = ctx.call(op, path={"id": ctx.uid("no-request")}, actor=owner)
        ctx.expect_error(ex, rules.LINK_NOT_FOUND, "linkRequestNotFound")
    request: dict[str, Any] | None = first  # each decision on its own pending request
    for op, (rule, final, conflict) in DECISIONS.items():
        other = next(o for o in DECISIONS if o != op)
        request = request or _new_link_request(ctx, rules.LINK_REQUEST_CREATE)
        rid = {"id": request["id"]}
        ex = ctx.call(op, path=rid, actor=owner)
        data = ctx.require_success(ex, rule)
        ctx.expect(
            data.get("status") == final
            and bool(data.get("decided_at"))
            and not data.get("already"),
            rule,
            ex,
            f"status {final}, decided_at set",
        )
        ex = ctx.call(op, path=rid, actor=owner)
        ctx.expect(
            ex.status == 200 and isinstance(ex.data, dict) and ex.data.get("already") is True,
            rules.LINK_ALREADY,
            ex,
            f"200 with already: true on a repeated {rule.name.rsplit('.', 1)[1]}",
        )
        ctx.expect_error(ctx.call(other, path=rid, actor=owner), rules.LINK_CONFLICT, conflict)
        request = None
    ctx.expect_success(ctx.call("getMdtInfo"), rules.LINK_STILL_LINKED)


@workflow("link-requests.expiry", destructive=True, needs_clock=True)
def link_request_expiry(ctx: CheckContext) -> None:
    """Past its TTL a request answers 410 to confirm and deny, and is marked `expired`."""
    request = _new_link_request(ctx, rules.LINK_REQUEST_CREATE)
    owner = _owner(ctx, request)
    from mockserver.clock import parse_iso

    try:
        ttl = (parse_iso(request["expires_at"]) - parse_iso(request["created_at"])) / 1000
    except (KeyError, TypeError, ValueError):
        ctx.fail(rules.LINK_EXPIRY, "created_at and expires_at timestamps", str(request))
        return
    clock = ctx.target.control("POST", "/__mock/clock", {"advance_seconds": ttl + 1})
    ctx.require(clock.status == 200, rules.LINK_EXPIRY, clock, "the mock clock to advance")
    for op in DECISIONS:
        ex = ctx.call(op, path={"id": request["id"]}, actor=owner)
        ctx.expect_error(ex, rules.LINK_EXPIRY, "linkRequestExpired")


# -- records ---------------------------------------------------------------------------------
@workflow("records.create")
def records_create(ctx: CheckContext) -> None:
    """Creates answer 201 with a server id and the documented defaults; client ids are kept and a
    taken one is a 409; unknown keys and wrong types are 400s."""
    for kind in ctx.spec.record_kinds:
        rule = rules.RECORDS_CREATE.of(kind.name)
        minimal = _create(ctx, kind, {})
        for name, default in kind.defaults.items():
            value = minimal.get(name)
            ctx.expect_on(
                kind.create,
                bool(value) if default == "now" else value == default,
                rules.RECORDS_DEFAULTS.of(kind.name),
                f"{name} defaulting to now"
                if default == "now"
                else f"{name} {default!r} by default",
                f"{name} {value!r}",
            )
        sample = _example_body(ctx, kind.create)
        sample.pop("id", None)
        full = _create(ctx, kind, sample)
        echoed = {k: full.get(k) for k, v in sample.items() if full.get(k) != v}
        ctx.expect_on(kind.create, not echoed, rule, f"the sent fields {sample}", f"{echoed}")
        client_id = ctx.uid(kind.name)
        ex = ctx.call(kind.create, json_body={"id": client_id})
        ctx.expect(
            ctx.expect_success(ex, rule) and ex.data.get("id") == client_id,
            rules.RECORDS_CLIENT_ID,
            ex,
            f"the client id {client_id!r} kept",
        )
        ctx.expect_errors(kind.create, rules.RECORDS_DUPLICATE_ID, "idExists", {"id": client_id})
        ctx.expect_errors(kind.create, rules.RECORDS_UNKNOWN_KEY, "invalidBody", {"ct_unknown": 1})
        ctx.expect_errors(
            kind.create, rules.RECORDS_WRONG_TYPE, "invalidBody", {kind.text_field: 5}
        )


@workflow("body.invalid-json")
def invalid_json(ctx: CheckContext) -> None:
    """An unparseable body answers 400 `Invalid JSON`, never a 5xx."""
    for operation_id in ctx.spec.body_operations:
        ex = ctx.call(
            operation_id, path=_path_params(ctx), raw=b'{"ct": ', content_type="application/json"
        )
        ctx.expect_error(ex, rules.BODY_INVALID_JSON, "invalidJson")


@workflow("body.not-json-content-type")
def not_json_content_type(ctx: CheckContext) -> None:
    """A create whose body is valid JSON text sent as `text/plain` answers 400 `Invalid JSON`."""
    import json

    for operation_id in ctx.spec.create_operations:
        body = json.dumps(_valid_body(ctx, operation_id)).encode()
        ex = ctx.call(operation_id, raw=body, content_type="text/plain")
        ctx.expect_error(ex, rules.BODY_NOT_JSON, "invalidJson")


def _seed_records(ctx: CheckContext, list_op: str, count: int) -> list[str]:
    """Write ``count`` fresh records of the list's kind, oldest first; returns their ids."""
    kind = next((k for k in ctx.spec.record_kinds if k.list == list_op), None)
    ids: list[str] = []
    for _ in range(count):
        _pause()
        if kind is None:  # the active units: upserted, not created
            unit_id = ctx.uid("unit")
            _upsert(ctx, [{"id": unit_id, "status": "10-8"}])
            ids.append(unit_id)
        else:
            ids.append(_create(ctx, kind, {"id": ctx.uid(kind.name)})["id"])
    _pause()
    return ids


def _stamp(record: Any) -> Any:
    return record.get("updated_at") if isinstance(record, dict) else None


@workflow("lists")
def lists(ctx: CheckContext) -> None:
    """Lists are bare arrays, most recently updated first; `limit` caps them (default 50, 1..100,
    anything else a 400)."""
    from mockserver.clock import parse_iso

    for list_op in ctx.spec.list_operations:
        mine = _seed_records(ctx, list_op, 3)
        page = _list(ctx, list_op, rules.LIST_READ)
        stamps: list[int | None] = []
        for record in page:
            try:
                stamps.append(parse_iso(str(_stamp(record))))
            except ValueError:
                stamps.append(None)
        known = [s for s in stamps if s is not None]
        ctx.expect_on(
            list_op,
            known == sorted(known, reverse=True),
            rules.LIST_ORDER,
            "updated_at non-increasing (most recently updated first)",
            f"updated_at in order {[_stamp(r) for r in page][:6]}",
        )
        found = [i for i in _ids(page) if i in mine]
        newest_first = list(reversed(mine))
        ctx.expect_on(
            list_op,
            found == newest_first,
            rules.LIST_ORDER,
            f"the records written last first: {newest_first}",
            f"{found}",
        )
        for limit in (1, 2):
            ex = ctx.call(list_op, query={"limit": limit})
            wanted = min(limit, len(page))  # from what limit=100 listed, not assumed
            ctx.expect(
                ex.status == 200 and isinstance(ex.data, list) and len(ex.data) == wanted,
                rules.LIST_LIMIT,
                ex,
                f"exactly {wanted} item(s) with limit={limit} (limit=100 listed {len(page)})",
            )
            if isinstance(ex.data, list) and ex.data:
                first = _ids(ex.data)[0]
                ctx.expect(
                    first == mine[-1], rules.LIST_ORDER, ex, f"the newest record {mine[-1]!r} first"
                )
        ex = ctx.call(list_op)
        ctx.expect(
            ex.status == 200 and isinstance(ex.data, list) and 0 < len(ex.data) <= 50,
            rules.LIST_DEFAULT_LIMIT,
            ex,
            "at most 50 items without limit",
        )
        for bad in ("0", "101", "ten"):
            ex = ctx.call(list_op, query={"limit": bad})
            ctx.expect_error(ex, rules.LIST_INVALID_LIMIT, "invalidLimit")


@workflow("shifts.department")
def shifts_department(ctx: CheckContext) -> None:
    """`department` filters shifts by exact, case-sensitive match."""
    shifts = _kind(ctx, "shifts")
    wanted = f"CT {ctx.run_id} Patrol"
    kept = _create(ctx, shifts, {"department": wanted})["id"]
    dropped = _create(ctx, shifts, {"department": f"CT {ctx.run_id} patrol"})["id"]
    page = _list(ctx, shifts.list, rules.SHIFTS_DEPARTMENT, department=wanted)
    ctx.expect_on(
        shifts.list,
        all(isinstance(s, dict) and s.get("department") == wanted for s in page)
        and kept in _ids(page)
        and dropped not in _ids(page),
        rules.SHIFTS_DEPARTMENT,
        f"only shifts of department {wanted!r}, including {kept!r}",
        f"{[(s.get('id'), s.get('department')) for s in page if isinstance(s, dict)][:5]}",
    )


@workflow("calls.patch")
def calls_patch(ctx: CheckContext) -> None:
    """PATCH applies only its seven fields and ignores other keys; 404 for an unknown call."""
    calls = _kind(ctx, "calls")
    call = _create(ctx, calls, _example_body(ctx, calls.create))
    _pause()
    patch = {
        "status": "closed",
        "priority": "high",
        "id": ctx.uid("hijack"),
        "mdt_code": "ct-other",
        "created_at": "2000-01-01T00:00:00.000Z",
        "created_by_discord_id": "1",
        "ct_unknown": "ignored",
    }
    path = {"callId": call["id"]}
    ex = ctx.call("updateCall", path=path, json_body=patch)
    data = ctx.require_success(ex, rules.CALLS_PATCH)
    kept = ("id", "mdt_code", "created_at", "created_by_discord_id", "classification", "location")
    changed = {k: data.get(k) for k in kept if data.get(k) != call.get(k)}
    ctx.expect(
        data.get("status") == "closed" and data.get("priority") == "high",
        rules.CALLS_PATCH,
        ex,
        "status closed and priority high applied",
    )
    ctx.expect(
        not changed and "ct_unknown" not in data,
        rules.CALLS_PATCH_WHITELIST,
        ex,
        f"fields outside the whitelist unchanged ({', '.join(kept)}) and unknown keys ignored",
        received=f"changed {changed}",
    )
    ctx.expect_success(ctx.call("updateCall", path=path, json_body={}), rules.CALLS_PATCH_EMPTY)
    page = _list(ctx, calls.list, rules.LIST_READ)
    ctx.expect_on(
        calls.list,
        bool(page) and _ids(page)[0] == call["id"],
        rules.LIST_ORDER,
        f"the patched call {call['id']!r} first (most recently updated)",
        f"{_ids(page)[:3]}",
    )
    unknown = {"callId": ctx.uid("no-call")}
    ctx.expect_errors(
        "updateCall", rules.CALLS_NOT_FOUND, "callNotFound", {"status": "x"}, path=unknown
    )
    ctx.expect_errors(
        "updateCall", rules.CALLS_WRONG_TYPE, "invalidBody", {"priority": 5}, path=path
    )


# -- active units ----------------------------------------------------------------------------
@workflow("units.upsert")
def units_upsert(ctx: CheckContext) -> None:
    """Bulk upsert merges by id and replaces each unit; the three documented 400 strings."""
    a, b = ctx.uid("ADAM"), ctx.uid("LINCOLN")
    example = ctx.spec.body_example("upsertActiveUnits") or {}
    units = [{**unit, "id": uid} for unit, uid in zip(example["units"], (a, b), strict=True)]
    data = _upsert(ctx, units)
    ctx.expect_on(
        "upsertActiveUnits",
        _ids(data) == [a, b]
        and all(d.get(k) == u[k] for d, u in zip(data, units, strict=False) for k in u),
        rules.UNITS_UPSERT,
        f"the upserted units in request order with the sent fields: {[a, b]}",
        f"{data}",
    )
    _pause()
    again = _upsert(ctx, [{"id": a, "status": "10-6"}])
    first = again[0] if again and isinstance(again[0], dict) else {}
    ctx.expect_on(
        "upsertActiveUnits",
        first.get("status") == "10-6" and first.get("officer_name") in ("", None),
        rules.UNITS_UPSERT_REPLACES,
        "a re-upserted unit replaced: status 10-6, officer_name empty",
        f"{first}",
    )
    page = _list(ctx, "listActiveUnits", rules.LIST_READ)
    ctx.expect_on(
        "listActiveUnits",
        {a, b} <= set(_ids(page)),
        rules.UNITS_UPSERT,
        f"units {a!r} and {b!r} listed",
        f"{_ids(page)[:5]}",
    )
    dup, fresh = ctx.uid("DAVID"), ctx.uid("EDWARD")
    upsert = "upsertActiveUnits"
    # Each rejected batch starts with a valid new unit: the read-back proves none is kept.
    twice = {"units": [{"id": fresh}, {"id": dup}, {"id": dup}]}
    ctx.expect_errors(upsert, rules.UNITS_DUPLICATE_ID, "duplicateId", twice)
    no_ids = ({"units": [{"id": fresh}, {"id": ""}]}, {"units": [{"status": "10-8"}]})
    ctx.expect_errors(upsert, rules.UNITS_EMPTY_ID, "missingId", *no_ids)
    ctx.expect_errors(upsert, rules.UNITS_EXPECTED_UNITS, "expectedUnits", {}, {"units": "ADAM-12"})
    ex = ctx.call("upsertActiveUnits", json_body={"units": []})
    ctx.expect(ex.status == 200 and ex.data == [], rules.UNITS_UPSERT_EMPTY, ex, "200 with []")


@workflow("units.panic")
def units_panic(ctx: CheckContext) -> None:
    """Panic acknowledges with `panicked`, the unit id and an ISO-8601 `ts`, leaves the unit alone;
    404 for an unknown unit."""
    unit_id = ctx.uid("UNION")
    before = _upsert(ctx, [{"id": unit_id, "status": "10-8"}])[0]
    _pause()
    path = {"unitId": unit_id}
    for body in (_example_body(ctx, "triggerUnitPanic"), None):
        ex = ctx.call("triggerUnitPanic", path=path, json_body=body)
        data = ctx.require_success(ex, rules.UNITS_PANIC)
        ctx.expect(
            data.get("panicked") is True
            and data.get("unit_id") == unit_id
            and bool(data.get("ts")),
            rules.UNITS_PANIC,
            ex,
            f'{{"panicked": true, "unit_id": "{unit_id}", "ts": <ISO-8601>}}',
        )
    page = _list(ctx, "listActiveUnits", rules.LIST_READ)
    after = next((u for u in page if isinstance(u, dict) and u.get("id") == unit_id), None)
    ctx.expect_on(
        "triggerUnitPanic",
        after is not None
        and after.get("updated_at") == before.get("updated_at")
        and after.get("status") == "10-8",
        rules.UNITS_PANIC_NO_CHANGE,
        f"the unit {unit_id!r} listed unchanged after the panic",
        f"{after}" if after is not None else "not listed by listActiveUnits",
    )
    unknown = {"unitId": ctx.uid("no-unit")}
    ctx.expect_errors("triggerUnitPanic", rules.UNITS_NOT_FOUND, "unitNotFound", {}, path=unknown)
    extra = {"ct_unknown": 1}
    ctx.expect_errors(
        "triggerUnitPanic", rules.UNITS_PANIC_UNKNOWN_KEY, "invalidBody", extra, path=path
    )


@workflow("units.delete")
def units_delete(ctx: CheckContext) -> None:
    """Delete answers `deleted: true`; the unit is gone (list, delete and panic then 404)."""
    unit_id = ctx.uid("VICTOR")
    path = {"unitId": unit_id}
    _upsert(ctx, [{"id": unit_id}])
    ex = ctx.call("deleteActiveUnit", path=path)
    data = ctx.require_success(ex, rules.UNITS_DELETE)
    ctx.expect(
        data.get("deleted") is True and data.get("unit_id") == unit_id,
        rules.UNITS_DELETE,
        ex,
        f'{{"deleted": true, "unit_id": "{unit_id}"}}',
    )
    page = _list(ctx, "listActiveUnits", rules.LIST_READ)
    ctx.expect_on(
        "listActiveUnits",
        unit_id not in _ids(page),
        rules.UNITS_DELETE,
        f"{unit_id!r} no longer listed",
        "still listed",
    )
    ex = ctx.call("deleteActiveUnit", path=path)
    ctx.expect_error(ex, rules.UNITS_NOT_FOUND, "unitNotFound")
    ctx.expect_errors("triggerUnitPanic", rules.UNITS_NOT_FOUND, "unitNotFound", {}, path=path)


# -- routing ---------------------------------------------------------------------------------
@workflow("routing")
def routing(ctx: CheckContext) -> None:
    """An unknown path is a 404; a known path with an undeclared method is a 405 whose `Allow`
    lists the declared methods."""
    not_found = ctx.spec.route_error("notFound")
    ex = ctx.raw_call("GET", f"/ct-{ctx.run_id}-no-such-path")
    ctx.expect(
        ex.status == not_found.status, rules.ROUTING_NOT_FOUND, ex, f"status {not_found.status}"
    )
    for template, method in (("/mdts/{mdtId}/shifts", "DELETE"), ("/link-requests", "GET")):
        path = template.replace("{mdtId}", ctx.auth.mdt)
        ex = ctx.raw_call(method, path)
        declared = ctx.spec.methods_of(template)
        allow = {m.strip().upper() for m in (ex.header("allow") or "").split(",") if m.strip()}
        ctx.expect(ex.status == 405, rules.ROUTING_METHOD_NOT_ALLOWED, ex, "status 405")
        ctx.expect(
            ex.status != 405 or allow == declared,
            rules.ROUTING_ALLOW_HEADER,
            ex,
            f"Allow: {', '.join(sorted(declared))}",
            received=f"Allow: {sent}" if (sent := ex.header("allow")) else "no Allow header",
        )


# -- unlink (last: it takes the link away, then restores it) ---------------------------------
@workflow("mdt-links.unlink", destructive=True)
def unlink(ctx: CheckContext) -> None:
    """Only the owner may unlink; afterwards the MDT answers 403 and is not listed; a new link
    request confirmed by the owner restores the link."""
    links = ctx.call("listGuildMdts").data
    entry = next(
        (i for i in links or [] if isinstance(i, dict) and i.get("mdt_id") == ctx.auth.mdt), {}
    )
    owner = ctx.require_owner(
        ctx.auth.owner or entry.get("owner_discord_id"), rules.MDT_LINKS_OWNER
    )
    stranger = ctx.snowflake(owner, ctx.auth.actor)
    ex = ctx.call("unlinkMdt", actor=stranger)
    ctx.expect_error(ex, rules.MDT_LINKS_OWNER_ONLY, OWNER_ERROR)
    ctx.expect_success(ctx.call("getMdtInfo"), rules.MDT_LINKS_OWNER_ONLY)
    ex = ctx.call("unlinkMdt", actor=owner)
    data = ctx.require_success(ex, rules.MDT_LINKS_UNLINK)
    ctx.expect(
        data.get("unlinked") is True and data.get("mdt_id") == ctx.auth.mdt,
        rules.MDT_LINKS_UNLINK,
        ex,
        f'{{"unlinked": true, "mdt_id": "{ctx.auth.mdt}"}}',
    )
    try:
        for operation_id in ("getMdtInfo", "listShifts"):
            ex = ctx.call(operation_id)
            ctx.expect_error(ex, rules.MDT_LINKS_UNLINKED_403, "mdtNotLinked")
        listed = ctx.call("listGuildMdts").data or []
        ctx.expect_on(
            "listGuildMdts",
            ctx.auth.mdt not in [i.get("mdt_id") for i in listed if isinstance(i, dict)],
            rules.MDT_LINKS_UNLINK,
            "the unlinked MDT not listed",
            "still listed",
        )
    finally:
        request = _new_link_request(ctx, rules.MDT_LINKS_RELINK)
        ex = ctx.call("confirmLinkRequest", path={"id": request["id"]}, actor=owner)
        ctx.expect_success(ex, rules.MDT_LINKS_RELINK)
        ctx.expect_success(ctx.call("getMdtInfo"), rules.MDT_LINKS_RELINK)


# -- the state after writes, and isolation (their own modules; they register on import) -------
from contracts import workflows_isolation as workflows_isolation  # noqa: E402
from contracts import workflows_records as workflows_records  # noqa: E402
