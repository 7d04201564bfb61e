"""The pytest plugin, tested as pytest plugins test themselves: inner runs with ``pytester``."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# The inner runs' tests use requests. A module first imported inside an inline run is dropped
# after it, and a requests imported afresh then fails on cookie jars of the earlier import
# ("You can only merge into CookieJar"); imported here, it outlives the inner runs, as in a user's
# session. (With the contracts extra, schemathesis's pytest plugin imports it anyway.)
import requests  # noqa: F401

from mockserver.testing import INPROCESS_URL, default_world
from tests.support import DEFAULT

pytest_plugins = ["pytester"]

SHIFT = {"officer_name": "B. Bubbleton", "officer_badge": "512", "department": "Patrol"}
HELPERS = f"""
import json, pathlib, pytest, requests
SHIFT = {SHIFT!r}

def shifts(mock):
    return mock.state()["mdts"][mock.mdt_id]["shifts"]

def call(mock, method, path, body=None):  # path may hold {{mdt}}; default headers
    url = mock.url + path.format(mdt=mock.mdt_id)
    send = mock.session.request if mock.in_process else requests.request
    return send(method, url, json=body, headers=mock.headers)
"""


def write_tests(pytester: pytest.Pytester, body: str, name: str = "test_bot") -> None:
    pytester.makepyfile(**{name: HELPERS + textwrap.dedent(body)})


# -- fixtures, reset, journal --------------------------------------------------------------------
def test_fixtures_are_listed(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures")
    result.stdout.fnmatch_lines(
        [
            "*northca_world* -- *pytest_plugin.py*",
            "*northca_mock* -- *pytest_plugin.py*",
            "*northca_inprocess* -- *pytest_plugin.py*",
            "*northca_app* -- *pytest_plugin.py*",
            "*northca_client* -- *pytest_plugin.py*",
        ],
        consecutive=False,
    )
    result.stdout.no_fnmatch_line("*_northca_test*")


def test_socket_mock_works_without_configuration(pytester: pytest.Pytester) -> None:
    write_tests(
        pytester,
        f"""
        def test_handle(northca_mock):
            assert northca_mock.url.startswith("http://127.0.0.1:")
            assert northca_mock.v1_url == northca_mock.url + "/v1"
            mock = northca_mock
            assert mock.partner_key == {DEFAULT.partner_key!r}
            assert mock.guild_id == {DEFAULT.guild_id!r}
            assert (mock.mdt_id, mock.owner_id) == ({DEFAULT.mdt_id!r}, {DEFAULT.actor_id!r})
            assert northca_mock.headers == {{
                "x-partner-key": {DEFAULT.partner_key!r},
                "x-discord-guild": {DEFAULT.guild_id!r},
                "x-discord-actor": {DEFAULT.actor_id!r},
            }}

        def test_shift_and_units(northca_mock):
            base, mdt, headers = northca_mock.url, northca_mock.mdt_id, northca_mock.headers
            r = requests.post(f"{{base}}/v1/mdts/{{mdt}}/shifts", json=SHIFT, headers=headers)
            assert r.status_code == 201, r.text
            units = {{"units": [{{"id": "ADAM-12", "status": "10-8"}}]}}
            r = requests.put(f"{{base}}/mdts/{{mdt}}/units/active", json=units, headers=headers)
            assert r.ok, r.text
            northca_mock.requests.assert_called("upsertActiveUnits", times=1)
            northca_mock.requests.assert_called("createShift", status=201)
            northca_mock.requests.assert_not_called("createCall")
            assert northca_mock.requests.operation_ids == ["createShift", "upsertActiveUnits"]
            assert northca_mock.requests.calls(path=f"/v1/mdts/{{mdt}}/shifts")[0]["body"] == SHIFT
            assert len(shifts(northca_mock)) == 1
        """,
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_state_resets_between_tests(pytester: pytest.Pytester) -> None:
    write_tests(
        pytester,
        """
        @pytest.mark.parametrize("round", range(3))
        def test_each_starts_clean(northca_mock, round):
            assert shifts(northca_mock) == []
            assert len(northca_mock.requests) == 0
            url = f"{northca_mock.url}/mdts/{northca_mock.mdt_id}/shifts"
            assert requests.post(url, json=SHIFT, headers=northca_mock.headers).status_code == 201
            northca_mock.advance_clock(3600)
            assert len(shifts(northca_mock)) == 1

        def test_reset_in_a_test(northca_mock):
            url = f"{northca_mock.url}/mdts/{northca_mock.mdt_id}/shifts"
            requests.post(url, json=SHIFT, headers=northca_mock.headers)
            northca_mock.reset()
            assert shifts(northca_mock) == [] and len(northca_mock.requests) == 0
        """,
    )
    pytester.runpytest().assert_outcomes(passed=4)


def test_clock_controls(pytester: pytest.Pytester) -> None:
    write_tests(
        pytester,
        f"""
        def test_link_request_expires(northca_mock):
            body = {{"mdt_id": {DEFAULT.unlinked_mdt_id!r}}}
            r = call(northca_mock, "POST", "/v1/link-requests", body)
            assert r.status_code == 201, r.text
            northca_mock.advance_clock(901)
            (request,) = northca_mock.state()["link_requests"]
            assert request["status"] == "expired"

        def test_set_clock(northca_mock):
            assert northca_mock.set_clock("2030-01-02T03:04:05Z").startswith("2030-01-02T03:04:05")
            assert northca_mock.now().startswith("2030-01-02T03:04")
        """,
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_assert_called_explains_what_happened(pytester: pytest.Pytester) -> None:
    write_tests(
        pytester,
        """
        def test_wrong_count(northca_mock):
            call(northca_mock, "GET", "/mdts/{mdt}")
            northca_mock.requests.assert_called("upsertActiveUnits", times=1)
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*upsertActiveUnits was called 0 time(s), expected 1",
            "*GET /mdts/*-> 200 (getMdtInfo)",
        ]
    )


