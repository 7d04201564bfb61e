"""The proxy's WSGI app: forward partner requests, check each exchange, answer the control plane.

``/__mock/`` (``proxy/control.yaml``), ``/openapi.yaml`` and ``/openapi.json`` are answered
here; every other request is forwarded to the upstream, even one the mock would refuse (an
unknown path, a bad body): the upstream decides, the proxy reports. The answer goes back as the
upstream gave it (status, end-to-end headers, body bytes), after the registered single-exchange
checks of ``contracts.checks`` ran on it.
"""

from __future__ import annotations

import gzip
import json
import logging
import re
import threading
import zlib
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from contracts.checks import CHECKS, Violation, run_checks
from contracts.spec import ContractSpec
from contracts.target import Exchange
from mockserver.answer import Answer
from mockserver.clock import Clock
from mockserver.envelopes import error_envelope, render_error
from mockserver.inspector.routes import page as inspector_page
from mockserver.journal import REDACTED, REDACTED_HEADERS, Journal, clip, entry_size
from mockserver.limits import DEFAULT_JOURNAL_MAX_BODY_BYTES
from mockserver.proxy.evidence import EvidenceIndex
from mockserver.proxy.forward import Upstream, UpstreamError
from mockserver.proxy.recorder import WorldRecorder
from mockserver.proxy.report import DeviationLog
from mockserver.proxy.spec_view import proxy_document
from mockserver.raw_path import raw_path, routing_path
from mockserver.spec import Operation, Spec, load_spec
from mockserver.spec_documents import DOCUMENT_EXTENSION, SPEC_EXTENSION, spec_documents

logger = logging.getLogger("mockserver.proxy")
PROXY_EXTENSION = "northca_proxy"
CONTROL_PREFIX = "/__mock/"
#: Every registered answer check runs on every exchange (``error_documented`` included).
PROXY_CHECKS = tuple(CHECKS)
_UPSTREAM_ERRORS = {"unreachable": "upstreamUnreachable", "timeout": "upstreamTimeout"}
_PARAM = re.compile(r"\{([^}/]+)\}")
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_PATH_SAFE_DECODED = _PATH_SAFE.replace("%", "")


def control_spec_path() -> Path:
    return Path(__file__).resolve().parent / "control.yaml"


@cache
def control_spec() -> Spec:
    return load_spec(control_spec_path())


