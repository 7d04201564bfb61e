"""Memory stays bounded under the caps (issue 19 item 11, issue 22 item 4): namespaces share
the world until they write, stored records are capped per namespace, and the bytes of uploads
in flight are capped."""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from mockserver import create_app
from mockserver.app import server_of
from tests.support import auth_headers

NS = "x-mock-namespace"
GUILD = "123456789012345678"


def big_world(mdts: int, *, records: int = 0) -> dict[str, Any]:
    """``mdts`` MDTs, each linked to the guild for every partner; ``records`` shifts on the
    first MDT."""
    ids = [f"mdt-{index:05d}" for index in range(mdts)]
    return {
        "partner_keys": {"test-key": "Test Partner", "other-key": "Other Partner"},
        "mdts": [{"id": mdt_id, "owner_discord_id": "222222222222222222"} for mdt_id in ids],
        "links": [{"mdt_id": mdt_id, "guild_id": GUILD} for mdt_id in ids],
        "records": {
            ids[0]: {
                "shifts": [{"id": f"s-{index}", "officer_name": "A"} for index in range(records)]
            }
        }
        if records
        else {},
    }


@contextmanager
def allocated() -> Iterator[Callable[[], int]]:
    """Bytes the block allocated and still holds (Python allocations, by tracemalloc)."""
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    held = [0]
    try:
        yield lambda: held[0]
    finally:
        gc.collect()
        held[0] = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()


def test_a_new_namespace_costs_the_same_whatever_the_world() -> None:
    """Before: each namespace copied every MDT's tables and every link (about 4 KB an MDT)."""
    app = create_app(world=big_world(2_000, records=2_000), max_namespaces=50)
    client = app.test_client()
    headers = {**auth_headers(), "x-discord-guild": GUILD}
    first = "/mdts/mdt-00000/shifts"
    assert client.get(first, headers={**headers, NS: "warm"}).status_code == 200
    with allocated() as held:
        for index in range(20):  # reads only: a list and the guild's links
            names = {**headers, NS: f"ns-{index}"}
            listed = client.get(first + "?limit=1", headers=names)
            assert (listed.status_code, len(listed.get_json()["data"])) == (200, 1)
            guild = client.get(f"/guilds/{GUILD}/mdts", headers=names)
            assert (guild.status_code, len(guild.get_json()["data"])) == (200, 2_000)
    per_namespace = held() / 20
    assert per_namespace < 64 * 1024, per_namespace
    states = server_of(app).states
    assert [states[f"ns-{index}"].mdts.copied for index in range(20)] == [0] * 20


def test_a_write_copies_only_what_it_touches() -> None:
    app = create_app(world=big_world(2_000, records=2_000), max_namespaces=50)
    client = app.test_client()
    headers = {**auth_headers(), "x-discord-guild": GUILD, NS: "writer"}
    created = client.post("/mdts/mdt-00007/shifts", json={"id": "new"}, headers=headers)
    assert created.status_code == 201
    writer = server_of(app).states["writer"]
    assert writer.mdts.copied == 1
    # The write shows in its namespace only; the world's records are shared, not changed.
    assert [
        s["id"] for s in client.get("/mdts/mdt-00007/shifts", headers=headers).get_json()["data"]
    ] == ["new"]
    other = {**headers, NS: "reader"}
    assert client.get("/mdts/mdt-00007/shifts", headers=other).get_json()["data"] == []
    assert (
        client.get("/mdts/mdt-00007/shifts", headers={**headers, NS: ""}).get_json()["data"] == []
    )
    assert (
        len(client.get("/mdts/mdt-00000/shifts?limit=100", headers=other).get_json()["data"]) == 100
    )
    # An unlink copies the links of the writer only.
    unlinked = client.post("/mdts/mdt-00003/unlink", headers=headers)
    assert unlinked.status_code == 200, unlinked.get_json()
    assert len(client.get(f"/guilds/{GUILD}/mdts", headers=headers).get_json()["data"]) == 1_999
    assert len(client.get(f"/guilds/{GUILD}/mdts", headers=other).get_json()["data"]) == 2_000
    # A reset goes back to the shared world.
    assert client.post("/__mock/reset", headers={NS: "writer"}).status_code == 200
    assert writer.mdts.copied == 0
    assert len(client.get(f"/guilds/{GUILD}/mdts", headers=headers).get_json()["data"]) == 2_000
