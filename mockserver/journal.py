"""The journal of partner-API requests of one namespace, kept compact.

Each entry is stored as the JSON of its values (one ``bytes`` object) beside the tuple of its
keys, shared by every entry of that shape: a fraction of the memory of a dict of strings and a
parsed body, and nothing the cyclic garbage collector has to walk. Reading decodes: entries come
back as the dicts that were appended.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

from mockserver.store import encode

Entry = dict[str, Any]


class Journal:
    """At most ``limit`` entries, oldest first; appending beyond drops the oldest."""

    def __init__(self, limit: int) -> None:
        self._entries: deque[tuple[tuple[str, ...], bytes]] = deque(maxlen=limit)
        self._shapes: dict[tuple[str, ...], tuple[str, ...]] = {}

    def append(self, entry: Mapping[str, Any]) -> None:
        """Keep ``entry`` (JSON-ready values, as the control plane returns them)."""
        keys = tuple(entry)
        keys = self._shapes.setdefault(keys, keys)
        self._entries.append((keys, encode(list(entry.values()))))

    def __iter__(self) -> Iterator[Entry]:
        for keys, data in self._entries:
            yield dict(zip(keys, json.loads(data), strict=True))

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
