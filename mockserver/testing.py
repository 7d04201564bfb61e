"""Test helpers behind the pytest plugin: the mock handle, its journal, the server thread.

Importing this module imports Flask and the mock; :mod:`mockserver.pytest_plugin` only imports
it when a test asks for a ``northca_*`` fixture.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from mockserver.app import create_app
from mockserver.clock import parse_iso
from mockserver.control import NAMESPACE_HEADER
from mockserver.errors import ErrorLog
from mockserver.faults import PREFER_HEADER, FaultPlan
from mockserver.journal import error_string
from mockserver.server import MockServer, WorldSource, server_of
from mockserver.state import State
from mockserver.tally import Tally
from mockserver.threaded import ThreadedServer
from mockserver.world import World
from mockserver.world_data import WorldData, world_data
from mockserver.wsgi_call import call_wsgi

if TYPE_CHECKING:
    import httpx
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
#: Receives a journal's counts of answers (``Journal.tally``) before the handle forgets them
#: (reset, set_world, clear): the plugin's ``--northca-coverage`` tally.
JournalSink = Callable[[Tally], None]


class NorthcaServerError(AssertionError):
    """The mock raised an unexpected exception while serving a test (the client saw a 500)."""


def generated_world(options: Mapping[str, Any]) -> dict[str, Any]:
    """A world from ``northca-mock world generate``'s options (``{"seed": 1, "mdts": 3}``)."""
    from mockserver.spec import load_spec
    from mockserver.world_generate import GenerateOptions, generate_world

    known = set(GenerateOptions.__dataclass_fields__) - {"vocabulary"}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"generate: unknown option(s) {unknown}; expected some of {sorted(known)}")
    values = dict(options)
    if "maps" in values:
        values["maps"] = tuple(values["maps"])
    return generate_world(GenerateOptions(**values), load_spec())


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
    """The partner-API requests one namespace of the mock received since the last reset, oldest
    first. It is a live view: read it after the calls you want to check.

    Each entry is a dict:

    - ``method``, ``path`` (as sent, with or without ``/v1``), ``query`` (the raw query string,
      ``""`` when none), ``headers`` (the request's headers, names in lower case, the partner key,
      admin token, authorization and cookies shown as ``"[redacted]"``), ``body`` (the parsed
      JSON body, or None);
    - ``status``, ``operation_id`` (None for a path no operation serves), ``detail`` (an error's
      ``x-northca-mock-detail``, or None), ``response`` (``status``, ``headers``, ``body`` as
      text, see ``mockserver.journal``), ``timestamp`` (the mock's clock);
    - ``connection_fault`` (``reset`` or ``empty``) only when a fault plan broke the connection
      (``status`` is then 0).
    """

    def __init__(self, state: State, sink: JournalSink | None = None) -> None:
        self._state = state
        self._sink = sink

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
        query: str | Mapping[str, str | Sequence[str]] | None = None,
        headers: Mapping[str, str] | None = None,
        error: str | None = None,
    ) -> list[Entry]:
        """Entries matching every given filter.

        ``path`` matches with or without ``/v1``; ``query`` is a substring of the raw query
        string (``"department=Patrol"``) or a dict of parameters that must all be present with
        these values (a list: every value, in order); ``headers`` must all be present with these
        values (names in any case); ``error`` is the error string the mock answered.
        """
        wanted_headers = {name.lower(): value for name, value in (headers or {}).items()}
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
            if query is not None and not _query_matches(entry.get("query", ""), query):
                continue
            sent = entry.get("headers", {})
            if any(sent.get(name) != value for name, value in wanted_headers.items()):
                continue
            if error is not None and error_string(entry) != error:
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
            if self._sink is not None:
                self._sink(self._state.journal.tally)
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


