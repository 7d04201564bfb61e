"""Stateful check of shifts, active units and calls against a small Python model.

The model orders records by write sequence, newest first: the mock clock never runs backwards
here (it runs in real time and is only advanced), so "most recently updated first, ties: the later
write first" (interface; northca-api.md §6) is exactly "latest write first".
"""

from __future__ import annotations

import functools
from typing import Any

from flask import Flask
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from mockserver import create_app
from tests.support import DEFAULT, ISO_MS_Z, auth_headers, body_schema, error_of, ok_data

BASE = f"/mdts/{DEFAULT.mdt_id}"
DEPARTMENTS = ("Patrol", "Traffic", "patrol", "K9")
UNIT_POOL = ("ADAM-12", "LINCOLN-3", "BOY-7", "KING-1", "adam-12")
UNIT_FIELDS = ("officer_name", "officer_badge", "department", "rank", "status")
#: The fields updateCall applies: the ones its body schema declares.
CALL_FIELDS = tuple(body_schema("updateCall")["properties"])
OTHER_ACTOR = "444444444444444444"

actors = st.sampled_from([DEFAULT.actor_id, OTHER_ACTOR, None])
short_text = st.sampled_from(["10-8", "10-7", "", "B. Bubbleton", "512", "PO", "Patrol"])
limits = st.none() | st.integers(1, 6) | st.just(100)


@functools.lru_cache(maxsize=1)
def _app() -> Flask:
    return create_app()


@st.composite
def unit_items(draw: st.DrawFn) -> list[dict[str, Any]]:
    ids = draw(st.lists(st.sampled_from(UNIT_POOL), unique=True, max_size=4))
    items = []
    for unit_id in ids:
        item: dict[str, Any] = {"id": unit_id}
        for field in draw(st.lists(st.sampled_from(UNIT_FIELDS), unique=True)):
            item[field] = draw(st.none() | short_text)
        items.append(item)
    return items


class RecordsMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.client = _app().test_client()
        ok_data(self.client.post("/__mock/reset"))
        self.seq = 0
        self.floor = ""  # no write may be stamped before this instant (mock clock)
        # id -> (write sequence, record as the server returned it)
        self.shifts: dict[str, tuple[int, dict[str, Any]]] = {}
        self.units: dict[str, tuple[int, dict[str, Any]]] = {}
        self.calls: dict[str, tuple[int, dict[str, Any]]] = {}

    # -- helpers ---------------------------------------------------------------------------

    def _stamp(self, ts: str) -> None:
        assert ISO_MS_Z.match(ts), ts
        assert ts >= self.floor, (ts, self.floor)
        self.floor = ts

    def _next_seq(self) -> int:
        self.seq += 1
        return self.seq

    @staticmethod
    def _expected(
        model: dict[str, tuple[int, dict[str, Any]]], limit: int | None, keep: Any = None
    ) -> list[dict[str, Any]]:
        rows = sorted(model.values(), key=lambda row: row[0], reverse=True)
        records = [record for _, record in rows if keep is None or keep(record)]
        return records[: 50 if limit is None else limit]

    def _get(self, path: str, limit: int | None, **query: str) -> list[dict[str, Any]]:
        if limit is not None:
            query["limit"] = str(limit)
        data = ok_data(self.client.get(path, query_string=query, headers=auth_headers()))
        assert isinstance(data, list)
        return data

    # -- writes ----------------------------------------------------------------------------

    @rule(
        department=st.none() | st.sampled_from(DEPARTMENTS),
        badge=st.none() | st.sampled_from(["512", "144"]),
        actor=actors,
    )
    def create_shift(self, department: str | None, badge: str | None, actor: str | None) -> None:
        body: dict[str, Any] = {"department": department}
        if badge is not None:
            body["officer_badge"] = badge
        response = self.client.post(f"{BASE}/shifts", json=body, headers=auth_headers(actor=actor))
        shift = ok_data(response, 201)
        floor = self.floor
        self._stamp(shift["created_at"])
        assert ISO_MS_Z.match(shift["start_time"]), shift
        assert shift["start_time"] >= floor, (shift, floor)
        assert shift["updated_at"] == shift["created_at"]
        assert shift["id"] not in self.shifts
        assert shift == {
            "id": shift["id"],
            "mdt_code": DEFAULT.mdt_id,
            "officer_name": None,
            "officer_badge": badge,
            "status": "active",
            "start_time": shift["start_time"],
            "end_time": None,
            "duration_ms": None,
            "department": department,
            "created_by_discord_id": actor,
            "updated_at": shift["created_at"],
            "created_at": shift["created_at"],
        }
        self.shifts[shift["id"]] = (self._next_seq(), shift)

    @rule(items=unit_items(), actor=actors)
    def upsert_units(self, items: list[dict[str, Any]], actor: str | None) -> None:
        response = self.client.put(
            f"{BASE}/units/active", json={"units": items}, headers=auth_headers(actor=actor)
        )
        units = ok_data(response)
        assert [unit["id"] for unit in units] == [item["id"] for item in items]
        for item, unit in zip(items, units, strict=True):
            self._stamp(unit["updated_at"])
            previous = self.units.get(item["id"])
            created_at = previous[1]["created_at"] if previous else unit["updated_at"]
            creator = previous[1]["created_by_discord_id"] if previous else actor
            assert unit == {
                "id": item["id"],
                "mdt_code": DEFAULT.mdt_id,
                **{field: item.get(field) or "" for field in UNIT_FIELDS},
                "last_seen": unit["updated_at"],
                "created_by_discord_id": creator,
                "updated_at": unit["updated_at"],
                "created_at": created_at,
            }
            self.units[item["id"]] = (self._next_seq(), unit)

    @rule(unit_id=st.sampled_from(UNIT_POOL))
    def delete_unit(self, unit_id: str) -> None:
        response = self.client.delete(f"{BASE}/units/active/{unit_id}", headers=auth_headers())
        if unit_id in self.units:
            assert ok_data(response) == {"deleted": True, "unit_id": unit_id}
            del self.units[unit_id]
        else:
            assert error_of(response) == (404, "Unit not found")

    @rule(priority=st.sampled_from(["low", "high", None]), actor=actors)
    def create_call(self, priority: str | None, actor: str | None) -> None:
        response = self.client.post(
            f"{BASE}/calls",
            json={"classification": "TRAFFIC STOP", "priority": priority},
            headers=auth_headers(actor=actor),
        )
        call = ok_data(response, 201)
        self._stamp(call["created_at"])
        assert call["updated_at"] == call["created_at"]
        assert call == {
            "id": call["id"],
            "mdt_code": DEFAULT.mdt_id,
            "classification": "TRAFFIC STOP",
            "description": None,
            "location": None,
            "status": "open",
            "call_type": None,
            "priority": priority,
            "units_assigned": None,
            "created_by": None,
            "created_by_discord_id": actor,
            "created_at": call["created_at"],
            "updated_at": call["updated_at"],
        }
        self.calls[call["id"]] = (self._next_seq(), call)

    @precondition(lambda self: bool(self.calls))
    @rule(
        data=st.data(),
        changes=st.dictionaries(
            st.sampled_from(CALL_FIELDS),
            st.none() | st.sampled_from(["closed", "high", "22 Park Ave", "PURSUIT"]),
            max_size=3,
        ),
        junk=st.booleans(),
    )
    def patch_call(self, data: st.DataObject, changes: dict[str, Any], junk: bool) -> None:
        call_id = data.draw(st.sampled_from(sorted(self.calls)))
        body = {
            key: (["ADAM-12"] if key == "units_assigned" and value else value)
            for key, value in changes.items()
        }
        if junk:
            body |= {"id": "other", "created_at": "2000-01-01T00:00:00.000Z", "foo": 1}
        response = self.client.patch(
            f"{BASE}/calls/{call_id}", json=body, headers=auth_headers(actor=OTHER_ACTOR)
        )
        call = ok_data(response)
        self._stamp(call["updated_at"])
        before = self.calls[call_id][1]
        applied = {key: value for key, value in body.items() if key in CALL_FIELDS}
        assert call == {**before, **applied, "updated_at": call["updated_at"]}
        self.calls[call_id] = (self._next_seq(), call)

    @rule(call_id=st.sampled_from(["no-such-call", "2f4037ea-5c74-4c3e-8a7f-2fbf8d1f6b9f"]))
    def patch_unknown_call(self, call_id: str) -> None:
        response = self.client.patch(f"{BASE}/calls/{call_id}", json={}, headers=auth_headers())
        assert error_of(response) == (404, "Call not found")

    @rule(seconds=st.integers(0, 5))
    def advance_clock(self, seconds: int) -> None:
        before = ok_data(self.client.get("/__mock/state"))["now"]
        now = ok_data(self.client.post("/__mock/clock", json={"advance_seconds": seconds}))["now"]
        assert ISO_MS_Z.match(now), now
        assert now >= before
        self.floor = max(self.floor, now)

    # -- reads -----------------------------------------------------------------------------

    @rule(limit=limits, department=st.none() | st.sampled_from(DEPARTMENTS))
    def list_shifts(self, limit: int | None, department: str | None) -> None:
        query = {} if department is None else {"department": department}
        listed = self._get(f"{BASE}/shifts", limit, **query)
        keep = None if department is None else (lambda r: r["department"] == department)
        assert listed == self._expected(self.shifts, limit, keep)

    @rule(limit=limits)
    def list_units(self, limit: int | None) -> None:
        listed = self._get(f"{BASE}/units/active", limit)
        assert listed == self._expected(self.units, limit)

    @rule(limit=limits)
    def list_calls(self, limit: int | None) -> None:
        listed = self._get(f"{BASE}/calls", limit)
        assert listed == self._expected(self.calls, limit)

    @invariant()
    def state_holds_exactly_the_model(self) -> None:
        records = ok_data(self.client.get("/__mock/state"))["mdts"][DEFAULT.mdt_id]
        for name, model in (
            ("shifts", self.shifts),
            ("active_units", self.units),
            ("calls", self.calls),
        ):
            stored = {record["id"]: record for record in records[name]}
            assert stored == {key: record for key, (_, record) in model.items()}, name
        assert records["scene_reports"] == []
        assert records["tickets"] == []
        assert records["events"] == []


RecordsMachine.TestCase.settings = settings(max_examples=25, stateful_step_count=15, deadline=None)
TestRecordsStateMachine = RecordsMachine.TestCase
