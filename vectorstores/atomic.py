"""Crash-safe file replacement shared by the vector store and the keyword index.

A file is written to a sibling `<name>.tmp`, flushed to disk, then renamed over the target. A rename
within one directory is atomic on POSIX and Windows, so a reader sees either the old file or the new
one, never half of each; the directory is fsynced afterwards so the rename itself survives a power cut.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def fsync_file(path: Path) -> None:
    """Flush `path`'s content to disk."""
    with open(path, "rb+") as handle:
        os.fsync(handle.fileno())


def fsync_directory(directory: Path) -> None:
    """Flush a directory's entries (renames, new files) to disk; a no-op where the OS cannot."""
    if os.name == "nt":  # Windows cannot open a directory for fsync; NTFS journals renames itself.
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def replace_atomically(target: Path, write: Callable[[Path], None]) -> None:
    """Produce `target` by calling `write(tmp_path)` and renaming the result into place.

    If `write` raises (or the process dies), `target` keeps its previous content. A leftover
    `<name>.tmp` from a crash is harmless: readers never open it and the next write replaces it.

    Args:
        target: The file to create or replace; its directory must exist.
        write: Writes the complete new content to the path it is given.
    """
    tmp = target.with_name(target.name + ".tmp")
    try:
        write(tmp)
        fsync_file(tmp)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_directory(target.parent)


def write_bytes_atomically(target: Path, data: bytes) -> None:
    """Replace `target` with `data` crash-safely (see `replace_atomically`)."""

    def write(tmp: Path) -> None:
        tmp.write_bytes(data)

    replace_atomically(target, write)
