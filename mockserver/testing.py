"""Test helpers behind the pytest plugin: the mock handle, its journal, the server thread.

Importing this module imports Flask and the mock; :mod:`mockserver.pytest_plugin` only imports
it when a test asks for a ``northca_*`` fixture.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mockserver.app import create_app
from mockserver.clock import parse_iso
from mockserver.errors import ErrorLog
from mockserver.server import MockServer, WorldSource, server_of
from mockserver.threaded import ThreadedServer
from mockserver.world import World

if TYPE_CHECKING:
    from flask import Flask
    from flask.testing import FlaskClient

__all__ = [
    "INPROCESS_URL",
    "Journal",
    "NorthcaMock",
    "NorthcaServerError",
    "ServerThread",
    "WSGIAdapter",
    "default_world",
]

#: Base URL of the in-process mock (``northca_inprocess``): requests to it never leave Python.
INPROCESS_URL = "http://northca-mock.local"
Entry = dict[str, Any]


class NorthcaServerError(AssertionError):
    """The mock raised an unexpected exception while serving a test (the client saw a 500)."""


def default_world(**overrides: Any) -> dict[str, Any]:
    """The packaged default world as a dict, with top-level keys replaced by ``overrides``.

    ``default_world(records={MDT: {"shifts": [...]}})`` is the default world plus records.
    """
    from mockserver.world import default_world_path, read_world_file

    world: dict[str, Any] = dict(read_world_file(default_world_path()))
    world.update(overrides)
    return world


# -- the journal ---------------------------------------------------------------------------------
class Journal:
    """The partner-API requests the mock received since the last reset, oldest first.

    Each entry is a dict: ``seq``, ``method``, ``path``, ``query``, ``headers`` (secrets
    redacted), ``body``, ``status``, ``operation_id``, ``timestamp`` and ``response`` (see
    ``mockserver.journal``). It is a live view: read it after the calls you want to check.
    """

    def __init__(self, server: MockServer) -> None:
        self._state = server.state

    def entries(self) -> list[Entry]:
        """A copy of every entry, oldest first."""
        with self._state.lock:
            return [dict(entry) for entry in self._state.journal]

    def calls(
        self,
        operation_id: str | None = None,
        *,
        method: str | None = None,
        path: str | None = None,
        status: int | None = None,
    ) -> list[Entry]:
        """Entries matching every given filter (``path`` with or without ``/v1``)."""
        found = []
        for entry in self.entries():
            if operation_id is not None and entry["operation_id"] != operation_id:
                continue
            if method is not None and entry["method"] != method.upper():
                continue
            if path is not None and _strip_v1(entry["path"]) != _strip_v1(path):
                continue
            if status is not None and entry["status"] != status:
                continue
            found.append(entry)
        return found

    def assert_called(
        self, operation_id: str, times: int | None = None, *, status: int | None = None
    ) -> list[Entry]:
        """Assert ``operation_id`` was called (exactly ``times`` times if given); its entries."""
        __tracebackhide__ = True
        found = self.calls(operation_id, status=status)
        what = operation_id if status is None else f"{operation_id} (status {status})"
        if times is None and not found:
            raise AssertionError(f"{what} was never called\n{self._describe()}")
        if times is not None and len(found) != times:
            raise AssertionError(
                f"{what} was called {len(found)} time(s), expected {times}\n{self._describe()}"
            )
        return found

    def assert_not_called(self, operation_id: str) -> None:
        """Assert ``operation_id`` was never called."""
        __tracebackhide__ = True
        self.assert_called(operation_id, times=0)

    @property
    def operation_ids(self) -> list[str | None]:
        """The operationId of every request, in order (None for unknown routes)."""
        return [entry["operation_id"] for entry in self.entries()]

    @property
    def last(self) -> Entry | None:
        """The latest entry, or None."""
        entries = self.entries()
        return entries[-1] if entries else None

    def clear(self) -> None:
        """Forget every entry (the state is untouched)."""
        with self._state.lock:
            self._state.journal.clear()

    def __len__(self) -> int:
        return len(self._state.journal)

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries())

    def __getitem__(self, index: int) -> Entry:
        return self.entries()[index]

    def __repr__(self) -> str:
        return f"<Journal {len(self)} request(s)>"

    def _describe(self) -> str:
        entries = self.entries()
        if not entries:
            return "the mock received no partner-API request"
        lines = [
            f"  {e['method']} {e['path']} -> {e['status']} ({e['operation_id']})" for e in entries
        ]
        return "requests received:\n" + "\n".join(lines)


def _strip_v1(path: str) -> str:
    bare = path.split("?", 1)[0].rstrip("/")
    return bare[3:] if bare.startswith("/v1/") or bare == "/v1" else bare


# -- the handle ----------------------------------------------------------------------------------
class ErrorCursor:
    """How many of a server's errors were already reported; shared by the handles of one test."""

    def __init__(self) -> None:
        self.position = 0

    def unseen(self, errors: ErrorLog) -> list[BaseException]:
        """The errors after the cursor (those still kept: the log holds the newest)."""
        return errors.since(self.position)

    def catch_up(self, errors: ErrorLog) -> None:
        """Mark every error so far as reported."""
        self.position = errors.total


