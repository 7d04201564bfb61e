"""The spec as ``northca-mock proxy`` serves it (``GET /openapi.yaml``): with its own answers.

The proxy answers 502 (``UpstreamUnreachable``) and 504 (``UpstreamTimeout``) for any operation
when the upstream fails. Northca never does, so ``openapi.yaml`` keeps them under its root
``x-northca-route-responses``; the proxy's view moves them into ``components.responses`` and
attaches them to every operation by ``$ref``, so a client generated from the proxy's spec parses
them as ``ErrorEnvelope``.
"""

from __future__ import annotations

from typing import Any

from mockserver.spec import HTTP_METHODS, Spec

#: Status -> the component under ``x-northca-route-responses`` the proxy answers with.
PROXY_RESPONSES = {"502": "UpstreamUnreachable", "504": "UpstreamTimeout"}


def proxy_document(spec: Spec) -> dict[str, Any]:
    """A copy of the spec's document with the proxy's 502 and 504 on every operation."""
    document = dict(spec.document)
    outside = dict(document.get("x-northca-route-responses", {}))
    components = dict(document.get("components", {}))
    responses = dict(components.get("responses", {}))
    for name in PROXY_RESPONSES.values():
        responses[name] = outside.pop(name)
    components["responses"] = responses
    document["components"] = components
    document["x-northca-route-responses"] = outside
    paths: dict[str, Any] = {}
    for path, item in document.get("paths", {}).items():
        paths[path] = dict(item)
        for method in HTTP_METHODS:
            if method in item:
                attached = {
                    code: {"$ref": f"#/components/responses/{name}"}
                    for code, name in PROXY_RESPONSES.items()
                }
                merged = {**item[method]["responses"], **attached}
                ordered = dict(sorted(merged.items(), key=lambda entry: int(entry[0])))
                paths[path][method] = {**item[method], "responses": ordered}
    document["paths"] = paths
    return document
