"""The bytes one namespace may store: records, events and link requests, counted as their JSON.

A write that would take a namespace past ``serve --max-record-bytes`` is refused whole, before
anything is stored, with the documented ``recordStorageFull`` answer; a reset frees it all.
Records the namespace shares with its world are not counted (they cost nothing per namespace).
"""

from __future__ import annotations

from mockserver.errors import ApiError


class StorageFullError(ApiError):
    """A write past the namespace's record bytes (answered ``recordStorageFull``)."""

    def __init__(self, used: int, wanted: int, limit: int) -> None:
        super().__init__(
            "recordStorageFull",
            f"records: this namespace stores {used} bytes and the write needs {wanted} more,"
            f" beyond the limit of {limit} (serve --max-record-bytes; a reset frees them)",
        )


class StorageBudget:
    """Bytes stored by one namespace (the caller holds the namespace's lock)."""

    __slots__ = ("limit", "used")

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0

    def take(self, size: int) -> None:
        """Count ``size`` more bytes (negative: fewer), or raise :class:`StorageFullError`."""
        if size > 0 and self.used + size > self.limit:
            raise StorageFullError(self.used, size, self.limit)
        self.used += size

    def give(self, size: int) -> None:
        """``size`` bytes no longer stored."""
        self.used -= size

    def reset(self) -> None:
        self.used = 0
