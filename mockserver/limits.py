"""The caps that keep one mock's memory bounded, with their defaults (README: "Limits").

Each cap is a ``serve`` flag and a ``create_app`` parameter of the same name.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Bytes of one namespace's journal (``GET /__mock/requests``), counted as the JSON of entries.
DEFAULT_JOURNAL_MAX_BYTES = 4 << 20
#: Bytes of one journaled body beyond which it is cut (and marked ``body_truncated``).
DEFAULT_JOURNAL_MAX_BODY_BYTES = 16 << 10
#: Namespaces (``x-mock-namespace``), the default one included.
DEFAULT_MAX_NAMESPACES = 100
#: MDTs in one world.
DEFAULT_MAX_MDTS = 10_000
#: Link records a world makes: a link for every partner counts once per partner.
DEFAULT_MAX_WORLD_LINKS = 100_000
#: Bytes of records, events and link requests one namespace stores beyond its world (as JSON).
DEFAULT_MAX_RECORD_BYTES = 16 << 20
#: Unexpected exceptions kept in ``MockServer.errors`` (the newest; the others are counted).
DEFAULT_MAX_ERRORS = 100
#: Events a minute a simulation may make (``serve --simulate``, ``POST /__mock/simulation``).
MAX_SIMULATED_EVENTS_PER_MINUTE = 6_000
#: Events one simulation catch-up applies; the rest of a longer clock jump is skipped.
MAX_SIMULATED_EVENTS_PER_CATCH_UP = 20_000


@dataclass(frozen=True)
class Limits:
    """The caps of one mock (see the module's constants for what each bounds)."""

    journal_max_bytes: int = DEFAULT_JOURNAL_MAX_BYTES
    journal_max_body_bytes: int = DEFAULT_JOURNAL_MAX_BODY_BYTES
    max_namespaces: int = DEFAULT_MAX_NAMESPACES
    max_mdts: int = DEFAULT_MAX_MDTS
    max_world_links: int = DEFAULT_MAX_WORLD_LINKS
    max_errors: int = DEFAULT_MAX_ERRORS
    max_record_bytes: int = DEFAULT_MAX_RECORD_BYTES

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name}: expected a whole number of at least 1, got {value!r}")
