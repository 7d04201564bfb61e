"""The checker catches bugs: the clean mock passes every contract, each planted bug fails one,
and the failure names the violated rule."""

from __future__ import annotations

import pytest

from contracts import Auth, CheckOptions, HttpTarget, WsgiTarget, rules, run_check
from mockserver import create_app
from mockserver.bugs import BUGS
from mockserver.threaded import served
from tests.support import DEFAULT

AUTH = Auth(DEFAULT.partner_key, DEFAULT.guild_id, DEFAULT.mdt_id, actor=DEFAULT.actor_id)

#: Planted bug -> the rule the contracts must report.
EXPECTED_RULE = {
    "wrong-error-string": rules.UNITS_DUPLICATE_ID,
    "accepts-duplicate-unit-ids": rules.UNITS_DUPLICATE_ID,
    "ignores-partner-key": rules.AUTH_UNKNOWN_KEY,
    "skips-guild-link-check": rules.GUILD_OTHER,
    "lists-not-newest-first": rules.LIST_ORDER,
    "limit-ignored": rules.LIST_LIMIT,
    "dates-not-iso8601": rules.FORMAT_DATE_TIME,
    "500-on-invalid-json": rules.BODY_INVALID_JSON,
    "undocumented-status": rules.STATUS_DOCUMENTED,
    "missing-allow-on-405": rules.ROUTING_ALLOW_HEADER,
    "envelope-without-ok": rules.ENVELOPE_SUCCESS,
    "confirm-by-non-owner": rules.LINK_OWNER_ONLY,
    "expired-request-confirmable": rules.LINK_EXPIRY,
    "rejected-create-touches-record": rules.READBACK_REJECTED,
    "patch-not-stored": rules.READBACK_WRITE,
    "patch-keeps-updated-at": rules.TIMESTAMPS_UPDATED,
    "upsert-resets-created-at": rules.TIMESTAMPS_CREATED,
    "integers-stored-as-strings": rules.RECORDS_ROUND_TRIP.of("shifts"),
    "partial-upsert": rules.READBACK_REJECTED,
    "guild-list-shows-every-guild": rules.ISOLATION_GUILD_LIST,
    "records-shared-across-mdts": rules.ISOLATION_MDT,
}


def test_every_planted_bug_has_an_expected_rule() -> None:
    assert set(EXPECTED_RULE) == set(BUGS)


def test_clean_mock_passes_everything() -> None:
    """All stages (schemathesis, workflows, state machine), destructive ones included."""
    options = CheckOptions(AUTH, seed=7, max_examples=5, include_destructive=True)
    result = run_check(WsgiTarget(create_app()), options)
    assert result.ok, "\n".join(f.summary() for f in result.failures)
    assert {c.stage for c in result.checks} == {"schemathesis", "workflows", "stateful"}
    assert not [c.name for c in result.checks if c.skipped]
    assert {"stateful.model", "stateful.links"} <= {c.name for c in result.checks}


def test_workflows_tolerate_data_they_did_not_make() -> None:
    """A second run on the same (unreset) server still passes."""
    app = create_app()
    for _ in range(2):
        options = CheckOptions(AUTH, seed=1, include_destructive=True, stages=("workflows",))
        result = run_check(WsgiTarget(app), options)
        assert result.ok, "\n".join(f.summary() for f in result.failures)


@pytest.mark.parametrize("bug", sorted(EXPECTED_RULE))
def test_planted_bug_is_caught(bug: str) -> None:
    options = CheckOptions(AUTH, seed=3, include_destructive=True, stages=("workflows", "stateful"))
    result = run_check(WsgiTarget(create_app(bugs=[bug])), options)
    names = {f.rule for f in result.failures}
    assert not result.ok
    assert EXPECTED_RULE[bug].name in names, names


#: Planted bug -> the rule the link-request state machine alone must report.
LINK_MACHINE_RULE = {
    "confirm-by-non-owner": rules.LINK_OWNER_ONLY,
    "expired-request-confirmable": rules.LINK_EXPIRY,
}


@pytest.mark.parametrize("bug", sorted(LINK_MACHINE_RULE))
def test_link_state_machine_catches_lifecycle_bugs(bug: str) -> None:
    options = CheckOptions(AUTH, seed=3, include_destructive=True, stages=("stateful",))
    result = run_check(WsgiTarget(create_app(bugs=[bug])), options)
    links = next(c for c in result.checks if c.name == "stateful.links")
    assert not links.skipped
    assert LINK_MACHINE_RULE[bug].name in {f.rule for f in links.failures}, links.failures


#: Planted bug -> the rule the model-based state machine alone must report.
MODEL_MACHINE_RULE = {
    "patch-not-stored": rules.MODEL_RECORDS.of("calls"),
    "limit-ignored": rules.MODEL_LIMIT,
    "lists-not-newest-first": rules.LIST_ORDER,
    "integers-stored-as-strings": rules.MODEL_RECORDS.of("shifts"),
    "upsert-resets-created-at": rules.MODEL_RECORDS.of("units"),
}


