"""Staging of uploaded files: a clean name, a size limit, a folder of their own until ingested."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import BinaryIO

from kb_app.errors import KBError
from kb_app.names import clean_relative_name, validate_kb_name

# Most file systems allow 255 bytes per name; Chinese characters take 3 bytes each in UTF-8.
_MAX_NAME_BYTES = 240
_COPY_BLOCK = 2**20


def _fit_name(name: str) -> str:
    """Shorten a file name's stem (never its extension) until it fits a file system's name limit."""
    path = Path(name)
    suffix = path.suffix if len(path.suffix.encode()) <= 16 else ""
    stem = name[: len(name) - len(suffix)]
    while stem and len((stem + suffix).encode()) > _MAX_NAME_BYTES:
        stem = stem[:-1]
    return (stem or "upload") + suffix


def upload_name(filename: str) -> str:
    """The name an upload is stored and indexed under: its last path part, cleaned (no traversal, no
    control or invisible characters) and short enough for the file system."""
    return _fit_name(clean_relative_name(filename).rsplit("/", 1)[-1])


def stage_upload(uploads_dir: Path, kb_name: str, filename: str, data: bytes | BinaryIO, limit: int) -> Path:
    """Save `data` as `<uploads_dir>/<kb>/<random>/<clean name>` and return that path.

    Args:
        limit: Largest accepted size in bytes (KB_MAX_FILE_MB).

    Raises:
        InvalidName: for a KB name or file name that cannot be used.
        KBError: when the file is over the size limit (nothing is left on disk).
    """
    name = upload_name(filename)
    folder = uploads_dir / validate_kb_name(kb_name) / uuid.uuid4().hex
    folder.mkdir(parents=True)
    target = folder / name
    try:
        _write_limited(target, data, limit)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return target


def _write_limited(target: Path, data: bytes | BinaryIO, limit: int) -> None:
    too_big = KBError(
        f"'{target.name}' is larger than the {limit / 2**20:.0f} MiB upload limit (KB_MAX_FILE_MB): "
        "split the file or ask an administrator to raise the limit."
    )
    if isinstance(data, bytes | bytearray | memoryview):
        if len(data) > limit:
            raise too_big
        target.write_bytes(data)
        return
    written = 0
    with open(target, "wb") as out:
        while block := data.read(_COPY_BLOCK):
            written += len(block)
            if written > limit:
                raise too_big
            out.write(block)


def is_staged(uploads_dir: Path, path: Path) -> bool:
    """Whether `path` is a file `stage_upload` made (`<uploads_dir>/<kb>/<random>/<name>`)."""
    return path.resolve().parent.parent.parent == uploads_dir.resolve()


def remove_staged(uploads_dir: Path, path: Path) -> None:
    """Delete a staged upload and its folder; files outside `uploads_dir` are never touched."""
    if is_staged(uploads_dir, path):
        shutil.rmtree(path.resolve().parent, ignore_errors=True)
