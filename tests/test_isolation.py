"""Isolation properties (hypothesis, in-process).

A world of two partners, two guilds and three MDTs, linked as hypothesis chooses: records belong to
one MDT and are reachable only through a (partner, guild) that has that MDT linked; link requests
belong to the (partner, guild) that created them. Namespaces (``x-mock-namespace``) are separate
worlds: nothing done in one (records, clock, world, reset, journal, faults) shows in another.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mockserver import create_app
from tests.support import link, mdt_info, world_mdt
from tests.support import world as make_world

PARTNERS = {"key-a": "Partner A", "key-b": "Partner B"}
KEY_OF = {name: key for key, name in PARTNERS.items()}
GUILDS = ("111111111111111111", "222222222222222222")
MDTS = {
    "m-1": "900000000000000001",
    "m-2": "900000000000000002",
    "m-3": "900000000000000003",
}
CONTEXTS = [(partner, guild) for partner in PARTNERS.values() for guild in GUILDS]
LinkKey = tuple[str, str, str]  # (partner, guild, mdt)
ALL_LINKS: list[LinkKey] = [(p, g, m) for p, g in CONTEXTS for m in MDTS]

SETTINGS = settings(
    max_examples=25,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def world(links: set[LinkKey]) -> dict[str, Any]:
    return make_world(
        *(
            world_mdt(mdt, owner, mdt_info(f"MDT {mdt}", departments=("Patrol",)))
            for mdt, owner in MDTS.items()
        ),
        links=[link(mdt, guild, partner=partner) for partner, guild, mdt in sorted(links)],
        partner_keys=dict(PARTNERS),
        ttl=900,
    )


def headers(partner: str, guild: str, actor: str | None = None) -> dict[str, str]:
    found = {"x-partner-key": KEY_OF[partner], "x-discord-guild": guild}
    if actor is not None:
        found["x-discord-actor"] = actor
    return found


links_strategy = st.sets(st.sampled_from(ALL_LINKS), min_size=1)


@st.composite
def world_and_origin(draw: st.DrawFn) -> tuple[set[LinkKey], LinkKey]:
    links = draw(links_strategy)
    origin = draw(st.sampled_from(sorted(links)))
    return links, origin


def expect_error(response: Any, status: int, error: str) -> None:
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    body = response.get_json()
    assert body["ok"] is False
    assert body["error"] == error


@SETTINGS
@given(world_and_origin())
def test_records_are_reachable_only_through_their_mdt(
    setup: tuple[set[LinkKey], LinkKey],
) -> None:
    links, (partner, guild, mdt) = setup
    client = create_app(world=world(links)).test_client()
    own = headers(partner, guild, MDTS[mdt])
    base = f"/mdts/{mdt}"
    shift = client.post(f"{base}/shifts", json={"id": "s-1", "officer_name": "A"}, headers=own)
    assert shift.status_code == 201
    call = client.post(f"{base}/calls", json={"id": "c-1", "location": "X"}, headers=own)
    assert call.status_code == 201
    units = client.put(f"{base}/units/active", json={"units": [{"id": "U-1"}]}, headers=own)
    assert units.status_code == 200

    for other_partner, other_guild in CONTEXTS:
        for other_mdt in MDTS:
            if (other_partner, other_guild, other_mdt) == (partner, guild, mdt):
                continue
            hdrs = headers(other_partner, other_guild, MDTS[other_mdt])
            other = f"/mdts/{other_mdt}"
            linked = (other_partner, other_guild, other_mdt) in links
            requests = [
                client.get(f"{other}/shifts", headers=hdrs),
                client.get(f"{other}/calls", headers=hdrs),
                client.get(f"{other}/units/active", headers=hdrs),
                client.patch(f"{other}/calls/c-1", json={"status": "closed"}, headers=hdrs),
                client.post(f"{other}/units/active/U-1/panic", json={}, headers=hdrs),
                client.delete(f"{other}/units/active/U-1", headers=hdrs),
            ]
            if not linked:
                for response in requests:
                    expect_error(response, 403, "MDT not linked to this guild")
                continue
            if other_mdt == mdt:
                # The same MDT linked elsewhere: records belong to the MDT, so they are shared.
                # Only reads here: the writes above went through, so restore what they changed.
                assert [s["id"] for s in requests[0].get_json()["data"]] == ["s-1"]
                assert requests[3].status_code == 200
                assert requests[4].status_code == 200
                assert requests[5].status_code == 200
                assert (
                    client.put(
                        f"{base}/units/active", json={"units": [{"id": "U-1"}]}, headers=own
                    ).status_code
                    == 200
                )
                continue
            for response in requests[:3]:
                assert response.status_code == 200
                assert response.get_json() == {"ok": True, "data": []}
            expect_error(requests[3], 404, "Call not found")
            expect_error(requests[4], 404, "Unit not found")
            expect_error(requests[5], 404, "Unit not found")

    # Through its own link everything is still there and unchanged by the others.
    shifts = client.get(f"{base}/shifts", headers=own).get_json()["data"]
    assert [s["id"] for s in shifts] == ["s-1"]
    calls = client.get(f"{base}/calls", headers=own).get_json()["data"]
    assert [c["id"] for c in calls] == ["c-1"]
    shared = any(m == mdt and (p, g) != (partner, guild) for p, g, m in links)
    assert calls[0]["status"] == ("closed" if shared else "open")
    units_now = client.get(f"{base}/units/active", headers=own).get_json()["data"]
    assert [u["id"] for u in units_now] == ["U-1"]


@SETTINGS
@given(
    links=links_strategy,
    mdt=st.sampled_from(sorted(MDTS)),
    creator=st.sampled_from(CONTEXTS),
    decider=st.sampled_from(CONTEXTS),
    decision=st.sampled_from(["confirm", "deny"]),
)
def test_link_requests_are_private_to_their_partner_and_guild(
    links: set[LinkKey],
    mdt: str,
    creator: tuple[str, str],
    decider: tuple[str, str],
    decision: str,
) -> None:
    client = create_app(world=world(links)).test_client()
    owner = MDTS[mdt]
    created = client.post("/link-requests", json={"mdt_id": mdt}, headers=headers(*creator))
    assert created.status_code == 201
    request_id = created.get_json()["data"]["id"]
    response = client.post(
        f"/link-requests/{request_id}/{decision}", headers=headers(*decider, owner)
    )
    if decider != creator:
        expect_error(response, 404, "Link request not found")
        # Still pending, and still decidable by its own partner and guild.
        again = client.post(
            f"/link-requests/{request_id}/{decision}", headers=headers(*creator, owner)
        )
        assert again.status_code == 200
        assert again.get_json()["data"]["status"] == (
            "approved" if decision == "confirm" else "denied"
        )
    else:
        assert response.status_code == 200
    partner, guild = creator
    linked_now = client.get(f"/mdts/{mdt}", headers=headers(partner, guild, owner))
    should_link = decision == "confirm" or (partner, guild, mdt) in links
    assert linked_now.status_code == (200 if should_link else 403)
    # Nobody else gained a link from it.
    for other in CONTEXTS:
        if other == creator:
            continue
        info = client.get(f"/mdts/{mdt}", headers=headers(*other, owner))
        assert info.status_code == (200 if (*other, mdt) in links else 403)


@SETTINGS
@given(links=links_strategy, context=st.sampled_from(CONTEXTS))
def test_guild_list_shows_only_this_partners_links(
    links: set[LinkKey], context: tuple[str, str]
) -> None:
    client = create_app(world=world(links)).test_client()
    partner, guild = context
    response = client.get(f"/guilds/{guild}/mdts", headers=headers(partner, guild))
    assert response.status_code == 200
    listed = {item["mdt_id"] for item in response.get_json()["data"]}
    assert listed == {m for p, g, m in links if (p, g) == (partner, guild)}
    other_guild = next(g for g in GUILDS if g != guild)
    mismatch = client.get(f"/guilds/{other_guild}/mdts", headers=headers(partner, guild))
    expect_error(mismatch, 403, "Guild mismatch")


# -- namespaces ----------------------------------------------------------------------------------
DEFAULT_MDT = "0c7f6a0c-2c4f-4f44-b16a-2b6b8d8fe2c2"
DEFAULT_HEADERS = {
    "x-partner-key": "test-key",
    "x-discord-guild": "123456789012345678",
    "x-discord-actor": "222222222222222222",
}
namespace_names = st.from_regex(r"[a-z0-9][a-z0-9._-]{0,15}", fullmatch=True)
ACTIONS = ["shift", "units", "call", "link_request", "clock", "world", "reset", "faults", "unlink"]


def ns(name: str | None) -> dict[str, str]:
    return {} if name is None else {"x-mock-namespace": name}


def observe(client: FlaskClient, name: str | None) -> dict[str, Any]:
    """What a namespace shows: state (minus now), journal, faults, and the clock's offset."""
    state = client.get("/__mock/state", headers=ns(name)).get_json()["data"]
    now = dt.datetime.fromisoformat(state.pop("now").replace("Z", "+00:00"))
    skew = abs((now - dt.datetime.now(dt.timezone.utc)).total_seconds())
    journal = client.get("/__mock/requests", headers=ns(name)).get_json()["data"]
    faults = client.get("/__mock/faults", headers=ns(name)).get_json()["data"]
    return {
        "state": state,
        "journal": [(j["method"], j["path"], j["status"]) for j in journal],
        "faults": faults,
        "clock_near_real_time": skew < 60,
    }


