"""The timestamp format (ISO-8601 UTC, milliseconds, Z) and the controllable clock."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from mockserver.clock import MAX_CLOCK_MS, Clock, format_ms, parse_iso
from tests.support import ISO_MS_Z

TIMES = st.integers(min_value=0, max_value=MAX_CLOCK_MS)


@given(first=TIMES, second=TIMES)
def test_format_round_trips_and_matches_the_documented_shape(first, second):
    # Two times in a row: the second may or may not share the cached date part of the first.
    for ms in (first, second, first - first % 1000 + 999):
        text = format_ms(ms)
        assert ISO_MS_Z.match(text), text
        assert parse_iso(text) == ms


def test_known_instant():
    assert format_ms(1772328225678) == "2026-03-01T01:23:45.678Z"
    assert format_ms(0) == "1970-01-01T00:00:00.000Z"


def test_clock_offsets_keep_running_and_reset():
    now = [1000.0]
    clock = Clock(source=lambda: now[0])
    clock.set(parse_iso("2026-03-01T01:23:45.678Z"))
    now[0] += 2.5
    assert clock.now() == "2026-03-01T01:23:48.178Z"
    clock.advance(60)
    assert clock.now() == "2026-03-01T01:24:48.178Z"
    clock.reset()
    assert clock.now_ms() == 1_002_500
