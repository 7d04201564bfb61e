"""The pytest entry, as a user would write it, and the public strategies."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contracts import Auth, WsgiTarget
from contracts.pytest_plugin import BoundWorkflow
from contracts.pytest_plugin import northca_workflow as northca_workflow  # the plugin's fixture
from contracts.pytest_plugin import pytest_generate_tests as pytest_generate_tests
from contracts.strategies import (
    as_request,
    callsigns,
    duplicate_unit_batches,
    link_request_flows,
    requests_for,
    ten_codes,
    unit_batches,
)
from mockserver import create_app
from tests.support import DEFAULT

AUTH = Auth(DEFAULT.partner_key, DEFAULT.guild_id, DEFAULT.mdt_id, actor=DEFAULT.actor_id)


@pytest.fixture(scope="module")
def northca_target() -> WsgiTarget:
    return WsgiTarget(create_app())


def test_conformance(
    northca_workflow: BoundWorkflow,
    northca_target: WsgiTarget,
) -> None:
    """One test per workflow; destructive ones skip without --northca-destructive."""
    northca_workflow.check(northca_target, AUTH)


@given(unit_batches(prefix="T-", max_size=6))
def test_unit_batches_have_unique_non_empty_ids(batch: list[dict[str, object]]) -> None:
    ids = [u["id"] for u in batch]
    assert len(set(ids)) == len(ids) and all(isinstance(i, str) and i for i in ids)


@given(duplicate_unit_batches())
def test_duplicate_batches_repeat_an_id(batch: list[dict[str, object]]) -> None:
    ids = [u["id"] for u in batch]
    assert len(set(ids)) < len(ids)


@given(callsigns(), ten_codes())
def test_vocabulary(callsign: str, code: str) -> None:
    assert "-" in callsign and code.startswith("10-")


@given(link_request_flows())
def test_link_flow_model(flow: object) -> None:
    expected = flow.expected()  # type: ignore[attr-defined]
    assert all(status in (0, 200, 403, 409, 410) for _, status in expected)


@settings(max_examples=10, deadline=None)
@given(st.data())
def test_schemathesis_valid_requests_reach_the_handlers(data: st.DataObject) -> None:
    case = data.draw(requests_for("upsertActiveUnits", auth=AUTH))
    request = as_request(case)
    target = WsgiTarget(create_app(), base_path="")
    ex = target.send(
        request["method"], request["path"], headers=request["headers"], raw=request["body"],
        content_type="application/json",
    )  # fmt: skip
    assert ex.status in (200, 400), ex.received()  # 400 only for a duplicate id
    if ex.status == 400:
        assert ex.error == "Duplicate unit id in request body"
