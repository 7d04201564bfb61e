"""Every response record schema requires exactly the fields the mock always sends.

The whole partner flow (link, decide, list, every record kind created bare and in full, updated,
listed, deleted, panicked, unlinked; with and without an actor) runs in process and on both HTTP
servers. Each success answer's ``data`` is filed under the record schema its operation documents,
and for every record schema the fields present in *every* answer must be its ``required`` list,
which must also name every declared property. Each record must validate against its schema, so a
null is sent only where the schema (the docs' nullability) allows it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import pytest
import requests

from mockserver import create_app
from mockserver.schemas import SchemaCache
from mockserver.spec import Spec, load_spec
from tests.live import LiveMock
from tests.support import DEFAULT, auth_headers

#: (method, path, JSON body or None, headers) -> (status, parsed body)
Send = Callable[[str, str, Any, Mapping[str, str]], tuple[int, Any]]

SPEC = load_spec()
RECORDS = {
    "LinkRequest", "MdtLink", "UnlinkResult", "MdtInfo", "DispatchCall", "SceneReport", "Shift",
    "Ticket", "ActiveUnit", "DeleteUnitResult", "PanicEvent",
}  # fmt: skip
M = f"/mdts/{DEFAULT.mdt_id}"
OWNER = auth_headers(actor=DEFAULT.unlinked_mdt_owner_id)
NO_ACTOR = auth_headers(actor=None)
KINDS = {
    "calls": ("createCall", "listCalls"),
    "scene-reports": ("createSceneReport", "listSceneReports"),
    "shifts": ("createShift", "listShifts"),
    "tickets": ("createTicket", "listTickets"),
}


def record_schema(spec: Spec, operation_id: str) -> str:
    """The component name of the record in the operation's success ``data`` (array items too;
    a link request decision is a ``LinkRequest`` with an optional ``already``)."""
    op = spec.operations[operation_id]
    response = op.raw_responses[str(op.success_status)]
    envelope = response["content"]["application/json"]["schema"]
    data = next(b for b in envelope["allOf"] if "properties" in b)["properties"]["data"]
    data = data.get("items", data)
    name = str(data["$ref"]).rsplit("/", 1)[1]
    schema = spec.components["schemas"][name]
    if "allOf" in schema:
        name = str(schema["allOf"][0]["$ref"]).rsplit("/", 1)[1]
    return name


def flow(send: Send) -> Iterator[tuple[str, Any]]:
    """(operationId, data) of every success answer of the whole flow."""

    def call(
        op_id: str, path: str, body: Any = None, headers: Mapping[str, str] | None = None
    ) -> Any:
        method = SPEC.operations[op_id].method
        status, answer = send(method, path, body, auth_headers() if headers is None else headers)
        assert status == SPEC.operations[op_id].success_status, (op_id, status, answer)
        return answer["data"]

    created = call("createLinkRequest", "/link-requests", {"mdt_id": DEFAULT.unlinked_mdt_id})
    yield "createLinkRequest", created
    confirm = f"/link-requests/{created['id']}/confirm"
    yield "confirmLinkRequest", call("confirmLinkRequest", confirm, headers=OWNER)
    yield "confirmLinkRequest", call("confirmLinkRequest", confirm, headers=OWNER)
    bare = call(
        "createLinkRequest", "/link-requests", {"mdt_id": DEFAULT.unlinked_mdt_id}, NO_ACTOR
    )
    yield "createLinkRequest", bare
    deny = f"/link-requests/{bare['id']}/deny"
    yield "denyLinkRequest", call("denyLinkRequest", deny, headers=OWNER)
    yield "listGuildMdts", call("listGuildMdts", f"/guilds/{DEFAULT.guild_id}/mdts")
    yield "getMdtInfo", call("getMdtInfo", M)
    full = {
        "calls": {"classification": "TRAFFIC STOP", "units_assigned": ["ADAM-12"]},
        "scene-reports": {"title": "Incident Summary", "date": "2026-03-01", "time": "01:23"},
        "shifts": {"officer_name": "B. Bubbleton", "duration_ms": 5, "end_time": None},
        "tickets": {"title": "Tow request", "officer_callsign": "ADAM-12"},
    }
    for kind, body in full.items():
        create, listing = KINDS[kind]
        yield create, call(create, f"{M}/{kind}", {})
        yield create, call(create, f"{M}/{kind}", body, NO_ACTOR)
        yield listing, call(listing, f"{M}/{kind}")
    call_id = call("createCall", f"{M}/calls", {"location": "22 Park Ave"})["id"]
    yield "updateCall", call("updateCall", f"{M}/calls/{call_id}", {"status": "closed"})
    units = {"units": [{"id": "ADAM-12"}, {"id": "LINCOLN-3", "officer_name": "A. Smith"}]}
    for unit in call("upsertActiveUnits", f"{M}/units/active", units):
        yield "upsertActiveUnits", unit
    yield "listActiveUnits", call("listActiveUnits", f"{M}/units/active")
    panic = f"{M}/units/active/ADAM-12/panic"
    yield "triggerUnitPanic", call("triggerUnitPanic", panic, {"address": "67 Mango Place"})
    yield "deleteActiveUnit", call("deleteActiveUnit", f"{M}/units/active/LINCOLN-3")
    unlink = f"/mdts/{DEFAULT.unlinked_mdt_id}/unlink"
    yield "unlinkMdt", call("unlinkMdt", unlink, headers=OWNER)


def observed_records(send: Send) -> dict[str, list[dict[str, Any]]]:
    records: dict[str, list[dict[str, Any]]] = {}
    for op_id, data in flow(send):
        for record in data if isinstance(data, list) else [data]:
            records.setdefault(record_schema(SPEC, op_id), []).append(record)
    return records


def check_required(records: Mapping[str, list[dict[str, Any]]]) -> None:
    assert set(records) == RECORDS  # every record schema is answered at least once
    schemas = SchemaCache(SPEC)
    for name, instances in records.items():
        schema = SPEC.components["schemas"][name]
        always = set.intersection(*(set(record) for record in instances))
        assert set(schema.get("required", ())) == always, name
        assert always >= set(schema["properties"]), name
        for record in instances:
            assert schemas.component(name).first_problem(record, name) is None


def test_in_process() -> None:
    client = create_app().test_client()

    def send(method: str, path: str, body: Any, headers: Mapping[str, str]) -> tuple[int, Any]:
        answer = client.open(path, method=method, json=body, headers=dict(headers))
        return answer.status_code, answer.get_json()

    check_required(observed_records(send))


@pytest.mark.parametrize("server", ["werkzeug", "granian"])
def test_on_both_servers(server: str) -> None:
    with LiveMock("--server", server) as live:

        def send(method: str, path: str, body: Any, headers: Mapping[str, str]) -> tuple[int, Any]:
            answer = requests.request(
                method, live.url + "/v1" + path, json=body, headers=dict(headers), timeout=30
            )
            return answer.status_code, answer.json()

        check_required(observed_records(send))


def test_a_sparse_world_is_answered_whole() -> None:
    """A world may leave out MDT info and record fields: the mock still sends every field."""
    world = {
        "partner_keys": {DEFAULT.partner_key: DEFAULT.partner_name},
        "mdts": [{"id": DEFAULT.mdt_id, "owner_discord_id": None, "info": {"name": "Sparse"}}],
        "links": [{"mdt_id": DEFAULT.mdt_id, "guild_id": DEFAULT.guild_id}],
        "records": {DEFAULT.mdt_id: {"shifts": [{"id": "s-1"}]}},
    }
    client = create_app(world=world).test_client()
    info = client.get(M, headers=auth_headers()).get_json()["data"]
    assert info == {
        "id": DEFAULT.mdt_id,
        "name": "Sparse",
        "logo_url": None,
        "map": None,
        "departments": [],
        "divisions": [],
        "settings": {},
    }
    (shift,) = client.get(f"{M}/shifts", headers=auth_headers()).get_json()["data"]
    assert set(shift) == set(SPEC.components["schemas"]["Shift"]["required"])
    assert (shift["id"], shift["officer_name"], shift["mdt_code"]) == ("s-1", None, DEFAULT.mdt_id)
