"""Record tables: each record kept as its JSON bytes, in recency order, so lists are joins.

A stored record is one immutable ``bytes`` object (the exact JSON the mock answers with), and
the indexes are a dict of ids and arrays of integers: none of it is tracked by the cyclic
garbage collector, whose full passes would otherwise walk every stored field of every record.
"""

from __future__ import annotations

import json
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping
from json import encoder as json_encoder
from typing import Any

from mockserver.storage_budget import StorageBudget

Record = dict[str, Any]
#: How the mock writes JSON: UTF-8 as it is, no spaces (the same bytes as a response).
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
#: Replaced or deleted records leave a dead slot; past this many (and more than the live
#: ones), the table renumbers its slots.
_COMPACT_AFTER = 4096
#: The most recently written records are also kept as dicts, so rewriting one (an upsert of the
#: same units, a PATCH after a create) does not decode it: a few objects, whatever the size.
_RECENT = 64


def _fast_encoder() -> Callable[[Any], str]:
    """``_ENCODER.encode`` without building the C encoder on every call (it is rebuilt per
    call by ``json``); the plain method where the C encoder is missing or differs."""
    make = getattr(json_encoder, "c_make_encoder", None)
    if make is None:
        return _ENCODER.encode
    try:
        c_encoder = make(
            None, _ENCODER.default, json_encoder.encode_basestring, None, ":", ",",
            False, False, True,
        )  # fmt: skip
        probe = {"a": [1, 2.5, None, True, "é\n\u2028"], "b": {"c": -0.0, "d": 10**20}}
        if "".join(c_encoder(probe, 0)) != _ENCODER.encode(probe):
            return _ENCODER.encode
    except (TypeError, ValueError):
        return _ENCODER.encode

    def encode(value: Any) -> str:
        if isinstance(value, (dict, list)):
            return "".join(c_encoder(value, 0))
        return _ENCODER.encode(value)

    return encode


_encode = _fast_encoder()


def encode(value: Any) -> bytes:
    """``value`` as the mock's JSON (what ``json.dumps(value, ensure_ascii=False,
    separators=(",", ":"))`` gives, encoded as UTF-8)."""
    return _encode(value).encode()


class RawJson(bytes):
    """JSON already encoded (a stored record, or a list of them): a response splices it in."""

    __slots__ = ()

    @classmethod
    def array(cls, items: Iterable[bytes]) -> RawJson:
        return cls(b"[" + b",".join(items) + b"]")


class _Order:
    """(updated_at ms, slot) pairs in ascending order, in two arrays of integers.

    Slots are given in write order, so the pair orders by time, then by write order on ties.
    """

    __slots__ = ("ms", "slots")

    def __init__(self, ms: Iterable[int] = (), slots: Iterable[int] = ()) -> None:
        self.ms = array("q", ms)
        self.slots = array("q", slots)

    def __len__(self) -> int:
        return len(self.slots)

    def add(self, updated_ms: int, slot: int) -> None:
        """Insert a pair whose slot is larger than every slot already here."""
        ms = self.ms
        if not ms or ms[-1] <= updated_ms:
            ms.append(updated_ms)
            self.slots.append(slot)
            return
        position = bisect_right(ms, updated_ms)
        ms.insert(position, updated_ms)
        self.slots.insert(position, slot)

    def remove(self, updated_ms: int, slot: int) -> None:
        low = bisect_left(self.ms, updated_ms)
        high = bisect_right(self.ms, updated_ms, low)
        position = bisect_left(self.slots, slot, low, high)
        del self.ms[position]
        del self.slots[position]

    def copy(self) -> _Order:
        return _Order(self.ms, self.slots)

    def renumbered(self, new_slot: array[int]) -> _Order:
        return _Order(self.ms, (new_slot[slot] for slot in self.slots))


