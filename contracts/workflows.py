"""Business-rule contracts: named, deterministic workflows for the rules of northca-api.md.

Each workflow creates its own records (ids carry the run id), finds them again, and tolerates
records it did not make, so it holds on a server that already holds data and cannot be reset.
Workflows that confirm, deny or unlink are ``destructive`` (opt-in); the expiry workflow also needs
the mock's clock (``POST /__mock/clock``), which a real server does not have.

Rule names are ``<area>.<rule>``; every failure names one.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from contracts.context import CheckContext, StopWorkflow
from contracts.events import Failure

WorkflowFunction = Callable[[CheckContext], None]


@dataclass(frozen=True)
class Workflow:
    """A named business-rule check."""

    name: str
    function: WorkflowFunction
    description: str
    destructive: bool = False
    needs_clock: bool = False

    def skip_reason(self, ctx: CheckContext) -> str | None:
        if self.destructive and not ctx.include_destructive:
            return "changes links (confirm/deny/unlink): opt in with --include-destructive"
        if self.needs_clock and not ctx.clock_control:
            return "needs the mock's clock control (POST /__mock/clock)"
        return None

    def run(self, ctx: CheckContext) -> list[Failure]:
        """Run against ``ctx``; returns the failures (also left in ``ctx.failures``)."""
        try:
            self.function(ctx)
        except StopWorkflow:
            pass
        except Exception as exc:  # a crash of the workflow is reported, never raised
            ctx.fail(
                "workflow.error", "the workflow to run to its end", f"{type(exc).__name__}: {exc}"
            )
        return ctx.failures


WORKFLOWS: dict[str, Workflow] = {}


def workflow(
    name: str, *, destructive: bool = False, needs_clock: bool = False
) -> Callable[[WorkflowFunction], WorkflowFunction]:
    def register(function: WorkflowFunction) -> WorkflowFunction:
        doc = (function.__doc__ or name).strip().splitlines()[0]
        WORKFLOWS[name] = Workflow(name, function, doc, destructive, needs_clock)
        return function

    return register


#: Record kinds: create operation, list operation, documented default ``status``, a string field.
RECORD_KINDS = {
    "calls": ("createCall", "listCalls", "open", "classification"),
    "scene-reports": ("createSceneReport", "listSceneReports", "DRAFT", "title"),
    "shifts": ("createShift", "listShifts", "active", "officer_name"),
    "tickets": ("createTicket", "listTickets", "open", "title"),
}
LIST_OPERATIONS = ("listCalls", "listSceneReports", "listShifts", "listTickets", "listActiveUnits")
LINK_OPERATIONS = ("confirmLinkRequest", "denyLinkRequest", "unlinkMdt")
#: Operations whose body is JSON (invalid JSON must answer 400 `Invalid JSON`).
BODY_OPERATIONS = (
    "createLinkRequest",
    "createCall",
    "updateCall",
    "createSceneReport",
    "createShift",
    "createTicket",
    "upsertActiveUnits",
    "triggerUnitPanic",
)


def _sample_body(ctx: CheckContext, operation_id: str) -> Any:
    """A valid body for ``operation_id`` (its spec example, or the smallest valid one)."""
    if operation_id == "createLinkRequest":
        return {"mdt_id": ctx.auth.mdt}
    if operation_id == "upsertActiveUnits":
        return {"units": []}
    op = ctx.spec.operation(operation_id)
    if op.body_schema_ref is None:
        return None
    body = ctx.spec.spec.resolve(op.raw["requestBody"])
    media = body["content"]["application/json"]
    for example in media.get("examples", {}).values():
        value = ctx.spec.spec.resolve(example).get("value")
        if isinstance(value, dict):
            return dict(value)
    example = ctx.spec.spec.resolve(media["schema"]).get("example")
    return dict(example) if isinstance(example, dict) else {}


def _path_params(ctx: CheckContext) -> dict[str, str]:
    return {"id": ctx.uid("missing"), "callId": ctx.uid("missing"), "unitId": ctx.uid("missing")}


def _operations(ctx: CheckContext) -> Iterator[str]:
    for operation_id in ctx.spec.operations:
        if operation_id in LINK_OPERATIONS and not ctx.include_destructive:
            continue
        yield operation_id


def _ids(items: Any) -> list[Any]:
    return (
        [item.get("id") for item in items if isinstance(item, dict)]
        if isinstance(items, list)
        else []
    )


def _list(ctx: CheckContext, operation_id: str, rule: str, **query: Any) -> list[Any]:
    ex = ctx.call(operation_id, query={"limit": 100, **query})
    data = ctx.require_success(ex, rule)
    ctx.require(isinstance(data, list), rule, ex, "data to be an array")
    return list(data)


def _create(ctx: CheckContext, kind: str, body: dict[str, Any], rule: str) -> dict[str, Any]:
    ex = ctx.call(RECORD_KINDS[kind][0], json_body=body)
    data = ctx.require_success(ex, rule)
    ctx.require(isinstance(data, dict) and bool(data.get("id")), rule, ex, "a record with an id")
    return dict(data)


def _upsert(ctx: CheckContext, units: list[dict[str, Any]], rule: str) -> list[Any]:
    ex = ctx.call("upsertActiveUnits", json_body={"units": units})
    data = ctx.require_success(ex, rule)
    ctx.require(isinstance(data, list), rule, ex, "data to be an array of units")
    return list(data)


def _pause() -> None:
    """Let the clock move, so records written one after the other get distinct timestamps."""
    time.sleep(0.004)


# -- auth and guild link ---------------------------------------------------------------------
@workflow("auth")
def auth_rules(ctx: CheckContext) -> None:
    """Missing or unknown x-partner-key, or no x-discord-guild: 401 `Unauthorized` everywhere."""
    bad_key = f"ct-{ctx.run_id}-not-a-key"
    variants = {
        "auth.missing-key": {"x-discord-guild": ctx.auth.guild},
        "auth.unknown-key": {"x-partner-key": bad_key, "x-discord-guild": ctx.auth.guild},
        "auth.missing-guild": {"x-partner-key": ctx.auth.partner_key},
    }
    for operation_id in _operations(ctx):
        body = _sample_body(ctx, operation_id)
        for rule, headers in variants.items():
            ex = ctx.call(operation_id, path=_path_params(ctx), headers=headers, json_body=body)
            ctx.expect_error(ex, rule, "unauthorized")


@workflow("guild-link")
def guild_link_rules(ctx: CheckContext) -> None:
    """MDT-scoped operations answer 403 `MDT not linked to this guild` in another guild and for an
    unknown MDT; the guild's MDT list includes the linked MDT; a foreign guildId is a 403."""
    other = ctx.other_guild()
    unknown_mdt = f"00000000-0000-4000-8000-{ctx.rng.randrange(16**12):012x}"
    for operation_id in _operations(ctx):
        op = ctx.spec.operation(operation_id)
        if "mdtId" not in op.path_params:
            continue
        body = _sample_body(ctx, operation_id)
        ex = ctx.call(operation_id, path=_path_params(ctx), guild=other, json_body=body)
        ctx.expect_error(ex, "guild-link.other-guild", "mdtNotLinked")
        ex = ctx.call(
            operation_id, path={**_path_params(ctx), "mdtId": unknown_mdt}, json_body=body
        )
        ctx.expect_error(ex, "guild-link.unknown-mdt", "mdtNotLinked")
    ex = ctx.call("listGuildMdts")
    data = ctx.require_success(ex, "mdt-links.list")
    ctx.expect(
        isinstance(data, list)
        and ctx.auth.mdt in [i.get("mdt_id") for i in data if isinstance(i, dict)],
        "mdt-links.list",
        ex,
        f"an array including mdt_id {ctx.auth.mdt}",
    )
    ex = ctx.call("listGuildMdts", path={"guildId": other})
    ctx.expect_error(ex, "mdt-links.guild-mismatch", "guildMismatch")