# -- in-process ----------------------------------------------------------------------------------
def test_in_process_fixtures(pytester: pytest.Pytester) -> None:
    write_tests(
        pytester,
        f"""
        import socket

        def test_no_socket(northca_inprocess, northca_client, northca_app, monkeypatch):
            monkeypatch.setattr(socket, "create_connection", None)  # any socket use would fail
            mock = northca_inprocess
            assert mock.url == {INPROCESS_URL!r}
            units = {{"units": [{{"id": "A"}}, {{"id": "A"}}]}}
            url = f"{{mock.v1_url}}/mdts/{{mock.mdt_id}}/units/active"
            r = mock.session.put(url, json=units, headers=mock.headers)
            assert r.status_code == 400
            assert r.json()["error"] == "Duplicate unit id in request body"
            assert r.headers["content-type"] == "application/json"
            r = call(mock, "GET", "/mdts/{{mdt}}/shifts?limit=1")
            assert r.json() == {{"ok": True, "data": []}}
            path = f"/mdts/{{mock.mdt_id}}/shifts"
            r = northca_client.post(path, json=SHIFT, headers=mock.headers)
            assert r.status_code == 201
            mock.requests.assert_called("listShifts", times=1)
            assert mock.requests.operation_ids == ["upsertActiveUnits", "listShifts", "createShift"]
            assert northca_app is mock.app

        def test_same_mock_both_ways(northca_mock, northca_client):
            path = f"/mdts/{{northca_mock.mdt_id}}/shifts"
            northca_client.post(path, json=SHIFT, headers=northca_mock.headers)
            r = call(northca_mock, "GET", "/mdts/{{mdt}}/shifts")
            assert len(r.json()["data"]) == 1

        def test_in_process_is_reset_too(northca_client, northca_inprocess):
            assert shifts(northca_inprocess) == []
        """,
    )
    pytester.runpytest().assert_outcomes(passed=3)


# -- worlds --------------------------------------------------------------------------------------
OTHER_WORLD = default_world(
    partner_keys={"other-key": "Other Partner"},
    records={DEFAULT.mdt_id: {"shifts": [{"id": "s-1", **SHIFT}]}},
)


