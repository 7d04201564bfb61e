"""The control plane's own OpenAPI document matches what the blueprint serves."""

from __future__ import annotations

import re

from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from mockserver import create_app
from mockserver.control import control_spec, control_spec_path


def test_control_yaml_is_a_valid_openapi_document():
    document, _ = read_from_filename(str(control_spec_path()))
    validate(document)


def test_every_served_control_route_is_documented_and_every_documented_one_is_served():
    app = create_app()
    prefix = control_spec().base_path
    served = {
        (method, re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule))
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith(prefix + "/")
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}
    }
    documented = {(op.method, prefix + op.path) for op in control_spec().operations.values()}
    assert served == documented


def test_control_errors_come_from_the_document(client):
    response = client.post("/__mock/clock", json={"advance_seconds": 1, "now": "x"})
    example = control_spec().operations["setMockClock"].error("expectedClock")
    assert (response.status_code, response.get_json()) == (
        example.status,
        {"ok": False, "error": example.message},
    )
