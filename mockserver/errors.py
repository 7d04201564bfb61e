"""Errors as data: a handler names a documented example, the spec supplies status and string."""

from __future__ import annotations


class ApiError(Exception):
    """Answer the current request with the operation's error example ``name``.

    ``detail`` (optional) names the field and the problem; it is sent beside ``error``.
    """

    def __init__(self, name: str, detail: str | None = None) -> None:
        super().__init__(name if detail is None else f"{name}: {detail}")
        self.name = name
        self.detail = detail
