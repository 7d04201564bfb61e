"""The simulation: a namespace's world that moves on the mock's clock, through the partner rules."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from mockserver import create_app
from mockserver.schemas import SchemaCache
from mockserver.server import server_of
from mockserver.spec import load_spec
from mockserver.world import RECORD_SCHEMAS
from mockserver.world_generate import GenerateOptions, generate_world
from tests.live import LiveMock
from tests.support import auth_headers, error_of, ok_data

SPEC = load_spec()
SCHEMAS = SchemaCache(SPEC)
START = "2026-12-08T12:00:00.000Z"
WORLD = generate_world(
    GenerateOptions(seed=9, mdts=3, records_per_mdt=20, now="2026-12-08T00:00:00Z"), SPEC
)
LINKED = WORLD["links"][0]
PATHS = {
    "calls": "calls",
    "shifts": "shifts",
    "scene_reports": "scene-reports",
    "tickets": "tickets",
    "active_units": "units/active",
}
AT_LEAST_10 = "expected a whole number of at least 10"
EXPECTED_SIMULATION = 'Expected {"events_per_minute": N, "seed": S, "mdts": [...]}'


def client(world: Any = WORLD) -> FlaskClient:
    return create_app(world=world).test_client()


def control(c: FlaskClient, method: str, path: str, body: Any = None, **headers: str) -> Any:
    answer = c.open(f"/__mock/{path}", method=method, json=body, headers=headers)
    return ok_data(answer)


def simulated_hour(seed: int, rate: float = 30, **settings: Any) -> FlaskClient:
    c = client()
    control(c, "POST", "clock", {"now": START})
    control(c, "POST", "simulation", {"events_per_minute": rate, "seed": seed, **settings})
    control(c, "POST", "clock", {"advance_seconds": 3600})
    return c


def records(c: FlaskClient) -> dict[str, Any]:
    """Every MDT's records and events."""
    mdts: dict[str, Any] = state(c)["mdts"]
    return mdts


def state(c: FlaskClient) -> dict[str, Any]:
    data: dict[str, Any] = control(c, "GET", "state")
    return data


# -- an hour, at once -----------------------------------------------------------------------------
def test_a_simulated_hour_changes_every_collection_and_stays_valid() -> None:
    before = records(client())
    c = simulated_hour(seed=1)
    after = records(c)
    for mdt_id in WORLD["mdts"]:
        for kind, schema in RECORD_SCHEMAS.items():
            old = {r["id"]: r for r in before[mdt_id["id"]][kind]}
            new = {r["id"]: r for r in after[mdt_id["id"]][kind]}
            assert old != new, f"{mdt_id['id']} {kind} did not move"
            for record in new.values():
                assert SCHEMAS.component(schema).first_problem(record, kind) is None
    # read through the partner API: documented answers, newest first
    headers = auth_headers(guild=LINKED["guild_id"])
    for kind, path in PATHS.items():
        listed = ok_data(c.get(f"/v1/mdts/{LINKED['mdt_id']}/{path}?limit=100", headers=headers))
        stamps = [(r["updated_at"], r["created_at"]) for r in listed]
        assert stamps == sorted(stamps, reverse=True), kind
    events = control(c, "GET", "simulation")
    assert 1500 <= events["applied"] <= 2100  # 30 a minute on average, for 60 minutes
    assert {e["event"] for e in events["events"]} >= {"call opened", "unit status"}
    panics = [e for mdt in after.values() for e in mdt["events"] if e["type"] == "panic"]
    assert panics, "no panic (10-33) in an hour"


def test_the_same_seed_and_clock_give_the_same_state() -> None:
    first, second = records(simulated_hour(seed=4)), records(simulated_hour(seed=4))
    assert first == second
    assert records(simulated_hour(seed=5)) != first


def test_real_time_between_the_clock_moves_changes_nothing() -> None:
    import time

    first = records(simulated_hour(seed=8))
    c = client()
    control(c, "POST", "clock", {"now": START})
    time.sleep(0.4)
    control(c, "POST", "simulation", {"events_per_minute": 30, "seed": 8})
    time.sleep(0.4)
    control(c, "POST", "clock", {"advance_seconds": 3600})
    time.sleep(0.4)
    assert records(c) == first


