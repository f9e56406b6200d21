"""What an administrator does to a knowledge base's content: rename it, delete or re-index a file, fix or
hide a chunk, and the numbers of the KB list page.

Every change holds the KB's write lock (`Container.writing`), changes the vector index first and the
catalog second (a crash in between is repaired by `KnowledgeBase.reconcile`), and bumps the catalog
generation, so BM25 indexes and cached KB objects in every process pick it up. Disabled chunks have no
vector and are left out of the BM25 index, so retrieval never sees them and their ranks stay honest.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from sqlalchemy.exc import IntegrityError

from kb_app.catalog.store import chunk_from_row
from kb_app.catalog.tables import ChunkRow, FileRow
from kb_app.errors import InvalidName, KBError
from kb_app.knowledge_base import KnowledgeBase
from kb_app.names import clean_relative_name, validate_kb_name
from kb_app.schema import Chunk, FileReport

if TYPE_CHECKING:
    from kb_app.container import Container

# How long an admin action waits for a running ingest job before saying the KB is busy.
WAIT_S = 10.0


def rename_kb(container: Container, old: str, new: str) -> None:
    """Rename a knowledge base: its folder, catalog row and queued jobs.

    Raises:
        KBError: when `new` is taken (by a KB, or by a folder in KB_HOME).
    """
    new = validate_kb_name(new)
    if new == validate_kb_name(old):
        return
    if container.catalog.find_kb(new) is not None or (container.settings.home / new).exists():
        raise KBError(f"A knowledge base named '{new}' already exists: choose another name.")
    with container.writing(old, wait_s=WAIT_S) as kb:
        old_root, new_root = kb.root, kb.home / new
        if old_root.exists():
            old_root.rename(new_root)  # the lock file moves too; the lock we hold stays held
        try:
            container.catalog.rename_kb(kb.kb_id, new)
        except IntegrityError as exc:  # another process took the name a moment ago
            if new_root.exists():
                new_root.rename(old_root)
            raise KBError(f"A knowledge base named '{new}' already exists: choose another name.") from exc


def delete_file(container: Container, kb_name: str, file_name: str) -> int:
    """Delete a file from a KB: its catalog rows, vectors and stored original. Returns chunks removed."""
    with container.writing(kb_name, wait_s=WAIT_S) as kb:
        return kb.remove_files([_file_row(kb, file_name)])


def reindex_file(container: Container, kb_name: str, file_name: str) -> FileReport:
    """Parse, split and embed a file again from its stored original (after a loader or splitter change).

    The previous version stays searchable until the new one commits, and stays if re-parsing fails.
    Chunk edits and disabled flags of the file are lost: its chunks are made anew.
    """
    with container.writing(kb_name, wait_s=WAIT_S) as kb:
        row = _file_row(kb, file_name)
        path = _stored_original(kb, row.name)
        container.catalog.upsert_file(kb.kb_id, row.name, sha256="")  # unchanged bytes: parse anyway
        reports = container.ingestor(kb).run([path])
        # The stored original is the very bytes that hash described, whether or not this run succeeded.
        container.catalog.upsert_file(kb.kb_id, row.name, sha256=row.sha256)
    return reports[-1] if reports else FileReport(name=row.name, status="failed", error="nothing ran")


def original_path(container: Container, kb_name: str, file_name: str) -> Path:
    """The stored original of a KB's file (download, open at a page).

    Raises:
        InvalidName: for a name that tries to leave the KB's content folder.
        KBError: when the KB has no such file, or its original is not stored.
    """
    kb = container.open_kb(kb_name)
    return _stored_original(kb, _file_row(kb, file_name).name)


def edit_chunk(container: Container, kb_name: str, chunk_id: str, text: str) -> Chunk:
    """Replace a chunk's text: re-embedded under the same vector id, BM25 rebuilt. Returns the chunk.

    A later re-ingest of a changed file, or `reindex_file`, makes the chunks anew from the file.
    """
    text = text.strip()
    if not text:
        raise KBError("A chunk cannot be empty: to hide it from answers, disable it instead.")
    with container.writing(kb_name, wait_s=WAIT_S) as kb:
        row, source = _chunk_row(kb, chunk_id)
        if row.enabled:
            kb.store.add(np.asarray([row.vector_id], dtype=np.int64), kb.embedder.embed_documents([text]))
            kb.store.persist()
        container.catalog.update_chunk(kb.kb_id, chunk_id, text=text)
        row.text = text
    return chunk_from_row(row, source)


def set_chunk_enabled(container: Container, kb_name: str, chunk_id: str, enabled: bool) -> None:
    """Show (`enabled`) or hide a chunk from retrieval; its text and place are kept either way."""
    with container.writing(kb_name, wait_s=WAIT_S) as kb:
        row, _ = _chunk_row(kb, chunk_id)
        if row.enabled == enabled:
            return
        if enabled:
            vectors = kb.embedder.embed_documents([row.text])
            kb.store.add(np.asarray([row.vector_id], dtype=np.int64), vectors)
        else:
            kb.store.delete([row.vector_id])
        kb.store.persist()
        container.catalog.update_chunk(kb.kb_id, chunk_id, enabled=enabled)


def kb_stats(container: Container) -> list[dict[str, Any]]:
    """One dict per KB, by name: name, description, embedder_id, files, chunks, disabled_chunks,
    threshold (the one questions are refused below), calibrated (whether the KB has its own),
    chunk_size, chunk_overlap and created_at."""
    from kb_app.container import DEFAULT_THRESHOLD
    from kb_app.kb_chunking import kb_chunking

    counts = container.catalog.kb_counts()
    configured = container.settings.retrieval.threshold
    stats = []
    for row in container.catalog.list_kbs():
        assert row.id is not None
        count = counts.get(row.id, {})
        chunking = kb_chunking(container, row.id)
        threshold = row.threshold if row.threshold is not None else configured
        stats.append(
            {
                "name": row.name,
                "description": row.description,
                "embedder_id": row.embedder_id,
                "files": count.get("files", 0),
                "chunks": count.get("chunks", 0),
                "disabled_chunks": count.get("disabled_chunks", 0),
                "threshold": DEFAULT_THRESHOLD if threshold is None else threshold,
                "calibrated": row.threshold is not None,
                "chunk_size": chunking.chunk_size,
                "chunk_overlap": chunking.chunk_overlap,
                "created_at": row.created_at,
            }
        )
    return stats


def _file_row(kb: KnowledgeBase, file_name: str) -> FileRow:
    if clean_relative_name(file_name) != file_name:
        raise InvalidName(f"{file_name!r} is not a file name of knowledge base '{kb.name}'.")
    row = kb.catalog.get_file(kb.kb_id, file_name)
    if row is None:
        raise KBError(f"Knowledge base '{kb.name}' has no file '{file_name}': list its files to see them.")
    return row


def _stored_original(kb: KnowledgeBase, name: str) -> Path:
    content = kb.content_dir.resolve()
    path = (content / name).resolve()
    if not path.is_relative_to(content):  # a symlink pointing out of the content folder
        raise InvalidName(f"{name!r} is not a file name of knowledge base '{kb.name}'.")
    if not path.is_file():
        raise KBError(
            f"The original of '{name}' is not stored (its ingest failed or it was removed): upload it again."
        )
    return path


def _chunk_row(kb: KnowledgeBase, chunk_id: str) -> tuple[ChunkRow, str]:
    found = kb.catalog.chunk_row(kb.kb_id, chunk_id)
    if found is None:
        raise KBError(f"Knowledge base '{kb.name}' has no chunk '{chunk_id}' (it may have been re-indexed).")
    return found
