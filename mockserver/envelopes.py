"""The JSON envelope of every answer, partner API and control plane alike.

``{"ok": true, "data": ...}`` for a success; ``{"ok": false, "error": "..."}`` and nothing else
for a failure, its status and string taken from a documented error example. A diagnostic (which
field, which header) never goes into the body: it is sent in the ``x-northca-mock-detail``
response header (:data:`DETAIL_HEADER`) and kept in the request's journal entry.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from flask import Response

from mockserver.spec import ErrorExample, Operation, Spec
from mockserver.store import RawJson

#: The response header carrying the mock's diagnostic of an error (never in the body).
DETAIL_HEADER = "x-northca-mock-detail"


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


#: Control characters a header value must not hold (RFC 9110 §5.5), as ``\xNN`` escapes.
_CONTROLS = {code: f"\\x{code:02x}" for code in (*range(32), 127) if code != 9}


def detail_header_value(detail: str) -> str:
    """``detail`` as a header value: one line of Latin-1, anything else escaped, never dropped."""
    safe = detail.replace("\r", " ").replace("\n", " ").translate(_CONTROLS)
    return safe.encode("latin-1", "backslashreplace").decode("latin-1")


def _with_detail(detail: str | None, headers: Mapping[str, str] | None) -> Mapping[str, str] | None:
    if not detail:
        return headers
    return {**(headers or {}), DETAIL_HEADER: detail_header_value(detail)}


def error_envelope(
    example: ErrorExample,
    *,
    message: str | None = None,
    detail: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """The example's status and string (or ``message`` instead); ``detail`` in the header."""
    payload = {"ok": False, "error": message or example.message}
    return envelope(example.status, payload, _with_detail(detail, headers))


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
    return error_envelope(example, detail=detail, headers=headers)