@workflow("mdt-info")
def mdt_info(ctx: CheckContext) -> None:
    """The linked MDT's info is an object."""
    ex = ctx.call("getMdtInfo")
    ctx.expect(
        ex.status == 200 and isinstance(ex.data, dict), "mdt-info.read", ex, "200 with an object"
    )


# -- link requests ---------------------------------------------------------------------------
def _new_link_request(ctx: CheckContext, rule: str) -> dict[str, Any]:
    ex = ctx.call("createLinkRequest", json_body={"mdt_id": ctx.auth.mdt})
    data = ctx.require_success(ex, rule)
    ctx.require(
        isinstance(data, dict) and bool(data.get("id")), rule, ex, "a link request with an id"
    )
    return dict(data)


@workflow("link-requests.create")
def link_request_create(ctx: CheckContext) -> None:
    """Create answers 201 `pending` in the caller's guild; documented 400s for bad bodies."""
    ex = ctx.call("createLinkRequest", json_body={"mdt_id": ctx.auth.mdt})
    data = ctx.require_success(ex, "link-requests.create")
    expected = {"status": "pending", "mdt_id": ctx.auth.mdt, "guild_id": ctx.auth.guild}
    if ctx.auth.actor:
        expected["requester_discord_id"] = ctx.auth.actor
    wrong = {k: data.get(k) for k, v in expected.items() if data.get(k) != v}
    ctx.expect(not wrong, "link-requests.create", ex, f"fields {expected}", received=f"{wrong}")
    ctx.expect(
        not data.get("decided_at"), "link-requests.create", ex, "decided_at null while pending"
    )
    ctx.expect_error(
        ctx.call("createLinkRequest", json_body={}), "link-requests.missing-mdt-id", "missingField"
    )
    ctx.expect(
        ctx.call("createLinkRequest", json_body={"mdt_id": ""}).status == 400,
        "link-requests.missing-mdt-id",
        None,
        'status 400 for {"mdt_id": ""}',
        received="another status",
        operation="createLinkRequest",
    )
    unknown = f"00000000-0000-4000-8000-{ctx.rng.randrange(16**12):012x}"
    ctx.expect_error(
        ctx.call("createLinkRequest", json_body={"mdt_id": unknown}),
        "link-requests.invalid-mdt-id",
        "invalidMdt",
    )
    ctx.expect_error(
        ctx.call("createLinkRequest", json_body={"mdt_id": ctx.auth.mdt, "ct_extra": 1}),
        "link-requests.unknown-key",
        "invalidBody",
    )