def act(client: FlaskClient, name: str, action: str) -> None:
    hdrs = {**DEFAULT_HEADERS, **ns(name)}
    base = f"/mdts/{DEFAULT_MDT}"
    if action == "shift":
        response = client.post(f"{base}/shifts", json={"officer_name": "N"}, headers=hdrs)
        assert response.status_code in (201, 401, 403)  # unlinked, or the world lost test-key
    elif action == "units":
        response = client.put(f"{base}/units/active", json={"units": [{"id": "X"}]}, headers=hdrs)
        assert response.status_code in (200, 401, 403)
    elif action == "call":
        response = client.post(f"{base}/calls", json={"location": "L"}, headers=hdrs)
        assert response.status_code in (201, 401, 403)
    elif action == "link_request":
        response = client.post(
            "/link-requests",
            json={"mdt_id": "9b1d3f2e-5a47-4c8e-9f10-2d6c7b8a9e01"},
            headers=hdrs,
        )
        assert response.status_code in (201, 401)  # 401 once the world lost test-key
    elif action == "clock":
        response = client.post("/__mock/clock", json={"advance_seconds": 86400}, headers=ns(name))
        assert response.status_code == 200
    elif action == "world":
        new_world = world({("Partner A", GUILDS[0], "m-1")})
        response = client.post("/__mock/world", json=new_world, headers=ns(name))
        assert response.status_code == 200
    elif action == "reset":
        assert client.post("/__mock/reset", headers=ns(name)).status_code == 200
    elif action == "faults":
        plan = {"seed": 1, "operations": {"*": {"error_rate": 0.0, "latency_ms": 0}}}
        assert client.post("/__mock/faults", json=plan, headers=ns(name)).status_code == 200
    elif action == "unlink":
        response = client.post(f"{base}/unlink", headers=hdrs)
        assert response.status_code in (200, 401, 403)