@pytest.mark.parametrize("bug", sorted(MODEL_MACHINE_RULE))
def test_model_state_machine_catches_record_bugs(bug: str) -> None:
    options = CheckOptions(AUTH, seed=3, stages=("stateful",))
    result = run_check(WsgiTarget(create_app(bugs=[bug])), options)
    model = next(c for c in result.checks if c.name == "stateful.model")
    assert MODEL_MACHINE_RULE[bug].name in {f.rule for f in model.failures}, model.failures


def test_link_state_machine_passes_over_http_and_restores_the_link() -> None:
    """Over HTTP, with the second MDT named explicitly; it is left unlinked afterwards."""
    app = create_app()
    with served(app, "/v1") as url:
        target = HttpTarget(url)
        options = CheckOptions(
            AUTH,
            seed=11,
            include_destructive=True,
            stages=("stateful",),
            second_mdt=DEFAULT.unlinked_mdt_id,
        )
        result = run_check(target, options)
        assert result.ok, "\n".join(f.summary() for f in result.failures)
        links = next(c for c in result.checks if c.name == "stateful.links")
        assert not links.skipped and links.requests > 0
        info = target.send("GET", f"/mdts/{DEFAULT.unlinked_mdt_id}", headers=AUTH.headers())
        assert info.status == 403, info.received()


def test_link_state_machine_needs_include_destructive() -> None:
    options = CheckOptions(AUTH, seed=1, stages=("stateful",))
    result = run_check(WsgiTarget(create_app()), options)
    links = next(c for c in result.checks if c.name == "stateful.links")
    assert links.skipped and "--include-destructive" in links.skipped


def _link_second_mdt_to_other_guild(target: WsgiTarget) -> None:
    headers = {
        **AUTH.headers(guild=DEFAULT.other_guild_id),
        "x-discord-actor": DEFAULT.unlinked_mdt_owner_id,
    }
    made = target.send(
        "POST", "/link-requests", headers=headers, json_body={"mdt_id": DEFAULT.unlinked_mdt_id}
    )
    assert made.status == 201, made.received()
    path = f"/link-requests/{made.data['id']}/confirm"
    assert target.send("POST", path, headers=headers).status == 200


@pytest.mark.parametrize(("bugs", "ok"), [((), True), (("guild-list-shows-every-guild",), False)])
def test_other_guild_is_the_one_given(bugs: tuple[str, ...], ok: bool) -> None:
    """--other-guild names a guild with a link of its own: it lists that MDT, never ours."""
    target = WsgiTarget(create_app(bugs=list(bugs)))
    _link_second_mdt_to_other_guild(target)
    options = CheckOptions(
        AUTH,
        seed=2,
        include_destructive=True,
        stages=("workflows",),
        workflows=["isolation.other-guild"],
        other_guild=DEFAULT.other_guild_id,
    )
    result = run_check(target, options)
    assert result.ok is ok, result.failures
    if not ok:
        assert {f.rule for f in result.failures} == {rules.ISOLATION_GUILD_LIST.name}
        assert f"guild {DEFAULT.other_guild_id}'s MDTs" in result.failures[0].expected


def test_second_mdt_flags_drive_isolation_and_the_link_machine_without_a_clock() -> None:
    """No control plane needed: the second MDT and its owner come from the options."""
    options = CheckOptions(
        AUTH,
        seed=4,
        include_destructive=True,
        stages=("workflows", "stateful"),
        workflows=["isolation.second-mdt"],
        clock_control=False,
        second_mdt=DEFAULT.unlinked_mdt_id,
        second_owner=DEFAULT.unlinked_mdt_owner_id,
    )
    target = WsgiTarget(create_app())
    result = run_check(target, options)
    assert result.ok, "\n".join(f.summary() for f in result.failures)
    ran = {c.name: c for c in result.checks}
    assert not ran["isolation.second-mdt"].skipped and not ran["stateful.links"].skipped
    assert ran["isolation.second-mdt"].requests > 40
    info = target.send("GET", f"/mdts/{DEFAULT.unlinked_mdt_id}", headers=AUTH.headers())
    assert info.status == 403, info.received()


def test_second_mdt_workflow_is_skipped_without_one() -> None:
    options = CheckOptions(
        AUTH,
        seed=4,
        include_destructive=True,
        stages=("workflows",),
        workflows=["isolation.second-mdt"],
        clock_control=False,
    )
    result = run_check(WsgiTarget(create_app()), options)
    assert result.checks[0].skipped == (
        "needs a second MDT the target knows: pass --second-mdt ID --second-owner ACTOR"
    )


def test_read_back_tolerates_records_sliding_into_a_full_page() -> None:
    """With more than 100 units, a delete lets the 101st into the page: not a change."""
    target = WsgiTarget(create_app())
    for batch in range(3):
        units = [{"id": f"fill-{batch}-{n}"} for n in range(50)]
        ex = target.send("PUT", f"/mdts/{DEFAULT.mdt_id}/units/active", headers=AUTH.headers(),
                         json_body={"units": units})  # fmt: skip
        assert ex.status == 200, ex.received()
    options = CheckOptions(
        AUTH, seed=1, stages=("workflows",), workflows=["units.delete", "units.upsert"]
    )
    result = run_check(target, options)
    assert result.ok, "\n".join(f.summary() for f in result.failures)
