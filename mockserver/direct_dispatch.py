"""Partner-API requests straight to their compiled view, without Flask's dispatch.

Flask's request context, URL adapter, hooks and response processing cost more than the mock's
own checks. :class:`DirectDispatch` sits in front of the Flask app (``app.wsgi_app``) and
answers a request itself only when exactly one operation of the spec matches its method and
path (with or without the base path) and that operation's view is still the compiled one.
Everything else - the control plane, the inspector, the spec documents, 404, 405, ``HEAD``, a
view a test swapped in - goes to Flask unchanged, so routing errors keep one implementation.
The app does not install it when response post-processors are declared (they are Flask hooks),
and every request goes to Flask while the app has app-wide request hooks beyond its own (a
user's ``before_request``, ``after_request`` or ``teardown_request``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from flask import Flask, Request, Response

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: A compiled view called directly: the request and its path parameters.
DirectView = Callable[[Request, dict[str, str]], Response]


class _Route:
    """One operation's path as segments: a static segment is matched exactly, a ``{name}`` one
    takes any non-empty segment (werkzeug's default converter)."""

    __slots__ = ("operation_id", "params", "statics")

    def __init__(self, operation_id: str, template: str) -> None:
        self.operation_id = operation_id
        segments = template.split("/")
        self.statics = tuple(
            (i, part) for i, part in enumerate(segments) if not part.startswith("{")
        )
        self.params = tuple(
            (i, part[1:-1]) for i, part in enumerate(segments) if part.startswith("{")
        )

    def match(self, segments: list[str]) -> dict[str, str] | None:
        for i, part in self.statics:
            if segments[i] != part:
                return None
        params = {name: segments[i] for i, name in self.params}
        return params if all(params.values()) else None


class DirectDispatch:
    """WSGI middleware answering partner operations through their compiled views."""

    def __init__(
        self,
        app: Flask,
        fallback: WsgiApp,
        paths: Iterable[tuple[str, str, str]],
        views: Mapping[str, tuple[Callable[..., Response], DirectView]],
    ) -> None:
        """``paths``: (operationId, method, path template such as ``/v1/mdts/{mdtId}``), one
        per prefix; ``views``: operationId -> (its Flask view, the same view called directly).
        ``fallback`` is the Flask app's own ``wsgi_app``."""
        self.app = app
        self.fallback = fallback
        self.views = dict(views)
        #: The app-wide hooks the app was built with (its own).
        self._own_hooks = _hooks(app)
        self.routes: dict[tuple[str, int], list[_Route]] = {}
        for operation_id, method, template in paths:
            route = _Route(operation_id, template)
            self.routes.setdefault((method, template.count("/")), []).append(route)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path: str = environ.get("PATH_INFO", "")
        routes = self.routes.get((environ.get("REQUEST_METHOD", ""), path.count("/")))
        if routes is None or "%" in _sent_path(environ):
            # A percent-escape can hide a "/" inside an id: mockserver.raw_path routes it.
            return self.fallback(environ, start_response)
        if not path.isascii():  # as werkzeug decodes it for routing
            path = path.encode("latin-1").decode(errors="replace")
        segments = path.split("/")
        found: tuple[str, dict[str, str]] | None = None
        for route in routes:
            params = route.match(segments)
            if params is not None:
                if found is not None:  # ambiguous: werkzeug's rule weights decide
                    return self.fallback(environ, start_response)
                found = (route.operation_id, params)
        if found is None:
            return self.fallback(environ, start_response)
        operation_id, params = found
        view, direct = self.views[operation_id]
        app = self.app
        if app.view_functions.get(operation_id) is not view or _hooks(app) != self._own_hooks:
            return self.fallback(environ, start_response)
        response = direct(app.request_class(environ), params)
        status = response.status_code
        body = response.response
        if (
            status >= 200
            and status not in (204, 304)
            and isinstance(body, list)
            and "Content-Length" in response.headers
            and "Location" not in response.headers
        ):
            # What werkzeug would send for a buffered body with its length, without its copy of
            # the headers and its closing iterator (the views' answers are plain bytes).
            start_response(response.status, response.headers.to_wsgi_list())
            return body
        return response(environ, start_response)


def _hooks(app: Flask) -> tuple[int, int, int]:
    """How many app-wide before, after and teardown request hooks ``app`` has."""
    return (
        len(app.before_request_funcs.get(None, ())),
        len(app.after_request_funcs.get(None, ())),
        len(app.teardown_request_funcs.get(None, ())),
    )


def _sent_path(environ: dict[str, Any]) -> str:
    """The path as the client sent it, when the server says (else the decoded one)."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "")
    return str(raw).split("?", 1)[0]
