"""The JSON envelope of every answer, partner API and control plane alike.

``{"ok": true, "data": ...}`` for a success; ``{"ok": false, "error": "..."}`` (plus an optional
``detail``) for a failure, its status and string taken from a documented error example.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Response

from mockserver.spec import ErrorExample, Operation, Spec
from mockserver.store import RawJson


def envelope(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    """``payload`` as compact UTF-8 JSON with ``status``."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return Response(body, status=status, headers=headers, mimetype="application/json")


def success(status: int, data: Any) -> Response:
    """The success envelope around ``data``; JSON a handler kept encoded is spliced in as is."""
    if isinstance(data, RawJson):
        body = b'{"ok":true,"data":' + data + b"}"
        return Response(body, status=status, mimetype="application/json")
    return envelope(status, {"ok": True, "data": data})


def error_envelope(
    example: ErrorExample,
    *,
    message: str | None = None,
    detail: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The example's status and string (or ``message`` instead), with ``detail`` beside it."""
    payload: dict[str, Any] = {"ok": False, "error": message or example.message}
    if detail:
        payload["detail"] = detail
    return envelope(example.status, payload, headers)


def render_error(
    spec: Spec,
    op: Operation | None,
    name: str,
    detail: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The documented answer ``name`` of ``op`` (or of the spec's shared responses)."""
    example = op.errors.get(name) if op is not None else None
    if example is None:
        example = spec.shared_error(name)
    payload: dict[str, Any] = {"ok": False, "error": example.message}
    if detail:  # built here, not through error_envelope: one call less on the request path
        payload["detail"] = detail
    return envelope(example.status, payload, headers)
