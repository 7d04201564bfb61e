"""The schemathesis stage: every phase and every check of schemathesis 4.x, run by its engine.

The configuration is built from the run's options (auth, MDT, seed, bounds), not from a file, and
it derives the business-rule exceptions from the spec: for schema-valid data an operation may
answer any 4xx status it documents except 400 (a 403 for an unlinked MDT, a 404, a 409 for an id
already taken), plus 400 where it documents a 400 for schema-valid data (``Invalid mdt_id`` and
``Duplicate unit id in request body``).

``unlinkMdt`` is never fuzzed (it would take the link away from every later request; the
``mdt-links.unlink`` workflow checks it and restores the link); confirm and deny are fuzzed only
with ``include_destructive``.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from contracts import rules
from contracts.coverage import Coverage
from contracts.events import (
    CheckFinished,
    CheckStarted,
    Event,
    Failure,
    StageFinished,
    StageStarted,
)
from contracts.schemathesis_findings import finding
from contracts.spec import ContractSpec
from contracts.target import Auth
from contracts.transport import DEFAULT_TIMEOUT

STAGE = "schemathesis"
#: Error examples that answer schema-valid data (documented business-rule rejections).
BUSINESS_REJECTIONS = frozenset({"invalidMdt", "duplicateId"})
NEVER_FUZZED = ("unlinkMdt",)
DESTRUCTIVE = ("confirmLinkRequest", "denyLinkRequest")
#: The name of a scenario schemathesis gives no label (its stateful phase walks the API's links).
STATEFUL_LABEL = "API links"


def accepted_statuses(spec: ContractSpec, operation_id: str) -> list[str]:
    """Statuses schema-valid data may get, derived from what the operation documents."""
    op = spec.operation(operation_id)
    statuses = ["2xx"]
    for status in sorted(op.statuses):
        if 400 < status < 500:
            statuses.append(str(status))
    if any(e.name in BUSINESS_REJECTIONS for e in spec.errors[operation_id].values()):
        statuses.append("400")
    return statuses


def excluded_operations(include_destructive: bool) -> tuple[str, ...]:
    return NEVER_FUZZED + (() if include_destructive else DESTRUCTIVE)


def build_config(
    spec: ContractSpec,
    auth: Auth,
    *,
    seed: int,
    max_examples: int,
    max_steps: int = 20,
    request_timeout: float = DEFAULT_TIMEOUT,
    proxy: str | None = None,
) -> Any:
    """A ``SchemathesisConfig`` for this target: auth, fixed ids, bounds, business rules.

    ``request_timeout`` bounds each of schemathesis' socket reads (its own transport has no
    deadline for a whole answer; the checker's requests do, :mod:`contracts.transport`); with
    ``proxy`` (:mod:`contracts.relay`) its requests get that deadline and a byte cap too."""
    from schemathesis.config import SchemathesisConfig

    parameters = {
        "path.mdtId": auth.mdt,
        "path.guildId": auth.guild,
    }
    if auth.actor:
        parameters["header.x-discord-actor"] = auth.actor
    return SchemathesisConfig.from_dict(
        {
            "seed": seed,
            "color": False,
            "request-timeout": request_timeout,
            **({"proxy": proxy} if proxy else {}),
            # The key stays in what schemathesis records; the run's redactor replaces it by the
            # same placeholder as in every other finding (not "[Filtered]").
            "output": {"sanitization": {"enabled": False}},
            "auth": {
                "openapi": {
                    "PartnerKey": {"api_key": auth.partner_key},
                    "DiscordGuild": {"api_key": auth.guild},
                }
            },
            "parameters": parameters,
            "generation": {"max-examples": max_examples, "database": "none"},
            "phases": {"stateful": {"max-steps": max_steps}},
            "operations": [
                {
                    "include-operation-id": op_id,
                    "checks": {
                        "positive_data_acceptance": {
                            "expected-statuses": accepted_statuses(spec, op_id)
                        }
                    },
                }
                for op_id in spec.operations
            ],
        }
    )


def run_schemathesis(
    base_url: str,
    spec: ContractSpec,
    auth: Auth,
    *,
    seed: int,
    max_examples: int,
    include_destructive: bool,
    coverage: Coverage,
    emit: Callable[[Event], None],
    request_timeout: float = DEFAULT_TIMEOUT,
    proxy: str | None = None,
) -> list[CheckFinished]:
    """Run all phases and checks against ``base_url``; one CheckFinished per operation/phase."""
    import schemathesis
    from schemathesis.engine import Status, events, from_schema

    started = time.monotonic()
    config = build_config(
        spec,
        auth,
        seed=seed,
        max_examples=max_examples,
        request_timeout=request_timeout,
        proxy=proxy,
    )
    loaded = schemathesis.openapi.from_dict(spec.spec.operations_document(), config=config)
    schema = loaded.exclude(operation_id=list(excluded_operations(include_destructive)))
    schema.config.update(base_url=base_url)
    by_label = {f"{op.method} {op.path}": op_id for op_id, op in spec.operations.items()}
    emit(StageStarted(STAGE, len(spec.operations) - len(excluded_operations(include_destructive))))
    results: list[CheckFinished] = []
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioStarted):
            emit(CheckStarted(STAGE, f"{event.phase.value} {event.label or STATEFUL_LABEL}"))
        elif isinstance(event, events.ScenarioFinished):
            recorder = event.recorder
            failures: list[Failure] = []
            seen: set[tuple[str, str]] = set()
            for case_id, interaction in recorder.interactions.items():
                node = recorder.cases.get(case_id)
                label = node.value.operation.label if node is not None else recorder.label
                response = interaction.response
                op_id = by_label.get(label)
                same_method = op_id is not None and interaction.request.method.upper() == (
                    spec.operation(op_id).method
                )
                if response is not None and same_method:
                    coverage.record(op_id, response.status_code, _error_of(response.content))
            for case_id, nodes in recorder.checks.items():
                for check in nodes:
                    if check.status != Status.FAILURE or check.failure_info is None:
                        continue
                    failure = check.failure_info.failure
                    node = recorder.cases.get(case_id)
                    label = node.value.operation.label if node is not None else recorder.label
                    key = (check.name, str(failure.title))
                    if key in seen:
                        continue
                    seen.add(key)
                    steps = check.failure_info.steps
                    fallback = steps[-1].curl if steps else check.failure_info.code_sample
                    failures.append(
                        finding(
                            failure,
                            recorder.interactions.get(case_id),
                            check=f"{event.phase.value} {recorder.label}",
                            rule=rules.SCHEMATHESIS.of(check.name).name,
                            operation=by_label.get(label, label),
                            stage=STAGE,
                            fallback_curl=fallback,
                        )
                    )
            results.append(
                CheckFinished(
                    STAGE,
                    f"{event.phase.value} {recorder.label}",
                    tuple(failures),
                    event.elapsed_time,
                    requests=len(recorder.interactions),
                )
            )
            emit(results[-1])
        elif isinstance(event, (events.NonFatalError, events.FatalError)):
            error = getattr(event, "value", None) or getattr(event, "exception", None)
            label = getattr(event, "label", "engine")
            results.append(
                CheckFinished(
                    STAGE,
                    f"error {label}",
                    (
                        Failure(
                            check=f"error {label}",
                            rule=rules.SCHEMATHESIS_ERROR.name,
                            operation=by_label.get(label, label),
                            expected="the schemathesis run to complete",
                            received=f"{type(error).__name__}: {error}",
                            stage=STAGE,
                        ),
                    ),
                    0.0,
                )
            )
            emit(results[-1])
    emit(StageFinished(STAGE, time.monotonic() - started))
    return results


def _error_of(content: bytes) -> Any:
    try:
        payload = json.loads(content)
    except ValueError:
        return None
    return payload.get("error") if isinstance(payload, dict) else None
