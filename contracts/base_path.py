"""Where the Partner API is served under ``--url``: ``--base-path``, or found by the preflight.

Without ``--base-path``, the candidates are the spec's base path (``/v1``) under the URL, then
the URL's root; the first one at which not every preflight read answers 404 is the API. A URL
that already ends with the spec's base path is used as it is.
"""

from __future__ import annotations

from collections.abc import Callable

from contracts.runner import UsageError, routes_answer
from contracts.spec import ContractSpec
from contracts.target import Auth, Target


def normalised(base_path: str) -> str:
    """``/v1`` for ``v1``, ``/v1/`` or ``/v1``; ``""`` for ``/`` or ``""`` (the root)."""
    trimmed = base_path.strip("/")
    return f"/{trimmed}" if trimmed else ""


def candidates(url: str, spec_base_path: str, base_path: str | None) -> list[tuple[str, str]]:
    """(base URL, how it was chosen) in the order to try."""
    root = url.rstrip("/")
    if base_path is not None:
        return [(root + normalised(base_path), "--base-path")]
    if not spec_base_path or root.endswith(spec_base_path):
        return [(root, "--url")]
    return [(root + spec_base_path, "the spec's base path"), (root, "the root")]


def locate(
    url: str,
    spec: ContractSpec,
    auth: Auth,
    base_path: str | None,
    make_target: Callable[[str], Target],
) -> tuple[Target, str]:
    """The target to check and one line saying where the API was found (or set)."""
    tried = candidates(url, spec.base_path, base_path)
    for base_url, why in tried:
        target = make_target(base_url)
        if len(tried) == 1 or routes_answer(target, spec, auth):
            return target, f"the API is at {base_url} ({why})"
    urls = " and ".join(base_url for base_url, _ in tried)
    raise UsageError(
        f"every route answers 404 at {urls}: is --url the server's root (the checker tries"
        f" {spec.base_path or '/'} and the root; --base-path sets another),"
        " e.g. http://127.0.0.1:4010?"
    )
