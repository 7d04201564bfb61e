"""The engine: preflight, then schemathesis, the workflows and the state machine; it emits events.

Reporters (console, JUnit, coverage) consume the events; the CLI and the pytest entry only wire
a target and options to :func:`run_check`.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field

from contracts import rules
from contracts.context import CheckConfig
from contracts.coverage import Coverage
from contracts.events import (
    CheckFinished,
    CheckInterrupted,
    CheckStarted,
    Event,
    Failure,
    RunFinished,
    RunStarted,
    StageFinished,
    StageStarted,
)
from contracts.redact import Redactor
from contracts.spec import ContractSpec
from contracts.target import Auth, Exchange, Target, TargetUnreachable
from contracts.transport import (
    DEFAULT_MAX_BYTES,
    DEFAULT_TIMEOUT,
    AnswerOutOfBounds,
    broken_bound,
)
from contracts.workflows import WORKFLOWS

STAGES = ("schemathesis", "workflows", "stateful")
NOT_SERVED = "the target cannot be served over HTTP (its served() gives no URL)"
Reporter = Callable[[Event], None]


class UsageError(ValueError):
    """The run cannot start: bad options, or credentials/MDT the target refuses."""


@dataclass
class CheckOptions:
    """Options of one run (the CLI flags)."""

    auth: Auth
    seed: int | None = None
    max_examples: int = 25
    include_destructive: bool = False
    stages: Sequence[str] = STAGES
    workflows: Sequence[str] | None = None  # None: all
    run_id: str | None = None
    clock_control: bool | None = None  # None: detect the mock's /__mock/clock
    spec_path: str | None = None
    state_machine_examples: int = 5
    second_mdt: str | None = None  # None: on the mock, an MDT of its world that is not linked
    second_owner: str | None = None  # None: the owner_discord_id the target reports
    other_guild: str | None = None  # None: a generated Discord id with no links
    request_timeout: float = DEFAULT_TIMEOUT  # --request-timeout, for schemathesis' requests
    max_answer_bytes: int = DEFAULT_MAX_BYTES  # --max-answer-bytes, likewise
    extra: dict[str, object] = field(default_factory=dict)

    def resolved_seed(self) -> int:
        if self.seed is None:
            self.seed = random.SystemRandom().randrange(2**31)
        return self.seed


#: The preflight's guild-level read (its 401 says the key or guild is refused) and MDT read
#: (its 403 says the MDT is not linked); with the spec's list reads, when every one answers 404,
#: ``--url`` points at the wrong place.
GUILD_READ, MDT_READ = "listGuildMdts", "getMdtInfo"


def _preflight_reads(target: Target, spec: ContractSpec, auth: Auth) -> list[Exchange]:
    ctx = CheckConfig(target, auth, spec, run_id="preflight").context("preflight")
    return [
        ctx.call(operation_id) for operation_id in (GUILD_READ, MDT_READ, *spec.list_operations)
    ]


def routes_answer(target: Target, spec: ContractSpec, auth: Auth) -> bool:
    """Whether the target serves the API at its base URL: not every preflight read is a 404."""
    return not all(a.status == 404 for a in _preflight_reads(target, spec, auth))


def preflight(target: Target, spec: ContractSpec, auth: Auth) -> None:
    """Raise TargetUnreachable or UsageError when a run would only produce noise."""
    answers = _preflight_reads(target, spec, auth)
    if all(a.status == 404 for a in answers):
        raise UsageError(
            f"every route answers 404 at {target.base_url}: is --url the server's root (the"
            f" checker appends {spec.base_path or '/'}), e.g. http://127.0.0.1:4010?"
        )
    ex = answers[0]
    if ex.status == 401:
        raise UsageError(f"the target refuses partner key/guild ({ex.received()})")
    ex = answers[1]
    if ex.status == 403:
        raise UsageError(f"MDT {auth.mdt} is not linked to guild {auth.guild} on the target")
    if ex.status >= 500 or ex.json is None:
        raise UsageError(f"the target does not answer like the Partner API: {ex.received()}")


def refuse_simulated_mdts(target: Target, mdts: Iterable[str | None]) -> None:
    """UsageError when the target (a mock) is simulating one of the MDTs the run writes to:
    records that change under the checks would fail every read-back."""
    try:
        ex = target.control("GET", "/__mock/simulation")
    except (TargetUnreachable, NotImplementedError):  # no control plane
        return
    if ex.status != 200 or not isinstance(ex.data, dict) or not ex.data.get("events_per_minute"):
        return
    moving = set(ex.data.get("mdts") or ())
    for mdt in mdts:
        if mdt is not None and mdt in moving:
            raise UsageError(
                f"MDT {mdt} is being simulated on the target (serve --simulate or POST"
                " /__mock/simulation): its records change under the checks, so read-backs"
                ' would fail; stop the simulation ({"events_per_minute": 0}) or check'
                " another MDT"
            )


def detect_clock_control(target: Target) -> bool:
    """Whether the target is a northca-mock with a controllable clock."""
    try:
        ex = target.control("POST", "/__mock/clock", {"advance_seconds": 0})
    except (TargetUnreachable, NotImplementedError):  # no control plane
        return False
    return ex.status == 200 and isinstance(ex.data, dict) and "now" in ex.data


def run_workflows(
    config: CheckConfig, workflows: Sequence[str] | None, emit: Reporter
) -> list[CheckFinished]:
    """Run the named workflows in order; one CheckFinished each."""
    names = list(workflows or WORKFLOWS)
    emit(StageStarted("workflows", len(names)))
    started = time.monotonic()
    results = []
    for name in names:
        flow = WORKFLOWS[name]
        ctx = config.context(name)
        emit(CheckStarted("workflows", name))
        begin = time.monotonic()
        skip = flow.skip_reason(ctx)
        try:
            failures = [] if skip else flow.run(ctx)
        except TargetUnreachable as exc:
            elapsed = time.monotonic() - begin
            partial = CheckFinished(
                "workflows", name, tuple(ctx.failures), elapsed, None, ctx.requests
            )
            raise CheckInterrupted(exc, partial) from exc
        result = CheckFinished(
            "workflows", name, tuple(failures), time.monotonic() - begin, skip, ctx.requests
        )
        emit(result)
        results.append(result)
    emit(StageFinished("workflows", time.monotonic() - started))
    return results


def run_check(
    target: Target,
    options: CheckOptions,
    reporters: Iterable[Reporter] = (),
    *,
    base_url: str | None = None,
) -> RunFinished:
    """Check ``target`` against the spec; returns the final event (``.ok`` when it conforms).

    ``base_url`` is where schemathesis sends its requests (default: where ``target.served()``
    serves it; a target that cannot be served gets a skipped schemathesis result).
    Raises TargetUnreachable or UsageError before any check runs. When the target stops
    answering during the run, the reporters still get a :class:`RunFinished` with every failure
    found so far and ``aborted`` set, then TargetUnreachable is raised, naming the check it
    happened in. Reporters never see the partner key (:mod:`contracts.redact`).
    """
    spec = ContractSpec(options.spec_path)
    sinks = list(reporters)
    redactor = Redactor(options.auth.partner_key)
    where = ["preflight"]
    done: list[CheckFinished] = []

    def emit(event: Event) -> None:
        if isinstance(event, (StageStarted, CheckStarted)):
            where[0] = f"{event.stage}" + (
                f" {event.name}" if isinstance(event, CheckStarted) else ""
            )
        if isinstance(event, CheckFinished):
            done.append(event)
        event = redactor.event(event)
        for sink in sinks:
            sink(event)

    seed = options.resolved_seed()
    run_id = options.run_id or f"{random.SystemRandom().randrange(16**6):06x}"
    preflight(target, spec, options.auth)
    if options.clock_control is None:
        options.clock_control = detect_clock_control(target)
    second_mdt = options.second_mdt
    if second_mdt is None and options.include_destructive and options.clock_control:
        from contracts.stateful_links import discover_second_mdt

        second_mdt = discover_second_mdt(target, options.auth.guild, options.auth.mdt)
    refuse_simulated_mdts(target, (options.auth.mdt, second_mdt))
    coverage = Coverage(spec, redactor.text)
    config = CheckConfig(
        target,
        options.auth,
        spec,
        run_id,
        seed,
        coverage,
        options.include_destructive,
        bool(options.clock_control),
        other_guild=options.other_guild,
        second_mdt=second_mdt,
        second_owner=options.second_owner,
    )
    started = time.monotonic()
    emit(RunStarted(target.base_url, seed, run_id, tuple(options.stages)))
    try:
        if "schemathesis" in options.stages:
            _schemathesis_stage(config, options, coverage, emit, base_url)
            _still_there(target, done, where)
        if "workflows" in options.stages:
            run_workflows(config, options.workflows, emit)
        if "stateful" in options.stages:
            from contracts.stateful import run_state_machine

            run_state_machine(
                config, emit, max_examples=options.state_machine_examples, second_mdt=second_mdt
            )
    except TargetUnreachable as exc:
        if isinstance(exc, CheckInterrupted):
            emit(exc.partial)
        bound = _out_of_bounds(exc, config)
        if bound is not None:
            emit(_transport_result(bound, where[0]))
        elapsed = time.monotonic() - started
        what = "its answer broke a bound" if bound is not None else "it stopped answering"
        reason = redactor.text(f"{exc}; {what} during {where[0]}, {elapsed:.1f}s into the run")
        failures = tuple(f for r in done for f in r.failures)
        emit(RunFinished(failures, elapsed, coverage, tuple(done), aborted=reason))
        raise TargetUnreachable(reason) from exc
    failures = tuple(f for r in done for f in r.failures)
    finished = RunFinished(failures, time.monotonic() - started, coverage, tuple(done))
    emit(finished)
    return finished


def _out_of_bounds(exc: BaseException, config: CheckConfig) -> AnswerOutOfBounds | None:
    """The bound an answer broke, if that is why the run stops."""
    return broken_bound(exc) or broken_bound(config.gone)


def _transport_result(bound: AnswerOutOfBounds, where: str) -> CheckFinished:
    """The broken bound as a finding of its own (rule ``transport.*``)."""
    stage, _, name = where.partition(" ")
    failure = Failure(
        check=where,
        rule=bound.rule,
        operation="(transport)",
        expected=bound.expected,
        received=bound.received,
        curl=bound.curl,
        stage=stage,
        message=bound.request,
    )
    return CheckFinished(stage, f"{name or stage} (transport)", (failure,), 0.0)


def _still_there(target: Target, results: Sequence[CheckFinished], where: list[str]) -> None:
    """After a stage that reported engine errors, raise TargetUnreachable if the target is gone
    (schemathesis reports a dead target as errors, not as an exception); ``where`` then names
    the first check that reported an error."""
    errors = [
        r.name for r in results if any(f.rule == rules.SCHEMATHESIS_ERROR.name for f in r.failures)
    ]
    if errors:
        where[0] = f"schemathesis {errors[0]}"
        target.send("GET", "/")


def _schemathesis_stage(
    config: CheckConfig,
    options: CheckOptions,
    coverage: Coverage,
    emit: Reporter,
    base_url: str | None,
) -> list[CheckFinished]:
    """schemathesis against ``base_url``, else wherever the target is served; a target that
    cannot be served gets one skipped result."""
    from contracts.schemathesis_run import STAGE

    served = nullcontext(base_url) if base_url is not None else config.target.served()
    with served as url:
        if url is None:
            emit(StageStarted(STAGE, 1))
            emit(CheckStarted(STAGE, STAGE))
            skipped = CheckFinished(STAGE, STAGE, (), 0.0, NOT_SERVED)
            emit(skipped)
            emit(StageFinished(STAGE, 0.0))
            return [skipped]
        if not url.startswith("http://"):  # https: schemathesis' own read timeout only
            return _run_schemathesis(url, config, options, coverage, emit, None)
        from contracts.relay import relaying

        with relaying(options.request_timeout, options.max_answer_bytes) as (proxy, relay):
            results = _run_schemathesis(url, config, options, coverage, emit, proxy)
        if relay.broken:
            raise relay.broken[0]
        return results


def _run_schemathesis(
    url: str,
    config: CheckConfig,
    options: CheckOptions,
    coverage: Coverage,
    emit: Reporter,
    proxy: str | None,
) -> list[CheckFinished]:
    from contracts.schemathesis_run import run_schemathesis

    return run_schemathesis(
        url,
        config.spec,
        config.auth,
        seed=config.seed,
        max_examples=options.max_examples,
        include_destructive=config.include_destructive,
        coverage=coverage,
        emit=emit,
        request_timeout=options.request_timeout,
        proxy=proxy,
    )
