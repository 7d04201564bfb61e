"""Isolation workflows: what another guild sees, and records that never cross between two MDTs.

``isolation.other-guild`` looks through ``--other-guild`` (default: a generated id with no links).
``isolation.second-mdt`` (destructive) links ``--second-mdt`` to the guild through a link request
that its owner (``--second-owner``, else the request's ``owner_discord_id``) confirms, checks that
records of the two MDTs never cross, and unlinks the second MDT again.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from contracts import rules
from contracts.context import CheckContext
from contracts.readback import PAGE, brief, same_json
from contracts.suite import workflow

UNITS_LIST = "listActiveUnits"


def _mdt_ids(data: Any) -> list[Any]:
    return [e.get("mdt_id") for e in data if isinstance(e, dict)] if isinstance(data, list) else []


def _page(ctx: CheckContext, list_op: str, mdt: str) -> dict[str, Any]:
    """The records ``list_op`` shows for ``mdt``, by id (stops when it cannot be read)."""
    ex = ctx.call(list_op, path={"mdtId": mdt}, query={"limit": PAGE})
    page = ctx.require_list(ex, rules.ISOLATION_MDT, f"the records of MDT {mdt}")
    return {str(r.get("id")): r for r in page if isinstance(r, dict)}


@workflow("isolation.other-guild")
def other_guild(ctx: CheckContext) -> None:
    """Another guild sees none of this guild's MDTs in its own MDT list, gets 403 on the MDT, and
    (destructive runs) cannot confirm or deny this guild's link requests (404)."""
    other = ctx.other_guild()
    mine = _mdt_ids(ctx.require_success(ctx.call("listGuildMdts"), rules.MDT_LINKS_LIST))
    ex = ctx.call("listGuildMdts", path={"guildId": other}, guild=other)
    theirs = _mdt_ids(ex.data)
    ctx.expect(
        ex.status == 200 and isinstance(ex.data, list) and not set(mine) & set(theirs),
        rules.ISOLATION_GUILD_LIST,
        ex,
        f"200 with guild {other}'s MDTs, none of {mine}",
    )
    for operation_id in ("getMdtInfo", UNITS_LIST):
        ctx.expect_error(ctx.call(operation_id, guild=other), rules.GUILD_OTHER, "mdtNotLinked")
    if not ctx.include_destructive:
        return
    ex = ctx.call("createLinkRequest", json_body={"mdt_id": ctx.auth.mdt})
    request = ctx.require_record(ex, rules.LINK_REQUEST_CREATE, "a link request")
    owner = ctx.auth.owner or request.get("owner_discord_id") or ctx.auth.actor
    for operation_id in ("confirmLinkRequest", "denyLinkRequest"):
        ex = ctx.call(operation_id, path={"id": request["id"]}, actor=owner, guild=other)
        ctx.expect_error(ex, rules.LINK_OTHER_GUILD, "linkRequestNotFound")


@workflow("isolation.second-mdt", destructive=True, needs_second_mdt=True)
def second_mdt(ctx: CheckContext) -> None:
    """The second MDT, linked through a link request its owner confirms, never sees or changes
    the first MDT's records (lists, PATCH, delete, panic: 404), and is unlinked again."""
    first, second = ctx.auth.mdt, str(ctx.config.second_mdt)
    linked_before = ctx.call("getMdtInfo", path={"mdtId": second}).status == 200
    owner = ctx.config.second_owner
    if not linked_before:
        ex = ctx.call("createLinkRequest", json_body={"mdt_id": second})
        request = ctx.require_record(ex, rules.LINK_REQUEST_CREATE, "a link request")
        owner = ctx.require_owner(
            owner or request.get("owner_discord_id"), rules.LINK_REQUEST_OWNER
        )
        ex = ctx.call("confirmLinkRequest", path={"id": request["id"]}, actor=owner)
        data = ctx.require_success(ex, rules.LINK_CONFIRM)
        ctx.require(data.get("status") == "approved", rules.LINK_CONFIRM, ex, "status approved")
    try:
        ex = ctx.call("listGuildMdts")
        ctx.expect(
            {first, second} <= set(_mdt_ids(ex.data)),
            rules.MDT_LINKS_LIST,
            ex,
            f"both MDTs {first} and {second} listed for the guild",
        )
        _never_cross(ctx, first, second)
    finally:
        if not linked_before and owner:
            ex = ctx.call("unlinkMdt", path={"mdtId": second}, actor=owner)
            ctx.expect_success(ex, rules.MDT_LINKS_UNLINK)
            ex = ctx.call("getMdtInfo", path={"mdtId": second})
            ctx.expect_error(ex, rules.MDT_LINKS_UNLINKED_403, "mdtNotLinked")


