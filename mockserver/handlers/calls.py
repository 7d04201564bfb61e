"""Calls: create, list and partially update dispatch calls."""

from __future__ import annotations

from typing import Any

from mockserver.handlers.records import create_record, list_records, patch_record
from mockserver.handlers.registry import Call, handles

KIND = "calls"
DEFAULTS = {"status": lambda call: "open"}


@handles("listCalls")
def list_calls(call: Call) -> Any:
    return list_records(call, KIND)


@handles("createCall")
def create_call(call: Call) -> Any:
    return create_record(call, KIND, DEFAULTS)


@handles("updateCall")
def update_call(call: Call) -> Any:
    # The fields the PATCH applies are the ones its body schema declares; the rest is ignored.
    return patch_record(call, KIND, call.path["callId"], call.op.body_fields, "callNotFound")
