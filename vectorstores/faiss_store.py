"""Exact cosine search over L2-normalised vectors with FAISS, persisted crash-safely.

On disk, in the store's directory: `index.faiss` (a `faiss.IndexIDMap2` over `IndexFlatIP`; inner
product of unit vectors is their cosine) and `meta.json` (format version, dimension, count, generation).
The index file is the truth; `meta.json` is advisory and cheap to read without importing faiss.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from kb_app.errors import IndexInconsistent
from kb_app.vectorstores.atomic import replace_atomically, write_bytes_atomically

logger = logging.getLogger(__name__)

INDEX_FILE = "index.faiss"
META_FILE = "meta.json"
FORMAT_VERSION = 1
# Exact flat search costs O(n * d) per query: ~15 ms at 100k x 384 on one core. Above roughly this
# many vectors an HNSW index would pay off; `_new_index` is the one place to change for that.
HNSW_THRESHOLD = 200_000


class FaissVectorStore:
    """A `kb_app.protocols.VectorStore` backed by an exact FAISS inner-product index.

    The constructor touches neither faiss nor the disk; the index is read on first use.
    Methods are serialised by a lock so that searches may run while another thread adds.
    """

    def __init__(self, directory: Path, dimension: int) -> None:
        if dimension <= 0:
            raise ValueError(f"dimension must be positive, got {dimension}")
        self.directory = Path(directory)
        self.dimension = dimension
        self._index: Any = None
        self._generation = 0
        self._dirty = False
        self._lock = threading.RLock()

    @property
    def index_path(self) -> Path:
        return self.directory / INDEX_FILE

    @property
    def generation(self) -> int:
        """How many times this index has been persisted (0 for a new one)."""
        with self._lock:
            self._load()
            return self._generation

    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors; an id already present is replaced, never duplicated (last one in a batch wins)."""
        id_array = np.ascontiguousarray(ids, dtype=np.int64).reshape(-1)
        matrix = self._as_unit_rows(vectors)
        if len(id_array) != matrix.shape[0]:
            raise ValueError(f"Got {len(id_array)} ids for {matrix.shape[0]} vectors.")
        if len(id_array) == 0:
            return
        reversed_ids = id_array[::-1]
        _, first_in_reversed = np.unique(reversed_ids, return_index=True)
        keep = np.sort(len(id_array) - 1 - first_in_reversed)
        id_array, matrix = id_array[keep], matrix[keep]
        with self._lock:
            index = self._load()
            index.remove_ids(id_array)
            index.add_with_ids(matrix, id_array)
            self._dirty = True

    def delete(self, ids: Sequence[int]) -> int:
        """Remove vectors by id; unknown ids are ignored. Returns how many were removed."""
        id_array = np.asarray(list(ids), dtype=np.int64)
        if id_array.size == 0:
            return 0
        with self._lock:
            removed = int(self._load().remove_ids(id_array))
            self._dirty = self._dirty or removed > 0
            return removed

    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        """Return up to `k` (id, cosine similarity) pairs, best first."""
        matrix = self._as_unit_rows(query)
        if matrix.shape[0] != 1:
            raise ValueError(f"search takes one query vector, got {matrix.shape[0]}")
        with self._lock:
            index = self._load()
            if k <= 0 or index.ntotal == 0:
                return []
            scores, found = index.search(matrix, min(k, int(index.ntotal)))
        # Float rounding can push a self-match a hair above 1; the contract promises [-1, 1].
        return [
            (int(i), float(np.clip(s, -1.0, 1.0)))
            for i, s in zip(found[0], scores[0], strict=True)
            if i != -1
        ]

    def reconstruct(self, ids: Sequence[int]) -> np.ndarray:
        """Return the stored vectors for `ids`, one row each, in the order given.

        Raises:
            KeyError: if an id is not in the store.
        """
        id_array = np.asarray(list(ids), dtype=np.int64)
        with self._lock:
            missing = set(id_array.tolist()) - self.ids()
            if missing:
                raise KeyError(f"Ids not in the vector index: {sorted(missing)[:10]}")
            if id_array.size == 0:
                return np.empty((0, self.dimension), dtype=np.float32)
            return np.asarray(self._load().reconstruct_batch(id_array), dtype=np.float32)

    def ids(self) -> set[int]:
        import faiss

        with self._lock:
            return set(faiss.vector_to_array(self._load().id_map).tolist())

    def count(self) -> int:
        with self._lock:
            return int(self._load().ntotal)

    def persist(self) -> None:
        """Write the index and meta.json atomically; a no-op when nothing changed since the last write."""
        import faiss

        with self._lock:
            if self._index is None or (not self._dirty and self.index_path.exists()):
                return
            self.directory.mkdir(parents=True, exist_ok=True)
            index = self._index
            replace_atomically(self.index_path, lambda tmp: faiss.write_index(index, str(tmp)))
            self._generation += 1
            meta = {
                "format_version": FORMAT_VERSION,
                "dimension": self.dimension,
                "count": int(index.ntotal),
                "generation": self._generation,
                "index_type": "IDMap2,Flat",
            }
            write_bytes_atomically(self.directory / META_FILE, json.dumps(meta, indent=2).encode())
            self._dirty = False

    def _as_unit_rows(self, vectors: np.ndarray) -> np.ndarray:
        matrix = np.array(vectors, dtype=np.float32, ndmin=2, order="C")
        if matrix.ndim != 2:
            raise ValueError(f"Expected a 1-D or 2-D array of vectors, got shape {matrix.shape}")
        if matrix.shape[1] != self.dimension:
            raise IndexInconsistent(
                f"Got vectors of shape {matrix.shape} but the index at {self.directory} holds "
                f"{self.dimension}-dimensional vectors. The embedder has changed: re-index the knowledge "
                "base with the embedder it was built with, or rebuild its index for the new one."
            )
        # Re-normalising keeps scores true cosines even if an embedder forgot to; zero rows stay zero.
        norms = np.linalg.norm(matrix, axis=1, keepdims=True)
        np.divide(matrix, norms, out=matrix, where=norms > 0)
        return matrix

    def _load(self) -> Any:
        if self._index is not None:
            return self._index
        import faiss

        if self.index_path.exists():
            self._index = self._read_index(faiss)
            self._generation = self._read_generation()
        else:
            self._index = self._new_index(faiss)
        return self._index

    def _new_index(self, faiss: Any) -> Any:
        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.dimension))

    def _read_index(self, faiss: Any) -> Any:
        path = self.index_path
        try:
            index = faiss.read_index(str(path))
        except (RuntimeError, OSError, MemoryError, ValueError) as exc:
            raise IndexInconsistent(
                f"The vector index {path} is damaged or unreadable ({str(exc)[:200]}). "
                "It can be rebuilt from the catalog: delete the file or run a re-index."
            ) from exc
        if not isinstance(index, faiss.IndexIDMap2):
            raise IndexInconsistent(
                f"The vector index {path} is not a kb-app index ({type(index).__name__}). "
                "It can be rebuilt from the catalog: delete the file or run a re-index."
            )
        if index.d != self.dimension:
            raise IndexInconsistent(
                f"The vector index {path} holds {index.d}-dimensional vectors but the embedder gives "
                f"{self.dimension}. Re-index the knowledge base with the right embedder."
            )
        return index

    def _read_generation(self) -> int:
        try:
            meta = json.loads((self.directory / META_FILE).read_text(encoding="utf-8"))
            return int(meta["generation"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("Ignoring unreadable %s in %s: %s", META_FILE, self.directory, exc)
            return 0
