"""``GET /openapi.yaml`` and ``GET /openapi.json``: the spec an app serves, with no key needed.

They are not partner operations (Northca does not publish its spec at these paths), so they are
not in ``openapi.yaml`` itself; ``control.yaml`` and the README describe them. An app that
registers the blueprint keeps its spec in ``app.extensions[SPEC_EXTENSION]``.
"""

from __future__ import annotations

import json
from functools import cache

from flask import Blueprint, Response, current_app

from mockserver.spec import Spec

SPEC_EXTENSION = "northca_spec"
spec_documents = Blueprint("northca_spec_documents", __name__)


def _spec() -> Spec:
    spec: Spec = current_app.extensions[SPEC_EXTENSION]
    return spec


@cache
def _as_json(spec: Spec) -> bytes:
    return json.dumps(spec.document, ensure_ascii=False, indent=2).encode()


@spec_documents.get("/openapi.yaml")
def openapi_yaml() -> Response:
    spec = _spec()
    if spec.source is None:  # a spec given as a dict: its JSON is YAML too
        return Response(_as_json(spec), mimetype="application/yaml")
    return Response(spec.source.read_bytes(), mimetype="application/yaml")


@spec_documents.get("/openapi.json")
def openapi_json() -> Response:
    return Response(_as_json(_spec()), mimetype="application/json")