def test_marker_world_applies_to_one_test_only(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("worlds").mkdir()
    pytester.path.joinpath("worlds", "other.json").write_text(json.dumps(OTHER_WORLD))
    write_tests(
        pytester,
        f"""
        OTHER = {OTHER_WORLD!r}

        @pytest.mark.northca_world(OTHER)
        def test_dict_world(northca_mock):
            assert northca_mock.partner_key == "other-key"
            assert northca_mock.headers["x-partner-key"] == "other-key"
            assert [s["id"] for s in shifts(northca_mock)] == ["s-1"]
            r = call(northca_mock, "GET", "/mdts/{{mdt}}/shifts")
            assert [s["id"] for s in r.json()["data"]] == ["s-1"]

        def test_default_again(northca_mock):
            assert northca_mock.partner_key == {DEFAULT.partner_key!r}
            assert shifts(northca_mock) == []

        @pytest.mark.northca_world("worlds/other.json")
        def test_path_world_beside_the_test(northca_inprocess):
            assert northca_inprocess.partner_key == "other-key"

        def test_set_world_lasts_one_test(northca_mock):
            northca_mock.set_world(OTHER)
            assert northca_mock.partner_key == "other-key"

        def test_default_once_more(northca_mock):
            assert northca_mock.partner_key == {DEFAULT.partner_key!r}
        """,
    )
    pytester.runpytest("--strict-markers").assert_outcomes(passed=5)


def test_marker_generates_a_world(pytester: pytest.Pytester) -> None:
    write_tests(
        pytester,
        """
        GENERATE = {"seed": 1, "mdts": 3, "records_per_mdt": 40, "now": "2026-12-08T00:00:00Z"}

        @pytest.mark.northca_world(generate=GENERATE)
        def test_generated(northca_mock):
            world = northca_mock.world
            assert len(world["mdts"]) == 3 and len(world["links"]) == 2
            assert northca_mock.mdt_id == world["links"][0]["mdt_id"]
            r = call(northca_mock, "GET", "/mdts/{mdt}/calls?limit=100")
            listed = r.json()["data"]
            assert listed and listed == world["records"][northca_mock.mdt_id]["calls"]

        @pytest.mark.northca_world(generate=GENERATE)
        def test_the_same_world_again(northca_inprocess):
            assert northca_inprocess.world["mdts"][0]["id"] == MDT_OF_SEED_1

        @pytest.mark.northca_world(generate={"seed": 1, "colour": "blue"})
        def test_unknown_option(northca_mock):
            pass
        """.replace("MDT_OF_SEED_1", repr(generated_mdt())),
    )
    result = pytester.runpytest("--strict-markers")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*ValueError: generate: unknown option(s) ?'colour'?; expected*"])


SANDBOX_DOCS = Path(__file__).resolve().parents[1] / "docs" / "sandbox.md"


@pytest.mark.skipif(not SANDBOX_DOCS.is_file(), reason="not running from a source checkout")
def test_the_sandbox_pages_example_passes(pytester: pytest.Pytester) -> None:
    text = SANDBOX_DOCS.read_text(encoding="utf-8")
    (block,) = re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)
    pytester.makepyfile(test_dashboard=block)
    pytester.runpytest("--strict-markers").assert_outcomes(passed=1)


def generated_mdt() -> str:
    from mockserver.testing import generated_world

    world = generated_world({"seed": 1, "mdts": 3, "now": "2026-12-08T00:00:00Z"})
    mdt_id: str = world["mdts"][0]["id"]
    return mdt_id


