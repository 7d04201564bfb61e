"""The mutable state of one mock: link requests, guild links, records per MDT, clock, journal.

One ``State`` is guarded by one re-entrant lock; the app takes it for the whole of a request, so
every request is applied atomically and the final state is always some serial order of them.
"""

from __future__ import annotations

import random
import threading
import uuid
from collections.abc import Iterator, Mapping
from itertools import count
from typing import Any, Protocol

from mockserver.clock import Clock, format_ms, parse_iso
from mockserver.faults import FaultPlan
from mockserver.journal import Journal
from mockserver.limits import DEFAULT_JOURNAL_MAX_BYTES, DEFAULT_MAX_RECORD_BYTES
from mockserver.shared_world import LinkTable, MdtRecords, MdtTables
from mockserver.storage_budget import StorageBudget
from mockserver.store import Record, RecordTable, encode
from mockserver.world import LinkKey, World

__all__ = ["IdGenerator", "LinkKey", "MdtRecords", "State", "public"]


class IdGenerator:
    """Lowercase UUIDv4 strings; reproducible when seeded."""

    def __init__(self, seed: int | None = None) -> None:
        self._seed = seed
        self.reset()

    def reset(self) -> None:
        self._random = random.Random(self._seed) if self._seed is not None else None

    def new(self) -> str:
        if self._random is None:
            return str(uuid.uuid4())
        return str(uuid.UUID(int=self._random.getrandbits(128), version=4))


class Activity(Protocol):
    """Something that changes a state as its clock moves (the simulation)."""

    def catch_up(self, state: State, now_ms: int) -> None:
        """Apply what is due by ``now_ms``."""

    def describe(self) -> dict[str, Any]:
        """What it is doing, as JSON-ready data."""


