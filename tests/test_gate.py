"""One strict gate for everything that enters (issue 19, item 3).

Whatever a seed, ``POST /__mock/world``, a fault plan, a partner write or a state file gets
accepted, the server can write to its state file and read back as the same data; what it
cannot is refused at the door, naming the key.
"""

from __future__ import annotations

import copy
import datetime
import json
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from mockserver import create_app
from mockserver.app import server_of
from mockserver.bodies import parse_json
from mockserver.faults import FaultPlan, FaultPlanError
from mockserver.gate import UnstorableError, check_storable
from mockserver.persistence import StateFileError, read_payload
from mockserver.spec import load_spec
from mockserver.world import WorldError, default_world_path, load_world
from tests.live import serve_and_exit
from tests.support import DEFAULT, auth_headers

MDT_INFO = f"/mdts/{DEFAULT.mdt_id}"
SHIFTS = f"/mdts/{DEFAULT.mdt_id}/shifts"


def default_world() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(default_world_path().read_text(encoding="utf-8"))
    return loaded


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def world_with_settings(settings_value: Any) -> dict[str, Any]:
    world = default_world()
    world["mdts"][0]["info"]["settings"] = settings_value
    return world


# -- the three seeds of the issue, at the door ---------------------------------------------------
NESTED_WHERE = "mdts[0].info.settings" + ".a" * 60
SEEDS: dict[str, tuple[str, str]] = {
    "settings-nested-100": (
        yaml.safe_dump(world_with_settings(nested(100))),
        f"{NESTED_WHERE}: nested deeper than 64 levels",
    ),
    "faults-latency-nan": (
        yaml.safe_dump(default_world())
        + "faults: {operations: {listShifts: {latency_ms: .nan}}}\n",
        "faults.operations.listShifts.latency_ms: nan is not a JSON number (finite numbers only)",
    ),
    "mdt-name-lone-surrogate": (  # a JSON seed: YAML refuses the escape itself
        json.dumps(default_world()).replace("Liberty County Sheriff's Office", "Liberty \\ud800"),
        "mdts[0].info.name: a string holds a lone UTF-16 surrogate",
    ),
    "settings-date": (
        yaml.safe_dump(default_world()).replace("settings: {}", "settings: {since: 2026-03-01}", 1),
        "mdts[0].info.settings.since: a date is not JSON (expected a string, number, boolean,"
        " null, list or mapping; quote dates and times)",
    ),
    "settings-integer-key": (
        yaml.safe_dump(default_world()).replace("settings: {}", "settings: {1: one}", 1),
        "mdts[0].info.settings: key 1 is a int: keys must be strings",
    ),
    "settings-infinity": (
        yaml.safe_dump(default_world()).replace("settings: {}", "settings: {x: .inf}", 1),
        "mdts[0].info.settings.x: inf is not a JSON number (finite numbers only)",
    ),
}


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_a_seed_the_state_file_could_not_keep_exits_2_naming_the_key(
    tmp_path: Path, kind: str
) -> None:
    text, message = SEEDS[kind]
    seed = tmp_path / ("world.json" if text.startswith("{") else "world.yaml")
    seed.write_text(text, encoding="utf-8")
    state_file = tmp_path / "state.json"
    result = serve_and_exit("--seed", seed, "--state-file", state_file)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == f"northca-mock: {message}\n"
    assert not state_file.exists()


@pytest.mark.parametrize("kind", sorted(SEEDS))
def test_a_world_dict_the_state_file_could_not_keep_is_refused_naming_the_key(kind: str) -> None:
    text, message = SEEDS[kind]
    raw = yaml.load(text, Loader=yaml.SafeLoader)  # a JSON seed is YAML too
    with pytest.raises(WorldError) as caught:
        load_world(raw)
    assert str(caught.value) == message


WORLD_BODIES = {  # what of the seeds strict JSON can carry: refused before the world is read
    "settings-nested-100": json.dumps(world_with_settings(nested(100))).encode(),
    "mdt-name-lone-surrogate": json.dumps(world_with_settings({"x": "\ud800"})).encode(),
    "faults-latency-nan": json.dumps(
        {**default_world(), "faults": {"operations": {"listShifts": {"latency_ms": math.nan}}}}
    ).encode(),
}


