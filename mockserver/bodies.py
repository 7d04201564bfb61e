"""Request bodies: read them within a size limit, and parse them as strict JSON.

Shared by the partner API's checks (``validation``) and the control plane; no Flask here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wsgi import get_content_length, get_input_stream

from mockserver.gate import MAX_JSON_DEPTH, UnstorableError, check_storable

_JSON_MEDIA = re.compile(r"^application/(?:[\w.+-]+\+)?json$")


def reject_oversized(environ: Mapping[str, Any], limit: int) -> None:
    """413 when the declared ``Content-Length`` is over ``limit`` (read or not)."""
    length = get_content_length(environ)  # type: ignore[arg-type]
    if length is not None and length > limit:
        raise RequestEntityTooLarge()


def read_body(environ: Mapping[str, Any], limit: int) -> bytes:
    """The request body, at most ``limit`` bytes: 413 beyond, chunked bodies included."""
    reject_oversized(environ, limit)
    stream = get_input_stream(environ, max_content_length=None)  # type: ignore[arg-type]
    chunks: list[bytes] = []
    size = 0
    while size <= limit:
        chunk = stream.read(limit + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise RequestEntityTooLarge()
    return b"".join(chunks)


def is_json_media_type(content_type: str | None) -> bool:
    """``application/json`` or ``application/*+json``, parameters (charset) allowed."""
    if not content_type:
        return False
    return bool(_JSON_MEDIA.match(content_type.split(";", 1)[0].strip().lower()))


__all__ = ["MAX_JSON_DEPTH", "is_json_media_type", "parse_json", "read_body", "reject_oversized"]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(raw: bytes) -> Any:
    """Strict JSON (RFC 8259): UTF-8 only, no NaN or Infinity, no lone surrogate, bounded depth.

    Raises ``ValueError`` (with a readable message) for anything else.
    """
    text = raw.decode("utf-8")  # strict: invalid UTF-8 and encoded surrogates are errors
    if text.count("[") + text.count("{") > MAX_JSON_DEPTH and _depth(text) > MAX_JSON_DEPTH:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    value = json.loads(text, parse_constant=_reject_constant)
    if "\\u" in text:
        try:  # escaped lone surrogates (\ud800) parse, but can never be written back as UTF-8
            check_storable(value)
        except UnstorableError as exc:
            raise ValueError(exc.problem) from None
    return value


def _depth(text: str) -> int:
    """The deepest bracket nesting outside strings (a cheap scan, before parsing)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > MAX_JSON_DEPTH:
                return deepest
        elif char in "]}":
            depth -= 1
    return deepest
