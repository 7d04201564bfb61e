"""The link-request lifecycle against a small Python model, driven by a hypothesis state machine.

The model: a request is pending, then approved (confirm), denied (deny) or expired (confirm or
deny at or after ``expires_at``); the three are final. Confirm/deny answer 404 for an unknown id or
a request from another guild, 403 for anyone but the MDT owner, then 200 ``already`` / 409 / 410 by
state. A (guild, MDT) link exists iff a request for it was approved and no unlink came since.

The mock clock keeps running in real time, so the machine only moves it in steps of 60 seconds: a
request whose advances sum to 900 or more is past its TTL, one at 840 or less is not (the few
seconds of real time a run takes cannot cross that gap).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Flask
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, invariant, rule

from mockserver import create_app
from tests.support import (
    ALREADY_APPROVED,
    ALREADY_DENIED,
    DEFAULT,
    EXPIRED,
    ISO_MS_Z,
    NOT_FOUND,
    NOT_LINKED,
    NOT_OWNER,
    auth_headers,
    error_of,
)

OWNERS = {DEFAULT.mdt_id: DEFAULT.actor_id, DEFAULT.unlinked_mdt_id: DEFAULT.unlinked_mdt_owner_id}
GUILDS = (DEFAULT.guild_id, DEFAULT.other_guild_id)
STRANGER_ID = "444444444444444444"
ACTORS = (DEFAULT.actor_id, DEFAULT.unlinked_mdt_owner_id, STRANGER_ID, None)
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"


_APP: Flask | None = None


def _app() -> Flask:
    global _APP
    if _APP is None:
        _APP = create_app()
    return _APP


@dataclass
class ModelRequest:
    mdt_id: str
    guild_id: str
    owner: str
    requester: str | None
    created_at_advance: int
    status: str = "pending"
    decided_at: str | None = None


class LinkLifecycle(RuleBasedStateMachine):
    requests = Bundle("requests")

    def __init__(self) -> None:
        super().__init__()
        self.client = _app().test_client()
        response = self.client.post("/__mock/reset")
        assert response.status_code == 200, response.get_json()
        self.advanced = 0
        self.model: dict[str, ModelRequest] = {}
        # (guild, mdt) -> link_request_id of the approval that made the link (None: the world's).
        self.links: dict[tuple[str, str], str | None] = {(DEFAULT.guild_id, DEFAULT.mdt_id): None}

    # -- helpers ------------------------------------------------------------------------------
    def _effective(self, request: ModelRequest) -> str:
        """The status the request has now: pending past its TTL counts as expired."""
        if request.status == "pending" and (
            self.advanced - request.created_at_advance >= DEFAULT.link_request_ttl_seconds
        ):
            return "expired"
        return request.status

    def _data(self, response: Any, status: int) -> Any:
        assert response.status_code == status, response.get_json()
        body = response.get_json()
        assert body["ok"] is True, body
        return body["data"]

    # -- rules --------------------------------------------------------------------------------
    @rule(
        target=requests,
        mdt_id=st.sampled_from(sorted(OWNERS)),
        guild=st.sampled_from(GUILDS),
        actor=st.sampled_from(ACTORS),
    )
    def create(self, mdt_id: str, guild: str, actor: str | None) -> str:
        response = self.client.post(
            "/link-requests",
            json={"mdt_id": mdt_id},
            headers=auth_headers(guild=guild, actor=actor),
        )
        data = self._data(response, 201)
        assert data["status"] == "pending"
        assert data["mdt_id"] == mdt_id
        assert data["guild_id"] == guild
        assert data["partner"] == DEFAULT.partner_name
        assert data["owner_discord_id"] == OWNERS[mdt_id]
        assert data["requester_discord_id"] == actor
        assert data["decided_at"] is None
        assert data["id"] not in self.model
        self.model[data["id"]] = ModelRequest(mdt_id, guild, OWNERS[mdt_id], actor, self.advanced)
        request_id: str = data["id"]
        return request_id

    @rule(
        request_id=requests,
        verb=st.sampled_from(["confirm", "deny"]),
        guild=st.sampled_from(GUILDS),
        actor=st.sampled_from(ACTORS),
    )
    def decide(self, request_id: str, verb: str, guild: str, actor: str | None) -> None:
        self._decide(request_id, verb, guild, actor)

    @rule(request_id=requests, verb=st.sampled_from(["confirm", "deny"]))
    def decide_as_owner(self, request_id: str, verb: str) -> None:
        # The owner in the request's own guild: the path that reaches the state rules.
        request = self.model[request_id]
        self._decide(request_id, verb, request.guild_id, request.owner)

    def _decide(self, request_id: str, verb: str, guild: str, actor: str | None) -> None:
        request = self.model[request_id]
        response = self.client.post(
            f"/link-requests/{request_id}/{verb}", headers=auth_headers(guild=guild, actor=actor)
        )
        if guild != request.guild_id:
            assert error_of(response) == (404, NOT_FOUND)
            return
        if actor != request.owner:
            assert error_of(response) == (403, NOT_OWNER)
            return
        status = self._effective(request)
        done = "approved" if verb == "confirm" else "denied"
        conflict = "denied" if verb == "confirm" else "approved"
        if status == "expired":
            assert error_of(response) == (410, EXPIRED)
            request.status = "expired"
        elif status == conflict:
            message = ALREADY_DENIED if verb == "confirm" else ALREADY_APPROVED
            assert error_of(response) == (409, message)
        elif status == done:
            data = self._data(response, 200)
            assert data["already"] is True
            assert data["status"] == done
            assert data["decided_at"] == request.decided_at
        else:
            data = self._data(response, 200)
            assert data.get("already") in (None, False)
            assert data["status"] == done
            assert data["id"] == request_id
            assert ISO_MS_Z.match(data["decided_at"]), data
            request.status = done
            request.decided_at = data["decided_at"]
            if verb == "confirm":
                self.links[(request.guild_id, request.mdt_id)] = request_id

    @rule(verb=st.sampled_from(["confirm", "deny"]), guild=st.sampled_from(GUILDS))
    def decide_unknown(self, verb: str, guild: str) -> None:
        response = self.client.post(
            f"/link-requests/{UNKNOWN_ID}/{verb}",
            headers=auth_headers(guild=guild, actor=DEFAULT.unlinked_mdt_owner_id),
        )
        assert error_of(response) == (404, NOT_FOUND)

    @rule(seconds=st.sampled_from([60, 120, 300, 600, 900]))
    def advance(self, seconds: int) -> None:
        response = self.client.post("/__mock/clock", json={"advance_seconds": seconds})
        assert response.status_code == 200, response.get_json()
        self.advanced += seconds

    @rule(request_id=requests)
    def advance_to_expiry(self, request_id: str) -> None:
        # Exactly to this request's expires_at (the real time of the run puts it a hair past).
        # Every advance stays a multiple of 60 seconds, so the gap argument above still holds.
        remaining = DEFAULT.link_request_ttl_seconds - (
            self.advanced - self.model[request_id].created_at_advance
        )
        if remaining > 0:
            self.advance(remaining)

    @rule(
        mdt_id=st.sampled_from(sorted(OWNERS)),
        guild=st.sampled_from(GUILDS),
        actor=st.sampled_from(ACTORS),
    )
    def unlink(self, mdt_id: str, guild: str, actor: str | None) -> None:
        response = self.client.post(
            f"/mdts/{mdt_id}/unlink", headers=auth_headers(guild=guild, actor=actor)
        )
        if (guild, mdt_id) not in self.links:
            assert error_of(response) == (403, NOT_LINKED)
        elif actor != OWNERS[mdt_id]:
            assert error_of(response) == (403, NOT_OWNER)
        else:
            assert self._data(response, 200) == {"unlinked": True, "mdt_id": mdt_id}
            del self.links[(guild, mdt_id)]

    # -- invariants ---------------------------------------------------------------------------
    @invariant()
    def links_match(self) -> None:
        for guild in GUILDS:
            response = self.client.get(f"/guilds/{guild}/mdts", headers=auth_headers(guild=guild))
            listed = {item["mdt_id"]: item for item in self._data(response, 200)}
            expected = {mdt for (g, mdt) in self.links if g == guild}
            assert set(listed) == expected, (guild, listed, self.links)
            for mdt_id, item in listed.items():
                assert item["link_request_id"] == self.links[(guild, mdt_id)]
                assert item["owner_discord_id"] == OWNERS[mdt_id]
            for mdt_id in OWNERS:
                response = self.client.get(
                    f"/mdts/{mdt_id}/shifts", headers=auth_headers(guild=guild)
                )
                if (guild, mdt_id) in self.links:
                    assert self._data(response, 200) == []
                else:
                    assert error_of(response) == (403, NOT_LINKED)

    @invariant()
    def statuses_match(self) -> None:
        state = self._data(self.client.get("/__mock/state"), 200)
        stored = {item["id"]: item for item in state["link_requests"]}
        assert set(stored) == set(self.model)
        for request_id, request in self.model.items():
            item = stored[request_id]
            expected = self._effective(request)
            if expected == "expired" and request.status == "pending":
                # Not yet touched since it ran out: lazy expiry may or may not have marked it.
                assert item["status"] in ("pending", "expired"), item
            else:
                assert item["status"] == expected, item
            if request.decided_at is not None:
                assert item["decided_at"] == request.decided_at
            assert item["guild_id"] == request.guild_id
            assert item["mdt_id"] == request.mdt_id
            assert item["requester_discord_id"] == request.requester


LinkLifecycle.TestCase.settings = settings(max_examples=30, stateful_step_count=15, deadline=None)
TestLinkLifecycle = LinkLifecycle.TestCase
