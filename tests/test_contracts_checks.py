"""The checker's seams: answer checks on single exchanges, the rules registry, and the Target
protocol as a user implements it."""

from __future__ import annotations

import io
import json
from contextlib import AbstractContextManager, nullcontext
from typing import Any

import pytest

from contracts import Auth, CheckOptions, Exchange, WsgiTarget, rules, run_check
from contracts.checks import CHECKS, Violation, run_checks
from contracts.reporters import ConsoleReporter
from contracts.runner import NOT_SERVED
from contracts.spec import ContractSpec
from mockserver import create_app
from tests.support import DEFAULT

AUTH = Auth(DEFAULT.partner_key, DEFAULT.guild_id, DEFAULT.mdt_id, actor=DEFAULT.actor_id)
SPEC = ContractSpec()


def exchange(
    status: int,
    payload: Any,
    operation_id: str | None = "getMdtInfo",
    content_type: str = "application/json",
) -> Exchange:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    headers = {"Content-Type": content_type}
    return Exchange("GET", "http://api.test/v1/x", {}, None, status, headers, body, operation_id)


def broken(ex: Exchange, names: list[str] | None = None) -> list[str]:
    return [v.rule.name for v in run_checks(ex, SPEC, names)]


# -- answer checks on one exchange -------------------------------------------------------------
def test_a_conforming_answer_breaks_no_check() -> None:
    ex = exchange(200, {"ok": True, "data": {"created_at": "2026-01-02T03:04:05.000Z"}})
    assert run_checks(ex, SPEC) == []


def test_a_timestamp_not_rfc3339_breaks_format_date_time() -> None:
    ex = exchange(200, {"ok": True, "data": {"items": [{"updated_at": "yesterday"}]}})
    assert run_checks(ex, SPEC) == [
        Violation(
            rules.FORMAT_DATE_TIME,
            "ISO-8601 (RFC 3339) date-time values in fields declared format: date-time",
            "[\"updated_at='yesterday'\"]",
        )
    ]


def test_an_undocumented_status_with_a_success_body_breaks_two_rules() -> None:
    assert broken(exchange(418, {"ok": True, "data": {}})) == [
        "status.documented",
        "envelope.error",
    ]


def test_a_non_json_answer_breaks_envelope_json_even_outside_the_operations() -> None:
    html = exchange(404, b"<h1>Not Found</h1>", operation_id=None, content_type="text/html")
    assert broken(html) == ["envelope.json"]


def test_a_success_without_ok_breaks_envelope_success() -> None:
    assert broken(exchange(200, {"data": {"mdt_id": DEFAULT.mdt_id}})) == ["envelope.success"]


def test_error_documented_is_registered_but_not_run_by_default() -> None:
    assert CHECKS["error_documented"].default is False
    wrong = exchange(400, {"ok": False, "error": "nope"}, "upsertActiveUnits")
    assert broken(wrong) == []
    assert broken(wrong, ["error_documented"]) == ["error.documented"]
    documented = {"ok": False, "error": "Duplicate unit id in request body"}
    right = exchange(400, documented, "upsertActiveUnits")
    assert broken(right, ["error_documented"]) == []


# -- the rules registry ------------------------------------------------------------------------
def test_rules_are_declared_once_with_a_description() -> None:
    assert all(rule.description for rule in rules.RULES.values())
    assert rules.lookup("records.create.calls") == rules.RECORDS_CREATE.of("calls")
    with pytest.raises(KeyError):
        rules.lookup("no.such-rule")
    with pytest.raises(ValueError, match="declared twice"):
        rules.declare("list.order", "again")


def test_every_rule_a_buggy_target_breaks_is_declared() -> None:
    options = CheckOptions(AUTH, seed=3, include_destructive=True, stages=("workflows",))
    result = run_check(WsgiTarget(create_app(bugs=["undocumented-status"])), options)
    names = {f.rule for f in result.failures}
    assert "status.documented" in names
    assert {rules.lookup(name).name for name in names} == names


# -- a user-written Target ---------------------------------------------------------------------
class InProcessOnly:
    """A minimal user Target: answers in-process and cannot be served over HTTP."""

    def __init__(self) -> None:
        self.inner = WsgiTarget(create_app())
        self.base_url = "inprocess://northca"
        self.send = self.inner.send

    def control(self, method: str, path: str, json: Any = None) -> Exchange:
        return self.inner.control(method, path, json)

    def served(self) -> AbstractContextManager[str | None]:
        return nullcontext()


def test_a_target_that_cannot_be_served_gets_a_skipped_schemathesis_line() -> None:
    out = io.StringIO()
    options = CheckOptions(AUTH, seed=1, stages=("schemathesis", "workflows"), workflows=["auth"])
    result = run_check(InProcessOnly(), options, [ConsoleReporter(out)])
    assert result.ok, "\n".join(f.summary() for f in result.failures)
    first = result.checks[0]
    assert (first.stage, first.skipped, first.failures) == ("schemathesis", NOT_SERVED, ())
    assert f"  SKIP      schemathesis [0.00s] - {NOT_SERVED}\n" in out.getvalue()


def test_a_user_target_reaches_the_control_plane_for_clock_and_second_mdt() -> None:
    options = CheckOptions(AUTH, seed=3, include_destructive=True, stages=("stateful",))
    result = run_check(InProcessOnly(), options)
    assert result.ok, "\n".join(f.summary() for f in result.failures)
    links = next(c for c in result.checks if c.name == "stateful.links")
    assert links.skipped is None and links.requests > 0


class WithoutControlPlane(InProcessOnly):
    def control(self, method: str, path: str, json: Any = None) -> Exchange:
        raise NotImplementedError


def test_a_target_without_control_plane_skips_what_needs_the_clock_or_a_second_mdt() -> None:
    options = CheckOptions(
        AUTH,
        seed=3,
        include_destructive=True,
        stages=("workflows", "stateful"),
        workflows=["link-requests.expiry"],
    )
    result = run_check(WithoutControlPlane(), options)
    skipped = {c.name: c.skipped for c in result.checks if c.skipped}
    assert skipped == {
        "link-requests.expiry": "needs the mock's clock control (POST /__mock/clock)",
        "stateful.links": "needs an MDT the target knows that is not linked: pass --second-mdt",
    }
    assert result.ok, "\n".join(f.summary() for f in result.failures)
