"""One knowledge base: its folders, catalog rows, vector store and keyword index, kept consistent."""

from __future__ import annotations

import logging
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kb_app.catalog import Catalog
from kb_app.catalog.tables import FileRow, KnowledgeBaseRow
from kb_app.errors import IndexInconsistent, KBError
from kb_app.protocols import Embedder, VectorStore

log = logging.getLogger(__name__)

StoreFactory = Callable[[Path, int], VectorStore]


@dataclass
class KnowledgeBase:
    """A KB on disk: `<home>/<name>/content/` (originals) and `<home>/<name>/index/<embedder-id>/`.

    The catalog is the truth. Writers change the vector index first and the catalog second, so a crash
    in between leaves at worst vectors the catalog does not know; `reconcile` removes those and
    re-embeds any catalog chunk whose vector is missing.
    """

    row: KnowledgeBaseRow
    home: Path
    catalog: Catalog
    embedder: Embedder
    store_factory: StoreFactory
    tokenizer: Any = None  # keyword_index.Tokenizer; None: the default (jieba search mode, t2s)
    _store: VectorStore | None = field(default=None, init=False, repr=False)
    _keyword: Any = field(default=None, init=False, repr=False)
    _keyword_generation: int = field(default=-1, init=False, repr=False)
    _keyword_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)

    @property
    def name(self) -> str:
        return self.row.name

    @property
    def kb_id(self) -> int:
        assert self.row.id is not None
        return self.row.id

    @property
    def root(self) -> Path:
        return self.home / self.name

    @property
    def content_dir(self) -> Path:
        return self.root / "content"

    @property
    def index_dir(self) -> Path:
        return self.root / "index" / self.embedder.embedder_id

    @property
    def store(self) -> VectorStore:
        if self._store is None:
            self._store = self.store_factory(self.index_dir, self.embedder.dimension)
        return self._store

    def files(self) -> list[FileRow]:
        return self.catalog.list_files(self.kb_id)

    def keyword_index(self) -> Any:
        """The BM25 index over enabled chunks, rebuilt only when the catalog generation changed."""
        generation = self.catalog.generation(self.kb_id)
        if self._keyword is not None and self._keyword_generation == generation:
            return self._keyword
        with self._keyword_lock:  # concurrent searches after a change build the index once
            if self._keyword is not None and self._keyword_generation == generation:
                return self._keyword
            return self._load_or_build_keyword_index(generation)

    def _load_or_build_keyword_index(self, generation: int) -> Any:
        from kb_app.vectorstores.keyword_index import KeywordIndex, Tokenizer

        tokenizer = self.tokenizer or Tokenizer()
        fingerprint = f"{self.kb_id}:{generation}:{tokenizer.mode}:{int(tokenizer.simplify)}"
        default = tokenizer == Tokenizer()
        directory = self.index_dir / (
            "bm25" if default else f"bm25-{tokenizer.mode}-{int(tokenizer.simplify)}"
        )
        index = None
        if directory.exists():
            try:
                index = KeywordIndex.load(directory)
            except (KBError, OSError, ValueError) as exc:
                log.warning("Rebuilding the keyword index of '%s': %s", self.name, exc)
        if index is None or index.fingerprint != fingerprint:
            ids, texts = self.catalog.chunk_texts(self.kb_id)
            index = KeywordIndex.build(ids, texts, fingerprint=fingerprint, tokenizer=tokenizer)
            index.save(directory)
        self._keyword, self._keyword_generation = index, generation
        return index

    def remove_files(self, rows: list[FileRow]) -> int:
        """Delete files from catalog, index and content folder. Returns the number of chunks removed."""
        if not rows:
            return 0
        vector_ids = [v for r in rows if r.id is not None for v in self.catalog.vector_ids_of_file(r.id)]
        self.catalog.delete_files(self.kb_id, [r.id for r in rows if r.id is not None])
        self.store.delete(vector_ids)
        self.store.persist()
        for r in rows:
            (self.content_dir / r.name).unlink(missing_ok=True)
        return len(vector_ids)

    def reconcile(self) -> tuple[int, int]:
        """Make the vector index match the catalog. Returns (orphans removed, vectors re-embedded)."""
        try:
            index_ids = self.store.ids()
        except IndexInconsistent as exc:
            log.warning(
                "Vector index of '%s' unreadable (%s); rebuilding it from the catalog.", self.name, exc
            )
            shutil.rmtree(self.index_dir, ignore_errors=True)
            self._store = None
            index_ids = self.store.ids()
        catalog_ids, texts = self.catalog.chunk_texts(self.kb_id)
        wanted = dict(zip(catalog_ids, texts, strict=True))
        orphans = [i for i in index_ids if i not in wanted]
        missing = [i for i in wanted if i not in index_ids]
        if orphans:
            self.store.delete(orphans)
        if missing:
            vectors = self.embedder.embed_documents([wanted[i] for i in missing])
            self.store.add(np.asarray(missing, dtype=np.int64), vectors)
        if orphans or missing:
            self.store.persist()
            log.info(
                "Reconciled '%s': %d orphan vectors removed, %d re-embedded.",
                self.name,
                len(orphans),
                len(missing),
            )
        return len(orphans), len(missing)
