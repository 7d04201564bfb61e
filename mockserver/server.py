"""``MockServer``: the spec, the compiled request checks and the namespaces behind one app."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mockserver import persistence
from mockserver.clock import Clock
from mockserver.errors import ErrorLog
from mockserver.faults import FaultPlan, FaultPlanError
from mockserver.handlers.registry import BODY_RULES, HANDLERS
from mockserver.limits import Limits
from mockserver.namespaces import Namespaces
from mockserver.schemas import SchemaCache
from mockserver.seams import Seams
from mockserver.spec import Spec, SpecError
from mockserver.state import State
from mockserver.world import RECORD_SCHEMAS, World, load_world

if TYPE_CHECKING:
    from flask import Flask

logger = logging.getLogger("mockserver")
#: A world as callers may give it: a file path, a dict, a loaded ``World``, or None (default).
WorldSource = str | Path | Mapping[str, Any] | World | None
#: Where an app keeps its ``MockServer`` (``app.extensions[EXTENSION]``).
EXTENSION = "northca"
DEFAULT_MAX_BODY_BYTES = 1 << 20


class MockServer:
    """The spec, the compiled checks and the state behind one app."""

    def __init__(
        self,
        spec: Spec,
        world: World,
        *,
        clock: Clock | None = None,
        id_seed: int | None = None,
        admin_token: str | None = None,
        state_file: str | Path | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        allow_connection_faults: bool = False,
        seams: Seams | None = None,
        limits: Limits | None = None,
    ) -> None:
        seams = seams or Seams()
        #: The caps on memory (journal, namespaces, world size, errors kept).
        self.limits = limits = limits or Limits()
        check_handlers(spec, seams)
        self.seams = seams
        self.max_body_bytes = max_body_bytes
        #: Fault plans may reset or drop connections (needs a server that exposes its socket).
        self.allow_connection_faults = allow_connection_faults
        #: Request threads of the HTTP server, when it has a fixed number (set by ``serving``).
        self.request_threads: int | None = None
        self.check_faults(world.faults)
        self.spec = spec
        self.schemas = SchemaCache(spec)
        self.record_fields = {
            kind: spec.schema_fields(schema) for kind, schema in RECORD_SCHEMAS.items()
        }
        self.world = world
        #: Who is calling (the ``authenticate`` seam).
        self.authenticate = seams.authenticate
        state_class = seams.state_class
        #: State per namespace (``x-mock-namespace``); "" is the default namespace.
        journal_bytes = limits.journal_max_bytes
        record_bytes = limits.max_record_bytes
        self.states = Namespaces(
            state_class(
                world,
                self.record_fields,
                clock=clock,
                id_seed=id_seed,
                journal_max_bytes=journal_bytes,
                max_record_bytes=record_bytes,
            ),
            lambda: state_class(
                self.world,
                self.record_fields,
                id_seed=id_seed,
                journal_max_bytes=journal_bytes,
                max_record_bytes=record_bytes,
            ),
            limits.max_namespaces,
        )
        #: The state of a namespace (None or "": the default), created on first use.
        self.state_for: Callable[[str | None], State] = self.states.state_for
        self.checkers = {
            op_id: seams.checker_class(op, self.schemas, BODY_RULES.get(op_id))
            for op_id, op in spec.operations.items()
        }
        #: Unexpected exceptions raised while serving (each was answered with a 500): the
        #: newest ``limits.max_errors``, and how many in all (``errors.total``).
        self.errors = ErrorLog(limits.max_errors)
        #: Serialises state-file writes: a dump never lands after a newer one. Re-entrant:
        #: :meth:`freeze` holds it, then saves.
        self._save_lock = threading.RLock()
        #: When set, the control plane needs it in ``x-mock-admin-token``.
        self.admin_token = admin_token
        self.state_file = Path(state_file) if state_file is not None else None
        if self.state_file is not None:
            persistence.load(
                self.states, self.state_file, self.load_world, spec, limits.max_namespaces
            )

    def record_unexpected(self, error: BaseException, where: str) -> None:
        """Keep an exception answered with a 500, and log it (unless a seam asked quiet)."""
        self.errors.append(error)
        if not isinstance(error, self.seams.quiet_errors):
            logger.error("unexpected error while serving %s", where, exc_info=error)

    def save_state(self) -> None:
        """Write every namespace to the state file (atomically), if there is one."""
        if self.state_file is not None:
            with self._save_lock:
                persistence.save(self.states, self.state_file)

    def freeze(self) -> None:
        """Stop applying requests, for good (only on the way out of the process).

        This thread takes the state-file lock, then every namespace's lock (and no namespace is
        created any more): a request already applied is in the next dump, any later one waits
        and is never answered. This thread may still dump and save (the locks re-enter).
        """
        self._save_lock.acquire()
        self.states.freeze()

    @property
    def state(self) -> State:
        """The default namespace's state."""
        return self.states[""]

    def load_world(self, source: WorldSource) -> World:
        world = source if isinstance(source, World) else load_world(source, self.spec, self.limits)
        self.check_faults(world.faults)
        return world

    def check_faults(self, plan: FaultPlan) -> None:
        """Connection faults only when the mock was started with them allowed."""
        if plan.breaks_connections and not self.allow_connection_faults:
            raise FaultPlanError(
                "faults: connection faults are off (start the mock with"
                " --allow-connection-faults --server werkzeug)"
            )


def check_handlers(spec: Spec, seams: Seams) -> None:
    """Every operation of the spec has a handler, and every handler (or override) an operation."""
    missing = sorted(set(spec.operations) - set(HANDLERS))
    orphans = sorted((set(HANDLERS) | set(seams.handlers)) - set(spec.operations))
    if missing or orphans:
        raise SpecError(
            f"operations without handler: {missing}; handlers without operation: {orphans}"
        )


def server_of(app: Flask) -> MockServer:
    """The ``MockServer`` behind an app made by ``create_app``."""
    server: MockServer = app.extensions[EXTENSION]
    return server