def test_the_settled_clock_moves_by_whole_seconds_from_its_last_move() -> None:
    from mockserver.clock import Clock

    real = [1_000.0]
    clock = Clock(lambda: real[0])
    clock.set(5_000_250)
    real[0] += 0.999
    assert clock.settled_ms() == 5_000_250 and clock.now_ms() == 5_001_249
    real[0] += 0.002
    assert clock.settled_ms() == 5_001_250
    real[0] += 0.5  # advanced from the settled time: the half second does not count
    clock.advance(60)
    assert clock.settled_ms() == 5_061_250 and clock.now_ms() == 5_061_751


def test_events_are_not_journaled_and_keep_the_partner_rules() -> None:
    c = simulated_hour(seed=2)
    assert control(c, "GET", "requests") == []
    mdt = LINKED["mdt_id"]
    owner = next(m["owner_discord_id"] for m in WORLD["mdts"] if m["id"] == mdt)
    calls = state(c)["mdts"][mdt]["calls"]
    created = [r for r in calls if r["id"] not in {x["id"] for x in WORLD["records"][mdt]["calls"]}]
    assert created and all(r["mdt_code"] == mdt for r in created)
    assert all(r["created_by_discord_id"] == owner for r in created)  # as the MDT's owner
    assert all(r["created_at"] <= r["updated_at"] for r in calls)
    ended = [s for s in state(c)["mdts"][mdt]["shifts"] if s["status"] == "ended"]
    assert any(s["duration_ms"] and s["end_time"] == s["updated_at"] for s in ended)


def test_a_partner_request_sees_the_events_due() -> None:
    c = client()
    control(c, "POST", "simulation", {"events_per_minute": 600, "seed": 1})
    app_state = server_of(c.application).state
    app_state.clock.advance(120)  # no control request: the partner read must catch up itself
    headers = auth_headers(guild=LINKED["guild_id"])
    calls = ok_data(c.get(f"/v1/mdts/{LINKED['mdt_id']}/calls?limit=100", headers=headers))
    assert len(calls) > len(WORLD["records"][LINKED["mdt_id"]]["calls"])


# -- settings -------------------------------------------------------------------------------------
def test_get_reads_the_settings_and_rate_0_stops() -> None:
    c = client()
    assert control(c, "GET", "simulation") == {
        "events_per_minute": 0,
        "seed": None,
        "mdts": [],
        "events": [],
    }
    started = control(c, "POST", "simulation", {"events_per_minute": 12, "seed": 7})
    assert (started["events_per_minute"], started["seed"]) == (12, 7)
    assert started["mdts"] == [mdt["id"] for mdt in WORLD["mdts"]]
    assert control(c, "POST", "simulation", {"events_per_minute": 0})["events_per_minute"] == 0
    before = records(c)
    control(c, "POST", "clock", {"advance_seconds": 3600})
    assert records(c) == before


def test_reset_stops_the_simulation_and_returns_to_the_world() -> None:
    c = simulated_hour(seed=3)
    control(c, "POST", "reset")
    assert control(c, "GET", "simulation")["events_per_minute"] == 0
    world_records = records(client())
    control(c, "POST", "clock", {"advance_seconds": 3600})
    assert records(c) == world_records


def test_only_the_listed_mdts_move() -> None:
    still = WORLD["mdts"][1]["id"]
    c = client()
    before = records(c)[still]
    control(c, "POST", "simulation", {"events_per_minute": 60, "mdts": [WORLD["mdts"][0]["id"]]})
    control(c, "POST", "clock", {"advance_seconds": 600})
    assert records(c)[still] == before


def test_a_namespace_simulates_alone() -> None:
    c = client()
    before = records(c)
    control(c, "POST", "simulation", {"events_per_minute": 60}, **{"x-mock-namespace": "dash"})
    control(c, "POST", "clock", {"advance_seconds": 600}, **{"x-mock-namespace": "dash"})
    control(c, "POST", "clock", {"advance_seconds": 600})
    assert records(c) == before


def test_collections_stay_within_max_records() -> None:
    c = simulated_hour(seed=6, rate=120, max_records=10)
    for mdt in state(c)["mdts"].values():
        for kind in RECORD_SCHEMAS:
            assert len(mdt[kind]) <= 10, kind


