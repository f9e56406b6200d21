"""Move a knowledge base's vectors to another vector store (`kb migrate --to milvus|faiss`).

Vectors are copied as stored (`reconstruct`), so no re-embedding is needed; a batch the source cannot
give back is re-embedded from the catalog's chunk texts instead. The copy is verified (count, ids, a
self-search) before the KB's `store.json` switches to the new store, and the old index is removed only
after that, so an interrupted or failed migration leaves the KB on its old store, untouched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from kb_app import registry
from kb_app.errors import IndexInconsistent, KBError
from kb_app.knowledge_base import KnowledgeBase
from kb_app.protocols import VectorStore

log = logging.getLogger(__name__)

BATCH = 2000
Progress = Callable[[int, int], None]  # (vectors copied so far, total)


@dataclass(frozen=True)
class MigrationReport:
    """What `migrate_store` did."""

    kb: str
    source: str
    target: str
    vectors: int
    reembedded: int
    seconds: float


def migrate_store(
    container: Any, kb_name: str, target: str, progress: Progress | None = None
) -> MigrationReport:
    """Copy the KB's vectors into the `target` store, verify them, switch the KB, drop the old index.

    Holds the KB's write lock throughout, so no ingest changes the index mid-copy.

    Raises:
        KBError: for an unknown target, a KB already on it, or a copy that does not verify.
    """
    from kb_app.vectorstores.store_record import record_store

    if target not in registry.names("vectorstore"):
        known = ", ".join(registry.names("vectorstore"))
        raise KBError(f"Unknown vector store '{target}'. Known vector stores: {known}.")
    started = time.perf_counter()
    with container.writing(kb_name) as kb:
        source_name = container.store_backend(kb.root)
        if source_name == target:
            raise KBError(f"Knowledge base '{kb.name}' already uses {target}; nothing to migrate.")
        destination = container.store_factory(kb.row, target)(kb.index_dir, kb.embedder.dimension)
        _drop(destination)  # leftovers of an earlier attempt that failed half-way
        copied, reembedded = copy_vectors(kb, destination, progress)
        destination.persist()
        verify_copy(destination, copied)
        record_store(kb.root, target)
        container.forget_kb(kb.name)
        _drop(kb.store)
        _close(kb.store)
        _close(destination)
    report = MigrationReport(
        kb.name, source_name, target, len(copied), reembedded, time.perf_counter() - started
    )
    log.info("Migrated '%s' from %s to %s: %d vectors.", kb.name, source_name, target, len(copied))
    return report


def copy_vectors(
    kb: KnowledgeBase, destination: VectorStore, progress: Progress | None = None
) -> tuple[list[int], int]:
    """Copy every vector of `kb.store` into `destination`. Returns (ids copied, how many re-embedded)."""
    texts = dict(zip(*kb.catalog.chunk_texts(kb.kb_id), strict=True))
    try:
        ids = sorted(kb.store.ids())
    except IndexInconsistent as exc:
        log.warning("Source index of '%s' unreadable (%s); re-embedding the catalog's chunks.", kb.name, exc)
        ids = sorted(texts)
    copied: list[int] = []
    reembedded = 0
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        vectors = _stored_vectors(kb.store, batch)
        if vectors is None:
            batch = [i for i in batch if i in texts]  # ids without a chunk are orphans: not worth keeping
            vectors = kb.embedder.embed_documents([texts[i] for i in batch])
            reembedded += len(batch)
        destination.add(np.asarray(batch, dtype=np.int64), vectors)
        copied += batch
        if progress:
            progress(len(copied), len(ids))
    return copied, reembedded


def verify_copy(destination: VectorStore, copied: Sequence[int]) -> None:
    """Check the new store holds exactly `copied` and finds a stored vector again.

    Raises:
        KBError: saying the KB stays on its old store.
    """
    problem = ""
    if destination.count() != len(copied):
        problem = f"it holds {destination.count()} vectors, expected {len(copied)}"
    elif destination.ids() != set(copied):
        problem = "its ids differ from the source's"
    elif copied:
        probe = int(copied[len(copied) // 2])
        vector = destination.reconstruct([probe])[0]  # type: ignore[attr-defined]
        if probe not in {i for i, _ in destination.search(vector, 10)}:
            problem = "a stored vector does not find itself"
    if problem:
        raise KBError(
            f"The copy in the new vector store did not verify ({problem}). The knowledge base still uses "
            "its old store, which is untouched; run `kb migrate` again."
        )


def _stored_vectors(store: VectorStore, ids: list[int]) -> np.ndarray | None:
    reconstruct = getattr(store, "reconstruct", None)
    if reconstruct is None:
        return None
    try:
        return np.asarray(reconstruct(ids), dtype=np.float32)
    except (KeyError, IndexInconsistent, RuntimeError) as exc:
        log.warning("Cannot read %d stored vectors back (%s); re-embedding them.", len(ids), exc)
        return None


def _drop(store: VectorStore) -> None:
    drop = getattr(store, "drop", None)
    if drop is not None:
        drop()


def _close(store: VectorStore) -> None:
    close = getattr(store, "close", None)
    if close is not None:
        close()
