"""What the journal keeps of a request beyond method, path and status: its query string, its
headers (secrets redacted) and the JSON body the mock answered with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Response

#: What the journal shows instead of a secret header's value.
REDACTED = "<redacted>"
#: Request headers whose value the journal never keeps (lower case).
SECRET_HEADERS = frozenset({"x-partner-key", "x-mock-admin-token", "authorization", "cookie"})
_BODY_HEADERS = {"CONTENT_TYPE": "content-type", "CONTENT_LENGTH": "content-length"}


class JsonResponse(Response):
    """A JSON response that keeps the value it was serialised from, for the journal."""

    #: The JSON value of the body (the envelope), shared with nothing that changes it later.
    payload: Any = None


def request_headers(environ: Mapping[str, Any]) -> dict[str, str]:
    """The request's headers, names in lower case, secret values replaced by :data:`REDACTED`."""
    headers: dict[str, str] = {}
    names = _NAMES
    for key, value in environ.items():
        name = names.get(key)
        if name is None:
            name = _header_name(key)
            if len(names) < _NAMES_LIMIT:
                names[key] = name
        if name and (value or key.startswith("HTTP_")):
            headers[name] = REDACTED if name in SECRET_HEADERS else str(value)
    return headers


#: Header name of each environ key seen ("" for keys that are not headers): every request
#: carries the same few, and converting them each time cost more than the rest of the journal.
_NAMES: dict[str, str] = {}
_NAMES_LIMIT = 4096


def _header_name(key: str) -> str:
    if key.startswith("HTTP_"):
        return key[5:].replace("_", "-").lower()
    return _BODY_HEADERS.get(key, "")


def response_payload(response: Response | None) -> Any:
    """The JSON value the mock answered with, or None (no JSON body, or none sent)."""
    return response.payload if isinstance(response, JsonResponse) else None
