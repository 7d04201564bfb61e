"""Keep the partner key out of everything the checker writes: console, curl lines, JUnit, coverage.

The engine passes every event through a :class:`Redactor` before any reporter sees it, so a
reporter (ours or yours) never receives the key. A ``curl`` reproduction keeps working: its
header becomes ``"x-partner-key: ${NORTHCA_PARTNER_KEY}"``, which the shell expands.
"""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
from typing import TypeVar

from contracts.events import CheckFinished, Event, Failure, RunFinished

#: What the partner key is replaced by, everywhere.
PLACEHOLDER = "${NORTHCA_PARTNER_KEY}"
KEY_HEADER = "x-partner-key"
_E = TypeVar("_E", bound=Event)
_J = TypeVar("_J")


class Redactor:
    """Replaces each secret (and its quoted forms) by :data:`PLACEHOLDER`."""

    def __init__(self, *secrets: str | None) -> None:
        self.secrets = tuple(sorted({s for s in secrets if s}, key=len, reverse=True))

    def add(self, *secrets: str | None) -> None:
        """Redact ``secrets`` too from now on (thread-safe: the tuple is replaced whole)."""
        known = set(self.secrets)
        if all(not s or s in known for s in secrets):
            return
        self.secrets = tuple(sorted(known | {s for s in secrets if s}, key=len, reverse=True))

    def json(self, value: _J) -> _J:
        """A copy of the JSON value ``value`` with every secret redacted."""
        if not self.secrets:
            return value
        redacted: _J = json.loads(self.text(json.dumps(value)))
        return redacted

    def text(self, value: str) -> str:
        for secret in self.secrets:
            if secret not in value:
                continue
            header = re.escape(shlex.quote(f"{KEY_HEADER}: {secret}")).replace(
                re.escape(KEY_HEADER), f"({re.escape(KEY_HEADER)})"
            )
            value = re.sub(
                header, lambda m: f'"{m.group(1)}: {PLACEHOLDER}"', value, flags=re.IGNORECASE
            )
            value = value.replace(json.dumps(secret)[1:-1], PLACEHOLDER)
            value = value.replace(secret, PLACEHOLDER)
        return value

    def failure(self, failure: Failure) -> Failure:
        if not self.secrets:
            return failure
        changes = {
            f.name: self.text(getattr(failure, f.name))
            for f in dataclasses.fields(failure)
            if isinstance(getattr(failure, f.name), str)
        }
        return dataclasses.replace(failure, **changes)

    def event(self, event: _E) -> _E:
        """The event with every failure it carries redacted."""
        if not self.secrets:
            return event
        if isinstance(event, CheckFinished):
            failures = tuple(self.failure(f) for f in event.failures)
            return dataclasses.replace(event, failures=failures, name=self.text(event.name))
        if isinstance(event, RunFinished):
            return dataclasses.replace(
                event,
                failures=tuple(self.failure(f) for f in event.failures),
                checks=tuple(self.event(c) for c in event.checks),
            )
        return event
