"""Workflows on what a record holds after a write: the round trip and the timestamps.

Both read back through the lists (``limit=100``), never trust the write's answer alone. The
timestamp workflow moves the mock's clock when it can (``POST /__mock/clock``) and then checks
exact values; against any other target it waits a little over a second between two writes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from contracts import rules
from contracts.context import CheckContext
from contracts.readback import PAGE, brief, same_json
from contracts.spec import RecordKind
from contracts.suite import workflow

#: A date-time value a round trip sends (the API's own format: milliseconds, ``Z``).
SENT_TIME = "2026-01-02T03:04:05.678Z"
#: The record field the API fills from ``x-discord-actor``.
AUDIT_FIELD = "created_by_discord_id"
#: How far the timestamp workflow moves the mock's clock.
CLOCK_STEP_SECONDS = 3600
#: Slack on top of the time measured since the clock was moved (the host's wall clock, which the
#: mock's runs on, may be slewed against the monotonic one).
CLOCK_SLACK_MS = 500


def _json_type(prop: Mapping[str, Any]) -> str:
    kind = prop.get("type", "string")
    kinds = kind if isinstance(kind, list) else [kind]
    return next((k for k in kinds if k != "null"), "null")


def sample_value(name: str, prop: Mapping[str, Any], tag: str) -> Any:
    """A value of the property's JSON type (and format), distinct per field."""
    kind = _json_type(prop)
    if kind == "integer":
        return 4242
    if kind == "number":
        return 42.5
    if kind == "boolean":
        return True
    if kind == "array":
        return [f"{tag}-{name}-1", f"{tag}-{name}-2"]
    if kind == "object":
        return {"ct": tag}
    if prop.get("format") == "date-time":
        return SENT_TIME
    return f"{tag} {name}"


def full_body(properties: Mapping[str, Any], tag: str) -> dict[str, Any]:
    """Every declared property but ``id``, each with a value of its type."""
    return {
        name: sample_value(name, prop, tag) for name, prop in properties.items() if name != "id"
    }


def _listed(ctx: CheckContext, list_op: str, record_id: str, rule: rules.Rule) -> dict[str, Any]:
    ex = ctx.call(list_op, query={"limit": PAGE})
    page = ctx.require_list(ex, rule)
    found = next((r for r in page if isinstance(r, dict) and r.get("id") == record_id), None)
    ctx.require(found is not None, rule, ex, f"{record_id!r} listed by {list_op}")
    assert found is not None
    return found


def _mismatches(sent: Mapping[str, Any], stored: Mapping[str, Any]) -> dict[str, Any]:
    return {
        k: {"sent": v, "stored": stored.get(k, "<missing>")}
        for k, v in sent.items()
        if not same_json(v, stored.get(k))
    }


def _check_defaults(
    ctx: CheckContext,
    operation_id: str,
    rule: rules.Rule,
    stored: Mapping[str, Any],
    unsent: Mapping[str, Any],
    defaults: Mapping[str, str],
    empty: tuple[Any, ...] = (None,),
) -> None:
    from mockserver.clock import parse_iso

    wrong: dict[str, Any] = {}
    for name in unsent:
        value = stored.get(name)
        default = defaults.get(name)
        if default == "now":
            try:
                parse_iso(str(value))
            except ValueError:
                wrong[name] = value
        elif default is not None:
            if not same_json(value, default):
                wrong[name] = value
        elif value not in empty:
            wrong[name] = value
    ctx.expect_on(
        operation_id,
        not wrong,
        rule,
        f"fields not sent: the documented defaults {dict(defaults)}, else {list(empty)}",
        f"stored {brief(wrong)}",
    )


def _check_audit(
    ctx: CheckContext, operation_id: str, rule: rules.Rule, stored: Mapping[str, Any], actor: Any
) -> None:
    ctx.expect_on(
        operation_id,
        stored.get(AUDIT_FIELD) == actor,
        rule,
        f"{AUDIT_FIELD} {actor!r} (the x-discord-actor sent{'' if actor else ': none'})",
        f"{AUDIT_FIELD} {stored.get(AUDIT_FIELD)!r}",
    )