@dataclass
class NorthcaMock:
    """One mock as a test sees it: where it is, who to be, and control of its state.

    ``url`` is the base URL (paths work with and without ``/v1``; ``v1_url`` adds it). For the
    in-process mock ``url`` is :data:`INPROCESS_URL`, reachable through :attr:`session`.
    """

    app: Flask
    url: str
    in_process: bool = False
    #: How many of ``server.errors`` were already reported; shared by the handles of one test.
    _errors_seen: ErrorCursor = field(default_factory=ErrorCursor, repr=False)
    _session: Any = field(default=None, repr=False)

    def over(self, url: str) -> NorthcaMock:
        """The same mock and test, reached over a socket at ``url``."""
        return NorthcaMock(self.app, url, False, self._errors_seen)

    @property
    def server(self) -> MockServer:
        """The :class:`~mockserver.app.MockServer` behind the app (spec, state, errors)."""
        return server_of(self.app)

    @property
    def v1_url(self) -> str:
        """``url`` + ``/v1``, as the real API's base URL."""
        return self.url + "/v1"

    # who to be
    @property
    def world(self) -> World:
        """The world loaded for this test."""
        return self.server.state.world

    @property
    def partner_key(self) -> str:
        """The world's first partner key (``test-key`` in the default world)."""
        return next(iter(self.world.partner_keys), "")

    @property
    def guild_id(self) -> str:
        """The guild of the world's first link (``123456789012345678`` by default)."""
        links = self.world.links
        return links[0].guild_id if links else ""

    @property
    def mdt_id(self) -> str:
        """The MDT of the world's first link (else its first MDT)."""
        links = self.world.links
        return links[0].mdt_id if links else next(iter(self.world.mdts), "")

    @property
    def owner_id(self) -> str:
        """The Discord id of the owner of :attr:`mdt_id` (``222222222222222222`` by default)."""
        mdt = self.world.mdts.get(self.mdt_id)
        return (mdt.owner_discord_id or "") if mdt else ""

    @property
    def headers(self) -> dict[str, str]:
        """Partner key, guild and actor (the MDT's owner) headers; a new dict each time."""
        return self.headers_for()

    def headers_for(
        self, *, key: str | None = None, guild: str | None = None, actor: str | None = None
    ) -> dict[str, str]:
        """:attr:`headers` with some values replaced; pass ``""`` to leave a header out."""
        values = {
            "x-partner-key": self.partner_key if key is None else key,
            "x-discord-guild": self.guild_id if guild is None else guild,
            "x-discord-actor": self.owner_id if actor is None else actor,
        }
        return {name: value for name, value in values.items() if value}

    # clients
    @property
    def client(self) -> FlaskClient:
        """A Flask test client of the same mock (no socket)."""
        return self.app.test_client()

    @property
    def session(self) -> Any:
        """A ``requests.Session`` that reaches this mock at :attr:`url` (in-process if it is)."""
        if self._session is None:
            import requests

            self._session = requests.Session()
            if self.in_process:
                self._session.mount(self.url, WSGIAdapter(self.app))
        return self._session

    # state
    @property
    def requests(self) -> Journal:
        """The journal of partner-API requests, with ``assert_called`` and friends."""
        return Journal(self.server)

    def reset(self) -> None:
        """Back to this test's world: records, links, link requests, clock and journal."""
        self.server.state.reset()

    def state(self) -> dict[str, Any]:
        """Everything, as ``GET /__mock/state`` returns it."""
        return self.server.state.snapshot()

    def set_world(self, world: WorldSource) -> World:
        """Load another world (path, dict or World; None: the session's world) and reset."""
        loaded = self.server.load_world(world) if world is not None else _base_world(self.app)
        self.server.state.load(loaded)
        return loaded

    def advance_clock(self, seconds: float) -> str:
        """Move the mock's clock forward (it keeps running); the new time, ISO-8601."""
        clock = self.server.state.clock
        with self.server.state.lock:
            clock.advance(seconds)
            return clock.now()

    def set_clock(self, when: str | datetime | int) -> str:
        """Set the clock to an ISO-8601 string, an aware datetime or epoch milliseconds."""
        if isinstance(when, datetime):
            when = when.isoformat()
        epoch_ms = parse_iso(when) if isinstance(when, str) else when
        clock = self.server.state.clock
        with self.server.state.lock:
            clock.set(epoch_ms)
            return clock.now()

    def now(self) -> str:
        """The mock's current time, ISO-8601 with milliseconds and ``Z``."""
        return self.server.state.clock.now()

    # errors
    @property
    def errors(self) -> list[BaseException]:
        """Unexpected exceptions raised while serving since this test started."""
        return self._errors_seen.unseen(self.server.errors)

    def check_errors(self, test_failure: BaseException | None = None) -> None:
        """Raise :class:`NorthcaServerError` (from the first one) if the mock raised since the
        last check; later checks only see newer errors."""
        __tracebackhide__ = True
        errors = self.errors
        log = self.server.errors
        raised = log.total - self._errors_seen.position
        self._errors_seen.catch_up(log)
        if raised <= 0:
            return
        failed = [
            f"  {e['method']} {e['path']} -> 500 ({e['operation_id']})"
            for e in self.requests.calls(status=500)
        ]
        lines = [f"the Northca mock raised {raised} unexpected exception(s) (answered 500):"]
        lines += ["".join(traceback.format_exception_only(type(e), e)).rstrip() for e in errors]
        if raised > len(errors):  # dropped past --max-errors, or cleared by POST /__mock/reset
            lines.append(f"({raised - len(errors)} of them no longer kept: see max_errors)")
        if failed:
            lines += ["requests answered 500:", *failed]
        if test_failure is not None:
            summary = "".join(traceback.format_exception_only(type(test_failure), test_failure))
            lines.append(f"the test failed too: {summary.rstrip()}")
        raise NorthcaServerError("\n".join(lines)) from (errors[0] if errors else None)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None


