"""Record tables kept in recency order, so a list reads only the records it returns."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Hashable, Iterable, Iterator
from itertools import count
from typing import Any

Record = dict[str, Any]
_Entry = tuple[int, int, str]  # (updated_at in ms, write sequence, id): newest is the largest


class RecordTable:
    """Records of one kind in one MDT, by id and by (updated_at, write order).

    Writes cost O(log n) to find plus a memmove; ``newest`` walks from the newest end and stops
    after ``limit`` matches, so listing does not sort the store. Fields named in ``indexed`` (the
    ones lists filter on, like a shift's ``department``) keep one such order per value, so a
    filtered list reads only the records it returns too.
    """

    def __init__(self, sequence: Iterator[int] | None = None, indexed: Iterable[str] = ()) -> None:
        self._by_id: dict[str, Record] = {}
        self._entry_of: dict[str, _Entry] = {}
        self._order: list[_Entry] = []
        self._sequence = sequence if sequence is not None else count()
        self._indexes: dict[str, dict[Hashable, list[_Entry]]] = {name: {} for name in indexed}

    def __len__(self) -> int:
        return len(self._by_id)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._by_id

    def get(self, record_id: str) -> Record | None:
        return self._by_id.get(record_id)

    def put(self, record: Record, updated_ms: int) -> None:
        """Insert or replace the record with ``record["id"]``, now the most recent at its time."""
        record_id = record["id"]
        self._unindex(record_id)
        entry = (updated_ms, next(self._sequence), record_id)
        self._by_id[record_id] = record
        self._entry_of[record_id] = entry
        insort(self._order, entry)
        for name, by_value in self._indexes.items():
            value = record.get(name)
            if isinstance(value, Hashable):
                insort(by_value.setdefault(value, []), entry)

    def delete(self, record_id: str) -> Record | None:
        self._unindex(record_id)
        return self._by_id.pop(record_id, None)

    def newest(
        self,
        limit: int,
        where: Callable[[Record], bool] | None = None,
        *,
        equal: tuple[str, Any] | None = None,
    ) -> list[Record]:
        """Up to ``limit`` records, most recently updated first (later writes first on ties).

        ``equal=(field, value)`` keeps records whose indexed ``field`` equals ``value``;
        ``where`` is any other predicate (it scans until ``limit`` records match).
        """
        entries = self._order
        if equal is not None:
            name, value = equal
            index = self._indexes[name]
            entries = index.get(value, []) if isinstance(value, Hashable) else []
        found: list[Record] = []
        for entry in reversed(entries):
            record = self._by_id[entry[2]]
            if where is None or where(record):
                found.append(record)
                if len(found) >= limit:
                    break
        return found

    def clear(self) -> None:
        self._by_id.clear()
        self._entry_of.clear()
        self._order.clear()
        for by_value in self._indexes.values():
            by_value.clear()

    def all(self) -> list[Record]:
        return self.newest(len(self._order))

    def _unindex(self, record_id: str) -> None:
        entry = self._entry_of.pop(record_id, None)
        if entry is None:
            return
        del self._order[bisect_left(self._order, entry)]
        record = self._by_id[record_id]
        for name, by_value in self._indexes.items():
            value = record.get(name)
            if isinstance(value, Hashable):
                entries = by_value[value]
                del entries[bisect_left(entries, entry)]
                if not entries:
                    del by_value[value]