def _owner(ctx: CheckContext, request: dict[str, Any]) -> str | None:
    return ctx.auth.owner or request.get("owner_discord_id")


@workflow("link-requests.lifecycle", destructive=True)
def link_request_lifecycle(ctx: CheckContext) -> None:
    """Owner-only confirm/deny (403), 404 for unknown or foreign requests, approve then
    `already: true`, 409 for deny-after-approve and confirm-after-deny."""
    first = _new_link_request(ctx, "link-requests.create")
    owner = _owner(ctx, first)
    ctx.require(owner is not None, "link-requests.owner", None, "an owner_discord_id (or --owner)")
    stranger = ctx.snowflake(owner, ctx.auth.actor)
    rid = {"id": first["id"]}
    for op in ("confirmLinkRequest", "denyLinkRequest"):
        ctx.expect_error(ctx.call(op, path=rid, actor=stranger), "link.owner-only", "notOwner")
        ctx.expect_error(ctx.call(op, path=rid, actor=False), "link.owner-only", "notOwner")
        ctx.expect_error(
            ctx.call(op, path=rid, actor=owner, guild=ctx.other_guild()),
            "link.other-guild",
            "linkRequestNotFound",
        )
        ctx.expect_error(
            ctx.call(op, path={"id": ctx.uid("no-request")}, actor=owner),
            "link.not-found",
            "linkRequestNotFound",
        )
    ex = ctx.call("confirmLinkRequest", path=rid, actor=owner)
    data = ctx.require_success(ex, "link.confirm")
    ctx.expect(
        data.get("status") == "approved"
        and bool(data.get("decided_at"))
        and not data.get("already"),
        "link.confirm",
        ex,
        "status approved, decided_at set",
    )
    ex = ctx.call("confirmLinkRequest", path=rid, actor=owner)
    ctx.expect(
        ex.status == 200 and isinstance(ex.data, dict) and ex.data.get("already") is True,
        "link.already",
        ex,
        "200 with already: true on a repeated confirm",
    )
    ctx.expect_error(
        ctx.call("denyLinkRequest", path=rid, actor=owner), "link.conflict", "linkRequestApproved"
    )
    second = _new_link_request(ctx, "link-requests.create")
    rid = {"id": second["id"]}
    ex = ctx.call("denyLinkRequest", path=rid, actor=owner)
    data = ctx.require_success(ex, "link.deny")
    ctx.expect(
        data.get("status") == "denied" and bool(data.get("decided_at")),
        "link.deny",
        ex,
        "status denied, decided_at set",
    )
    ex = ctx.call("denyLinkRequest", path=rid, actor=owner)
    ctx.expect(
        ex.status == 200 and isinstance(ex.data, dict) and ex.data.get("already") is True,
        "link.already",
        ex,
        "200 with already: true on a repeated deny",
    )
    ctx.expect_error(
        ctx.call("confirmLinkRequest", path=rid, actor=owner), "link.conflict", "linkRequestDenied"
    )
    ctx.expect_success(ctx.call("getMdtInfo"), "link.still-linked")


