"""Hypothesis-driven variant of the workflows: a ``RuleBasedStateMachine`` against a model.

The machine upserts unit batches, deletes units, panics, creates and patches calls in random
order, and after every step compares what the target lists with its model. It only ever looks at
records whose ids carry its own prefix, so other data on the target does not matter.
"""

from __future__ import annotations

import time
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from contracts import rules
from contracts.context import CheckConfig, CheckContext
from contracts.events import CheckFinished, CheckStarted, StageFinished, StageStarted
from contracts.machine_support import STAGE, ModelMachine, run_machine
from contracts.stateful_links import NAME as LINKS_NAME
from contracts.stateful_links import make_links_machine, skip_reason
from contracts.strategies import callsigns, units

NAME = "stateful.model"
UNIT_FIELDS = ("officer_name", "officer_badge", "department", "rank", "status")
CALL_FIELDS = ("classification", "location", "status", "priority")


def make_machine(ctx: CheckContext) -> type[RuleBasedStateMachine]:
    """A state machine class bound to one check context."""

    class NorthcaModel(ModelMachine):
        def __init__(self) -> None:
            super().__init__()
            self.prefix = ctx.uid("sm") + "-"
            self.units: dict[str, dict[str, Any]] = {}
            self.calls: dict[str, dict[str, Any]] = {}

        def unit_id(self, n: int) -> str:
            return f"{self.prefix}U{n}"

        @rule(
            batch=st.lists(
                units(st.integers(0, 4).map(str)), max_size=3, unique_by=lambda u: u["id"]
            )
        )
        def upsert(self, batch: list[dict[str, Any]]) -> None:
            sent = [{**u, "id": self.unit_id(int(u["id"]))} for u in batch]
            ex = ctx.call("upsertActiveUnits", json_body={"units": sent})
            self.check(
                ex.status == 200 and isinstance(ex.data, list),
                rules.MODEL_UPSERT,
                ex,
                "200 with the units",
            )
            self.check(
                [u.get("id") for u in ex.data] == [u["id"] for u in sent],
                rules.MODEL_UPSERT,
                ex,
                "the upserted units, in request order",
            )
            for unit in sent:
                self.units[unit["id"]] = {k: unit.get(k) for k in UNIT_FIELDS}

        @rule(n=st.integers(0, 4))
        def delete(self, n: int) -> None:
            unit_id = self.unit_id(n)
            ex = ctx.call("deleteActiveUnit", path={"unitId": unit_id})
            if unit_id in self.units:
                self.check(
                    ex.status == 200, rules.MODEL_DELETE, ex, "200 for a unit the model holds"
                )
                del self.units[unit_id]
            else:
                self.check(
                    ex.status == 404, rules.MODEL_DELETE, ex, "404 for a unit the model lacks"
                )

        @rule(n=st.integers(0, 4), address=st.one_of(st.none(), st.sampled_from(["22 Park Ave"])))
        def panic(self, n: int, address: str | None) -> None:
            unit_id = self.unit_id(n)
            ex = ctx.call(
                "triggerUnitPanic", path={"unitId": unit_id}, json_body={"address": address}
            )
            expected = 200 if unit_id in self.units else 404
            self.check(ex.status == expected, rules.MODEL_PANIC, ex, f"status {expected}")

        @rule(unit=callsigns(), priority=st.sampled_from(["low", "high"]))
        def create_call(self, unit: str, priority: str) -> None:
            body = {
                "classification": "TRAFFIC STOP",
                "priority": priority,
                "units_assigned": [unit],
            }
            ex = ctx.call("createCall", json_body=body)
            self.check(
                ex.status == 201 and isinstance(ex.data, dict), rules.MODEL_CREATE_CALL, ex, "201"
            )
            call_id = ex.data.get("id")
            self.calls[call_id] = {**dict.fromkeys(CALL_FIELDS), **body, "status": "open"}

        @precondition(lambda self: bool(self.calls))
        @rule(data=st.data(), status=st.sampled_from(["open", "closed", "pending"]))
        def patch_call(self, data: st.DataObject, status: str) -> None:
            call_id = data.draw(st.sampled_from(sorted(self.calls)))
            ex = ctx.call(
                "updateCall", path={"callId": call_id}, json_body={"status": status, "bogus": 1}
            )
            self.check(ex.status == 200, rules.MODEL_PATCH_CALL, ex, "200")
            self.calls[call_id]["status"] = status

        @invariant()
        def target_matches_model(self) -> None:
            ex = ctx.call("listActiveUnits", query={"limit": 100})
            self.check(isinstance(ex.data, list), rules.MODEL_LIST, ex, "an array")
            listed = {
                u["id"]: u
                for u in ex.data
                if isinstance(u, dict) and str(u.get("id", "")).startswith(self.prefix)
            }
            self.check(
                set(listed) == set(self.units),
                rules.MODEL_UNITS,
                ex,
                f"exactly the model's units {sorted(self.units)}",
            )
            for unit_id, fields in self.units.items():
                got = {k: listed[unit_id].get(k) for k in UNIT_FIELDS}
                want = {k: ("" if v is None else v) for k, v in fields.items()}
                same = all(
                    got[k] == want[k] or (want[k] == "" and got[k] is None) for k in UNIT_FIELDS
                )
                self.check(same, rules.MODEL_UNITS, ex, f"{unit_id} with {want}")
            if self.calls:
                ex = ctx.call("listCalls", query={"limit": 100})
                listed_calls = {c.get("id"): c for c in ex.data or [] if isinstance(c, dict)}
                for call_id, fields in self.calls.items():
                    got_call = listed_calls.get(call_id)
                    self.check(
                        got_call is not None and got_call.get("status") == fields["status"],
                        rules.MODEL_CALLS,
                        ex,
                        f"call {call_id} with status {fields['status']!r}",
                    )

    NorthcaModel.ctx = ctx
    NorthcaModel.name = NAME
    return NorthcaModel


def run_state_machine(
    config: CheckConfig,
    emit: Any,
    *,
    max_examples: int = 5,
    steps: int = 8,
    second_mdt: str | None = None,
) -> list[CheckFinished]:
    """The stateful stage: the units/calls machine, then the link-request machine."""
    started = time.monotonic()
    emit(StageStarted(STAGE, 2))
    emit(CheckStarted(STAGE, NAME))
    ctx = config.context(NAME)
    result = run_machine(
        ctx, make_machine(ctx), seed=config.seed, max_examples=max_examples, steps=steps
    )
    emit(result)
    results = [result]
    emit(CheckStarted(STAGE, LINKS_NAME))
    skip = skip_reason(include_destructive=config.include_destructive, second_mdt=second_mdt)
    if skip is not None or second_mdt is None:
        result = CheckFinished(STAGE, LINKS_NAME, (), 0.0, skip or "no second MDT", 0)
    else:
        ctx = config.context(LINKS_NAME)
        result = run_machine(
            ctx,
            make_links_machine(ctx, second_mdt),
            seed=config.seed,
            max_examples=max(max_examples, 20),
            steps=max(steps, 10),
            shrink=False,  # bounded: shrinking a lifecycle program takes seconds, not ms
        )
    emit(result)
    results.append(result)
    emit(StageFinished(STAGE, time.monotonic() - started))
    return results
