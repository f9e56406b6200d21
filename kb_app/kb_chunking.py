"""A knowledge base's own splitter size, chosen when it is created (UI, API, `kb ingest --chunk-size`).

Stored in the KB's `kb_settings` row; a KB without one splits with the configured
`KB_CHUNKING__CHUNK_SIZE` / `KB_CHUNKING__CHUNK_OVERLAP`. Short FAQ-like answers want small chunks,
long manuals larger ones; a size changes only what is ingested or re-indexed after it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from kb_app.catalog.tables import KBSettingsRow
from kb_app.errors import KBError
from kb_app.settings import ChunkingSettings

if TYPE_CHECKING:
    from kb_app.container import Container

MIN_CHUNK, MAX_CHUNK = 50, 4000


def validate_chunking(chunk_size: int, chunk_overlap: int) -> ChunkingSettings:
    """The (size, overlap) pair when it is usable, else a KBError saying what is allowed."""
    if not MIN_CHUNK <= chunk_size <= MAX_CHUNK:
        raise KBError(f"Chunk size must be {MIN_CHUNK} to {MAX_CHUNK} characters, not {chunk_size}.")
    if not 0 <= chunk_overlap <= chunk_size // 2:
        raise KBError(
            f"Chunk overlap must be 0 to half the chunk size ({chunk_size // 2}), not {chunk_overlap}."
        )
    return ChunkingSettings(chunk_size=chunk_size, chunk_overlap=chunk_overlap)


def kb_chunking(container: Container, kb_id: int) -> ChunkingSettings:
    """The splitter size of KB `kb_id`: its own when it has one, else the configured default."""
    default = container.settings.chunking
    with container.catalog.session() as s:
        row = s.get(KBSettingsRow, kb_id)
    if row is None or row.chunk_size is None:
        return default
    overlap = default.chunk_overlap if row.chunk_overlap is None else row.chunk_overlap
    return ChunkingSettings(chunk_size=row.chunk_size, chunk_overlap=min(overlap, row.chunk_size // 2))


def set_kb_chunking(
    container: Container, kb_id: int, chunk_size: int, chunk_overlap: int | None = None
) -> None:
    """Give KB `kb_id` its own splitter size (overlap defaults to the configured one, capped at half)."""
    if chunk_overlap is None:
        chunk_overlap = min(container.settings.chunking.chunk_overlap, chunk_size // 2)
    chosen = validate_chunking(chunk_size, chunk_overlap)
    with container.catalog.session() as s:
        row = s.get(KBSettingsRow, kb_id) or KBSettingsRow(kb_id=kb_id)
        row.chunk_size, row.chunk_overlap = chosen.chunk_size, chosen.chunk_overlap
        s.add(row)
        s.commit()
