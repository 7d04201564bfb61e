"""The checks every answer must pass, as registered functions of one exchange and the spec.

A check takes an :class:`~contracts.target.Exchange` (its ``operation_id`` names the operation;
None for a request outside the spec's operations) and the :class:`~contracts.spec.ContractSpec`,
and yields a :class:`Violation` per broken rule. They need no workflow, so anything that sees
single request/answer pairs can run them: ``run_checks(exchange, spec)``. ``CHECKS`` holds them by
name; ``default`` ones run on every answer a workflow or state machine gets.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import pairwise
from typing import Any
from urllib.parse import parse_qs, urlsplit

from contracts import rules
from contracts.rules import Rule
from contracts.spec import ContractSpec
from contracts.target import Exchange

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


@dataclass(frozen=True)
class Violation:
    """A rule an answer breaks: what was expected, and what came (None: status and body)."""

    rule: Rule
    expected: str
    received: str | None = None


AnswerCheck = Callable[[Exchange, ContractSpec], Iterator[Violation]]


@dataclass(frozen=True)
class RegisteredCheck:
    name: str
    function: AnswerCheck
    default: bool
    description: str


#: Every answer check by name, in the order they run.
CHECKS: dict[str, RegisteredCheck] = {}


def check(*, default: bool = True) -> Callable[[AnswerCheck], AnswerCheck]:
    """Register an answer check (``default``: run on every answer of a workflow)."""

    def register(function: AnswerCheck) -> AnswerCheck:
        doc = (function.__doc__ or function.__name__).strip().splitlines()[0]
        CHECKS[function.__name__] = RegisteredCheck(function.__name__, function, default, doc)
        return function

    return register


def run_checks(
    exchange: Exchange, spec: ContractSpec, names: Iterable[str] | None = None
) -> list[Violation]:
    """Run the named checks (default: the ``default`` ones) on one exchange."""
    chosen = [CHECKS[n] for n in names] if names is not None else default_checks()
    return [v for registered in chosen for v in registered.function(exchange, spec)]


def default_checks() -> list[RegisteredCheck]:
    return [c for c in CHECKS.values() if c.default]


@check()
def status_documented(ex: Exchange, spec: ContractSpec) -> Iterator[Violation]:
    """The status is one the operation documents."""
    if ex.operation_id is None:
        return
    statuses = spec.operation(ex.operation_id).statuses
    if ex.status not in statuses:
        yield Violation(
            rules.STATUS_DOCUMENTED, f"one of the documented statuses {sorted(statuses)}"
        )


@check()
def envelope(ex: Exchange, spec: ContractSpec) -> Iterator[Violation]:
    """A JSON object with Content-Type application/json, in the success or error envelope."""
    content_type = (ex.header("content-type") or "").split(";")[0].strip().lower()
    payload = ex.json
    if content_type != "application/json" or not isinstance(payload, dict):
        yield Violation(
            rules.ENVELOPE_JSON, "a JSON object answer with Content-Type application/json"
        )
    elif 200 <= ex.status < 300:
        if payload.get("ok") is not True or payload.get("data") is None:
            yield Violation(rules.ENVELOPE_SUCCESS, '{"ok": true, "data": <not null>}')
    elif ex.status >= 400 and (
        payload.get("ok") is not False or not isinstance(payload.get("error"), str)
    ):
        yield Violation(rules.ENVELOPE_ERROR, '{"ok": false, "error": "<string>"}')


@check()
def date_times(ex: Exchange, spec: ContractSpec) -> Iterator[Violation]:
    """Fields declared ``format: date-time`` in a success answer hold RFC 3339 values."""
    if ex.operation_id is None or not 200 <= ex.status < 300:
        return
    bad = bad_timestamps(ex.data, spec.date_time_fields)
    if bad:
        yield Violation(
            rules.FORMAT_DATE_TIME,
            "ISO-8601 (RFC 3339) date-time values in fields declared format: date-time",
            f"{bad[:3]}",
        )


@check(default=False)
def error_documented(ex: Exchange, spec: ContractSpec) -> Iterator[Violation]:
    """An error string is one the operation documents for its status (where not inferred)."""
    if ex.operation_id is None or ex.status < 400 or not isinstance(ex.error, str):
        return
    documented = [e for e in spec.errors[ex.operation_id].values() if e.status == ex.status]
    exact = {e.message for e in documented if e.exact}
    if exact and len(exact) == len(documented) and ex.error not in exact:
        yield Violation(rules.ERROR_DOCUMENTED, f"one of the documented strings {sorted(exact)}")


# -- more single-exchange checks, not run by default (the proxy runs every registered check) ---
@check(default=False)
def response_schema(ex: Exchange, spec: ContractSpec) -> Iterator[Violation]:
    """The JSON body matches the schema the operation documents for that status."""
    if ex.operation_id is None or ex.json is None:
        return
    validator = spec.response_validator(ex.operation_id, ex.status)
    if validator is None:
        return
    found = validator.violations(ex.json, limit=1)
    if found:
        yield Violation(
            rules.RESPONSE_SCHEMA,
            f"a body matching the schema of the documented {ex.status} response",
            found[0].describe()[:300],
        )


@check(default=False)
def auth_required(ex: Exchange, spec: ContractSpec) -> Iterator[Violation]:
    """A request without ``x-partner-key`` or ``x-discord-guild`` is answered 401."""
    if ex.operation_id is None or "unauthorized" not in spec.errors[ex.operation_id]:
        return
    if not ex.request_header("x-partner-key"):
        rule = rules.AUTH_MISSING_KEY
    elif not ex.request_header("x-discord-guild"):
        rule = rules.AUTH_MISSING_GUILD
    else:
        return
    violation = expected_error(ex, spec, "unauthorized", rule)
    if violation is not None:
        yield violation


@check(default=False)
def invalid_json_refused(ex: Exchange, spec: ContractSpec) -> Iterator[Violation]:
    """A body that is not JSON is answered 400 ``Invalid JSON`` (unless auth or routing came
    first)."""
    if (
        ex.operation_id is None
        or "invalidJson" not in spec.errors[ex.operation_id]
        or not ex.request_body
        or ex.status in (401, 403, 404, 413)
    ):
        return
    try:
        json.loads(ex.request_body)
        return
    except ValueError:
        pass
    violation = expected_error(ex, spec, "invalidJson", rules.BODY_INVALID_JSON)
    if violation is not None:
        yield violation


@check(default=False)
def request_refused(ex: Exchange, spec: ContractSpec) -> Iterator[Violation]:
    """A request the spec's rules refuse (body, ``limit``) is not answered 2xx."""
    if ex.operation_id is None or not 200 <= ex.status < 300:
        return
    name = spec.refusal(
        ex.operation_id,
        ex.request_body,
        ex.request_header("content-type"),
        urlsplit(ex.url).query,
    )
    if name is not None:
        error = spec.errors[ex.operation_id].get(name)
        expected = (
            f'{error.status} {{"ok": false, "error": "{error.message}"}}'
            if error is not None
            else f"an error answer (the spec's {name})"
        )
        yield Violation(rules.REQUEST_REFUSED.of(name), expected)