@pytest.mark.parametrize("kind", sorted(WORLD_BODIES))
def test_post_world_refuses_what_a_state_file_could_not_keep(kind: str) -> None:
    client = create_app().test_client()
    answer = client.post(
        "/__mock/world", data=WORLD_BODIES[kind], headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400
    assert answer.get_json() == {"ok": False, "error": "Expected a JSON object: the world"}
    assert client.get(MDT_INFO, headers=auth_headers()).get_json()["data"]["settings"] == {}


def test_a_fault_plan_with_nan_latency_is_refused_in_process_and_over_http() -> None:
    operations = load_spec().operations
    with pytest.raises(FaultPlanError) as caught:
        FaultPlan.parse({"operations": {"*": {"latency_ms": [0, math.nan]}}}, operations)
    assert str(caught.value) == (
        "faults.operations.*.latency_ms[1]: nan is not a JSON number (finite numbers only)"
    )
    client = create_app().test_client()
    answer = client.post(
        "/__mock/faults",
        data=b'{"operations": {"*": {"latency_ms": NaN}}}',
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert answer.get_json() == {"ok": False, "error": "Expected a JSON object: the fault plan"}
    faults = client.get("/__mock/faults")
    assert faults.status_code == 200
    assert json.loads(faults.data, parse_constant=pytest.fail) == {
        "ok": True,
        "data": {"seed": None, "operations": {}},
    }


def test_a_lone_surrogate_in_a_partner_write_is_invalid_json_and_the_state_stays_writable(
    tmp_path: Path,
) -> None:
    app = create_app(state_file=tmp_path / "s.json")
    client = app.test_client()
    answer = client.post(
        SHIFTS,
        data=b'{"id": "s-1", "officer_name": "\\ud800"}',
        headers={**auth_headers(), "Content-Type": "application/json"},
    )
    assert (answer.status_code, answer.get_json()) == (
        400,
        {"ok": False, "error": "Invalid JSON"},
    )
    assert answer.headers["x-northca-mock-detail"] == "body: a string holds a lone UTF-16 surrogate"
    assert client.post("/__mock/snapshot").status_code == 200


def test_a_state_file_holding_a_lone_surrogate_is_refused_naming_the_key(tmp_path: Path) -> None:
    app = create_app()
    server_of(app).state.dump()
    state_file = tmp_path / "s.json"
    payload = {
        "format": "northca-mock-state",
        "version": 1,
        "written_at": "2026-03-01T00:00:00.000Z",
        "namespaces": {"": server_of(app).state.dump()},
    }
    text = json.dumps(payload).replace("Liberty County Sheriff's Office", "Liberty \\udc00")
    state_file.write_text(text, encoding="utf-8")
    with pytest.raises(StateFileError) as caught:
        read_payload(state_file)
    assert str(caught.value) == (
        f"{state_file}: namespaces[''].world.mdts[0].info.name:"
        " a string holds a lone UTF-16 surrogate"
    )


# -- the class: anything accepted round-trips through write and read ------------------------------
JSONISH = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()  # NaN and infinities included: they must be refused
    | st.text()  # lone surrogates included
    | st.dates(),
    lambda children: (
        st.lists(children, max_size=3)
        | st.tuples(children)
        | st.dictionaries(st.text(max_size=5) | st.integers(), children, max_size=3)
    ),
    max_leaves=12,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=JSONISH, depth=st.integers(min_value=0, max_value=70))
@example(value="\ud800", depth=0)
@example(value=math.nan, depth=0)
@example(value=None, depth=64)
def test_a_world_accepted_is_written_and_read_back_equal(value: Any, depth: int) -> None:
    settings_value: Any = {"v": value}
    for _ in range(depth):
        settings_value = {"d": settings_value}
    raw = world_with_settings(settings_value)
    try:
        world = load_world(copy.deepcopy(raw))
    except WorldError:
        with pytest.raises(UnstorableError):
            check_storable(raw)
        return
    app = create_app(world=world)
    server_of(app).state.dump()
    _round_trip(app)


@settings(max_examples=60, deadline=None)
@given(value=JSONISH)
@example(value="\ud800")
def test_a_partner_write_accepted_is_written_and_read_back_equal(value: Any) -> None:
    app = create_app()
    try:
        body = json.dumps({"id": "s-1", "officer_name": "A", "notes": value}).encode(
            "utf-8", "surrogatepass"
        )
    except (TypeError, ValueError):
        return
    answer = app.test_client().post(
        SHIFTS, data=body, headers={**auth_headers(), "Content-Type": "application/json"}
    )
    if answer.status_code != 201:
        return
    _round_trip(app)


@settings(max_examples=40, deadline=None)
@given(latency=st.floats() | st.integers() | st.lists(st.floats(), min_size=2, max_size=2))
@example(latency=math.nan)
@example(latency=[0, math.inf])
def test_a_fault_plan_accepted_is_written_and_read_back_equal(latency: Any) -> None:
    app = create_app()
    plan = {"seed": 1, "operations": {"listShifts": {"latency_ms": latency}}}
    try:
        parsed = FaultPlan.parse(plan, server_of(app).spec.operations)
    except FaultPlanError:
        return
    server_of(app).state.faults = parsed
    _round_trip(app)


def _round_trip(app: Any) -> None:
    """Save the app's state, start another server from the file: the same dump."""
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        state_file = Path(folder) / "s.json"
        server = server_of(app)
        server.state_file = state_file
        server.save_state()
        again = create_app(state_file=state_file)
        assert server_of(again).state.dump() == json.loads(
            json.dumps(server.state.dump(), allow_nan=False)
        )
        assert server_of(again).state.dump() == server.state.dump()


def test_the_gate_names_the_path_and_accepts_plain_json() -> None:
    check_storable({"a": [1, 2.5, "x", None, True, {"b": []}]})
    with pytest.raises(UnstorableError) as caught:
        check_storable({"a": [1, (2,)]}, "where")
    assert str(caught.value) == (
        "where.a[1]: a tuple is not JSON (expected a string, number, boolean, null, list or"
        " mapping; quote dates and times)"
    )
    assert parse_json(b'{"a": "\\ud83d\\ude00"}') == {"a": "\U0001f600"}
    with pytest.raises(UnstorableError):
        check_storable(10**5000)
    check_storable(datetime.date.today().isoformat())
