"""Record tables kept in recency order, so a list reads only the records it returns."""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Callable, Iterator
from itertools import count
from typing import Any

Record = dict[str, Any]
_SortKey = tuple[int, int]  # (updated_at in ms, write sequence): newest is the largest


class RecordTable:
    """Records of one kind in one MDT, by id and by (updated_at, write order).

    Writes cost O(log n) to find plus a memmove; ``newest`` walks from the newest end and stops
    after ``limit`` matches, so listing does not sort the store.
    """

    def __init__(self, sequence: Iterator[int] | None = None) -> None:
        self._by_id: dict[str, Record] = {}
        self._key_of: dict[str, _SortKey] = {}
        self._order: list[tuple[int, int, str]] = []
        self._sequence = sequence if sequence is not None else count()

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
        key = (updated_ms, next(self._sequence))
        self._by_id[record_id] = record
        self._key_of[record_id] = key
        insort(self._order, (*key, record_id))

    def delete(self, record_id: str) -> Record | None:
        self._unindex(record_id)
        self._key_of.pop(record_id, None)
        return self._by_id.pop(record_id, None)

    def newest(self, limit: int, where: Callable[[Record], bool] | None = None) -> list[Record]:
        """Up to ``limit`` records, most recently updated first (later writes first on ties)."""
        found: list[Record] = []
        for _, _, record_id in reversed(self._order):
            record = self._by_id[record_id]
            if where is None or where(record):
                found.append(record)
                if len(found) >= limit:
                    break
        return found

    def clear(self) -> None:
        self._by_id.clear()
        self._key_of.clear()
        self._order.clear()

    def all(self) -> list[Record]:
        return self.newest(len(self._order))

    def _unindex(self, record_id: str) -> None:
        key = self._key_of.get(record_id)
        if key is not None:
            del self._order[bisect_left(self._order, (*key, record_id))]
