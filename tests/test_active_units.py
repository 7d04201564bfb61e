"""Active units: upsert, list, delete and panic (seed 002; northca-api.md §3.2, §4.8, §5)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support import (
    ADAM_12,
    DEFAULT,
    ISO_MS_Z,
    advance_clock,
    auth_headers,
    error_of,
    list_records,
    mock_now,
    mock_state,
    ok_data,
    set_clock,
)

UNITS = f"/mdts/{DEFAULT.mdt_id}/units/active"
OTHER_ACTOR = "444444444444444444"
UNIT_FIELDS = {
    "id",
    "mdt_code",
    "officer_name",
    "officer_badge",
    "department",
    "rank",
    "status",
    "last_seen",
    "created_by_discord_id",
    "updated_at",
    "created_at",
}
STRING_FIELDS = ("officer_name", "officer_badge", "department", "rank", "status")
LINCOLN = {
    "id": "LINCOLN-3",
    "officer_name": "A. Smith",
    "officer_badge": "144",
    "department": "Traffic",
    "rank": "SGT",
    "status": "10-7",
}
# The UpsertActiveUnitsBody example of seed 002, exactly.
SEED_EXAMPLE = {"units": [ADAM_12, LINCOLN]}

EXPECTED_UNITS = "Expected { units: [...] }"
MISSING_ID = "Each unit must include a non-empty id"
DUPLICATE_ID = "Duplicate unit id in request body"


def _events(client: FlaskClient) -> list[dict[str, Any]]:
    events = mock_state(client)["mdts"][DEFAULT.mdt_id]["events"]
    assert isinstance(events, list)
    return events


def _upsert(client: FlaskClient, headers: dict[str, str], body: Any) -> list[dict[str, Any]]:
    data = ok_data(client.put(UNITS, json=body, headers=headers))
    assert isinstance(data, list)
    return data


def _list(client: FlaskClient, headers: dict[str, str], query: str = "") -> list[dict[str, Any]]:
    return list_records(client, headers, UNITS, query)


def _by_id(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {record["id"]: record for record in records}


# --------------------------------------------------------------------------------------------
# upsertActiveUnits


def test_seed_example_inserts_both_units_in_request_order(client, headers):
    before = set_clock(client)
    units = _upsert(client, headers, SEED_EXAMPLE)
    after = mock_now(client)

    assert [u["id"] for u in units] == ["ADAM-12", "LINCOLN-3"]
    for sent, unit in zip([ADAM_12, LINCOLN], units, strict=True):
        assert set(unit) == UNIT_FIELDS
        assert ISO_MS_Z.match(unit["updated_at"]), unit
        assert before <= unit["updated_at"] <= after
        assert unit == {
            **sent,
            "mdt_code": DEFAULT.mdt_id,
            "last_seen": unit["updated_at"],
            "created_by_discord_id": DEFAULT.actor_id,
            "updated_at": unit["updated_at"],
            "created_at": unit["updated_at"],
        }
    assert _by_id(_list(client, headers)) == _by_id(units)


def test_response_follows_request_order(client, headers):
    units = _upsert(client, headers, {"units": [LINCOLN, {"id": "ZULU-9"}, ADAM_12]})
    assert [u["id"] for u in units] == ["LINCOLN-3", "ZULU-9", "ADAM-12"]


def test_insert_stores_absent_and_null_fields_as_empty_strings(client, headers):
    units = _upsert(
        client,
        headers,
        {"units": [{"id": "ADAM-12"}, {"id": "BOY-7", **dict.fromkeys(STRING_FIELDS)}]},
    )
    for unit in units:
        for field in STRING_FIELDS:
            assert unit[field] == "", (unit["id"], field)
    assert _by_id(_list(client, headers)) == _by_id(units)


def test_insert_without_actor_sets_created_by_discord_id_null(client):
    (unit,) = _upsert(client, auth_headers(actor=None), {"units": [ADAM_12]})
    assert unit["created_by_discord_id"] is None


def test_second_upsert_replaces_the_unit_and_keeps_creation_fields(client, headers):
    set_clock(client)
    first = _by_id(_upsert(client, headers, SEED_EXAMPLE))
    later = advance_clock(client, 30)
    (adam,) = _upsert(
        client,
        auth_headers(actor=OTHER_ACTOR),
        {"units": [{"id": "ADAM-12", "status": "10-7", "rank": None}]},
    )
    after = mock_now(client)

    assert adam == {
        "id": "ADAM-12",
        "mdt_code": DEFAULT.mdt_id,
        "officer_name": "",
        "officer_badge": "",
        "department": "",
        "rank": "",
        "status": "10-7",
        "last_seen": adam["updated_at"],
        "created_by_discord_id": DEFAULT.actor_id,
        "updated_at": adam["updated_at"],
        "created_at": first["ADAM-12"]["created_at"],
    }
    assert later <= adam["updated_at"] <= after
    assert adam["updated_at"] > first["ADAM-12"]["updated_at"]

    listed = _list(client, headers)
    assert listed == [adam, first["LINCOLN-3"]]


def test_second_upsert_without_actor_keeps_created_by_discord_id(client, headers):
    _upsert(client, headers, {"units": [ADAM_12]})
    (adam,) = _upsert(client, auth_headers(actor=None), {"units": [ADAM_12]})
    assert adam["created_by_discord_id"] == DEFAULT.actor_id


def test_upsert_leaves_units_not_in_the_request_untouched(client, headers):
    set_clock(client)
    first = _by_id(_upsert(client, headers, {"units": [ADAM_12, LINCOLN, {"id": "KING-1"}]}))
    advance_clock(client, 10)
    (boy,) = _upsert(client, headers, {"units": [{"id": "BOY-7", "status": "10-8"}]})
    listed = _by_id(_list(client, headers))
    assert listed == {**first, "BOY-7": boy}


def test_empty_units_returns_empty_array_and_changes_nothing(client, headers):
    units = _upsert(client, headers, SEED_EXAMPLE)
    before = _list(client, headers)
    assert _upsert(client, headers, {"units": []}) == []
    assert _list(client, headers) == before
    assert _by_id(before) == _by_id(units)


def test_empty_units_in_an_empty_mdt(client, headers):
    assert _upsert(client, headers, {"units": []}) == []
    assert _list(client, headers) == []


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{", "application/json"),
        ('{"units": [}', "application/json"),
        ("", "application/json"),
        (None, None),
        ('{"units": []}', "text/plain"),
    ],
    ids=["truncated", "broken-array", "empty", "no-body", "text-plain"],
)
def test_upsert_with_bad_json_is_invalid_json(client, headers, data, content_type):
    kwargs: dict[str, Any] = {"headers": headers}
    if data is not None:
        kwargs["data"] = data
    if content_type is not None:
        kwargs["content_type"] = content_type
    response = client.put(UNITS, **kwargs)
    assert error_of(response) == (400, "Invalid JSON")


# Each case: (body, expected error). The order of the checks is the documented one:
# shape of the body, then id presence, then duplicates, then the rest of each item.
UPSERT_ERRORS = [
    pytest.param([], EXPECTED_UNITS, id="body-array"),
    pytest.param([ADAM_12], EXPECTED_UNITS, id="body-array-of-units"),
    pytest.param("units", EXPECTED_UNITS, id="body-string"),
    pytest.param(5, EXPECTED_UNITS, id="body-number"),
    pytest.param({}, EXPECTED_UNITS, id="units-missing"),
    pytest.param({"unit": [ADAM_12]}, EXPECTED_UNITS, id="units-misspelt"),
    pytest.param({"units": None}, EXPECTED_UNITS, id="units-null"),
    pytest.param({"units": ADAM_12}, EXPECTED_UNITS, id="units-object"),
    pytest.param({"units": "ADAM-12"}, EXPECTED_UNITS, id="units-string"),
    pytest.param({"units": [ADAM_12], "extra": 1}, EXPECTED_UNITS, id="extra-top-level-key"),
    pytest.param({"units": ["ADAM-12"]}, EXPECTED_UNITS, id="item-string"),
    pytest.param({"units": [ADAM_12, None]}, EXPECTED_UNITS, id="item-null"),
    pytest.param({"units": [[ADAM_12]]}, EXPECTED_UNITS, id="item-array"),
    pytest.param({"units": [{"officer_name": "B. Bubbleton"}]}, MISSING_ID, id="id-missing"),
    pytest.param({"units": [{"id": ""}]}, MISSING_ID, id="id-empty"),
    pytest.param({"units": [{"id": None}]}, MISSING_ID, id="id-null"),
    pytest.param({"units": [{"id": 12}]}, MISSING_ID, id="id-int"),
    pytest.param({"units": [{"id": ["ADAM-12"]}]}, MISSING_ID, id="id-array"),
    pytest.param({"units": [ADAM_12, {"id": ""}]}, MISSING_ID, id="second-id-empty"),
    pytest.param({"units": [ADAM_12, ADAM_12]}, DUPLICATE_ID, id="duplicate"),
    pytest.param({"units": [ADAM_12, LINCOLN, {"id": "ADAM-12"}]}, DUPLICATE_ID, id="dup-later"),
    pytest.param({"units": [{**ADAM_12, "foo": 1}]}, EXPECTED_UNITS, id="item-unknown-key"),
    pytest.param(
        {"units": [{**ADAM_12, "mdt_code": DEFAULT.mdt_id}]}, EXPECTED_UNITS, id="item-mdt_code"
    ),
    pytest.param({"units": [{**ADAM_12, "rank": 3}]}, EXPECTED_UNITS, id="item-rank-int"),
    pytest.param({"units": [{**ADAM_12, "status": True}]}, EXPECTED_UNITS, id="item-status-bool"),
    pytest.param(
        {"units": [{**ADAM_12, "officer_badge": 512}]}, EXPECTED_UNITS, id="item-badge-int"
    ),
    # Two rules broken at once: the earlier check wins.
    pytest.param({"units": [{"id": ""}, "x"]}, EXPECTED_UNITS, id="shape-before-id"),
    pytest.param({"units": [{"id": ""}], "extra": 1}, EXPECTED_UNITS, id="extra-key-before-id"),
    pytest.param({"units": [ADAM_12, ADAM_12, {"id": ""}]}, MISSING_ID, id="id-before-duplicate"),
    pytest.param({"units": [{"id": "", "rank": 3}]}, MISSING_ID, id="id-before-item-type"),
    pytest.param({"units": [{**ADAM_12, "foo": 1}, {"id": None}]}, MISSING_ID, id="id-before-key"),
    pytest.param(
        {"units": [{**ADAM_12, "foo": 1}, ADAM_12]}, DUPLICATE_ID, id="duplicate-before-key"
    ),
    pytest.param(
        {"units": [ADAM_12, {**ADAM_12, "rank": 3}]}, DUPLICATE_ID, id="duplicate-before-type"
    ),
]


@pytest.mark.parametrize(("body", "error"), UPSERT_ERRORS)
def test_upsert_errors_in_documented_order_and_nothing_is_stored(client, headers, body, error):
    stored = _upsert(client, headers, {"units": [{"id": "KING-1", "status": "10-8"}]})
    snapshot = mock_state(client)["mdts"][DEFAULT.mdt_id]["active_units"]
    response = client.put(UNITS, json=body, headers=headers)
    assert error_of(response) == (400, error)
    assert _list(client, headers) == stored
    assert mock_state(client)["mdts"][DEFAULT.mdt_id]["active_units"] == snapshot


def test_duplicate_ids_store_nothing_at_all(client, headers):
    response = client.put(
        UNITS, json={"units": [{"id": "NEW-1"}, LINCOLN, {"id": "NEW-1"}]}, headers=headers
    )
    assert error_of(response) == (400, DUPLICATE_ID)
    assert _list(client, headers) == []


def test_ids_differing_only_in_case_are_not_duplicates(client, headers):
    units = _upsert(client, headers, {"units": [{"id": "adam-12"}, {"id": "ADAM-12"}]})
    assert [u["id"] for u in units] == ["adam-12", "ADAM-12"]


# --------------------------------------------------------------------------------------------
# listActiveUnits


def test_list_is_newest_updated_first(client, headers):
    set_clock(client)
    _upsert(client, headers, {"units": [ADAM_12]})
    advance_clock(client, 1)
    _upsert(client, headers, {"units": [LINCOLN]})
    advance_clock(client, 1)
    _upsert(client, headers, {"units": [{"id": "KING-1"}]})
    assert [u["id"] for u in _list(client, headers)] == ["KING-1", "LINCOLN-3", "ADAM-12"]
    advance_clock(client, 1)
    _upsert(client, headers, {"units": [ADAM_12]})
    assert [u["id"] for u in _list(client, headers)] == ["ADAM-12", "KING-1", "LINCOLN-3"]


def test_list_without_clock_moves_puts_later_writes_first(client, headers):
    for unit_id in ("A-1", "A-2", "A-3", "A-4"):
        _upsert(client, headers, {"units": [{"id": unit_id}]})
    assert [u["id"] for u in _list(client, headers)] == ["A-4", "A-3", "A-2", "A-1"]
    _upsert(client, headers, {"units": [{"id": "A-2"}]})
    assert [u["id"] for u in _list(client, headers)] == ["A-2", "A-4", "A-3", "A-1"]


@pytest.mark.parametrize(("limit", "expected"), [(1, ["C-3"]), (2, ["C-3", "B-2"]), (100, None)])
def test_list_limit(client, headers, limit, expected):
    set_clock(client)
    for unit_id in ("A-1", "B-2", "C-3"):
        _upsert(client, headers, {"units": [{"id": unit_id}]})
        advance_clock(client, 1)
    listed = [u["id"] for u in _list(client, headers, f"?limit={limit}")]
    assert listed == (expected or ["C-3", "B-2", "A-1"])


def test_list_default_limit_is_50(client, headers):
    ids = [f"UNIT-{n}" for n in range(51)]
    for unit_id in ids:
        _upsert(client, headers, {"units": [{"id": unit_id}]})
    assert [u["id"] for u in _list(client, headers)] == ids[::-1][:50]
    assert [u["id"] for u in _list(client, headers, "?limit=100")] == ids[::-1]


@pytest.mark.parametrize("limit", ["0", "101", "abc", "2.5", "-1"])
def test_list_invalid_limit(client, headers, limit):
    response = client.get(f"{UNITS}?limit={limit}", headers=headers)
    assert error_of(response) == (400, "Invalid limit")


# --------------------------------------------------------------------------------------------
# deleteActiveUnit


def test_delete_returns_the_unit_id_and_removes_only_that_unit(client, headers):
    units = _by_id(_upsert(client, headers, SEED_EXAMPLE))
    response = client.delete(f"{UNITS}/ADAM-12", headers=headers)
    assert ok_data(response) == {"deleted": True, "unit_id": "ADAM-12"}
    assert _list(client, headers) == [units["LINCOLN-3"]]
    again = client.delete(f"{UNITS}/ADAM-12", headers=headers)
    assert error_of(again) == (404, "Unit not found")


def test_delete_then_upsert_creates_afresh(client, headers):
    set_clock(client)
    (first,) = _upsert(client, headers, {"units": [ADAM_12]})
    ok_data(client.delete(f"{UNITS}/ADAM-12", headers=headers))
    advance_clock(client, 10)
    (second,) = _upsert(client, auth_headers(actor=OTHER_ACTOR), {"units": [ADAM_12]})
    assert second["created_at"] > first["created_at"]
    assert second["created_at"] == second["updated_at"]
    assert second["created_by_discord_id"] == OTHER_ACTOR


@pytest.mark.parametrize("unit_id", ["NOPE-1", "adam-12"])
def test_delete_unknown_unit_is_404(client, headers, unit_id):
    stored = _upsert(client, headers, {"units": [ADAM_12]})
    response = client.delete(f"{UNITS}/{unit_id}", headers=headers)
    assert error_of(response) == (404, "Unit not found")
    assert _list(client, headers) == stored


# --------------------------------------------------------------------------------------------
# triggerUnitPanic


@pytest.mark.parametrize(
    ("kwargs", "address"),
    [
        ({"json": {}}, None),
        ({}, None),
        ({"json": {"address": None}}, None),
        ({"json": {"address": "67 Mango Place"}}, "67 Mango Place"),
    ],
    ids=["empty-object", "no-body", "address-null", "address"],
)
def test_panic_acknowledges_and_records_the_event(client, headers, kwargs, address):
    stored = _upsert(client, headers, SEED_EXAMPLE)
    before = set_clock(client)
    response = client.post(f"{UNITS}/ADAM-12/panic", headers=headers, **kwargs)
    data = ok_data(response)
    after = mock_now(client)

    assert data == {"panicked": True, "unit_id": "ADAM-12", "ts": data["ts"]}
    assert ISO_MS_Z.match(data["ts"]), data
    assert before <= data["ts"] <= after
    assert _events(client) == [
        {
            "type": "panic",
            "unit_id": "ADAM-12",
            "address": address,
            "ts": data["ts"],
            "actor": DEFAULT.actor_id,
        }
    ]
    assert _by_id(_list(client, headers)) == _by_id(stored)


def test_panic_does_not_change_the_unit_or_the_list_order(client, headers):
    set_clock(client)
    _upsert(client, headers, {"units": [ADAM_12]})
    advance_clock(client, 1)
    _upsert(client, headers, {"units": [LINCOLN]})
    listed = _list(client, headers)
    advance_clock(client, 1)
    ok_data(
        client.post(f"{UNITS}/ADAM-12/panic", json={"address": "67 Mango Place"}, headers=headers)
    )
    assert _list(client, headers) == listed


def test_panic_events_accumulate_with_actor(client, headers):
    _upsert(client, headers, SEED_EXAMPLE)
    first = ok_data(client.post(f"{UNITS}/ADAM-12/panic", json={}, headers=headers))
    second = ok_data(
        client.post(
            f"{UNITS}/LINCOLN-3/panic",
            json={"address": "22 Park Ave"},
            headers=auth_headers(actor=None),
        )
    )
    assert second["unit_id"] == "LINCOLN-3"
    assert _events(client) == [
        {
            "type": "panic",
            "unit_id": "ADAM-12",
            "address": None,
            "ts": first["ts"],
            "actor": DEFAULT.actor_id,
        },
        {
            "type": "panic",
            "unit_id": "LINCOLN-3",
            "address": "22 Park Ave",
            "ts": second["ts"],
            "actor": None,
        },
    ]


def test_panic_ts_follows_the_mock_clock(client, headers):
    _upsert(client, headers, {"units": [ADAM_12]})
    set_clock(client, "2031-07-04T12:00:00.000Z")
    data = ok_data(client.post(f"{UNITS}/ADAM-12/panic", json={}, headers=headers))
    assert data["ts"].startswith("2031-07-04T12:00:")


@pytest.mark.parametrize(
    "body",
    [
        {"foo": "bar"},
        {"address": "67 Mango Place", "unit_id": "ADAM-12"},
        {"address": 67},
        {"address": ["67 Mango Place"]},
        [],
        "67 Mango Place",
    ],
    ids=["unknown-key", "address-plus-unknown", "address-int", "address-array", "array", "string"],
)
def test_panic_with_invalid_body_is_invalid_request_body(client, headers, body):
    _upsert(client, headers, {"units": [ADAM_12]})
    response = client.post(f"{UNITS}/ADAM-12/panic", json=body, headers=headers)
    assert error_of(response) == (400, "Invalid request body")
    assert _events(client) == []


@pytest.mark.parametrize(
    ("data", "content_type"),
    [("{", "application/json"), ('{"address": "x"}', "text/plain")],
    ids=["truncated", "text-plain"],
)
def test_panic_with_unparseable_body_is_invalid_json(client, headers, data, content_type):
    _upsert(client, headers, {"units": [ADAM_12]})
    response = client.post(
        f"{UNITS}/ADAM-12/panic", data=data, content_type=content_type, headers=headers
    )
    assert error_of(response) == (400, "Invalid JSON")
    assert _events(client) == []


@pytest.mark.parametrize("kwargs", [{"json": {}}, {}], ids=["empty-object", "no-body"])
def test_panic_unknown_unit_is_404_and_records_nothing(client, headers, kwargs):
    _upsert(client, headers, {"units": [ADAM_12]})
    response = client.post(f"{UNITS}/NOPE-1/panic", headers=headers, **kwargs)
    assert error_of(response) == (404, "Unit not found")
    assert _events(client) == []


def test_panic_on_deleted_unit_is_404(client, headers):
    _upsert(client, headers, {"units": [ADAM_12]})
    ok_data(client.delete(f"{UNITS}/ADAM-12", headers=headers))
    response = client.post(f"{UNITS}/ADAM-12/panic", json={}, headers=headers)
    assert error_of(response) == (404, "Unit not found")
    assert _events(client) == []


def test_panic_body_is_checked_before_the_unit(client, headers):
    response = client.post(f"{UNITS}/NOPE-1/panic", json={"foo": 1}, headers=headers)
    assert error_of(response) == (400, "Invalid request body")
