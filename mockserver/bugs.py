"""Planted bugs: named defects a mock can be started with, to prove the contract checks catch them.

Each bug is a small modifier: a frozen dataclass whose ``apply`` adds to the app's declared
seams (``mockserver.seams``) before the app is built. None edits a live object, the app's code
or the handlers. They exist so that ``tests/test_contracts_bugs.py`` can show that
``northca-contracts check`` fails on each, and so users can calibrate the checker
(``northca-mock serve --bug NAME``).
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from mockserver.errors import ApiError, NorthcaMockError
from mockserver.handlers.registry import Call, Caller, Handler
from mockserver.seams import Seams
from mockserver.state import State
from mockserver.validation import RequestChecker

if TYPE_CHECKING:
    from flask import Response

    from mockserver.schemas import SchemaCache, Violation
    from mockserver.spec import Operation
    from mockserver.validation import BodyRule

_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
_T = TypeVar("_T")


class PlantedBugError(RuntimeError):
    """Raised on purpose by a planted bug (the mock answers it with a 500)."""


class UnknownBugError(NorthcaMockError, ValueError):
    """``--bug`` named no planted bug."""


@dataclass(frozen=True)
class PlantedBug:
    """A named defect; ``apply`` adds it to the seams an app is about to be built from."""

    name: ClassVar[str]
    description: ClassVar[str]

    def apply(self, seams: Seams) -> None:
        raise NotImplementedError


#: Bug name -> the modifier that plants it.
BUGS: dict[str, PlantedBug] = {}


def _bug(cls: type[PlantedBug]) -> type[PlantedBug]:
    BUGS[cls.name] = cls()
    return cls


def plant_bugs(seams: Seams, names: Sequence[str]) -> Seams:
    """A copy of ``seams`` with each named bug applied (``seams`` itself when there is none)."""
    if not names:
        return seams
    planted = dataclasses.replace(
        seams, handlers=dict(seams.handlers), post_processors=list(seams.post_processors)
    )
    for name in names:
        try:
            bug = BUGS[name]
        except KeyError:
            known = ", ".join(sorted(BUGS)) or "none"
            raise UnknownBugError(f"unknown bug {name!r} (known: {known})") from None
        bug.apply(planted)
    return planted


def describe_bugs() -> Iterable[tuple[str, str]]:
    """``(name, description)`` of every planted bug, by name."""
    return ((name, BUGS[name].description) for name in sorted(BUGS))


# -- helpers ---------------------------------------------------------------------------------
def _extend(base: type[_T], mixin: type[_T]) -> type[_T]:
    """``mixin`` on top of ``base`` (itself possibly extended by another bug)."""
    if base is mixin.__mro__[1]:
        return mixin
    extended: type[_T] = type(mixin.__name__, (mixin, base), {})
    return extended


def _json_of(response: Response) -> Any:
    if response.mimetype != "application/json":
        return None
    try:
        return json.loads(response.get_data())
    except ValueError:
        return None


def _set_json(response: Response, payload: Any) -> None:
    response.set_data(json.dumps(payload, ensure_ascii=False, separators=(",", ":")))


# -- the bugs --------------------------------------------------------------------------------
@_bug
@dataclass(frozen=True)
class WrongErrorString(PlantedBug):
    name = "wrong-error-string"
    description = "`Duplicate unit id in request body` is answered as `Duplicate id`"

    def apply(self, seams: Seams) -> None:
        seams.post_processors.append(self.rename)

    @staticmethod
    def rename(op: Operation | None, response: Response) -> Response:
        payload = _json_of(response)
        if (
            isinstance(payload, dict)
            and payload.get("error") == "Duplicate unit id in request body"
        ):
            payload["error"] = "Duplicate id"
            _set_json(response, payload)
        return response


class _AcceptsDuplicates(RequestChecker):
    def __init__(self, op: Operation, schemas: SchemaCache, rule: BodyRule | None) -> None:
        super().__init__(op, schemas, rule)
        strict = self.rule

        def lenient(body: Any, violations: Sequence[Violation]) -> ApiError | None:
            error = strict(body, violations)
            return None if error is not None and error.name == "duplicateId" else error

        self.rule = lenient


@_bug
@dataclass(frozen=True)
class AcceptsDuplicateUnitIds(PlantedBug):
    name = "accepts-duplicate-unit-ids"
    description = "an upsert repeating a unit id is accepted (200)"

    def apply(self, seams: Seams) -> None:
        seams.checker_class = _extend(seams.checker_class, _AcceptsDuplicates)


@_bug
@dataclass(frozen=True)
class IgnoresPartnerKey(PlantedBug):
    name = "ignores-partner-key"
    description = "any x-partner-key (or none) is accepted"

    def apply(self, seams: Seams) -> None:
        strict = seams.authenticate

        def lenient(state: State, environ: Mapping[str, Any]) -> Caller:
            keys = state.world.partner_keys
            if environ.get("HTTP_X_PARTNER_KEY") not in keys:
                environ = {**environ, "HTTP_X_PARTNER_KEY": next(iter(keys))}
            return strict(state, environ)

        seams.authenticate = lenient


class _LinkedEverywhere(State):
    def link(self, partner: str, guild_id: str, mdt_id: str) -> dict[str, Any] | None:
        found = super().link(partner, guild_id, mdt_id)
        if found is None and mdt_id in self.mdts:
            owner = self.world.mdts[mdt_id].owner_discord_id
            return {"mdt_id": mdt_id, "guild_id": guild_id, "owner_discord_id": owner}
        return found


@_bug
@dataclass(frozen=True)
class SkipsGuildLinkCheck(PlantedBug):
    name = "skips-guild-link-check"
    description = "MDT-scoped operations work in any guild"

    def apply(self, seams: Seams) -> None:
        seams.state_class = _extend(seams.state_class, _LinkedEverywhere)


def _lists(op: Operation | None) -> bool:
    """List operations are the ones the spec gives a ``limit``."""
    return op is not None and op.has_query("limit")


@_bug
@dataclass(frozen=True)
class ListsNotNewestFirst(PlantedBug):
    name = "lists-not-newest-first"
    description = "list operations answer oldest first"

    def apply(self, seams: Seams) -> None:
        seams.post_processors.append(self.reverse)

    @staticmethod
    def reverse(op: Operation | None, response: Response) -> Response:
        payload = _json_of(response) if _lists(op) else None
        if isinstance(payload, dict) and isinstance(payload.get("data"), list):
            payload["data"].reverse()
            _set_json(response, payload)
        return response


class _LimitIgnored(RequestChecker):
    def query_values(self, args: Mapping[str, str]) -> dict[str, Any]:
        values = super().query_values(args)
        if "limit" in values:
            values["limit"] = 1_000_000
        return values


@_bug
@dataclass(frozen=True)
class LimitIgnored(PlantedBug):
    name = "limit-ignored"
    description = "list operations ignore `limit` (it is still validated)"

    def apply(self, seams: Seams) -> None:
        seams.checker_class = _extend(seams.checker_class, _LimitIgnored)


@_bug
@dataclass(frozen=True)
class DatesNotIso8601(PlantedBug):
    name = "dates-not-iso8601"
    description = "timestamps in success answers are `DD/MM/YYYY HH:MM:SS`"

    def apply(self, seams: Seams) -> None:
        seams.post_processors.append(self.reformat)

    @classmethod
    def reformat(cls, op: Operation | None, response: Response) -> Response:
        payload = _json_of(response)
        if isinstance(payload, dict) and payload.get("ok") is True and "data" in payload:
            payload["data"] = cls.convert(payload["data"])
            _set_json(response, payload)
        return response

    @classmethod
    def convert(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {key: cls.convert(item) for key, item in value.items()}
        if isinstance(value, list):
            return [cls.convert(item) for item in value]
        if isinstance(value, str) and _ISO.match(value):
            moment = time.strptime(value[:19], "%Y-%m-%dT%H:%M:%S")
            return time.strftime("%d/%m/%Y %H:%M:%S", moment)
        return value


class _FailsOnInvalidJson(RequestChecker):
    def body(self, raw: bytes | Callable[[], bytes], content_type: str | None) -> Any:
        try:
            return super().body(raw, content_type)
        except ApiError as error:
            if error.name == "invalidJson":
                raise PlantedBugError("could not parse the body") from error
            raise


@_bug
@dataclass(frozen=True)
class FailsOnInvalidJson(PlantedBug):
    name = "500-on-invalid-json"
    description = "an unparseable body is answered 500 instead of 400 `Invalid JSON`"

    def apply(self, seams: Seams) -> None:
        seams.checker_class = _extend(seams.checker_class, _FailsOnInvalidJson)
        seams.quiet_errors = (*seams.quiet_errors, PlantedBugError)


@_bug
@dataclass(frozen=True)
class UndocumentedStatus(PlantedBug):
    name = "undocumented-status"
    description = "createTicket answers 202, a status the spec does not document"

    def apply(self, seams: Seams) -> None:
        seams.post_processors.append(self.accepted)

    @staticmethod
    def accepted(op: Operation | None, response: Response) -> Response:
        if op is not None and op.operation_id == "createTicket" and response.status_code == 201:
            response.status_code = 202
        return response


@_bug
@dataclass(frozen=True)
class MissingAllowOn405(PlantedBug):
    name = "missing-allow-on-405"
    description = "405 answers carry no `Allow` header"

    def apply(self, seams: Seams) -> None:
        seams.post_processors.append(self.drop_allow)

    @staticmethod
    def drop_allow(op: Operation | None, response: Response) -> Response:
        if response.status_code == 405:
            response.headers.pop("Allow", None)
        return response


@_bug
@dataclass(frozen=True)
class EnvelopeWithoutOk(PlantedBug):
    name = "envelope-without-ok"
    description = 'success answers lack the `"ok": true` of the envelope'

    def apply(self, seams: Seams) -> None:
        seams.post_processors.append(self.drop_ok)

    @staticmethod
    def drop_ok(op: Operation | None, response: Response) -> Response:
        payload = _json_of(response)
        if isinstance(payload, dict) and payload.get("ok") is True:
            del payload["ok"]
            _set_json(response, payload)
        return response


@_bug
@dataclass(frozen=True)
class ConfirmByNonOwner(PlantedBug):
    name = "confirm-by-non-owner"
    description = "confirm succeeds whoever the actor is (no owner check)"

    def apply(self, seams: Seams) -> None:
        seams.handlers["confirmLinkRequest"] = self.as_owner(seams.handler("confirmLinkRequest"))

    @staticmethod
    def as_owner(confirm: Handler) -> Handler:
        def confirm_as_owner(call: Call) -> Any:
            found = call.state.link_requests.get(call.path.get("id", ""))
            if found is not None and found["owner_discord_id"] is not None:
                call.caller = call.caller._replace(actor=found["owner_discord_id"])
            return confirm(call)

        return confirm_as_owner


class _NeverExpires(State):
    def expire_if_due(self, request_id: str, now_ms: int) -> dict[str, Any]:
        return self.link_requests[request_id]


@_bug
@dataclass(frozen=True)
class ExpiredRequestConfirmable(PlantedBug):
    name = "expired-request-confirmable"
    description = "link requests never expire (confirm after the TTL works)"

    def apply(self, seams: Seams) -> None:
        seams.state_class = _extend(seams.state_class, _NeverExpires)