def _base_world(app: Flask) -> World:
    world: World = app.extensions["northca_base_world"]
    return world


def build_app(spec: str | Path | None, world: WorldSource) -> Flask:
    """The session's app: ``create_app(spec, world)``, remembering that world for resets."""
    app = create_app(spec, world)
    app.extensions["northca_base_world"] = server_of(app).state.world
    return app


def prepare(app: Flask, world: WorldSource) -> NorthcaMock:
    """The in-process handle of one test: ``world`` loaded (None: the session's world), reset,
    and only errors raised from now on reported."""
    mock = NorthcaMock(app, INPROCESS_URL, in_process=True)
    mock.set_world(world)
    mock._errors_seen.catch_up(mock.server.errors)
    return mock


# -- the server thread ---------------------------------------------------------------------------
class ServerThread(ThreadedServer):
    """The app served on ``host`` and a free port by werkzeug, in a daemon thread; an exception
    that escapes Flask's own handler is kept with the mock's other errors."""

    def __init__(self, app: Flask, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__(app, host, port, on_error=lambda exc: server_of(app).errors.append(exc))


# -- requests in-process -------------------------------------------------------------------------
class WSGIAdapter:
    """A ``requests`` transport adapter that calls a WSGI app instead of opening a socket.

    ``session.mount(INPROCESS_URL, WSGIAdapter(app))``.
    """

    def __init__(self, app: Callable[..., Any]) -> None:
        self.app = app

    def send(self, request: Any, **options: Any) -> Any:
        """Answer a prepared request from the app (``options``, e.g. timeout, are ignored)."""
        import requests
        from requests.structures import CaseInsensitiveDict
        from requests.utils import get_encoding_from_headers
        from werkzeug.test import EnvironBuilder, run_wsgi_app

        url = urlsplit(request.url)
        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes):
            body = b"".join(body)
        headers = dict(request.headers)
        builder = EnvironBuilder(
            path=url.path or "/",
            base_url=f"{url.scheme}://{url.netloc}",
            query_string=url.query,
            method=request.method,
            headers=headers,
            data=body or b"",
            content_type=headers.get("Content-Type"),
        )
        try:
            app_iter, status, response_headers = run_wsgi_app(self.app, builder.get_environ())
            try:
                content = b"".join(app_iter)
            finally:
                close = getattr(app_iter, "close", None)
                if close is not None:
                    close()
        finally:
            builder.close()
        response = requests.Response()
        code, _space, reason = status.partition(" ")
        response.status_code = int(code)
        response.reason = reason
        response.headers = CaseInsensitiveDict(dict(response_headers.items()))
        response.encoding = get_encoding_from_headers(response.headers)
        response._content = content
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        pass
