"""The journal of one namespace: partner-API requests, oldest first, bounded in bytes.

Entries may hold request (and response) bodies; a body longer than the body limit is kept as
the start of its text with ``<field>_truncated: true`` beside it, so an entry's size is known
without serialising it, and the journal drops its oldest entries to stay under its byte limit.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from typing import Any

from mockserver.limits import DEFAULT_JOURNAL_MAX_BYTES

#: Entries kept whatever their size.
MAX_ENTRIES = 100_000
#: What an entry costs beyond its path and bodies (method, status, ids, timestamp, as JSON).
ENTRY_OVERHEAD = 160
Entry = dict[str, Any]


def clip(body: Any, raw: bytes, limit: int) -> tuple[Any, int, bool]:
    """``(kept, size, cut)``: the body as journaled, its size in bytes, whether it was cut.

    ``body`` is the parsed body (None: none, or unparsable), ``raw`` its bytes as received or
    sent; a body over ``limit`` bytes is kept as the start of ``raw``, decoded.
    """
    if body is None:
        return None, 0, False
    if len(raw) <= limit:
        return body, len(raw), False
    return raw[:limit].decode("utf-8", "ignore"), limit, True


class Journal:
    """Entries, oldest first: at most :data:`MAX_ENTRIES`, and at most ``max_bytes`` bytes."""

    def __init__(self, max_bytes: int = DEFAULT_JOURNAL_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self._entries: deque[tuple[Entry, int]] = deque()
        self._bytes = 0

    def append(self, entry: Entry, size: int) -> None:
        """Add ``entry`` (``size``: its bodies' bytes), dropping the oldest ones beyond a limit."""
        size += ENTRY_OVERHEAD + len(entry.get("path") or "")
        self._entries.append((entry, size))
        self._bytes += size
        while len(self._entries) > 1 and (
            self._bytes > self.max_bytes or len(self._entries) > MAX_ENTRIES
        ):
            self._bytes -= self._entries.popleft()[1]

    def clear(self) -> None:
        self._entries.clear()
        self._bytes = 0

    @property
    def size(self) -> int:
        """The bytes the entries are counted as."""
        return self._bytes

    def __iter__(self) -> Iterator[Entry]:
        return (entry for entry, _ in self._entries)

    def __len__(self) -> int:
        return len(self._entries)
