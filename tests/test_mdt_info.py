"""MDT info: getMdtInfo (op 6)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from mockserver import create_app
from tests.support import (
    DEFAULT,
    NOT_LINKED,
    auth_headers,
    error_of,
    link,
    ok_data,
    world,
    world_mdt,
)

UNKNOWN_MDT_ID = "00000000-0000-4000-8000-000000000000"
INFO_FIELDS = {"id", "name", "logo_url", "map", "departments", "divisions", "settings"}
SECRET_KEYS = ("password", "access_key", "secret")
MAPS = {"ER:LC", "ER:LC Roadmap", "Maple County", None}

LINKED_INFO: dict[str, Any] = {
    "name": "Liberty County Sheriff's Office",
    "logo_url": "https://cdn.example.test/lcso.png",
    "map": "ER:LC Roadmap",
    "departments": ["Patrol", "Traffic"],
    "divisions": ["Highway Patrol", "K-9"],
    "settings": {"theme": "dark", "callsign_format": "ADAM-{n}", "limits": {"units": 40}},
}
OTHER_INFO: dict[str, Any] = {
    "name": "Maple County Police Department",
    "logo_url": None,
    "map": "Maple County",
    "departments": ["Patrol"],
    "divisions": [],
    "settings": {},
}


def _world(linked_info: dict[str, Any]) -> dict[str, Any]:
    return world(
        world_mdt(DEFAULT.mdt_id, DEFAULT.actor_id, linked_info),
        world_mdt(DEFAULT.unlinked_mdt_id, DEFAULT.unlinked_mdt_owner_id, OTHER_INFO),
        links=[link(DEFAULT.mdt_id)],
    )


def _info(client: FlaskClient, mdt_id: str = DEFAULT.mdt_id, **header_args: Any) -> Any:
    return client.get(f"/mdts/{mdt_id}", headers=auth_headers(**header_args))


def test_default_world_info(client: FlaskClient) -> None:
    data = ok_data(_info(client))
    assert set(data) == INFO_FIELDS
    assert data["id"] == DEFAULT.mdt_id
    assert isinstance(data["name"], str) and data["name"]
    assert data["logo_url"] is None or isinstance(data["logo_url"], str)
    assert data["map"] in MAPS
    assert isinstance(data["departments"], list)
    assert all(isinstance(item, str) for item in data["departments"])
    assert isinstance(data["divisions"], list)
    assert all(isinstance(item, str) for item in data["divisions"])
    assert isinstance(data["settings"], dict)


def test_info_is_the_worlds_info() -> None:
    client = create_app(world=_world(LINKED_INFO)).test_client()
    assert ok_data(_info(client)) == {"id": DEFAULT.mdt_id, **LINKED_INFO}


def test_info_needs_no_actor() -> None:
    client = create_app(world=_world(LINKED_INFO)).test_client()
    assert ok_data(_info(client, actor=None)) == {"id": DEFAULT.mdt_id, **LINKED_INFO}


def test_info_served_under_v1() -> None:
    client = create_app(world=_world(LINKED_INFO)).test_client()
    response = client.get(f"/v1/mdts/{DEFAULT.mdt_id}", headers=auth_headers())
    assert ok_data(response) == {"id": DEFAULT.mdt_id, **LINKED_INFO}


def test_info_never_exposes_secrets() -> None:
    secret_info = {
        **LINKED_INFO,
        "password": "hunter2",
        "access_key": "AKIA-not-for-partners",
        "secret": "s3cr3t",
    }
    client = create_app(world=_world(secret_info)).test_client()
    data = ok_data(_info(client))
    for key in SECRET_KEYS:
        assert key not in data, key
    assert data == {"id": DEFAULT.mdt_id, **LINKED_INFO}
    text = _info(client).get_data(as_text=True)
    for value in ("hunter2", "AKIA-not-for-partners", "s3cr3t"):
        assert value not in text


def test_info_of_unlinked_mdt_is_forbidden(client: FlaskClient) -> None:
    assert error_of(_info(client, DEFAULT.unlinked_mdt_id)) == (403, NOT_LINKED)


def test_info_of_unknown_mdt_is_forbidden(client: FlaskClient) -> None:
    assert error_of(_info(client, UNKNOWN_MDT_ID)) == (403, NOT_LINKED)
    assert error_of(_info(client, "not-an-mdt")) == (403, NOT_LINKED)


def test_info_in_another_guild_is_forbidden(client: FlaskClient) -> None:
    assert error_of(_info(client, guild=DEFAULT.other_guild_id)) == (403, NOT_LINKED)


@pytest.mark.parametrize(
    "header_args",
    [{"key": None}, {"key": "wrong"}, {"guild": None}, {"guild": ""}],
    ids=["no-key", "wrong-key", "no-guild", "empty-guild"],
)
def test_info_unauthorized(client: FlaskClient, header_args: dict[str, Any]) -> None:
    assert error_of(_info(client, **header_args)) == (401, "Unauthorized")
    assert error_of(_info(client, UNKNOWN_MDT_ID, **header_args)) == (401, "Unauthorized")


def test_info_after_link_and_unlink() -> None:
    client = create_app(world=_world(LINKED_INFO)).test_client()
    assert error_of(_info(client, DEFAULT.unlinked_mdt_id)) == (403, NOT_LINKED)
    response = client.post(
        "/link-requests", json={"mdt_id": DEFAULT.unlinked_mdt_id}, headers=auth_headers()
    )
    assert response.status_code == 201, response.get_json()
    request_id = response.get_json()["data"]["id"]
    response = client.post(
        f"/link-requests/{request_id}/confirm",
        headers=auth_headers(actor=DEFAULT.unlinked_mdt_owner_id),
    )
    assert response.status_code == 200, response.get_json()
    assert ok_data(_info(client, DEFAULT.unlinked_mdt_id)) == {
        "id": DEFAULT.unlinked_mdt_id,
        **OTHER_INFO,
    }
    assert error_of(_info(client, DEFAULT.unlinked_mdt_id, guild=DEFAULT.other_guild_id)) == (
        403,
        NOT_LINKED,
    )
    response = client.post(
        f"/mdts/{DEFAULT.unlinked_mdt_id}/unlink",
        headers=auth_headers(actor=DEFAULT.unlinked_mdt_owner_id),
    )
    assert response.status_code == 200, response.get_json()
    assert error_of(_info(client, DEFAULT.unlinked_mdt_id)) == (403, NOT_LINKED)


def test_info_method_not_allowed(client: FlaskClient) -> None:
    response = client.post(f"/mdts/{DEFAULT.mdt_id}", json={}, headers=auth_headers())
    assert error_of(response) == (405, "Method not allowed")
    assert response.headers["Allow"] == "GET"
