"""Office files are zip packages: refuse the ones that would unpack to an absurd size (zip bombs)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from kb_app.errors import CorruptDocument

# Loader default; the pipeline passes KB_INGEST_MAX_UNPACKED_MB instead.
MAX_UNPACKED_BYTES = 500 * 2**20


def check_unpacked_size(path: Path, source: str, limit: int) -> None:
    """Refuse a zip package whose members unpack to more than `limit` bytes (a zip bomb) before opening it."""
    try:
        with zipfile.ZipFile(path) as package:
            unpacked = sum(info.file_size for info in package.infolist())
    except (zipfile.BadZipFile, OSError) as error:
        raise CorruptDocument(
            f"'{source}' is damaged (its zip package cannot be read); save a fresh copy and upload again."
        ) from error
    if unpacked > limit:
        raise CorruptDocument(
            f"'{source}' would unpack to {unpacked / 2**20:.0f} MiB (limit {limit / 2**20:.0f} MiB); "
            "it looks like a zip bomb. Open it in its program, save a fresh copy and upload that "
            "(or raise KB_INGEST_MAX_UNPACKED_MB if the file is genuine)."
        )
