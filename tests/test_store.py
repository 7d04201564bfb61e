"""RecordTable: recency order, and the per-value index lists filter on."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.store import RecordTable

DEPARTMENTS = st.sampled_from(["Patrol", "Traffic", None, "patrol"])
WRITES = st.lists(
    st.tuples(st.sampled_from("abcdef"), DEPARTMENTS, st.integers(0, 5), st.booleans()),
    max_size=40,
)


@settings(max_examples=200, deadline=None)
@given(writes=WRITES, department=DEPARTMENTS, limit=st.integers(1, 10))
def test_filtered_newest_equals_filtering_the_model(writes, department, limit):
    table = RecordTable(indexed=("department",))
    model: dict[str, tuple[int, int, dict[str, object]]] = {}
    for sequence, (record_id, dept, updated_ms, delete) in enumerate(writes):
        if delete:
            table.delete(record_id)
            model.pop(record_id, None)
        else:
            record = {"id": record_id, "department": dept}
            table.put(record, updated_ms)
            model[record_id] = (updated_ms, sequence, record)
    newest_first = [r for _, _, r in sorted(model.values(), key=lambda e: e[:2], reverse=True)]
    assert table.newest(limit) == newest_first[:limit]
    expected = [r for r in newest_first if r["department"] == department][:limit]
    assert table.newest(limit, equal=("department", department)) == expected


def test_unhashable_values_are_stored_but_never_match():
    table = RecordTable(indexed=("department",))
    table.put({"id": "a", "department": ["x"]}, 1)
    table.put({"id": "b", "department": "x"}, 2)
    assert [r["id"] for r in table.newest(10)] == ["b", "a"]
    assert table.newest(10, equal=("department", ["x"])) == []
    table.delete("a")
    assert [r["id"] for r in table.newest(10)] == ["b"]
