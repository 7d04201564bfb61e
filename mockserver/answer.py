"""An HTTP answer read whole: what the in-process clients and the proxy's upstream call return."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Answer:
    """Status code, reason phrase, headers in order (repeats kept) and the whole body."""

    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes
