"""Flask side of the inspector: the page and its assets, and the data endpoints it polls.

The page and its two assets hold no data and need no admin token (a browser cannot send a header
when it navigates); the data endpoints sit behind the control plane's admin-token check. Paths,
statuses and error strings are documented in ``mockserver/control.yaml``.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Blueprint, Flask, Response, current_app, request

from mockserver.control import (
    NAMESPACE_HEADER,
    answer_errors_as_documented,
    control_spec,
    require_admin_token,
)
from mockserver.envelopes import error_envelope, success
from mockserver.journal import entries_after
from mockserver.server import MockServer, server_of
from mockserver.traffic_coverage import traffic_coverage

if TYPE_CHECKING:
    from mockserver.state import State

ASSETS_DIR = Path(__file__).resolve().parent / "assets"
#: The page's files: name -> content type. Nothing else is served from the folder.
ASSETS = {
    "index.html": "text/html; charset=utf-8",
    "app.js": "text/javascript; charset=utf-8",
    "app.css": "text/css; charset=utf-8",
}
#: The page loads nothing from another origin, and no other origin may frame it.
PAGE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self';"
        " img-src 'self' data:; form-action 'none'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}
#: ``GET /__mock/journal``: entries per answer when ``limit`` is not given, and the most allowed.
JOURNAL_PAGE_DEFAULT = 200
JOURNAL_PAGE_MAX = 1000

page = Blueprint("northca_inspector", __name__, url_prefix="/__mock")
api = Blueprint("northca_inspector_api", __name__, url_prefix="/__mock")
api.before_request(require_admin_token)
answer_errors_as_documented(api)


def register(app: Flask) -> None:
    """Serve the inspector page and its data endpoints on ``app`` (a mock's Flask app)."""
    app.register_blueprint(page)
    app.register_blueprint(api)


@cache
def _asset(name: str) -> bytes:
    return (ASSETS_DIR / name).read_bytes()


def _ok(data: Any) -> Response:
    return success(200, data)


def _error(operation_id: str, name: str) -> Response:
    return error_envelope(control_spec().operations[operation_id].error(name))


def _server() -> MockServer:
    return server_of(current_app)


def _state() -> State:
    state = _server().state_for(request.headers.get(NAMESPACE_HEADER))
    state.settle()
    return state


# -- the page --------------------------------------------------------------------------------
def _file(name: str) -> Response:
    return Response(_asset(name), status=200, content_type=ASSETS[name], headers=PAGE_HEADERS)


@page.get("/")
def inspector_page() -> Response:
    return Response(
        _page_for(current_app),
        status=200,
        content_type=ASSETS["index.html"],
        headers=PAGE_HEADERS,
    )


ENDPOINTS_META = b'<meta name="northca-endpoints" content="">'


def _page_for(app: Flask) -> bytes:
    """The page, told which ``GET /__mock/...`` data endpoints this app has (the mock's or
    the proxy's), so that it shows their panels and probes nothing."""
    cached: bytes | None = app.extensions.get("northca_inspector_page")
    if cached is None:
        paths = sorted(
            rule.rule.removeprefix(page.url_prefix or "")
            for rule in app.url_map.iter_rules()
            if rule.rule.startswith(f"{page.url_prefix}/")
            and "GET" in (rule.methods or ())
            and not rule.arguments
        )
        content = " ".join(path for path in paths if path != "/").encode()
        cached = _asset("index.html").replace(
            ENDPOINTS_META, b'<meta name="northca-endpoints" content="' + content + b'">'
        )
        app.extensions["northca_inspector_page"] = cached
    return cached


@page.get("/inspector/<asset>")
def inspector_asset(asset: str) -> Response:
    if asset not in ASSETS or asset == "index.html":
        return _error("getInspectorAsset", "noSuchAsset")
    return _file(asset)


# -- data endpoints --------------------------------------------------------------------------
@api.get("/namespaces")
def namespaces() -> Response:
    return _ok({"namespaces": sorted(_server().states)})


def _query_int(name: str, default: int, maximum: int) -> int | None:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not raw.isascii() or not raw.isdigit() or len(raw) > 18 or int(raw) > maximum:
        return None
    return int(raw)


@api.get("/journal")
def journal_since() -> Response:
    after = _query_int("after", 0, 10**18)
    limit = _query_int("limit", JOURNAL_PAGE_DEFAULT, JOURNAL_PAGE_MAX)
    if after is None or limit is None or limit == 0:
        return _error("getMockJournal", "expectedJournalQuery")
    state = _state()
    with state.lock:  # entries are never changed once journaled: serialised after the lock
        journal = state.journal
        data = {
            "now": state.clock.now(),
            "oldest": journal[0].get("seq") if journal else None,
            "latest": journal[-1].get("seq") if journal else None,
            "entries": entries_after(reversed(journal), after, limit),
        }
    return _ok(data)


@api.get("/link-requests")
def link_requests() -> Response:
    state = _state()
    with state.lock:
        now_ms = state.clock.now_ms()
        keys: dict[str, str] = {}  # partner -> its first key
        for partner_key, partner in sorted(state.world.partner_keys.items()):
            keys.setdefault(partner, partner_key)
        found = []
        for request_id in reversed(list(state.link_requests)):  # newest first
            record = dict(state.expire_if_due(request_id, now_ms))
            owner = record.get("owner_discord_id")
            key = keys.get(str(record.get("partner")))
            pending = record.get("status") == "pending"
            record["act_as_owner"] = (
                {
                    "x-partner-key": key,
                    "x-discord-guild": record["guild_id"],
                    "x-discord-actor": owner,
                }
                if pending and owner and key
                else None
            )
            found.append(record)
        now = state.clock.now()
    return _ok({"now": now, "link_requests": found})


@api.get("/coverage")
def coverage() -> Response:
    state = _state()
    with state.lock:
        return _ok(traffic_coverage(_server().spec, state.journal.tally))