@workflow("link-requests.expiry", destructive=True, needs_clock=True)
def link_request_expiry(ctx: CheckContext) -> None:
    """Past its TTL a request answers 410 to confirm and deny, and is marked `expired`."""
    request = _new_link_request(ctx, "link-requests.create")
    owner = _owner(ctx, request)
    ctx.require(owner is not None, "link-requests.owner", None, "an owner_discord_id (or --owner)")
    from mockserver.clock import parse_iso

    try:
        ttl = (parse_iso(request["expires_at"]) - parse_iso(request["created_at"])) / 1000
    except (KeyError, TypeError, ValueError):
        ctx.fail("link.expiry", "created_at and expires_at timestamps", str(request))
        return
    clock = ctx.target.control("/__mock/clock", {"advance_seconds": ttl + 1})
    ctx.require(clock.status == 200, "link.expiry", clock, "the mock clock to advance")
    rid = {"id": request["id"]}
    ctx.expect_error(
        ctx.call("confirmLinkRequest", path=rid, actor=owner), "link.expiry", "linkRequestExpired"
    )
    ctx.expect_error(
        ctx.call("denyLinkRequest", path=rid, actor=owner), "link.expiry", "linkRequestExpired"
    )


# -- records ---------------------------------------------------------------------------------
@workflow("records.create")
def records_create(ctx: CheckContext) -> None:
    """Creates answer 201 with a server id and the documented defaults; client ids are kept and a
    taken one is a 409; unknown keys and wrong types are 400s."""
    for kind, (create_op, _list_op, default_status, text_field) in RECORD_KINDS.items():
        rule = f"records.create.{kind}"
        minimal = _create(ctx, kind, {}, rule)
        ctx.expect(
            minimal.get("status") == default_status,
            f"records.defaults.{kind}",
            None,
            f"status {default_status!r} by default",
            received=f"status {minimal.get('status')!r}",
            operation=create_op,
        )
        if kind == "shifts":
            ctx.expect(
                bool(minimal.get("start_time")),
                "records.defaults.shifts",
                None,
                "start_time defaulting to now",
                received=f"start_time {minimal.get('start_time')!r}",
                operation=create_op,
            )
        sample = _sample_body(ctx, create_op)
        sample.pop("id", None)
        full = _create(ctx, kind, sample, rule)
        echoed = {k: full.get(k) for k, v in sample.items() if full.get(k) != v}
        ctx.expect(
            not echoed,
            rule,
            None,
            f"the sent fields {sample}",
            received=f"{echoed}",
            operation=create_op,
        )
        client_id = ctx.uid(kind)
        ex = ctx.call(create_op, json_body={"id": client_id})
        ctx.expect(
            ctx.expect_success(ex, rule) and ex.data.get("id") == client_id,
            "records.client-id",
            ex,
            f"the client id {client_id!r} kept",
        )
        ctx.expect_error(
            ctx.call(create_op, json_body={"id": client_id}), "records.duplicate-id", "idExists"
        )
        ctx.expect_error(
            ctx.call(create_op, json_body={"ct_unknown": 1}), "records.unknown-key", "invalidBody"
        )
        ctx.expect_error(
            ctx.call(create_op, json_body={text_field: 5}), "records.wrong-type", "invalidBody"
        )


