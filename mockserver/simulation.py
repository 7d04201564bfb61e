"""A simulation that makes a namespace's world move on the mock's clock.

Events (calls opened, updated and closed, units changing 10-codes, shifts starting and ending,
panics, tickets and scene reports filed) happen at seeded times after the simulation starts.
They are applied lazily: whenever the namespace is used (a partner request, a control-plane or
inspector request, a clock change), every event due by the mock's "now" is applied first, each at
its own time. So advancing the clock by an hour applies that hour's events at once, and a seed with
the same clock sequence gives the same state.

Each event is a partner write: its body goes through the operation's request checker and its
handler (the same business rules and store), with the event's time as ``now``. Ending a shift is
the one MDT-side change the Partner API has no operation for: it rewrites the shift's
``status``, ``end_time``, ``duration_ms`` and ``updated_at`` in the store. Simulated events are not
journaled (the journal stays partner traffic); they are listed by ``GET /__mock/simulation``.
"""

from __future__ import annotations

import json
import math
import random
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mockserver.clock import format_ms, parse_iso
from mockserver.handlers.registry import Call, Caller
from mockserver.limits import MAX_SIMULATED_EVENTS_PER_CATCH_UP, MAX_SIMULATED_EVENTS_PER_MINUTE
from mockserver.state import State
from mockserver.storage_budget import StorageFullError
from mockserver.store import RecordTable
from mockserver.validation import RequestChecker

if TYPE_CHECKING:
    from mockserver.server import MockServer
from mockserver.world_generate import CALL_SOURCES, load_vocabulary, location

#: Past this many events, one catch-up skips (and counts) the rest of the gap, so that a clock
#: moved by years cannot hold the namespace for minutes.
MAX_EVENTS_PER_CATCH_UP = MAX_SIMULATED_EVENTS_PER_CATCH_UP
MAX_EVENTS_PER_MINUTE = MAX_SIMULATED_EVENTS_PER_MINUTE
#: Records a simulated collection keeps per MDT; past it the oldest closed ones go first.
DEFAULT_MAX_RECORDS = 1_000
#: Events kept for ``GET /__mock/simulation`` and the inspector, newest last.
RECENT_EVENTS = 200
#: What an event does, and how often (relative weights).
EVENT_WEIGHTS: Mapping[str, int] = {
    "call opened": 18,
    "call updated": 14,
    "call closed": 14,
    "unit status": 26,
    "shift started": 7,
    "shift ended": 7,
    "ticket filed": 7,
    "scene report filed": 5,
    "panic": 2,
}
CLOSED = {
    "calls": {"closed", "completed", "cancelled"},
    "shifts": {"ended"},
    "tickets": {"closed"},
    "scene_reports": {"APPROVED"},
    "active_units": {"10-7", "10-10"},
}


class SimulationError(ValueError):
    """Settings that cannot be simulated; the message names the key."""


@dataclass(frozen=True)
class SimulationSettings:
    """What ``POST /__mock/simulation`` sets: a rate (0 stops), a seed, the MDTs that move."""

    events_per_minute: float
    seed: int = 0
    mdts: tuple[str, ...] = ()
    max_records: int = DEFAULT_MAX_RECORDS

    @classmethod
    def parse(cls, body: Mapping[str, Any], world_mdts: Sequence[str]) -> SimulationSettings:
        """Settings from a JSON object; ``mdts`` defaults to every MDT of the world."""
        unknown = sorted(set(body) - {"events_per_minute", "seed", "mdts", "max_records"})
        if unknown:
            raise SimulationError(f"{unknown[0]}: unknown key")
        rate = body.get("events_per_minute")
        if (
            isinstance(rate, bool)
            or not isinstance(rate, (int, float))
            or not math.isfinite(rate)
            or not 0 <= rate <= MAX_EVENTS_PER_MINUTE
        ):
            raise SimulationError(
                f"events_per_minute: expected a number from 0 to {MAX_EVENTS_PER_MINUTE}"
            )
        seed = body.get("seed", 0)
        if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**63:
            raise SimulationError("seed: expected a whole number from 0 to 2^63-1")
        mdts = body.get("mdts")
        if mdts is None:
            chosen = tuple(world_mdts)
        elif isinstance(mdts, list) and all(isinstance(m, str) for m in mdts):
            missing = [m for m in mdts if m not in world_mdts]
            if missing:
                raise SimulationError(f"mdts: unknown MDT {missing[0]!r}")
            chosen = tuple(dict.fromkeys(mdts))
        else:
            raise SimulationError("mdts: expected a list of MDT ids")
        max_records = body.get("max_records", DEFAULT_MAX_RECORDS)
        if isinstance(max_records, bool) or not isinstance(max_records, int) or max_records < 10:
            raise SimulationError("max_records: expected a whole number of at least 10")
        return cls(float(rate), seed, chosen, max_records)


