"""A namespace's view of its world's links and records, shared until the namespace writes.

Every namespace starts from the same world. Its records per MDT (:class:`MdtTables`) and its
guild links (:class:`LinkTable`) read the world's own objects until the namespace first writes
to them, then copy: records one MDT at a time, links all at once. A new namespace therefore
costs the same whatever the size of the world, and one that writes pays for what it touches.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from mockserver.clock import format_ms
from mockserver.storage_budget import StorageBudget
from mockserver.store import Record, RecordTable
from mockserver.world import FILTERED_FIELDS, RECORD_SCHEMAS, LinkKey, World


@dataclass
class MdtRecords:
    """Everything stored for one MDT."""

    tables: dict[str, RecordTable]
    events: list[Record] = field(default_factory=list)


#: Read-only empty tables, for the kinds a world gives an MDT no records of.
_EMPTY: Mapping[str, RecordTable] = {
    kind: RecordTable(FILTERED_FIELDS.get(kind, ())) for kind in RECORD_SCHEMAS
}


class MdtTables(Mapping[str, MdtRecords]):
    """The records of each MDT of a world, by MDT id.

    ``tables[mdt_id]`` is the namespace's own copy of that MDT's records, made on first use
    (write to it freely); :meth:`peek` reads without copying (never write to what it returns).
    """

    __slots__ = ("_budget", "_own", "_world")

    def __init__(self, world: World, budget: StorageBudget | None = None) -> None:
        self._world = world
        self._budget = budget  # what the copies' writes count against
        self._own: dict[str, MdtRecords] = {}

    def __getitem__(self, mdt_id: str) -> MdtRecords:
        own = self._own.get(mdt_id)
        if own is None:
            if mdt_id not in self._world.mdts:
                raise KeyError(mdt_id)
            shared = self._world.records.get(mdt_id, {})
            own = self._own[mdt_id] = MdtRecords(
                {
                    kind: shared[kind].copy(self._budget)
                    if kind in shared
                    else RecordTable(FILTERED_FIELDS.get(kind, ()), self._budget)
                    for kind in RECORD_SCHEMAS
                }
            )
        return own

    def peek(self, mdt_id: str) -> MdtRecords:
        """The MDT's records: its own copy if it has one, else the world's (read-only)."""
        own = self._own.get(mdt_id)
        if own is not None:
            return own
        if mdt_id not in self._world.mdts:
            raise KeyError(mdt_id)
        shared = self._world.records.get(mdt_id)
        return MdtRecords({**_EMPTY, **shared} if shared else dict(_EMPTY))

    def read(self, mdt_id: str, kind: str) -> RecordTable:
        """One table of :meth:`peek`, without building the rest (the list operations' path)."""
        own = self._own.get(mdt_id)
        if own is not None:
            return own.tables[kind]
        if mdt_id not in self._world.mdts:
            raise KeyError(mdt_id)
        shared = self._world.records.get(mdt_id)
        return shared[kind] if shared and kind in shared else _EMPTY[kind]

    def __contains__(self, mdt_id: object) -> bool:
        return mdt_id in self._world.mdts

    def __iter__(self) -> Iterator[str]:
        return iter(self._world.mdts)

    def __len__(self) -> int:
        return len(self._world.mdts)

    @property
    def copied(self) -> int:
        """How many MDTs this namespace has its own copy of."""
        return len(self._own)


class LinkTable(MutableMapping[LinkKey, Record]):
    """A namespace's guild links: the world's, linked at the last reset, until it changes one.

    Reading a world link gives a new dict with its time filled in; the first write (a link or
    an unlink) copies every world link into the namespace's own dict.
    """

    __slots__ = ("_base", "_linked_at", "_ms", "_own")

    def __init__(self) -> None:
        self._base: Mapping[LinkKey, Mapping[str, Any]] = {}
        self._own: dict[LinkKey, Record] | None = {}
        self._ms = 0
        self._linked_at = format_ms(0)

    def start(self, base: Mapping[LinkKey, Mapping[str, Any]], now_ms: int) -> None:
        """Back to ``base`` (:attr:`World.link_records`: shared, never changed), linked now."""
        self._base = base
        self._own = None
        self._ms = now_ms
        self._linked_at = format_ms(now_ms)

    def _filled(self, record: Mapping[str, Any]) -> Record:
        return {**record, "linked_at": self._linked_at, "_order": (self._ms, record["_order"][1])}

    def _owned(self) -> dict[LinkKey, Record]:
        if self._own is None:
            self._own = {key: self._filled(record) for key, record in self._base.items()}
        return self._own

    def get(self, key: LinkKey, default: Record | None = None) -> Record | None:  # type: ignore[override]
        if self._own is not None:
            return self._own.get(key, default)
        record = self._base.get(key)
        return default if record is None else self._filled(record)

    def __getitem__(self, key: LinkKey) -> Record:
        if self._own is not None:
            return self._own[key]
        return self._filled(self._base[key])

    def __setitem__(self, key: LinkKey, record: Record) -> None:
        self._owned()[key] = record

    def __delitem__(self, key: LinkKey) -> None:
        del self._owned()[key]

    def __contains__(self, key: object) -> bool:
        return key in (self._base if self._own is None else self._own)

    def __iter__(self) -> Iterator[LinkKey]:
        return iter(list(self._base if self._own is None else self._own))

    def __len__(self) -> int:
        return len(self._base if self._own is None else self._own)

    def clear(self) -> None:
        self._base = {}
        self._own = {}