@check(default=False)
def list_limit(ex: Exchange, spec: ContractSpec) -> Iterator[Violation]:
    """A list holds at most ``limit`` items (the documented default without one)."""
    if ex.operation_id is None or not 200 <= ex.status < 300 or not isinstance(ex.data, list):
        return
    bounds = spec.limit_bounds(ex.operation_id)
    if bounds is None:
        return
    given = parse_qs(urlsplit(ex.url).query).get("limit")
    if given is None:
        cap, rule = bounds[0], rules.LIST_DEFAULT_LIMIT
    elif given[0].isdigit() and 1 <= int(given[0]) <= bounds[1]:
        cap, rule = int(given[0]), rules.LIST_LIMIT
    else:
        return
    if cap and len(ex.data) > cap:
        yield Violation(rule, f"at most {cap} items", f"{len(ex.data)} items")


@check(default=False)
def list_order(ex: Exchange, spec: ContractSpec) -> Iterator[Violation]:
    """A list answer is most recently updated first (``updated_at``, where items have it)."""
    if ex.operation_id is None or not 200 <= ex.status < 300 or not isinstance(ex.data, list):
        return
    if spec.limit_bounds(ex.operation_id) is None:
        return
    stamps: list[str] = [
        item["updated_at"]
        for item in ex.data
        if isinstance(item, dict) and isinstance(item.get("updated_at"), str)
    ]
    if len(stamps) < 2 or not all(RFC3339.match(stamp) for stamp in stamps):
        return
    for newer, older in pairwise(stamps):
        if newer < older:  # same format (the API writes UTC ``Z`` milliseconds): text order
            yield Violation(
                rules.LIST_ORDER, "updated_at newest first", f"{newer!r} before {older!r}"
            )
            return


