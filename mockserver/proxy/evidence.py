"""Which part of the spec a deviation contradicts, where it is, and how sure the spec is of it.

Every rule a single exchange can break contradicts one part of ``openapi.yaml``:

- ``status.documented``, ``list.order``: the **operation** (its list of responses, its
  description);
- ``request.refused.<example>``: that error **example** (the request broke its rule);
- ``auth.*``, ``body.invalid-json``, ``error.documented``, ``link.owner-only``,
  ``link.expiry``: the **example** of the documented error (``unauthorized``, ``invalidJson``,
  the examples of that status, ``notOwner``, ``linkRequestExpired``);
- ``response.schema``, ``format.date-time``: the **schema** of the response for that status;
- ``list.limit``, ``list.default-limit``: the ``limit`` **parameter**;
- ``routing.allow-header``: the route-level ``MethodNotAllowed`` **response**;
- ``envelope.*``: the envelope the API reference states for every endpoint (``info``).

Evidence (``x-northca-evidence``): an operation, a shared component (response, schema) or an
example without the marker is ``documented`` (it comes from the seed pages); a response written
inside an operation without it has the operation's. Where several parts are involved (the
examples of one status; a response and the schemas it refers to) the weakest level counts:
``inferred`` < ``partial`` < ``documented``. A schema's ``required`` list has the level of its
``x-northca-required-evidence`` where it has one (``partial`` on the seed schemas).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from mockserver.spec import Operation, Spec

LEVELS = ("inferred", "partial", "documented")
#: The documented error a rule's violation should have been answered with.
_EXAMPLE_OF = {"link.owner-only": "notOwner", "link.expiry": "linkRequestExpired"}
MARK = "x-northca-evidence"
#: A seed schema's ``required`` list is ours (the docs show every field, and require none).
REQUIRED_MARK = "x-northca-required-evidence"


@dataclass(frozen=True)
class Blame:
    """The part of the spec at fault: its kind, a JSON pointer into the spec, its evidence."""

    part: str
    location: str
    evidence: str


def _pointer(*parts: str) -> str:
    return "#/" + "/".join(p.replace("~", "~0").replace("/", "~1") for p in parts)


def weakest(levels: Iterator[str] | list[str], default: str) -> str:
    found = [level for level in levels if level in LEVELS]
    return min(found, key=LEVELS.index) if found else default


class EvidenceIndex:
    """Answers ``blame(operation, status, rule)`` from the spec."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec

    def operation_evidence(self, op: Operation) -> str:
        return str(op.raw.get(MARK, "documented"))

    def blame(self, op: Operation | None, status: int, rule: str) -> Blame:
        family = rule.split(".")[0]
        if family == "envelope":
            return Blame("envelope", _pointer("info", "description"), "documented")
        if rule == "routing.allow-header" or op is None:
            return self._route_level(rule)
        op_pointer = ("paths", op.path, op.method.lower())
        op_evidence = self.operation_evidence(op)
        if rule in ("status.documented", "list.order"):
            return Blame("operation", _pointer(*op_pointer), op_evidence)
        if rule in ("list.limit", "list.default-limit"):
            return self._parameter(op, op_pointer, op_evidence)
        if family == "request":  # request.refused.<example>: the example it should have been
            return self._examples(op, op_pointer, op_evidence, status, rule.rsplit(".", 1)[1])
        if family in ("auth", "body", "error") or rule in _EXAMPLE_OF:
            name = _EXAMPLE_OF.get(rule) or {"auth": "unauthorized", "body": "invalidJson"}.get(
                family
            )
            return self._examples(op, op_pointer, op_evidence, status, name)
        return self._schema(op, op_pointer, op_evidence, status)

    def _route_level(self, rule: str) -> Blame:
        component = self.spec.components.get("responses", {}).get("MethodNotAllowed", {})
        return Blame(
            "response",
            _pointer("components", "responses", "MethodNotAllowed"),
            str(component.get(MARK, "inferred")),
        )

    def _examples(
        self,
        op: Operation,
        op_pointer: tuple[str, ...],
        op_evidence: str,
        status: int,
        name: str | None,
    ) -> Blame:
        code = str(status)
        examples = [e for e in op.examples() if (e.name == name if name else e.status == status)]
        if examples:
            code = str(examples[0].status)
        levels = [
            e.evidence if e.evidence != "documented" else self._response_evidence(op, code)
            for e in examples
        ]
        pointer = _pointer(*op_pointer, "responses", code)
        return Blame("example", pointer, weakest(levels, op_evidence))

    def _response_evidence(self, op: Operation, code: str) -> str:
        """A shared response component has its own evidence (``documented`` unless marked);
        a response written in the operation has its marker, else the operation's."""
        written = op.raw.get("responses", {}).get(code) or {}
        response = op.raw_responses.get(code) or {}
        default = "documented" if "$ref" in written else self.operation_evidence(op)
        return str(response.get(MARK, default))

    def _schema(
        self, op: Operation, op_pointer: tuple[str, ...], op_evidence: str, status: int
    ) -> Blame:
        code = str(status)
        response = op.raw_responses.get(code)
        if response is None:
            return Blame("operation", _pointer(*op_pointer), op_evidence)
        schema = (response.get("content", {}).get("application/json") or {}).get("schema", {})
        refs = list(self._refs(schema))
        payload = [ref for ref in refs if not ref.endswith(("/OkEnvelope", "/ErrorEnvelope"))]
        own = self._response_evidence(op, code)
        levels = [
            str(level)
            for ref in payload
            for schema in [self.spec.resolve({"$ref": ref})]
            for level in (schema.get(MARK, "documented"), schema.get(REQUIRED_MARK))
            if level is not None
        ]
        location = payload[0] if payload else _pointer(*op_pointer, "responses", code)
        return Blame("schema", location, weakest([*levels, own], own))

    def _refs(self, node: Any, seen: frozenset[str] = frozenset()) -> Iterator[str]:
        """The ``$ref``s of a schema, depth first (components only, each once per branch)."""
        if isinstance(node, Mapping):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/components/schemas/"):
                if ref not in seen:
                    yield ref
                    yield from self._refs(self.spec.resolve(node), seen | {ref})
                return
            for value in node.values():
                yield from self._refs(value, seen)
        elif isinstance(node, list):
            for value in node:
                yield from self._refs(value, seen)

    def _parameter(self, op: Operation, op_pointer: tuple[str, ...], op_evidence: str) -> Blame:
        for node in op.raw.get("parameters", []):
            ref = node.get("$ref") if isinstance(node, Mapping) else None
            resolved = self.spec.resolve(node)
            if resolved.get("name") == "limit":
                where = ref if isinstance(ref, str) else _pointer(*op_pointer, "parameters")
                return Blame("parameter", where, str(resolved.get(MARK, op_evidence)))
        return Blame("operation", _pointer(*op_pointer), op_evidence)
