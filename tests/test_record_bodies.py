"""Records are kept as their JSON: the bodies clients get are the same bytes as before.

The literals below are what the mock answered when it kept records as dicts and encoded every
response with ``json.dumps(ensure_ascii=False, separators=(",", ":"))``.
"""

from __future__ import annotations

import json

from flask.testing import FlaskClient

from mockserver import create_app
from mockserver.clock import Clock
from tests.support import DEFAULT, auth_headers

NOW = "2027-01-15T08:00:00.000Z"
SHIFT = (
    '{"id":"cd613e30-d8f1-4adf-91b7-584a2265b1f5","mdt_code":"' + DEFAULT.mdt_id + '",'
    '"officer_name":"Zoë 警察","officer_badge":null,"status":"active",'
    f'"start_time":"{NOW}","end_time":null,"duration_ms":null,"department":"Patrol",'
    f'"created_by_discord_id":"222222222222222222","updated_at":"{NOW}","created_at":"{NOW}"}}'
)
UNIT = (
    '{"id":"A-1","mdt_code":"' + DEFAULT.mdt_id + '","officer_name":"Ä","officer_badge":"",'
    f'"department":"","rank":"","status":"","last_seen":"{NOW}",'
    f'"created_by_discord_id":"222222222222222222","updated_at":"{NOW}","created_at":"{NOW}"}}'
)


def _client() -> FlaskClient:
    return create_app(clock=Clock(lambda: 1_800_000_000.0), id_seed=1).test_client()


def test_create_list_and_upsert_bodies_are_byte_for_byte_the_same() -> None:
    client = _client()
    headers = auth_headers()
    shifts = f"/mdts/{DEFAULT.mdt_id}/shifts"
    body = {"officer_name": "Zoë 警察", "department": "Patrol"}
    created = client.post(shifts, json=body, headers=headers)
    assert (created.status_code, created.data) == (201, f'{{"ok":true,"data":{SHIFT}}}'.encode())
    assert created.headers["Content-Type"] == "application/json"
    listed = client.get(shifts + "?department=Patrol&limit=2", headers=headers)
    assert (listed.status_code, listed.data) == (200, f'{{"ok":true,"data":[{SHIFT}]}}'.encode())
    units = {"units": [{"id": "A-1", "officer_name": "Ä"}]}
    upserted = client.put(f"/mdts/{DEFAULT.mdt_id}/units/active", json=units, headers=headers)
    assert (upserted.status_code, upserted.data) == (200, f'{{"ok":true,"data":[{UNIT}]}}'.encode())


def test_patched_record_and_state_agree_with_the_list() -> None:
    client = _client()
    headers = auth_headers()
    calls = f"/mdts/{DEFAULT.mdt_id}/calls"
    created = client.post(calls, json={"description": "fire", "priority": "high"}, headers=headers)
    assert created.status_code == 201
    call_id = created.get_json()["data"]["id"]
    patched = client.patch(
        f"{calls}/{call_id}", json={"status": "closed", "unknown": 1}, headers=headers
    )
    assert patched.status_code == 200
    record = patched.get_json()["data"]
    assert record["status"] == "closed"
    assert "unknown" not in record
    compact = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
    assert patched.data == b'{"ok":true,"data":' + compact + b"}"
    assert client.get(calls, headers=headers).data == b'{"ok":true,"data":[' + compact + b"]}"
    state = client.get("/__mock/state").get_json()["data"]
    assert state["mdts"][DEFAULT.mdt_id]["calls"] == [record]
