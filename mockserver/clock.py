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
        #: :meth:`settled_ms` at the last set, advance or reset, and the real time (ms) then.
        self._moved_at = self._real_ms()
        self._settled_at_move = self._moved_at

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
        """What a simulation runs on: the time the clock was set to (or advanced to, counted
        from the settled time before) plus the whole seconds of real time since. The same moves
        of the clock give the same times, however long the requests between them took (under a
        second each); it is never ahead of :meth:`now_ms`."""
        elapsed = self._real_ms() - self._moved_at
        return min(self._settled_at_move + elapsed // 1000 * 1000, self.now_ms())

    def now(self) -> str:
        return format_ms(self.now_ms())

    def advance(self, seconds: float) -> None:
        settled = self.settled_ms()
        self._offset_ms += round(seconds * 1000)
        self._moved_to(settled + round(seconds * 1000))

    def set(self, epoch_ms: int) -> None:
        self._offset_ms = epoch_ms - self._real_ms()
        self._moved_to(epoch_ms)

    def reset(self) -> None:
        self._offset_ms = 0
        self._moved_to(self._real_ms())

    def hold(self) -> None:
        """Count the real time of :meth:`settled_ms` from now on, without moving it: the time a
        catch-up took right after a move is not the user's."""
        self._moved_to(self.settled_ms())

    def _moved_to(self, settled_ms: int) -> None:
        self._moved_at = self._real_ms()
        self._settled_at_move = settled_ms
