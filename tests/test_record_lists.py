"""Rules every record collection shares (calls, scene reports, shifts, tickets).

Lists are a bare array, most recently updated first (later writes first within a millisecond),
honour ``limit`` (1..100, default 50; anything else is 400 ``Invalid limit``); creates answer
400 ``Invalid JSON`` for an unparseable, missing or non-JSON body and store nothing. Rules of one
collection alone (defaults, fields, PATCH, department filter) live in its tag's module.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.support import MDT_ID, advance_clock, error_of, ok_data, set_clock

COLLECTIONS = ["calls", "scene-reports", "shifts", "tickets"]


@pytest.fixture(params=COLLECTIONS)
def path(request: pytest.FixtureRequest) -> str:
    return f"/mdts/{MDT_ID}/{request.param}"


def _create(client: FlaskClient, headers: dict[str, str], path: str) -> str:
    return str(ok_data(client.post(path, json={}, headers=headers), 201)["id"])


def _listed(client: FlaskClient, headers: dict[str, str], path: str, query: str = "") -> list[str]:
    data = ok_data(client.get(path + query, headers=headers))
    assert isinstance(data, list)
    return [record["id"] for record in data]


def test_list_is_empty_in_the_default_world(client, headers, path):
    assert _listed(client, headers, path) == []


def test_list_is_newest_first(client, headers, path):
    set_clock(client)
    ids = []
    for _ in range(3):
        ids.append(_create(client, headers, path))
        advance_clock(client, 1)
    assert _listed(client, headers, path) == ids[::-1]


def test_later_writes_come_first_within_one_millisecond(client, headers, path):
    ids = [_create(client, headers, path) for _ in range(6)]
    assert _listed(client, headers, path) == ids[::-1]


def test_list_orders_by_updated_at_not_by_write_order(client, headers, path):
    set_clock(client, "2026-03-01T02:00:00.000Z")
    late = _create(client, headers, path)
    set_clock(client, "2026-03-01T01:00:00.000Z")
    early = _create(client, headers, path)
    assert _listed(client, headers, path) == [late, early]


@pytest.mark.parametrize(("limit", "count"), [(1, 1), (2, 2), (100, 3)])
def test_list_limit(client, headers, path, limit, count):
    ids = [_create(client, headers, path) for _ in range(3)]
    assert _listed(client, headers, path, f"?limit={limit}") == ids[::-1][:count]


def test_list_default_limit_is_50(client, headers, path):
    ids = [_create(client, headers, path) for _ in range(51)]
    assert _listed(client, headers, path) == ids[::-1][:50]
    assert _listed(client, headers, path, "?limit=100") == ids[::-1]


@pytest.mark.parametrize("limit", ["0", "101", "abc", "2.5", "-1", "", "1e2", " 5"])
def test_list_invalid_limit(client, headers, path, limit):
    response = client.get(f"{path}?limit={limit}", headers=headers)
    assert error_of(response) == (400, "Invalid limit")


@pytest.mark.parametrize(
    ("data", "content_type"),
    [
        ("{", "application/json"),
        ("", "application/json"),
        (None, None),
        ('{"id": "x"}', "text/plain"),
        ('{"id": NaN}', "application/json"),
    ],
    ids=["truncated", "empty", "no-body", "text-plain", "nan"],
)
def test_create_with_bad_json_is_invalid_json(client, headers, path, data, content_type):
    kwargs: dict[str, Any] = {"headers": headers}
    if data is not None:
        kwargs["data"] = data
    if content_type is not None:
        kwargs["content_type"] = content_type
    assert error_of(client.post(path, **kwargs)) == (400, "Invalid JSON")
    assert _listed(client, headers, path) == []