@workflow("records.round-trip")
def round_trip(ctx: CheckContext) -> None:
    """A created record, read back through its list, holds exactly the sent values in their JSON
    types, the documented defaults for the rest, and the actor as `created_by_discord_id`."""
    for kind in ctx.spec.record_kinds:

        def create(body: dict[str, Any], actor: bool, kind: RecordKind = kind) -> None:
            ex = ctx.call(kind.create, json_body=body, actor=actor)
            ctx.require_record(ex, rules.RECORDS_CREATE.of(kind.name))

        properties = ctx.spec.body_properties(kind.create)
        rule = rules.RECORDS_ROUND_TRIP.of(kind.name)
        _round_trip_one(
            ctx, rule, kind.name, kind.create, kind.list, properties, create, kind.defaults
        )
    upsert = "upsertActiveUnits"
    list_op = ctx.spec.list_showing(upsert)
    if list_op is None:
        return

    def put(body: dict[str, Any], actor: bool) -> None:
        ex = ctx.call(upsert, json_body={"units": [body]}, actor=actor)
        ctx.require_success(ex, rules.UNITS_UPSERT)

    # ActiveUnit documents that unset values may be stored as "".
    properties = _unit_properties(ctx, upsert)
    rule = rules.RECORDS_ROUND_TRIP.of("units")
    _round_trip_one(ctx, rule, "unit", upsert, list_op, properties, put, {}, empty=(None, ""))


def _round_trip_one(
    ctx: CheckContext,
    rule: rules.Rule,
    name: str,
    write_op: str,
    list_op: str,
    properties: Mapping[str, Any],
    write: Callable[[dict[str, Any], bool], None],
    defaults: Mapping[str, Any],
    empty: tuple[Any, ...] = (None,),
) -> None:
    """One record kind: a full body (with the actor) and a bare one (without) written through
    ``write`` and read back through ``list_op`` (ids ``ctx.uid(name)``)."""
    sent = {"id": ctx.uid(name), **full_body(properties, f"ct-{ctx.run_id}")}
    write(sent, True)
    stored = _listed(ctx, list_op, sent["id"], rule)
    wrong = _mismatches(sent, stored)
    ctx.expect_on(write_op, not wrong, rule, "every sent value stored as sent", brief(wrong))
    _check_audit(ctx, write_op, rule, stored, ctx.auth.actor)
    bare = {"id": ctx.uid(name)}
    write(bare, False)
    stored = _listed(ctx, list_op, bare["id"], rule)
    unsent = {n: p for n, p in properties.items() if n != "id"}
    _check_defaults(ctx, write_op, rule, stored, unsent, defaults, empty=empty)
    _check_audit(ctx, write_op, rule, stored, None)


def _unit_properties(ctx: CheckContext, upsert: str) -> Mapping[str, Any]:
    items = ctx.spec.body_properties(upsert)["units"]["items"]
    properties: Mapping[str, Any] = items.get("properties", {})
    return properties


# -- timestamps ------------------------------------------------------------------------------
def _stamp(record: Mapping[str, Any], name: str) -> int | None:
    from mockserver.clock import parse_iso

    try:
        return parse_iso(str(record.get(name)))
    except ValueError:
        return None


def _move_clock(ctx: CheckContext) -> tuple[int, float] | None:
    """Move the clock between two writes: the mock's by an hour (its new time, and when), or
    wait a little over a second on any other target (None)."""
    from mockserver.clock import parse_iso

    if not ctx.clock_control:
        time.sleep(1.1)
        return None
    since = time.monotonic()  # before the request: the mock reads its clock while answering
    ex = ctx.target.control("POST", "/__mock/clock", {"advance_seconds": CLOCK_STEP_SECONDS})
    ctx.require(
        ex.status == 200 and isinstance(ex.data, dict),
        rules.TIMESTAMPS_UPDATED,
        ex,
        "the mock clock to advance",
    )
    try:
        return parse_iso(str(ex.data.get("now"))), since
    except ValueError:  # moved, but its time unreadable: no exact values
        return None


