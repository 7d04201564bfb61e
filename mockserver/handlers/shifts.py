"""Shifts: create and list duty sessions."""

from __future__ import annotations

from typing import Any

from mockserver.handlers.records import create_record, list_records
from mockserver.handlers.registry import Call, handles

KIND = "shifts"
DEFAULTS = {"status": lambda call: "active", "start_time": lambda call: call.now}


@handles("listShifts")
def list_shifts(call: Call) -> Any:
    department = call.query.get("department")
    return list_records(call, KIND, None if department is None else ("department", department))


@handles("createShift")
def create_shift(call: Call) -> Any:
    return create_record(call, KIND, DEFAULTS)
