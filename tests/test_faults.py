"""Failures on demand: ``Prefer: code=/example=`` and seeded fault plans (in-process).

Prefer forces a response the spec documents for the operation, exactly as written there, and says
so with ``Preference-Applied``; anything the operation does not document is ignored. Fault plans
add latency and documented errors per operation (or ``*``), drawn from a seeded generator, until
``/__mock/reset``; a world file may carry one under ``faults:``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from mockserver import create_app
from mockserver.app import server_of
from mockserver.spec import load_spec
from tests.support import DEFAULT, auth_headers, filled_path

SPEC = load_spec(None)
SHIFTS = f"/mdts/{DEFAULT.mdt_id}/shifts"
SHIFT_BODY = {"officer_name": "B. Bubbleton", "department": "Patrol"}


def documented_examples() -> list[tuple[str, int, str, Any]]:
    """(operationId, status, example name, value) for every named response example of the spec."""
    found = []
    for op in SPEC.operations.values():
        for code, response in op.raw_responses.items():
            media = response.get("content", {}).get("application/json", {})
            for name, example in media.get("examples", {}).items():
                if "value" in example:
                    found.append((op.operation_id, int(code), name, example["value"]))
    return found


EXAMPLES = documented_examples()


def operation_request(op_id: str) -> tuple[str, str]:
    op = SPEC.operations[op_id]
    return op.method, filled_path(op.path, callId="c-1", unitId="ADAM-12")


def call(client: FlaskClient, op_id: str, prefer: str | None = None, **kwargs: Any) -> Any:
    method, path = operation_request(op_id)
    headers = auth_headers()
    if prefer is not None:
        headers["Prefer"] = prefer
    return client.open(path, method=method, headers=headers, **kwargs)


def state_of(client: FlaskClient) -> dict[str, Any]:
    data: dict[str, Any] = client.get("/__mock/state").get_json()["data"]
    data.pop("now")
    return data


def set_faults(client: FlaskClient, plan: Any) -> Any:
    return client.post("/__mock/faults", json=plan)


# -- Prefer -------------------------------------------------------------------------------------
def test_every_operation_has_named_examples_to_force() -> None:
    assert {op for op, *_ in EXAMPLES} == set(SPEC.operations)
    assert len(EXAMPLES) >= 40


@pytest.mark.parametrize(
    ("op_id", "status", "name", "value"),
    EXAMPLES,
    ids=[f"{op}-{status}-{name}" for op, status, name, _ in EXAMPLES],
)
def test_prefer_example_forces_the_documented_response(
    client: FlaskClient, op_id: str, status: int, name: str, value: Any
) -> None:
    before = state_of(client)
    response = call(client, op_id, prefer=f"example={name}")
    assert response.status_code == status
    assert response.content_type == "application/json"
    assert response.get_json() == value
    assert response.headers["Preference-Applied"] == f"example={name}"
    if status >= 300 or op_id.startswith(("list", "get")):
        assert state_of(client) == before


@pytest.mark.parametrize(
    ("op_id", "prefer", "status", "error"),
    [
        ("createShift", "code=400", 400, "Invalid JSON"),
        ("createLinkRequest", "code=400", 400, "Missing required fields: mdt_id"),
        ("createLinkRequest", "code=401", 401, "Unauthorized"),
        ("confirmLinkRequest", "code=410", 410, "Link request expired"),
        ("denyLinkRequest", "code=409", 409, "Link request already approved"),
        ("upsertActiveUnits", "code=403", 403, "MDT not linked to this guild"),
        ("triggerUnitPanic", "code=404", 404, "Unit not found"),
        ("updateCall", "code=500", 500, "Internal server error"),
    ],
)
def test_prefer_code_forces_the_first_documented_example_of_that_status(
    client: FlaskClient, op_id: str, prefer: str, status: int, error: str
) -> None:
    response = call(client, op_id, prefer=prefer)
    assert response.status_code == status
    assert response.get_json() == {"ok": False, "error": error}
    assert response.headers["Preference-Applied"] == prefer


def test_prefer_code_200_returns_the_documented_success_example(client: FlaskClient) -> None:
    response = call(client, "getMdtInfo", prefer="code=200")
    info = SPEC.operations["getMdtInfo"].raw_responses["200"]["content"]["application/json"]
    assert response.status_code == 200
    assert response.get_json() == info["examples"]["info"]["value"]
    assert response.headers["Preference-Applied"] == "code=200"


@pytest.mark.parametrize(
    "prefer", ["code=400, example=missingField", "code=400;example=missingField"]
)
def test_prefer_code_and_example_together(client: FlaskClient, prefer: str) -> None:
    response = call(
        client, "createLinkRequest", prefer=prefer, json={"mdt_id": DEFAULT.unlinked_mdt_id}
    )
    assert response.status_code == 400
    assert response.get_json() == {"ok": False, "error": "Missing required fields: mdt_id"}
    assert response.headers["Preference-Applied"] == "code=400, example=missingField"
    assert state_of(client)["link_requests"] == []


def test_other_preferences_are_ignored_beside_code(client: FlaskClient) -> None:
    response = call(client, "triggerUnitPanic", prefer="respond-async, wait=5, code=404")
    assert response.status_code == 404
    assert response.get_json() == {"ok": False, "error": "Unit not found"}
    assert response.headers["Preference-Applied"] == "code=404"


@pytest.mark.parametrize(
    "prefer",
    [
        "example=nope",  # no such example anywhere
        "code=418",  # no such status anywhere
        "code=404",  # documented for other operations, not for this one
        "code=410",
        "example=invalidMdt",  # an example of another operation
        "code=400, example=idExists",  # idExists is a 409: the pair matches nothing
        "code=201, example=missingField",
        "respond-async",
        "code=",
    ],
)
def test_undocumented_preference_is_ignored(client: FlaskClient, prefer: str) -> None:
    response = call(client, "createShift", prefer=prefer, json=SHIFT_BODY)
    assert response.status_code == 201
    body = response.get_json()
    assert body["ok"] is True
    assert body["data"]["officer_name"] == "B. Bubbleton"
    assert "Preference-Applied" not in response.headers
    listed = client.get(SHIFTS, headers=auth_headers()).get_json()["data"]
    assert [shift["id"] for shift in listed] == [body["data"]["id"]]


def test_forced_response_changes_no_state_and_skips_the_checks(client: FlaskClient) -> None:
    before = state_of(client)
    # No partner-visible effect even though the body is garbage: the forced answer comes first.
    response = call(client, "createShift", prefer="code=201", data=b"{not json")
    assert response.status_code == 201
    assert response.headers["Preference-Applied"] == "code=201"
    assert state_of(client) == before


def test_prefer_does_not_bypass_auth(client: FlaskClient) -> None:
    response = client.get(SHIFTS, headers={**auth_headers(key="nope"), "Prefer": "code=200"})
    assert response.status_code == 401
    assert response.get_json()["error"] == "Unauthorized"
    assert "Preference-Applied" not in response.headers


# -- fault plans: latency ------------------------------------------------------------------------
def timed(client: FlaskClient, op_id: str, **kwargs: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    response = call(client, op_id, **kwargs)
    return time.perf_counter() - started, response


def test_fixed_latency_delays_the_operation(client: FlaskClient) -> None:
    assert set_faults(client, {"operations": {"listShifts": {"latency_ms": 50}}}).status_code == 200
    for _ in range(3):
        elapsed, response = timed(client, "listShifts")
        assert response.status_code == 200
        assert response.get_json() == {"ok": True, "data": []}
        assert 0.05 <= elapsed < 5


def test_latency_range_is_drawn_within_bounds(client: FlaskClient) -> None:
    plan = {"seed": 3, "operations": {"getMdtInfo": {"latency_ms": [20, 60]}}}
    described = set_faults(client, plan).get_json()["data"]
    assert described["operations"]["getMdtInfo"]["latency_ms"] == [20.0, 60.0]
    for _ in range(5):
        elapsed, response = timed(client, "getMdtInfo")
        assert response.status_code == 200
        assert 0.02 <= elapsed < 5


def test_latency_only_applies_to_the_planned_operation(client: FlaskClient) -> None:
    set_faults(client, {"operations": {"listShifts": {"latency_ms": 1500}}})
    elapsed, response = timed(client, "getMdtInfo")
    assert response.status_code == 200
    assert elapsed < 1.0  # 1.5 s would be the planted delay


# -- fault plans: error rates --------------------------------------------------------------------
def test_error_rate_one_always_fails_with_the_documented_error(client: FlaskClient) -> None:
    set_faults(client, {"operations": {"createShift": {"error_rate": 1.0, "error": "idExists"}}})
    before = state_of(client)
    for _ in range(10):
        response = call(client, "createShift", json=SHIFT_BODY)
        assert response.status_code == 409
        body = response.get_json()
        assert body["ok"] is False
        assert body["error"] == "ID already exists"
    assert state_of(client) == before


def test_error_rate_one_default_error_is_internal_error(client: FlaskClient) -> None:
    set_faults(client, {"operations": {"listShifts": {"error_rate": 1}}})
    response = call(client, "listShifts")
    assert response.status_code == 500
    assert response.content_type == "application/json"
    assert response.get_json()["error"] == "Internal server error"
    assert "Traceback" not in response.get_data(as_text=True)


def test_error_rate_zero_never_fails(client: FlaskClient) -> None:
    set_faults(client, {"seed": 1, "operations": {"*": {"error_rate": 0.0}}})
    ids = []
    for _ in range(20):
        response = call(client, "createShift", json=SHIFT_BODY)
        assert response.status_code == 201
        ids.append(response.get_json()["data"]["id"])
    listed = call(client, "listShifts").get_json()["data"]
    assert [shift["id"] for shift in listed] == ids[::-1]


def outcomes(client: FlaskClient, count: int = 30) -> list[int]:
    return [call(client, "getMdtInfo").status_code for _ in range(count)]


def test_seeded_plan_repeats_the_same_sequence(client: FlaskClient) -> None:
    plan = {"seed": 1234, "operations": {"*": {"error_rate": 0.5}}}
    set_faults(client, plan)
    first = outcomes(client)
    assert set(first) == {200, 500}
    set_faults(client, plan)  # a new plan with the same seed starts over
    assert outcomes(client) == first
    other_app = create_app()  # another mock, same seed: same sequence
    set_faults(other_app.test_client(), plan)
    assert outcomes(other_app.test_client()) == first
    set_faults(client, {**plan, "seed": 4321})
    assert outcomes(client) != first


def test_wildcard_applies_to_every_operation_and_specific_entries_win(
    client: FlaskClient,
) -> None:
    plan = {
        "operations": {
            "*": {"error_rate": 1, "error": "internalError"},
            "getMdtInfo": {"error_rate": 0},
        }
    }
    assert set_faults(client, plan).status_code == 200
    for op_id in ("listShifts", "listCalls", "listGuildMdts", "createShift", "unlinkMdt"):
        response = call(client, op_id, json=SHIFT_BODY if op_id == "createShift" else None)
        assert response.status_code == 500, op_id
        assert response.get_json()["error"] == "Internal server error"
    response = call(client, "getMdtInfo")
    assert response.status_code == 200
    assert response.get_json()["data"]["id"] == DEFAULT.mdt_id


def test_faults_do_not_touch_the_control_plane(client: FlaskClient) -> None:
    set_faults(client, {"operations": {"*": {"error_rate": 1}}})
    assert client.get("/__mock/state").status_code == 200
    assert client.get("/__mock/requests").status_code == 200


def test_faults_and_prefer_together_prefer_wins(client: FlaskClient) -> None:
    set_faults(client, {"operations": {"*": {"error_rate": 1}}})
    response = call(client, "getMdtInfo", prefer="code=403")
    assert response.status_code == 403
    assert response.get_json() == {"ok": False, "error": "MDT not linked to this guild"}


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        ([1, 2], "Expected a JSON object: the fault plan"),
        ({"sed": 1}, "faults: unknown key 'sed'"),
        ({"seed": "1"}, "faults.seed: expected an integer"),
        ({"seed": True}, "faults.seed: expected an integer"),
        ({"operations": [1]}, "faults.operations: expected a mapping of operationId -> faults"),
        ({"operations": []}, "faults.operations: expected a mapping of operationId -> faults"),
        ({"operations": 0}, "faults.operations: expected a mapping of operationId -> faults"),
        ({"operations": {"nope": {}}}, "faults.operations.nope: unknown operationId"),
        (
            {"operations": {"listShifts": 1}},
            "faults.operations.listShifts: expected a mapping with latency_ms, error_rate, error",
        ),
        (
            {"operations": {"listShifts": {"delay": 1}}},
            "faults.operations.listShifts: unknown key 'delay'",
        ),
        (
            {"operations": {"listShifts": {"error_rate": 1.5}}},
            "faults.operations.listShifts.error_rate: expected a number from 0 to 1",
        ),
        (
            {"operations": {"listShifts": {"error_rate": "0.5"}}},
            "faults.operations.listShifts.error_rate: expected a number from 0 to 1",
        ),
        (
            {"operations": {"listShifts": {"latency_ms": -1}}},
            "faults.operations.listShifts.latency_ms: expected 0 <= min <= max <= 60000",
        ),
        (
            {"operations": {"listShifts": {"latency_ms": [30, 10]}}},
            "faults.operations.listShifts.latency_ms: expected 0 <= min <= max <= 60000",
        ),
        (
            {"operations": {"listShifts": {"latency_ms": [1, 2, 3]}}},
            "faults.operations.listShifts.latency_ms: expected a number or [min, max]",
        ),
        (
            {"operations": {"listShifts": {"latency_ms": "10"}}},
            "faults.operations.listShifts.latency_ms: expected a number or [min, max]",
        ),
        (
            {"operations": {"listShifts": {"error": "idExists"}}},
            "faults.operations.listShifts.error: 'idExists' is not an error example of the "
            "operation",
        ),
        (
            {"operations": {"*": {"error": "idExists"}}},
            "faults.operations.*.error: 'idExists' is not an error example of the operation",
        ),
    ],
)
def test_invalid_plan_is_rejected_naming_the_key(
    client: FlaskClient, plan: Any, message: str
) -> None:
    set_faults(client, {"seed": 9, "operations": {"listCalls": {"latency_ms": 1}}})
    before = client.get("/__mock/faults").get_json()
    response = set_faults(client, plan)
    assert response.status_code == 400
    assert response.content_type == "application/json"
    assert response.get_json() == {"ok": False, "error": message}
    assert client.get("/__mock/faults").get_json() == before


@pytest.mark.parametrize("body", [b"", b"{", b"null", b"NaN"])
def test_unparseable_plan_is_rejected(client: FlaskClient, body: bytes) -> None:
    response = client.post("/__mock/faults", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"ok": False, "error": "Expected a JSON object: the fault plan"}


def test_reset_clears_the_plan(client: FlaskClient) -> None:
    set_faults(client, {"seed": 5, "operations": {"*": {"error_rate": 1, "latency_ms": 1}}})
    assert call(client, "listShifts").status_code == 500
    reset = client.post("/__mock/reset")
    assert reset.status_code == 200
    assert client.get("/__mock/faults").get_json() == {
        "ok": True,
        "data": {"seed": None, "operations": {}},
    }
    assert call(client, "listShifts").status_code == 200


WORLD_FAULTS = {
    "seed": 77,
    "operations": {
        "listShifts": {"error_rate": 1, "error": "internalError"},
        "getMdtInfo": {"error_rate": 0.5},
    },
}


def world_with_faults(tmp_path: Path, faults: Any) -> Path:
    import yaml

    from mockserver.world import default_world_path

    world = yaml.safe_load(default_world_path().read_text(encoding="utf-8"))
    world["faults"] = faults
    path = tmp_path / "world.json"
    path.write_text(json.dumps(world), encoding="utf-8")
    return path


@pytest.fixture
def faulty_app(tmp_path: Path) -> Flask:
    return create_app(world=world_with_faults(tmp_path, WORLD_FAULTS))


def test_world_file_faults_apply_from_the_start(faulty_app: Flask) -> None:
    client = faulty_app.test_client()
    response = call(client, "listShifts")
    assert response.status_code == 500
    assert response.get_json()["error"] == "Internal server error"
    assert call(client, "listCalls").status_code == 200
    described = client.get("/__mock/faults").get_json()["data"]
    assert described["seed"] == 77
    assert sorted(described["operations"]) == ["getMdtInfo", "listShifts"]


def test_world_file_faults_are_seeded_and_come_back_on_reset(faulty_app: Flask) -> None:
    client = faulty_app.test_client()
    first = outcomes(client)
    assert set(first) == {200, 500}
    set_faults(client, {})  # a control-plane plan replaces the world's until reset
    assert outcomes(client, 5) == [200] * 5
    client.post("/__mock/reset")
    assert outcomes(client) == first  # the world's plan, its generator back at the seed


def test_world_file_with_invalid_faults_names_the_key(tmp_path: Path) -> None:
    from mockserver.world import WorldError

    path = world_with_faults(tmp_path, {"operations": {"nope": {"error_rate": 1}}})
    with pytest.raises(WorldError, match=r"faults\.operations\.nope: unknown operationId"):
        create_app(world=path)


def test_world_posted_with_faults_installs_them(client: FlaskClient, tmp_path: Path) -> None:
    world = json.loads(world_with_faults(tmp_path, WORLD_FAULTS).read_text(encoding="utf-8"))
    assert client.post("/__mock/world", json=world).status_code == 200
    assert call(client, "listShifts").status_code == 500
    bad = {**world, "faults": {"operations": {"listShifts": {"error_rate": 7}}}}
    response = client.post("/__mock/world", json=bad)
    assert response.status_code == 400
    assert response.get_json() == {
        "ok": False,
        "error": "faults.operations.listShifts.error_rate: expected a number from 0 to 1",
    }


def test_link_flow_still_works_under_a_zero_rate_plan(client: FlaskClient) -> None:
    set_faults(client, {"seed": 2, "operations": {"*": {"error_rate": 0, "latency_ms": [0, 1]}}})
    created = client.post(
        "/link-requests", json={"mdt_id": DEFAULT.unlinked_mdt_id}, headers=auth_headers()
    )
    assert created.status_code == 201
    request_id = created.get_json()["data"]["id"]
    confirmed = client.post(
        f"/link-requests/{request_id}/confirm",
        headers=auth_headers(actor=DEFAULT.unlinked_mdt_owner_id),
    )
    assert confirmed.status_code == 200
    assert confirmed.get_json()["data"]["status"] == "approved"


def test_latency_on_a_one_thread_server_comes_with_a_warning() -> None:
    app = create_app()
    client = app.test_client()
    plan = {"operations": {"listShifts": {"latency_ms": 10}}}
    assert "warning" not in set_faults(client, plan).get_json()["data"]
    server_of(app).request_threads = 1  # what `serve --threads 1` (the default) records
    described = set_faults(client, plan).get_json()["data"]
    assert described["warning"] == (
        "the server has one request thread: every request waits while one is delayed"
        " (start the mock with --threads N)"
    )
    assert (
        "warning"
        not in set_faults(client, {"operations": {"*": {"error_rate": 0.5}}}).get_json()["data"]
    )
