"""What the journal keeps of one partner-API exchange, and how it is read back in pieces.

An entry has ``seq`` (increasing per namespace, never reused, also across resets), ``method``,
``path``, ``query`` (the raw query string), ``headers`` (the request's, lower-case names, with the
partner key and the admin token redacted), ``body`` (the parsed request body, or None),
``status``, ``operation_id``, ``timestamp`` and ``response`` (``status``, ``headers``, ``body``
as text, cut after ``--journal-body-bytes`` bytes, ``body_bytes``, its whole size, ``truncated``,
and ``detail``: the mock's diagnostic for an error, or None).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

#: Request headers whose values the journal never keeps.
REDACTED_HEADERS = frozenset({"x-partner-key", "x-mock-admin-token"})
REDACTED = "[redacted]"
#: The response header carrying the mock's diagnostic (when the mock sends one).
DETAIL_HEADER = "x-northca-mock-detail"
#: Bytes of each response body the journal keeps (``serve --journal-body-bytes``).
DEFAULT_JOURNAL_BODY_BYTES = 1024


#: Header names seen so far, so that every entry shares one string per name (bounded: names
#: come from clients).
_NAMES: dict[str, str] = {}
_MAX_NAMES = 512


def _name(key: str) -> str:
    name = _NAMES.get(key)
    if name is None:
        name = (key[5:] if key.startswith("HTTP_") else key).replace("_", "-").lower()
        if len(_NAMES) < _MAX_NAMES:
            _NAMES[key] = name
    return name


def request_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request's headers from a WSGI environ, lower-case, secrets redacted."""
    headers: dict[str, str] = {}
    for key, value in environ.items():
        if not key.startswith("HTTP_") and not (
            key in ("CONTENT_TYPE", "CONTENT_LENGTH") and value
        ):
            continue
        name = _name(key)
        headers[name] = REDACTED if name in REDACTED_HEADERS else str(value)
    return headers


def response_details(
    status: int, headers: Iterable[tuple[str, str]], data: bytes, limit: int
) -> dict[str, Any]:
    """What the journal keeps of an answer; ``detail`` from the header, else the body's."""
    kept = {_name(name): value for name, value in headers}
    text = data[:limit].decode("utf-8", "replace")
    detail = kept.get(DETAIL_HEADER)
    if detail is None and status >= 400 and len(data) <= limit and b'"detail"' in data:
        try:
            parsed = json.loads(text)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and isinstance(parsed.get("detail"), str):
            detail = parsed["detail"]
    return {
        "status": status,
        "headers": kept,
        "body": text,
        "body_bytes": len(data),
        "truncated": len(data) > limit,
        "detail": detail,
    }


def entries_after(journal: Iterable[Mapping[str, Any]], after: int, limit: int) -> list[Any]:
    """Entries with ``seq`` above ``after``, newest first, at most ``limit`` of them.

    ``journal`` is read newest first (pass ``reversed(deque)``), so only what is returned is read.
    """
    found: list[Any] = []
    for entry in journal:
        if entry.get("seq", 0) <= after or len(found) >= limit:
            break
        found.append(entry)
    return found
