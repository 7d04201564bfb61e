"""Mutants that need no run: those that are not valid Python, and those only in annotations.

Every mutated module has ``from __future__ import annotations``, so a function's or a variable's
annotation is never evaluated: a mutant inside one is equivalent by construction. cosmic-ray
also reads ``**`` unpacking (``{**record}``) as the power operator; its "mutants" there do not
compile. Both are recorded as skipped, with the reason, and left out of the share.
"""

from __future__ import annotations

import ast
import warnings
from functools import cache
from pathlib import Path
from typing import Any

from cosmic_ray.mutating import mutate_code
from cosmic_ray.plugins import get_operator
from cosmic_ray.work_db import WorkDB
from cosmic_ray.work_item import WorkerOutcome, WorkResult

ANNOTATION = (
    "equivalent: inside an annotation, never evaluated (from __future__ import annotations)"
)
INVALID = "not a mutant: the mutated module is not valid Python"

Span = tuple[tuple[int, int], tuple[int, int]]


@cache
def annotation_spans(path: Path) -> tuple[Span, ...]:
    """(start, end) positions, 1-based lines, of every annotation in the module at ``path``."""
    spans: list[Span] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        annotations: list[ast.expr | None] = []
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            args = node.args
            every = [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]
            annotations += [arg.annotation for arg in every if arg is not None]
            annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        for found in annotations:
            if found is not None and found.end_lineno is not None:
                end_col = found.end_col_offset or 0
                spans.append(((found.lineno, found.col_offset), (found.end_lineno, end_col)))
    return tuple(spans)


def reason_to_skip(root: Path, mutation: Any) -> str | None:
    """Why ``mutation`` (a cosmic-ray ``MutationSpec``) needs no run, or None."""
    path = root / mutation.module_path
    start = tuple(mutation.start_pos)
    if any(begin <= start < end for begin, end in annotation_spans(path)):
        return ANNOTATION
    operator = get_operator(mutation.operator_name)(**(mutation.operator_args or {}))
    mutated = mutate_code(path.read_text(encoding="utf-8"), operator, mutation.occurrence)
    if mutated is None:
        return INVALID
    try:
        with warnings.catch_warnings():  # `x is ""` and the like: valid, and the point
            warnings.simplefilter("ignore", SyntaxWarning)
            compile(mutated, str(path), "exec")
    except SyntaxError:
        return INVALID
    return None


def skip_needless(root: Path, db: WorkDB) -> dict[str, int]:
    """Mark the pending mutants that need no run as skipped; how many, by reason."""
    counts: dict[str, int] = {}
    for item in list(db.pending_work_items):
        reasons = {reason_to_skip(root, mutation) for mutation in item.mutations} - {None}
        if reasons:
            reason = sorted(r for r in reasons if r)[0]
            counts[reason] = counts.get(reason, 0) + 1
            db.set_result(
                item.job_id, WorkResult(worker_outcome=WorkerOutcome.SKIPPED, output=reason)
            )
    return counts
