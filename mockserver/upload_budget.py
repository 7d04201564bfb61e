"""The bytes of request bodies a server holds at once, across every connection.

Each body is read whole before the app runs (so no lock waits on a slow client); this bounds
what those reads hold together (``serve --max-inflight-body-bytes``). A body is counted at its
declared length, or at the body size limit plus one when it is chunked, from before its first
byte is read until its answer is built. A body that does not fit is answered 503
``tooManyUploads`` at once, without reading it.
"""

from __future__ import annotations

import threading

#: Bytes of request bodies held at once: 64 bodies of the 1 MiB limit.
DEFAULT_MAX_INFLIGHT_BODY_BYTES = 64 << 20


class UploadBudget:
    """Bytes reserved by the bodies being read or answered; thread-safe."""

    __slots__ = ("_lock", "held", "limit")

    def __init__(self, limit: int = DEFAULT_MAX_INFLIGHT_BODY_BYTES) -> None:
        self.limit = limit
        self.held = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> bool:
        """Reserve ``size`` bytes; False (nothing reserved) when they do not fit."""
        with self._lock:
            if self.held + size > self.limit:
                return False
            self.held += size
            return True

    def give(self, size: int) -> None:
        """Release a reservation of :meth:`take`."""
        with self._lock:
            self.held -= size
