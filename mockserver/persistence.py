"""State files: every namespace written as JSON, atomically, and read back at start.

A write goes to a temporary file beside the target, is flushed to disk, then renamed over it, so
a crash mid-write leaves the previous file whole.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mockserver.clock import format_ms
from mockserver.faults import FaultPlan

if TYPE_CHECKING:
    from mockserver.app import MockServer

FORMAT = "northca-mock-state"
VERSION = 1


class StateFileError(ValueError):
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


def save(server: MockServer, path: Path) -> None:
    """Write every namespace of ``server`` to ``path``."""
    namespaces = {name: state.dump() for name, state in list(server.states.items())}
    payload = {
        "format": FORMAT,
        "version": VERSION,
        "written_at": format_ms(server.state.clock.now_ms()),
        "namespaces": namespaces,
    }
    write_atomically(path, payload)


def load(server: MockServer, path: Path) -> None:
    """Restore every namespace saved in ``path`` (a missing file is an empty start)."""
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
    namespaces = payload.get("namespaces", {})
    if not isinstance(namespaces, dict):
        raise StateFileError(f"{path}: namespaces: expected a mapping")
    for name, dump in namespaces.items():
        try:
            if not isinstance(dump, dict) or not isinstance(dump.get("world"), dict):
                raise ValueError("expected a mapping with a world")
            state = server.state_for(name)
            state.load(server.load_world(dump["world"]))
            faults = FaultPlan.parse(dump.get("faults"), server.spec.operations, "faults")
            state.restore(dump, faults)
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise StateFileError(f"{path}: namespace {name!r}: {detail}") from exc
