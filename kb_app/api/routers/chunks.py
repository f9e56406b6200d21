"""Chunks as retrieval sees them: list a file's chunks, edit a chunk's text, disable or enable it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from sqlmodel import col, select

from kb_app import curation
from kb_app.api.deps import Editor, Reader, container_of
from kb_app.api.models import ChunkOut, ChunkPatch
from kb_app.api.routers.files import existing_file
from kb_app.catalog.store import HEADING_SEPARATOR
from kb_app.catalog.tables import ChunkRow
from kb_app.errors import KBError, NotFound

router = APIRouter(tags=["chunks"])
Container = Annotated[Any, Depends(container_of)]


def _chunk_out(row: ChunkRow) -> ChunkOut:
    return ChunkOut(
        chunk_id=row.chunk_id,
        ordinal=row.ordinal,
        text=row.text,
        page=row.page,
        heading_path=row.heading.split(HEADING_SEPARATOR) if row.heading else [],
        enabled=row.enabled,
    )


@router.get("/kbs/{name}/files/{file:path}/chunks", response_model=list[ChunkOut])
def list_chunks(name: str, file: str, _: Reader, container: Container) -> list[ChunkOut]:
    """The file's chunks in order, disabled ones included (`enabled: false`)."""
    kb = container.open_kb(name)
    file_row = container.catalog.get_file(kb.kb_id, existing_file(container, name, file))
    with container.catalog.session() as s:
        query = select(ChunkRow).where(ChunkRow.file_id == file_row.id).order_by(col(ChunkRow.ordinal))
        return [_chunk_out(row) for row in s.exec(query)]


@router.patch("/kbs/{name}/chunks/{chunk_id}", response_model=ChunkOut)
def update_chunk(name: str, chunk_id: str, body: ChunkPatch, _: Editor, container: Container) -> ChunkOut:
    """Change a chunk's text (it is re-embedded) and/or whether retrieval may use it."""
    if body.text is None and body.enabled is None:
        raise KBError("Nothing to change: give `text` and/or `enabled`.")
    kb = container.open_kb(name)
    if container.catalog.chunk_row(kb.kb_id, chunk_id) is None:
        raise NotFound(f"Knowledge base '{kb.name}' has no chunk '{chunk_id}' (it may have been re-indexed).")
    if body.text is not None:
        curation.edit_chunk(container, kb.name, chunk_id, body.text)
    if body.enabled is not None:
        curation.set_chunk_enabled(container, kb.name, chunk_id, body.enabled)
    found = container.catalog.chunk_row(kb.kb_id, chunk_id)
    return _chunk_out(found[0])