def test_overridden_world_fixture(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        f"""
        import pytest

        @pytest.fixture(scope="module")
        def northca_world():
            return {OTHER_WORLD!r}
        """
    )
    write_tests(
        pytester,
        """
        def test_module_world(northca_mock):
            assert northca_mock.partner_key == "other-key"
        """,
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_bad_world_is_reported_at_setup(pytester: pytest.Pytester) -> None:
    write_tests(
        pytester,
        """
        @pytest.mark.northca_world({"partner_keys": {}})
        def test_never_runs(northca_mock):
            pass
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*WorldError: partner_keys*"])


def test_seed_and_spec_options(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("world.json").write_text(json.dumps(OTHER_WORLD))
    write_tests(
        pytester,
        """
        def test_seeded(northca_mock):
            assert northca_mock.partner_key == "other-key"
            assert [s["id"] for s in shifts(northca_mock)] == ["s-1"]
        """,
    )
    pytester.runpytest("--northca-seed", "world.json").assert_outcomes(passed=1)
    pytester.makeini("[pytest]\nnorthca_seed = world.json\n")
    pytester.runpytest().assert_outcomes(passed=1)
    result = pytester.runpytest("--northca-spec", "missing.yaml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*missing.yaml*"])


# -- errors inside the mock ----------------------------------------------------------------------
def test_server_thread_errors_fail_the_test_that_caused_them(pytester: pytest.Pytester) -> None:
    write_tests(
        pytester,
        """
        def boom(**path):
            raise RuntimeError("kaboom in the handler")

        @pytest.fixture
        def broken(northca_mock, monkeypatch):
            monkeypatch.setitem(northca_mock.app.view_functions, "getMdtInfo", boom)

        def test_ignores_the_500(northca_mock, broken):
            call(northca_mock, "GET", "/mdts/{mdt}")

        def test_asserts_on_the_500(northca_mock, broken):
            r = call(northca_mock, "GET", "/mdts/{mdt}")
            assert r.status_code == 200

        def test_in_process_too(northca_client, northca_inprocess, broken):
            mock = northca_inprocess
            northca_client.get(f"/mdts/{mock.mdt_id}", headers=mock.headers)

        def test_next_test_is_clean(northca_mock):
            assert call(northca_mock, "GET", "/mdts/{mdt}").status_code == 200
            assert northca_mock.errors == []
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*RuntimeError: kaboom in the handler",
            "*The above exception was the direct cause*",
            "*NorthcaServerError: the Northca mock raised 1 unexpected exception(s)*",
            "*GET /mdts/*-> 500 (getMdtInfo)",
        ]
    )
    result.stdout.fnmatch_lines(["*the test failed too: AssertionError: assert 500 == 200*"])


def test_errors_during_fixture_teardown_are_reported(pytester: pytest.Pytester) -> None:
    write_tests(
        pytester,
        """
        def boom(**path):
            raise RuntimeError("kaboom at teardown")

        @pytest.fixture
        def cleanup(northca_mock):
            yield
            views = northca_mock.app.view_functions
            saved, views["getMdtInfo"] = views["getMdtInfo"], boom
            try:
                call(northca_mock, "GET", "/mdts/{mdt}")
            finally:
                views["getMdtInfo"] = saved

        def test_fine(cleanup):
            pass
        """,
    )
    result = pytester.runpytest()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_fine*", "*kaboom at teardown*"])


# -- the README's and the docs' examples ----------------------------------------------------------
README = Path(__file__).resolve().parents[1] / "README.md"
PYTEST_DOCS = Path(__file__).resolve().parents[1] / "docs" / "pytest.md"


def _python_blocks(markdown: Path) -> list[str]:
    return re.findall(r"```python\n(.*?)```", markdown.read_text(encoding="utf-8"), re.DOTALL)


@pytest.mark.skipif(not README.is_file(), reason="not running from a source checkout")
def test_readme_quick_starts_pass(pytester: pytest.Pytester) -> None:
    blocks = _python_blocks(README)
    assert len(blocks) == 2  # the Python bot's and the dashboard's
    pytester.makepyfile(**{f"test_readme_{n}": block for n, block in enumerate(blocks)})
    pytester.runpytest("--strict-markers").assert_outcomes(passed=2)


@pytest.mark.skipif(not PYTEST_DOCS.is_file(), reason="not running from a source checkout")
def test_the_pytest_pages_examples_pass(pytester: pytest.Pytester) -> None:
    blocks = _python_blocks(PYTEST_DOCS)
    assert len(blocks) == 3
    pytester.makepyfile(test_docs="\n\n".join(blocks))
    pytester.runpytest("--strict-markers").assert_outcomes(passed=4)


# -- loading -------------------------------------------------------------------------------------
def test_disabled_with_p_no(pytester: pytest.Pytester) -> None:
    write_tests(pytester, "def test_uses_it(northca_mock):\n    pass\n")
    result = pytester.runpytest("-p", "no:northca")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fixture 'northca_mock' not found*"])
    assert pytester.runpytest("-p", "no:northca", "--northca-seed", "x").ret != 0


