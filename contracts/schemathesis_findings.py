"""A schemathesis check failure as a finding like every other: rule, message, expected, received.

schemathesis describes a failure by a title and a message; what the check expected is in the
failure's own fields (the documented statuses, the schema path, the content types...), and what
was received is the answer itself. The curl line is built from the request as sent, so the
redactor turns the partner key into the same placeholder as in every other finding.
"""

from __future__ import annotations

from typing import Any

from contracts.events import Failure
from contracts.target import Exchange


def _join(values: Any) -> str:
    return ", ".join(str(v) for v in values or ())


def expectation(failure: Any) -> str:
    """What the failed schemathesis check expected, from the failure's own fields."""
    kind = type(failure).__name__
    get = getattr
    if kind == "UndefinedStatusCode":
        return (
            f"a status the operation documents ({_join(get(failure, 'defined_status_codes', ()))})"
        )
    if kind == "JsonSchemaError":
        path = "/".join(str(p) for p in get(failure, "schema_path", ()))
        return f"a body that the response schema accepts (schema path /{path})"
    if kind in ("MissingContentType", "UndefinedContentType"):
        media = get(failure, "defined_content_types", None) or get(failure, "media_types", ())
        return f"a Content-Type the operation documents ({_join(media)})"
    if kind == "MalformedMediaType":
        return f"a well-formed media type (documented: {get(failure, 'defined', '')})"
    if kind == "MissingHeaders":
        return f"the documented response headers {_join(get(failure, 'missing_headers', ()))}"
    if kind == "RejectedPositiveData":
        allowed = _join(get(failure, "allowed_statuses", ()))
        return f"schema-valid data accepted (a status in {allowed})"
    if kind == "AcceptedNegativeData":
        expected = _join(get(failure, "expected_statuses", ()))
        return f"data the schema forbids rejected (a status in {expected})"
    if kind == "MissingHeaderNotRejected":
        name = get(failure, "header_name", "")
        expected = _join(get(failure, "expected_statuses", ()))
        return f"a request without header {name} rejected (a status in {expected})"
    if kind == "IgnoredAuth":
        return f"401 for a request without valid credentials ({get(failure, 'scenario', '')})"
    if kind == "UnsupportedMethodResponse":
        return f"405 with an Allow header for the undeclared method {get(failure, 'method', '')}"
    if kind == "AllowHeaderMismatch":
        return f"an Allow header listing {_join(get(failure, 'missing_methods', ()))}"
    if kind in ("ServerError", "ContentTypeServerError"):
        return "a status below 500"
    if kind == "MalformedJson":
        return "a JSON body"
    if kind == "ResponseTimeExceeded":
        return f"an answer within {get(failure, 'deadline', '?')} ms"
    if kind == "UseAfterFree":
        return "404 for a resource after it was deleted"
    if kind == "EnsureResourceAvailability":
        return "a resource readable right after it was created"
    if kind == "ObjectLevelAuthorizationViolation":
        return "another caller's resource refused"
    return f"the schemathesis check to pass ({get(failure, 'title', kind)})"


#: Request headers that curl sets itself: left out of the curl line.
CURL_SETS = frozenset({"content-length", "connection", "accept-encoding"})


def exchange_of(interaction: Any) -> Exchange | None:
    """The schemathesis interaction as an :class:`Exchange` (its first value of each header,
    without those curl sets itself)."""
    if interaction is None:
        return None
    request, response = interaction.request, interaction.response
    headers = {
        name: values[0]
        for name, values in request.headers.items()
        if values and name.lower() not in CURL_SETS
    }
    if response is None:
        return Exchange(request.method, request.uri, headers, request.body, 0, {}, b"")
    answer_headers = {name: values[0] for name, values in response.headers.items() if values}
    return Exchange(
        request.method,
        request.uri,
        headers,
        request.body,
        response.status_code,
        answer_headers,
        response.content,
    )


def finding(
    failure: Any,
    interaction: Any,
    *,
    check: str,
    rule: str,
    operation: str,
    stage: str,
    fallback_curl: str = "",
) -> Failure:
    """One :class:`Failure`: the check's expectation, the answer received, the failure's
    title and message, and a curl line of the request as sent."""
    exchange = exchange_of(interaction)
    message = " ".join(f"{failure.title}: {failure.message or ''}".split()).rstrip(":")
    received = "no answer" if exchange is None or exchange.status == 0 else exchange.received()
    return Failure(
        check=check,
        rule=rule,
        operation=operation,
        expected=expectation(failure),
        received=received,
        curl=exchange.curl() if exchange is not None else fallback_curl,
        stage=stage,
        message=message[:600],
    )
