"""Hypothesis strategies for Northca requests.

- :func:`requests_for` draws valid or invalid requests of any operation from schemathesis'
  generation over ``openapi.yaml`` (no second generator): the result is a schemathesis ``Case``,
  ready for ``case.call(...)`` or :func:`as_request`.
- Domain strategies cover what the schema alone cannot say: plausible callsigns, 10-codes,
  departments, Discord ids, unit batches with unique non-empty ids, and link-request flows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from hypothesis import strategies as st

from contracts.target import Auth

PHONETIC = (
    "ADAM", "BOY", "CHARLES", "DAVID", "EDWARD", "FRANK", "GEORGE", "HENRY", "IDA", "JOHN",
    "KING", "LINCOLN", "MARY", "NORA", "OCEAN", "PAUL", "QUEEN", "ROBERT", "SAM", "TOM",
    "UNION", "VICTOR", "WILLIAM", "XRAY", "YOUNG", "ZEBRA",
)  # fmt: skip
TEN_CODES = ("10-4", "10-6", "10-7", "10-8", "10-10", "10-15", "10-23", "10-76", "10-97")
DEPARTMENTS = (
    "Patrol", "Traffic", "Sheriff's Office", "State Patrol", "Police Department",
    "Fire Department", "EMS", "Department of Transportation",
)  # fmt: skip
RANKS = ("PO", "SGT", "LT", "CPT", "DEP", "TPR")
OFFICERS = ("B. Bubbleton", "A. Smith", "J. Doe", "M. Rivera", "K. Okafor")


def callsigns() -> st.SearchStrategy[str]:
    """Unit ids like ``ADAM-12`` or ``LINCOLN-3``."""
    return st.builds(lambda p, n: f"{p}-{n}", st.sampled_from(PHONETIC), st.integers(1, 99))


def ten_codes() -> st.SearchStrategy[str]:
    """Radio statuses (``10-8`` in service, ``10-7`` out of service, ...)."""
    return st.sampled_from(TEN_CODES)


def departments() -> st.SearchStrategy[str]:
    return st.sampled_from(DEPARTMENTS)


def discord_ids() -> st.SearchStrategy[str]:
    """Discord snowflakes: 17 to 20 digit numeric strings."""
    return st.integers(10**16, 10**20 - 1).map(str)


def badges() -> st.SearchStrategy[str]:
    """Badges are strings of digits."""
    return st.integers(1, 9999).map(str)


def units(ids: st.SearchStrategy[str] | None = None) -> st.SearchStrategy[dict[str, Any]]:
    """One unit of an upsert body: an id and any of the optional fields."""
    optional = {
        "officer_name": st.one_of(st.none(), st.sampled_from(OFFICERS)),
        "officer_badge": st.one_of(st.none(), badges()),
        "department": st.one_of(st.none(), departments()),
        "rank": st.one_of(st.none(), st.sampled_from(RANKS)),
        "status": st.one_of(st.none(), ten_codes()),
    }
    return st.fixed_dictionaries({"id": ids if ids is not None else callsigns()}, optional=optional)


def unit_batches(
    *,
    prefix: str = "",
    min_size: int = 0,
    max_size: int = 5,
    ids: st.SearchStrategy[str] | None = None,
) -> st.SearchStrategy[list[dict[str, Any]]]:
    """``units`` arrays with unique, non-empty ids (``prefix`` keeps them apart from other data)."""
    unit_ids = (ids if ids is not None else callsigns()).map(lambda i: f"{prefix}{i}")
    return st.lists(
        units(unit_ids), min_size=min_size, max_size=max_size, unique_by=lambda u: u["id"]
    )


def duplicate_unit_batches(prefix: str = "") -> st.SearchStrategy[list[dict[str, Any]]]:
    """``units`` arrays repeating an id (400 ``Duplicate unit id in request body``)."""
    return unit_batches(prefix=prefix, min_size=1).flatmap(
        lambda batch: st.integers(0, len(batch)).map(
            lambda at: [*batch[:at], {"id": batch[0]["id"]}, *batch[at:]]
        )
    )


#: Steps of a link-request flow.
LINK_STEPS = ("confirm", "deny", "confirm-as-stranger", "deny-as-stranger", "expire")


@dataclass(frozen=True)
class LinkFlow:
    """A sequence of decisions on one link request, with the statuses the spec promises."""

    steps: tuple[str, ...]

    def expected(self) -> list[tuple[str, int]]:
        """(step, expected status) for each step, from the documented lifecycle."""
        state = "pending"
        out: list[tuple[str, int]] = []
        for step in self.steps:
            if step.endswith("as-stranger"):
                out.append((step, 403))
            elif step == "expire":
                state = "expired" if state == "pending" else state
                out.append((step, 0))
            elif state == "expired":
                out.append((step, 410))
            elif step == "confirm":
                out.append((step, 409 if state == "denied" else 200))
                state = "approved" if state != "denied" else state
            else:
                out.append((step, 409 if state == "approved" else 200))
                state = "denied" if state != "approved" else state
        return out


def link_request_flows(max_steps: int = 5) -> st.SearchStrategy[LinkFlow]:
    """Flows of confirm/deny (as owner or a stranger) and expiry on one link request."""
    return st.lists(st.sampled_from(LINK_STEPS), min_size=1, max_size=max_steps).map(
        lambda steps: LinkFlow(tuple(steps))
    )


# -- schemathesis-backed requests ------------------------------------------------------------
@cache
def _schema(spec_path: str | None) -> Any:
    import schemathesis

    from mockserver.spec import default_spec_path

    return schemathesis.openapi.from_path(str(spec_path or default_spec_path()))


def requests_for(
    operation_id: str,
    *,
    valid: bool = True,
    auth: Auth | None = None,
    spec_path: str | None = None,
) -> st.SearchStrategy[Any]:
    """Schemathesis ``Case``s of one operation: schema-valid (``valid=True``) or not.

    With ``auth`` the headers and the ``mdtId``/``guildId`` path parameters are fixed to it, so
    valid cases reach the business rules instead of the 401/403 checks.
    """
    from schemathesis.generation import GenerationMode

    operation = _schema(spec_path).find_operation_by_id(operation_id)
    headers = path = None
    if auth is not None:
        headers = auth.headers()
        path = {
            name: value
            for name, value in (("mdtId", auth.mdt), ("guildId", auth.guild))
            if f"{{{name}}}" in operation.path
        }
    mode = GenerationMode.POSITIVE if valid else GenerationMode.NEGATIVE
    strategy: st.SearchStrategy[Any] = operation.as_strategy(
        mode, headers=headers, path_parameters=path
    )
    return strategy


def as_request(case: Any) -> dict[str, Any]:
    """``method``, ``path``, ``headers``, ``query`` and ``body`` (bytes or None) of a ``Case``."""
    kwargs = case.as_transport_kwargs(base_url="")
    body = kwargs.get("data")
    if "json" in kwargs:
        import json

        body = json.dumps(kwargs["json"]).encode()
    elif isinstance(body, str):
        body = body.encode()
    return {
        "method": kwargs["method"],
        "path": case.formatted_path,
        "headers": {k: str(v) for k, v in (kwargs.get("headers") or {}).items()},
        "query": kwargs.get("params") or {},
        "body": body,
    }