def _success_of_operation_documenting(
    ex: Exchange, spec: ContractSpec, error: str
) -> dict[str, Any] | None:
    """The object a 2xx answer carries, when its operation documents ``error``; else None."""
    if (
        ex.operation_id is None
        or not 200 <= ex.status < 300
        or error not in spec.errors[ex.operation_id]
        or not isinstance(ex.data, dict)
    ):
        return None
    return ex.data


@check(default=False)
def owner_only(ex: Exchange, spec: ContractSpec) -> Iterator[Violation]:
    """An owner-only decision (``notOwner`` documented) succeeds only for the owner it names."""
    data = _success_of_operation_documenting(ex, spec, "notOwner")
    if data is None:
        return
    owner = data.get("owner_discord_id")
    actor = ex.request_header("x-discord-actor")
    if isinstance(owner, str) and owner and actor != owner:
        yield Violation(
            rules.LINK_OWNER_ONLY,
            f"403 for x-discord-actor {actor!r}: the answer names owner {owner!r}",
        )


@check(default=False)
def decided_before_expiry(ex: Exchange, spec: ContractSpec) -> Iterator[Violation]:
    """A decision (``linkRequestExpired`` documented) is not taken after ``expires_at``."""
    data = _success_of_operation_documenting(ex, spec, "linkRequestExpired")
    if data is None:
        return
    decided, expires = data.get("decided_at"), data.get("expires_at")
    if (
        isinstance(decided, str)
        and isinstance(expires, str)
        and RFC3339.match(decided)
        and RFC3339.match(expires)
        and decided > expires
    ):
        yield Violation(
            rules.LINK_EXPIRY, f"410 for a decision after expires_at {expires}", decided
        )


@check(default=False)
def allow_on_405(ex: Exchange, spec: ContractSpec) -> Iterator[Violation]:
    """A 405 answer lists the path's methods in ``Allow``."""
    if ex.status == 405 and not (ex.header("allow") or "").strip():
        yield Violation(rules.ROUTING_ALLOW_HEADER, "an Allow header naming the path's methods")


def expected_error(ex: Exchange, spec: ContractSpec, name: str, rule: Rule) -> Violation | None:
    """Unless the answer is the operation's documented error ``name`` (its status, and its exact
    string unless the spec marks the example ``x-northca-evidence: inferred``), the violation."""
    error = spec.error(str(ex.operation_id), name)
    if error.exact:
        if ex.status == error.status and ex.error == error.message:
            return None
        return Violation(rule, f'{error.status} {{"ok": false, "error": "{error.message}"}}')
    if ex.status == error.status:
        return None
    return Violation(
        rule, f"status {error.status} (string {error.message!r} is inferred: not compared)"
    )


def bad_timestamps(value: Any, fields: frozenset[str]) -> list[str]:
    """``key=value`` of every field in ``fields`` (at any depth) that is not RFC 3339."""
    bad: list[str] = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, sub in item.items():
                if key in fields and isinstance(sub, str) and not RFC3339.match(sub):
                    bad.append(f"{key}={sub!r}")
                elif isinstance(sub, (dict, list)):
                    stack.append(sub)
        elif isinstance(item, list):
            stack.extend(item)
    return bad