def test_importing_the_plugin_imports_no_heavy_module() -> None:
    probe = (
        "import sys, mockserver.pytest_plugin; "
        "heavy = [m for m in ('flask', 'werkzeug', 'openapi_core', 'schemathesis', 'yaml',"
        " 'requests', 'mockserver.app', 'mockserver.testing') if m in sys.modules]; "
        "print(heavy)"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert result.stdout.strip() == "[]"


def test_xdist_workers_each_have_their_own_mock(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    out = pytester.path / "ports"
    out.mkdir()
    write_tests(
        pytester,
        f"""
        import os, time

        @pytest.mark.parametrize("n", range(8))
        def test_isolated(northca_mock, n):
            out = pathlib.Path({str(out)!r})
            worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
            (out / f"{{worker}}-{{n}}").write_text(northca_mock.url)
            for _ in range(3):
                assert call(northca_mock, "POST", "/mdts/{{mdt}}/shifts", SHIFT).status_code == 201
                time.sleep(0.02)
            assert len(shifts(northca_mock)) == 3
            northca_mock.requests.assert_called("createShift", times=3)
        """,
    )
    # The other plugins of this environment (schemathesis, hypothesis) take seconds to import
    # in each process and play no part here.
    quiet = ("-p", "no:schemathesis", "-p", "no:hypothesispytest", "-p", "no:cacheprovider")
    result = pytester.runpytest_subprocess("-n", "2", *quiet)
    result.assert_outcomes(passed=8)
    urls: dict[str, set[str]] = {}
    for path in out.iterdir():
        urls.setdefault(path.name.split("-")[0], set()).add(path.read_text())
    assert set(urls) == {"gw0", "gw1"}, urls
    assert all(len(seen) == 1 for seen in urls.values()), urls  # one mock per worker
    assert urls["gw0"] != urls["gw1"]


# -- the fixtures' edges (issue 19) --------------------------------------------------------------
def test_fixture_server_is_guarded_and_refuses_upgrades_and_non_ascii(
    pytester: pytest.Pytester,
) -> None:
    """A cross-site page cannot reset the socket fixture; an upgrade or a non-ASCII header is a
    documented 400 on both fixtures, never a 500 that fails the test."""
    write_tests(
        pytester,
        """
        MALFORMED = {"ok": False, "error": "Malformed HTTP request"}
        NO_WEBSOCKET = {"ok": False, "error": "WebSocket not supported"}
        UPGRADE = {"Upgrade": "websocket", "Connection": "Upgrade",
                   "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13"}

        def test_cross_site_reset_is_refused(northca_mock):
            assert call(northca_mock, "POST", "/mdts/{mdt}/shifts", SHIFT).status_code == 201
            page = requests.post(northca_mock.url + "/__mock/reset", data="{}",
                                 headers={"Origin": "http://evil.example",
                                          "Content-Type": "text/plain"})
            rebound = requests.post(northca_mock.url + "/__mock/reset",
                                    headers={"Host": "evil.example"})
            refused = {"ok": False, "error": "Forbidden origin"}
            assert (page.status_code, page.json()) == (403, refused)
            refused = {"ok": False, "error": "Forbidden host"}
            assert (rebound.status_code, rebound.json()) == (403, refused)
            assert len(shifts(northca_mock)) == 1

        @pytest.mark.parametrize("fixture", ["northca_mock", "northca_inprocess"])
        def test_upgrade_and_non_ascii(fixture, request):
            mock = request.getfixturevalue(fixture)
            send = mock.session.get if mock.in_process else requests.get
            url = mock.url + "/mdts/" + mock.mdt_id + "/shifts"
            upgrade = send(url, headers={**mock.headers, **UPGRADE})
            cafe = send(url, headers={**mock.headers, "x-mock-namespace": "café"})
            assert (upgrade.status_code, upgrade.json()) == (400, NO_WEBSOCKET)
            assert (cafe.status_code, cafe.json()) == (400, MALFORMED)
        """,
    )
    pytester.runpytest().assert_outcomes(passed=3)