@st.composite
def two_namespaces(draw: st.DrawFn) -> tuple[str, str]:
    first = draw(namespace_names)
    second = draw(namespace_names.filter(lambda name: name != first))
    return first, second


@SETTINGS
@given(
    names=two_namespaces(),
    actions=st.lists(st.sampled_from(ACTIONS), min_size=1, max_size=8),
)
def test_namespaces_do_not_see_each_other(names: tuple[str, str], actions: list[str]) -> None:
    client = create_app().test_client()
    first, second = names
    # Some activity in B and in the default namespace first, so there is something to disturb.
    act(client, second, "shift")
    act(client, second, "link_request")
    client.get(f"/mdts/{DEFAULT_MDT}/shifts", headers=DEFAULT_HEADERS)
    before_second = observe(client, second)
    before_default = observe(client, None)
    assert before_second["journal"] and before_default["journal"]

    for action in actions:
        act(client, first, action)

    assert observe(client, second) == before_second
    assert observe(client, None) == before_default
    # And A did see its own changes: its clock moved unless a later reset or world undid it.
    seen = observe(client, first)
    clock_moves = [i for i, action in enumerate(actions) if action == "clock"]
    if clock_moves and not {"reset", "world"} & set(actions[clock_moves[-1] :]):
        assert seen["clock_near_real_time"] is False
    else:
        assert seen["clock_near_real_time"] is True
    assert len(seen["journal"]) == sum(
        a in ("shift", "units", "call", "link_request", "unlink")
        for a in actions[_last_clear(actions) :]
    )