@workflow("body.invalid-json")
def invalid_json(ctx: CheckContext) -> None:
    """An unparseable body answers 400 `Invalid JSON`, never a 5xx."""
    for operation_id in BODY_OPERATIONS:
        ex = ctx.call(
            operation_id,
            path=_path_params(ctx),
            raw=b'{"ct": ',
            content_type="application/json",
        )
        ctx.expect_error(ex, "body.invalid-json", "invalidJson")


#: Create operations: a body sent with a non-JSON content type is a 400 `Invalid JSON`.
CREATE_OPERATIONS = (
    "createLinkRequest",
    "createCall",
    "createSceneReport",
    "createShift",
    "createTicket",
)


@workflow("body.not-json-content-type")
def not_json_content_type(ctx: CheckContext) -> None:
    """A create whose body is valid JSON text sent as `text/plain` answers 400 `Invalid JSON`."""
    import json

    for operation_id in CREATE_OPERATIONS:
        body = json.dumps(_sample_body(ctx, operation_id)).encode()
        ex = ctx.call(operation_id, raw=body, content_type="text/plain")
        ctx.expect_error(ex, "body.not-json-content-type", "invalidJson")


def _seed_records(ctx: CheckContext, list_op: str, count: int) -> list[str]:
    """Write ``count`` fresh records of the list's kind, oldest first; returns their ids."""
    ids: list[str] = []
    for _ in range(count):
        _pause()
        if list_op == "listActiveUnits":
            unit_id = ctx.uid("unit")
            _upsert(ctx, [{"id": unit_id, "status": "10-8"}], "units.upsert")
            ids.append(unit_id)
        else:
            kind = next(k for k, v in RECORD_KINDS.items() if v[1] == list_op)
            ids.append(_create(ctx, kind, {"id": ctx.uid(kind)}, f"records.create.{kind}")["id"])
    _pause()
    return ids


def _stamp(record: Any) -> Any:
    return record.get("updated_at") if isinstance(record, dict) else None


@workflow("lists")
def lists(ctx: CheckContext) -> None:
    """Lists are bare arrays, most recently updated first; `limit` caps them (default 50, 1..100,
    anything else a 400)."""
    from mockserver.clock import parse_iso

    for list_op in LIST_OPERATIONS:
        mine = _seed_records(ctx, list_op, 3)
        page = _list(ctx, list_op, "list.read")
        stamps: list[int | None] = []
        for record in page:
            try:
                stamps.append(parse_iso(str(_stamp(record))))
            except ValueError:
                stamps.append(None)
        known = [s for s in stamps if s is not None]
        ctx.expect(
            known == sorted(known, reverse=True),
            "list.order",
            None,
            "updated_at non-increasing (most recently updated first)",
            received=f"updated_at in order {[_stamp(r) for r in page][:6]}",
            operation=list_op,
        )
        found = [i for i in _ids(page) if i in mine]
        ctx.expect(
            found == list(reversed(mine)),
            "list.order",
            None,
            f"the records written last first: {list(reversed(mine))}",
            received=f"{found}",
            operation=list_op,
        )
        for limit in (1, 2):
            ex = ctx.call(list_op, query={"limit": limit})
            ctx.expect(
                ex.status == 200 and isinstance(ex.data, list) and len(ex.data) == limit,
                "list.limit",
                ex,
                f"exactly {limit} item(s) with limit={limit} (at least 3 exist)",
            )
            if isinstance(ex.data, list) and ex.data:
                ctx.expect(
                    _ids(ex.data)[0] == mine[-1],
                    "list.order",
                    ex,
                    f"the newest record {mine[-1]!r} first",
                )
        ex = ctx.call(list_op)
        ctx.expect(
            ex.status == 200 and isinstance(ex.data, list) and 0 < len(ex.data) <= 50,
            "list.default-limit",
            ex,
            "at most 50 items without limit",
        )
        for bad in ("0", "101", "ten"):
            ctx.expect_error(
                ctx.call(list_op, query={"limit": bad}), "list.invalid-limit", "invalidLimit"
            )


