"""The mock's controllable clock and its timestamp format (ISO-8601 UTC, milliseconds, ``Z``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timezone

#: 9999-12-31T23:59:59.999Z: the last time the timestamp format can write.
MAX_CLOCK_MS = 253_402_300_799_999


_last_second: tuple[int, str] = (-1, "")


def format_ms(epoch_ms: int) -> str:
    """``2026-03-01T01:23:45.678Z`` for a time in milliseconds since the epoch.

    Times after :data:`MAX_CLOCK_MS` (a link request's expiry computed from a clock near the
    end) are written as that instant: the format has four digits for the year.
    """
    global _last_second
    epoch_ms = min(epoch_ms, MAX_CLOCK_MS)
    seconds, millis = divmod(epoch_ms, 1000)
    cached_second, prefix = _last_second  # requests in the same second share the date part
    if cached_second != seconds:
        prefix = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))
        _last_second = (seconds, prefix)
    return f"{prefix}.{millis:03d}Z"


def parse_iso(text: str) -> int:
    """Milliseconds since the epoch of an ISO-8601 timestamp; naive times are taken as UTC."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return round(moment.timestamp() * 1000)


class Clock:
    """Real time plus an offset: setting or advancing it moves the offset, and it keeps running."""

    def __init__(self, source: Callable[[], float] = time.time) -> None:
        self._source = source
        self._offset_ms = 0
        #: Real time (ms) of the last set, advance or reset: :meth:`settled_ms` counts from it.
        self._moved_at = self._real_ms()

    def _real_ms(self) -> int:
        return int(self._source() * 1000)

    @property
    def offset_ms(self) -> int:
        """How far the clock is from real time."""
        return self._offset_ms

    def now_ms(self) -> int:
        """Milliseconds since the epoch; the clock stops at :data:`MAX_CLOCK_MS` (year 9999)."""
        return min(self._real_ms() + self._offset_ms, MAX_CLOCK_MS)

    def settled_ms(self) -> int:
        """The clock as of its last move plus the whole seconds of real time since: what a
        simulation runs on, so that the same moves of the clock give the same events however
        long the requests between them took (under a second each)."""
        moved_at = self._moved_at
        elapsed = self._real_ms() - moved_at
        return min(moved_at + self._offset_ms + elapsed // 1000 * 1000, MAX_CLOCK_MS)

    def now(self) -> str:
        return format_ms(self.now_ms())

    def advance(self, seconds: float) -> None:
        self._moved_at = self._real_ms()
        self._offset_ms += round(seconds * 1000)

    def set(self, epoch_ms: int) -> None:
        self._moved_at = self._real_ms()
        self._offset_ms = epoch_ms - self._moved_at

    def reset(self) -> None:
        self._moved_at = self._real_ms()
        self._offset_ms = 0
