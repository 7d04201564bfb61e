"""MDT links: listGuildMdts and unlinkMdt (ops 4 and 5)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from mockserver import create_app
from tests.support import (
    DEFAULT,
    ISO_MS_Z,
    NOT_LINKED,
    NOT_OWNER,
    advance_clock,
    auth_headers,
    error_of,
    link,
    ok_data,
    world,
    world_mdt,
)

LINK_FIELDS = {"mdt_id", "guild_id", "owner_discord_id", "link_request_id", "linked_at"}
GUILD_MISMATCH = "Guild mismatch"
UNKNOWN_MDT_ID = "00000000-0000-4000-8000-000000000000"
OTHER_KEY = "other-key"
OTHER_PARTNER = "Other Partner"
THIRD_MDT_ID = "5e0c9a1b-7d2f-4b3a-8c6e-1f2a3b4c5d6e"
THIRD_MDT_OWNER_ID = "555555555555555555"

# Every MDT-scoped operation, with a body that would be valid if the MDT were linked.
MDT_SCOPED: list[tuple[str, str, Any]] = [
    ("GET", "/mdts/{mdt}", None),
    ("POST", "/mdts/{mdt}/unlink", None),
    ("GET", "/mdts/{mdt}/calls", None),
    ("POST", "/mdts/{mdt}/calls", {"classification": "TRAFFIC STOP"}),
    ("PATCH", "/mdts/{mdt}/calls/some-call", {"status": "closed"}),
    ("GET", "/mdts/{mdt}/scene-reports", None),
    ("POST", "/mdts/{mdt}/scene-reports", {"title": "Incident Summary"}),
    ("GET", "/mdts/{mdt}/shifts", None),
    ("POST", "/mdts/{mdt}/shifts", {"officer_name": "B. Bubbleton"}),
    ("GET", "/mdts/{mdt}/tickets", None),
    ("POST", "/mdts/{mdt}/tickets", {"title": "Tow request"}),
    ("GET", "/mdts/{mdt}/units/active", None),
    ("PUT", "/mdts/{mdt}/units/active", {"units": [{"id": "ADAM-12"}]}),
    ("DELETE", "/mdts/{mdt}/units/active/ADAM-12", None),
    ("POST", "/mdts/{mdt}/units/active/ADAM-12/panic", {"address": "67 Mango Place"}),
]
MDT_SCOPED_IDS = [f"{method} {path}" for method, path, _ in MDT_SCOPED]


def _list(
    client: FlaskClient, guild: str = DEFAULT.guild_id, key: str = DEFAULT.partner_key
) -> list[Any]:
    response = client.get(f"/guilds/{guild}/mdts", headers=auth_headers(key=key, guild=guild))
    data = ok_data(response)
    assert isinstance(data, list), data
    return data


def _link(
    client: FlaskClient,
    mdt_id: str = DEFAULT.unlinked_mdt_id,
    owner: str = DEFAULT.unlinked_mdt_owner_id,
    *,
    guild: str = DEFAULT.guild_id,
    key: str = DEFAULT.partner_key,
) -> str:
    """Link `mdt_id` to `guild` through a link request confirmed by `owner`; the request id."""
    response = client.post(
        "/link-requests",
        json={"mdt_id": mdt_id},
        headers=auth_headers(key=key, guild=guild, actor=DEFAULT.actor_id),
    )
    request_id: str = ok_data(response, 201)["id"]
    response = client.post(
        f"/link-requests/{request_id}/confirm",
        headers=auth_headers(key=key, guild=guild, actor=owner),
    )
    assert ok_data(response)["status"] == "approved"
    return request_id


def _unlink(
    client: FlaskClient, mdt_id: str, *, actor: str | None, guild: str = DEFAULT.guild_id
) -> Any:
    return client.post(f"/mdts/{mdt_id}/unlink", headers=auth_headers(guild=guild, actor=actor))


def _call(client: FlaskClient, method: str, path: str, body: Any, **header_args: Any) -> Any:
    kwargs: dict[str, Any] = {"headers": auth_headers(**header_args)}
    if body is not None:
        kwargs["json"] = body
    return client.open(path, method=method, **kwargs)


def _two_partner_world() -> dict[str, Any]:
    return world(
        world_mdt(DEFAULT.mdt_id, DEFAULT.actor_id, "Ours"),
        world_mdt(DEFAULT.unlinked_mdt_id, DEFAULT.unlinked_mdt_owner_id, "Theirs"),
        world_mdt(THIRD_MDT_ID, THIRD_MDT_OWNER_ID, "Shared"),
        links=[
            link(DEFAULT.mdt_id, partner=DEFAULT.partner_name),
            link(DEFAULT.unlinked_mdt_id, partner=OTHER_PARTNER),
            link(THIRD_MDT_ID, DEFAULT.other_guild_id),
        ],
        partner_keys={DEFAULT.partner_key: DEFAULT.partner_name, OTHER_KEY: OTHER_PARTNER},
    )


# --------------------------------------------------------------------------------------------
# listGuildMdts


def test_list_default_world(client: FlaskClient) -> None:
    data = _list(client)
    assert len(data) == 1
    item = data[0]
    assert set(item) >= LINK_FIELDS
    assert item["mdt_id"] == DEFAULT.mdt_id
    assert item["guild_id"] == DEFAULT.guild_id
    assert item["owner_discord_id"] == DEFAULT.actor_id
    assert item["link_request_id"] is None or isinstance(item["link_request_id"], str)
    assert ISO_MS_Z.match(item["linked_at"]), item["linked_at"]


def test_list_needs_no_actor(client: FlaskClient) -> None:
    response = client.get(f"/guilds/{DEFAULT.guild_id}/mdts", headers=auth_headers(actor=None))
    assert [item["mdt_id"] for item in ok_data(response)] == [DEFAULT.mdt_id]


def test_list_empty_for_guild_with_nothing(client: FlaskClient) -> None:
    assert _list(client, DEFAULT.other_guild_id) == []


def test_list_guild_mismatch(client: FlaskClient) -> None:
    response = client.get(
        f"/guilds/{DEFAULT.other_guild_id}/mdts", headers=auth_headers(guild=DEFAULT.guild_id)
    )
    assert error_of(response) == (403, GUILD_MISMATCH)
    response = client.get(
        f"/guilds/{DEFAULT.guild_id}/mdts", headers=auth_headers(guild=DEFAULT.other_guild_id)
    )
    assert error_of(response) == (403, GUILD_MISMATCH)


def test_list_unauthorized_before_guild_mismatch(client: FlaskClient) -> None:
    response = client.get(
        f"/guilds/{DEFAULT.other_guild_id}/mdts", headers=auth_headers(key="nope")
    )
    assert error_of(response) == (401, "Unauthorized")


def test_list_newest_linked_first(client: FlaskClient) -> None:
    advance_clock(client, 60)
    request_id = _link(client)
    data = _list(client)
    assert [item["mdt_id"] for item in data] == [DEFAULT.unlinked_mdt_id, DEFAULT.mdt_id]
    new = data[0]
    assert new["guild_id"] == DEFAULT.guild_id
    assert new["owner_discord_id"] == DEFAULT.unlinked_mdt_owner_id
    assert new["link_request_id"] == request_id
    assert ISO_MS_Z.match(new["linked_at"])
    assert new["linked_at"] > data[1]["linked_at"]


def test_list_relinked_mdt_moves_to_front(client: FlaskClient) -> None:
    advance_clock(client, 60)
    _link(client)
    assert ok_data(_unlink(client, DEFAULT.mdt_id, actor=DEFAULT.actor_id))["unlinked"] is True
    assert [item["mdt_id"] for item in _list(client)] == [DEFAULT.unlinked_mdt_id]
    advance_clock(client, 60)
    request_id = _link(client, DEFAULT.mdt_id, DEFAULT.actor_id)
    data = _list(client)
    assert [item["mdt_id"] for item in data] == [DEFAULT.mdt_id, DEFAULT.unlinked_mdt_id]
    assert data[0]["link_request_id"] == request_id


def test_list_shows_link_only_in_its_guild(client: FlaskClient) -> None:
    _link(client, guild=DEFAULT.other_guild_id)
    assert [item["mdt_id"] for item in _list(client, DEFAULT.other_guild_id)] == [
        DEFAULT.unlinked_mdt_id
    ]
    assert [item["mdt_id"] for item in _list(client, DEFAULT.guild_id)] == [DEFAULT.mdt_id]
    assert _list(client, DEFAULT.other_guild_id)[0]["guild_id"] == DEFAULT.other_guild_id


def test_list_served_under_v1(client: FlaskClient) -> None:
    response = client.get(f"/v1/guilds/{DEFAULT.guild_id}/mdts", headers=auth_headers())
    assert [item["mdt_id"] for item in ok_data(response)] == [DEFAULT.mdt_id]
    response = client.get(f"/v1/guilds/{DEFAULT.other_guild_id}/mdts", headers=auth_headers())
    assert error_of(response) == (403, GUILD_MISMATCH)


def test_list_only_this_partners_links() -> None:
    client = create_app(world=_two_partner_world()).test_client()
    assert [item["mdt_id"] for item in _list(client, key=DEFAULT.partner_key)] == [DEFAULT.mdt_id]
    assert [item["mdt_id"] for item in _list(client, key=OTHER_KEY)] == [DEFAULT.unlinked_mdt_id]
    # A world link without "partner" belongs to every partner of the world.
    assert [
        item["mdt_id"] for item in _list(client, DEFAULT.other_guild_id, DEFAULT.partner_key)
    ] == [THIRD_MDT_ID]
    assert [item["mdt_id"] for item in _list(client, DEFAULT.other_guild_id, OTHER_KEY)] == [
        THIRD_MDT_ID
    ]


def test_links_of_another_partner_do_not_open_mdt_endpoints() -> None:
    client = create_app(world=_two_partner_world()).test_client()
    ours = client.get(
        f"/mdts/{DEFAULT.unlinked_mdt_id}/shifts", headers=auth_headers(key=DEFAULT.partner_key)
    )
    assert error_of(ours) == (403, NOT_LINKED)
    theirs = client.get(
        f"/mdts/{DEFAULT.unlinked_mdt_id}/shifts", headers=auth_headers(key=OTHER_KEY)
    )
    assert ok_data(theirs) == []
    theirs = client.get(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers(key=OTHER_KEY))
    assert error_of(theirs) == (403, NOT_LINKED)


def test_list_partner_link_created_by_request_is_partner_scoped() -> None:
    client = create_app(world=_two_partner_world()).test_client()
    advance_clock(client, 60)
    _link(client, THIRD_MDT_ID, THIRD_MDT_OWNER_ID, guild=DEFAULT.guild_id, key=OTHER_KEY)
    assert [item["mdt_id"] for item in _list(client, key=OTHER_KEY)] == [
        THIRD_MDT_ID,
        DEFAULT.unlinked_mdt_id,
    ]
    assert [item["mdt_id"] for item in _list(client, key=DEFAULT.partner_key)] == [DEFAULT.mdt_id]


# --------------------------------------------------------------------------------------------
# unlinkMdt


def test_unlink_by_owner(client: FlaskClient) -> None:
    data = ok_data(_unlink(client, DEFAULT.mdt_id, actor=DEFAULT.actor_id))
    assert data == {"unlinked": True, "mdt_id": DEFAULT.mdt_id}
    assert _list(client) == []
    assert client.get("/__mock/state").get_json()["data"]["links"] == []


@pytest.mark.parametrize("actor", [DEFAULT.unlinked_mdt_owner_id, None], ids=["other", "none"])
def test_unlink_by_non_owner_is_forbidden(client: FlaskClient, actor: str | None) -> None:
    assert error_of(_unlink(client, DEFAULT.mdt_id, actor=actor)) == (403, NOT_OWNER)
    assert [item["mdt_id"] for item in _list(client)] == [DEFAULT.mdt_id]
    response = client.get(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers())
    assert ok_data(response) == []


@pytest.mark.parametrize(("method", "path", "body"), MDT_SCOPED, ids=MDT_SCOPED_IDS)
def test_after_unlink_every_mdt_operation_is_forbidden(
    client: FlaskClient, method: str, path: str, body: Any
) -> None:
    ok_data(_unlink(client, DEFAULT.mdt_id, actor=DEFAULT.actor_id))
    response = _call(client, method, path.format(mdt=DEFAULT.mdt_id), body)
    assert error_of(response) == (403, NOT_LINKED)
    response = _call(client, method, "/v1" + path.format(mdt=DEFAULT.mdt_id), body)
    assert error_of(response) == (403, NOT_LINKED)


@pytest.mark.parametrize(("method", "path", "body"), MDT_SCOPED, ids=MDT_SCOPED_IDS)
def test_unlinked_and_unknown_mdts_are_forbidden(
    client: FlaskClient, method: str, path: str, body: Any
) -> None:
    for mdt_id in (DEFAULT.unlinked_mdt_id, UNKNOWN_MDT_ID):
        response = _call(client, method, path.format(mdt=mdt_id), body)
        assert error_of(response) == (403, NOT_LINKED)
    # The linked MDT from another guild's context.
    response = _call(
        client, method, path.format(mdt=DEFAULT.mdt_id), body, guild=DEFAULT.other_guild_id
    )
    assert error_of(response) == (403, NOT_LINKED)


def test_unlink_of_unlinked_mdt(client: FlaskClient) -> None:
    response = _unlink(client, DEFAULT.unlinked_mdt_id, actor=DEFAULT.unlinked_mdt_owner_id)
    assert error_of(response) == (403, NOT_LINKED)
    assert error_of(_unlink(client, UNKNOWN_MDT_ID, actor=DEFAULT.actor_id)) == (403, NOT_LINKED)


def test_unlink_twice(client: FlaskClient) -> None:
    ok_data(_unlink(client, DEFAULT.mdt_id, actor=DEFAULT.actor_id))
    assert error_of(_unlink(client, DEFAULT.mdt_id, actor=DEFAULT.actor_id)) == (403, NOT_LINKED)


def test_unlink_not_linked_comes_before_owner_check(client: FlaskClient) -> None:
    assert error_of(_unlink(client, DEFAULT.unlinked_mdt_id, actor=DEFAULT.actor_id)) == (
        403,
        NOT_LINKED,
    )
    assert error_of(_unlink(client, DEFAULT.unlinked_mdt_id, actor=None)) == (403, NOT_LINKED)
    assert error_of(_unlink(client, DEFAULT.mdt_id, actor=None, guild=DEFAULT.other_guild_id)) == (
        403,
        NOT_LINKED,
    )


def test_unlink_after_fresh_link_by_new_owner(client: FlaskClient) -> None:
    _link(client)
    assert (
        ok_data(client.get(f"/mdts/{DEFAULT.unlinked_mdt_id}/shifts", headers=auth_headers())) == []
    )
    assert error_of(_unlink(client, DEFAULT.unlinked_mdt_id, actor=DEFAULT.actor_id)) == (
        403,
        NOT_OWNER,
    )
    assert error_of(_unlink(client, DEFAULT.unlinked_mdt_id, actor=None)) == (403, NOT_OWNER)
    data = ok_data(_unlink(client, DEFAULT.unlinked_mdt_id, actor=DEFAULT.unlinked_mdt_owner_id))
    assert data == {"unlinked": True, "mdt_id": DEFAULT.unlinked_mdt_id}
    response = client.get(f"/mdts/{DEFAULT.unlinked_mdt_id}/shifts", headers=auth_headers())
    assert error_of(response) == (403, NOT_LINKED)
    assert [item["mdt_id"] for item in _list(client)] == [DEFAULT.mdt_id]


def test_unlink_in_one_guild_keeps_other_guild(client: FlaskClient) -> None:
    _link(client, guild=DEFAULT.guild_id)
    _link(client, guild=DEFAULT.other_guild_id)
    ok_data(
        _unlink(
            client,
            DEFAULT.unlinked_mdt_id,
            actor=DEFAULT.unlinked_mdt_owner_id,
            guild=DEFAULT.other_guild_id,
        )
    )
    assert _list(client, DEFAULT.other_guild_id) == []
    response = client.get(f"/mdts/{DEFAULT.unlinked_mdt_id}/shifts", headers=auth_headers())
    assert ok_data(response) == []
    response = client.get(
        f"/mdts/{DEFAULT.unlinked_mdt_id}/shifts",
        headers=auth_headers(guild=DEFAULT.other_guild_id),
    )
    assert error_of(response) == (403, NOT_LINKED)


def test_relink_after_unlink(client: FlaskClient) -> None:
    ok_data(_unlink(client, DEFAULT.mdt_id, actor=DEFAULT.actor_id))
    _link(client, DEFAULT.mdt_id, DEFAULT.actor_id)
    assert ok_data(client.get(f"/mdts/{DEFAULT.mdt_id}/shifts", headers=auth_headers())) == []
    assert ok_data(_unlink(client, DEFAULT.mdt_id, actor=DEFAULT.actor_id)) == {
        "unlinked": True,
        "mdt_id": DEFAULT.mdt_id,
    }


def test_unlink_served_under_v1(client: FlaskClient) -> None:
    response = client.post(f"/v1/mdts/{DEFAULT.mdt_id}/unlink", headers=auth_headers(actor=None))
    assert error_of(response) == (403, NOT_OWNER)
    response = client.post(f"/v1/mdts/{DEFAULT.mdt_id}/unlink", headers=auth_headers())
    assert ok_data(response) == {"unlinked": True, "mdt_id": DEFAULT.mdt_id}


def test_unlink_unauthorized_first(client: FlaskClient) -> None:
    response = client.post(f"/mdts/{DEFAULT.mdt_id}/unlink", headers=auth_headers(key=None))
    assert error_of(response) == (401, "Unauthorized")
    response = client.post(f"/mdts/{DEFAULT.mdt_id}/unlink", headers=auth_headers(guild=""))
    assert error_of(response) == (401, "Unauthorized")
    assert [item["mdt_id"] for item in _list(client)] == [DEFAULT.mdt_id]
