"""Read back after every write: the reads must show exactly the write's change, and nothing else.

:meth:`contracts.context.CheckContext.call` sends every write (any non-GET operation) through
:meth:`Readback.around`: it reads the *views* the write can change before and after it, through
the API only, so it works against any target:

- a record write (the spec's list whose path prefixes the write's path, for the MDT in the path):
  the list with ``limit=100``;
- a link write (link requests, unlink): the guild's MDT list and the 403 rule (``getMdtInfo``) of
  every MDT the run knows.

A rejected write (any 4xx/5xx) must leave every view as it was (``readback.rejected-write``). A
successful one must show exactly its change (``readback.write``): the written records first in
their list, equal in value and JSON type to the answer; a deleted one gone; an approved link
listed and answering, an unlinked MDT gone and answering 403; everything else unchanged. Along
the way ``created_at`` must stay and ``updated_at`` must not go backwards
(``timestamps.created-at``, ``timestamps.updated-at``).

The "before" read of a view is the "after" read of the previous write when nothing was written in
between, so a run of writes costs one extra read each.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from contracts import rules
from contracts.target import Exchange

if TYPE_CHECKING:
    from contracts.context import CheckContext

#: The page size a view reads (the spec's maximum ``limit``).
PAGE = 100


def same_json(a: Any, b: Any) -> bool:
    """Equal as JSON documents, types included (``1`` is not ``1.0``, ``True`` or ``"1"``)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def brief(value: Any, limit: int = 300) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= limit else text[:limit] + "..."


@dataclass(frozen=True)
class View:
    """One read that shows writes: a record list of one MDT, or the guild's links."""

    operation_id: str  # the list operation, or "listGuildMdts"
    mdt: str | None = None  # the MDT whose records are listed
    mdts: tuple[str, ...] = ()  # for the links view: the MDTs whose 403 rule is read


@dataclass(frozen=True)
class Reading:
    status: int
    data: Any  # records list: list of records; links: (entries by mdt_id, {mdt: status})