class RecordTable:
    """Records of one kind in one MDT, by id and by (updated_at, write order).

    Writes cost O(log n) to find plus a memmove (an append when time moves forward);
    ``newest`` walks from the newest end and stops after ``limit`` records, so listing does not
    sort the store. Fields named in ``indexed`` (the ones lists filter on, like a shift's
    ``department``) keep one such order per value, so a filtered list reads only the records it
    returns too. Records go in as dicts and come out as dicts (decoded on demand) or as their
    JSON (:meth:`newest_json`, :meth:`put`).
    """

    def __init__(self, indexed: Iterable[str] = (), budget: StorageBudget | None = None) -> None:
        #: Counts the bytes of the records written here (None: not counted, a world's table).
        self.budget = budget
        self._slot_of: dict[str, int] = {}
        self._json: list[bytes | None] = []  # by slot; None once replaced or deleted
        self._ms = array("q")  # updated_at (ms) by slot
        self._order = _Order()
        self._indexes: dict[str, dict[Hashable, _Order]] = {name: {} for name in indexed}
        self._recent: dict[int, Mapping[str, Any]] = {}  # slot -> record, oldest first

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._slot_of

    def get(self, record_id: str) -> Mapping[str, Any] | None:
        """The record (read-only: write a changed copy back with :meth:`put`)."""
        slot = self._slot_of.get(record_id)
        return None if slot is None else self._record(slot)

    def put(self, record: Mapping[str, Any], updated_ms: int) -> RawJson:
        """Insert or replace the record with ``record["id"]``, now the most recent at its time.

        Returns the stored JSON. The table may keep ``record`` for a while: never change it.
        """
        data = encode(record)
        if self.budget is not None:
            self.budget.take(len(data) - self._stored_size(record["id"]))
        self._store(record["id"], data, updated_ms, record)
        return RawJson(data)

    def put_all(self, records: Iterable[Mapping[str, Any]], updated_ms: int) -> list[RawJson]:
        """:meth:`put` each record in order, all or none: the budget is checked for the
        whole batch before any is stored."""
        encoded = [(record, encode(record)) for record in records]
        if self.budget is not None:
            final = {record["id"]: len(data) for record, data in encoded}  # the last one wins
            self.budget.take(sum(final.values()) - sum(map(self._stored_size, final)))
        for record, data in encoded:
            self._store(record["id"], data, updated_ms, record)
        return [RawJson(data) for _, data in encoded]

    def delete(self, record_id: str) -> bool:
        """Remove the record; False if there was none."""
        if record_id not in self._slot_of:
            return False
        if self.budget is not None:
            self.budget.give(self._stored_size(record_id))
        self._unindex(record_id)
        self._compact_if_sparse()
        return True

    def newest_json(self, limit: int, *, equal: tuple[str, Any] | None = None) -> RawJson:
        """Up to ``limit`` records as one JSON array, most recently updated first (later
        writes first on ties); ``equal=(field, value)`` keeps records whose indexed ``field``
        equals ``value``."""
        return RawJson.array(self._newest(limit, equal))

    def newest(self, limit: int, *, equal: tuple[str, Any] | None = None) -> list[Record]:
        """:meth:`newest_json`, decoded."""
        return [json.loads(data) for data in self._newest(limit, equal)]

    def all(self) -> list[Record]:
        """Every record, decoded, most recent first."""
        return self.newest(len(self._slot_of))

    def in_write_order(self) -> list[Record]:
        """Every record, decoded, in the order they were written (a world's file order)."""
        return [json.loads(data) for data in self._json if data is not None]

    def clear(self) -> None:
        if self.budget is not None:
            self.budget.give(sum(len(data) for data in self._json if data is not None))
        self._slot_of.clear()
        self._json.clear()
        self._ms = array("q")
        self._order = _Order()
        self._recent.clear()
        for by_value in self._indexes.values():
            by_value.clear()

    def copy(self, budget: StorageBudget | None = None) -> RecordTable:
        """An independent table holding the same records (their JSON is shared: immutable),
        whose writes count against ``budget`` (the records copied are not counted)."""
        table = RecordTable(self._indexes, budget)  # its own (empty) recent records
        table._slot_of = dict(self._slot_of)
        table._json = list(self._json)
        table._ms = array("q", self._ms)
        table._order = self._order.copy()
        table._indexes = {
            name: {value: order.copy() for value, order in by_value.items()}
            for name, by_value in self._indexes.items()
        }
        return table

    # -- internals -------------------------------------------------------------------------
    def _stored_size(self, record_id: str) -> int:
        slot = self._slot_of.get(record_id)
        return 0 if slot is None else len(self._json[slot])  # type: ignore[arg-type]

    def _record(self, slot: int) -> Mapping[str, Any]:
        record = self._recent.get(slot)
        if record is None:
            record = json.loads(self._json[slot])  # type: ignore[arg-type]
        return record

    def _newest(self, limit: int, equal: tuple[str, Any] | None) -> Iterator[bytes]:
        order = self._order
        if equal is not None:
            name, value = equal
            found = self._indexes[name].get(value) if isinstance(value, Hashable) else None
            if found is None:
                return iter(())
            order = found
        slots = order.slots
        start = len(slots) - 1
        stop = max(-1, start - limit)
        json_of = self._json
        return (json_of[slots[i]] for i in range(start, stop, -1))  # type: ignore[misc]

    def _store(
        self, record_id: str, data: bytes, updated_ms: int, record: Mapping[str, Any]
    ) -> None:
        replaced = record_id in self._slot_of
        if replaced:
            self._unindex(record_id)
        slot = len(self._json)
        self._json.append(data)
        self._ms.append(updated_ms)
        self._slot_of[record_id] = slot
        self._order.add(updated_ms, slot)
        for name, by_value in self._indexes.items():
            value = record.get(name)
            if isinstance(value, Hashable):
                order = by_value.get(value)
                if order is None:
                    order = by_value[value] = _Order()
                order.add(updated_ms, slot)
        recent = self._recent
        recent[slot] = record
        if len(recent) > _RECENT:
            del recent[next(iter(recent))]
        if replaced:
            self._compact_if_sparse()

    def _unindex(self, record_id: str) -> None:
        slot = self._slot_of.pop(record_id)
        updated_ms = self._ms[slot]
        self._order.remove(updated_ms, slot)
        if self._indexes:
            record = self._record(slot)
            for name, by_value in self._indexes.items():
                value = record.get(name)
                if isinstance(value, Hashable):
                    order = by_value[value]
                    order.remove(updated_ms, slot)
                    if not order:
                        del by_value[value]
        self._json[slot] = None
        self._recent.pop(slot, None)

    def _compact_if_sparse(self) -> None:
        """Renumber slots by their rank in the order once dead slots outnumber live ones.

        Ranks keep every pair's relative order, so recency and tie order are unchanged.
        """
        live = len(self._slot_of)
        dead = len(self._json) - live
        if dead <= _COMPACT_AFTER or dead <= live:
            return
        new_slot = array("q", bytes(8 * len(self._json)))
        slots = self._order.slots
        for rank, slot in enumerate(slots):
            new_slot[slot] = rank
        self._json = [self._json[slot] for slot in slots]
        self._ms = array("q", self._order.ms)
        self._slot_of = {record_id: new_slot[slot] for record_id, slot in self._slot_of.items()}
        self._order = _Order(self._order.ms, range(live))
        self._recent = {new_slot[slot]: record for slot, record in self._recent.items()}
        for by_value in self._indexes.values():
            for value, order in by_value.items():
                by_value[value] = order.renumbered(new_slot)
