"""Async bots: ``northca_inprocess.async_client()`` (httpx, no socket) and aiohttp against
``northca_mock.url``, run by anyio's pytest plugin (``@pytest.mark.anyio``)."""

from __future__ import annotations

import json
import sys
import textwrap

import aiohttp
import anyio
import httpx
import pytest

from mockserver.testing import INPROCESS_URL, NorthcaMock
from tests.support import DEFAULT

pytestmark = pytest.mark.anyio
pytest_plugins = ["pytester"]
SHIFT = {"officer_name": "B. Bubbleton", "officer_badge": "512", "department": "Patrol"}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # aiohttp runs on asyncio only


async def test_async_client_is_served_in_process(northca_inprocess: NorthcaMock) -> None:
    mock = northca_inprocess
    async with mock.async_client() as client:
        assert isinstance(client, httpx.AsyncClient)
        assert str(client.base_url) == INPROCESS_URL
        r = await client.get(
            f"/v1/mdts/{mock.mdt_id}/shifts", params={"department": "Patrol"}, headers=mock.headers
        )
    assert (r.status_code, r.json()) == (200, {"ok": True, "data": []})
    (entry,) = mock.requests.calls("listShifts")
    assert "department=Patrol" in entry["query"]
    assert entry["headers"]["x-partner-key"] == "[redacted]"


async def test_async_client_posts_bodies_and_reads_errors(northca_inprocess: NorthcaMock) -> None:
    mock = northca_inprocess
    async with mock.async_client(headers=mock.headers) as client:
        created = await client.post(f"/mdts/{mock.mdt_id}/shifts", json=SHIFT)
        assert created.status_code == 201, created.text
        duplicate = await client.post(
            f"/mdts/{mock.mdt_id}/shifts", json={**SHIFT, "id": created.json()["data"]["id"]}
        )
        bad = await client.post(
            f"/mdts/{mock.mdt_id}/shifts",
            content=b"{",
            headers={"content-type": "application/json"},
        )
        forced = await client.get(f"/mdts/{mock.mdt_id}", headers=mock.prefer(code=500))
    assert (duplicate.status_code, duplicate.json()) == (
        409,
        {"ok": False, "error": "ID already exists"},
    )
    assert duplicate.headers["x-northca-mock-detail"]
    assert (bad.status_code, bad.json()["error"]) == (400, "Invalid JSON")
    assert (forced.status_code, forced.json()) == (
        500,
        {"ok": False, "error": "Internal server error"},
    )
    assert forced.headers["preference-applied"] == "code=500"
    assert mock.requests.operation_ids == [
        "createShift",
        "createShift",
        "createShift",
        "getMdtInfo",
    ]
    assert mock.requests.calls("createShift")[0]["body"] == SHIFT


async def test_fault_latency_does_not_block_the_event_loop(northca_inprocess: NorthcaMock) -> None:
    mock = northca_inprocess
    mock.set_faults({"operations": {"getMdtInfo": {"latency_ms": 1000}}})
    done: list[str] = []

    async def slow_request() -> None:
        async with mock.async_client(headers=mock.headers) as client:
            assert (await client.get(f"/mdts/{mock.mdt_id}")).status_code == 200
        done.append("request")

    async def meanwhile() -> None:
        await anyio.sleep(0.05)
        done.append("other task")

    async with anyio.create_task_group() as group:
        group.start_soon(slow_request)
        group.start_soon(meanwhile)
    assert done == ["other task", "request"]


async def test_a_namespace_async_client_sends_its_namespace(northca_inprocess: NorthcaMock) -> None:
    team = northca_inprocess.namespace("bots")
    async with team.async_client(headers=northca_inprocess.headers) as client:
        assert client.headers["x-mock-namespace"] == "bots"
        assert (await client.get(f"/mdts/{DEFAULT.mdt_id}/calls")).status_code == 200
    assert team.requests.operation_ids == ["listCalls"]
    assert northca_inprocess.requests.operation_ids == []


async def test_async_client_over_the_socket(northca_mock: NorthcaMock) -> None:
    async with northca_mock.async_client(headers=northca_mock.headers) as client:
        assert str(client.base_url) == northca_mock.url
        assert (await client.get(f"/v1/mdts/{DEFAULT.mdt_id}")).status_code == 200
    northca_mock.requests.assert_called("getMdtInfo", times=1, status=200)


async def test_aiohttp_reaches_the_mock_at_its_url(northca_mock: NorthcaMock) -> None:
    mock = northca_mock
    async with aiohttp.ClientSession(base_url=mock.url, headers=mock.headers) as session:
        async with session.post(f"/v1/mdts/{mock.mdt_id}/shifts", json=SHIFT) as created:
            assert created.status == 201
        async with session.get(
            f"/v1/mdts/{mock.mdt_id}/shifts", params={"department": "Patrol"}
        ) as listed:
            shifts = (await listed.json())["data"]
        async with session.get(f"/v1/mdts/{mock.mdt_id}", headers={"x-partner-key": "wrong"}) as r:
            assert (r.status, (await r.json())["error"]) == (401, "Unauthorized")
    assert [s["officer_name"] for s in shifts] == ["B. Bubbleton"]
    (listing,) = mock.requests.calls("listShifts", query={"department": "Patrol"})
    assert listing["headers"]["x-partner-key"] == "[redacted]" != DEFAULT.partner_key
    (unauthorized,) = mock.requests.calls(status=401)
    assert json.loads(unauthorized["response"]["body"]) == {"ok": False, "error": "Unauthorized"}


# -- as on the sync path: errors fail the test, state resets -------------------------------------
def test_async_tests_get_server_errors_and_resets(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_async_bot=textwrap.dedent(
            """
            import pytest

            pytestmark = pytest.mark.anyio

            def boom(**path):
                raise RuntimeError("kaboom in the handler")

            async def test_ignores_the_500(northca_inprocess, monkeypatch):
                mock = northca_inprocess
                monkeypatch.setitem(mock.app.view_functions, "getMdtInfo", boom)
                async with mock.async_client(headers=mock.headers) as client:
                    await client.get(f"/mdts/{mock.mdt_id}")

            @pytest.mark.parametrize("round", range(2))
            async def test_each_starts_clean(northca_inprocess, round):
                mock = northca_inprocess
                assert len(mock.requests) == 0
                assert mock.state()["mdts"][mock.mdt_id]["shifts"] == []
                async with mock.async_client(headers=mock.headers) as client:
                    shift = {"officer_name": "A", "department": "Patrol"}
                    r = await client.post(f"/mdts/{mock.mdt_id}/shifts", json=shift)
                    assert r.status_code == 201
            """
        )
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*RuntimeError: kaboom in the handler",
            "*NorthcaServerError: the Northca mock raised 1 unexpected exception(s)*",
            "*GET /mdts/*-> 500 (getMdtInfo)",
        ]
    )


def test_async_client_without_httpx_names_the_extra(
    northca_inprocess: NorthcaMock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "httpx", None)
    monkeypatch.delitem(sys.modules, "mockserver.async_client", raising=False)
    with pytest.raises(ModuleNotFoundError, match=r"pip install 'northca-mock\[async\]'"):
        northca_inprocess.async_client()