class State:
    """State of one mock namespace; call :meth:`reset` to go back to the world."""

    def __init__(
        self,
        world: World,
        record_fields: Mapping[str, tuple[str, ...]],
        *,
        clock: Clock | None = None,
        id_seed: int | None = None,
        journal_max_bytes: int = DEFAULT_JOURNAL_MAX_BYTES,
        max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES,
    ) -> None:
        self.lock = threading.RLock()
        self.clock = clock or Clock()
        self.ids = IdGenerator(id_seed)
        self.record_fields = record_fields
        self.world = world
        self.link_requests: dict[str, Record] = {}
        #: Bytes of the records, events and link requests this namespace wrote since its reset.
        self.stored = StorageBudget(max_record_bytes)
        #: Guild links and records per MDT: the world's, shared until this namespace writes.
        self.links = LinkTable()
        self.mdts = MdtTables(world, self.stored)
        self.journal = Journal(journal_max_bytes)
        #: ``seq`` of journal entries: increasing, and not restarted by a reset.
        self.journal_seq = count(1)
        self.faults = FaultPlan()
        #: A simulation moving this namespace's world, or None (reset stops it).
        self.activity: Activity | None = None
        self._link_sequence = count()
        self.reset()

    # -- lifecycle ---------------------------------------------------------------------------
    def load(self, world: World) -> None:
        with self.lock:
            self.world = world
            self.reset()

    def reset(self) -> None:
        """Back to the world: clock, ids, faults, links, link requests, records, events, journal."""
        with self.lock:
            self.activity = None
            self.clock.reset()
            self.faults = self.world.faults.fresh()
            self.ids.reset()
            self.link_requests.clear()
            self.journal.clear()
            self.stored.reset()
            self.mdts = MdtTables(self.world, self.stored)
            base = self.world.link_records
            self.links.start(base, self.clock.now_ms())
            self._link_sequence = count(len(base))

    def settle(self, *, moved: bool = False) -> None:
        """Apply what the simulation has due by now (nothing when none runs); ``moved`` after
        the clock was just set or advanced, so that the catch-up's own time does not count."""
        activity = self.activity
        if activity is not None:
            with self.lock:
                activity.catch_up(self, self.clock.settled_ms())
                if moved:
                    self.clock.hold()

    # -- links -------------------------------------------------------------------------------
    def add_link(
        self,
        partner: str,
        guild_id: str,
        mdt_id: str,
        owner: str | None,
        link_request_id: str | None,
        now_ms: int,
    ) -> None:
        self.links[(partner, guild_id, mdt_id)] = {
            "mdt_id": mdt_id,
            "guild_id": guild_id,
            "owner_discord_id": owner,
            "link_request_id": link_request_id,
            "linked_at": format_ms(now_ms),
            "_order": (now_ms, next(self._link_sequence)),
        }

    def link(self, partner: str, guild_id: str, mdt_id: str) -> Record | None:
        return self.links.get((partner, guild_id, mdt_id))

    def guild_links(self, partner: str, guild_id: str) -> list[Record]:
        """Links of one partner in one guild, most recently linked first."""
        links = self.links  # keys first: a world link is only filled in when it is returned
        found = [links[key] for key in links if key[0] == partner and key[1] == guild_id]
        found.sort(key=lambda link: link["_order"], reverse=True)
        return found

    # -- link requests -----------------------------------------------------------------------
    def expire_if_due(self, request_id: str, now_ms: int) -> Record:
        """The link request, marked ``expired`` first if it is pending and past ``expires_at``."""
        request = self.link_requests[request_id]
        expires_at = request.get("expires_at")
        if request["status"] == "pending" and expires_at and parse_iso(expires_at) <= now_ms:
            request = {**request, "status": "expired", "decided_at": expires_at}
            self.link_requests[request_id] = request
        return request

    # -- records -----------------------------------------------------------------------------
    def table(self, mdt_id: str, kind: str) -> RecordTable:
        """The MDT's table of ``kind``, to write (the namespace's own copy)."""
        return self.mdts[mdt_id].tables[kind]

    def read_table(self, mdt_id: str, kind: str) -> RecordTable:
        """The MDT's table of ``kind``, only to read (it may be the world's: never write)."""
        return self.mdts.read(mdt_id, kind)

    def events(self, mdt_id: str) -> list[Record]:
        return self.mdts[mdt_id].events

    def add_event(self, mdt_id: str, event: Record) -> None:
        """Keep an event of the MDT (a panic), counted against the namespace's bytes."""
        events = self.mdts[mdt_id].events
        self.stored.take(len(encode(event)))
        events.append(event)

    def add_link_request(self, request: Record) -> None:
        """Keep a new link request, counted against the namespace's bytes."""
        self.stored.take(len(encode(request)))
        self.link_requests[request["id"]] = request

    # -- views -------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Everything, as JSON-ready data (for ``GET /__mock/state``)."""
        with self.lock:
            now_ms = self.clock.now_ms()
            for request_id in list(self.link_requests):
                self.expire_if_due(request_id, now_ms)
            return {
                "now": format_ms(now_ms),
                "links": [
                    {"partner": partner, **public(link)}
                    for (partner, _, _), link in sorted(
                        self.links.items(), key=lambda item: item[1]["_order"]
                    )
                ],
                "link_requests": [dict(req) for req in self.link_requests.values()],
                "mdts": {
                    mdt_id: {
                        **{kind: table.all() for kind, table in data.tables.items()},
                        "events": list(data.events),
                    }
                    for mdt_id, data in self._peek_all()
                },
            }

    def _peek_all(self) -> Iterator[tuple[str, MdtRecords]]:
        """Every MDT's records, read without copying the world's."""
        return ((mdt_id, self.mdts.peek(mdt_id)) for mdt_id in self.mdts)

    # -- persistence -------------------------------------------------------------------------
    def dump(self) -> dict[str, Any]:
        """What a state file keeps of this state (not the journal)."""
        with self.lock:
            return {
                "world": dict(self.world.source),
                "clock_offset_ms": self.clock.offset_ms,
                "faults": self.faults.describe(),
                "link_requests": list(self.link_requests.values()),
                "links": [
                    {"partner": partner, **public(link)}
                    for (partner, _, _), link in sorted(
                        self.links.items(), key=lambda item: item[1]["_order"]
                    )
                ],
                "mdts": {
                    mdt_id: {
                        **{kind: table.all()[::-1] for kind, table in data.tables.items()},
                        "events": list(data.events),
                    }
                    for mdt_id, data in self._peek_all()
                },
            }

    def restore(self, dump: Mapping[str, Any], faults: FaultPlan) -> None:
        """Replace links, link requests, records, events, clock and faults from :meth:`dump`.

        The world must already be loaded; records of MDTs the world lacks are dropped.
        """
        with self.lock:
            self.reset()
            self.clock.set(self.clock.now_ms() + int(dump.get("clock_offset_ms", 0)))
            self.faults = faults
            self.link_requests = {}
            for req in dump.get("link_requests", []):
                self.add_link_request(dict(req))
            self.links.clear()
            for link in dump.get("links", []):
                self.add_link(
                    link["partner"],
                    link["guild_id"],
                    link["mdt_id"],
                    link.get("owner_discord_id"),
                    link.get("link_request_id"),
                    parse_iso(link["linked_at"]),
                )
            for mdt_id, collections in dump.get("mdts", {}).items():
                if mdt_id not in self.mdts or (
                    mdt_id not in self.world.records and not any(collections.values())
                ):
                    continue  # unknown, or nothing to restore: the world's stays shared
                data = self.mdts[mdt_id]
                for kind, table in data.tables.items():
                    table.clear()
                    for record in collections.get(kind, []):
                        table.put(dict(record), _updated_ms(record, self.clock.now_ms()))
                for event in collections.get("events", []):
                    self.add_event(mdt_id, event)


def _updated_ms(record: Mapping[str, Any], default: int) -> int:
    try:
        return parse_iso(str(record["updated_at"]))
    except (KeyError, ValueError):
        return default


def public(record: Mapping[str, Any]) -> dict[str, Any]:
    """A record without its private bookkeeping keys (those starting with ``_``)."""
    return {key: value for key, value in record.items() if not key.startswith("_")}
