"""A Discord bot's flow through the client openapi-python-client generates from openapi.yaml.

``mypy --strict`` accepts it with no cast and no ``Unset`` check: every record field the API
always sends is a plain attribute. Run as ``python bot_flow.py BASE_URL`` (the generated package
``northca_generated_client`` importable), it prints what it saw as JSON.
"""

from __future__ import annotations

import json
import sys

from northca_generated_client import AuthenticatedClient
from northca_generated_client.api.active_units import (
    delete_active_unit,
    trigger_unit_panic,
    upsert_active_units,
)
from northca_generated_client.api.calls import create_call, update_call
from northca_generated_client.api.link_requests import confirm_link_request, create_link_request
from northca_generated_client.api.mdt_info import get_mdt_info
from northca_generated_client.api.shifts import create_shift, list_shifts
from northca_generated_client.api.tickets import create_ticket
from northca_generated_client.models import (
    CreateCallBody,
    CreateLinkRequestBody,
    CreateShiftBody,
    CreateTicketBody,
    ErrorEnvelope,
    PanicBody,
    UpdateCallBody,
    UpsertActiveUnitsBody,
    UpsertActiveUnitsBodyUnitsItem,
)

GUILD = "123456789012345678"
MDT = "0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2"
UNLINKED_MDT = "9b1d3f2e-5a47-4c8e-9f10-2d6c7b8a9e01"
OWNER = "333333333333333333"


class NorthcaError(Exception):
    """A documented error answer."""


def main(base_url: str) -> dict[str, object]:
    # The partner key and the guild are set once, on the client.
    client = AuthenticatedClient(
        base_url=base_url,
        token="test-key",
        prefix="",
        auth_header_name="x-partner-key",
        headers={"x-discord-guild": GUILD},
        raise_on_unexpected_status=True,
    )
    with client:
        asked = create_link_request.sync(
            client=client, body=CreateLinkRequestBody(mdt_id=UNLINKED_MDT)
        )
        if asked is None or isinstance(asked, ErrorEnvelope):
            raise NorthcaError(asked)
        approved = confirm_link_request.sync(asked.data.id, client=client, x_discord_actor=OWNER)
        if approved is None or isinstance(approved, ErrorEnvelope):
            raise NorthcaError(approved)

        info = get_mdt_info.sync(MDT, client=client)
        if info is None or isinstance(info, ErrorEnvelope):
            raise NorthcaError(info)
        departments: list[str] = info.data.departments

        call = create_call.sync(
            MDT,
            client=client,
            body=CreateCallBody(classification="TRAFFIC STOP", units_assigned=["ADAM-12"]),
        )
        if call is None or isinstance(call, ErrorEnvelope):
            raise NorthcaError(call)
        closed = update_call.sync(
            MDT, call.data.id, client=client, body=UpdateCallBody(status="closed")
        )
        if closed is None or isinstance(closed, ErrorEnvelope):
            raise NorthcaError(closed)

        units = upsert_active_units.sync(
            MDT,
            client=client,
            body=UpsertActiveUnitsBody(
                units=[
                    UpsertActiveUnitsBodyUnitsItem(id="ADAM-12", status="10-8"),
                    UpsertActiveUnitsBodyUnitsItem(id="LINCOLN-3", status="10-8"),
                ]
            ),
        )
        if units is None or isinstance(units, ErrorEnvelope):
            raise NorthcaError(units)
        panic = trigger_unit_panic.sync(
            MDT, units.data[0].id, client=client, body=PanicBody(address="67 Mango Place")
        )
        if panic is None or isinstance(panic, ErrorEnvelope):
            raise NorthcaError(panic)
        gone = delete_active_unit.sync(MDT, units.data[1].id, client=client)
        if gone is None or isinstance(gone, ErrorEnvelope):
            raise NorthcaError(gone)

        shift = create_shift.sync(
            MDT, client=client, body=CreateShiftBody(officer_name="B. Bubbleton")
        )
        if shift is None or isinstance(shift, ErrorEnvelope):
            raise NorthcaError(shift)
        shifts = list_shifts.sync(MDT, client=client, limit=10)
        if shifts is None or isinstance(shifts, ErrorEnvelope):
            raise NorthcaError(shifts)

        # Documented errors are parsed as ErrorEnvelope, an oversized body's 413 included.
        too_large = create_ticket.sync_detailed(
            MDT, client=client, body=CreateTicketBody(title="x" * (1 << 20))
        )
        too_large_error = (
            too_large.parsed.error if isinstance(too_large.parsed, ErrorEnvelope) else None
        )

    return {
        "request": asked.data.status.value,
        "approved": approved.data.status.value,
        "expires": asked.data.expires_at.isoformat() if asked.data.expires_at else None,
        "departments": departments,
        "call": [closed.data.id == call.data.id, closed.data.status],
        "units": [unit.id for unit in units.data],
        "panic": [panic.data.unit_id, panic.data.ts.isoformat()],
        "deleted": gone.data.deleted,
        "shifts": [s.id for s in shifts.data] == [shift.data.id],
        "started": shift.data.start_time.isoformat() if shift.data.start_time else None,
        "too_large": [int(too_large.status_code), too_large_error],
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])))
