"""Tickets: create and list unit tickets."""

from __future__ import annotations

from mockserver.handlers.records import list_and_create

list_and_create("tickets", "listTickets", "createTicket", {"status": lambda call: "open"})