def _last_clear(actions: list[str]) -> int:
    """Index after the last action that empties the journal (reset or world)."""
    clears = [i + 1 for i, action in enumerate(actions) if action in ("reset", "world")]
    return clears[-1] if clears else 0


@SETTINGS
@given(name=namespace_names)
def test_a_new_namespace_starts_from_the_world(name: str) -> None:
    client = create_app().test_client()
    base = f"/mdts/{DEFAULT_MDT}"
    assert client.post(f"{base}/shifts", json={}, headers=DEFAULT_HEADERS).status_code == 201
    assert client.post("/__mock/clock", json={"advance_seconds": 7200}).status_code == 200
    fresh = observe(client, name)
    assert fresh["journal"] == []
    assert fresh["clock_near_real_time"] is True
    assert fresh["state"]["mdts"][DEFAULT_MDT]["shifts"] == []
    response = client.get(f"{base}/shifts", headers={**DEFAULT_HEADERS, **ns(name)})
    assert response.get_json() == {"ok": True, "data": []}
    # The default namespace kept its shift and its clock.
    default = observe(client, None)
    assert len(default["state"]["mdts"][DEFAULT_MDT]["shifts"]) == 1
    assert default["clock_near_real_time"] is False


def test_empty_namespace_header_is_the_default_namespace() -> None:
    client = create_app().test_client()
    base = f"/mdts/{DEFAULT_MDT}"
    created = client.post(
        f"{base}/shifts", json={"id": "s-e"}, headers={**DEFAULT_HEADERS, **ns("")}
    )
    assert created.status_code == 201
    listed = client.get(f"{base}/shifts", headers=DEFAULT_HEADERS).get_json()["data"]
    assert [s["id"] for s in listed] == ["s-e"]


def test_world_replaced_in_a_namespace_changes_only_its_auth() -> None:
    client = create_app().test_client()
    new_world = world({("Partner A", GUILDS[0], "m-1")})
    assert client.post("/__mock/world", json=new_world, headers=ns("a")).status_code == 200
    base = f"/mdts/{DEFAULT_MDT}/shifts"
    expect_error(client.get(base, headers={**DEFAULT_HEADERS, **ns("a")}), 401, "Unauthorized")
    assert client.get(base, headers=DEFAULT_HEADERS).status_code == 200
    assert client.get(base, headers={**DEFAULT_HEADERS, **ns("b")}).status_code == 200
    in_a = client.get("/mdts/m-1", headers={**headers("Partner A", GUILDS[0]), **ns("a")})
    assert in_a.status_code == 200
    expect_error(
        client.get("/mdts/m-1", headers=headers("Partner A", GUILDS[0])), 401, "Unauthorized"
    )
