"""Atomic file writes: readers only ever see the old or the new file, whole.

The text goes to a temporary file beside the target, is flushed to disk, then renamed over it,
so a crash mid-write leaves the previous file whole; an existing file keeps its mode. A
symlinked target is followed: the file it points to is replaced, the link stays.

A temporary file is named ``.<target name>.<token>.tmp``, the token without dots, so the
target it belongs to is the name between the first dot and the token: the temporaries of
``state.json`` are never those of ``state.json.b`` (:func:`temporaries_of`).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

#: The mode of a new file (state and recorded worlds hold partner keys).
NEW_FILE_MODE = 0o600
SUFFIX = ".tmp"


def real_path(path: Path | str) -> Path:
    """``path`` with every symlink resolved (the file a write must replace)."""
    return Path(os.path.realpath(path))


def temporary_name(path: Path) -> str:
    """A new temporary file name for a write of ``path`` (its token: 16 hex digits)."""
    return f".{path.name}.{secrets.token_hex(8)}{SUFFIX}"


def belongs_to(candidate: str, path: Path) -> bool:
    """Whether the file name ``candidate`` is a temporary file of a write of ``path``."""
    if not (candidate.startswith(".") and candidate.endswith(SUFFIX)):
        return False
    target, dot, token = candidate[1 : -len(SUFFIX)].rpartition(".")
    return bool(dot) and bool(token) and target == path.name


def temporaries_of(path: Path) -> list[Path]:
    """The temporary files beside ``path`` (symlinks resolved) that writes of it left."""
    path = real_path(path)
    try:
        names = os.listdir(path.parent)
    except FileNotFoundError:
        return []
    return sorted(path.parent / name for name in names if belongs_to(name, path))


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, fsync, rename and fsync the folder."""
    path = real_path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    while True:
        temporary = path.parent / temporary_name(path)
        try:
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, NEW_FILE_MODE)
            break
        except FileExistsError:  # pragma: no cover - 64 random bits
            continue
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            os.fchmod(handle, mode)
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
