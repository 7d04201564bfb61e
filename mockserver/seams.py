"""The declared seams of an app: what ``create_app`` lets a caller replace or add.

Each is chosen once, when the app is built; the request path reads the result from a local
variable (or, for the response post-processors, runs them only when there are some), so an
unused seam costs nothing per request. Planted bugs (``mockserver.bugs``) are the first users.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mockserver.auth import authenticate
from mockserver.handlers.registry import HANDLERS, Caller, Handler
from mockserver.state import State
from mockserver.validation import RequestChecker

if TYPE_CHECKING:
    from flask import Response

    from mockserver.spec import Operation

#: Who is calling, from the namespace's state and the WSGI environ; raises ``ApiError`` (401).
Authenticator = Callable[[State, Mapping[str, Any]], Caller]
#: Runs on every answer (partner API, routing errors, control plane) with the operation that
#: answered (None for routing errors and the control plane), and returns the answer to send.
ResponsePostProcessor = Callable[["Operation | None", "Response"], "Response"]


@dataclass
class Seams:
    """What an app is built from, beyond the spec and the world.

    - ``authenticate``: the authenticator of every partner-API request.
    - ``checker_class``: the request-checker factory, called once per operation with
      ``(operation, schemas, body_rule)``; a class, so a modifier can extend it.
    - ``state_class``: the factory of each namespace's ``State`` (the link and expiry policy
      lives there); a class, so a modifier can extend it.
    - ``handlers``: handler overrides by operationId (the registry's handler otherwise).
    - ``post_processors``: run in order on every answer before it is sent.
    - ``quiet_errors``: unexpected exception types answered 500 and kept in
      ``MockServer.errors`` but not logged (for failures raised on purpose).
    """

    authenticate: Authenticator = authenticate
    checker_class: type[RequestChecker] = RequestChecker
    state_class: type[State] = State
    handlers: dict[str, Handler] = field(default_factory=dict)
    post_processors: list[ResponsePostProcessor] = field(default_factory=list)
    quiet_errors: tuple[type[BaseException], ...] = ()

    def handler(self, operation_id: str) -> Handler:
        """The handler that serves ``operation_id``: the override, else the registry's."""
        return self.handlers.get(operation_id) or HANDLERS[operation_id]
