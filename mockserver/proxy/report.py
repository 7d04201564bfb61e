"""What the proxy found: exchanges counted, deviations recorded, reports rendered.

A deviation is one rule one exchange broke, with the operation, method, path and status, what
the spec expected against what came, and the part of the spec at fault with its evidence level
(``documented``, ``partial``, ``inferred``). Identical deviations (same operation, method,
status, rule, expectation and answer) are kept once with a ``count``; at most
:data:`MAX_DISTINCT` distinct ones are kept, and every one is counted.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from mockserver.atomic_file import write_atomically
from mockserver.proxy.evidence import LEVELS

MAX_DISTINCT = 1000
#: The order of the evidence levels in the Markdown report: the docs broken first.
LEVEL_ORDER = LEVELS[::-1]


class DeviationLog:
    """Thread-safe counts of exchanges and the distinct deviations found in them."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.exchanges = 0
        self.by_operation: Counter[str] = Counter()
        self.upstream_failures: Counter[str] = Counter()
        self.dropped = 0
        self._deviations: dict[tuple[Any, ...], dict[str, Any]] = {}

    def add(self, operation_id: str | None, deviations: Iterable[dict[str, Any]]) -> None:
        """Count one exchange (of ``operation_id``, None outside the spec) and its deviations."""
        with self._lock:
            self.exchanges += 1
            self.by_operation[operation_id or "(no operation)"] += 1
            for deviation in deviations:
                key = tuple(
                    deviation[k]
                    for k in ("operation_id", "method", "status", "rule", "expected", "actual")
                )
                known = self._deviations.get(key)
                if known is not None:
                    known["count"] += 1
                elif len(self._deviations) < MAX_DISTINCT:
                    self._deviations[key] = {**deviation, "count": 1}
                else:
                    self.dropped += 1

    def failed_upstream(self, kind: str) -> None:
        with self._lock:
            self.upstream_failures[kind] += 1

    def distinct(self) -> int:
        """How many distinct deviations are kept."""
        with self._lock:
            return len(self._deviations)

    def live(self) -> dict[str, Any]:
        """``GET /__mock/deviations``: the exchange count and the deviations."""
        with self._lock:
            return {
                "exchanges": self.exchanges,
                "deviations": [dict(d) for d in self._deviations.values()],
            }

    def document(self, upstream: str) -> dict[str, Any]:
        """``deviations.json``: the live answer, plus per-operation counts and failures."""
        with self._lock:
            return {
                "upstream": upstream,
                "exchanges": self.exchanges,
                "exchanges_by_operation": dict(sorted(self.by_operation.items())),
                "upstream_failures": dict(sorted(self.upstream_failures.items())),
                "deviations_not_kept": self.dropped,
                "deviations": [dict(d) for d in self._deviations.values()],
            }

    def markdown(self, doc: dict[str, Any], spec_file: str) -> str:
        """``deviations.md`` of ``doc`` (:meth:`document`): per operation, the exchanges seen
        and its deviations."""
        upstream = doc["upstream"]
        lines = [
            f"# Deviations from {spec_file}",
            "",
            f"Upstream: `{upstream}`. Exchanges: {doc['exchanges']}."
            f" Distinct deviations: {len(doc['deviations'])}.",
        ]
        failures = doc["upstream_failures"]
        if failures:
            shown = ", ".join(f"{kind}: {n}" for kind, n in failures.items())
            lines.append(f"Upstream failures (answered 502/504 by the proxy): {shown}.")
        lines += [
            "",
            "Evidence says how sure the spec is of the part contradicted: `documented` (Northca's"
            " own reference shows it: Northca differs from its docs), `partial`, or `inferred`"
            " (a guess of northca-mock: the guess was wrong).",
        ]
        grouped: dict[str, list[dict[str, Any]]] = {}
        for deviation in doc["deviations"]:
            grouped.setdefault(deviation["operation_id"] or "(no operation)", []).append(deviation)
        for operation, seen in doc["exchanges_by_operation"].items():
            found = grouped.get(operation, [])
            lines += ["", f"## {operation}", "", f"Exchanges: {seen}. Deviations: {len(found)}."]
            if not found:
                continue
            lines += [
                "",
                "| evidence | rule | method path | status | expected | actual | count"
                " | spec location |",
                "|---|---|---|---|---|---|---|---|",
            ]
            for d in sorted(found, key=lambda d: (LEVEL_ORDER.index(d["evidence"]), d["rule"])):
                cells = [
                    d["evidence"],
                    d["rule"],
                    f"{d['method']} {d['path']}",
                    str(d["status"]),
                    d["expected"],
                    d["actual"],
                    str(d["count"]),
                    f"{spec_file}{d['spec_location']}",
                ]
                lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        return "\n".join(lines) + "\n"

    def write(
        self,
        directory: Path,
        upstream: str,
        spec_file: str,
        redact: Callable[[dict[str, Any]], dict[str, Any]] = lambda doc: doc,
    ) -> list[Path]:
        """Write ``deviations.json`` and ``deviations.md`` into ``directory`` (atomically),
        both from :meth:`document` passed through ``redact`` (secrets out)."""
        directory.mkdir(parents=True, exist_ok=True)
        json_path = directory / "deviations.json"
        md_path = directory / "deviations.md"
        doc = redact(self.document(upstream))  # one view for both files
        write_atomically(json_path, json.dumps(doc, indent=2) + "\n")
        write_atomically(md_path, self.markdown(doc, spec_file))
        return [json_path, md_path]


def _cell(text: str) -> str:
    return "`" + text.replace("|", "\\|").replace("`", "'").replace("\n", " ") + "`"
