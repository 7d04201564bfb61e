"""The inspector page in a real browser: Debian's headless Chromium, driven by Playwright.

Each test serves a mock (``python -m mockserver serve``), opens ``/__mock/`` and acts as a user
would. Screenshots go to ``reports/inspector/``. ``make test`` installs the browser first
(``make browser``); when it is missing these tests skip, except in CI (``CI=true``), where they
fail.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Browser, Locator, Page, Playwright, expect, sync_playwright
from werkzeug.serving import make_server

from mockserver.inspector.routes import page as inspector_page
from tests.live import ROOT, LiveMock
from tests.support import DEFAULT, auth_headers

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = ROOT / "reports" / "inspector"
SHIFTS = f"/mdts/{DEFAULT.mdt_id}/shifts"
TOKEN = "browser-token"
WAIT_MS = 10_000

expect.set_options(timeout=WAIT_MS)


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.is_file():
        message = f"{CHROMIUM} is missing: run `make browser` (Debian's chromium package)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()


class Inspector:
    """One browser tab on one live mock, recording every request the page makes."""

    def __init__(self, browser: Browser, live: LiveMock, name: str) -> None:
        self.live = live
        self.name = name
        self.context = browser.new_context(viewport={"width": 1280, "height": 800})
        self.page: Page = self.context.new_page()
        self.requested: list[str] = []
        self.errors: list[str] = []
        self.page.on("request", lambda request: self.requested.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))

    def open(self, fragment: str = "") -> Page:
        self.page.goto(f"{self.live.url}/__mock/{fragment}")
        return self.page

    @property
    def journal(self) -> Locator:
        return self.page.locator("#journal-list")

    def link_request(self, request_id: str) -> Locator:
        return self.page.locator(f'#link-requests li[data-id="{request_id}"]')

    def shot(self, suffix: str = "") -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{self.name}{suffix}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def check_clean(self) -> None:
        """Nothing loaded from another origin, and no script error."""
        origin = self.live.url + "/"
        assert self.requested, "the page made no request"
        assert [url for url in self.requested if not url.startswith(origin)] == []
        assert self.errors == []

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def live() -> Iterator[LiveMock]:
    with LiveMock() as mock:
        yield mock


@pytest.fixture
def inspector(
    browser: Browser, live: LiveMock, request: pytest.FixtureRequest
) -> Iterator[Inspector]:
    tab = Inspector(browser, live, request.node.name)
    yield tab
    tab.close()


def _link_request(live: LiveMock, **headers: str) -> Any:
    response = live.post(
        "/link-requests",
        json={"mdt_id": DEFAULT.unlinked_mdt_id},
        headers={**auth_headers(), **headers},
    )
    assert response.status_code == 201, response.text
    return response.json()["data"]


# -- tests -----------------------------------------------------------------------------------
def test_page_shows_requests_live_with_details_pending_link_requests_and_records(
    inspector: Inspector, live: LiveMock
) -> None:
    page = inspector.open()
    expect(page.locator("#live")).to_contain_text("live")
    page.evaluate("window.notReloaded = true")

    shift = {"id": "shift-1", "officer_name": "J. Doe", "status": "on_duty"}
    assert live.post(SHIFTS, json=shift, headers=auth_headers()).status_code == 201
    created = _link_request(live)
    assert live.get(f"{SHIFTS}?limit=0", headers=auth_headers()).status_code == 400

    expect(inspector.journal.locator("li")).to_have_count(3)
    expect(inspector.journal.locator("li").first).to_contain_text("listShifts")
    expect(inspector.journal.locator("li").last).to_contain_text("createShift")
    assert page.evaluate("window.notReloaded") is True
    expect(inspector.link_request(created["id"])).to_contain_text("pending")
    expect(page.locator("#mdts")).to_contain_text("shift-1")
    expect(page.locator("#mdts")).to_contain_text("J. Doe")

    # Choose an entry with the keyboard: request (partner key redacted) and response with its
    # diagnostic.
    inspector.journal.get_by_role("button", name=re.compile("listShifts")).focus()
    page.keyboard.press("Enter")
    detail = page.locator("#detail")
    expect(detail).to_contain_text("limit=0")
    expect(detail).to_contain_text("[redacted]")
    expect(detail).to_contain_text("Invalid limit")
    assert DEFAULT.partner_key not in detail.inner_text()
    inspector.shot()

    # Filters: by status, then by operation.
    page.get_by_label("Status").select_option("4xx")
    expect(inspector.journal.locator("li")).to_have_count(1)
    page.get_by_label("Status").select_option("*")
    page.get_by_label("Operation").select_option("createShift")
    expect(inspector.journal.locator("li")).to_have_count(1)
    expect(inspector.journal).to_contain_text("createShift")

    # Every control has a label, and a narrow window needs no horizontal scrolling.
    unlabelled = page.evaluate(
        "[...document.querySelectorAll('input, select')].filter(e => !e.labels.length)"
        ".map(e => e.id)"
    )
    assert unlabelled == []
    page.set_viewport_size({"width": 400, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 400
    inspector.shot("-narrow")
    inspector.check_clean()


def test_approve_as_owner_links_the_mdt_through_the_partner_api(
    inspector: Inspector, live: LiveMock
) -> None:
    created = _link_request(live)
    page = inspector.open()
    card = inspector.link_request(created["id"])
    expect(card).to_contain_text("pending")
    card.get_by_role("button", name=re.compile("^Approve as owner")).click()
    expect(card).to_contain_text("approved")
    expect(card.get_by_role("button")).to_have_count(0)
    expect(page.locator("#message")).to_contain_text("Approve as owner: 200")
    inspector.shot()

    linked = live.get(f"/guilds/{DEFAULT.guild_id}/mdts", headers=auth_headers()).json()["data"]
    assert DEFAULT.unlinked_mdt_id in [link["mdt_id"] for link in linked]
    journal = live.get("/__mock/requests").json()["data"]
    (confirm,) = [entry for entry in journal if entry["operation_id"] == "confirmLinkRequest"]
    assert confirm["status"] == 200
    assert confirm["headers"]["x-discord-actor"] == DEFAULT.unlinked_mdt_owner_id
    assert confirm["headers"]["x-partner-key"] == "[redacted]"
    assert confirm["headers"]["origin"] == live.url
    expect(inspector.journal).to_contain_text("confirmLinkRequest")
    inspector.check_clean()


def test_advancing_the_clock_expires_a_pending_request(inspector: Inspector, live: LiveMock):
    created = _link_request(live)
    page = inspector.open()
    card = inspector.link_request(created["id"])
    expect(card).to_contain_text("pending")
    advance = page.get_by_label("Advance by (seconds)")
    advance.fill("901")
    advance.press("Enter")  # the keyboard submits the form
    expect(card).to_contain_text("expired")
    expect(card.get_by_role("button")).to_have_count(0)
    inspector.shot()
    state = live.get("/__mock/state").json()["data"]
    assert [item["status"] for item in state["link_requests"]] == ["expired"]
    inspector.check_clean()


def test_switching_the_namespace_shows_that_namespace(inspector: Inspector, live: LiveMock):
    team_b = {"x-mock-namespace": "team-b"}
    assert live.get(SHIFTS, headers={**auth_headers(), **team_b}).status_code == 200
    created = _link_request(live)
    page = inspector.open()
    expect(inspector.journal).to_contain_text("createLinkRequest")
    expect(inspector.link_request(created["id"])).to_be_visible()
    expect(inspector.journal).not_to_contain_text("listShifts")

    page.get_by_label("Namespace", exact=True).select_option("team-b")
    expect(inspector.journal).to_contain_text("listShifts")
    expect(inspector.journal).not_to_contain_text("createLinkRequest")
    expect(page.locator("#link-requests")).to_contain_text("No link requests")
    assert page.url.endswith("#ns=team-b")
    inspector.shot()

    # An action on the page goes to the chosen namespace only.
    page.get_by_role("button", name="+1 h").click()
    expect(page.locator("#message")).to_contain_text("Clock now")
    default_link = live.get("/__mock/link-requests").json()["data"]["link_requests"][0]
    assert default_link["status"] == "pending"
    inspector.check_clean()


def test_with_an_admin_token_the_page_is_refused_until_given_it(
    browser: Browser, request: pytest.FixtureRequest
) -> None:
    with LiveMock("--admin-token", TOKEN) as live:
        assert live.get(SHIFTS, headers=auth_headers()).status_code == 200
        tab = Inspector(browser, live, request.node.name)
        try:
            page = tab.open()
            expect(page.locator("#token-panel")).to_be_visible()
            expect(page.locator("#live")).to_contain_text("refused")
            expect(tab.journal.locator("li")).to_have_count(0)
            tab.shot("-refused")
            token = page.get_by_label("Admin token", exact=True)
            token.fill("wrong")
            token.press("Enter")
            expect(page.locator("#token-title")).to_have_text("The admin token was refused.")
            expect(tab.journal.locator("li")).to_have_count(0)
            token.fill(TOKEN)
            token.press("Enter")
            expect(page.locator("#token-panel")).to_be_hidden()
            expect(tab.journal).to_contain_text("listShifts")
            tab.shot()
            assert page.evaluate("sessionStorage.getItem('northca-mock-admin-token')") == TOKEN
            assert page.evaluate("localStorage.length") == 0
            page.reload()  # asked once: the tab keeps it
            expect(tab.journal).to_contain_text("listShifts")
            expect(page.locator("#token-panel")).to_be_hidden()
            tab.check_clean()
        finally:
            tab.close()


def test_deny_as_owner_denies_through_the_partner_api(inspector: Inspector, live: LiveMock):
    created = _link_request(live)
    inspector.open()
    card = inspector.link_request(created["id"])
    card.get_by_role("button", name=re.compile("^Deny as owner")).click()
    expect(card).to_contain_text("denied")
    state = live.get("/__mock/state").json()["data"]
    assert [item["status"] for item in state["link_requests"]] == ["denied"]
    linked = live.get(f"/guilds/{DEFAULT.guild_id}/mdts", headers=auth_headers()).json()["data"]
    assert DEFAULT.unlinked_mdt_id not in [link["mdt_id"] for link in linked]
    inspector.check_clean()


def test_set_the_clock_clear_the_fault_plan_and_see_coverage(
    inspector: Inspector, live: LiveMock
) -> None:
    plan = {"seed": 7, "operations": {"listCalls": {"latency_ms": 0, "error_rate": 0}}}
    assert live.post("/__mock/faults", json=plan).status_code == 200
    assert live.get(SHIFTS, headers=auth_headers()).status_code == 200
    page = inspector.open()
    expect(page.locator("#faults")).to_contain_text("listCalls")
    expect(page.locator("#coverage-totals")).to_contain_text(
        "1 of 19 operations called; 1 requests"
    )
    covered = page.locator("#coverage tbody tr", has_text="listShifts")
    expect(covered).to_contain_text("200 ✓1")

    when = page.get_by_label("Set to (ISO-8601)")
    when.fill("2030-01-02T03:04:05.000Z")
    when.press("Enter")
    expect(page.locator("#clock-now")).to_contain_text("2030-01-02T03:04:")
    assert live.get("/__mock/state").json()["data"]["now"].startswith("2030-01-02T03:04:")

    page.get_by_role("button", name="Clear fault plan").click()
    expect(page.locator("#message")).to_have_text("Fault plan cleared.")
    assert live.get("/__mock/faults").json()["data"]["operations"] == {}
    expect(page.get_by_role("button", name="Clear fault plan")).to_be_disabled()
    inspector.shot()
    inspector.check_clean()


# -- a server with fewer endpoints (as `proxy` may have) ---------------------------------------
DEVIATION = {
    "operation_id": "listShifts",
    "method": "GET",
    "path": SHIFTS,
    "status": 200,
    "rule": "body schema",
    "evidence": "inferred",
}


def _proxy_like_app() -> Flask:
    """The page, the whole journal and a deviations list; no state, clock, faults or coverage."""
    app = Flask("proxy_like")
    app.register_blueprint(inspector_page)
    entry = {
        "method": "GET",
        "path": SHIFTS,
        "query": "",
        "headers": {"x-partner-key": "[redacted]"},
        "body": None,
        "status": 200,
        "operation_id": "listShifts",
        "timestamp": "2026-03-01T01:23:45.678Z",
        "response": {"status": 200, "headers": {}, "body": '{"ok":true,"data":[]}'},
    }

    @app.get("/__mock/requests")
    def journal() -> Any:
        return {"ok": True, "data": [entry]}

    @app.get("/__mock/deviations")
    def deviations() -> Any:
        return {"ok": True, "data": {"exchanges": 1, "deviations": [DEVIATION]}}

    @app.errorhandler(404)
    def not_found(error: Exception) -> Any:
        return {"ok": False, "error": "Not found"}, 404

    return app


@pytest.fixture
def proxy_like() -> Iterator[str]:
    server = make_server("127.0.0.1", 0, _proxy_like_app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def test_deviations_are_shown_and_missing_panels_hidden(browser: Browser, proxy_like: str):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(f"{proxy_like}/__mock/")
        expect(page.locator("#deviations-panel")).to_be_visible()
        expect(page.locator("#deviations-totals")).to_have_text("1 deviation(s) in 1 exchange(s).")
        expect(page.locator("#deviations")).to_contain_text("body schema · evidence: inferred")
        expect(page.locator("#journal-list")).to_contain_text("listShifts")
        for panel in ("links-panel", "clock-panel", "state-panel", "faults-panel"):
            expect(page.locator(f"#{panel}")).to_be_hidden()
        expect(page.locator("#coverage-panel")).to_be_hidden()
        expect(page.locator("#namespace-control")).to_be_hidden()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "proxy-like.png"), full_page=True)
        assert errors == []
    finally:
        context.close()


def test_on_serve_the_deviations_panel_stays_hidden(inspector: Inspector) -> None:
    page = inspector.open()
    expect(page.locator("#live")).to_contain_text("live")
    expect(page.locator("#coverage-panel")).to_be_visible()
    expect(page.locator("#deviations-panel")).to_be_hidden()


def test_the_simulation_panel_moves_the_tables_without_a_reload(
    inspector: Inspector, live: LiveMock
) -> None:
    page = inspector.open()
    expect(page.locator("#simulation-status")).to_contain_text("Stopped")
    expect(page.locator("#mdts")).to_contain_text("No units, shifts, calls")
    page.evaluate("window.notReloaded = true")
    page.get_by_label("Events a minute").fill("60")
    page.get_by_label("Seed").fill("1")
    page.get_by_role("button", name="Start").click()
    expect(page.locator("#simulation-status")).to_contain_text(
        "Running: 60 events a minute, seed 1"
    )
    page.get_by_label("Advance by (seconds)").fill("600")
    page.get_by_role("button", name="Advance", exact=True).click()
    # ten minutes at 60 a minute: hundreds of events, in the tables and the event list
    expect(page.locator("#mdts")).to_contain_text(re.compile(r"Calls \(\d+\)"))
    expect(page.locator("#mdts")).to_contain_text(re.compile(r"Units \(\d+\)"))
    expect(page.locator("#simulation-events li").first).to_be_visible()
    applied = live.get("/__mock/simulation").json()["data"]["applied"]
    assert applied > 300
    assert page.evaluate("window.notReloaded") is True
    assert live.get("/__mock/requests").json()["data"] == []  # the journal: partner traffic only
    inspector.shot()
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#simulation-status")).to_contain_text("Stopped")
    inspector.check_clean()


def test_new_rows_never_move_a_button_under_the_pointer(
    inspector: Inspector, live: LiveMock
) -> None:
    first = _link_request(live)
    page = inspector.open()
    approve = inspector.link_request(first["id"]).get_by_role(
        "button", name=re.compile("^Approve as owner")
    )
    expect(approve).to_be_visible()
    box = approve.bounding_box()
    approve.hover()
    _link_request(live)  # newest first: drawn above the first one
    page.wait_for_timeout(2500)  # two polls
    assert approve.bounding_box() == box
    expect(page.locator("#link-requests li")).to_have_count(1)
    page.mouse.move(5, 5)  # the pointer leaves: the list catches up
    expect(page.locator("#link-requests li")).to_have_count(2)
    inspector.check_clean()


def test_panels_keep_their_place_as_data_arrives(inspector: Inspector, live: LiveMock) -> None:
    page = inspector.open()
    expect(page.locator("#live")).to_contain_text("live")
    tops = page.evaluate("[...document.querySelectorAll('.panel')].map(p => p.offsetTop)")
    for _ in range(3):
        assert live.get(SHIFTS, headers=auth_headers()).status_code == 200
        _link_request(live)
        assert live.post(SHIFTS, json={"officer_name": "A. B"}, headers=auth_headers()).ok
    expect(page.locator("#link-requests li")).to_have_count(3)
    expect(page.locator("#mdts")).to_contain_text("Shifts (3)")
    assert page.evaluate("[...document.querySelectorAll('.panel')].map(p => p.offsetTop)") == tops
