"""Tickets: create and list unit tickets."""

from __future__ import annotations

from typing import Any

from mockserver.handlers.records import create_record, list_records
from mockserver.handlers.registry import Call, handles

KIND = "tickets"
DEFAULTS = {"status": lambda call: "open"}


@handles("listTickets")
def list_tickets(call: Call) -> Any:
    return list_records(call, KIND)


@handles("createTicket")
def create_ticket(call: Call) -> Any:
    return create_record(call, KIND, DEFAULTS)
