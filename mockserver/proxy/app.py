"""The proxy's WSGI app: forward partner requests, check each exchange, answer the control plane.

``/__mock/`` (``proxy/control.yaml``), ``/openapi.yaml`` and ``/openapi.json`` are answered
here; every other request is forwarded to the upstream, even one the mock would refuse (an
unknown path, a bad body): the upstream decides, the proxy reports. The answer goes back as the
upstream gave it (status, end-to-end headers, body bytes), after the registered single-exchange
checks of ``contracts.checks`` ran on it.

Bounds: a request body over ``--max-body-bytes`` is answered 413 and not forwarded; an answer
that is not valid HTTP/1.1 or is over the cap is answered 502 (``forward``) and reported as a
deviation. The checks read at most the cap, decompressed: a larger answer is reported as too
large to check, never expanded; so is a JSON body nested deeper than the strict parser allows.
Every secret seen (the partner key's value, the upstream URL's userinfo) is redacted from all the
proxy answers about itself and writes (``contracts.redact``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from flask import Blueprint, Flask, Response, current_app, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, RequestEntityTooLarge

from contracts import rules
from contracts.checks import CHECKS, Violation, run_checks
from contracts.redact import Redactor
from contracts.spec import ContractSpec
from contracts.target import Exchange
from mockserver.answer import Answer
from mockserver.bodies import MAX_JSON_DEPTH, parse_json, read_body
from mockserver.clock import Clock
from mockserver.envelopes import error_envelope, render_error
from mockserver.inspector.routes import page as inspector_page
from mockserver.journal import REDACTED, REDACTED_HEADERS, Journal, clip, entry_size
from mockserver.limits import DEFAULT_JOURNAL_MAX_BODY_BYTES
from mockserver.proxy.evidence import EvidenceIndex
from mockserver.proxy.forward import Forwarded, Upstream, UpstreamError
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
_UPSTREAM_ERRORS = {
    "unreachable": "upstreamUnreachable",
    "malformed": "upstreamUnreachable",
    "too_large": "upstreamUnreachable",
    "timeout": "upstreamTimeout",
}
#: Upstream failures that are the upstream's answer breaking a rule: reported as deviations.
_FAILURE_RULES = {"malformed": rules.ENVELOPE_HTTP, "too_large": rules.ENVELOPE_SIZE}
#: The request headers whose values are partner keys: redacted from everything written.
KEY_HEADERS = ("x-partner-key",)
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
        #: Every secret seen so far (the URL's userinfo, each partner key sent): never written.
        self.redactor = Redactor(*upstream.secrets)
        self.max_body_bytes = upstream.max_body_bytes
        self.contract = ContractSpec(spec_path)
        self.spec = self.contract.spec
        self.evidence = EvidenceIndex(self.spec)
        self.log = DeviationLog()
        self.report_dir = report_dir
        self.recorder = (
            WorldRecorder(self.spec, record, self.redactor.json) if record is not None else None
        )
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
        self.redactor.add(*(value for name, value in headers if name in KEY_HEADERS))
        operation_id = op.operation_id if op is not None else None
        try:
            body = read_body(environ, self.max_body_bytes)
        except RequestEntityTooLarge:
            detail = f"body: over --max-body-bytes ({self.max_body_bytes} bytes); not forwarded"
            response = render_error(self.spec, None, "payloadTooLarge", detail)
            self._journal(method, path, response.status_code, operation_id, b"", detail, 0)
            return response(environ, start_response)
        try:
            forwarded = self.upstream.forward(method, target, headers, body)
        except UpstreamError as failure:
            return self._failed(environ, start_response, method, path, op, body, failure)
        answer = forwarded.answer
        try:
            self._observe(method, path, target, headers, body, forwarded, op, params)
        except Exception as unexpected:  # the client still gets the upstream's answer
            self.errors.append(unexpected)
            logger.error("northca-mock proxy: checking failed: %s", type(unexpected).__name__)
        out_headers = list(answer.headers)
        if answer.status not in (204, 304) and method != "HEAD":  # the length of what is sent
            out_headers = [(n, v) for n, v in out_headers if n.lower() != "content-length"]
            out_headers.append(("Content-Length", str(len(answer.body))))
        start_response(f"{answer.status} {answer.reason}".strip(), out_headers)
        return [answer.body]

    def _failed(
        self,
        environ: dict[str, Any],
        start_response: Any,
        method: str,
        path: str,
        op: Operation | None,
        body: bytes,
        failure: UpstreamError,
    ) -> Iterable[bytes]:
        """502 or 504 in the envelope; an answer that broke HTTP or the cap is a deviation."""
        operation_id = op.operation_id if op is not None else None
        self.log.failed_upstream(failure.kind)
        rule = _FAILURE_RULES.get(failure.kind)
        found = 0
        if rule is not None:
            status = failure.status if failure.status is not None else 502
            expected = (
                "a valid HTTP/1.1 answer"
                if rule is rules.ENVELOPE_HTTP
                else (f"a body of at most {self.max_body_bytes} bytes")
            )
            deviation = self._protocol_deviation(
                op, method, path, status, rule, expected, failure.reason
            )
            self.log.add(operation_id, [deviation])
            found = 1
        response = render_error(self.spec, None, _UPSTREAM_ERRORS[failure.kind], failure.reason)
        self._journal(method, path, response.status_code, operation_id, body, failure.reason, found)
        return response(environ, start_response)

    def _protocol_deviation(
        self,
        op: Operation | None,
        method: str,
        path: str,
        status: int,
        rule: rules.Rule,
        expected: str,
        actual: str,
    ) -> dict[str, Any]:
        """A deviation found before (or instead of) the registered checks."""
        blame = self.evidence.blame(op, status, rule.name)
        return {
            "operation_id": op.operation_id if op is not None else None,
            "method": method,
            "path": path,
            "status": status,
            "rule": rule.name,
            "rule_description": rule.description,
            "expected": expected,
            "actual": actual,
            "evidence": blame.evidence,
            "part": blame.part,
            "spec_location": blame.location,
        }

    def _observe(
        self,
        method: str,
        path: str,
        target: str,
        headers: list[tuple[str, str]],
        body: bytes,
        forwarded: Forwarded,
        op: Operation | None,
        params: dict[str, str],
    ) -> None:
        """Check the exchange, count its deviations, record what it shows, journal it."""
        answer = forwarded.answer
        operation_id = op.operation_id if op is not None else None
        found = [
            self._protocol_deviation(
                op,
                method,
                path,
                answer.status,
                rules.ENVELOPE_HTTP,
                "a valid HTTP/1.1 answer",
                note,
            )
            for note in forwarded.notes
        ]
        decoded = _decoded(answer, self.max_body_bytes)
        problem, readable = None, _Readable(checks=False, records=False)
        if decoded is None:
            problem = (
                rules.ENVELOPE_SIZE,
                f"at most {self.max_body_bytes} bytes decompressed",
                "larger once decompressed: too large to check (not expanded)",
            )
        else:
            problem, readable = _strictness(answer, decoded)
        if problem is not None:
            rule, expected, actual = problem
            found.append(
                self._protocol_deviation(op, method, path, answer.status, rule, expected, actual)
            )
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
            decoded or b"",
            operation_id,
        )
        if readable.checks:
            found += [
                self._deviation(exchange, op, path, violation)
                for violation in run_checks(exchange, self.contract, PROXY_CHECKS)
            ]
        self.log.add(operation_id, found)
        if self.recorder is not None and op is not None and readable.records:
            guild = sent.get("x-discord-guild")
            self.recorder.observe(op, params, guild, answer.status, exchange.json)
        self._journal(method, path, answer.status, operation_id, body, None, len(found))

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
            parsed = parse_json(body) if body else None
        except ValueError:  # not strict JSON (or too deep): kept as bytes, cut
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
            written += self.log.write(
                self.report_dir, self.upstream.url, spec_file, self.redactor.json
            )
        if self.recorder is not None:
            written.append(self.recorder.write())
        return written


def _request_headers(environ: Mapping[str, Any]) -> Iterable[tuple[str, str]]:
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            yield key[5:].replace("_", "-").lower(), value
    if environ.get("CONTENT_TYPE"):
        yield "content-type", environ["CONTENT_TYPE"]


_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def _decoded(answer: Answer, limit: int) -> bytes | None:
    """The body as the checks read it (gzip or deflate undone, at most ``limit`` bytes of it);
    None when it is larger decompressed. The client gets the body unchanged."""
    encoding = next((v for n, v in answer.headers if n.lower() == "content-encoding"), "")
    wbits = _WBITS.get(encoding.strip().lower())
    if wbits is None:
        return answer.body
    try:
        inflated = zlib.decompressobj(wbits).decompress(answer.body, limit + 1)
    except zlib.error:
        return answer.body
    return None if len(inflated) > limit else inflated


@dataclass(frozen=True)
class _Readable:
    """Whether the registered checks, and the recorder, can read a body."""

    checks: bool = True
    records: bool = True


def _strictness(
    answer: Answer, body: bytes
) -> tuple[tuple[rules.Rule, str, str] | None, _Readable]:
    """What makes a JSON body not strict JSON (the mock's own parser decides), if anything,
    and who can still read it: nothing nested too deep; the recorder (which leaves out each
    record it cannot write) but not the schema checks a lone surrogate."""
    content_type = next((v for n, v in answer.headers if n.lower() == "content-type"), "")
    if "json" not in content_type.lower() or not body:
        return None, _Readable()
    expected = f"strict JSON (finite numbers, no lone surrogate, at most {MAX_JSON_DEPTH} deep)"
    try:
        parse_json(body)
    except RecursionError:
        problem = (rules.ENVELOPE_STRICT_JSON, expected, "nested too deep to check")
        return problem, _Readable(checks=False, records=False)
    except UnicodeDecodeError:
        return None, _Readable()  # not UTF-8: the envelope checks report it
    except ValueError as exc:
        reason = str(exc)
        if reason.startswith("nested deeper"):
            problem = (rules.ENVELOPE_STRICT_JSON, expected, f"{reason}: too deep to check")
            return problem, _Readable(checks=False, records=False)
        if reason.endswith("surrogate"):  # the schema validator cannot take it either
            problem = (rules.ENVELOPE_STRICT_JSON, expected, f"{reason}: cannot be checked")
            return problem, _Readable(checks=False)
        if reason.endswith("is not JSON"):
            return (rules.ENVELOPE_STRICT_JSON, expected, reason), _Readable()
    return None, _Readable()


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
    proxy = _proxy()
    return _ok(proxy.redactor.json(proxy.log.live()))


@proxy_control.get("/requests")
def requests_journal() -> Response:
    proxy = _proxy()
    with proxy._journal_lock:
        entries = list(proxy.journal)
    return _ok(proxy.redactor.json(entries))


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
