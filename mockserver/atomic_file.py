"""Atomic file writes: readers only ever see the old or the new file, whole.

The text goes to a temporary file beside the target, is flushed to disk, then renamed over it,
so a crash mid-write leaves the previous file whole; an existing file keeps its mode.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

#: The mode of a new file (state and recorded worlds hold partner keys).
NEW_FILE_MODE = 0o600


def temporary_prefix(path: Path) -> str:
    """The name prefix of the temporary files written beside ``path``."""
    return f".{path.name}."


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file, fsync, rename and fsync the folder."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        mode = os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    handle, temporary = tempfile.mkstemp(
        prefix=temporary_prefix(path), suffix=".tmp", dir=path.parent
    )
    try:
        os.fchmod(handle, mode)
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
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
