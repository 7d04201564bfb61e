"""Seams: planted bugs act through what ``create_app`` was given, per app and per namespace."""

from __future__ import annotations

import logging

import pytest

from mockserver import create_app
from mockserver.bugs import BUGS, UnknownBugError
from mockserver.errors import NorthcaMockError
from mockserver.seams import Seams
from mockserver.server import server_of
from tests.support import DEFAULT, auth_headers

NAMESPACE = {"x-mock-namespace": "other-run"}
NOT_OWNER_ID = "444444444444444444"
SHIFTS = "/mdts/0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2/shifts"


@pytest.mark.parametrize("namespace", [{}, NAMESPACE], ids=["default", "named"])
def test_confirm_by_non_owner_works_in_every_namespace(namespace: dict[str, str]) -> None:
    client = create_app(bugs=["confirm-by-non-owner"]).test_client()
    headers = {**auth_headers(actor=NOT_OWNER_ID), **namespace}
    created = client.post(
        "/link-requests", json={"mdt_id": DEFAULT.unlinked_mdt_id}, headers=headers
    )
    assert created.status_code == 201
    request_id = created.get_json()["data"]["id"]
    confirmed = client.post(f"/link-requests/{request_id}/confirm", headers=headers)
    assert confirmed.status_code == 200
    assert confirmed.get_json()["data"]["status"] == "approved"


def test_the_clean_mock_refuses_a_non_owner_in_a_namespace() -> None:
    client = create_app().test_client()
    headers = {**auth_headers(actor=NOT_OWNER_ID), **NAMESPACE}
    created = client.post(
        "/link-requests", json={"mdt_id": DEFAULT.unlinked_mdt_id}, headers=headers
    )
    request_id = created.get_json()["data"]["id"]
    refused = client.post(f"/link-requests/{request_id}/confirm", headers=headers)
    assert refused.status_code == 403
    assert refused.get_json() == {"ok": False, "error": "Only the MDT owner can do this"}
    assert refused.headers["x-northca-mock-detail"] == "x-discord-actor: must be the MDT owner"


def test_a_quiet_planted_failure_stays_in_its_app(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    planted = create_app(bugs=["500-on-invalid-json"]).test_client()
    clean_app = create_app()
    monkeypatch.setattr(server_of(clean_app).checkers["createShift"], "body", _boom)
    with caplog.at_level(logging.ERROR, logger="mockserver"):
        bad = {"content_type": "application/json", "data": b"{", "headers": auth_headers()}
        assert planted.post(SHIFTS, **bad).status_code == 500
        assert not caplog.records
        assert clean_app.test_client().post(SHIFTS, **bad).status_code == 500
    assert [record.exc_info[1] for record in caplog.records if record.exc_info] == [_FAILURE]


_FAILURE = RuntimeError("not planted")


def _boom(*args: object, **kwargs: object) -> object:
    raise _FAILURE


def test_unused_seams_add_no_request_hook() -> None:
    assert create_app().after_request_funcs == {}
    assert create_app(seams=Seams()).after_request_funcs == {}
    assert create_app(bugs=["missing-allow-on-405"]).after_request_funcs != {}


def test_planting_leaves_the_given_seams_alone() -> None:
    seams = Seams()
    create_app(seams=seams, bugs=list(BUGS))
    assert seams == Seams()


def test_an_unknown_bug_is_a_user_error() -> None:
    with pytest.raises(UnknownBugError, match=r"unknown bug 'nope' \(known: 500-on-invalid-json"):
        create_app(bugs=["nope"])
    assert issubclass(UnknownBugError, NorthcaMockError)


def test_every_bug_has_a_description() -> None:
    assert all(bug.description.strip() for bug in BUGS.values())
