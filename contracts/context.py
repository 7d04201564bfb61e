"""What a workflow works with: the run's settings, its requests, and its expectations.

Every request a workflow sends through :meth:`CheckContext.call` is checked by the registered
answer checks (:mod:`contracts.checks`) and counted for the coverage report. Workflows add their
own expectations with ``expect*``; a broken one is recorded (:mod:`contracts.recorder`) as a
:class:`~contracts.events.Failure` naming its :class:`~contracts.rules.Rule`, expected vs
received, and a curl command.
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from contracts.checks import Violation, expected_error, run_checks
from contracts.coverage import Coverage
from contracts.events import Failure
from contracts.recorder import ROUTING, Recorder
from contracts.rules import Rule
from contracts.spec import ContractSpec
from contracts.target import Auth, Exchange, Target, TargetUnreachable

if TYPE_CHECKING:
    from contracts.readback import Readback


class StopWorkflow(Exception):
    """A failed step leaves nothing for the next steps to check."""


@dataclass
class CheckConfig:
    """What every check of one run shares: the target, who calls, the spec and the options."""

    target: Target
    auth: Auth
    spec: ContractSpec
    run_id: str
    seed: int = 0
    coverage: Coverage | None = field(default=None, repr=False)
    include_destructive: bool = False
    clock_control: bool = False
    #: A guild with none of this guild's links (``--other-guild``; None: a generated one).
    other_guild: str | None = None
    #: A second MDT the target knows, and its owner (``--second-mdt``, ``--second-owner``).
    second_mdt: str | None = None
    second_owner: str | None = None
    #: Read back after every write (:mod:`contracts.readback`).
    readback: bool = True
    #: Set when the target stopped answering: every later request raises it at once.
    gone: TargetUnreachable | None = field(default=None, repr=False)

    def context(self, check: str) -> CheckContext:
        """A fresh context for the check named ``check``."""
        return CheckContext(self, check)


class CheckContext:
    """State of one check (a workflow or a state machine) against one target."""

    def __init__(self, config: CheckConfig, check: str = "") -> None:
        self.config = config
        self.target = config.target
        self.auth = config.auth
        self.spec = config.spec
        self.run_id = config.run_id
        self.include_destructive = config.include_destructive
        self.clock_control = config.clock_control
        self.coverage = config.coverage or Coverage(config.spec)
        self.check = check
        self.rng = random.Random(f"{config.seed}:{check}")
        self.recorder = Recorder(check)
        self.requests = 0
        self._counter = 0
        self.readback: Readback | None = None
        if config.readback:
            from contracts.readback import Readback

            self.readback = Readback(self)

    @property
    def failures(self) -> list[Failure]:
        return self.recorder.failures

    # -- identities --------------------------------------------------------------------------
    def uid(self, kind: str) -> str:
        """A record id unique to this run and check (``ct-<run>-<check>-<kind>-<n>``)."""
        self._counter += 1
        scope = zlib.crc32(self.check.encode()) & 0xFFFF
        return f"ct-{self.run_id}-{scope:04x}-{kind}-{self._counter}"

    def snowflake(self, *avoid: str | None) -> str:
        """A Discord-like id (18 digits) different from ``avoid``."""
        while True:
            value = str(self.rng.randrange(10**17, 10**18))
            if value not in avoid:
                return value

    def other_guild(self) -> str:
        """A guild the MDT is not linked to: ``--other-guild``, else a fresh snowflake."""
        return self.config.other_guild or self.snowflake(self.auth.guild)

    def unknown_uuid(self) -> str:
        """A UUID4-shaped id no server knows."""
        return f"00000000-0000-4000-8000-{self.rng.randrange(16**12):012x}"

    # -- requests ----------------------------------------------------------------------------
    def path_of(self, operation_id: str, **params: str) -> str:
        template = self.spec.operation(operation_id).path
        values = {"mdtId": self.auth.mdt, "guildId": self.auth.guild, **params}
        return re.sub(r"\{([^}/]+)\}", lambda m: quote(str(values[m.group(1)]), safe=""), template)

    def call(
        self,
        operation_id: str,
        *,
        path: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        actor: str | bool | None = True,
        guild: str | None = None,
        query: Mapping[str, Any] | None = None,
        json_body: Any = None,
        raw: bytes | None = None,
        content_type: str | None = None,
        method: str | None = None,
    ) -> Exchange:
        """Send one request of ``operation_id`` and run the answer checks on it; a write is read
        back (:mod:`contracts.readback`)."""
        op = self.spec.operation(operation_id)
        sent_headers = (
            dict(headers) if headers is not None else self.auth.headers(actor=actor, guild=guild)
        )

        def send() -> Exchange:
            return self.send(
                method or op.method,
                self.path_of(operation_id, **(path or {})),
                headers=sent_headers,
                query=query,
                json_body=json_body,
                raw=raw,
                content_type=content_type,
            )

        if self.readback is not None and op.method != "GET" and method in (None, op.method):
            exchange = self.readback.around(operation_id, dict(path or {}), json_body, send)
        else:
            exchange = send()
        exchange.operation_id = operation_id
        self.requests += 1
        self.coverage.record(operation_id, exchange.status, exchange.error)
        if method is None or method == op.method:
            self._record(run_checks(exchange, self.spec), exchange)
        return exchange

    def send(self, method: str, path: str, **kwargs: Any) -> Exchange:
        """``target.send``; once the target stopped answering, every request fails at once."""
        if self.config.gone is not None:
            raise self.config.gone
        try:
            return self.target.send(method, path, **kwargs)
        except TargetUnreachable as exc:
            self.config.gone = exc
            raise

    def raw_call(self, method: str, path: str, **kwargs: Any) -> Exchange:
        """A request outside the spec's operations (unknown routes, undeclared methods)."""
        kwargs.setdefault("headers", self.auth.headers())
        exchange = self.send(method, path, **kwargs)
        self.requests += 1
        self._record(run_checks(exchange, self.spec), exchange)
        return exchange

    def _record(self, violations: list[Violation], exchange: Exchange) -> None:
        for violation in violations:
            self.recorder.fail(violation.rule, violation.expected, violation.received, exchange)

    # -- expectations ------------------------------------------------------------------------
    def fail(self, rule: Rule, expected: str, received: str, *, operation: str = ROUTING) -> None:
        """Record a failure that no exchange shows."""
        self.recorder.fail(rule, expected, received, operation=operation)

    def expect(
        self,
        condition: bool,
        rule: Rule,
        exchange: Exchange,
        expected: str,
        *,
        received: str | None = None,
    ) -> bool:
        """Record a failure of ``rule`` on ``exchange`` unless ``condition``; returns it."""
        if not condition:
            self.recorder.fail(rule, expected, received, exchange)
        return condition

    def expect_on(
        self, operation_id: str, condition: bool, rule: Rule, expected: str, received: str
    ) -> bool:
        """Like :meth:`expect`, for what several answers of ``operation_id`` showed together."""
        if not condition:
            self.recorder.fail(rule, expected, received, operation=operation_id)
        return condition

    def require(self, condition: bool, rule: Rule, exchange: Exchange, expected: str) -> None:
        """Like :meth:`expect`, but stop the workflow when it does not hold."""
        if not self.expect(condition, rule, exchange, expected):
            raise StopWorkflow(rule.name)

    def require_owner(self, owner: str | None, rule: Rule) -> str:
        """The MDT owner's Discord id, or stop: without it no owner-only rule can be checked."""
        if owner is None:
            self.fail(rule, "an owner_discord_id (or --owner)", "")
            raise StopWorkflow(rule.name)
        return owner

    def expect_success(self, ex: Exchange, rule: Rule) -> bool:
        """The operation's documented success status, with a success envelope."""
        status = self.spec.operation(str(ex.operation_id)).success_status
        return self.expect(
            ex.status == status and isinstance(ex.data, (dict, list)),
            rule,
            ex,
            f"{status} with data",
        )

    def require_success(self, ex: Exchange, rule: Rule) -> Any:
        if not self.expect_success(ex, rule):
            raise StopWorkflow(rule.name)
        return ex.data

    def require_record(self, ex: Exchange, rule: Rule, what: str = "a record") -> dict[str, Any]:
        """The success data, an object with an ``id``, or stop."""
        data = self.require_success(ex, rule)
        self.require(
            isinstance(data, dict) and bool(data.get("id")), rule, ex, f"{what} with an id"
        )
        return dict(data)

    def require_list(self, ex: Exchange, rule: Rule, what: str = "an array") -> list[Any]:
        """The success data, an array, or stop."""
        data = self.require_success(ex, rule)
        self.require(isinstance(data, list), rule, ex, f"data to be {what}")
        return list(data)

    def expect_error(self, ex: Exchange, rule: Rule, name: str) -> bool:
        """The operation's documented error ``name`` (:func:`contracts.checks.expected_error`)."""
        violation = expected_error(ex, self.spec, name, rule)
        if violation is not None:
            self._record([violation], ex)
        return violation is None

    def expect_errors(
        self, operation_id: str, rule: Rule, name: str, *bodies: Any, **call: Any
    ) -> None:
        """Each body sent to ``operation_id`` (with ``call``'s arguments) answers error ``name``."""
        for body in bodies:
            self.expect_error(self.call(operation_id, json_body=body, **call), rule, name)
