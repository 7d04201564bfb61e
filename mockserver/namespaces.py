"""The states of one mock, by namespace (``x-mock-namespace``; the default namespace is "")."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping

from mockserver.state import State


class Namespaces(Mapping[str, State]):
    """The default namespace's state, and the others, each created on first use."""

    def __init__(self, default: State, create: Callable[[], State]) -> None:
        self._states: dict[str, State] = {"": default}
        self._create = create
        self._lock = threading.Lock()

    def state_for(self, namespace: str | None) -> State:
        """The state of ``namespace`` (None or "": the default), created on first use."""
        name = namespace or ""
        state = self._states.get(name)
        if state is None:
            with self._lock:
                state = self._states.get(name)
                if state is None:
                    state = self._states[name] = self._create()
        return state

    def __getitem__(self, name: str) -> State:
        return self._states[name]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._states))

    def __len__(self) -> int:
        return len(self._states)
