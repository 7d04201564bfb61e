"""Hypothesis-driven link-request lifecycle: a ``RuleBasedStateMachine`` against a model.

The machine creates link requests for a *second* MDT (one the target knows but that is not linked
to the guild), confirms and denies them as the owner, a stranger or without an actor, repeats
decisions, asks for unknown or foreign requests and, when the target is the mock with a clock,
moves the clock past the TTL. The model predicts every status from the documented lifecycle
(404, then 403 owner-only, then the state: ``already``, 409, 410); error strings are compared only
where the spec marks them documented. It changes links, so it runs only with
``--include-destructive``; the link it creates is removed again (unlink as the owner) afterwards.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
)

from contracts import rules
from contracts.context import CheckContext
from contracts.machine_support import ModelMachine
from contracts.rules import Rule
from contracts.target import Exchange, Target, TargetUnreachable

NAME = "stateful.links"
DECISIONS = ("confirmLinkRequest", "denyLinkRequest")
ACTORS = ("owner", "stranger", "none")
#: Decision -> (final status, its rule, the error of the other final status).
OUTCOME: dict[str, tuple[str, Rule, str]] = {
    "confirmLinkRequest": ("approved", rules.LINK_APPROVED, "linkRequestDenied"),
    "denyLinkRequest": ("denied", rules.LINK_DENIED, "linkRequestApproved"),
}


def skip_reason(*, include_destructive: bool, second_mdt: str | None) -> str | None:
    if not include_destructive:
        return "creates and decides link requests: opt in with --include-destructive"
    if not second_mdt:
        return "needs an MDT the target knows that is not linked: pass --second-mdt"
    return None


def discover_second_mdt(target: Target, guild: str, mdt: str) -> str | None:
    """On a northca-mock, an MDT of its world that is not linked to ``guild`` (else None)."""
    try:
        ex = target.control("GET", "/__mock/state")
    except (TargetUnreachable, NotImplementedError):  # no control plane
        return None
    state = ex.data if ex.status == 200 else None
    if not isinstance(state, dict) or not isinstance(state.get("mdts"), dict):
        return None
    linked = {
        link.get("mdt_id")
        for link in state.get("links") or []
        if isinstance(link, dict) and link.get("guild_id") == guild
    }
    candidates = sorted(m for m in state["mdts"] if m != mdt and m not in linked)
    return candidates[0] if candidates else None


@dataclass
class ModelRequest:
    id: str
    owner: str | None
    status: str = "pending"
    due: bool = False  # the clock moved past its expires_at


def make_links_machine(ctx: CheckContext, second_mdt: str) -> type[RuleBasedStateMachine]:
    """A link-request state machine class bound to one check context and the second MDT."""

    class LinkRequestModel(ModelMachine):
        def __init__(self) -> None:
            super().__init__()
            self.requests: list[ModelRequest] = []
            self.ttl: float | None = None
            self.last: tuple[str, str, int] | None = None
            self.initially_linked = self.is_linked()
            self.linked = self.initially_linked
            self.link_owner: str | None = None

        # -- helpers -----------------------------------------------------------------------
        def is_linked(self) -> bool:
            ex = ctx.call("getMdtInfo", path={"mdtId": second_mdt})
            return ex.status == 200

        def actor_for(self, who: str, request: ModelRequest) -> str | bool:
            if who == "owner":
                return request.owner or False
            if who == "stranger":
                return ctx.snowflake(request.owner, ctx.auth.actor)
            return False

        # -- rules -------------------------------------------------------------------------
        @initialize()
        def first_request(self) -> None:
            self.create()

        @rule()
        def create(self) -> None:
            ex = ctx.call("createLinkRequest", json_body={"mdt_id": second_mdt})
            data = ex.data if isinstance(ex.data, dict) else {}
            self.check(
                ex.status == 201 and bool(data.get("id")),
                rules.LINK_CREATE,
                ex,
                "201 with a link request",
            )
            self.check(
                data.get("status") == "pending"
                and data.get("mdt_id") == second_mdt
                and data.get("guild_id") == ctx.auth.guild
                and not data.get("decided_at"),
                rules.LINK_CREATE,
                ex,
                f"status pending for mdt_id {second_mdt} in guild {ctx.auth.guild}",
            )
            if self.ttl is None:
                from mockserver.clock import parse_iso

                try:
                    created, expires = parse_iso(data["created_at"]), parse_iso(data["expires_at"])
                    self.ttl = (expires - created) / 1000
                except (KeyError, TypeError, ValueError):
                    raise self.violation(
                        rules.LINK_CREATE, ex, "created_at and expires_at timestamps"
                    ) from None
            owner = data.get("owner_discord_id") or ctx.config.second_owner
            self.requests.append(ModelRequest(str(data["id"]), owner if owner else None))

        @rule(
            data=st.data(),
            operation=st.sampled_from(DECISIONS),
            who=st.sampled_from(ACTORS),
        )
        def decide(self, data: st.DataObject, operation: str, who: str) -> None:
            index = data.draw(st.integers(0, len(self.requests) - 1), label="request")
            self.send_decision(operation, who, index)

        @precondition(lambda self: self.last is not None)
        @rule()
        def repeat(self) -> None:
            assert self.last is not None
            self.send_decision(*self.last)

        @rule(operation=st.sampled_from(DECISIONS), foreign=st.booleans())
        def unknown_or_foreign(self, operation: str, foreign: bool) -> None:
            request = self.requests[-1]
            if foreign:
                ex = ctx.call(
                    operation,
                    path={"id": request.id},
                    actor=request.owner or True,
                    guild=ctx.other_guild(),
                )
            else:
                ex = ctx.call(
                    operation, path={"id": ctx.uid("no-request")}, actor=request.owner or True
                )
            self.expect_error(ex, rules.LINK_NOT_FOUND, "linkRequestNotFound")

        @precondition(lambda self: ctx.clock_control and self.ttl is not None)
        @rule(data=st.data(), operation=st.sampled_from(DECISIONS))
        def expire(self, data: st.DataObject, operation: str) -> None:
            """Move the mock clock past the TTL, then decide one request as its owner."""
            assert self.ttl is not None
            ex = ctx.target.control("POST", "/__mock/clock", {"advance_seconds": self.ttl + 1})
            self.check(ex.status == 200, rules.LINK_EXPIRY, ex, "the mock clock to advance")
            for request in self.requests:
                request.due = request.due or request.status == "pending"
            due = [i for i, r in enumerate(self.requests) if r.due and r.status == "pending"]
            index = data.draw(st.sampled_from(due or range(len(self.requests))), label="request")
            self.send_decision(operation, "owner", index)

        # -- the model ---------------------------------------------------------------------
        def send_decision(self, operation: str, who: str, index: int) -> None:
            self.last = (operation, who, index)
            request = self.requests[index]
            actor = self.actor_for(who, request)
            ex = ctx.call(operation, path={"id": request.id}, actor=actor)
            self.expect_decision(ex, operation, who, request)
            self.link_matches_model()

        def expect_decision(
            self, ex: Exchange, operation: str, who: str, request: ModelRequest
        ) -> None:
            final, final_rule, conflict = OUTCOME[operation]
            if who != "owner" or request.owner is None:
                self.expect_error(ex, rules.LINK_OWNER_ONLY, "notOwner")
                return
            if request.status == "pending" and request.due:
                request.status = "expired"
            if request.status == "expired":
                self.expect_error(ex, rules.LINK_EXPIRY, "linkRequestExpired")
                return
            if request.status not in ("pending", final):
                self.expect_error(ex, rules.LINK_CONFLICT, conflict)
                return
            data = ex.data if isinstance(ex.data, dict) else {}
            repeated = request.status == final
            self.check(
                ex.status == 200
                and data.get("status") == final
                and bool(data.get("decided_at"))
                and bool(data.get("already")) == repeated,
                rules.LINK_ALREADY if repeated else final_rule,
                ex,
                f"200 with status {final}, decided_at set"
                + (", already: true" if repeated else ", no already"),
            )
            request.status = final
            if final == "approved":
                self.linked = True
                self.link_owner = request.owner

        def link_matches_model(self) -> None:
            linked = self.is_linked()
            self.check(
                linked == self.linked,
                rules.LINK_LINKED,
                None,
                f"MDT {second_mdt} {'linked' if self.linked else 'not linked'} to the guild"
                f" (getMdtInfo {'200' if self.linked else '403'})",
            )

        def teardown(self) -> None:
            if self.linked and not self.initially_linked and self.link_owner is not None:
                ex = ctx.call("unlinkMdt", path={"mdtId": second_mdt}, actor=self.link_owner)
                self.check(ex.status == 200, rules.LINK_RESTORE, ex, "200 unlinking the second MDT")

    LinkRequestModel.ctx = ctx
    LinkRequestModel.name = NAME
    return LinkRequestModel