@workflow("shifts.department")
def shifts_department(ctx: CheckContext) -> None:
    """`department` filters shifts by exact, case-sensitive match."""
    wanted = f"CT {ctx.run_id} Patrol"
    other = f"CT {ctx.run_id} patrol"
    kept = _create(ctx, "shifts", {"department": wanted}, "records.create.shifts")["id"]
    dropped = _create(ctx, "shifts", {"department": other}, "records.create.shifts")["id"]
    page = _list(ctx, "listShifts", "shifts.department-filter", department=wanted)
    ctx.expect(
        all(isinstance(s, dict) and s.get("department") == wanted for s in page)
        and kept in _ids(page)
        and dropped not in _ids(page),
        "shifts.department-filter",
        None,
        f"only shifts of department {wanted!r}, including {kept!r}",
        received=f"{[(s.get('id'), s.get('department')) for s in page if isinstance(s, dict)][:5]}",
        operation="listShifts",
    )


@workflow("calls.patch")
def calls_patch(ctx: CheckContext) -> None:
    """PATCH applies only its seven fields and ignores other keys; 404 for an unknown call."""
    call = _create(ctx, "calls", _sample_body(ctx, "createCall"), "records.create.calls")
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
    ex = ctx.call("updateCall", path={"callId": call["id"]}, json_body=patch)
    data = ctx.require_success(ex, "calls.patch")
    kept = ("id", "mdt_code", "created_at", "created_by_discord_id", "classification", "location")
    changed = {k: data.get(k) for k in kept if data.get(k) != call.get(k)}
    ctx.expect(
        data.get("status") == "closed" and data.get("priority") == "high",
        "calls.patch",
        ex,
        "status closed and priority high applied",
    )
    ctx.expect(
        not changed and "ct_unknown" not in data,
        "calls.patch-whitelist",
        ex,
        f"fields outside the whitelist unchanged ({', '.join(kept)}) and unknown keys ignored",
        received=f"changed {changed}",
    )
    ctx.expect_success(
        ctx.call("updateCall", path={"callId": call["id"]}, json_body={}), "calls.patch-empty"
    )
    page = _list(ctx, "listCalls", "list.read")
    ctx.expect(
        bool(page) and _ids(page)[0] == call["id"],
        "list.order",
        None,
        f"the patched call {call['id']!r} first (most recently updated)",
        received=f"{_ids(page)[:3]}",
        operation="listCalls",
    )
    ctx.expect_error(
        ctx.call("updateCall", path={"callId": ctx.uid("no-call")}, json_body={"status": "x"}),
        "calls.not-found",
        "callNotFound",
    )
    ctx.expect_error(
        ctx.call("updateCall", path={"callId": call["id"]}, json_body={"priority": 5}),
        "calls.wrong-type",
        "invalidBody",
    )


