"""``GET /openapi.yaml`` and ``GET /openapi.json`` on ``serve``: the spec, with no key needed."""

from __future__ import annotations

import json

import pytest
import yaml

from mockserver.app import create_app
from mockserver.spec import default_spec_path
from tests.live import LiveMock

SPEC_BYTES = default_spec_path().read_bytes()


def test_the_spec_is_served_in_process_without_a_key() -> None:
    client = create_app().test_client()
    text = client.get("/openapi.yaml")
    assert (text.status_code, text.mimetype, text.data) == (200, "application/yaml", SPEC_BYTES)
    document = client.get("/openapi.json")
    assert document.status_code == 200
    assert document.get_json() == yaml.safe_load(SPEC_BYTES)
    # Not partner operations: nothing is journaled, and /v1 does not have them.
    assert client.get("/__mock/requests").get_json()["data"] == []
    missing = client.get("/v1/openapi.json")
    assert (missing.status_code, missing.get_json()) == (
        401,
        {"ok": False, "error": "Unauthorized"},
    )


@pytest.mark.parametrize("server", ["werkzeug", "granian"])
def test_the_spec_is_served_by_both_servers(server: str) -> None:
    with LiveMock("--server", server) as live:
        text = live.get("/openapi.yaml")
        assert (text.status_code, text.content) == (200, SPEC_BYTES)
        assert text.headers["content-type"].startswith("application/yaml")
        document = live.get("/openapi.json")
        assert document.headers["content-type"] == "application/json"
        assert json.loads(document.content)["info"]["title"] == "Northca Partner API"
