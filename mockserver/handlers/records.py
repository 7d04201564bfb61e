"""Create, list and patch rules shared by the record types (calls, reports, shifts, tickets)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from mockserver.errors import ApiError
from mockserver.handlers.registry import Call, handles
from mockserver.store import RawJson, Record


def create_record(call: Call, kind: str, defaults: Mapping[str, Callable[[Call], Any]]) -> RawJson:
    """Store a new record from the body: every schema field present (null when not given),
    server id unless the client sent one (409 ``idExists`` when taken), audit fields and
    timestamps from the request, then ``defaults`` for fields left null."""
    table = call.table(kind)
    body: Mapping[str, Any] = call.body
    record_id = body.get("id")
    if record_id and record_id in table:
        raise ApiError("idExists", f"id: {record_id!r} is taken in this MDT")
    while not record_id or record_id in table:
        record_id = call.state.ids.new()
    record: Record = dict.fromkeys(call.state.record_fields[kind])
    record.update(body)
    record.update(
        id=record_id,
        mdt_code=call.mdt_id,
        created_by_discord_id=call.actor,
        created_at=call.now,
        updated_at=call.now,
    )
    for name, default in defaults.items():
        if record.get(name) is None:
            record[name] = default(call)
    return table.put(record, call.now_ms)


def list_records(call: Call, kind: str, equal: tuple[str, Any] | None = None) -> RawJson:
    """Most recently updated first, at most ``limit``; ``equal=(field, value)`` filters."""
    return call.read_table(kind).newest_json(call.query["limit"], equal=equal)


def patch_record(
    call: Call, kind: str, record_id: str, applied: Iterable[str], not_found: str
) -> RawJson:
    """Apply only the ``applied`` fields present in the body; other keys are ignored."""
    table = call.table(kind)
    current = table.get(record_id)
    if current is None:
        raise ApiError(not_found)
    body: Mapping[str, Any] = call.body
    record = {**current, **{name: body[name] for name in applied if name in body}}
    record["updated_at"] = call.now
    return table.put(record, call.now_ms)


def list_and_create(
    kind: str, list_op: str, create_op: str, defaults: Mapping[str, Callable[[Call], Any]]
) -> None:
    """Register the plain list and create handlers of a record kind."""
    handles(list_op)(lambda call: list_records(call, kind))
    handles(create_op)(lambda call: create_record(call, kind, defaults))
