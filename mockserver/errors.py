"""Errors as data: a handler names a documented example, the spec supplies status and string.

``NorthcaMockError`` is the base of the errors a user can cause and fix (a bad world, state
file, spec, fault plan or option); the CLI reports them in one line. Anything else is a bug.
"""

from __future__ import annotations


class NorthcaMockError(Exception):
    """A problem with what the user gave the mock (world, state file, spec, options)."""


class ApiError(Exception):
    """Answer the current request with the operation's error example ``name``.

    ``detail`` (optional) names the field and the problem; it is sent beside ``error``.
    """

    def __init__(self, name: str, detail: str | None = None) -> None:
        super().__init__(name if detail is None else f"{name}: {detail}")
        self.name = name
        self.detail = detail
