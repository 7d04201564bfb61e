"""Active Units: bulk upsert, list, delete, and panic (10-33) events."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mockserver.errors import ApiError
from mockserver.handlers.records import list_records
from mockserver.handlers.registry import Call, body_rule, handles
from mockserver.schemas import Violation
from mockserver.store import RawJson

KIND = "active_units"
#: Unit fields the upsert replaces; absent or null in the request, they are stored as "".
REPLACED_FIELDS = ("officer_name", "officer_badge", "department", "rank", "status")


@body_rule("upsertActiveUnits")
def upsert_body_rule(body: Any, violations: Sequence[Violation]) -> ApiError | None:
    """The documented order: shape, then ids, then duplicates, then any other violation."""
    units = body.get("units") if isinstance(body, dict) else None
    if (
        not isinstance(units, list)
        or set(body) != {"units"}
        or not all(isinstance(unit, dict) for unit in units)
    ):
        return ApiError("expectedUnits", "body: expected an object with one key, units (array)")
    for index, unit in enumerate(units):
        unit_id = unit.get("id")
        if not isinstance(unit_id, str) or not unit_id:
            return ApiError("missingId", f"units.{index}.id: expected a non-empty string")
    seen: set[str] = set()
    for index, unit in enumerate(units):
        if unit["id"] in seen:
            return ApiError("duplicateId", f"units.{index}.id: {unit['id']!r} repeats")
        seen.add(unit["id"])
    if violations:
        return ApiError("expectedUnits", "; ".join(v.describe() for v in violations[:3]))
    return None


@handles("listActiveUnits")
def list_active_units(call: Call) -> Any:
    return list_records(call, KIND)


@handles("upsertActiveUnits")
def upsert_active_units(call: Call) -> Any:
    table = call.table(KIND)
    upserted = []
    for unit in call.body["units"]:
        previous: Mapping[str, Any] = table.get(unit["id"]) or {}
        record = dict.fromkeys(call.state.record_fields[KIND])
        record.update(
            id=unit["id"],
            mdt_code=call.mdt_id,
            **{name: "" if unit.get(name) is None else unit[name] for name in REPLACED_FIELDS},
            last_seen=call.now,
            created_by_discord_id=previous.get("created_by_discord_id", call.actor),
            updated_at=call.now,
            created_at=previous.get("created_at", call.now),
        )
        upserted.append(record)
    return RawJson.array(table.put_all(upserted, call.now_ms))


@handles("deleteActiveUnit")
def delete_active_unit(call: Call) -> Any:
    unit_id = call.path["unitId"]
    if not call.table(KIND).delete(unit_id):
        raise ApiError("unitNotFound")
    return {"deleted": True, "unit_id": unit_id}


@handles("triggerUnitPanic")
def trigger_unit_panic(call: Call) -> Any:
    unit_id = call.path["unitId"]
    if unit_id not in call.table(KIND):
        raise ApiError("unitNotFound")
    address = call.body.get("address") if isinstance(call.body, dict) else None
    call.state.add_event(
        call.mdt_id,
        {
            "type": "panic",
            "unit_id": unit_id,
            "address": address,
            "ts": call.now,
            "actor": call.actor,
        },
    )
    return {"panicked": True, "unit_id": unit_id, "ts": call.now}
