"""Hypothesis-driven variant of the workflows: a ``RuleBasedStateMachine`` against a model.

The machine creates records of every collection (calls, scene reports, shifts, tickets, with any
subset of their fields, with or without an actor), upserts unit batches, patches calls, deletes
units and panics, in random order. Its model holds *full records*: every answer must be the
record the model predicts (sent values in their JSON types, documented defaults, null otherwise,
the actor as audit field, ``created_at`` kept), and after every step each collection must list
exactly the model's records, complete bodies, most recently written first, and ``limit=k`` must
answer the first ``k`` of the full list. It only looks at records whose ids carry its own prefix,
so other data on the target does not matter.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from contracts import rules
from contracts.context import CheckConfig, CheckContext
from contracts.events import CheckFinished, CheckStarted, StageFinished, StageStarted
from contracts.machine_support import STAGE, ModelMachine, run_machine
from contracts.readback import PAGE, brief, same_json
from contracts.stateful_links import NAME as LINKS_NAME
from contracts.stateful_links import make_links_machine, skip_reason
from contracts.strategies import units
from contracts.target import Exchange
from contracts.workflows_records import AUDIT_FIELD, sample_value

NAME = "stateful.model"
#: The writes this machine's rules send besides the creates (which it takes from the spec).
UPSERT = "upsertActiveUnits"
DELETE = "deleteActiveUnit"
PANIC = "triggerUnitPanic"
PATCH = "updateCall"
#: A key PATCH must ignore.
JUNK = {"ct_ignored": 1}


@dataclass
class Collection:
    """What the model knows of one list: the records it wrote there, by id, with write order."""

    name: str
    list_op: str
    records: dict[str, dict[str, Any]] = field(default_factory=dict)
    order: dict[str, int] = field(default_factory=dict)


def _stamp(record: Mapping[str, Any]) -> str:
    return str(record.get("updated_at"))


def _groups(records: list[dict[str, Any]]) -> list[tuple[str, list[str]]]:
    """Records grouped by equal ``updated_at`` (their order within a tie is not specified)."""
    out: list[tuple[str, list[str]]] = []
    for record in records:
        if out and out[-1][0] == _stamp(record):
            out[-1][1].append(str(record.get("id")))
        else:
            out.append((_stamp(record), [str(record.get("id"))]))
    return [(stamp, sorted(ids)) for stamp, ids in out]


def make_machine(ctx: CheckContext) -> type[RuleBasedStateMachine]:
    """A state machine class bound to one check context."""
    spec = ctx.spec
    kinds = {kind.name: kind for kind in spec.record_kinds}
    units_list = spec.list_showing(UPSERT) or "listActiveUnits"
    unit_fields = tuple(
        name
        for name in spec.body_properties(UPSERT)["units"]["items"]["properties"]
        if name != "id"
    )
    patch_fields = tuple(spec.body_properties(PATCH))

    class NorthcaModel(ModelMachine):
        def __init__(self) -> None:
            super().__init__()
            self.prefix = ctx.uid("sm") + "-"
            self.writes = 0
            self.collections = {name: Collection(name, kind.list) for name, kind in kinds.items()}
            self.collections["units"] = Collection("units", units_list)
            self.touched = "units"

        # -- the model ---------------------------------------------------------------------
        def unit_id(self, n: int) -> str:
            return f"{self.prefix}U{n}"

        def remember(self, collection: str, record: dict[str, Any]) -> None:
            self.writes += 1
            model = self.collections[collection]
            model.records[str(record["id"])] = record
            model.order[str(record["id"])] = self.writes
            self.touched = collection

        def expect_record(
            self, ex: Exchange, collection: str, got: Any, predicted: Mapping[str, Any]
        ) -> None:
            got = got if isinstance(got, dict) else {}
            wrong = {
                k: {"predicted": v, "answered": got.get(k, "<missing>")}
                for k, v in predicted.items()
                if not (same_json(got.get(k), v) or (v == "" and got.get(k) is None))
            }
            self.check(
                not wrong,
                rules.MODEL_RECORDS.of(collection),
                ex,
                f"the record the model predicts; differs in {brief(wrong)}",
            )

        def predict_new(
            self, operation_id: str, sent: Mapping[str, Any], answer: Any, actor: str | None
        ) -> dict[str, Any]:
            """Sent values, documented defaults, null otherwise; the actor; server-owned fields
            (id, mdt_code, timestamps) as answered."""
            answer = answer if isinstance(answer, dict) else {}
            body_fields = set(spec.body_properties(operation_id))
            predicted: dict[str, Any] = {}
            for name in spec.record_properties(operation_id):
                if name in sent:
                    predicted[name] = sent[name]
                elif name == AUDIT_FIELD:
                    predicted[name] = actor
                elif name in body_fields:
                    default = spec.defaults(operation_id).get(name)
                    predicted[name] = answer.get(name) if default == "now" else default
                else:
                    predicted[name] = answer.get(name)
            return predicted

        # -- rules -------------------------------------------------------------------------
        @rule(data=st.data(), with_actor=st.booleans())
        def create(self, data: st.DataObject, with_actor: bool) -> None:
            name = data.draw(st.sampled_from(sorted(kinds)), label="collection")
            kind = kinds[name]
            properties = {n: p for n, p in spec.body_properties(kind.create).items() if n != "id"}
            chosen = data.draw(st.sets(st.sampled_from(sorted(properties))), label="fields")
            self.writes += 1
            sent = {
                "id": f"{self.prefix}{name}-{self.writes}",
                **{n: sample_value(n, properties[n], f"sm{self.writes}") for n in sorted(chosen)},
            }
            ex = ctx.call(kind.create, json_body=sent, actor=with_actor)
            self.check(
                ex.status == 201 and isinstance(ex.data, dict),
                rules.MODEL_CREATE,
                ex,
                "201 with the record",
            )
            actor = ctx.auth.actor if with_actor else None
            self.expect_record(
                ex, name, ex.data, self.predict_new(kind.create, sent, ex.data, actor)
            )
            self.remember(name, dict(ex.data))

        @rule(
            batch=st.lists(
                units(st.integers(0, 4).map(str)), max_size=3, unique_by=lambda u: u["id"]
            )
        )
        def upsert(self, batch: list[dict[str, Any]]) -> None:
            sent = [{**u, "id": self.unit_id(int(u["id"]))} for u in batch]
            ex = ctx.call(UPSERT, json_body={"units": sent})
            self.check(
                ex.status == 200 and isinstance(ex.data, list),
                rules.MODEL_UPSERT,
                ex,
                "200 with the units",
            )
            self.check(
                [u.get("id") for u in ex.data if isinstance(u, dict)] == [u["id"] for u in sent],
                rules.MODEL_UPSERT,
                ex,
                "the upserted units, in request order",
            )
            model = self.collections["units"]
            for unit, got in zip(sent, ex.data, strict=True):
                previous = model.records.get(unit["id"])
                predicted = self.predict_new(UPSERT, {}, got, ctx.auth.actor)
                predicted.update(
                    {n: "" if unit.get(n) is None else unit[n] for n in unit_fields}, id=unit["id"]
                )
                if previous is not None:  # replaced: created_* kept
                    predicted["created_at"] = previous.get("created_at")
                    predicted[AUDIT_FIELD] = previous.get(AUDIT_FIELD)
                self.expect_record(ex, "units", got, predicted)
                self.remember("units", dict(got))

        @precondition(lambda self: bool(self.collections["calls"].records))
        @rule(data=st.data())
        def patch_call(self, data: st.DataObject) -> None:
            model = self.collections["calls"]
            call_id = data.draw(st.sampled_from(sorted(model.records)), label="call")
            chosen = data.draw(st.sets(st.sampled_from(patch_fields)), label="fields")
            self.writes += 1
            properties = spec.body_properties(PATCH)
            patch = {n: sample_value(n, properties[n], f"p{self.writes}") for n in chosen}
            ex = ctx.call(PATCH, path={"callId": call_id}, json_body={**patch, **JUNK})
            self.check(ex.status == 200, rules.MODEL_PATCH_CALL, ex, "200")
            old = model.records[call_id]
            got = ex.data if isinstance(ex.data, dict) else {}
            self.check(
                _stamp(got) >= _stamp(old),
                rules.TIMESTAMPS_UPDATED,
                ex,
                f"updated_at not before {_stamp(old)}",
            )
            predicted = {**old, **patch, "updated_at": got.get("updated_at")}
            self.expect_record(ex, "calls", got, predicted)
            self.remember("calls", dict(got))

        @rule(n=st.integers(0, 4))
        def delete(self, n: int) -> None:
            unit_id = self.unit_id(n)
            ex = ctx.call(DELETE, path={"unitId": unit_id})
            model = self.collections["units"]
            if unit_id in model.records:
                self.check(
                    ex.status == 200, rules.MODEL_DELETE, ex, "200 for a unit the model holds"
                )
                del model.records[unit_id]
            else:
                self.check(
                    ex.status == 404, rules.MODEL_DELETE, ex, "404 for a unit the model lacks"
                )
            self.touched = "units"

        @rule(n=st.integers(0, 4), address=st.one_of(st.none(), st.sampled_from(["22 Park Ave"])))
        def panic(self, n: int, address: str | None) -> None:
            unit_id = self.unit_id(n)
            ex = ctx.call(PANIC, path={"unitId": unit_id}, json_body={"address": address})
            expected = 200 if unit_id in self.collections["units"].records else 404
            self.check(ex.status == expected, rules.MODEL_PANIC, ex, f"status {expected}")
            self.touched = "units"

        # -- after every step --------------------------------------------------------------
        @invariant()
        def target_matches_model(self) -> None:
            for model in self.collections.values():
                ex = ctx.call(model.list_op, query={"limit": PAGE})
                self.check(isinstance(ex.data, list), rules.MODEL_LIST, ex, "an array")
                full = [r for r in ex.data if isinstance(r, dict)]
                mine = [r for r in full if str(r.get("id", "")).startswith(self.prefix)]
                listed = {str(r["id"]): r for r in mine}
                differs = sorted(
                    i
                    for i in set(listed) | set(model.records)
                    if not same_json(listed.get(i), model.records.get(i))
                )
                self.check(
                    not differs,
                    rules.MODEL_RECORDS.of(model.name),
                    ex,
                    f"exactly the model's records, complete bodies; differ: {differs[:4]}",
                )
                expected = sorted(
                    model.records.values(),
                    key=lambda r: (_stamp(r), model.order[str(r["id"])]),
                    reverse=True,
                )
                self.check(
                    _groups(mine) == _groups(expected),
                    rules.LIST_ORDER,
                    ex,
                    f"most recently written first: {[r['id'] for r in expected][:6]}",
                )
                if model.name == self.touched and full:
                    k = 1 + self.writes % 3
                    page = ctx.call(model.list_op, query={"limit": k})
                    self.check(
                        isinstance(page.data, list) and same_json(page.data, full[:k]),
                        rules.MODEL_LIMIT,
                        page,
                        f"limit={k}: the first {k} records of the full list",
                    )

    NorthcaModel.ctx = ctx
    NorthcaModel.name = NAME
    return NorthcaModel


def run_state_machine(
    config: CheckConfig,
    emit: Any,
    *,
    max_examples: int = 5,
    steps: int = 12,
    second_mdt: str | None = None,
) -> list[CheckFinished]:
    """The stateful stage: the units/calls machine, then the link-request machine."""
    started = time.monotonic()
    emit(StageStarted(STAGE, 2))
    emit(CheckStarted(STAGE, NAME))
    ctx = config.context(NAME)
    result = run_machine(
        ctx,
        make_machine(ctx),
        seed=config.seed,
        max_examples=max_examples,
        steps=steps,
        shrink=False,  # the report shows the failing exchange; the target keeps its state
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
