"""Counts of answers by (operation, status, error string): the one counter behind coverage.

Each namespace's journal keeps one, counted as requests are journaled (so reading coverage costs
nothing per request, and counts entries the journal has since dropped); the inspector's coverage
(``traffic_coverage``) and the pytest plugin's ``--northca-coverage`` (``bot_coverage``) both
read it.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

#: (operationId or None for an unknown route, status or 0 for no answer, error string or None)
Key = tuple[str | None, int, str | None]


def error_string(entry: Mapping[str, Any]) -> str | None:
    """The ``error`` string a journal entry's answer carried, or None (a success, no JSON, cut)."""
    response = entry.get("response")
    text = response.get("body") if isinstance(response, Mapping) else None
    return error_of(text) if isinstance(text, str) else None


def error_of(body: str | bytes) -> str | None:
    """The ``error`` string of an answer's body, or None."""
    if (b'"error"' if isinstance(body, bytes) else '"error"') not in body:  # type: ignore[operator]
        return None
    try:
        parsed = json.loads(body)
    except ValueError:
        return None
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return error if isinstance(error, str) else None


class Tally:
    """How often each (operation, status, error string) came back; mergeable across workers."""

    def __init__(self) -> None:
        self.counts: Counter[Key] = Counter()

    def count(self, operation_id: str | None, status: int, error: str | None) -> None:
        """One more answer."""
        self.counts[(operation_id, status, error)] += 1

    def add(self, entries: Iterable[Mapping[str, Any]]) -> None:
        """Count journal entries (as the journal does when it records them)."""
        for entry in entries:
            status = entry.get("status")
            operation_id = entry.get("operation_id")
            self.count(
                operation_id if isinstance(operation_id, str) else None,
                status if isinstance(status, int) else 0,
                error_string(entry),
            )

    def update(self, other: Tally) -> None:
        """Add ``other``'s counts."""
        self.counts.update(other.counts)

    def clear(self) -> None:
        self.counts.clear()

    def responses(self) -> dict[Key, int]:
        """The counts of answers to an operation (unknown routes and no answer left out)."""
        return {key: n for key, n in self.counts.items() if key[0] is not None and key[1] != 0}

    def dump(self) -> list[list[Any]]:
        """JSON-ready counts (what an xdist worker sends to the controller)."""
        return [
            [op, status, error, n]
            for (op, status, error), n in sorted(self.counts.items(), key=str)
        ]

    def merge(self, dumped: Iterable[list[Any]]) -> None:
        """Add counts from :meth:`dump`."""
        for op, status, error, n in dumped:
            key = (None if op is None else str(op), int(status), error)
            self.counts[key] += int(n)