class Readback:
    """The read-back of one check context (one workflow or state machine)."""

    def __init__(self, ctx: CheckContext) -> None:
        self.ctx = ctx
        self.cache: dict[View, Reading] = {}

    # -- views -------------------------------------------------------------------------------
    def views(self, operation_id: str, path: Mapping[str, str], body: Any) -> list[View]:
        list_op = self.ctx.spec.list_showing(operation_id)
        if list_op is not None:
            return [View(list_op, mdt=path.get("mdtId", self.ctx.auth.mdt))]
        config = self.ctx.config
        mdts = {self.ctx.auth.mdt, path.get("mdtId", self.ctx.auth.mdt)}
        if config.second_mdt:
            mdts.add(config.second_mdt)
        if isinstance(body, dict) and isinstance(body.get("mdt_id"), str) and body["mdt_id"]:
            mdts.add(body["mdt_id"])
        return [View("listGuildMdts", mdts=tuple(sorted(mdts)))]

    def read(self, view: View) -> Reading:
        ctx = self.ctx
        if view.mdt is not None:
            ex = ctx.call(view.operation_id, path={"mdtId": view.mdt}, query={"limit": PAGE})
            return Reading(ex.status, ex.data if isinstance(ex.data, list) else ex.json)
        ex = ctx.call("listGuildMdts")
        entries: dict[str, Any] = {}
        if isinstance(ex.data, list):
            for entry in ex.data:
                key = entry.get("mdt_id") if isinstance(entry, dict) else None
                entries[str(key)] = entry
        statuses = {mdt: ctx.call("getMdtInfo", path={"mdtId": mdt}).status for mdt in view.mdts}
        return Reading(ex.status, (entries, statuses))

    # -- the write ---------------------------------------------------------------------------
    def around(
        self,
        operation_id: str,
        path: Mapping[str, str],
        body: Any,
        send: Callable[[], Exchange],
    ) -> Exchange:
        """Send the write between two reads of each view it can change, and check the change."""
        views = self.views(operation_id, path, body)
        before = {view: self.cache.get(view) or self.read(view) for view in views}
        ex = send()
        ex.operation_id = operation_id
        self.cache.clear()
        after = {view: self.read(view) for view in views}
        self.cache.update(after)
        for view in views:
            if ex.status >= 400:
                self.unchanged(ex, view, before[view], after[view])
            elif view.mdt is not None:
                self.records_changed(
                    ex, self.removed(operation_id, path), before[view], after[view]
                )
            else:
                self.links_changed(ex, before[view], after[view])
        return ex

    def unchanged(self, ex: Exchange, view: View, before: Reading, after: Reading) -> None:
        self.ctx.expect(
            before.status == after.status and same_json(before.data, after.data),
            rules.READBACK_REJECTED,
            ex,
            f"{view.operation_id} unchanged by a rejected write",
            received=f"{ex.status}, then {view.operation_id} changed:"
            f" {brief(_difference(before.data, after.data))}",
        )

    # -- records -----------------------------------------------------------------------------
    def removed(self, operation_id: str, path: Mapping[str, str]) -> set[str]:
        """The record a DELETE names: the last parameter of its path."""
        op = self.ctx.spec.operation(operation_id)
        if op.method != "DELETE" or not op.path_params:
            return set()
        name = op.path.rsplit("{", 1)[1].rstrip("}/")
        return {path[name]} if name in path else set()

    def records_changed(
        self, ex: Exchange, removed: set[str], before: Reading, after: Reading
    ) -> None:
        ctx = self.ctx
        if before.status != 200 or not isinstance(before.data, list):
            return  # nothing to compare with
        if not ctx.expect(
            after.status == 200 and isinstance(after.data, list),
            rules.READBACK_WRITE,
            ex,
            "the list readable after a successful write",
            received=f"{after.status} {brief(after.data)}",
        ):
            return
        written = _written(ex)
        touched = set(written) | removed
        old = {_id(r): r for r in before.data}
        now = after.data
        front = [r for r in now[: len(written)] if _id(r) in written]
        rest_before = [r for r in before.data if _id(r) not in touched]
        rest_after = [r for r in now if _id(r) not in touched]
        expected_rest = rest_before[: PAGE - len(front)]
        if len(before.data) >= PAGE:  # a full page: older records may slide in or out at its end
            shown = min(len(rest_after), len(expected_rest))
            kept = len(rest_after) >= len(expected_rest) - len(removed)
            expected_rest, rest_after = expected_rest[:shown], rest_after[:shown]
        else:
            kept = True
        ctx.expect(
            len(front) == len(written)
            and not any(_id(r) in removed for r in now)
            and kept
            and same_json(rest_after, expected_rest),
            rules.READBACK_WRITE,
            ex,
            f"the list to show exactly the write: {sorted(written)} first"
            + (f", {sorted(removed)} gone" if removed else "")
            + ", every other record unchanged and in order",
            received=f"{brief([_id(r) for r in now[:8]])}; other records changed:"
            f" {brief(_difference(expected_rest, rest_after))}",
        )
        for record in front:
            record_id = str(_id(record))
            ctx.expect(
                same_json(record, written[record_id]),
                rules.READBACK_WRITE,
                ex,
                f"the listed record {record_id!r} equal to the answer (values and JSON types)",
                received=f"listed {brief(_difference(written[record_id], record))}",
            )
            previous = old.get(record_id)
            if isinstance(previous, dict) and isinstance(record, dict):
                self.timestamps(ex, previous, record)

    def timestamps(self, ex: Exchange, previous: dict[str, Any], record: dict[str, Any]) -> None:
        from mockserver.clock import parse_iso

        ctx = self.ctx
        if "created_at" in previous:
            ctx.expect(
                record.get("created_at") == previous["created_at"],
                rules.TIMESTAMPS_CREATED,
                ex,
                f"created_at {previous['created_at']!r} kept by a write",
                received=f"created_at {record.get('created_at')!r}",
            )
        try:
            went_back = parse_iso(str(record["updated_at"])) < parse_iso(
                str(previous["updated_at"])
            )
        except (KeyError, ValueError):
            return  # format.date-time reports it
        ctx.expect(
            not went_back,
            rules.TIMESTAMPS_UPDATED,
            ex,
            f"updated_at not before {previous['updated_at']!r}",
            received=f"updated_at {record.get('updated_at')!r}",
        )

    # -- links -------------------------------------------------------------------------------
    def links_changed(self, ex: Exchange, before: Reading, after: Reading) -> None:
        data = ex.data if isinstance(ex.data, dict) else {}
        entries, statuses = before.data
        expected_entries = dict(entries)
        expected_statuses = dict(statuses)
        mdt = str(data.get("mdt_id"))
        changed = None
        if data.get("unlinked") is True:
            expected_entries.pop(mdt, None)
            changed, expected_status = mdt, 403
        elif data.get("status") == "approved" and not data.get("already"):
            changed, expected_status = mdt, 200
        if changed is not None and changed in expected_statuses:
            expected_statuses[changed] = expected_status
        now_entries, now_statuses = after.data
        if changed is not None and data.get("unlinked") is not True:
            linked = changed in now_entries
            now_entries = {k: v for k, v in now_entries.items() if k != changed}
            expected_entries.pop(changed, None)
        else:
            linked = True
        self.ctx.expect(
            after.status == before.status
            and linked
            and same_json(now_entries, expected_entries)
            and now_statuses == expected_statuses,
            rules.READBACK_WRITE,
            ex,
            "the guild's MDT list and the 403 rule to show exactly the write"
            + (
                f" (MDT {changed} {'unlinked' if data.get('unlinked') else 'linked'})"
                if changed
                else " (no link changed)"
            ),
            received=f"listed {sorted(after.data[0])}, getMdtInfo {now_statuses}"
            f" (before: {sorted(entries)}, {statuses})",
        )


def _id(record: Any) -> str | None:
    return str(record.get("id")) if isinstance(record, dict) and "id" in record else None


def _written(ex: Exchange) -> dict[str, Any]:
    """The records a successful write answered, by id."""
    data = ex.data
    items = data if isinstance(data, list) else [data]
    return {str(r["id"]): r for r in items if isinstance(r, dict) and r.get("id")}


def _difference(expected: Any, received: Any) -> Any:
    """What differs between two readings, briefly."""
    if isinstance(expected, dict) and isinstance(received, dict):
        keys = set(expected) | set(received)
        return {
            k: [expected.get(k), received.get(k)]
            for k in sorted(keys, key=str)
            if not same_json(expected.get(k), received.get(k))
        }
    if isinstance(expected, list) and isinstance(received, list):
        ids_e, ids_r = [_id(r) for r in expected], [_id(r) for r in received]
        if ids_e != ids_r:
            return {"ids before": ids_e[:6], "ids after": ids_r[:6]}
        return [
            _difference(e, r)
            for e, r in zip(expected, received, strict=False)
            if not same_json(e, r)
        ][:2]
    return [expected, received]