class Proxy:
    """The upstream, the spec, and what was seen: journal, deviations, recorded world."""

    def __init__(
        self,
        upstream: Upstream,
        *,
        spec_path: str | Path | None = None,
        report_dir: Path | None = None,
        record: Path | None = None,
    ) -> None:
        self.upstream = upstream
        self.contract = ContractSpec(spec_path)
        self.spec = self.contract.spec
        self.evidence = EvidenceIndex(self.spec)
        self.log = DeviationLog()
        self.report_dir = report_dir
        self.recorder = WorldRecorder(self.spec, record) if record is not None else None
        self.journal = Journal()
        self._journal_lock = threading.Lock()
        self.clock = Clock()
        #: Unexpected exceptions of the proxy itself (the client got the upstream's answer, or
        #: a 500 in the envelope); logged by type only, never with the request.
        self.errors: list[BaseException] = []
        self._routes = [
            (re.compile("^" + _PARAM.sub(r"(?P<\1>[^/]+)", op.path) + "$"), op)
            for op in self.spec.operations.values()
        ]

    # -- what was asked -------------------------------------------------------------------------
    def operation_path(self, path: str) -> str:
        """``path`` without the spec's base path (``/v1``), as ``serve`` accepts both."""
        base = self.spec.base_path
        if base and (path == base or path.startswith(base + "/")):
            return path[len(base) :] or "/"
        return path

    def match(self, method: str, path: str) -> tuple[Operation | None, dict[str, str]]:
        for pattern, op in self._routes:
            found = pattern.match(path)
            if found and op.method == method:
                return op, found.groupdict()
        return None, {}

    # -- forwarding -----------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """Forward one request; the client always gets the upstream's answer or an envelope."""
        try:
            return self._forward(environ, start_response)
        except Exception as unexpected:  # a bug of the proxy: 500 in the envelope, never HTML
            self.errors.append(unexpected)
            logger.error("northca-mock proxy: unexpected %s", type(unexpected).__name__)
            response = render_error(self.spec, None, "internalError")
            return response(environ, start_response)

    def _forward(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        method = environ["REQUEST_METHOD"].upper()
        # Matched on the path as sent (an id may hold ``/``) and forwarded as sent.
        sent = raw_path(environ)
        if sent is None:
            sent = quote(environ.get("PATH_INFO", "").encode("latin-1"), safe=_PATH_SAFE_DECODED)
        path = routing_path(environ).encode("latin-1").decode("utf-8", "replace") or "/"
        op, params = self.match(method, self.operation_path(path))
        params = {name: unquote(value) for name, value in params.items()}
        query = environ.get("QUERY_STRING", "")
        target = quote(self.operation_path(sent or "/").encode("latin-1"), safe=_PATH_SAFE)
        target += f"?{query}" if query else ""
        headers = list(_request_headers(environ))
        body = _read_body(environ)
        operation_id = op.operation_id if op is not None else None
        try:
            answer = self.upstream.forward(method, target, headers, body)
        except UpstreamError as failure:
            self.log.failed_upstream(failure.kind)
            response = render_error(self.spec, None, _UPSTREAM_ERRORS[failure.kind], failure.reason)
            self._journal(method, path, response.status_code, operation_id, body, failure.reason, 0)
            return response(environ, start_response)
        try:
            self._observe(method, path, target, headers, body, answer, op, params)
        except Exception as unexpected:  # the client still gets the upstream's answer
            self.errors.append(unexpected)
            logger.error("northca-mock proxy: checking failed: %s", type(unexpected).__name__)
        out_headers = list(answer.headers)
        has_length = any(name.lower() == "content-length" for name, _ in out_headers)
        if not has_length and answer.status not in (204, 304) and method != "HEAD":
            out_headers.append(("Content-Length", str(len(answer.body))))
        start_response(f"{answer.status} {answer.reason}".strip(), out_headers)
        return [answer.body]

    def _observe(
        self,
        method: str,
        path: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        answer: Answer,
        op: Operation | None,
        params: dict[str, str],
    ) -> None:
        """Check the exchange, count its deviations, record what it shows, journal it."""
        operation_id = op.operation_id if op is not None else None
        # Secrets (partner key, admin token, authorization, cookies) go upstream, never into
        # an exchange, a report or a journal (an empty one stays empty: the auth check reads it).
        sent = {
            name.lower(): REDACTED if value and name.lower() in REDACTED_HEADERS else value
            for name, value in headers
        }
        exchange = Exchange(
            method,
            self.upstream.url + target,
            sent,
            body,
            answer.status,
            dict(answer.headers),
            _decoded(answer),
            operation_id,
        )
        deviations = [
            self._deviation(exchange, op, path, violation)
            for violation in run_checks(exchange, self.contract, PROXY_CHECKS)
        ]
        self.log.add(operation_id, deviations)
        if self.recorder is not None and op is not None:
            guild = sent.get("x-discord-guild")
            self.recorder.observe(op, params, guild, answer.status, exchange.json)
        self._journal(method, path, answer.status, operation_id, body, None, len(deviations))

    def _deviation(
        self, exchange: Exchange, op: Operation | None, path: str, violation: Violation
    ) -> dict[str, Any]:
        blame = self.evidence.blame(op, exchange.status, violation.rule.name)
        return {
            "operation_id": exchange.operation_id,
            "method": exchange.method,
            "path": path,
            "status": exchange.status,
            "rule": violation.rule.name,
            "rule_description": violation.rule.description,
            "expected": violation.expected,
            "actual": violation.received or exchange.received(),
            "evidence": blame.evidence,
            "part": blame.part,
            "spec_location": blame.location,
        }

    def _journal(
        self,
        method: str,
        path: str,
        status: int,
        operation_id: str | None,
        body: bytes,
        detail: str | None,
        deviations: int,
    ) -> None:
        try:
            parsed = json.loads(body) if body else None
        except ValueError:
            parsed = None
        kept, body_bytes, cut = clip(parsed, body, DEFAULT_JOURNAL_MAX_BODY_BYTES)
        entry = {
            "method": method,
            "path": path,
            "status": status,
            "operation_id": operation_id,
            "timestamp": self.clock.now(),
            "body": kept,
            **({"body_truncated": True} if cut else {}),
            "detail": detail,
            "deviations": deviations,
        }
        size = entry_size(entry, body_bytes)
        with self._journal_lock:
            self.journal.append(entry, size)

    # -- files ----------------------------------------------------------------------------------
    def write_files(self) -> list[Path]:
        """Write the reports (``--report-dir``) and the recorded world (``--record``)."""
        written = []
        if self.report_dir is not None:
            spec_file = self.spec.source.name if self.spec.source else "openapi.yaml"
            written += self.log.write(self.report_dir, self.upstream.url, spec_file)
        if self.recorder is not None:
            written.append(self.recorder.write())
        return written


def _request_headers(environ: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            yield key[5:].replace("_", "-").lower(), value
    if environ.get("CONTENT_TYPE"):
        yield "content-type", environ["CONTENT_TYPE"]


def _read_body(environ: Mapping[str, Any]) -> bytes:
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = environ.get("CONTENT_LENGTH")
    if length:
        try:
            return bytes(stream.read(int(length)))
        except ValueError:
            return b""
    if environ.get("wsgi.input_terminated"):
        return bytes(stream.read())
    return b""


def _decoded(answer: Answer) -> bytes:
    """The body as the checks read it (gzip or deflate undone); the client gets it unchanged."""
    encoding = next((v for n, v in answer.headers if n.lower() == "content-encoding"), "")
    try:
        if encoding.strip().lower() == "gzip":
            return gzip.decompress(answer.body)
        if encoding.strip().lower() == "deflate":
            return zlib.decompress(answer.body)
    except (OSError, zlib.error, EOFError):
        return answer.body
    return answer.body


# -- the control plane ---------------------------------------------------------------------------
proxy_control = Blueprint("northca_proxy_control", __name__, url_prefix="/__mock")


def _proxy() -> Proxy:
    proxy: Proxy = current_app.extensions[PROXY_EXTENSION]
    return proxy


def _ok(data: Any) -> Response:
    return Response(
        json.dumps({"ok": True, "data": data}, ensure_ascii=False, separators=(",", ":")),
        mimetype="application/json",
    )


@proxy_control.get("/deviations")
def deviations() -> Response:
    return _ok(_proxy().log.live())


@proxy_control.get("/requests")
def requests_journal() -> Response:
    proxy = _proxy()
    with proxy._journal_lock:
        return _ok(list(proxy.journal))


@proxy_control.post("/snapshot")
def snapshot() -> Response:
    proxy = _proxy()
    if proxy.report_dir is None and proxy.recorder is None:
        example = control_spec().operations["snapshotProxyReports"].error("nothingToWrite")
        return error_envelope(example)
    return _ok({"written": [str(path) for path in proxy.write_files()]})


def _http_error(error: HTTPException) -> Response:
    """404 and 405 of the proxy's own routes, in the envelope; 500 for anything else."""
    spec = _proxy().spec
    if isinstance(error, MethodNotAllowed):
        allowed = ", ".join(sorted(error.valid_methods or ()))
        return render_error(spec, None, "methodNotAllowed", None, {"Allow": allowed})
    if error.code == 404:
        return render_error(spec, None, "notFound", f"path: no operation at {request.path}")
    return render_error(spec, None, "internalError")


class _ProxyFlask(Flask):
    """Sends the proxy's own paths (``/__mock/``, the spec documents) to Flask and everything
    else to the upstream."""

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL_PREFIX) or path in ("/openapi.yaml", "/openapi.json"):
            return super().wsgi_app(environ, start_response)
        proxy: Proxy = self.extensions[PROXY_EXTENSION]
        return proxy(environ, start_response)


def create_proxy_app(proxy: Proxy) -> Flask:
    """A Flask app (so both HTTP servers of ``serve`` can run it) wrapping ``proxy``."""
    app = _ProxyFlask("mockserver.proxy")
    app.extensions[PROXY_EXTENSION] = proxy
    app.extensions[SPEC_EXTENSION] = proxy.spec
    app.extensions[DOCUMENT_EXTENSION] = proxy_document(proxy.spec)
    app.register_blueprint(proxy_control)
    app.register_blueprint(inspector_page)
    app.register_blueprint(spec_documents)
    app.register_error_handler(HTTPException, _http_error)
    return app