def _query_matches(raw: str, wanted: str | Mapping[str, str | Sequence[str]]) -> bool:
    if isinstance(wanted, str):
        return wanted in raw
    sent: dict[str, list[str]] = {}
    for name, value in parse_qsl(raw, keep_blank_values=True):
        sent.setdefault(name, []).append(value)
    for name, expected in wanted.items():
        got = sent.get(name, [])
        if expected not in got if isinstance(expected, str) else got != list(expected):
            return False
    return True


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
    in-process mock ``url`` is :data:`INPROCESS_URL`, reachable through :attr:`session` and
    :meth:`async_client`. A handle from :meth:`namespace` sees and controls one
    ``x-mock-namespace`` of the same server.
    """

    app: Flask
    url: str
    in_process: bool = False
    #: How many of ``server.errors`` were already reported; shared by the handles of one test.
    _errors_seen: ErrorCursor = field(default_factory=ErrorCursor, repr=False)
    _session: Any = field(default=None, repr=False)
    #: The ``x-mock-namespace`` this handle is bound to ("" for the default namespace).
    _namespace: str = ""
    _sink: JournalSink | None = field(default=None, repr=False)

    def over(self, url: str) -> NorthcaMock:
        """The same mock and test, reached over a socket at ``url``."""
        return NorthcaMock(
            self.app, url, False, self._errors_seen, None, self._namespace, self._sink
        )

    def namespace(self, name: str) -> NorthcaMock:
        """A handle of the same server bound to ``x-mock-namespace: name``: its headers, session
        and async client send the header, and its journal, clock, state, world and faults are
        that namespace's. A namespace starts from this test's world and ends with the test."""
        if not isinstance(name, str) or not name:
            raise ValueError("namespace(name): expected a non-empty string")
        return NorthcaMock(
            self.app, self.url, self.in_process, self._errors_seen, None, name, self._sink
        )

    @property
    def namespace_name(self) -> str | None:
        """The ``x-mock-namespace`` of this handle, None for the default namespace."""
        return self._namespace or None

    @property
    def server(self) -> MockServer:
        """The :class:`~mockserver.app.MockServer` behind the app (spec, state, errors)."""
        return server_of(self.app)

    @property
    def _state(self) -> State:
        return self.server.state_for(self._namespace or None)

    @property
    def v1_url(self) -> str:
        """``url`` + ``/v1``, as the real API's base URL."""
        return self.url + "/v1"

    # who to be
    @property
    def world(self) -> WorldData:
        """This namespace's world as a typed dict, the shape of a world file: ``partner_keys``,
        ``link_request_ttl_seconds``, ``mdts``, ``links``, ``records``, ``faults``. A new copy
        each time (the live records are in :meth:`state`)."""
        return world_data(self._world)

    @property
    def _world(self) -> World:
        return self._state.world

    @property
    def partner_key(self) -> str:
        """The world's first partner key (``test-key`` in the default world)."""
        return next(iter(self._world.partner_keys), "")

    @property
    def guild_id(self) -> str:
        """The guild of the world's first link (``123456789012345678`` by default)."""
        links = self._world.links
        return links[0].guild_id if links else ""

    @property
    def mdt_id(self) -> str:
        """The MDT of the world's first link (else its first MDT)."""
        links = self._world.links
        return links[0].mdt_id if links else next(iter(self._world.mdts), "")

    @property
    def owner_id(self) -> str:
        """The Discord id of the owner of :attr:`mdt_id` (``222222222222222222`` by default)."""
        return self._owner_of(self.mdt_id)

    @property
    def second_mdt_id(self) -> str:
        """The world's first MDT other than :attr:`mdt_id` (default world: not linked to the
        guild, ``9b1d3f2e-5a47-4c8e-9f10-2d6c7b8a9e01``); ``""`` if there is none."""
        first = self.mdt_id
        return next((mdt_id for mdt_id in self._world.mdts if mdt_id != first), "")

    @property
    def second_owner_id(self) -> str:
        """The owner of :attr:`second_mdt_id` (``333333333333333333`` by default)."""
        return self._owner_of(self.second_mdt_id)

    def _owner_of(self, mdt_id: str) -> str:
        mdt = self._world.mdts.get(mdt_id)
        return (mdt.owner_discord_id or "") if mdt else ""

    @property
    def headers(self) -> dict[str, str]:
        """Partner key, guild and actor (the MDT's owner) headers, and ``x-mock-namespace`` for a
        namespace's handle; a new dict each time."""
        return self.headers_for()

    def headers_for(
        self, *, key: str | None = None, guild: str | None = None, actor: str | None = None
    ) -> dict[str, str]:
        """:attr:`headers` with some values replaced; pass ``""`` to leave a header out."""
        values = {
            "x-partner-key": self.partner_key if key is None else key,
            "x-discord-guild": self.guild_id if guild is None else guild,
            "x-discord-actor": self.owner_id if actor is None else actor,
            NAMESPACE_HEADER: self._namespace,
        }
        return {name: value for name, value in values.items() if value}

    def prefer(
        self, code: int | str | None = None, example: str | None = None, *, operation: str = ""
    ) -> dict[str, str]:
        """:attr:`headers` plus a ``Prefer`` header that makes the mock answer a documented
        response: ``prefer(example="idExists")``, ``prefer(code=500)``, or both.

        The code and example name are checked against the spec (against ``operation``'s
        responses if given, else against every operation's): an unknown one raises ValueError
        listing the valid ones. The mock applies it to operations that document it.
        """
        if code is None and example is None:
            raise ValueError("prefer(): give code=, example= or both")
        documented = _documented_examples(self.server, operation)
        where = f"operation {operation}" if operation else "any operation"
        if example is not None and example not in {name for _, name in documented}:
            names = ", ".join(sorted({name for _, name in documented}))
            raise ValueError(
                f"prefer(example={example!r}): not an example of {where}; documented: {names}"
            )
        if code is not None and not any(str(status) == str(code) for status, _ in documented):
            codes = ", ".join(sorted({str(status) for status, _ in documented}))
            raise ValueError(
                f"prefer(code={code!r}): no documented example of {where}; documented: {codes}"
            )
        if code is not None and example is not None and (int(code), example) not in documented:
            under = sorted({str(status) for status, name in documented if name == example})
            raise ValueError(
                f"prefer(code={code!r}, example={example!r}): {example} is documented under"
                f" {', '.join(under)}"
            )
        parts = [f"code={code}"] if code is not None else []
        parts += [f"example={example}"] if example is not None else []
        return {**self.headers, PREFER_HEADER: ", ".join(parts)}

    # clients
    @property
    def client(self) -> FlaskClient:
        """A Flask test client of the same mock (no socket)."""
        return self.app.test_client()

    @property
    def session(self) -> Any:
        """A ``requests.Session`` that reaches this mock at :attr:`url` (in-process if it is);
        a namespace's session sends ``x-mock-namespace``."""
        if self._session is None:
            import requests

            self._session = requests.Session()
            if self._namespace:
                self._session.headers[NAMESPACE_HEADER] = self._namespace
            if self.in_process:
                self._session.mount(self.url, WSGIAdapter(self.app))
        return self._session

    def async_client(self, **options: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` with ``base_url`` :attr:`url`: in-process (no socket, each
        request served in a worker thread) for ``northca_inprocess``, over the socket for
        ``northca_mock``. Use it as ``async with mock.async_client() as client:``; ``options``
        go to ``httpx.AsyncClient`` (e.g. ``headers=mock.headers``). Needs
        ``pip install 'northca-mock[async]'``."""
        try:
            import httpx

            from mockserver.async_client import async_client
        except ImportError as missing:
            raise ModuleNotFoundError(
                f"async_client() needs httpx ({missing}): pip install 'northca-mock[async]'"
            ) from missing
        defaults = {NAMESPACE_HEADER: self._namespace} if self._namespace else {}
        if self.in_process:
            return async_client(self.app, self.url, defaults, **options)
        merged = {**defaults, **(options.pop("headers", None) or {})}
        return httpx.AsyncClient(base_url=self.url, headers=merged, **options)

    # state
    @property
    def requests(self) -> Journal:
        """The journal of partner-API requests, with ``assert_called`` and friends."""
        return Journal(self._state, self._sink)

    def reset(self) -> None:
        """Back to this test's world: records, links, link requests, clock, faults, journal."""
        state = self._state
        with state.lock:
            self._drain(state)
            state.reset()

    def state(self) -> dict[str, Any]:
        """Everything, as ``GET /__mock/state`` returns it."""
        state = self._state
        state.settle()
        return state.snapshot()

    def set_world(self, world: WorldSource) -> WorldData:
        """Load another world (path, dict or World; None: the session's world) and reset."""
        loaded = self.server.load_world(world) if world is not None else _base_world(self.app)
        state = self._state
        with state.lock:
            self._drain(state)
            state.load(loaded)
        if not self._namespace:  # namespaces created from now on start from it too
            self.server.world = loaded
        return world_data(loaded)

    def set_faults(self, plan: Mapping[str, Any]) -> dict[str, Any]:
        """Replace the fault plan until reset, as ``POST /__mock/faults`` does (same checks:
        ``FaultPlanError``, a ValueError naming the key); the plan as the mock reads it."""
        parsed = FaultPlan.parse(plan, self.server.spec.operations)
        self.server.check_faults(parsed)
        state = self._state
        with state.lock:
            state.faults = parsed
        return parsed.describe()

    def clear_faults(self) -> None:
        """No latency or injected errors until reset (which restores the world's plan)."""
        state = self._state
        with state.lock:
            state.faults = FaultPlan()

    def simulate(
        self,
        events_per_minute: float,
        seed: int = 0,
        mdts: Sequence[str] | None = None,
        max_records: int | None = None,
    ) -> dict[str, Any]:
        """Make this namespace's world move, as ``POST /__mock/simulation`` does (same checks:
        ``SimulationError``, a ValueError naming the key); 0 stops it, and so does reset.

        Events happen on the mock's clock: ``advance_clock(3600)`` applies an hour of them.
        Returns ``GET /__mock/simulation``'s data.
        """
        from mockserver.simulation import simulation_view, start_simulation

        settings: dict[str, Any] = {"events_per_minute": events_per_minute, "seed": seed}
        if mdts is not None:
            settings["mdts"] = list(mdts)
        if max_records is not None:
            settings["max_records"] = max_records
        state = self._state
        with state.lock:
            start_simulation(self.server, state, settings)
            return simulation_view(state)

    def simulation(self) -> dict[str, Any]:
        """``GET /__mock/simulation``: the settings and the recent simulated events."""
        from mockserver.simulation import simulation_view

        state = self._state
        with state.lock:
            state.settle()
            return simulation_view(state)

    def advance_clock(self, seconds: float) -> str:
        """Move the mock's clock forward (it keeps running), applying what a simulation has
        due meanwhile; the new time, ISO-8601."""
        state = self._state
        with state.lock:
            state.clock.advance(seconds)
            state.settle(moved=True)
            return state.clock.now()

    def set_clock(self, when: str | datetime | int) -> str:
        """Set the clock to an ISO-8601 string, an aware datetime or epoch milliseconds."""
        if isinstance(when, datetime):
            when = when.isoformat()
        epoch_ms = parse_iso(when) if isinstance(when, str) else when
        state = self._state
        with state.lock:
            state.clock.set(epoch_ms)
            state.settle(moved=True)
            return state.clock.now()

    def now(self) -> str:
        """The mock's current time, ISO-8601 with milliseconds and ``Z``."""
        return self._state.clock.now()

    def drain_journals(self) -> None:
        """Hand every namespace's journal to the sink (the plugin does it after each test)."""
        for state in list(self.server.states.values()):
            with state.lock:
                self._drain(state)

    def _drain(self, state: State) -> None:
        if self._sink is not None:
            self._sink(state.journal.tally)
            state.journal.clear()

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


def _documented_examples(server: MockServer, operation: str) -> set[tuple[int, str]]:
    """(status, example name) of every response example ``Prefer`` can ask for."""
    operations = server.spec.operations
    if operation and operation not in operations:
        raise ValueError(f"prefer(operation={operation!r}): not an operationId of the spec")
    chosen = [operations[operation]] if operation else list(operations.values())
    return {(example.status, example.name) for op in chosen for example in op.examples()}


def _base_world(app: Flask) -> World:
    world: World = app.extensions["northca_base_world"]
    return world


def build_app(spec: str | Path | None, world: WorldSource) -> Flask:
    """The session's app: ``create_app(spec, world)``, remembering that world for resets."""
    app = create_app(spec, world)
    app.extensions["northca_base_world"] = server_of(app).state.world
    return app


def prepare(app: Flask, world: WorldSource, sink: JournalSink | None = None) -> NorthcaMock:
    """The in-process handle of one test: the namespaces of earlier tests dropped, ``world``
    loaded (None: the session's world), reset, and only errors raised from now on reported;
    ``sink`` receives the journal entries the handle forgets."""
    mock = NorthcaMock(app, INPROCESS_URL, in_process=True, _sink=sink)
    mock.server.states.drop_named()
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

        body = request.body
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is not None and not isinstance(body, bytes):
            body = b"".join(body)
        answer = call_wsgi(self.app, request.method, request.url, request.headers.items(), body)
        response = requests.Response()
        response.status_code = answer.status
        response.reason = answer.reason
        response.headers = CaseInsensitiveDict(dict(answer.headers))
        response.encoding = get_encoding_from_headers(response.headers)
        response._content = answer.body
        response.url = request.url
        response.request = request
        return response

    def close(self) -> None:
        pass
