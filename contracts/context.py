"""What a workflow works with: the target, the auth, the spec, and the rules every answer obeys.

Every request a workflow sends through :meth:`CheckContext.call` is checked against the rules that
hold for any answer (envelope, documented status, JSON, ISO-8601 timestamps) and counted for the
coverage report. Workflows add their own expectations with ``expect_*``; a violated one becomes a
:class:`~contracts.events.Failure` naming the rule, expected vs received, and a curl command.
"""

from __future__ import annotations

import random
import re
import zlib
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from contracts.coverage import Coverage
from contracts.events import Failure
from contracts.spec import ContractSpec
from contracts.target import Auth, Exchange, Target

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")


class StopWorkflow(Exception):
    """A failed step leaves nothing for the next steps to check."""


class CheckContext:
    """State of one check (a workflow or the state machine) against one target."""

    def __init__(
        self,
        target: Target,
        auth: Auth,
        spec: ContractSpec,
        *,
        run_id: str,
        seed: int,
        coverage: Coverage | None = None,
        include_destructive: bool = False,
        clock_control: bool = False,
        check: str = "",
    ) -> None:
        self.target = target
        self.auth = auth
        self.spec = spec
        self.run_id = run_id
        self.seed = seed
        self.coverage = coverage or Coverage(spec)
        self.include_destructive = include_destructive
        self.clock_control = clock_control
        self.check = check
        self.rng = random.Random(f"{seed}:{check}")
        self.failures: list[Failure] = []
        self.requests = 0
        self._seen: set[tuple[str, str, str]] = set()
        self._counter = 0

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
        """A guild the MDT is not linked to (a fresh snowflake)."""
        return self.snowflake(self.auth.guild)

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
        """Send one request of ``operation_id`` and check the rules every answer obeys."""
        op = self.spec.operation(operation_id)
        sent_headers = (
            dict(headers) if headers is not None else self.auth.headers(actor=actor, guild=guild)
        )
        exchange = self.target.send(
            method or op.method,
            self.path_of(operation_id, **(path or {})),
            headers=sent_headers,
            query=query,
            json_body=json_body,
            raw=raw,
            content_type=content_type,
        )
        exchange.operation_id = operation_id
        self.requests += 1
        self.coverage.record(operation_id, exchange.status, exchange.error)
        if method is None or method == op.method:
            self.check_answer(exchange, operation_id)
        return exchange

    def raw_call(self, method: str, path: str, **kwargs: Any) -> Exchange:
        """A request outside the spec's operations (unknown routes, undeclared methods)."""
        kwargs.setdefault("headers", self.auth.headers())
        exchange = self.target.send(method, path, **kwargs)
        self.requests += 1
        self.check_envelope(exchange, "(routing)")
        return exchange

    # -- rules of every answer ---------------------------------------------------------------
    def check_answer(self, ex: Exchange, operation_id: str) -> None:
        op = self.spec.operation(operation_id)
        self.expect(
            ex.status in op.statuses,
            "status.documented",
            ex,
            f"one of the documented statuses {sorted(op.statuses)}",
        )
        self.check_envelope(ex, operation_id)
        if 200 <= ex.status < 300:
            bad = self._bad_timestamps(ex.data)
            self.expect(
                not bad,
                "format.date-time",
                ex,
                "ISO-8601 (RFC 3339) date-time values in fields declared format: date-time",
                received=f"{bad[:3]}",
            )

    def check_envelope(self, ex: Exchange, operation_id: str) -> None:
        content_type = (ex.header("content-type") or "").split(";")[0].strip().lower()
        if not self.expect(
            content_type == "application/json" and isinstance(ex.json, dict),
            "envelope.json",
            ex,
            "a JSON object answer with Content-Type application/json",
            operation=operation_id,
        ):
            return
        payload = ex.json
        if 200 <= ex.status < 300:
            self.expect(
                payload.get("ok") is True and payload.get("data") is not None,
                "envelope.success",
                ex,
                '{"ok": true, "data": <not null>}',
                operation=operation_id,
            )
        elif ex.status >= 400:
            self.expect(
                payload.get("ok") is False and isinstance(payload.get("error"), str),
                "envelope.error",
                ex,
                '{"ok": false, "error": "<string>"}',
                operation=operation_id,
            )

    def _bad_timestamps(self, value: Any) -> list[str]:
        bad: list[str] = []
        fields = self.spec.date_time_fields
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

    # -- expectations ------------------------------------------------------------------------
    def fail(
        self,
        rule: str,
        expected: str,
        received: str,
        exchange: Exchange | None = None,
        *,
        operation: str | None = None,
    ) -> None:
        op = operation or (exchange.operation_id if exchange else None) or "(routing)"
        key = (rule, op, expected)
        if key in self._seen:
            return
        self._seen.add(key)
        self.failures.append(
            Failure(
                check=self.check,
                rule=rule,
                operation=op,
                expected=expected,
                received=received,
                curl=exchange.curl() if exchange else "",
            )
        )

    def expect(
        self,
        condition: bool,
        rule: str,
        exchange: Exchange | None,
        expected: str,
        *,
        received: str | None = None,
        operation: str | None = None,
    ) -> bool:
        """Record a failure of ``rule`` unless ``condition``; returns ``condition``."""
        if not condition:
            got = received if received is not None else (exchange.received() if exchange else "")
            self.fail(rule, expected, got, exchange, operation=operation)
        return condition

    def require(self, condition: bool, rule: str, exchange: Exchange | None, expected: str) -> None:
        """Like :meth:`expect`, but stop the workflow when it does not hold."""
        if not self.expect(condition, rule, exchange, expected):
            raise StopWorkflow(rule)

    def expect_success(self, ex: Exchange, rule: str) -> bool:
        """The operation's documented success status, with a success envelope."""
        status = self.spec.operation(str(ex.operation_id)).success_status
        return self.expect(
            ex.status == status and isinstance(ex.data, (dict, list)),
            rule,
            ex,
            f"{status} with data",
        )

    def require_success(self, ex: Exchange, rule: str) -> Any:
        if not self.expect_success(ex, rule):
            raise StopWorkflow(rule)
        return ex.data

    def expect_status(self, ex: Exchange, rule: str, status: int) -> bool:
        return self.expect(ex.status == status, rule, ex, f"status {status}")

    def expect_error(self, ex: Exchange, rule: str, name: str) -> bool:
        """The operation's documented error ``name``: its status, and its exact string unless the
        spec marks the example ``x-northca-evidence: inferred`` (then only the status)."""
        error = self.spec.error(str(ex.operation_id), name)
        if error.exact:
            return self.expect(
                ex.status == error.status and ex.error == error.message,
                rule,
                ex,
                f'{error.status} {{"ok": false, "error": "{error.message}"}}',
            )
        return self.expect(
            ex.status == error.status,
            rule,
            ex,
            f"status {error.status} (string {error.message!r} is inferred: not compared)",
        )
