"""State files: every namespace written as JSON, atomically, and read back at start.

A write goes to a temporary file beside the target, is flushed to disk, then renamed over it, so
a crash mid-write leaves the previous file whole.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mockserver.clock import format_ms
from mockserver.errors import NorthcaMockError
from mockserver.faults import FaultPlan

if TYPE_CHECKING:
    from mockserver.namespaces import Namespaces
    from mockserver.spec import Operation
    from mockserver.state import State
    from mockserver.world import World

#: Turns a saved world (a dict) into a ``World``, raising ``ValueError`` if it cannot be used.
WorldLoader = Callable[[Any], "World"]

FORMAT = "northca-mock-state"
VERSION = 1


class StateFileError(NorthcaMockError, ValueError):
    """A state file that cannot be read back."""


def write_atomically(path: Path, payload: Mapping[str, Any]) -> None:
    """Write JSON to ``path`` so that readers only ever see the old or the new file, whole."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(payload, stream, ensure_ascii=False, separators=(",", ":"))
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)


def save(namespaces: Mapping[str, State], path: Path) -> None:
    """Write every namespace to ``path`` (stamped with the default namespace's clock)."""
    dumps = {name: state.dump() for name, state in list(namespaces.items())}
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "written_at": format_ms(namespaces[""].clock.now_ms()),
        "namespaces": dumps,
    }
    write_atomically(path, payload)


def load(
    namespaces: Namespaces,
    path: Path,
    load_world: WorldLoader,
    operations: Mapping[str, Operation],
) -> None:
    """Restore every namespace saved in ``path`` (a missing file is an empty start).

    ``load_world`` reads each saved world; ``operations`` are the ones fault plans may name.
    """
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return
    except (OSError, ValueError) as exc:
        raise StateFileError(f"{path}: cannot read the state file: {exc}") from exc
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise StateFileError(f"{path}: not a northca-mock state file")
    if payload.get("version") != VERSION:
        raise StateFileError(f"{path}: state file version {payload.get('version')!r} unsupported")
    saved = payload.get("namespaces", {})
    if not isinstance(saved, dict):
        raise StateFileError(f"{path}: namespaces: expected a mapping")
    for name, dump in saved.items():
        try:
            if not isinstance(dump, dict) or not isinstance(dump.get("world"), dict):
                raise ValueError("expected a mapping with a world")
            state = namespaces.state_for(name)
            state.load(load_world(dump["world"]))
            faults = FaultPlan.parse(dump.get("faults"), operations, "faults")
            state.restore(dump, faults)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise StateFileError(f"{path}: namespace {name!r}: {detail}") from exc
