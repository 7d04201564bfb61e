"""One strict gate for everything that enters: data the server can always write and read back.

Worlds (``--seed``, ``POST /__mock/world``, ``NorthcaMock.set_world``), fault plans (a world's,
``POST /__mock/faults``, ``NorthcaMock.set_faults``), state files and partner request bodies pass
through :func:`check_storable` before anything is kept; a writer of recorded worlds calls it on
each record. It accepts exactly what the state file's writer
(``json.dumps``, UTF-8) writes and its strict reader reads back as equal data: mappings with
string keys, lists, strings that encode as UTF-8 (no lone surrogate), finite floats, integers
``json`` can print, booleans and null, nested at most ``max_depth`` levels.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from mockserver.errors import NorthcaMockError

#: Deeper data is refused: no Northca payload nests beyond a few levels, and deep nesting only
#: exhausts recursion in parsers and schema validators. A state file adds its own levels above.
MAX_JSON_DEPTH = 64
#: Integers beyond this size are printed through ``str``, which refuses the longest ones.
_SMALL_INT = 1 << 64


class UnstorableError(NorthcaMockError, ValueError):
    """Data the server could not write back and read again; ``where`` names the key."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where}: {problem}" if where else problem)
        self.where = where
        self.problem = problem


def check_storable(
    value: Any, where: str = "", *, max_depth: int = MAX_JSON_DEPTH, json_text: str | None = None
) -> None:
    """Raise :class:`UnstorableError` for the first part of ``value`` that is not storable JSON.

    ``where`` prefixes the key path in the message (``mdts[0].info.settings.a: ...``). The walks
    are iterative: any depth is reported, never a ``RecursionError``. ``json_text``: the text
    ``value`` was parsed from by ``json.loads`` refusing NaN and infinities; only the depth, and
    lone surrogates where the text escapes one, are then left to check (a large state file).
    """
    if json_text is not None and _SURROGATE_ESCAPE.search(json_text) is None:
        fine = _containers_fine(value, max_depth)
    else:
        fine = _storable_fast(value, max_depth)
    if not fine:
        _find_problem(value, where, max_depth)


_CONTAINERS = (dict, list, tuple)
#: A JSON escape of a UTF-16 surrogate (``\\ud800``): the only way JSON text holds a lone one.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _storable_fast(value: Any, max_depth: int) -> bool:
    """Whether ``value`` is storable, quickly: :func:`_containers_fine`, with its keys and
    leaves handed to the state file's own writer (C) and UTF-8 encoding a batch at a time, so
    that no text of the whole value is ever built (a 100,000-record world would hold it beside
    itself)."""
    if type(value) not in _CONTAINERS:
        return _writable([value])
    return _containers_fine(value, max_depth, leaves=[])


_BATCH = 8192


def _writable(leaves: list[Any]) -> bool:
    """Whether the JSON writer takes ``leaves`` (finite numbers, strings, bools, None) and
    their text encodes as UTF-8 (no lone surrogate)."""
    try:
        json.dumps(leaves, ensure_ascii=False, allow_nan=False, check_circular=False).encode()
    except (ValueError, TypeError, UnicodeEncodeError):
        return False
    return True


def _containers_fine(value: Any, max_depth: int, leaves: list[Any] | None = None) -> bool:
    """Mappings with string keys and lists only, nested at most ``max_depth`` levels. With
    ``leaves``, the keys and the other values are also collected there and checked by
    :func:`_writable` a batch at a time; without, a value that is no container is refused."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth or type(item) is tuple:
            return False
        if type(item) is dict:
            if not all(type(key) is str for key in item):
                return False
            if leaves is not None:
                leaves.extend(item)
            children: Any = item.values()
        elif type(item) is list:
            children = item
        else:
            return False
        for child in children:
            if type(child) in _CONTAINERS:
                stack.append((child, depth + 1))
            elif leaves is not None:
                leaves.append(child)
        if leaves is not None and len(leaves) >= _BATCH:
            if not _writable(leaves):
                return False
            leaves.clear()
    return leaves is None or _writable(leaves)


def _find_problem(value: Any, where: str, max_depth: int) -> None:
    """Raise :class:`UnstorableError` naming the first unstorable part of ``value``."""
    stack: list[tuple[Any, str, int]] = [(value, where, 1)]
    while stack:
        item, at, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item, at)
        elif item is None or isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if abs(item) >= _SMALL_INT:
                try:
                    str(item)
                except ValueError:
                    raise UnstorableError(at, "the integer has too many digits") from None
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise UnstorableError(at, f"{item!r} is not a JSON number (finite numbers only)")
        elif isinstance(item, dict):
            if depth > max_depth:
                raise UnstorableError(at, f"nested deeper than {max_depth} levels")
            for key, child in item.items():
                if not isinstance(key, str):
                    raise UnstorableError(
                        at, f"key {key!r} is a {type(key).__name__}: keys must be strings"
                    )
                _check_text(key, at)
                stack.append((child, _child_path(at, key), depth + 1))
        elif isinstance(item, list):
            if depth > max_depth:
                raise UnstorableError(at, f"nested deeper than {max_depth} levels")
            stack.extend((child, f"{at}[{index}]", depth + 1) for index, child in enumerate(item))
        else:
            raise UnstorableError(
                at,
                f"a {type(item).__name__} is not JSON (expected a string, number, boolean, null,"
                " list or mapping; quote dates and times)",
            )


def _child_path(where: str, key: str) -> str:
    """``where.key``; ``where['']`` for a key that would read ambiguously (empty, dotted)."""
    if not key or any(mark in key for mark in ".[]'"):
        return f"{where}[{key!r}]"
    return f"{where}.{key}" if where else key


def _check_text(text: str, where: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise UnstorableError(where, "a string holds a lone UTF-16 surrogate") from None
