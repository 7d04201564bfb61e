"""Errors as data: a handler names a documented example, the spec supplies status and string.

``NorthcaMockError`` is the base of the errors a user can cause and fix (a bad world, state
file, spec, fault plan or option); the CLI reports them in one line. Anything else is a bug.
"""

from __future__ import annotations


class NorthcaMockError(Exception):
    """A problem with what the user gave the mock (world, state file, spec, options)."""


class ApiError(Exception):
    """Answer the current request with the operation's error example ``name``.

    ``detail`` (optional) names the field and the problem; it is sent in the
    ``x-northca-mock-detail`` response header and the journal, never in the body.
    """

    def __init__(self, name: str, detail: str | None = None) -> None:
        super().__init__(name if detail is None else f"{name}: {detail}")
        self.name = name
        self.detail = detail


class ErrorLog(list[BaseException]):
    """Unexpected exceptions, the newest ``limit`` of them; ``total`` counts every one ever kept.

    ``clear()`` empties it (a control-plane reset does) but ``total`` keeps counting, so a
    reader that remembers ``total`` finds the newer ones with :meth:`since`.
    """

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit
        self.total = 0

    @property
    def dropped(self) -> int:
        """How many were recorded but are no longer kept (cleared or past the limit)."""
        return self.total - len(self)

    def append(self, error: BaseException) -> None:
        super().append(error)
        self.total += 1
        if len(self) > self.limit:
            del self[: len(self) - self.limit]

    def since(self, position: int) -> list[BaseException]:
        """The kept errors recorded after the first ``position`` ones."""
        return list(self[max(0, position - self.dropped) :])
