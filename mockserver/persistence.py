"""State files: every namespace written as JSON, atomically, and read back at start.

A write goes to a temporary file beside the target, is flushed to disk, then renamed over it, so
a crash mid-write leaves the previous file whole; the file keeps its mode. A file is read as
strictly as a world (``state_check``), and one server at a time owns it (:class:`StateFileLock`).
"""

from __future__ import annotations

import fcntl
import json
import math
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mockserver import atomic_file
from mockserver.bodies import MAX_JSON_DEPTH
from mockserver.clock import format_ms
from mockserver.errors import NorthcaMockError
from mockserver.faults import FaultPlan
from mockserver.gate import UnstorableError, check_storable
from mockserver.state_check import check_dump
from mockserver.storage_budget import StorageFullError

if TYPE_CHECKING:
    from mockserver.namespaces import Namespaces
    from mockserver.spec import Spec
    from mockserver.state import State
    from mockserver.world import World

#: Turns a saved world (a dict) into a ``World``, raising ``ValueError`` if it cannot be used.
WorldLoader = Callable[[Any], "World"]

FORMAT = "northca-mock-state"
VERSION = 1
#: Nesting a state file may have: its own levels above a record, and a record's body depth.
MAX_FILE_DEPTH = MAX_JSON_DEPTH + 16


class StateFileError(NorthcaMockError, ValueError):
    """A state file that cannot be read back, or is in use."""


def write_atomically(path: Path, payload: Mapping[str, Any]) -> None:
    """Write ``payload`` as JSON to ``path`` atomically (see :mod:`mockserver.atomic_file`).

    Never a file the reader would refuse: a NaN raises here, and the previous file stays.
    """
    atomic_file.write_atomically(
        path, json.dumps(payload, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    )


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


class StateFileLock:
    """One server per state file: an exclusive ``flock`` on ``<real file>.lock``, held until exit.

    The lock sits beside the file the path resolves to (symlinks followed), so two servers that
    reach one file through different paths share it. Taking it also removes temporary files a
    killed writer of that file left beside it.
    """

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._fd: int | None = None

    @property
    def lock_path(self) -> Path:
        """``<real path>.lock``: resolved when asked, as the file may not exist yet."""
        real = atomic_file.real_path(self.path)
        return real.with_name(real.name + ".lock")

    def acquire(self) -> None:
        """Take the lock, or raise :class:`StateFileError` (one line) if another server has it."""
        atomic_file.real_path(self.path).parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise StateFileError(
                f"{self.path}: in use by another northca-mock (pid {holder});"
                " stop it or choose another --state-file"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        remove_stale_temporaries(self.path)

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock; the lock file stays (no unlink race)
            self._fd = None


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Delete the temporary files of unfinished writes of ``path`` (never those of another
    file's writes); the ones deleted."""
    removed = atomic_file.temporaries_of(path)
    for candidate in removed:
        candidate.unlink(missing_ok=True)
    return removed


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:20]}... is out of range")
    return value


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def read_payload(path: Path) -> Any:
    """The parsed state file: strict JSON through :func:`~mockserver.gate.check_storable`
    (finite numbers, no lone surrogate, bounded nesting); None if missing."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise StateFileError(f"{path}: cannot read the state file: {exc}") from exc
    try:
        payload = json.loads(text, parse_float=_finite_float, parse_constant=_reject_constant)
    except RecursionError:
        raise StateFileError(
            f"{path}: not a state file: nested deeper than {MAX_FILE_DEPTH} levels"
        ) from None
    except ValueError as exc:
        raise StateFileError(f"{path}: not valid JSON: {exc}") from None
    try:  # the gate every world, fault plan and body passed when it entered
        check_storable(payload, max_depth=MAX_FILE_DEPTH, json_text=text)
    except UnstorableError as exc:
        if exc.problem.startswith("nested"):
            raise StateFileError(f"{path}: not a state file: {exc.problem}") from None
        raise StateFileError(f"{path}: {exc}") from None
    return payload


def load(
    namespaces: Namespaces,
    path: Path,
    load_world: WorldLoader,
    spec: Spec,
    max_namespaces: int,
) -> None:
    """Restore every namespace saved in ``path`` (a missing file is an empty start).

    ``load_world`` reads each saved world; every namespace is checked before it is restored.
    """
    payload = read_payload(path)
    if payload is None:
        return
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise StateFileError(f"{path}: not a northca-mock state file")
    if payload.get("version") != VERSION:
        raise StateFileError(f"{path}: state file version {payload.get('version')!r} unsupported")
    saved = payload.get("namespaces", {})
    if not isinstance(saved, dict):
        raise StateFileError(f"{path}: namespaces: expected a mapping")
    if len(saved) > max_namespaces:
        raise StateFileError(
            f"{path}: namespaces: {len(saved)} namespaces, more than the limit of"
            f" {max_namespaces} (serve --max-namespaces)"
        )
    for name, dump in saved.items():
        try:
            if not isinstance(dump, dict) or not isinstance(dump.get("world"), dict):
                raise ValueError("expected a mapping with a world")
            world = load_world(dump["world"])
            faults = FaultPlan.parse(dump.get("faults"), spec.operations, "faults")
            state = namespaces.state_for(name)
            check_dump(dump, world, spec, state.clock.now_ms() - state.clock.offset_ms)
            state.load(world)
            state.restore(dump, faults)
        except StorageFullError as exc:
            raise StateFileError(f"{path}: namespace {name!r}: {exc.detail}") from None
        except (KeyError, TypeError, AttributeError, ValueError, OverflowError) as exc:
            detail = f"missing {exc}" if isinstance(exc, KeyError) else str(exc)
            raise StateFileError(f"{path}: namespace {name!r}: {detail}") from exc
