"""``GET /openapi.yaml`` and ``GET /openapi.json``: the spec an app serves, with no key needed.

They are not partner operations (Northca does not publish its spec at these paths), so they are
not in ``openapi.yaml`` itself; ``control.yaml`` and the README describe them. An app that
registers the blueprint keeps its spec in ``app.extensions[SPEC_EXTENSION]``, and may keep a
document to serve instead of the spec's file in ``app.extensions[DOCUMENT_EXTENSION]`` (the
proxy's view, with its own answers attached).
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import yaml
from flask import Blueprint, Response, current_app

from mockserver.spec import Spec

SPEC_EXTENSION = "northca_spec"
DOCUMENT_EXTENSION = "northca_spec_document"
spec_documents = Blueprint("northca_spec_documents", __name__)


def _spec() -> Spec:
    spec: Spec = current_app.extensions[SPEC_EXTENSION]
    return spec


@cache
def _as_json(spec: Spec) -> bytes:
    return json.dumps(spec.document, ensure_ascii=False, indent=2).encode()


def _document() -> dict[str, Any] | None:
    document: dict[str, Any] | None = current_app.extensions.get(DOCUMENT_EXTENSION)
    return document


@spec_documents.get("/openapi.yaml")
def openapi_yaml() -> Response:
    document = _document()
    if document is not None:
        text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=100)
        return Response(text.encode(), mimetype="application/yaml")
    spec = _spec()
    if spec.source is None:  # a spec given as a dict: its JSON is YAML too
        return Response(_as_json(spec), mimetype="application/yaml")
    return Response(spec.source.read_bytes(), mimetype="application/yaml")


@spec_documents.get("/openapi.json")
def openapi_json() -> Response:
    document = _document()
    if document is not None:
        text = json.dumps(document, ensure_ascii=False, indent=2)
        return Response(text.encode(), mimetype="application/json")
    return Response(_as_json(_spec()), mimetype="application/json")
