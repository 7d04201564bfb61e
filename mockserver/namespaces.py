"""The states of one mock, by namespace (``x-mock-namespace``; the default namespace is "").

A namespace is created on first use by a request that passed its checks (auth), and there are
at most ``limit`` of them: the one past it is :class:`NamespaceLimitError`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping

from mockserver.errors import ApiError
from mockserver.limits import DEFAULT_MAX_NAMESPACES
from mockserver.state import State


class NamespaceLimitError(ApiError):
    """A new namespace past the limit (answered ``namespaceLimitReached``)."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            "namespaceLimitReached",
            f"x-mock-namespace: the mock holds its limit of {limit} namespaces"
            " (serve --max-namespaces)",
        )


class Namespaces(Mapping[str, State]):
    """The default namespace's state, and the others, each created on first use."""

    def __init__(
        self, default: State, create: Callable[[], State], limit: int = DEFAULT_MAX_NAMESPACES
    ) -> None:
        self._states: dict[str, State] = {"": default}
        self._create = create
        self._lock = threading.Lock()
        self.limit = limit
        self._prototype: State | None = None

    def existing(self, namespace: str | None) -> State | None:
        """The state of ``namespace`` if it exists (None or "": the default); never creates."""
        return self._states.get(namespace or "")

    @property
    def prototype(self) -> State:
        """A state as a new namespace would start, never served: what auth checks against
        before a namespace is created."""
        if self._prototype is None:
            with self._lock:
                if self._prototype is None:
                    self._prototype = self._create()
        return self._prototype

    def state_for(self, namespace: str | None) -> State:
        """The state of ``namespace`` (None or "": the default), created on first use."""
        name = namespace or ""
        state = self._states.get(name)
        if state is None:
            with self._lock:
                state = self._states.get(name)
                if state is None:
                    if len(self._states) >= self.limit:
                        raise NamespaceLimitError(self.limit)
                    state = self._states[name] = self._create()
        return state

    def freeze(self) -> None:
        """Take every namespace's lock, and the one that creates namespaces, never to release
        them: no request is applied after this (the caller may still read the states)."""
        self._lock.acquire()
        for state in list(self._states.values()):
            state.lock.acquire()

    def drop_named(self) -> None:
        """Forget every namespace but the default one (the pytest fixture, between tests)."""
        with self._lock:
            for name in [name for name in self._states if name]:
                del self._states[name]

    def __getitem__(self, name: str) -> State:
        return self._states[name]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._states))

    def __len__(self) -> int:
        return len(self._states)
