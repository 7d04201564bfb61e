"""Calls: create, list and partially update dispatch calls."""

from __future__ import annotations

from typing import Any

from mockserver.handlers.records import list_and_create, patch_record
from mockserver.handlers.registry import Call, handles

KIND = "calls"
list_and_create(KIND, "listCalls", "createCall", {"status": lambda call: "open"})


@handles("updateCall")
def update_call(call: Call) -> Any:
    # The fields the PATCH applies are the ones its body schema declares; the rest is ignored.
    return patch_record(call, KIND, call.path["callId"], call.op.body_fields, "callNotFound")
