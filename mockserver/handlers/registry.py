"""Handlers by operationId, and the per-operation rules that map body violations to errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple, TypeVar

from mockserver.clock import format_ms
from mockserver.spec import Operation
from mockserver.state import State
from mockserver.store import RecordTable
from mockserver.validation import BodyRule, schema_violations_rule

__all__ = ["BODY_RULES", "HANDLERS", "BodyRule", "Call", "Caller", "schema_violations_rule"]


class Caller(NamedTuple):
    """Who sends a request: the key's partner, the guild context and the acting user."""

    partner: str
    guild: str
    actor: str | None


class Call:
    """One validated request, as a handler sees it."""

    __slots__ = ("body", "caller", "now", "now_ms", "op", "path", "query", "state")

    def __init__(
        self,
        op: Operation,
        state: State,
        caller: Caller,
        path: Mapping[str, str],
        query: Mapping[str, Any],
        body: Any,
        now_ms: int,
    ) -> None:
        self.op = op
        self.state = state
        self.caller = caller
        self.path = path
        self.query = query
        self.body = body
        self.now_ms = now_ms
        #: ``now_ms`` formatted once for every timestamp the request writes.
        self.now = format_ms(now_ms)

    @property
    def partner(self) -> str:
        return self.caller.partner

    @property
    def guild(self) -> str:
        return self.caller.guild

    @property
    def actor(self) -> str | None:
        return self.caller.actor

    @property
    def mdt_id(self) -> str:
        return self.path["mdtId"]

    def table(self, kind: str) -> RecordTable:
        """The MDT's table of ``kind``, to write (the namespace's own copy)."""
        return self.state.table(self.mdt_id, kind)

    def read_table(self, kind: str) -> RecordTable:
        """The MDT's table of ``kind``, only to read (never a copy)."""
        return self.state.read_table(self.mdt_id, kind)


Handler = Callable[[Call], Any]
_F = TypeVar("_F", bound=Callable[..., Any])

HANDLERS: dict[str, Handler] = {}
BODY_RULES: dict[str, BodyRule] = {}


def handles(operation_id: str) -> Callable[[_F], _F]:
    """Register the decorated function as the handler of ``operation_id``."""

    def register(function: _F) -> _F:
        if operation_id in HANDLERS:
            raise ValueError(f"two handlers for {operation_id}")
        HANDLERS[operation_id] = function
        return function

    return register


def body_rule(operation_id: str) -> Callable[[_F], _F]:
    """Register an operation-specific mapping of body violations to documented errors."""

    def register(function: _F) -> _F:
        BODY_RULES[operation_id] = function
        return function

    return register