# -- active units ----------------------------------------------------------------------------
@workflow("units.upsert")
def units_upsert(ctx: CheckContext) -> None:
    """Bulk upsert merges by id and replaces each unit; the three documented 400 strings."""
    a, b = ctx.uid("ADAM"), ctx.uid("LINCOLN")
    units = [
        {
            "id": a,
            "officer_name": "B. Bubbleton",
            "officer_badge": "512",
            "department": "Patrol",
            "rank": "PO",
            "status": "10-8",
        },
        {
            "id": b,
            "officer_name": "A. Smith",
            "officer_badge": "144",
            "department": "Traffic",
            "rank": "SGT",
            "status": "10-7",
        },
    ]
    data = _upsert(ctx, units, "units.upsert")
    ctx.expect(
        _ids(data) == [a, b]
        and all(d.get(k) == u[k] for d, u in zip(data, units, strict=False) for k in u),
        "units.upsert",
        None,
        f"the upserted units in request order with the sent fields: {[a, b]}",
        received=f"{data}",
        operation="upsertActiveUnits",
    )
    _pause()
    again = _upsert(ctx, [{"id": a, "status": "10-6"}], "units.upsert")
    first = again[0] if again and isinstance(again[0], dict) else {}
    ctx.expect(
        first.get("status") == "10-6" and first.get("officer_name") in ("", None),
        "units.upsert-replaces",
        None,
        "a re-upserted unit replaced: status 10-6, officer_name empty",
        received=f"{first}",
        operation="upsertActiveUnits",
    )
    page = _list(ctx, "listActiveUnits", "list.read")
    ctx.expect(
        {a, b} <= set(_ids(page)),
        "units.upsert",
        None,
        f"units {a!r} and {b!r} listed",
        received=f"{_ids(page)[:5]}",
        operation="listActiveUnits",
    )
    dup = ctx.uid("DAVID")
    ex = ctx.call("upsertActiveUnits", json_body={"units": [{"id": dup}, {"id": dup}]})
    ctx.expect_error(ex, "units.duplicate-id", "duplicateId")
    ctx.expect_error(
        ctx.call("upsertActiveUnits", json_body={"units": [{"id": ""}]}),
        "units.empty-id",
        "missingId",
    )
    ctx.expect_error(
        ctx.call("upsertActiveUnits", json_body={"units": [{"status": "10-8"}]}),
        "units.empty-id",
        "missingId",
    )
    for body in ({}, {"units": "ADAM-12"}):
        ctx.expect_error(
            ctx.call("upsertActiveUnits", json_body=body), "units.expected-units", "expectedUnits"
        )
    ex = ctx.call("upsertActiveUnits", json_body={"units": []})
    ctx.expect(ex.status == 200 and ex.data == [], "units.upsert-empty", ex, "200 with []")


@workflow("units.panic")
def units_panic(ctx: CheckContext) -> None:
    """Panic acknowledges with `panicked`, the unit id and an ISO-8601 `ts`, leaves the unit alone;
    404 for an unknown unit."""
    unit_id = ctx.uid("UNION")
    before = _upsert(ctx, [{"id": unit_id, "status": "10-8"}], "units.upsert")[0]
    _pause()
    for body in ({"address": "67 Mango Place"}, None):
        ex = ctx.call("triggerUnitPanic", path={"unitId": unit_id}, json_body=body)
        data = ctx.require_success(ex, "units.panic")
        ctx.expect(
            data.get("panicked") is True
            and data.get("unit_id") == unit_id
            and bool(data.get("ts")),
            "units.panic",
            ex,
            f'{{"panicked": true, "unit_id": "{unit_id}", "ts": <ISO-8601>}}',
        )
    page = _list(ctx, "listActiveUnits", "list.read")
    after = next((u for u in page if isinstance(u, dict) and u.get("id") == unit_id), {})
    ctx.expect(
        after.get("updated_at") == before.get("updated_at") and after.get("status") == "10-8",
        "units.panic-no-change",
        None,
        "the unit record unchanged by the panic",
        received=f"{after}",
        operation="triggerUnitPanic",
    )
    ctx.expect_error(
        ctx.call("triggerUnitPanic", path={"unitId": ctx.uid("no-unit")}, json_body={}),
        "units.not-found",
        "unitNotFound",
    )
    ctx.expect_error(
        ctx.call("triggerUnitPanic", path={"unitId": unit_id}, json_body={"ct_unknown": 1}),
        "units.panic-unknown-key",
        "invalidBody",
    )


