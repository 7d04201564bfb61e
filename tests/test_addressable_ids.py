"""Every id the mock accepts stays addressable, percent-encoded as clients send it.

Units, calls, shifts, scene reports and tickets take a client id. Each id is created, then every
later operation that names it (panic, DELETE, PATCH, a second create) is sent with the id
percent-encoded (``quote(id, safe="")``): in-process (Flask test client, the ``requests``
adapter, the httpx async client), on both servers, and through ``northca-mock proxy``. The
ids ``.`` and ``..`` (and ids over 1024 characters) are refused at create with the operation's
invalid-body 400: clients remove dot segments (RFC 3986 §5.2.4, WHATWG URL), so no request
could name them.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver.app import create_app
from mockserver.testing import NorthcaMock
from tests.live import LiveMock
from tests.support import DEFAULT, auth_headers

#: ``(method, path, json) -> (status, body)``; ``path`` is already percent-encoded.
Send = Callable[[str, str, Any], tuple[int, Any]]

MDT = f"/v1/mdts/{DEFAULT.mdt_id}"
TRICKY_IDS = [
    "1A/12",
    "x/y",
    "a/panic",
    "/",
    "a?b=c",
    "a#b",
    "100%",
    "%2F",
    "%",
    "a b",
    "+plus+",
    "ünït-€",
    "🚓 12",
    "a;b,c",
    "...",
    "~tilde",
    "🚓" * 1024,  # the longest: 12 KiB percent-encoded
]
RECORD_KINDS = {
    "calls": {"classification": "TRAFFIC STOP"},
    "shifts": {"officer_name": "B. Bubbleton"},
    "scene-reports": {"title": "Incident Summary"},
    "tickets": {"title": "Tow request"},
}
SERVERS = ["granian", "werkzeug"]
_namespaces = itertools.count()


def walk(send: Send, unit_id: str) -> None:
    """Create records with ``unit_id`` as their id, then address each of them."""
    q = quote(unit_id, safe="")
    units = f"{MDT}/units/active"
    status, body = send("PUT", units, {"units": [{"id": unit_id, "status": "10-8"}]})
    assert (status, [unit["id"] for unit in body["data"]]) == (200, [unit_id])
    status, body = send("POST", f"{units}/{q}/panic", {"address": "67 Mango Place"})
    assert status == 200, body
    assert (body["data"]["panicked"], body["data"]["unit_id"]) == (True, unit_id)
    assert send("DELETE", f"{units}/{q}", None) == (
        200,
        {"ok": True, "data": {"deleted": True, "unit_id": unit_id}},
    )
    assert send("DELETE", f"{units}/{q}", None) == (404, {"ok": False, "error": "Unit not found"})
    assert send("POST", f"{units}/{q}/panic", None) == (
        404,
        {"ok": False, "error": "Unit not found"},
    )

    for kind, fields in RECORD_KINDS.items():
        status, body = send("POST", f"{MDT}/{kind}", {"id": unit_id, **fields})
        assert (status, body["data"]["id"]) == (201, unit_id), (kind, body)
        assert send("POST", f"{MDT}/{kind}", {"id": unit_id, **fields}) == (
            409,
            {"ok": False, "error": "ID already exists"},
        )
        status, body = send("GET", f"{MDT}/{kind}", None)
        assert unit_id in [record["id"] for record in body["data"]]

    status, body = send("PATCH", f"{MDT}/calls/{q}", {"status": "closed"})
    assert (status, body["data"]["id"], body["data"]["status"]) == (200, unit_id, "closed")


def walk_all(send: Send) -> None:
    for unit_id in TRICKY_IDS:
        walk(send, unit_id)


def namespaced_headers() -> dict[str, str]:
    """Auth headers in a namespace of their own (every walk starts from an empty MDT)."""
    return {**auth_headers(), "x-mock-namespace": f"ids-{next(_namespaces)}"}


def requests_send(session: requests.Session, base: str) -> Send:
    headers = namespaced_headers()

    def send(method: str, path: str, json: Any) -> tuple[int, Any]:
        answer = session.request(method, base + path, json=json, headers=headers, timeout=10)
        return answer.status_code, answer.json()

    return send


# -- in-process ---------------------------------------------------------------------------------
def test_ids_are_addressable_through_the_flask_test_client() -> None:
    client = create_app().test_client()
    headers = namespaced_headers()

    def send(method: str, path: str, json: Any) -> tuple[int, Any]:
        answer = client.open(path, method=method, json=json, headers=headers)
        return answer.status_code, answer.get_json()

    walk_all(send)


def test_ids_are_addressable_through_the_in_process_requests_adapter() -> None:
    mock = NorthcaMock(create_app(), "http://northca-mock.local", in_process=True)
    walk_all(requests_send(mock.session, mock.url))


def test_ids_are_addressable_through_the_async_client() -> None:
    mock = NorthcaMock(create_app(), "http://northca-mock.local", in_process=True)
    headers = namespaced_headers()
    loop = asyncio.new_event_loop()
    runner = threading.Thread(target=loop.run_forever, daemon=True)
    runner.start()
    client = mock.async_client(headers=headers)

    async def call(method: str, path: str, json: Any) -> tuple[int, Any]:
        answer = await client.request(method, path, json=json)
        return answer.status_code, answer.json()

    def send(method: str, path: str, json: Any) -> tuple[int, Any]:
        return asyncio.run_coroutine_threadsafe(call(method, path, json), loop).result(10)

    try:
        walk_all(send)
    finally:
        asyncio.run_coroutine_threadsafe(client.aclose(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        runner.join(10)
        loop.close()


# -- over sockets ---------------------------------------------------------------------------------
@pytest.fixture(scope="module", params=SERVERS)
def live(request: pytest.FixtureRequest) -> Iterator[LiveMock]:
    with LiveMock("--server", request.param) as mock:
        yield mock


def test_ids_are_addressable_on_both_servers(live: LiveMock) -> None:
    walk_all(requests_send(requests.Session(), live.url))


def test_ids_are_addressable_through_the_proxy(live: LiveMock) -> None:
    with LiveMock("--upstream", live.url + "/v1", subcommand="proxy") as proxy:
        walk_all(requests_send(requests.Session(), proxy.url))
        report = requests.get(proxy.url + "/__mock/deviations", timeout=10).json()["data"]
    assert report["deviations"] == []


def test_escapes_are_decoded_once() -> None:
    client = create_app().test_client()
    headers = auth_headers()
    created = client.post(f"{MDT}/calls", json={"id": "1A/12"}, headers=headers)
    assert created.status_code == 201
    for twice in ("1A%252F12", "1A%2F12%2F"):
        answer = client.patch(f"{MDT}/calls/{twice}", json={"status": "x"}, headers=headers)
        assert (answer.status_code, answer.get_json()) == (
            404,
            {"ok": False, "error": "Call not found"},
        )
    answer = client.patch(f"{MDT}/calls/1A%2F12", json={"status": "x"}, headers=headers)
    assert (answer.status_code, answer.get_json()["data"]["id"]) == (200, "1A/12")


@pytest.mark.parametrize("dots", [".", "..", "a" * 1025])
def test_unaddressable_ids_are_refused_at_create(dots: str) -> None:
    client = create_app().test_client()
    headers = auth_headers()
    refused = {"ok": False, "error": "Invalid request body"}
    answer = client.put(f"{MDT}/units/active", json={"units": [{"id": dots}]}, headers=headers)
    expected = {"ok": False, "error": "Expected { units: [...] }"}
    assert (answer.status_code, answer.get_json()) == (400, expected)
    for kind, fields in RECORD_KINDS.items():
        answer = client.post(f"{MDT}/{kind}", json={"id": dots, **fields}, headers=headers)
        assert (answer.status_code, answer.get_json()) == (400, refused), kind


# -- the class: any id the mock accepts ------------------------------------------------------
#: What a create accepts as a client id (``CreateCallBody.id`` and the others): any non-empty
#: string but ``.`` and ``..`` (an empty id makes the server generate one).
ACCEPTED_IDS = st.text(min_size=1, max_size=40).filter(lambda text: text not in (".", ".."))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit_id=ACCEPTED_IDS)
def test_any_accepted_id_is_addressable_in_process(unit_id: str) -> None:
    client = _APP.test_client()
    headers = namespaced_headers()

    def send(method: str, path: str, json: Any) -> tuple[int, Any]:
        answer = client.open(path, method=method, json=json, headers=headers)
        return answer.status_code, answer.get_json()

    walk(send, unit_id)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(unit_id=ACCEPTED_IDS)
def test_any_accepted_id_is_addressable_on_both_servers(live: LiveMock, unit_id: str) -> None:
    walk(requests_send(_SESSION, live.url), unit_id)


_APP = create_app(max_namespaces=1000)
_SESSION = requests.Session()
