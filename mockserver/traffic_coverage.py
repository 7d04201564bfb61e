"""Spec coverage of the traffic a mock saw: operations x documented responses, from the
counts its journal keeps (``Journal.tally``: every answer since the last reset, also those the
journal has dropped; reading them costs nothing per request).

For each operation of the spec: how often it was called, how often each documented status was
answered (and each documented error string, read from the journaled answer), and which statuses
were answered that the spec does not document. Entries without an operation (unknown paths) and
without an answer (a broken connection, status 0) are counted apart.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from mockserver.spec import Spec
from mockserver.tally import Tally


def traffic_coverage(spec: Spec, tally: Tally) -> dict[str, Any]:
    """Coverage of ``spec`` by the answers ``tally`` counted (see the module docstring)."""
    statuses: dict[str, Counter[int]] = {op_id: Counter() for op_id in spec.operations}
    errors: dict[str, Counter[tuple[int, str]]] = {op_id: Counter() for op_id in spec.operations}
    unrouted = no_answer = requests = 0
    for (op_id, status, message), n in tally.counts.items():
        requests += n
        if status == 0:
            no_answer += n
            continue
        if op_id is None or op_id not in statuses:
            unrouted += n
            continue
        statuses[op_id][status] += n
        if status >= 400 and message is not None:
            errors[op_id][(status, message)] += n
    operations = []
    seen_total = documented_total = called = 0
    for op_id, op in spec.operations.items():
        counts = statuses[op_id]
        responses = [
            {
                "status": status,
                "seen": counts[status],
                "errors": [
                    {
                        "name": example.name,
                        "error": example.message,
                        "seen": errors[op_id][(status, example.message)],
                    }
                    for example in op.errors.values()
                    if example.status == status
                ],
            }
            for status in sorted(op.statuses)
        ]
        undocumented = [
            {"status": status, "seen": counts[status]}
            for status in sorted(set(counts) - op.statuses)
        ]
        seen_total += sum(1 for response in responses if response["seen"])
        documented_total += len(responses)
        called += bool(counts)
        operations.append(
            {
                "operation_id": op_id,
                "method": op.method,
                "path": op.path,
                "calls": sum(counts.values()),
                "responses": responses,
                "undocumented": undocumented,
            }
        )
    return {
        "totals": {
            "requests": requests,
            "operations": len(spec.operations),
            "operations_called": called,
            "responses_documented": documented_total,
            "responses_seen": seen_total,
            "unrouted": unrouted,
            "no_answer": no_answer,
        },
        "operations": operations,
    }