@dataclass(frozen=True)
class SimulatedEvent:
    """One applied event, as ``GET /__mock/simulation`` lists it."""

    seq: int
    at: str
    mdt_id: str
    event: str
    operation_id: str | None
    record_id: str | None
    summary: str

    def describe(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at,
            "mdt_id": self.mdt_id,
            "event": self.event,
            "operation_id": self.operation_id,
            "record_id": self.record_id,
            "summary": self.summary,
        }


Handlers = Callable[[str], Callable[[Call], Any]]


class Simulation:
    """A running simulation of one namespace (the state's ``activity``)."""

    def __init__(
        self,
        settings: SimulationSettings,
        started_ms: int,
        handler_of: Handlers,
        checkers: Mapping[str, RequestChecker],
        owners: Mapping[str, str | None],
    ) -> None:
        self.settings = settings
        self.started_ms = started_ms
        self._handler_of = handler_of
        self._checkers = checkers
        self._owners = owners
        self._timing = random.Random(settings.seed)
        self._mean_gap_ms = 60_000 / settings.events_per_minute
        self._next_ms = started_ms + self._gap()
        self._seq = 0
        self.skipped = 0
        #: Events refused because the namespace was at its record bytes (--max-record-bytes).
        self.refused = 0
        self.recent: deque[SimulatedEvent] = deque(maxlen=RECENT_EVENTS)
        self._words = load_vocabulary()
        self._kinds = list(EVENT_WEIGHTS)
        self._weights = list(EVENT_WEIGHTS.values())

    def _gap(self) -> int:
        return max(1, round(self._timing.expovariate(1.0) * self._mean_gap_ms))

    # -- the protocol State calls --------------------------------------------------------------
    def catch_up(self, state: State, now_ms: int) -> None:
        """Apply every event due by ``now_ms`` (the clock's ``settled_ms``), each at its own
        time."""
        applied = 0
        while self._next_ms <= now_ms:
            if applied == MAX_EVENTS_PER_CATCH_UP:
                while self._next_ms <= now_ms:
                    self.skipped += 1
                    self._next_ms += self._gap()
                return
            self._apply(state, self._next_ms)
            applied += 1
            self._next_ms += self._gap()

    def describe(self) -> dict[str, Any]:
        return {
            "events_per_minute": self.settings.events_per_minute,
            "seed": self.settings.seed,
            "mdts": list(self.settings.mdts),
            "max_records": self.settings.max_records,
            "started_at": format_ms(self.started_ms),
            "applied": self._seq,
            "skipped": self.skipped,
            "refused": self.refused,
            "next_at": format_ms(self._next_ms),
            "events": [event.describe() for event in self.recent],
        }

    # -- one event -----------------------------------------------------------------------------
    def _apply(self, state: State, at_ms: int) -> None:
        if not self.settings.mdts:
            return
        rng = random.Random(f"{self.settings.seed}:{self._seq}")
        mdt_id = rng.choice(self.settings.mdts)
        if mdt_id not in state.mdts:
            return
        kind = rng.choices(self._kinds, self._weights)[0]
        event = _Event(self, state, mdt_id, at_ms, rng)
        try:
            outcome = getattr(event, kind.replace(" ", "_"))()
            if outcome is None:  # nothing to act on yet (no open call, no unit): open a call
                kind, outcome = "call opened", event.call_opened()
        except StorageFullError:
            # The namespace is at --max-record-bytes: nothing of this event was stored. Make
            # room for the next ones (the MDT's collections halved, oldest closed first).
            self.refused += 1
            for name in CLOSED:
                table = state.table(mdt_id, name)
                self.trim(table, name, limit=len(table) // 2)
            return
        operation_id, record_id, summary = outcome
        self._seq += 1
        self.recent.append(
            SimulatedEvent(
                self._seq, format_ms(at_ms), mdt_id, kind, operation_id, record_id, summary
            )
        )

    def write(
        self,
        state: State,
        operation_id: str,
        mdt_id: str,
        at_ms: int,
        body: Any,
        path: Mapping[str, str] | None = None,
    ) -> Any:
        """A partner write: the body through the operation's checker, then its handler."""
        checker = self._checkers[operation_id]
        raw = json.dumps(body).encode() if body is not None else b""
        checked = checker.body(raw, "application/json") if raw else None
        caller = Caller("", "", self._owners.get(mdt_id))
        call = Call(
            checker.op, state, caller, {"mdtId": mdt_id, **(path or {})}, {}, checked, at_ms
        )
        answer = self._handler_of(operation_id)(call)
        return json.loads(answer) if isinstance(answer, bytes) else answer

    def trim(self, table: RecordTable, kind: str, limit: int | None = None) -> None:
        """Keep ``limit`` records (default ``max_records``): drop a tenth of it more, oldest
        closed records first."""
        limit = self.settings.max_records if limit is None else limit
        if len(table) <= limit:
            return
        oldest_first = table.all()[::-1]
        closed = CLOSED[kind]
        ranked = [r for r in oldest_first if r.get("status") in closed] + [
            r for r in oldest_first if r.get("status") not in closed
        ]
        for record in ranked[: len(table) - limit + limit // 10]:
            table.delete(record["id"])


class _Event:
    """The choices of one event, drawn from its own seeded generator."""

    def __init__(
        self, sim: Simulation, state: State, mdt_id: str, at_ms: int, rng: random.Random
    ) -> None:
        self.sim = sim
        self.state = state
        self.mdt_id = mdt_id
        self.at_ms = at_ms
        self.rng = rng
        self.words = sim._words

    def table(self, kind: str) -> RecordTable:
        return self.state.table(self.mdt_id, kind)

    def write(self, operation_id: str, body: Any, **path: str) -> Any:
        return self.sim.write(self.state, operation_id, self.mdt_id, self.at_ms, body, path)

    def created(self, kind: str, operation_id: str, body: Mapping[str, Any]) -> Any:
        """A new record, with an id from the event's generator (repeatable, unlike the
        server's ids), then the collection trimmed to ``max_records``."""
        new_id = str(uuid.UUID(int=self.rng.getrandbits(128), version=4))
        record = self.write(operation_id, {"id": new_id, **body})
        self.sim.trim(self.table(kind), kind)
        return record

    def officer(self) -> dict[str, str]:
        """A unit of the MDT when it has some, else a new officer."""
        units = self.table("active_units").newest(40)
        if units and self.rng.random() < 0.8:
            unit = self.rng.choice(units)
            return {
                "name": unit.get("officer_name") or "",
                "badge": unit.get("officer_badge") or "",
                "callsign": unit["id"],
                "department": unit.get("department") or "",
                "rank": unit.get("rank") or "",
            }
        phonetic: Sequence[str] = self.words["phonetic"]
        return {
            "name": f"{self.rng.choice(self.words['first_initials'])}."
            f" {self.rng.choice(self.words['surnames'])}",
            "badge": str(self.rng.randint(100, 9999)),
            "callsign": f"{self.rng.choice(phonetic)}-{self.rng.randint(1, 99)}",
            "department": self.rng.choice(self.words["departments"]),
            "rank": self.rng.choice(self.words["ranks"]),
        }

    def pick(self, kind: str, statuses: set[str]) -> Mapping[str, Any] | None:
        candidates = [r for r in self.table(kind).newest(50) if r.get("status") in statuses]
        return self.rng.choice(candidates) if candidates else None

    # -- the events, by name (EVENT_WEIGHTS) ---------------------------------------------------
    def call_opened(self) -> tuple[str, str, str]:
        units = [unit["id"] for unit in self.table("active_units").newest(20)]
        assigned = self.rng.sample(units, min(len(units), self.rng.randint(1, 2)))
        body = {
            "classification": self.rng.choice(self.words["call_types"]),
            "description": self.rng.choice(self.words["descriptions"]),
            "location": location(self.rng, self.words),
            "status": "open",
            "call_type": self.rng.choice(CALL_SOURCES),
            "priority": self.rng.choice(self.words["call_priorities"]),
            "units_assigned": assigned,
        }
        call = self.created("calls", "createCall", body)
        return "createCall", call["id"], f"{body['classification']} at {body['location']}"

    def call_updated(self) -> tuple[str, str, str] | None:
        call = self.pick("calls", {"open", "pending"})
        if call is None:
            return None
        change: dict[str, Any] = (
            {"status": "pending"}
            if call.get("status") == "open" and self.rng.random() < 0.5
            else {"priority": self.rng.choice(self.words["call_priorities"])}
        )
        self.write("updateCall", change, callId=call["id"])
        what = ", ".join(f"{k} {v}" for k, v in change.items())
        return "updateCall", call["id"], f"{call.get('classification')}: {what}"

    def call_closed(self) -> tuple[str, str, str] | None:
        call = self.pick("calls", {"open", "pending"})
        if call is None:
            return None
        status = self.rng.choice(sorted(CLOSED["calls"]))
        self.write("updateCall", {"status": status}, callId=call["id"])
        return "updateCall", call["id"], f"{call.get('classification')}: {status}"

    def unit_status(self) -> tuple[str, str, str]:
        officer = self.officer()
        status = self.rng.choice(self.words["unit_statuses"])
        unit = {
            "id": officer["callsign"],
            "officer_name": officer["name"],
            "officer_badge": officer["badge"],
            "department": officer["department"],
            "rank": officer["rank"],
            "status": status,
        }
        self.write("upsertActiveUnits", {"units": [unit]})
        self.sim.trim(self.table("active_units"), "active_units")
        return "upsertActiveUnits", unit["id"], f"{unit['id']} {status}"

    def shift_started(self) -> tuple[str, str, str]:
        officer = self.officer()
        body = {
            "officer_name": officer["name"],
            "officer_badge": officer["badge"],
            "department": officer["department"],
            "status": "active",
            "start_time": format_ms(self.at_ms),
        }
        shift = self.created("shifts", "createShift", body)
        return "createShift", shift["id"], f"{officer['name']} on duty"

    def shift_ended(self) -> tuple[None, str, str] | None:
        shift = self.pick("shifts", {"active"})
        if shift is None:
            return None
        now = format_ms(self.at_ms)
        started = shift.get("start_time") or shift.get("created_at")
        duration = max(0, self.at_ms - parse_iso(str(started))) if started else None
        ended = {
            **shift,
            "status": "ended",
            "end_time": now,
            "duration_ms": duration,
            "updated_at": now,
        }
        self.table("shifts").put(ended, self.at_ms)
        return None, shift["id"], f"{shift.get('officer_name')} off duty"

    def ticket_filed(self) -> tuple[str, str, str]:
        officer = self.officer()
        body = {
            "title": self.rng.choice(self.words["ticket_titles"]),
            "description": self.rng.choice(self.words["descriptions"]),
            "officer_name": officer["name"],
            "officer_badge": officer["badge"],
            "officer_callsign": officer["callsign"],
            "status": "open",
            "priority": self.rng.choice(self.words["ticket_priorities"]),
        }
        ticket = self.created("tickets", "createTicket", body)
        return "createTicket", ticket["id"], f"{body['title']} by {officer['callsign']}"

    def scene_report_filed(self) -> tuple[str, str, str]:
        officer = self.officer()
        calls = self.table("calls").newest(10)
        stamp = format_ms(self.at_ms)
        body = {
            "title": self.rng.choice(self.words["report_titles"]),
            "description": self.rng.choice(self.words["descriptions"]),
            "location": location(self.rng, self.words),
            "date": stamp[:10],
            "time": stamp[11:16],
            "officer_name": officer["name"],
            "officer_badge": officer["badge"],
            "status": "DRAFT",
            "dispatch_call_id": self.rng.choice(calls)["id"] if calls else None,
        }
        report = self.created("scene_reports", "createSceneReport", body)
        return "createSceneReport", report["id"], f"{body['title']} by {officer['name']}"

    def panic(self) -> tuple[str, str, str] | None:
        units = self.table("active_units").newest(40)
        if not units:
            return None
        unit = self.rng.choice(units)
        address = location(self.rng, self.words)
        self.write("triggerUnitPanic", {"address": address}, unitId=unit["id"])
        events = self.state.events(self.mdt_id)
        del events[: max(0, len(events) - self.sim.settings.max_records)]
        return "triggerUnitPanic", unit["id"], f"10-33 {unit['id']} at {address}"


def start_simulation(server: MockServer, state: State, body: Mapping[str, Any]) -> None:
    """Start (or, at rate 0, stop) the namespace's simulation from ``POST`` settings."""
    settings = SimulationSettings.parse(body, list(state.world.mdts))
    state.settle()  # the old simulation's events up to now, before the new one takes over
    if settings.events_per_minute == 0:
        state.activity = None
        return
    owners = {mdt_id: mdt.owner_discord_id for mdt_id, mdt in state.world.mdts.items()}
    started_ms = state.clock.settled_ms()  # the same for the same moves of the clock
    state.activity = Simulation(settings, started_ms, server.seams.handler, server.checkers, owners)


def simulation_view(state: State) -> dict[str, Any]:
    """``GET /__mock/simulation``: the settings and recent events, or a stopped simulation."""
    activity = state.activity
    if activity is None:
        return {"events_per_minute": 0, "seed": None, "mdts": [], "events": []}
    return activity.describe()
