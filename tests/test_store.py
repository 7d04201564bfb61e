"""RecordTable: recency order, the per-value index lists filter on, records kept as JSON."""

from __future__ import annotations

import gc
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver import store
from mockserver.store import RawJson, RecordTable

DEPARTMENTS = st.sampled_from(["Patrol", "Traffic", None, "patrol", "Zoë 警察"])
WRITES = st.lists(
    st.tuples(st.sampled_from("abcdef"), DEPARTMENTS, st.integers(0, 5), st.booleans()),
    max_size=40,
)


def mock_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def apply(table: RecordTable, writes: list[tuple[str, Any, int, bool]]) -> list[dict[str, Any]]:
    """Apply the writes to the table and to a model; the model's records, newest first."""
    model: dict[str, tuple[int, int, dict[str, Any]]] = {}
    for sequence, (record_id, dept, updated_ms, delete) in enumerate(writes):
        if delete:
            assert table.delete(record_id) is (record_id in model)
            model.pop(record_id, None)
        else:
            record = {"id": record_id, "department": dept, "n": sequence}
            assert table.put(record, updated_ms) == mock_json(record)
            model[record_id] = (updated_ms, sequence, record)
    return [r for _, _, r in sorted(model.values(), key=lambda e: e[:2], reverse=True)]


@settings(max_examples=200, deadline=None)
@given(writes=WRITES, department=DEPARTMENTS, limit=st.integers(1, 10))
def test_filtered_newest_equals_filtering_the_model(writes, department, limit):
    table = RecordTable(indexed=("department",))
    newest_first = apply(table, writes)
    assert table.newest(limit) == newest_first[:limit]
    assert table.newest_json(limit) == mock_json(newest_first[:limit])
    expected = [r for r in newest_first if r["department"] == department][:limit]
    assert table.newest(limit, equal=("department", department)) == expected
    assert table.newest_json(limit, equal=("department", department)) == mock_json(expected)
    assert len(table) == len(newest_first)
    for record in newest_first:
        assert table.get(record["id"]) == record


@settings(max_examples=100, deadline=None)
@given(writes=WRITES, more=WRITES, department=DEPARTMENTS)
def test_renumbering_dead_slots_keeps_order_and_index(writes, more, department):
    table = RecordTable(indexed=("department",))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(store, "_COMPACT_AFTER", 1)
        newest_first = apply(table, writes + more)
    assert table.all() == newest_first
    expected = [r for r in newest_first if r["department"] == department]
    assert table.newest(50, equal=("department", department)) == expected


def test_compaction_happens_and_later_writes_stay_newest(monkeypatch):
    monkeypatch.setattr(store, "_COMPACT_AFTER", 2)
    table = RecordTable(indexed=("department",))
    for n in range(10):
        table.put({"id": "a", "department": "x", "n": n}, 5)
    assert len(table._json) < 10  # dead slots were dropped
    table.put({"id": "b", "department": "x"}, 5)
    table.put({"id": "c", "department": "y"}, 1)
    assert [r["id"] for r in table.newest(10)] == ["b", "a", "c"]
    assert [r["id"] for r in table.newest(10, equal=("department", "x"))] == ["b", "a"]


def test_unhashable_values_are_stored_but_never_match():
    table = RecordTable(indexed=("department",))
    table.put({"id": "a", "department": ["x"]}, 1)
    table.put({"id": "b", "department": "x"}, 2)
    assert [r["id"] for r in table.newest(10)] == ["b", "a"]
    assert table.newest(10, equal=("department", ["x"])) == []
    assert table.newest_json(10, equal=("department", ["x"])) == b"[]"
    table.delete("a")
    assert [r["id"] for r in table.newest(10)] == ["b"]


def test_a_copy_is_independent_and_keeps_write_order():
    table = RecordTable(indexed=("department",))
    table.put({"id": "late", "department": "x"}, 9)
    table.put({"id": "early", "department": "x"}, 1)
    copy = table.copy()
    copy.put({"id": "late", "department": "y"}, 10)
    copy.delete("early")
    assert [r["id"] for r in table.in_write_order()] == ["late", "early"]
    assert [r["id"] for r in table.newest(10, equal=("department", "x"))] == ["late", "early"]
    assert copy.all() == [{"id": "late", "department": "y"}]


def test_stored_records_are_not_tracked_by_the_garbage_collector():
    table = RecordTable(indexed=("department",))
    gc.collect()
    before = len(gc.get_objects())
    for n in range(5000):
        record = {"id": f"r{n}", "department": f"d{n % 3}", "notes": ["a", {"b": n}]}
        table.put(record, n)
    del record
    gc.collect()
    # Only the few most recent records are kept as dicts; the rest are bytes and integers.
    assert len(gc.get_objects()) - before < 3 * (store._RECENT + 20)
    assert len(table) == 5000


def test_raw_json_array():
    assert RawJson.array([b"1", b'{"a":2}']) == b'[1,{"a":2}]'
    assert RawJson.array([]) == b"[]"


@pytest.mark.parametrize("value", [1e16, -0.0, 2**70, "\u2028", 'a"\\\n'])
def test_stored_json_is_what_the_mock_answers_with(value):
    table = RecordTable()
    assert table.put({"id": "x", "v": value}, 1) == mock_json({"id": "x", "v": value})
    assert table.get("x") == {"id": "x", "v": value}
