"""Every change (and every read of KB content) the UI makes, each checking the principal's rights first.

Pages hide what a user may not do; these functions are what refuse it, so a stale page, a forged widget
event or a button shown by mistake still cannot change a knowledge base the user has no right to.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from sqlmodel import col, select

from kb_app import curation
from kb_app.auth import Principal
from kb_app.catalog.tables import ChunkRow, FileRow
from kb_app.container import Container
from kb_app.errors import KBError, PermissionDenied
from kb_app.schema import FileReport, ScoredChunk


class Upload(Protocol):
    """What the app needs of a Streamlit UploadedFile."""

    name: str

    def getvalue(self) -> bytes: ...


def ensure(allowed: bool, what: str) -> None:
    """Raise PermissionDenied unless `allowed`."""
    if not allowed:
        raise PermissionDenied(f"Not allowed: {what}. Ask an administrator for access.")


# -- knowledge bases --------------------------------------------------------------------------------
def create_kb(
    app: Container,
    user: Principal,
    name: str,
    description: str = "",
    embedder: str = "",
    chunk_size: int | None = None,
    chunk_overlap: int | None = None,
) -> str:
    """Create an empty KB indexed with the `embedder` backend (default: the configured one), split at
    `chunk_size` characters (default: the configured size)."""
    from kb_app.kb_chunking import set_kb_chunking, validate_chunking
    from kb_app.names import validate_kb_name

    ensure(user.can_manage_kbs, "create knowledge bases")
    name = validate_kb_name(name)
    if app.catalog.find_kb(name) is not None:
        raise KBError(f"A knowledge base named '{name}' already exists: choose another name.")
    if chunk_size is not None:
        validate_chunking(chunk_size, chunk_overlap or 0)
    if embedder and embedder != app.settings.embedder.backend:
        embedder_id = app.embedder(embedder).embedder_id
        app.embedder_for_id(embedder_id)  # raises before creating a KB that could not be opened again
        app.catalog.create_kb(name, embedder_id, description.strip())
    kb = app.open_kb(name, create=True, description=description.strip())
    if chunk_size is not None:
        set_kb_chunking(app, kb.kb_id, chunk_size, chunk_overlap)
    return kb.name


def rename_kb(app: Container, user: Principal, old: str, new: str) -> None:
    ensure(user.can_manage_kbs, "rename knowledge bases")
    curation.rename_kb(app, old, new)


def delete_kb(app: Container, user: Principal, name: str) -> None:
    ensure(user.can_manage_kbs, "delete knowledge bases")
    app.delete_kb(name)


def set_threshold(app: Container, user: Principal, kb_name: str, threshold: float | None) -> None:
    """Set (or with None, clear) a KB's own refusal threshold."""
    ensure(user.can_manage_kbs, "change a knowledge base's threshold")
    if threshold is not None and not 0.0 <= threshold <= 1.0:
        raise KBError(f"The threshold is a relevance from 0 to 1, not {threshold}.")
    app.catalog.set_threshold(app.open_kb(kb_name).kb_id, threshold)


def set_faq(app: Container, user: Principal, kb_name: str, enabled: bool, threshold: float) -> None:
    """Switch a KB's FAQ mode (stored answers for matching questions) and set its similarity threshold."""
    from kb_app.faq_mode import set_faq_mode

    ensure(user.can_manage_kbs, "change a knowledge base's FAQ mode")
    set_faq_mode(app, kb_name, enabled, threshold)


# -- files ------------------------------------------------------------------------------------------
def list_files(app: Container, user: Principal, kb_name: str) -> list[FileRow]:
    ensure(user.can_read(kb_name), f"read knowledge base '{kb_name}'")
    return app.open_kb(kb_name).files()


def upload(app: Container, user: Principal, kb_name: str, uploads: Sequence[Upload]) -> list[int]:
    """Stage each upload and queue it for background ingestion; returns the job ids."""
    ensure(user.can_edit(kb_name), f"add files to '{kb_name}'")
    paths = [app.jobs.stage_upload(kb_name, item.name, item.getvalue()) for item in uploads]
    return app.jobs.submit(kb_name, paths, user=user.username)


def jobs(app: Container, user: Principal, kb_name: str) -> list[Any]:
    ensure(user.can_read(kb_name), f"read knowledge base '{kb_name}'")
    return list(app.jobs.jobs(kb_name))


def delete_file(app: Container, user: Principal, kb_name: str, file_name: str) -> int:
    ensure(user.can_edit(kb_name), f"delete files of '{kb_name}'")
    return curation.delete_file(app, kb_name, file_name)


def reindex_file(app: Container, user: Principal, kb_name: str, file_name: str) -> FileReport:
    ensure(user.can_edit(kb_name), f"re-index files of '{kb_name}'")
    return curation.reindex_file(app, kb_name, file_name)


def original(app: Container, user: Principal, kb_name: str, file_name: str) -> Path:
    ensure(user.can_read(kb_name), f"read knowledge base '{kb_name}'")
    return curation.original_path(app, kb_name, file_name)


# -- chunks -----------------------------------------------------------------------------------------
def file_chunks(app: Container, user: Principal, kb_name: str, file_name: str) -> list[ChunkRow]:
    """A file's chunks in order, disabled ones included (the catalog's Chunk records drop that flag)."""
    ensure(user.can_read(kb_name), f"read knowledge base '{kb_name}'")
    kb = app.open_kb(kb_name)
    row = app.catalog.get_file(kb.kb_id, file_name)
    if row is None:
        raise KBError(f"Knowledge base '{kb_name}' has no file '{file_name}'.")
    with app.catalog.session() as s:
        query = select(ChunkRow).where(ChunkRow.file_id == row.id).order_by(col(ChunkRow.ordinal))
        return list(s.exec(query))


def edit_chunk(app: Container, user: Principal, kb_name: str, chunk_id: str, text: str) -> None:
    ensure(user.can_edit(kb_name), f"edit chunks of '{kb_name}'")
    curation.edit_chunk(app, kb_name, chunk_id, text)


def set_chunk_enabled(app: Container, user: Principal, kb_name: str, chunk_id: str, enabled: bool) -> None:
    ensure(user.can_edit(kb_name), f"edit chunks of '{kb_name}'")
    curation.set_chunk_enabled(app, kb_name, chunk_id, enabled)


# -- search -----------------------------------------------------------------------------------------
def search(
    app: Container, user: Principal, kb_name: str, query: str, top_k: int
) -> tuple[list[ScoredChunk], float]:
    """Retrieval hits for `query` and the KB's refusal threshold (the hit-test page)."""
    ensure(user.can_read(kb_name), f"search knowledge base '{kb_name}'")
    kb = app.open_kb(kb_name)
    return app.retriever(kb).search(query.strip(), top_k=top_k), app.threshold(kb)


def locate_chunk(app: Container, user: Principal, chunk_id: str) -> tuple[str, ChunkRow, str] | None:
    """(KB name, chunk row, file name) of a cited chunk, found by its id in any KB; None once it is gone
    (file deleted or re-indexed since the answer)."""
    from kb_app.catalog.tables import KnowledgeBaseRow

    with app.catalog.session() as s:
        row = s.get(ChunkRow, chunk_id)
        kb = s.get(KnowledgeBaseRow, row.kb_id) if row is not None else None
        file = s.get(FileRow, row.file_id) if row is not None else None
    if row is None or kb is None or file is None:
        return None
    ensure(user.can_read(kb.name), f"read knowledge base '{kb.name}'")
    return kb.name, row, file.name