def _within(stamp: int | None, clock: tuple[int, float] | None) -> bool:
    """Whether ``stamp`` lies between the clock's new time and that time plus the wall time
    since (always true without clock control)."""
    if clock is None:
        return True
    now, since = clock
    elapsed = int((time.monotonic() - since) * 1000)
    return stamp is not None and now <= stamp <= now + elapsed + CLOCK_SLACK_MS


@workflow("timestamps")
def timestamps(ctx: CheckContext) -> None:
    """`created_at` never changes; `updated_at` never goes backwards and, when the clock moved,
    a write stamps the time of the write (exact values against the mock's clock)."""
    kinds = [k for k in ctx.spec.record_kinds if _updater(ctx, k) is not None]
    first: dict[str, dict[str, Any]] = {}
    for kind in kinds:
        created = ctx.call(kind.create, json_body={"id": ctx.uid(kind.name)})
        record = ctx.require_record(created, rules.RECORDS_CREATE.of(kind.name))
        first[kind.name] = _listed(ctx, kind.list, record["id"], rules.TIMESTAMPS_CREATED)
    unit_id = ctx.uid("unit")
    ctx.require_success(
        ctx.call("upsertActiveUnits", json_body={"units": [{"id": unit_id}]}), rules.UNITS_UPSERT
    )
    first["units"] = _listed(ctx, "listActiveUnits", unit_id, rules.TIMESTAMPS_CREATED)
    clock = _move_clock(ctx)
    later: dict[str, tuple[str, dict[str, Any]]] = {}
    for kind in kinds:
        update = _updater(ctx, kind)
        assert update is not None
        operation_id, param = update
        record_id = first[kind.name]["id"]
        ex = ctx.call(
            operation_id, path={param: record_id}, json_body={kind.text_field: "ct changed"}
        )
        ctx.require_success(ex, rules.TIMESTAMPS_UPDATED)
        later[kind.name] = (
            operation_id,
            _listed(ctx, kind.list, record_id, rules.TIMESTAMPS_UPDATED),
        )
    ex = ctx.call("upsertActiveUnits", json_body={"units": [{"id": unit_id, "status": "10-6"}]})
    ctx.require_success(ex, rules.UNITS_UPSERT)
    later["units"] = (
        "upsertActiveUnits",
        _listed(ctx, "listActiveUnits", unit_id, rules.TIMESTAMPS_UPDATED),
    )
    fresh = ctx.call(kinds[0].create, json_body={}) if kinds else None
    for name, (operation_id, record) in later.items():
        before = first[name]
        ctx.expect_on(
            operation_id,
            record.get("created_at") == before.get("created_at"),
            rules.TIMESTAMPS_CREATED,
            f"{name}: created_at {before.get('created_at')!r} kept by a later write",
            f"created_at {record.get('created_at')!r}",
        )
        old, new = _stamp(before, "updated_at"), _stamp(record, "updated_at")
        ctx.expect_on(
            operation_id,
            old is not None and new is not None and new > old and _within(new, clock),
            rules.TIMESTAMPS_UPDATED,
            f"{name}: updated_at after {before.get('updated_at')!r}"
            + (" and equal to the moved clock's time of the write" if clock else ""),
            f"updated_at {record.get('updated_at')!r}",
        )
    if fresh is not None and isinstance(fresh.data, dict):
        created_at = _stamp(fresh.data, "created_at")
        ctx.expect(
            created_at is not None
            and _within(created_at, clock)
            and fresh.data.get("updated_at") == fresh.data.get("created_at"),
            rules.TIMESTAMPS_CREATED,
            fresh,
            "a new record's created_at (= updated_at) is the time of its create"
            + (f" (the clock was moved to {clock[0]} ms)" if clock else ""),
            received=f"created_at {fresh.data.get('created_at')!r} ({created_at} ms),"
            f" updated_at {fresh.data.get('updated_at')!r}",
        )


def _updater(ctx: CheckContext, kind: RecordKind) -> tuple[str, str] | None:
    """The operation that updates one record of ``kind`` in place (a PATCH on its item path),
    with its id parameter."""
    for operation_id, op in ctx.spec.operations.items():
        if op.method == "PATCH" and ctx.spec.list_showing(operation_id) == kind.list:
            return operation_id, op.path_params[-1]
    return None