@workflow("units.delete")
def units_delete(ctx: CheckContext) -> None:
    """Delete answers `deleted: true`; the unit is gone (list, delete and panic then 404)."""
    unit_id = ctx.uid("VICTOR")
    _upsert(ctx, [{"id": unit_id}], "units.upsert")
    ex = ctx.call("deleteActiveUnit", path={"unitId": unit_id})
    data = ctx.require_success(ex, "units.delete")
    ctx.expect(
        data.get("deleted") is True and data.get("unit_id") == unit_id,
        "units.delete",
        ex,
        f'{{"deleted": true, "unit_id": "{unit_id}"}}',
    )
    page = _list(ctx, "listActiveUnits", "list.read")
    ctx.expect(
        unit_id not in _ids(page),
        "units.delete",
        None,
        f"{unit_id!r} no longer listed",
        received="still listed",
        operation="listActiveUnits",
    )
    ctx.expect_error(
        ctx.call("deleteActiveUnit", path={"unitId": unit_id}), "units.not-found", "unitNotFound"
    )
    ctx.expect_error(
        ctx.call("triggerUnitPanic", path={"unitId": unit_id}, json_body={}),
        "units.not-found",
        "unitNotFound",
    )


# -- routing ---------------------------------------------------------------------------------
@workflow("routing")
def routing(ctx: CheckContext) -> None:
    """An unknown path is a 404; a known path with an undeclared method is a 405 whose `Allow`
    lists the declared methods."""
    not_found = ctx.spec.route_error("notFound")
    ex = ctx.raw_call("GET", f"/ct-{ctx.run_id}-no-such-path")
    ctx.expect(ex.status == not_found.status, "routing.not-found", ex, f"status {not_found.status}")
    for template, method in (("/mdts/{mdtId}/shifts", "DELETE"), ("/link-requests", "GET")):
        path = template.replace("{mdtId}", ctx.auth.mdt)
        ex = ctx.raw_call(method, path)
        declared = ctx.spec.methods_of(template)
        allow = {m.strip().upper() for m in (ex.header("allow") or "").split(",") if m.strip()}
        ctx.expect(ex.status == 405, "routing.method-not-allowed", ex, "status 405")
        ctx.expect(
            ex.status != 405 or allow == declared,
            "routing.allow-header",
            ex,
            f"Allow: {', '.join(sorted(declared))}",
            received=f"Allow: {ex.header('allow')!r}",
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
    owner = ctx.auth.owner or entry.get("owner_discord_id")
    ctx.require(owner is not None, "mdt-links.owner", None, "an owner_discord_id (or --owner)")
    stranger = ctx.snowflake(owner, ctx.auth.actor)
    ctx.expect_error(ctx.call("unlinkMdt", actor=stranger), "mdt-links.owner-only", "notOwner")
    ctx.expect_success(ctx.call("getMdtInfo"), "mdt-links.owner-only")
    ex = ctx.call("unlinkMdt", actor=owner)
    data = ctx.require_success(ex, "mdt-links.unlink")
    ctx.expect(
        data.get("unlinked") is True and data.get("mdt_id") == ctx.auth.mdt,
        "mdt-links.unlink",
        ex,
        f'{{"unlinked": true, "mdt_id": "{ctx.auth.mdt}"}}',
    )
    try:
        ctx.expect_error(ctx.call("getMdtInfo"), "mdt-links.unlinked-403", "mdtNotLinked")
        ctx.expect_error(ctx.call("listShifts"), "mdt-links.unlinked-403", "mdtNotLinked")
        listed = ctx.call("listGuildMdts").data or []
        ctx.expect(
            ctx.auth.mdt not in [i.get("mdt_id") for i in listed if isinstance(i, dict)],
            "mdt-links.unlink",
            None,
            "the unlinked MDT not listed",
            received="still listed",
            operation="listGuildMdts",
        )
    finally:
        request = _new_link_request(ctx, "mdt-links.relink")
        ex = ctx.call("confirmLinkRequest", path={"id": request["id"]}, actor=owner)
        ctx.expect_success(ex, "mdt-links.relink")
        ctx.expect_success(ctx.call("getMdtInfo"), "mdt-links.relink")