def test_the_namespace_byte_cap_holds_and_every_request_is_still_answered() -> None:
    c = create_app(world=WORLD, max_record_bytes=200_000).test_client()
    control(c, "POST", "simulation", {"events_per_minute": 600, "seed": 2})
    control(c, "POST", "clock", {"advance_seconds": 600})
    described = control(c, "GET", "simulation")
    assert described["refused"] > 0 and described["applied"] > 1000
    headers = auth_headers(guild=LINKED["guild_id"])
    answer = c.get(f"/v1/mdts/{LINKED['mdt_id']}/calls?limit=1", headers=headers)
    assert answer.status_code == 200


def test_old_closed_records_go_first() -> None:
    from mockserver.simulation import Simulation, SimulationSettings
    from mockserver.store import RecordTable

    table = RecordTable()
    statuses = ["open", "closed", "open", "cancelled", "completed", "pending"] * 2
    for index, status in enumerate(statuses):  # oldest first
        table.put({"id": f"c{index}", "status": status}, 1_000 + index)
    settings = SimulationSettings(events_per_minute=1, max_records=10)
    Simulation(settings, 0, lambda _: lambda call: None, {}, {}).trim(table, "calls")
    # 12 records, 10 allowed: 3 go (a tenth of the limit more), the oldest closed ones
    kept = [r["id"] for r in table.all()[::-1]]
    assert kept == ["c0", "c2", "c5", "c6", "c7", "c8", "c9", "c10", "c11"]


def test_a_clock_jump_of_a_day_is_bounded() -> None:
    c = client()
    control(c, "POST", "simulation", {"events_per_minute": 6000})
    control(c, "POST", "clock", {"advance_seconds": 86_400})
    described = control(c, "GET", "simulation")
    # one catch-up applies 20,000 events, and skips the other ~8.6 million of the day; events
    # that fell due while it ran (100 a second) come after it
    assert 20_000 <= described["applied"] < 40_000
    assert described["skipped"] > 8_000_000


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"events_per_minute": -1}, "events_per_minute: expected a number from 0 to 6000"),
        ({"events_per_minute": 6001}, "events_per_minute: expected a number from 0 to 6000"),
        ({"events_per_minute": "6"}, "events_per_minute: expected a number from 0 to 6000"),
        ({"events_per_minute": 6, "seed": 1.5}, "seed: expected a whole number from 0 to 2^63-1"),
        ({"events_per_minute": 6, "mdts": ["nope"]}, "mdts: unknown MDT 'nope'"),
        ({"events_per_minute": 6, "mdts": "all"}, "mdts: expected a list of MDT ids"),
        ({"events_per_minute": 6, "max_records": 3}, f"max_records: {AT_LEAST_10}"),
        ({"events_per_minute": 6, "colour": "blue"}, "colour: unknown key"),
        ([6], EXPECTED_SIMULATION),
    ],
)  # fmt: skip
def test_bad_settings_answer_400_naming_the_key(body: Any, error: str) -> None:
    c = client()
    answer = c.post("/__mock/simulation", json=body)
    assert error_of(answer) == (400, error)
    assert control(c, "GET", "simulation")["events_per_minute"] == 0


# -- serve --simulate, and the checker ------------------------------------------------------------
def test_serve_simulate_moves_the_default_namespace() -> None:
    with LiveMock("--simulate", "600", "--simulate-seed", "3") as mock:
        settings = mock.get("/__mock/simulation").json()["data"]
        assert (settings["events_per_minute"], settings["seed"]) == (600, 3)
        mock.post("/__mock/clock", json={"advance_seconds": 60})
        assert mock.get("/__mock/simulation").json()["data"]["applied"] > 100
        assert mock.get("/__mock/requests").json()["data"] == []


def test_serve_refuses_a_rate_it_cannot_simulate() -> None:
    from tests.live import serve_and_exit

    done = serve_and_exit("--simulate", "0")
    assert done.returncode == 2
    assert done.stderr == "northca-mock: --simulate 0: expected events a minute in (0, 6000]\n"


def test_the_checker_refuses_a_simulated_mdt() -> None:
    pytest.importorskip("schemathesis")
    from contracts import Auth, CheckOptions, WsgiTarget, run_check
    from contracts.runner import UsageError

    app = create_app()
    c = app.test_client()
    control(c, "POST", "simulation", {"events_per_minute": 6})
    auth = Auth(
        partner_key="test-key",
        guild="123456789012345678",
        mdt="0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2",
        actor="222222222222222222",
    )
    with pytest.raises(UsageError, match="is being simulated on the target"):
        run_check(WsgiTarget(app), CheckOptions(auth))