def _never_cross(ctx: CheckContext, first: str, second: str) -> None:
    mine: dict[str, dict[str, str]] = {}  # list -> {mdt: id of the record written there}
    for kind in ctx.spec.record_kinds:
        mine[kind.list] = {}
        for mdt in (first, second):
            ex = ctx.call(kind.create, path={"mdtId": mdt}, json_body={"id": ctx.uid(kind.name)})
            mine[kind.list][mdt] = ctx.require_record(ex, rules.RECORDS_CREATE.of(kind.name))["id"]
    mine[UNITS_LIST] = {}
    for mdt in (first, second):
        unit = {"id": ctx.uid("unit"), "status": "10-8"}
        ex = ctx.call("upsertActiveUnits", path={"mdtId": mdt}, json_body={"units": [unit]})
        ctx.require_success(ex, rules.UNITS_UPSERT)
        mine[UNITS_LIST][mdt] = unit["id"]
    pages = {
        (list_op, mdt): _page(ctx, list_op, mdt) for list_op in mine for mdt in (first, second)
    }
    for (list_op, mdt), page in pages.items():
        other = second if mdt == first else first
        if mine[list_op][mdt] == mine[list_op][other]:  # two records, one id: cannot tell apart
            ctx.expect_on(
                list_op,
                mdt == second,  # reported once per list
                rules.ISOLATION_MDT,
                f"the records created through MDT {first} and MDT {second} to have distinct ids",
                f"both were answered with id {mine[list_op][mdt]!r}",
            )
            continue
        ctx.expect_on(
            list_op,
            mine[list_op][mdt] in page and mine[list_op][other] not in page,
            rules.ISOLATION_MDT,
            f"MDT {mdt} lists its record {mine[list_op][mdt]!r}, not {mine[list_op][other]!r}"
            f" of MDT {other}",
            f"{sorted(page)[:6]}",
        )
    # Writes through the second MDT's path to the first MDT's records: 404, nothing changed.
    theirs = {"mdtId": second}
    call_id, unit_id = mine["listCalls"][first], mine[UNITS_LIST][first]
    ex = ctx.call("updateCall", path={**theirs, "callId": call_id}, json_body={"status": "ct-x"})
    ctx.expect_error(ex, rules.ISOLATION_MDT, "callNotFound")
    for operation_id in ("deleteActiveUnit", "triggerUnitPanic"):
        ex = ctx.call(operation_id, path={**theirs, "unitId": unit_id})
        ctx.expect_error(ex, rules.ISOLATION_MDT, "unitNotFound")
    for list_op in ("listCalls", UNITS_LIST):
        _unchanged(ctx, list_op, first, pages[(list_op, first)])


def _unchanged(ctx: CheckContext, list_op: str, mdt: str, before: Mapping[str, Any]) -> None:
    after = _page(ctx, list_op, mdt)
    changed = [i for i in before if not same_json(before[i], after.get(i))]
    ctx.expect_on(
        list_op,
        not changed,
        rules.ISOLATION_MDT,
        f"MDT {mdt}'s records unchanged by writes through another MDT's path",
        f"changed: {brief({i: after.get(i) for i in changed})}",
    )
